"""The G1 velocity-tracking environment with AMP observations (implements ``rl.vec_env.AmpVecEnv``).

``G1Env`` composes the pieces: the robot (``retarget.robot``), the terrain (``rl.terrain``), the
simulation backend (``rl.sim``), the terrain curriculum, velocity commands, observations,
rewards, terminations, domain randomisation and AMP features.

One ``step(actions)`` (policy at 50 Hz, ``decimation`` physics steps at 200 Hz):

1. ``targets = default_pose + action_scale * clip(actions)``; the backend holds them with PD.
2. Terminations (falls; timeout at 20 s = truncation) and rewards of the reached state, with the
   command that was active during the step; the AMP window ending at the reached state.
3. Commands advance (resampling, heading control); distance along the command accumulates for
   the curriculum; pushes hit the envs whose push timer ran out.
4. Observations of the reached state: these are ``final_critic_obs``. Finished envs then update
   the curriculum, reset (a fraction ``reference_init_prob`` from random dataset frames: reference
   state initialisation) and their observations are recomputed, so ``obs``/``critic_obs`` belong
   to the new episodes.

Threads: the constructor calls ``torch.set_num_threads(1)`` so torch's intra-op pool does not
compete with the MuJoCo rollout threads (the tensors here are small; one thread is fastest).

Seeds: ``seed`` feeds a ``numpy.random.SeedSequence`` whose children seed one ``torch.Generator``
per concern (physics groups, commands, curriculum, resets, pushes, noise, reference sampling), so
the same seed gives the same trajectory.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from retarget.robot import forward_kinematics, load_robot, robot_spec
from rl import gait_clock
from rl.amp_obs import (
    AmpHistory,
    InMemoryMotionSource,
    ReferenceMotionSource,
    amp_dof_indices,
    amp_obs,
    amp_obs_dim,
    joint_indices_except,
)
from rl.commands import VelocityCommands
from rl.curriculum import CommandProgress, TerrainCurriculum
from rl.env_config import ConfigError, EnvConfig, rewards_at
from rl.observations import (
    actor_noise_vector,
    actor_obs,
    actor_obs_dim,
    add_noise,
    critic_obs,
    critic_obs_dim,
    heading_matrix,
    quat_from_yaw,
    quat_mul,
    quat_rotate,
    yaw_of,
)
from rl.randomization import sample_physics_groups, sample_push_interval, sample_push_velocity
from rl.rewards import (
    RewardInputs,
    compute_rewards,
    latest_steps,
    smooth_velocity,
    soft_joint_limits,
    step_lengths,
    update_air_time,
    update_contact_time,
    update_steps,
)
from rl.sim.base import ResetState
from rl.sim.mujoco import MujocoSim
from rl.terminations import compute_terminations
from rl.terrain import ScanGrid, Terrain, height_scan
from rl.vec_env import StepResult

_STREAMS = (
    "physics", "commands", "curriculum", "resets", "pushes", "noise", "reference", "clock"
)  # fmt: skip


def standing_motion_source(
    sim: MujocoSim,
    default_dof_pos: np.ndarray,
    root_height: float,
    num_frames: int = 8,
    fps: float = 50.0,
    amp_dof_index: tuple[int, ...] | None = None,
) -> InMemoryMotionSource:
    """A motionless reference: the default pose standing at the origin (no dataset given)."""
    T = num_frames
    root_pos = np.tile([0.0, 0.0, root_height], (T, 1))
    root_quat = np.tile([1.0, 0.0, 0.0, 0.0], (T, 1))
    dof_pos = np.tile(default_dof_pos, (T, 1))
    key = sim.key_body_positions(root_pos, root_quat, dof_pos)

    def t(x: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(x, dtype=torch.float32)

    zeros3 = torch.zeros(T, 3)
    return InMemoryMotionSource(
        fps=fps,
        root_pos=t(root_pos),
        root_quat=t(root_quat),
        root_lin_vel=zeros3,
        root_ang_vel=zeros3.clone(),
        dof_pos=t(dof_pos),
        dof_vel=torch.zeros_like(t(dof_pos)),
        key_body_pos=t(key),
        amp_dof_index=amp_dof_index,
    )


class G1Env:
    """N G1 robots learning velocity tracking on the terrain curriculum (see module docstring).

    Attributes (``rl.vec_env.AmpVecEnv``): num_envs, num_actions (A: the driven joints; all
    J = 29 unless ``env.fixed_joints``), num_obs (O),
    num_critic_obs (C), amp_obs_dim (H * D), device. Also: dt (s), max_episode_length (steps),
    sim, terrain, curriculum, commands.
    """

    def __init__(
        self,
        cfg: EnvConfig,
        num_envs: int,
        device: torch.device | str = "cpu",
        seed: int = 0,
        motion_dataset: ReferenceMotionSource | None = None,
    ) -> None:
        torch.set_num_threads(1)
        self.cfg = cfg
        self.num_envs = num_envs
        self.device = torch.device(device)
        seeds = np.random.SeedSequence(seed).spawn(len(_STREAMS))
        self._gen = {
            name: torch.Generator().manual_seed(s.generate_state(1, np.uint64)[0].item() >> 1)
            for name, s in zip(_STREAMS, seeds)
        }
        dev = self.device

        # Robot + terrain + backend.
        self.robot = load_robot(cfg.robot_mjcf)
        spec = robot_spec(cfg.robot_mjcf)
        self.terrain = Terrain(cfg.terrain)
        self.terrain.add_to_spec(spec)
        groups = sample_physics_groups(cfg.randomization, self._gen["physics"])
        self.sim = MujocoSim(self.robot, spec, num_envs, cfg.sim, groups, dev)
        self.dt = self.sim.dt
        self.max_episode_length = max(1, round(cfg.terminations.episode_length_s / self.dt))

        # Task components.
        self.commands = VelocityCommands(cfg.commands, num_envs, dev, self._gen["commands"])
        self.curriculum = TerrainCurriculum(
            cfg.curriculum,
            self.terrain.col_types,
            self.terrain.num_rows,
            num_envs,
            self._gen["curriculum"],
            dev,
        )
        self.progress = CommandProgress(num_envs, dev)
        self.amp_dof_index = amp_dof_indices(self.robot.dof_names, cfg.amp_exclude_joints)
        self._amp_dofs = torch.tensor(self.amp_dof_index, dtype=torch.long, device=dev)
        self.motion: ReferenceMotionSource = motion_dataset or standing_motion_source(
            self.sim,
            self.robot.default_dof_pos,
            self.robot.default_root_height,
            amp_dof_index=self.amp_dof_index,
        )
        self._use_rsi = motion_dataset is not None and cfg.reference_init_prob > 0

        # Dimensions.
        J = self.sim.num_dofs
        F = len(self.sim.foot_body_names)
        K = len(self.sim.key_body_names)
        grid = cfg.height_scan
        self._scan_points = grid.points().to(dev)
        default_grid = ScanGrid()
        self._scan_arg = (
            self._scan_points
            if (grid.offset, grid.clip) == (default_grid.offset, default_grid.clip)
            else grid
        )
        self.action_dof_index = joint_indices_except(self.robot.dof_names, cfg.fixed_joints)
        if not self.action_dof_index:
            raise ConfigError(f"env.fixed_joints {list(cfg.fixed_joints)} fixes every joint")
        self._action_dofs = torch.tensor(self.action_dof_index, dtype=torch.long, device=dev)
        A = len(self.action_dof_index)
        E = 2 if cfg.gait_clock.enabled else 0  # gait clock (sin, cos)
        self.num_actions = A
        self.num_obs = actor_obs_dim(J, A, E)
        self.num_critic_obs = critic_obs_dim(J, self._scan_points.shape[0], A, E)
        # Foot body heights above the ground in the default standing pose (swing clearance 0).
        rest, _ = forward_kinematics(
            self.robot,
            np.array([[0.0, 0.0, self.robot.default_root_height]]),
            np.array([[1.0, 0.0, 0.0, 0.0]]),
            np.asarray(self.robot.default_dof_pos)[None],
            bodies=self.sim.foot_body_names,
        )
        self._foot_rest_height = torch.tensor(rest[0, :, 2], dtype=torch.float32, device=dev)
        self._clock_table = torch.tensor(
            gait_clock.period_table(cfg.gait_clock), dtype=torch.float32, device=dev
        ).T.contiguous()  # [2, B]: speeds, periods
        self.amp_frame_dim = amp_obs_dim(len(self.amp_dof_index), K)
        self.amp_obs_dim = cfg.amp_history * self.amp_frame_dim
        ref_dim = self.motion.sample_amp_obs(1, cfg.amp_history, torch.Generator()).shape[-1]
        if ref_dim != self.amp_obs_dim:
            raise ConfigError(
                f"the reference motion's AMP windows have {ref_dim} features, the environment's "
                f"{self.amp_obs_dim}: build the motion source with the environment's AMP joints "
                f"(env.amp_exclude_joints {list(cfg.amp_exclude_joints)} -> amp_dof_index)"
            )

        # Constants.
        self.default_dof_pos = torch.tensor(
            np.array(self.robot.default_dof_pos), dtype=torch.float32
        ).to(dev)
        limits = torch.tensor(np.array(self.robot.joint_limits), dtype=torch.float32).to(dev)
        self.soft_limits = soft_joint_limits(limits, cfg.rewards.soft_limit_factor)
        # joint_deviation_l1's joints (reward stages change weights only, never this list).
        free = set(joint_indices_except(self.robot.dof_names, cfg.rewards.deviation_joints))
        self._deviation_mask = torch.tensor(
            [0.0 if i in free else 1.0 for i in range(len(self.robot.dof_names))]
        ).to(dev)
        self._noise = actor_noise_vector(cfg.observations, J, A, E).to(dev)
        self._noise_on = cfg.randomization.obs_noise_on and cfg.observations.noise
        self.set_iteration(0)

        # Per-env buffers.
        def z(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
            return torch.zeros(*shape, dtype=dtype, device=dev)

        N = num_envs
        self.actions = z(N, A)
        self.prev_actions = z(N, A)
        self.prev_dof_vel = z(N, J)
        self.air_time = z(N, F)
        self.contact_time = z(N, F)
        # Step clocks of the step-symmetry terms (NaN: no touchdown yet this episode).
        self.since_touchdown = torch.full((N, F), torch.nan, device=dev)
        self.last_step_time = torch.full((N, F), torch.nan, device=dev)
        self.last_step_length = torch.full((N, F), torch.nan, device=dev)
        self.phase = z(N)  # gait clock phase in [0, 1)
        self.expected_stance = torch.ones(N, F, dtype=torch.bool, device=dev)
        self.prev_foot_pos = z(N, F, 3)
        self._no_foot_vel = z(N, F, 2)
        self.prev_foot_contact = z(N, F, dtype=torch.bool)
        self.episode_length = z(N, dtype=torch.long)
        self.episode_return = z(N)
        self.episode_tracking = z(N)
        self.lin_vel_smooth = z(N, 2)  # heading-frame velocity, moving average (rewards)
        self.push_at = z(N, dtype=torch.long)  # global step of each env's next push
        self._step_count = 0
        self._next_push = 0  # min(push_at): no tensor work on steps without a push
        self.push_vel = z(N, 2)
        self.amp_history = AmpHistory(N, cfg.amp_history, self.amp_frame_dim, dev)
        self._all_ids = torch.arange(N, device=dev)
        self._obs_clean = z(N, self.num_obs)
        self._critic = z(N, self.num_critic_obs)

    # ------------------------------------------------------------------ VecEnv API
    def reset(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Reset every env; returns ``(obs [N, O], critic_obs [N, C])``."""
        self._reset_envs(self._all_ids)
        self._compute_obs(None)
        return self._actor_obs(), self._critic.clone()

    def step(self, actions: torch.Tensor) -> StepResult:
        """Apply ``actions [N, J]`` for one policy step; finished envs reset automatically."""
        cfg, sim = self.cfg, self.sim
        a = actions.detach().to(self.device).clamp(-cfg.action_clip, cfg.action_clip)
        self.prev_actions.copy_(self.actions)
        self.actions.copy_(a)
        self.prev_dof_vel.copy_(sim.state.dof_vel)
        self.prev_foot_pos.copy_(sim.state.foot_pos_w)
        self.prev_foot_contact.copy_(sim.state.foot_contact)
        if self.num_actions == self.sim.num_dofs:
            targets = self.default_dof_pos + cfg.action_scale * a
        else:  # fixed joints keep their default targets
            targets = self.default_dof_pos.expand(a.shape[0], -1).index_add(
                1, self._action_dofs, a, alpha=cfg.action_scale
            )
        sim.step(targets)
        self.episode_length += 1
        self._step_count += 1
        st = sim.state

        # Terminations and rewards of the reached state.
        rot = st.root_rot_w
        gravity_b = -rot[:, 2, :]  # R^T (0, 0, -1)
        to_heading = heading_matrix(rot)
        yaw = torch.atan2(to_heading[:, 1, 0], to_heading[:, 0, 0])
        terrain_h = self.terrain.height_at(st.root_pos_w[:, :2])
        terminated, truncated = compute_terminations(
            cfg.terminations,
            st.root_pos_w,
            terrain_h,
            gravity_b,
            st.termination_contact,
            self.episode_length,
            self.max_episode_length,
        )
        self.air_time, touchdown, first_contact = update_air_time(
            self.air_time, st.foot_contact, self.dt
        )
        self.contact_time = update_contact_time(self.contact_time, st.foot_contact, self.dt)
        if cfg.gait_clock.enabled:
            self._advance_clock()
        lin_vel_xy_h = torch.matmul(st.root_lin_vel_w[:, None, :], to_heading)[:, 0, :2]
        self.lin_vel_smooth = smooth_velocity(
            self.lin_vel_smooth, lin_vel_xy_h, self.dt, self.reward_cfg.tracking_smooth_s
        )
        steps_on = bool(
            self.reward_cfg.feet_step_time_symmetry or self.reward_cfg.feet_step_length_symmetry
        )
        if steps_on:
            step_time, self.since_touchdown = update_steps(
                self.since_touchdown, first_contact, self.dt
            )
            step_length = step_lengths(st.foot_pos_w[..., :2], to_heading[:, :2, 0])
        else:
            step_time = step_length = self.air_time  # unread: the terms are off
        reward, terms = compute_rewards(
            self.reward_cfg,
            RewardInputs(
                lin_vel_xy_h=lin_vel_xy_h,
                lin_vel_xy_h_smooth=self.lin_vel_smooth,
                ang_vel_z_w=st.root_ang_vel_w[:, 2],
                lin_vel_b=st.root_lin_vel_b,
                ang_vel_b=st.root_ang_vel_b,
                command=self.commands.commands,
                torque=st.applied_torque,
                dof_pos=st.dof_pos,
                dof_vel=st.dof_vel,
                prev_dof_vel=self.prev_dof_vel,
                action=a,
                prev_action=self.prev_actions,
                undesired_contact=st.undesired_contact,
                touchdown_air_time=touchdown,
                first_contact=first_contact,
                air_time=self.air_time,
                contact_time=self.contact_time,
                foot_vel_xy=(
                    (st.foot_pos_w[..., :2] - self.prev_foot_pos[..., :2]) / self.dt
                    if self.reward_cfg.feet_slide or self.reward_cfg.feet_drag
                    else self._no_foot_vel  # unread: the term is off
                ),
                foot_contact=st.foot_contact,
                step_time=step_time,
                last_step_time=self.last_step_time,
                step_length=step_length,
                last_step_length=self.last_step_length,
                prev_foot_contact=self.prev_foot_contact,
                expected_stance=self.expected_stance,
                foot_clearance=(
                    self._foot_clearance(st.foot_pos_w)
                    if self.reward_cfg.feet_swing_clearance or self.reward_cfg.feet_drag
                    else self.contact_time  # unread: the term is off
                ),
                foot_force_w=st.foot_contact_force_w,
                soft_limits=self.soft_limits,
                default_dof_pos=self.default_dof_pos,
                deviation_mask=self._deviation_mask,
                projected_gravity_b=gravity_b,
                terminated=terminated,
                dt=self.dt,
            ),
        )
        if steps_on:
            self.last_step_time = latest_steps(self.last_step_time, step_time, first_contact)
            self.last_step_length = latest_steps(
                self.last_step_length, step_length, first_contact
            )
        self.episode_return += reward
        if "track_lin_vel_xy_exp" in terms:
            self.episode_tracking += terms["track_lin_vel_xy_exp"] / self._track_norm
        self.amp_history.push(self._amp_frame(None, to_heading))
        amp_window = self.amp_history.window()

        # Commands, curriculum progress, pushes.
        self.commands.update(self.dt, yaw)
        self.progress.step(st.root_pos_w[:, :2], self.commands.commands[:, :2], yaw, self.dt)
        done = terminated | truncated
        if cfg.randomization.pushes_on:
            self._apply_pushes(done)

        # Observations of the reached state, then auto-reset.
        self._compute_obs(None, gravity_b, yaw)
        final_critic_obs = self._critic.clone()
        done_ids = torch.nonzero(done).flatten()
        stats: dict[str, torch.Tensor] = {}
        if done_ids.numel():
            stats = self._episode_stats(done_ids, terminated)
            self._reset_envs(done_ids)
            self._compute_obs(done_ids)
        return StepResult(
            obs=self._actor_obs(),
            critic_obs=self._critic.clone(),
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            final_critic_obs=final_critic_obs,
            amp_obs=amp_window,
            reward_terms=terms,
            episode_stats=stats,
        )

    def set_iteration(self, iteration: int) -> None:
        """The training iteration about to run (the runner calls this): selects the reward
        weights of ``env.reward_stages``."""
        self.reward_cfg = rewards_at(self.cfg, iteration)
        r = self.reward_cfg
        self._track_norm = r.track_lin_vel_xy_exp * (self.dt if r.scale_by_dt else 1.0)

    @property
    def physics_threads(self) -> int:
        """Worker threads stepping the physics (the runner's update may use as many)."""
        return self.sim.num_threads

    def log_stats(self) -> dict[str, float]:
        """Curriculum state (stage, mean level, mastery, level per terrain type) for the log."""
        return self.curriculum.stats()

    def sample_reference_amp_obs(
        self, n: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``n`` reference AMP windows [n, H * D] from the motion source."""
        gen = generator if generator is not None else self._gen["reference"]
        return self.motion.sample_amp_obs(n, self.cfg.amp_history, gen).to(self.device)

    def close(self) -> None:
        """Release the simulation threads."""
        self.sim.close()

    # ------------------------------------------------------------------ internals
    def _amp_frame(
        self, ids: torch.Tensor | None = None, to_heading: torch.Tensor | None = None
    ) -> torch.Tensor:
        st = self.sim.state

        def sel(x: torch.Tensor) -> torch.Tensor:
            return x if ids is None else x[ids]

        return amp_obs(
            sel(st.root_pos_w),
            sel(st.root_quat_w),
            sel(st.root_lin_vel_w),
            sel(st.root_ang_vel_w),
            sel(st.dof_pos).index_select(-1, self._amp_dofs),
            sel(st.dof_vel).index_select(-1, self._amp_dofs),
            sel(st.key_body_pos_w),
            root_rot_w=sel(st.root_rot_w),
            to_heading=to_heading,
        )

    def _compute_obs(
        self,
        ids: torch.Tensor | None,
        gravity_b: torch.Tensor | None = None,
        yaw: torch.Tensor | None = None,
    ) -> None:
        """Noise-free actor and critic observations of all envs, or of ``ids`` only.

        gravity_b [n, 3] and yaw [n] of the selected envs may be passed when already computed.
        """
        st, cfg = self.sim.state, self.cfg

        def sel(x: torch.Tensor) -> torch.Tensor:
            return x if ids is None else x[ids]

        root_pos, root_quat = sel(st.root_pos_w), sel(st.root_quat_w)
        if gravity_b is None:
            gravity_b = -sel(st.root_rot_w)[:, 2, :]
        if yaw is None:
            yaw = yaw_of(root_quat)
        actor = actor_obs(
            cfg.observations,
            gravity_b,
            sel(st.root_ang_vel_b),
            sel(self.commands.commands),
            sel(st.dof_pos),
            self.default_dof_pos,
            sel(st.dof_vel),
            sel(self.actions),
        )
        if cfg.gait_clock.enabled:
            actor = torch.cat([actor, gait_clock.phase_obs(sel(self.phase))], dim=-1)
        if self.terrain.is_plane:  # same values as height_scan, without the per-point work
            grid = cfg.height_scan
            z = (root_pos[:, 2:3] - grid.offset).clamp(grid.clip[0], grid.clip[1])
            scan = z.expand(-1, self._scan_points.shape[0])
        else:
            scan = height_scan(self.terrain, root_pos, yaw, self._scan_arg)
        params = self.sim.params
        critic = critic_obs(
            cfg.observations,
            actor,
            sel(st.root_lin_vel_b),
            scan,
            sel(params.friction),
            sel(params.added_mass),
            sel(params.motor_strength),
            sel(self.push_vel),
        )
        lim = cfg.observations.clip
        if ids is None:
            torch.clamp(actor, -lim, lim, out=self._obs_clean)
            torch.clamp(critic, -lim, lim, out=self._critic)
        else:
            self._obs_clean[ids] = actor.clamp(-lim, lim)
            self._critic[ids] = critic.clamp(-lim, lim)

    def _foot_clearance(self, foot_pos_w: torch.Tensor) -> torch.Tensor:
        """[N, F] m: foot height above the terrain under it, minus the standing foot height."""
        if self.terrain.is_plane:
            ground = torch.zeros_like(foot_pos_w[..., 2])
        else:
            ground = self.terrain.height_at(foot_pos_w[..., :2])
        return foot_pos_w[..., 2] - ground - self._foot_rest_height

    def _advance_clock(self) -> None:
        """One policy step of the gait clock, and the stance it expects for this step."""
        clock, cmd = self.cfg.gait_clock, self.commands.commands
        speed = torch.linalg.vector_norm(cmd[:, :2], dim=-1)
        period = gait_clock.stride_period(self._clock_table, speed)
        self.phase = gait_clock.advance(self.phase, self.dt, period)
        standing = gait_clock.is_standing(clock, cmd)
        self.expected_stance = gait_clock.expected_stance(self.phase, clock.duty_factor, standing)

    def _actor_obs(self) -> torch.Tensor:
        if not self._noise_on:
            return self._obs_clean.clone()
        noisy = add_noise(self._obs_clean, self._noise, self._gen["noise"])
        lim = self.cfg.observations.clip
        return noisy.clamp(-lim, lim)

    def _apply_pushes(self, done: torch.Tensor) -> None:
        if self._step_count < self._next_push:
            return
        ids = torch.nonzero((self.push_at <= self._step_count) & ~done).flatten()
        n = ids.numel()
        if n:
            gen = self._gen["pushes"]
            dv = sample_push_velocity(self.cfg.randomization, n, gen).to(self.device)
            self.sim.push_root(ids, dv)
            self.push_vel[ids] = dv[:, :2]
            interval = sample_push_interval(self.cfg.randomization, n, self.dt, gen)
            self.push_at[ids] = self._step_count + interval.to(self.device)
        self._next_push = int(self.push_at.min())

    def _episode_stats(
        self, ids: torch.Tensor, terminated: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        n = ids.numel()
        length = self.episode_length[ids].float()
        return {
            "return": self.episode_return[ids].clone(),
            "length": length,
            "length_s": length * self.dt,
            "fell": terminated[ids].float(),
            "terrain_level": self.curriculum.levels[ids].float(),
            "stage": torch.full((n,), float(self.curriculum.stage), device=self.device),
            "mean_terrain_level": torch.full((n,), self.curriculum.mean_level, device=self.device),
        }

    def _reset_envs(self, ids: torch.Tensor) -> None:
        """Curriculum update (for episodes that ran), new spawn state, buffers, history."""
        cfg, dev = self.cfg, self.device
        n = ids.numel()
        ran = self.episode_length[ids] > 0
        if bool(ran.any()):
            done = ids[ran]
            tracking = self.episode_tracking[done] / self.episode_length[done].clamp(min=1)
            self.curriculum.update(
                done,
                self.progress.distance[done],
                self.progress.commanded[done],
                cfg.terrain.tile_size,
                tracking=tracking,
            )
        gen = self._gen["resets"]
        rows, cols = self.curriculum.levels[ids].cpu(), self.curriculum.cols[ids].cpu()
        origin = self.terrain.tile_origins[rows, cols].clone()  # [n, 3]
        origin[:, :2] += (2.0 * torch.rand(n, 2, generator=gen) - 1.0) * cfg.spawn_xy_noise
        ground = self.terrain.height_at(origin[:, :2])
        yaw = (2.0 * torch.rand(n, generator=gen) - 1.0) * math.pi
        yaw_q = quat_from_yaw(yaw)
        J = self.sim.num_dofs
        root_pos = torch.cat([origin[:, :2], (ground + self.robot.default_root_height)[:, None]], 1)
        root_quat = yaw_q.clone()
        lin_vel, ang_vel = torch.zeros(n, 3), torch.zeros(n, 3)
        dof_pos = self.default_dof_pos.cpu().expand(n, J).clone()
        dof_vel = torch.zeros(n, J)
        if self._use_rsi:
            use = torch.rand(n, generator=gen) < cfg.reference_init_prob
            k = int(use.sum())
            if k:
                ref = {
                    key: v.detach().float().cpu()
                    for key, v in self.motion.sample_states(k, self._gen["reference"]).items()
                }
                q = yaw_q[use]
                root_pos[use, 2] = ground[use] + ref["root_pos"][:, 2]
                root_quat[use] = quat_mul(q, ref["root_quat"])
                lin_vel[use] = quat_rotate(q, ref["root_lin_vel"])
                ang_vel[use] = quat_rotate(q, ref["root_ang_vel"])
                dof_pos[use] = ref["dof_pos"]
                dof_vel[use] = ref["dof_vel"]
        root_pos[:, 2] += cfg.spawn_height_margin
        self.sim.randomize_params(ids, self._gen["physics"])
        self.sim.reset(
            ids,
            ResetState(
                root_pos=root_pos,
                root_quat=root_quat,
                root_lin_vel=lin_vel,
                root_ang_vel=ang_vel,
                dof_pos=dof_pos,
                dof_vel=dof_vel,
            ),
        )
        st = self.sim.state
        ids_d = ids.to(dev)
        rot = st.root_rot_w[ids_d]
        new_yaw = torch.atan2(rot[:, 1, 0], rot[:, 0, 0])
        # The speed average starts at the spawn velocity (a reference frame's, or 0).
        self.lin_vel_smooth[ids_d] = torch.matmul(
            st.root_lin_vel_w[ids_d, None, :], heading_matrix(rot)
        )[:, 0, :2]
        self.commands.resample(ids_d, new_yaw)
        self.progress.reset(
            ids_d, st.root_pos_w[ids_d, :2], self.commands.commands[ids_d, :2], new_yaw
        )
        for buf in (self.actions, self.prev_actions, self.air_time, self.contact_time,
                    self.push_vel):  # fmt: skip
            buf[ids_d] = 0.0
        self.prev_foot_contact[ids_d] = False
        for buf in (self.since_touchdown, self.last_step_time, self.last_step_length):
            buf[ids_d] = torch.nan
        if cfg.gait_clock.enabled:  # a random point of the stride
            self.phase[ids_d] = torch.rand(n, generator=self._gen["clock"]).to(dev)
        self.prev_dof_vel[ids_d] = st.dof_vel[ids_d]
        self.episode_length[ids_d] = 0
        self.episode_return[ids_d] = 0.0
        self.episode_tracking[ids_d] = 0.0
        interval = sample_push_interval(cfg.randomization, n, self.dt, self._gen["pushes"])
        self.push_at[ids_d] = self._step_count + interval.to(dev)
        self._next_push = int(self.push_at.min())
        self.amp_history.reset(ids_d, self._amp_frame(ids_d))
