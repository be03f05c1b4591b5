"""Task rewards: small named pure functions (``<quantity>_<kernel>``) and a weight table.

Every function maps batched tensors to a per-env value [N]. Penalties return *positive* values;
the weight in ``RewardConfig`` carries the sign. The reward of a step is
``sum_i w_i * f_i * (dt if scale_by_dt else 1)`` and each weighted term is logged separately
(``StepResult.reward_terms``). A term with weight 0 is not computed.

Frames: ``_w`` world, ``_b`` root-body frame, ``_h`` heading frame (yaw-only); units SI.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mocap.configs import ConfigError

TERM_NAMES = (
    "track_lin_vel_xy_exp",
    "track_ang_vel_z_exp",
    "track_lin_vel_xy_smooth_exp",
    "lin_vel_z_l2",
    "ang_vel_xy_l2",
    "joint_torques_l2",
    "joint_acc_l2",
    "action_rate_l2",
    "undesired_contacts",
    "feet_air_time",
    "feet_air_time_biped",
    "feet_slide",
    "feet_step_time_symmetry",
    "feet_step_length_symmetry",
    "feet_phase_contact",
    "feet_swing_clearance",
    "feet_drag",
    "feet_stumble",
    "joint_pos_limits",
    "joint_deviation_l1",
    "flat_orientation_l2",
    "termination_penalty",
)


# --------------------------------------------------------------------------- terms
def track_lin_vel_xy_exp(
    lin_vel_xy_h: torch.Tensor, cmd_xy: torch.Tensor, std: float
) -> torch.Tensor:
    """``exp(-|cmd_xy - v_xy|^2 / std^2)``; velocities [N, 2] in the heading frame (m/s)."""
    diff = cmd_xy - lin_vel_xy_h
    return torch.exp(torch.linalg.vecdot(diff, diff) * (-1.0 / std**2))


def smooth_velocity(
    smooth: torch.Tensor, lin_vel_xy_h: torch.Tensor, dt: float, time_constant: float
) -> torch.Tensor:
    """One step of the exponential moving average [N, 2] of the heading-frame velocity,
    ``smooth + min(dt / tau, 1) (v - smooth)``: the walking speed over the last ~``tau`` s, in
    which the speed swing within a stride averages out."""
    return smooth + min(dt / time_constant, 1.0) * (lin_vel_xy_h - smooth)


def track_ang_vel_z_exp(
    ang_vel_z_w: torch.Tensor, cmd_wz: torch.Tensor, std: float
) -> torch.Tensor:
    """``exp(-(cmd_wz - w_z)^2 / std^2)``; yaw rates [N] (rad/s)."""
    return torch.exp(torch.square(cmd_wz - ang_vel_z_w) * (-1.0 / std**2))


def lin_vel_z_l2(lin_vel_b: torch.Tensor) -> torch.Tensor:
    """Squared vertical base velocity (body frame) [N] from [N, 3]."""
    return torch.square(lin_vel_b[:, 2])


def ang_vel_xy_l2(ang_vel_b: torch.Tensor) -> torch.Tensor:
    """Squared roll and pitch rates (body frame), summed [N]."""
    w = ang_vel_b[:, :2]
    return torch.linalg.vecdot(w, w)


def joint_torques_l2(torque: torch.Tensor) -> torch.Tensor:
    """Sum of squared applied joint torques [N] from [N, J] (N m)."""
    return torch.linalg.vecdot(torque, torque)


def joint_acc_l2(dof_vel: torch.Tensor, prev_dof_vel: torch.Tensor, dt: float) -> torch.Tensor:
    """Sum of squared joint accelerations, by finite difference over one policy step ``dt``."""
    dv = dof_vel - prev_dof_vel
    return torch.linalg.vecdot(dv, dv) * (1.0 / dt**2)


def action_rate_l2(action: torch.Tensor, prev_action: torch.Tensor) -> torch.Tensor:
    """Sum of squared action changes between consecutive policy steps [N]."""
    da = action - prev_action
    return torch.linalg.vecdot(da, da)


def undesired_contacts(contact: torch.Tensor) -> torch.Tensor:
    """Number of undesired bodies touching the terrain [N] from bool [N, U]."""
    return contact.sum(dim=-1, dtype=torch.float32)


def update_air_time(
    air_time: torch.Tensor, contact: torch.Tensor, dt: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Advance per-foot air timers by one step ``dt``.

    air_time: [N, F] seconds each foot has been in the air (0 while in contact).
    contact: [N, F] bool, foot in contact during this step.
    Returns ``(air_time_next, touchdown_air_time, first_contact)``: the new timers, the air time
    of feet that touched down this step (0 elsewhere) and the touchdown flags.
    """
    elapsed = air_time + dt
    first_contact = contact & (air_time > 0.0)
    touchdown = torch.where(first_contact, elapsed, 0.0)
    return torch.where(contact, 0.0, elapsed), touchdown, first_contact


def feet_air_time(
    touchdown_air_time: torch.Tensor,
    first_contact: torch.Tensor,
    cmd_xy: torch.Tensor,
    threshold: float,
    min_command: float,
) -> torch.Tensor:
    """``sum_feet (t_air - threshold) * touchdown``, only while the planar command is non-zero.

    Rewards steps longer than ``threshold`` seconds (and penalises shorter ones) at touchdown.
    """
    r = torch.sum((touchdown_air_time - threshold) * first_contact.float(), dim=-1)
    return r * (torch.linalg.vector_norm(cmd_xy, dim=-1) > min_command).float()


def update_contact_time(contact_time: torch.Tensor, contact: torch.Tensor, dt: float) -> torch.Tensor:
    """Advance per-foot contact timers [N, F] by ``dt`` (seconds in contact; 0 while in the air)."""
    return torch.where(contact, contact_time + dt, 0.0)


def feet_air_time_biped(
    air_time: torch.Tensor,
    contact_time: torch.Tensor,
    cmd_xy: torch.Tensor,
    threshold: float,
    min_command: float,
) -> torch.Tensor:
    """Single-stance time of a biped [N]: while exactly one foot is down, the shorter of the swing
    foot's air time and the stance foot's contact time, capped at ``threshold`` s; 0 in double
    support or flight and while the planar command is below ``min_command``.

    Rewards alternating steps that last (a shuffle in double support earns nothing), the
    biped form of the air-time reward (Isaac Lab's ``feet_air_time_positive_biped``).
    """
    in_contact = contact_time > 0.0
    in_mode = torch.where(in_contact, contact_time, air_time)
    single = in_contact.sum(dim=-1) == 1
    r = torch.where(single[:, None], in_mode, 0.0).min(dim=-1).values.clamp(max=threshold)
    return r * (torch.linalg.vector_norm(cmd_xy, dim=-1) > min_command).float()


def feet_slide(
    foot_vel_xy: torch.Tensor, contact: torch.Tensor, prev_contact: torch.Tensor
) -> torch.Tensor:
    """Horizontal speed of the feet in stance [N], m/s summed over feet: feet in contact during
    this step and the one before (a touchdown's own step does not count)."""
    stance = (contact & prev_contact).float()
    return torch.sum(torch.linalg.vector_norm(foot_vel_xy, dim=-1) * stance, dim=-1)


def update_steps(
    since_touchdown: torch.Tensor, first_contact: torch.Tensor, dt: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Step times of two feet [N, 2] and the advanced touchdown clocks.

    since_touchdown: [N, 2] s since each foot's latest touchdown (NaN: none yet this episode).
    first_contact: [N, 2] bool, touchdowns of this step.
    Returns ``(step_time, since_touchdown_next)``: the time since the *other* foot's latest
    touchdown (the step time of ``rl.gait``, read where a foot touches down; NaN before the
    other foot's first touchdown) and the clocks advanced by ``dt`` (0 for this step's touchdowns).
    """
    elapsed = since_touchdown + dt
    return elapsed.flip(-1), torch.where(first_contact, 0.0, elapsed)


def latest_steps(
    last_step: torch.Tensor, step: torch.Tensor, first_contact: torch.Tensor
) -> torch.Tensor:
    """Each of two feet's latest step value [N, 2]: ``step`` where the foot touched down alone
    this step, NaN where both feet touched down together (a hop or a landing: no step, as in
    ``rl.gait``), else ``last_step``."""
    alone = first_contact & ~first_contact.flip(-1)
    return torch.where(alone, step, torch.where(first_contact, torch.nan, last_step))


def step_lengths(foot_pos_xy: torch.Tensor, heading_xy: torch.Tensor) -> torch.Tensor:
    """Step length of each of two feet [N, 2], m: how far the foot lies ahead of the other foot
    along the heading ``heading_xy`` [N, 2] (unit vectors), from ``foot_pos_xy`` [N, 2, 2]."""
    ahead = foot_pos_xy - foot_pos_xy.flip(-2)
    return torch.linalg.vecdot(ahead, heading_xy[:, None, :])


def feet_step_symmetry(
    step: torch.Tensor,
    last_step: torch.Tensor,
    first_contact: torch.Tensor,
    cmd_xy: torch.Tensor,
    clip: float,
    min_command: float,
) -> torch.Tensor:
    """Left/right difference of consecutive steps [N]: at each touchdown of a foot,
    ``|its step - the other foot's latest step|`` (clipped at ``clip``), summed over the two
    feet; 0 where either step is undefined (NaN), where both feet touch down together and while
    the planar command is below ``min_command``.

    ``step`` / ``last_step`` [N, 2]: a step value (time, s, or length, m) of this step's
    touchdowns and each foot's latest one. Penalises limping: the symmetry index of ``rl.gait``
    is 0 when every step equals the one before.
    """
    d = (step - last_step.flip(-1)).abs().clamp(max=clip)
    alone = first_contact & ~first_contact.flip(-1)
    r = torch.where(alone & d.isfinite(), d, 0.0).sum(dim=-1)
    return r * (torch.linalg.vector_norm(cmd_xy, dim=-1) > min_command).float()


def feet_phase_contact(contact: torch.Tensor, expected: torch.Tensor) -> torch.Tensor:
    """Fraction of the feet whose contact matches the gait clock's expected stance [N]."""
    return (contact == expected).float().mean(dim=-1)


def feet_swing_clearance(
    clearance: torch.Tensor, expected_stance: torch.Tensor, target: float
) -> torch.Tensor:
    """Foot lift where the gait clock expects swing [N]: mean over feet of
    ``clip(clearance / target, 0, 1)`` for swing feet (0 for stance feet). A dense companion to
    ``feet_phase_contact``: every millimetre of lift pays, not only leaving the ground."""
    lift = (clearance / target).clamp(0.0, 1.0)
    return (lift * (~expected_stance).float()).mean(dim=-1)


def feet_drag(
    clearance: torch.Tensor, foot_vel_xy: torch.Tensor, target: float, speed: float
) -> torch.Tensor:
    """Feet moving over the ground below the clearance target [N]: sum over feet of
    ``clip(1 - clearance / target, 0, 1) * tanh(|v_xy| / speed)``.

    A foot that travels must be lifted: a shuffle's swing foot skims the ground (1-2 cm) and a
    sliding stance foot moves at ground level, and both cost up to 1 per foot; a foot at rest
    costs nothing at any height, a foot moving at ``target`` or higher costs nothing. Needs no
    gait clock (the speed of the foot says which foot is swinging). After the foot-clearance
    terms of legged-robot codebases (height error weighted by ``tanh`` of the foot speed), one
    sided: lifting higher than ``target`` is left to the style reward.
    """
    short = (1.0 - clearance / target).clamp(0.0, 1.0)
    moving = torch.tanh(torch.linalg.vector_norm(foot_vel_xy, dim=-1) / speed)
    return torch.sum(short * moving, dim=-1)


def feet_stumble(foot_force_w: torch.Tensor, ratio: float) -> torch.Tensor:
    """Number of feet whose horizontal contact force exceeds ``ratio`` x the vertical one [N]."""
    horizontal = torch.linalg.vector_norm(foot_force_w[..., :2], dim=-1)
    return (horizontal > ratio * foot_force_w[..., 2].abs()).sum(dim=-1, dtype=torch.float32)


def joint_pos_limits(dof_pos: torch.Tensor, soft_limits: torch.Tensor) -> torch.Tensor:
    """Sum over joints of how far (rad) positions lie outside ``soft_limits [J, 2]``."""
    below = (soft_limits[:, 0] - dof_pos).clamp(min=0.0)
    above = (dof_pos - soft_limits[:, 1]).clamp(min=0.0)
    return torch.sum(below + above, dim=-1)


def joint_deviation_l1(
    dof_pos: torch.Tensor, default_dof_pos: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """Summed distance (rad) of the ``mask``ed joints [J] (1 = counted) from the default pose [N]:
    holds the joints walking barely needs (hip yaw/roll, waist, arms) near their rest pose
    (Isaac Lab's ``joint_deviation_l1`` on the G1)."""
    return torch.sum((dof_pos - default_dof_pos).abs() * mask, dim=-1)


def soft_joint_limits(limits: torch.Tensor, factor: float) -> torch.Tensor:
    """Limits [J, 2] shrunk about their midpoints to ``factor`` of the range."""
    mid = limits.mean(dim=-1, keepdim=True)
    half = 0.5 * (limits[:, 1:] - limits[:, :1]) * factor
    return torch.cat([mid - half, mid + half], dim=-1)


def flat_orientation_l2(projected_gravity_b: torch.Tensor) -> torch.Tensor:
    """Squared horizontal components of gravity in the body frame (0 when upright) [N]."""
    g = projected_gravity_b[:, :2]
    return torch.linalg.vecdot(g, g)


def termination_penalty(terminated: torch.Tensor) -> torch.Tensor:
    """1 for envs whose episode ended by failure this step (not by timeout), else 0 [N]."""
    return terminated.float()


# --------------------------------------------------------------------------- table
@dataclass(frozen=True)
class RewardConfig:
    """Weights (sign included) and parameters of the reward terms."""

    track_lin_vel_xy_exp: float = 1.0  # weight; tracking of (vx, vy) in the heading frame
    track_ang_vel_z_exp: float = 0.5  # weight; tracking of the yaw rate
    # weight; tracking of (vx, vy) averaged over ~tracking_smooth_s (same kernel): a walk's
    # speed swings within each stride, which the per-step term charges as tracking error
    track_lin_vel_xy_smooth_exp: float = 0.0
    tracking_smooth_s: float = 0.5  # s, time constant of the velocity average
    lin_vel_z_l2: float = -0.2  # weight; vertical base velocity
    ang_vel_xy_l2: float = -0.05  # weight; roll/pitch rate
    joint_torques_l2: float = -2.0e-6  # weight; applied torques
    joint_acc_l2: float = -1.0e-7  # weight; joint accelerations
    action_rate_l2: float = -0.005  # weight; action changes
    undesired_contacts: float = -1.0  # weight; non-foot bodies touching the terrain
    feet_air_time: float = 0.25  # weight; step length in time
    feet_air_time_biped: float = 0.0  # weight; single-stance time, capped at air_time_threshold
    feet_slide: float = 0.0  # weight; stance-foot horizontal speed (m/s)
    feet_step_time_symmetry: float = 0.0  # weight; left/right step-time difference (s per step)
    feet_step_length_symmetry: float = 0.0  # weight; left/right step-length difference (m per step)
    step_symmetry_clip: float = 0.5  # s or m: largest difference one step can count
    feet_phase_contact: float = 0.0  # weight; feet in the stance the gait clock expects (0..1)
    feet_swing_clearance: float = 0.0  # weight; lift of the feet the clock expects in swing (0..1)
    swing_clearance_target: float = 0.08  # m above the standing foot height that earns the full lift
    feet_drag: float = 0.0  # weight; feet moving below swing_clearance_target (0..F, negative weight)
    drag_speed: float = 0.5  # m/s: foot speed at which feet_drag counts tanh(1) = 0.76 of the shortfall
    feet_stumble: float = -0.5  # weight; feet hitting vertical surfaces
    joint_pos_limits: float = -1.0  # weight; soft joint-limit violation (rad)
    joint_deviation_l1: float = 0.0  # weight; distance of deviation_joints from the default pose
    deviation_joints: tuple[str, ...] = (  # fnmatch patterns of the joints joint_deviation_l1 counts
        "*hip_yaw*", "*hip_roll*", "waist_*", "*shoulder*", "*elbow*", "*wrist*",
    )  # fmt: skip
    flat_orientation_l2: float = -1.0  # weight; base tilt
    termination_penalty: float = -200.0  # weight; falls
    tracking_std: float = 0.5  # std (m/s) of the linear-velocity tracking kernel
    tracking_std_yaw: float = 0.5  # std (rad/s) of the yaw-rate tracking kernel
    air_time_threshold: float = 0.4  # s: zero feet_air_time reward; cap of feet_air_time_biped
    min_command: float = 0.1  # m/s, planar command below which the stepping terms are 0
    air_time_min_command: float | None = None  # m/s, the same for feet_air_time (None: min_command)
    stumble_ratio: float = 5.0  # horizontal/vertical foot force ratio that counts as stumbling
    soft_limit_factor: float = 0.9  # fraction of the joint range that is penalty-free
    scale_by_dt: bool = True  # multiply every term by the policy step (s), Isaac Lab style

    def __post_init__(self) -> None:
        positive = ("swing_clearance_target", "drag_speed", "tracking_std", "tracking_std_yaw",
                    "tracking_smooth_s")  # fmt: skip
        for name in positive:
            if not getattr(self, name) > 0.0:
                raise ConfigError(f"env.rewards.{name}: must be > 0, got {getattr(self, name)}")

    def weights(self) -> dict[str, float]:
        """Non-zero term weights by term name."""
        return {n: getattr(self, n) for n in TERM_NAMES if getattr(self, n) != 0.0}


@dataclass
class RewardInputs:
    """Everything the terms read, for one policy step (N envs)."""

    lin_vel_xy_h: torch.Tensor  # [N, 2] m/s, base velocity in the heading frame
    lin_vel_xy_h_smooth: torch.Tensor  # [N, 2] m/s, its moving average (smooth_velocity)
    ang_vel_z_w: torch.Tensor  # [N] rad/s
    lin_vel_b: torch.Tensor  # [N, 3] m/s
    ang_vel_b: torch.Tensor  # [N, 3] rad/s
    command: torch.Tensor  # [N, 3] (vx, vy, wz)
    torque: torch.Tensor  # [N, J] N m
    dof_pos: torch.Tensor  # [N, J] rad
    dof_vel: torch.Tensor  # [N, J] rad/s
    prev_dof_vel: torch.Tensor  # [N, J] rad/s
    action: torch.Tensor  # [N, J]
    prev_action: torch.Tensor  # [N, J]
    undesired_contact: torch.Tensor  # [N, U] bool
    touchdown_air_time: torch.Tensor  # [N, F] s
    first_contact: torch.Tensor  # [N, F] bool
    air_time: torch.Tensor  # [N, F] s in the air so far (0 in contact)
    contact_time: torch.Tensor  # [N, F] s in contact so far (0 in the air)
    foot_vel_xy: torch.Tensor  # [N, F, 2] m/s, horizontal foot speed over the step
    foot_contact: torch.Tensor  # [N, F] bool, contact during this step
    step_time: torch.Tensor  # [N, F] s since the other foot's latest touchdown (NaN: none)
    last_step_time: torch.Tensor  # [N, F] s, step time of each foot's latest touchdown (NaN: none)
    step_length: torch.Tensor  # [N, F] m, how far each foot lies ahead of the other (heading)
    last_step_length: torch.Tensor  # [N, F] m, at each foot's latest touchdown (NaN: none)
    prev_foot_contact: torch.Tensor  # [N, F] bool, contact during the step before
    expected_stance: torch.Tensor  # [N, F] bool, the gait clock's stance (rl.gait_clock)
    foot_clearance: torch.Tensor  # [N, F] m, foot height above the terrain minus its standing height
    foot_force_w: torch.Tensor  # [N, F, 3] N
    soft_limits: torch.Tensor  # [J, 2] rad
    default_dof_pos: torch.Tensor  # [J] rad, the rest pose
    deviation_mask: torch.Tensor  # [J] 1.0 for the joints joint_deviation_l1 counts, else 0.0
    projected_gravity_b: torch.Tensor  # [N, 3]
    terminated: torch.Tensor  # [N] bool
    dt: float  # s, policy step


def compute_rewards(
    cfg: RewardConfig, x: RewardInputs
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Total reward [N] and the weighted terms by name (each [N]) of one step."""
    scale = x.dt if cfg.scale_by_dt else 1.0
    raw = {
        "track_lin_vel_xy_exp": lambda: track_lin_vel_xy_exp(
            x.lin_vel_xy_h, x.command[:, :2], cfg.tracking_std
        ),
        "track_ang_vel_z_exp": lambda: track_ang_vel_z_exp(
            x.ang_vel_z_w, x.command[:, 2], cfg.tracking_std_yaw
        ),
        "track_lin_vel_xy_smooth_exp": lambda: track_lin_vel_xy_exp(
            x.lin_vel_xy_h_smooth, x.command[:, :2], cfg.tracking_std
        ),
        "lin_vel_z_l2": lambda: lin_vel_z_l2(x.lin_vel_b),
        "ang_vel_xy_l2": lambda: ang_vel_xy_l2(x.ang_vel_b),
        "joint_torques_l2": lambda: joint_torques_l2(x.torque),
        "joint_acc_l2": lambda: joint_acc_l2(x.dof_vel, x.prev_dof_vel, x.dt),
        "action_rate_l2": lambda: action_rate_l2(x.action, x.prev_action),
        "undesired_contacts": lambda: undesired_contacts(x.undesired_contact),
        "feet_air_time": lambda: feet_air_time(
            x.touchdown_air_time,
            x.first_contact,
            x.command[:, :2],
            cfg.air_time_threshold,
            cfg.min_command if cfg.air_time_min_command is None else cfg.air_time_min_command,
        ),
        "feet_air_time_biped": lambda: feet_air_time_biped(
            x.air_time, x.contact_time, x.command[:, :2], cfg.air_time_threshold, cfg.min_command
        ),
        "feet_slide": lambda: feet_slide(x.foot_vel_xy, x.foot_contact, x.prev_foot_contact),
        "feet_step_time_symmetry": lambda: feet_step_symmetry(
            x.step_time,
            x.last_step_time,
            x.first_contact,
            x.command[:, :2],
            cfg.step_symmetry_clip,
            cfg.min_command,
        ),
        "feet_step_length_symmetry": lambda: feet_step_symmetry(
            x.step_length,
            x.last_step_length,
            x.first_contact,
            x.command[:, :2],
            cfg.step_symmetry_clip,
            cfg.min_command,
        ),
        "feet_phase_contact": lambda: feet_phase_contact(x.foot_contact, x.expected_stance),
        "feet_swing_clearance": lambda: feet_swing_clearance(
            x.foot_clearance, x.expected_stance, cfg.swing_clearance_target
        ),
        "feet_drag": lambda: feet_drag(
            x.foot_clearance, x.foot_vel_xy, cfg.swing_clearance_target, cfg.drag_speed
        ),
        "feet_stumble": lambda: feet_stumble(x.foot_force_w, cfg.stumble_ratio),
        "joint_pos_limits": lambda: joint_pos_limits(x.dof_pos, x.soft_limits),
        "joint_deviation_l1": lambda: joint_deviation_l1(
            x.dof_pos, x.default_dof_pos, x.deviation_mask
        ),
        "flat_orientation_l2": lambda: flat_orientation_l2(x.projected_gravity_b),
        "termination_penalty": lambda: termination_penalty(x.terminated),
    }
    names, w = _weight_column(cfg, scale, x.ang_vel_z_w.device)
    if not names:
        return torch.zeros_like(x.ang_vel_z_w), {}
    values = torch.stack([raw[name]() for name in names])  # [T, N] unweighted
    weighted = values * w
    return weighted.sum(dim=0), dict(zip(names, weighted.unbind(0)))


_weight_columns: dict[
    tuple[RewardConfig, float, torch.device], tuple[tuple[str, ...], torch.Tensor]
] = {}


def _weight_column(
    cfg: RewardConfig, scale: float, device: torch.device
) -> tuple[tuple[str, ...], torch.Tensor]:
    """Names of the non-zero terms and their scaled weights as a column [T, 1] (cached)."""
    key = (cfg, scale, device)
    if key not in _weight_columns:
        weights = cfg.weights()
        w = torch.tensor([v * scale for v in weights.values()], device=device)
        _weight_columns[key] = (tuple(weights), w[:, None])
    return _weight_columns[key]
