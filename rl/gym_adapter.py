"""Gymnasium vector env (continuous actions) as a ``VecEnv`` (so PPO can be checked on standard tasks).

The wrapped env must use same-step auto-reset (``gymnasium.vector.AutoresetMode.SAME_STEP``): the
observation returned by a step that ends an episode already belongs to the next episode, and
``info["final_obs"]`` holds the last observation of the finished one, which becomes
``final_critic_obs`` for the timeout bootstrap. ``make_gym_vec_env`` builds such an env.

Actions: the policy acts in [-1, 1]^A; they are clipped and mapped linearly onto the Box
``[low, high]``. Observations are both the actor and the critic observation (float32).
``reward_scale`` multiplies the reward given to the learner; ``episode_stats["return"]`` is the
unscaled environment return.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

from rl.vec_env import StepResult


def make_gym_vec_env(env_id: str, num_envs: int, **kwargs) -> gym.vector.VectorEnv:
    """``gymnasium.make_vec`` (sync) with same-step auto-reset."""
    return gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
        **kwargs,
    )


class GymVecEnv:
    """``VecEnv`` over a Gymnasium vector env with a Box action space."""

    def __init__(
        self,
        env: gym.vector.VectorEnv,
        seed: int = 0,
        reward_scale: float = 1.0,
        device: str | torch.device = "cpu",
    ) -> None:
        space = env.single_action_space
        if not isinstance(space, gym.spaces.Box):
            raise TypeError(f"GymVecEnv: needs a continuous (Box) action space, got {space}")
        mode = env.metadata.get("autoreset_mode")
        if mode is not None and mode != gym.vector.AutoresetMode.SAME_STEP:
            raise ValueError(
                f"GymVecEnv: needs autoreset_mode SAME_STEP, got {mode}; use make_gym_vec_env"
            )
        self.env = env
        self.seed = seed
        self.reward_scale = reward_scale
        self.device = torch.device(device)
        self.num_envs = env.num_envs
        self.num_actions = int(np.prod(space.shape))
        self.num_obs = int(np.prod(env.single_observation_space.shape))
        self.num_critic_obs = self.num_obs
        self.low = torch.as_tensor(space.low, dtype=torch.float32, device=self.device)
        self.high = torch.as_tensor(space.high, dtype=torch.float32, device=self.device)
        self.episode_return = np.zeros(self.num_envs)
        self.episode_length = np.zeros(self.num_envs, dtype=np.int64)
        self._seeded = False

    def _tensor(self, x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(
            np.asarray(x, dtype=np.float32).reshape(self.num_envs, -1), device=self.device
        )

    def reset(self) -> tuple[torch.Tensor, torch.Tensor]:
        obs, _ = self.env.reset(seed=None if self._seeded else self.seed)
        self._seeded = True
        self.episode_return[:] = 0.0
        self.episode_length[:] = 0
        o = self._tensor(obs)
        return o, o

    def scale_actions(self, actions: torch.Tensor) -> torch.Tensor:
        """Map policy actions in [-1, 1] (clipped) onto the Box [low, high]."""
        a = torch.clamp(actions, -1.0, 1.0)
        return self.low + 0.5 * (a + 1.0) * (self.high - self.low)

    def step(self, actions: torch.Tensor) -> StepResult:
        env_actions = self.scale_actions(actions).cpu().numpy().reshape(self.env.action_space.shape)
        obs, reward, terminated, truncated, info = self.env.step(env_actions)
        reward = np.asarray(reward, dtype=np.float64)
        terminated = np.asarray(terminated, dtype=bool)
        truncated = np.asarray(truncated, dtype=bool) & ~terminated
        self.episode_return += reward
        self.episode_length += 1
        done = terminated | truncated

        final_obs = np.asarray(obs, dtype=np.float32).copy()
        if done.any():
            has_final = info.get("_final_obs", done)
            for i in np.flatnonzero(done & has_final):
                final_obs[i] = info["final_obs"][i]
        stats = {}
        if done.any():
            stats = {
                "return": torch.as_tensor(self.episode_return[done], dtype=torch.float32),
                "length": torch.as_tensor(self.episode_length[done], dtype=torch.float32),
            }
            self.episode_return[done] = 0.0
            self.episode_length[done] = 0
        o = self._tensor(obs)
        r = torch.as_tensor(reward * self.reward_scale, dtype=torch.float32, device=self.device)
        return StepResult(
            obs=o,
            critic_obs=o,
            reward=r,
            terminated=torch.as_tensor(terminated, device=self.device),
            truncated=torch.as_tensor(truncated, device=self.device),
            final_critic_obs=self._tensor(final_obs),
            reward_terms={"env": r},
            episode_stats=stats,
        )

    def close(self) -> None:
        self.env.close()
