"""A toy AMP task in torch: a 2-D point mass whose reference motion is a circle.

State per env: position ``pos [2]`` (m) and velocity ``vel [2]`` (m/s) in a fixed plane frame.
Action: acceleration command in [-1, 1]^2, scaled by ``max_accel`` (m/s^2); semi-implicit Euler
with time step ``dt`` (s). Reference motion: points on the circle of radius ``radius`` moving
counter-clockwise at angular speed ``angular_speed`` (rad/s). One AMP frame is (pos, vel) (D = 4);
an AMP observation is ``history`` consecutive frames, oldest first ([N, H * 4]).

The task reward knows nothing of circles: a small alive bonus minus an action-effort penalty, so a
task-only policy idles wherever it starts, and only the style reward makes it circle.
Episodes terminate when the point leaves the disc of radius ``max_radius`` and time out after
``episode_length`` steps. Reference state initialisation starts a share ``rsi_prob`` of episodes
on the reference circle; the others start at rest, uniformly in the disc of radius ``init_radius``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from rl.vec_env import StepResult


@dataclass(frozen=True)
class CircleTaskConfig:
    """Point-mass circle task."""

    num_envs: int = 64  # parallel envs
    dt: float = 0.05  # policy/physics time step (s)
    max_accel: float = 3.0  # acceleration at action magnitude 1 (m/s^2)
    radius: float = 1.0  # reference circle radius (m)
    angular_speed: float = 1.0  # reference angular speed, counter-clockwise (rad/s)
    history: int = 2  # AMP frames per discriminator input
    episode_length: int = 200  # steps before a timeout
    max_radius: float = 3.0  # leaving this disc terminates (m)
    init_radius: float = 2.0  # non-RSI starts: uniform in this disc, at rest (m)
    rsi_prob: float = 0.5  # share of episodes started on the reference circle
    alive_reward: float = 0.1  # per-step alive bonus
    action_penalty: float = 0.01  # weight of the ||action||^2 penalty


class PointMassCircleEnv:
    """Batched point-mass env implementing ``AmpVecEnv`` (obs [N, 4], critic obs [N, 5])."""

    num_actions = 2
    num_obs = 4
    num_critic_obs = 5  # obs + elapsed fraction of the episode (privileged, for the timeout)
    frame_dim = 4

    def __init__(
        self,
        cfg: CircleTaskConfig = CircleTaskConfig(),
        device: str | torch.device = "cpu",
        seed: int = 0,
    ):
        self.cfg = cfg
        self.num_envs = cfg.num_envs
        self.device = torch.device(device)
        self.amp_obs_dim = cfg.history * self.frame_dim
        self.generator = torch.Generator(device="cpu").manual_seed(seed)
        n = cfg.num_envs
        self.pos = torch.zeros(n, 2, device=self.device)
        self.vel = torch.zeros(n, 2, device=self.device)
        self.steps = torch.zeros(n, dtype=torch.long, device=self.device)
        self.episode_return = torch.zeros(n, device=self.device)
        self.history = torch.zeros(n, cfg.history, self.frame_dim, device=self.device)

    # --- reference motion ---------------------------------------------------------------------
    def reference_frames(self, phase: torch.Tensor) -> torch.Tensor:
        """Reference (pos, vel) frames [..., 4] at circle phases ``phase [...]`` (rad)."""
        r, w = self.cfg.radius, self.cfg.angular_speed
        c, s = torch.cos(phase), torch.sin(phase)
        return torch.stack((r * c, r * s, -r * w * s, r * w * c), dim=-1)

    def _reference_windows(self, phase_end: torch.Tensor) -> torch.Tensor:
        """Windows [n, H, 4] whose last frame is at ``phase_end [n]``."""
        H = self.cfg.history
        offsets = torch.arange(H - 1, -1, -1, device=phase_end.device, dtype=phase_end.dtype)
        return self.reference_frames(
            phase_end[:, None] - offsets * self.cfg.angular_speed * self.cfg.dt
        )

    def sample_reference_amp_obs(
        self, n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``n`` reference AMP windows [n, H * 4] at uniformly random phases."""
        g = generator if generator is not None else self.generator
        phase = torch.rand(n, generator=g) * (2 * math.pi)
        return self._reference_windows(phase).reshape(n, -1).to(self.device)

    # --- VecEnv ---------------------------------------------------------------------------------
    def _observe(self) -> tuple[torch.Tensor, torch.Tensor]:
        obs = torch.cat((self.pos, self.vel), dim=-1)
        frac = (self.steps.float() / self.cfg.episode_length)[:, None]
        return obs, torch.cat((obs, frac), dim=-1)

    def _reset_envs(self, ids: torch.Tensor) -> None:
        n = ids.numel()
        if n == 0:
            return
        c, g = self.cfg, self.generator
        rsi = torch.rand(n, generator=g) < c.rsi_prob
        phase = torch.rand(n, generator=g) * (2 * math.pi)
        ref = self._reference_windows(phase)  # [n, H, 4]
        angle = torch.rand(n, generator=g) * (2 * math.pi)
        rad = c.init_radius * torch.sqrt(torch.rand(n, generator=g))
        rest = torch.zeros(n, c.history, 4)
        rest[:, :, 0] = (rad * torch.cos(angle))[:, None]
        rest[:, :, 1] = (rad * torch.sin(angle))[:, None]
        window = torch.where(rsi[:, None, None], ref, rest).to(self.device)
        self.history[ids] = window
        self.pos[ids] = window[:, -1, :2]
        self.vel[ids] = window[:, -1, 2:]
        self.steps[ids] = 0
        self.episode_return[ids] = 0.0

    def reset(self) -> tuple[torch.Tensor, torch.Tensor]:
        self._reset_envs(torch.arange(self.num_envs, device=self.device))
        return self._observe()

    def step(self, actions: torch.Tensor) -> StepResult:
        c = self.cfg
        a = torch.clamp(actions, -1.0, 1.0)
        self.vel = self.vel + a * c.max_accel * c.dt
        self.pos = self.pos + self.vel * c.dt
        self.steps += 1
        frame = torch.cat((self.pos, self.vel), dim=-1)
        self.history = torch.cat((self.history[:, 1:], frame[:, None]), dim=1)

        terms = {
            "alive": torch.full((self.num_envs,), c.alive_reward, device=self.device),
            "action_l2": -c.action_penalty * a.square().sum(-1),
        }
        reward = terms["alive"] + terms["action_l2"]
        self.episode_return += reward
        terminated = self.pos.norm(dim=-1) > c.max_radius
        truncated = (self.steps >= c.episode_length) & ~terminated
        _, final_critic_obs = self._observe()
        amp_obs = self.history.reshape(self.num_envs, -1).clone()

        done = terminated | truncated
        ids = done.nonzero().squeeze(-1)
        stats = {}
        if ids.numel() > 0:
            stats = {"return": self.episode_return[ids].clone(), "length": self.steps[ids].float()}
            self._reset_envs(ids)
        obs, critic_obs = self._observe()
        return StepResult(
            obs=obs,
            critic_obs=critic_obs,
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            final_critic_obs=final_critic_obs,
            amp_obs=amp_obs,
            reward_terms=terms,
            episode_stats=stats,
        )


# ----------------------------------------------------------------------------------------------
# Imitation metrics
# ----------------------------------------------------------------------------------------------
def circle_metrics(
    pos: torch.Tensor, vel: torch.Tensor, radius: float = 1.0, angular_speed: float = 1.0
) -> dict[str, float]:
    """How circle-like states are: ``pos, vel [M, 2]``.

    radius_mean: mean |pos| (m); radius_error: mean ||pos| - radius| (m); speed_error: mean
    ||vel| - radius * angular_speed| (m/s); angular_velocity: mean (x vy - y vx) / |pos|^2 (rad/s,
    positive = counter-clockwise).
    """
    r = pos.norm(dim=-1)
    speed = vel.norm(dim=-1)
    omega = (pos[:, 0] * vel[:, 1] - pos[:, 1] * vel[:, 0]) / r.square().clamp(min=1e-6)
    return {
        "radius_mean": float(r.mean()),
        "radius_error": float((r - radius).abs().mean()),
        "speed_error": float((speed - radius * angular_speed).abs().mean()),
        "angular_velocity": float(omega.mean()),
    }


def energy_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """Energy distance between samples ``x [n, F]`` and ``y [m, F]`` (0 iff same distribution)."""
    dxy = torch.cdist(x, y).mean()
    dxx = torch.cdist(x, x).mean()
    dyy = torch.cdist(y, y).mean()
    return float(2 * dxy - dxx - dyy)


@torch.no_grad()
def evaluate_circle(
    policy: torch.nn.Module,
    cfg: CircleTaskConfig = CircleTaskConfig(),
    steps: int = 200,
    burn_in: int = 50,
    seed: int = 123,
) -> dict[str, float]:
    """Run the deterministic ``policy`` (raw obs [N, 4] -> action [N, 2]) on a fresh env.

    Collects the states and AMP windows after ``burn_in`` steps and returns ``circle_metrics`` plus
    ``energy_distance`` between the policy's AMP windows and as many reference windows.
    """
    env = PointMassCircleEnv(cfg, seed=seed)
    obs, _ = env.reset()
    pos, vel, windows = [], [], []
    for t in range(steps):
        res = env.step(policy(obs))
        obs = res.obs
        if t >= burn_in:
            alive = ~(res.terminated | res.truncated)
            pos.append(env.pos[alive])
            vel.append(env.vel[alive])
            windows.append(res.amp_obs[alive])
    p, v, w = torch.cat(pos), torch.cat(vel), torch.cat(windows)
    metrics = circle_metrics(p, v, cfg.radius, cfg.angular_speed)
    sub = w[torch.randperm(w.shape[0], generator=torch.Generator().manual_seed(seed))[:2000]]
    ref = env.sample_reference_amp_obs(sub.shape[0], torch.Generator().manual_seed(seed + 1))
    metrics["energy_distance"] = energy_distance(sub, ref)
    return metrics
