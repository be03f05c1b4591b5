"""MuJoCo CPU backend: N ``MjData`` worlds over one composed model, stepped by ``mujoco.rollout``.

Composition: the caller builds one ``MjSpec`` holding the robot and the terrain (terrain geoms must
hang on the world body, as ``rl.terrain.Terrain.add_to_spec`` does); ``MujocoSim`` then

- replaces the spec's actuators by one PD position actuator per joint, in the robot's official
  joint order: ``tau = clip(kp * (q_target - q) - kd * qd, -effort, effort)`` (MuJoCo ``general``
  actuator, affine bias, ``forcerange`` = effort limit), so the PD law and its clipping run inside
  ``mj_step`` and the velocity term is integrated implicitly (``implicitfast``);
- adds sensors read in bulk from ``sensordata``: key-body and foot positions (``framepos`` of the
  body frames), net terrain force on each foot and contact flags for the undesired / termination
  bodies (``contact`` sensors against the world body, i.e. the terrain only, self-contacts
  excluded), and the applied actuator torques (``actuatorfrc``);
- sets the physics step (200 Hz) and compiles.

Stepping: every env's full physics state lives in one array ``[N, nstate]``. ``step`` calls
``mujoco.rollout`` once for the whole batch with ``decimation`` substeps and the targets held
constant: the C++ thread pool of ``rollout`` (persistent, ``num_threads`` workers, MuJoCo's own
chunking) steps all envs without touching the GIL, and returns the states and sensor values of
every substep in preallocated arrays. Measured on the 2-core dev machine (official G1, flat
floor, 64 envs): ``rollout`` steps as fast as a Python ``ThreadPoolExecutor`` looping ``mj_step``
per env, but the thread pool's per-env state gather in Python cost 11% on top, while here the
gather is a few bulk NumPy copies.
``rollout`` starts each call with a zero solver warm-start (verified bitwise), so results do not
depend on which thread steps which env: same inputs, same trajectory.

Per-env physics parameters (friction, added mass, motor strength): they are model parameters and
envs share compiled models, so the backend keeps ``G`` copies of the model ("groups"), each with its
own parameter draw (``rl.randomization`` draws them), and each env points at one group; ``rollout``
takes one model per env. ``randomize_params`` reassigns envs to random groups (at episode resets),
so parameters vary per env and per episode over a pool of ``G`` draws. Motor strength scales both
PD gains (not the effort limit). Pushes are velocity impulses written into the state array.

Torch interop: the float64 rollout buffers are converted once per step into float32 buffers whose
``torch.from_numpy`` views (created once) form ``SimState``: zero copy on CPU; on another device the
buffers are copied over once per step. ``torch.set_num_threads`` is left to the caller
(``rl.env.G1Env`` sets 1 so torch does not fight the MuJoCo threads).
"""

from __future__ import annotations

import contextlib
import copy
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

import mujoco
import numpy as np
import torch
from mujoco import rollout as mj_rollout

from rl.sim.base import (
    QUAT_PRODUCTS_TO_ROT,
    PhysicsParams,
    ResetState,
    RobotDescription,
    SimState,
)

_STATE_SPEC = mujoco.mjtState.mjSTATE_FULLPHYSICS
_CONTACT_FOUND, _CONTACT_FORCE = 1, 2  # contact-sensor data bits
_REDUCE_NONE, _REDUCE_NETFORCE = 0, 3


class SimError(RuntimeError):
    """The robot/terrain model cannot be composed or stepped; the message says what is wrong."""


@dataclass(frozen=True)
class MujocoSimConfig:
    """MuJoCo backend settings."""

    physics_dt: float = 0.005  # s, physics step (200 Hz)
    decimation: int = 4  # physics steps per policy step (policy at 50 Hz)
    num_threads: int = 0  # rollout worker threads; 0 = the CPUs this process may use
    solver_iterations: int = 0  # constraint solver iterations cap; 0 keeps the model's value
    undesired_contact_bodies: tuple[str, ...] = (
        r".*_hip_.*",
        r".*_knee_.*",
        r".*_shoulder_.*",
        r".*_elbow_.*",
        r".*_wrist_.*",
    )  # regexes (full match) of bodies whose terrain contacts are penalised
    termination_contact_bodies: tuple[str, ...] = ("pelvis", "torso_link")  # regexes: fall if hit
    added_mass_body: str = "torso_link"  # body that receives the randomised added mass
    nominal_friction: float = 0.8  # friction of the robot's geoms (they win contact mixing)


def _match_bodies(model: mujoco.MjModel, patterns: Sequence[str], where: str) -> list[str]:
    names = [model.body(i).name for i in range(1, model.nbody)]
    out = []
    for p in patterns:
        hit = [n for n in names if re.fullmatch(p, n)]
        if not hit:
            raise SimError(f"{where}: pattern {p!r} matches no body of the robot model")
        out += [n for n in hit if n not in out]
    return out


def _robot_root_body(spec: mujoco.MjSpec) -> str:
    """Name of the robot's root body: the world child that carries a free joint."""
    for body in spec.worldbody.bodies:
        if any(j.type == mujoco.mjtJoint.mjJNT_FREE for j in body.joints):
            return body.name
    raise SimError("the model has no free-floating body (the robot needs a free joint)")


def _add_terrain_contact_sensor(
    spec: mujoco.MjSpec, sensor: str, body: str, data: int, reduce: int
) -> None:
    """A contact sensor between ``body`` and the world body (the terrain), first match only."""
    spec.add_sensor(
        name=sensor,
        type=mujoco.mjtSensor.mjSENS_CONTACT,
        objtype=mujoco.mjtObj.mjOBJ_BODY,
        objname=body,
        reftype=mujoco.mjtObj.mjOBJ_BODY,
        refname="world",
        intprm=[data, reduce, 1],
    )


class MujocoSim:
    """Batched MuJoCo simulation of one robot per env on a shared terrain (see module docstring).

    Args:
        robot: joint order, limits, PD gains, default pose, key and foot bodies.
        spec: an ``MjSpec`` with the robot and the terrain; it is modified (actuators, sensors).
        num_envs: N.
        cfg: backend settings.
        group_params: parameter draws, each field [G]; None = one group with nominal values
            (friction ``cfg.nominal_friction``, no added mass, strength 1).
        device: torch device of the state tensors.
    """

    def __init__(
        self,
        robot: RobotDescription,
        spec: mujoco.MjSpec,
        num_envs: int,
        cfg: MujocoSimConfig = MujocoSimConfig(),
        group_params: PhysicsParams | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        if num_envs < 1:
            raise SimError(f"num_envs must be >= 1, got {num_envs}")
        if cfg.decimation < 1 or cfg.physics_dt <= 0:
            raise SimError(f"bad timing: physics_dt={cfg.physics_dt}, decimation={cfg.decimation}")
        self.cfg = cfg
        self.num_envs = num_envs
        self.decimation = cfg.decimation
        self.physics_dt = cfg.physics_dt
        self.device = torch.device(device)
        self.dof_names = tuple(robot.dof_names)
        self.num_dofs = len(self.dof_names)
        self.key_body_names = tuple(robot.key_bodies)
        self.foot_body_names = tuple(robot.foot_bodies)
        self._kp = np.asarray(robot.kp, dtype=np.float64)
        self._kd = np.asarray(robot.kd, dtype=np.float64)
        self.effort_limits = np.asarray(robot.effort_limits, dtype=np.float64)

        self.root_body = _robot_root_body(spec)
        self._compose(spec)
        m = self.model
        self.undesired_body_names = tuple(
            _match_bodies(m, cfg.undesired_contact_bodies, "undesired_contact_bodies")
        )
        self.termination_body_names = tuple(
            _match_bodies(m, cfg.termination_contact_bodies, "termination_contact_bodies")
        )
        self._add_contact_sensors(spec)
        self.model = spec.compile()
        self._configure_model(self.model)
        self._layout()

        # Parameter groups: one model copy per parameter draw.
        if group_params is None:
            group_params = PhysicsParams(
                friction=torch.tensor([cfg.nominal_friction]),
                added_mass=torch.zeros(1),
                motor_strength=torch.ones(1),
            )
        self._group_values = np.stack(
            [
                group_params.friction.detach().cpu().double().numpy(),
                group_params.added_mass.detach().cpu().double().numpy(),
                group_params.motor_strength.detach().cpu().double().numpy(),
            ],
            axis=1,
        )  # [G, 3]
        self.num_groups = self._group_values.shape[0]
        self._group_models = [self._make_group_model(g) for g in range(self.num_groups)]
        self._env_group = np.arange(num_envs) % self.num_groups
        self._env_models = [self._group_models[g] for g in self._env_group]
        self._update_params()

        # Threads and rollout buffers.
        nthread = cfg.num_threads or len(os.sched_getaffinity(0))
        self.num_threads = max(1, min(nthread, num_envs))
        self._rollout = mj_rollout.Rollout(nthread=self.num_threads if self.num_threads > 1 else 0)
        self._thread_data = [mujoco.MjData(self.model) for _ in range(self.num_threads)]
        self._scratch = mujoco.MjData(self.model)
        N, D = num_envs, cfg.decimation
        self._state = np.zeros((N, self.nstate))
        self._ctrl = np.zeros((N, D, self.model.nu))
        self._out_state = np.zeros((N, D, self.nstate))
        self._out_sens = np.zeros((N, D, self.model.nsensordata))
        self._sens = np.zeros((N, self.model.nsensordata))
        self._flag_peak = np.zeros((N, len(self._flag_cols)))  # max over substeps, see ``step``
        self._obs_state = np.zeros((N, self.nstate))  # the observed state, see ``step``
        self.rollout_seconds = 0.0  # wall time spent inside mujoco.rollout (for benchmarks)
        self._flags = np.zeros((N, len(self._flag_cols)), dtype=bool)
        self._make_views()

        # Start every env at the default standing pose at the world origin.
        qpos = self.model.qpos0.copy()
        qpos[self._root_qadr : self._root_qadr + 7] = (0, 0, robot.default_root_height, 1, 0, 0, 0)
        qpos[self._dof_qadr] = robot.default_dof_pos
        for i in range(N):
            self._write_env(i, qpos, np.zeros(self.model.nv))
        self._publish()

    # ------------------------------------------------------------------ composition
    def _compose(self, spec: mujoco.MjSpec) -> None:
        """Replace actuators by PD position actuators in dof order; add position/torque sensors."""
        for act in list(spec.actuators):
            spec.delete(act)
        for sensor in list(spec.sensors):
            spec.delete(sensor)
        joints = {j.name for j in spec.joints}
        missing = [n for n in self.dof_names if n not in joints]
        if missing:
            raise SimError(f"robot model lacks joints {missing}")
        for name, kp, kd, effort in zip(self.dof_names, self._kp, self._kd, self.effort_limits):
            spec.add_actuator(
                name=f"pd_{name}",
                target=name,
                trntype=mujoco.mjtTrn.mjTRN_JOINT,
                gaintype=mujoco.mjtGain.mjGAIN_FIXED,
                biastype=mujoco.mjtBias.mjBIAS_AFFINE,
                gainprm=[kp] + [0.0] * 9,
                biasprm=[0.0, -kp, -kd] + [0.0] * 7,
                forcelimited=mujoco.mjtLimited.mjLIMITED_TRUE,
                forcerange=[-effort, effort],
                ctrllimited=mujoco.mjtLimited.mjLIMITED_FALSE,
            )
        bodies = {b.name for b in spec.bodies}
        for name in (*self.key_body_names, *self.foot_body_names):
            if name not in bodies:
                raise SimError(f"robot model lacks body {name!r} (key/foot body)")
        for prefix, names in (("key", self.key_body_names), ("foot", self.foot_body_names)):
            for name in names:
                spec.add_sensor(
                    name=f"{prefix}_pos_{name}",
                    type=mujoco.mjtSensor.mjSENS_FRAMEPOS,
                    objtype=mujoco.mjtObj.mjOBJ_XBODY,
                    objname=name,
                )
        for name in self.dof_names:
            spec.add_sensor(
                name=f"torque_{name}",
                type=mujoco.mjtSensor.mjSENS_ACTUATORFRC,
                objtype=mujoco.mjtObj.mjOBJ_ACTUATOR,
                objname=f"pd_{name}",
            )
        for name in self.foot_body_names:
            data = _CONTACT_FOUND | _CONTACT_FORCE
            _add_terrain_contact_sensor(spec, f"foot_contact_{name}", name, data, _REDUCE_NETFORCE)
        spec.option.timestep = self.physics_dt
        spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
        # Compile once without the contact flags to resolve the body-name patterns.
        self.model = spec.compile()

    def _add_contact_sensors(self, spec: mujoco.MjSpec) -> None:
        for kind, names in (
            ("undesired", self.undesired_body_names),
            ("termination", self.termination_body_names),
        ):
            for name in names:
                _add_terrain_contact_sensor(
                    spec, f"{kind}_contact_{name}", name, _CONTACT_FOUND, _REDUCE_NONE
                )

    def _configure_model(self, m: mujoco.MjModel) -> None:
        if self.cfg.solver_iterations > 0:
            m.opt.iterations = self.cfg.solver_iterations
        root = m.body(self.root_body).id
        robot_body = m.body_rootid == root
        self._robot_geoms = np.flatnonzero(robot_body[m.geom_bodyid])
        # Robot geoms win MuJoCo's contact-parameter mixing, so their friction is the contact's.
        m.geom_priority[self._robot_geoms] = np.maximum(m.geom_priority[self._robot_geoms], 1) + (
            m.geom_priority[m.geom_bodyid == 0].max(initial=0)
        )
        self._mass_body = m.body(self.cfg.added_mass_body).id
        self._base_mass = float(m.body_mass[self._mass_body])
        self._base_friction = m.geom_friction[self._robot_geoms].copy()

    def _layout(self) -> None:
        """Index arrays into the state vector and sensordata."""
        m = self.model
        self.nstate = mujoco.mj_stateSize(m, _STATE_SPEC)
        qpos0 = mujoco.mj_stateSize(m, mujoco.mjtState.mjSTATE_TIME)
        self._qpos_off = qpos0
        self._qvel_off = qpos0 + m.nq
        jid = [m.joint(n).id for n in self.dof_names]
        self._dof_qadr = np.array([m.jnt_qposadr[j] for j in jid])
        self._dof_vadr = np.array([m.jnt_dofadr[j] for j in jid])
        root_jnt = m.body(self.root_body).jntadr[0]
        self._root_qadr = int(m.jnt_qposadr[root_jnt])
        self._root_vadr = int(m.jnt_dofadr[root_jnt])

        def cols(name: str, dim: int) -> np.ndarray:
            adr = m.sensor(name).adr[0]
            return np.arange(adr, adr + dim)

        self._key_cols = np.concatenate([cols(f"key_pos_{n}", 3) for n in self.key_body_names])
        self._foot_cols = np.concatenate([cols(f"foot_pos_{n}", 3) for n in self.foot_body_names])
        self._torque_cols = np.concatenate([cols(f"torque_{n}", 1) for n in self.dof_names])
        fc = [m.sensor(f"foot_contact_{n}").adr[0] for n in self.foot_body_names]
        self._foot_force_cols = np.concatenate([np.arange(a + 1, a + 4) for a in fc])
        und = [m.sensor(f"undesired_contact_{n}").adr[0] for n in self.undesired_body_names]
        ter = [m.sensor(f"termination_contact_{n}").adr[0] for n in self.termination_body_names]
        self._flag_cols = np.array(fc + und + ter, dtype=np.int64)
        # Contiguous runs of the flag columns: (first sensordata column, end, first flag index).
        self._flag_runs: list[tuple[int, int, int]] = []
        for i, c in enumerate(self._flag_cols.tolist()):
            if self._flag_runs and self._flag_runs[-1][1] == c:
                lo, _, dst = self._flag_runs[-1]
                self._flag_runs[-1] = (lo, c + 1, dst)
            else:
                self._flag_runs.append((c, c + 1, i))
        self._n_feet, self._n_und = len(fc), len(und)

    def _make_group_model(self, g: int) -> mujoco.MjModel:
        friction, added_mass, strength = self._group_values[g]
        m = copy.copy(self.model)
        m.geom_friction[self._robot_geoms] = self._base_friction
        m.geom_friction[self._robot_geoms, 0] = friction
        m.body_mass[self._mass_body] = self._base_mass + added_mass
        m.actuator_gainprm[:, 0] = strength * self._kp
        m.actuator_biasprm[:, 1] = -strength * self._kp
        m.actuator_biasprm[:, 2] = -strength * self._kd
        mujoco.mj_setConst(m, mujoco.MjData(m))
        return m

    # ------------------------------------------------------------------ torch views
    def _make_views(self) -> None:
        """Lay out one float32 buffer [N, W] holding every state field; build the torch views."""
        N, J, K, F = self.num_envs, self.num_dofs, len(self.key_body_names), self._n_feet
        qp, qv = self._qpos_off + self._root_qadr, self._qvel_off + self._root_vadr
        state_cols = np.concatenate(
            [
                np.arange(qp, qp + 7),  # root pos, quat
                np.arange(qv, qv + 6),  # root lin vel (world), ang vel (body)
                self._qpos_off + self._dof_qadr,
                self._qvel_off + self._dof_vadr,
            ]
        )
        sens_cols = np.concatenate(
            [self._key_cols, self._foot_cols, self._foot_force_cols, self._torque_cols]
        )
        sizes = {
            "root_pos": 3, "root_quat": 4, "lin_vel_w": 3, "ang_vel_b": 3, "dof_pos": J,
            "dof_vel": J, "key": 3 * K, "foot_pos": 3 * F, "foot_force": 3 * F, "torque": J,
            "rot": 9, "lin_vel_b": 3, "ang_vel_w": 3,
        }  # fmt: skip
        off, o = {}, 0
        for name, size in sizes.items():
            off[name] = slice(o, o + size)
            o += size
        self._slices = off
        self._n_state_cols, self._n_sens_cols = len(state_cols), len(sens_cols)
        self._state_cols, self._sens_cols = state_cols, sens_cols
        self._buf = np.zeros((N, o), dtype=np.float32)
        self._term = np.zeros(N, dtype=bool)
        b = self._buf
        self._np_rot = b[:, off["rot"]].reshape(N, 3, 3)
        self._np_quat = b[:, off["root_quat"]]
        self._qq = np.zeros((N, 4, 4), dtype=np.float32)
        self._quat_to_rot = QUAT_PRODUCTS_TO_ROT.astype(np.float32)

        dev = self.device
        t = torch.from_numpy(self._buf)
        flags = torch.from_numpy(self._flags)
        term = torch.from_numpy(self._term)
        if dev.type != "cpu":
            t, flags, term = t.to(dev), flags.to(dev), term.to(dev)
        self._t_buf, self._t_flags, self._t_term = t, flags, term

        def v(name: str, *shape: int) -> torch.Tensor:
            x = t[:, off[name]]
            return x.view(N, *shape) if shape else x

        nf = self._n_feet
        self._sim_state = SimState(
            root_pos_w=v("root_pos"),
            root_quat_w=v("root_quat"),
            root_rot_w=v("rot", 3, 3),
            root_lin_vel_w=v("lin_vel_w"),
            root_ang_vel_w=v("ang_vel_w"),
            root_lin_vel_b=v("lin_vel_b"),
            root_ang_vel_b=v("ang_vel_b"),
            dof_pos=v("dof_pos"),
            dof_vel=v("dof_vel"),
            key_body_pos_w=v("key", K, 3),
            foot_pos_w=v("foot_pos", F, 3),
            foot_contact_force_w=v("foot_force", F, 3),
            foot_contact=flags[:, :nf],
            undesired_contact=flags[:, nf : nf + self._n_und],
            termination_contact=term,
            applied_torque=v("torque"),
        )

    def _publish(self) -> None:
        """Refresh the float32 state buffer (and its torch views) from the float64 arrays.

        NumPy on purpose: these are a dozen tiny array operations per step, and NumPy's per-call
        overhead is several times lower than torch's.
        """
        b, off = self._buf, self._slices
        ns = self._n_state_cols
        b[:, :ns] = self._obs_state[:, self._state_cols]
        b[:, ns : ns + self._n_sens_cols] = self._sens[:, self._sens_cols]
        # The contact sensor reports the force the foot exerts on the terrain; negate it.
        force = b[:, off["foot_force"]]
        np.negative(force, out=force)
        q = self._np_quat
        np.multiply(q[:, :, None], q[:, None, :], out=self._qq)
        b[:, off["rot"]] = self._qq.reshape(-1, 16) @ self._quat_to_rot
        rot = self._np_rot
        np.einsum("nij,ni->nj", rot, b[:, off["lin_vel_w"]], out=b[:, off["lin_vel_b"]])
        np.einsum("nij,nj->ni", rot, b[:, off["ang_vel_b"]], out=b[:, off["ang_vel_w"]])
        np.any(self._flags[:, self._n_feet + self._n_und :], axis=1, out=self._term)
        if self.device.type != "cpu":
            self._t_buf.copy_(torch.from_numpy(b), non_blocking=True)
            self._t_flags.copy_(torch.from_numpy(self._flags), non_blocking=True)
            self._t_term.copy_(torch.from_numpy(self._term), non_blocking=True)

    # ------------------------------------------------------------------ protocol
    @property
    def dt(self) -> float:
        """Policy step (s)."""
        return self.physics_dt * self.decimation

    @property
    def state(self) -> SimState:
        """Current state; its tensors are refreshed in place by ``step``/``reset``/``push_root``."""
        return self._sim_state

    @property
    def params(self) -> PhysicsParams:
        """Per-env physics parameters, each [N] float32 (refreshed by ``randomize_params``)."""
        return self._params

    def _update_params(self) -> None:
        v = torch.from_numpy(self._group_values[self._env_group].astype(np.float32)).to(self.device)
        self._params = PhysicsParams(friction=v[:, 0], added_mass=v[:, 1], motor_strength=v[:, 2])

    @property
    def env_groups(self) -> np.ndarray:
        """Parameter group of each env, int [N]."""
        return self._env_group.copy()

    def step(self, targets: torch.Tensor) -> None:
        """Hold ``targets [N, J]`` (rad) for ``decimation`` physics steps in all envs."""
        if targets.shape != (self.num_envs, self.num_dofs):
            raise SimError(
                f"targets must be [{self.num_envs}, {self.num_dofs}], got {targets.shape}"
            )
        tgt = targets.detach().to("cpu", torch.float64).numpy()
        np.copyto(self._ctrl, tgt[:, None, :])
        self._run_rollout()
        # Sensors of a substep are evaluated before its integration: the last substep's sensor
        # values belong to the state one substep before the end. Observations use that state,
        # so every observed quantity refers to the same instant (a one-substep sensing latency).
        if self.decimation > 1:
            np.copyto(self._obs_state, self._out_state[:, -2])
        else:
            np.copyto(self._obs_state, self._state)
        np.copyto(self._state, self._out_state[:, -1])
        np.copyto(self._sens, self._out_sens[:, -1])
        # Contact flags: in contact during any substep of this policy step. The maximum over the
        # substeps is taken run by run over the flag columns' contiguous runs (a few small NumPy
        # calls; a fancy-indexed 3-D ``max(axis=1)`` costs several times more).
        out, peak = self._out_sens, self._flag_peak
        for lo, hi, dst in self._flag_runs:
            p = peak[:, dst : dst + hi - lo]
            np.copyto(p, out[:, 0, lo:hi])
            for k in range(1, self.decimation):
                np.maximum(p, out[:, k, lo:hi], out=p)
        np.greater(peak, 0.0, out=self._flags)
        self._publish()

    def physics_only_step(self) -> None:
        """The raw-physics reference for benchmarks: the same rollout with no state processing."""
        self._run_rollout()
        np.copyto(self._state, self._out_state[:, -1])

    def _run_rollout(self) -> None:
        t0 = time.perf_counter()
        self._rollout.rollout(
            self._env_models,
            self._thread_data,
            self._state,
            self._ctrl,
            skip_checks=True,
            nstep=self.decimation,
            state=self._out_state,
            sensordata=self._out_sens,
        )
        self.rollout_seconds += time.perf_counter() - t0

    def reset(self, env_ids: torch.Tensor, states: ResetState) -> None:
        """Set the root pose/velocity and joint state of ``env_ids``; sensors are recomputed."""
        ids = env_ids.detach().cpu().long().numpy()
        n = len(ids)
        if n == 0:
            return
        quat = states.root_quat.detach().cpu().double()
        quat = quat / quat.norm(dim=-1, keepdim=True)
        ang_b = _rotate(quat, states.root_ang_vel.detach().cpu().double(), inverse=True)
        m = self.model
        qpos = np.zeros((n, m.nq))
        qvel = np.zeros((n, m.nv))
        r, v = self._root_qadr, self._root_vadr
        qpos[:, r : r + 3] = states.root_pos.detach().cpu().double().numpy()
        qpos[:, r + 3 : r + 7] = quat.numpy()
        qpos[:, self._dof_qadr] = states.dof_pos.detach().cpu().double().numpy()
        qvel[:, v : v + 3] = states.root_lin_vel.detach().cpu().double().numpy()
        qvel[:, v + 3 : v + 6] = ang_b.numpy()
        qvel[:, self._dof_vadr] = states.dof_vel.detach().cpu().double().numpy()
        for k, i in enumerate(ids):
            self._write_env(int(i), qpos[k], qvel[k])
        self._publish()

    def _write_env(self, i: int, qpos: np.ndarray, qvel: np.ndarray) -> None:
        """Write one env's state and refresh its sensors with a forward pass."""
        d = self._scratch
        m = self._env_models[i]
        d.time = 0.0
        d.qpos[:] = qpos
        d.qvel[:] = qvel
        d.act[:] = 0.0
        d.ctrl[:] = qpos[self._dof_qadr]
        mujoco.mj_forward(m, d)
        mujoco.mj_getState(m, d, self._state[i], _STATE_SPEC)
        self._obs_state[i] = self._state[i]
        self._sens[i] = d.sensordata
        self._flags[i] = d.sensordata[self._flag_cols] > 0.0

    def push_root(self, env_ids: torch.Tensor, delta_lin_vel_w: torch.Tensor) -> None:
        """Add ``delta_lin_vel_w [n, 3]`` (m/s, world) to the root linear velocity of ``env_ids``."""
        ids = env_ids.detach().cpu().long().numpy()
        if len(ids) == 0:
            return
        v = self._qvel_off + self._root_vadr
        dv = delta_lin_vel_w.detach().cpu().double().numpy()
        self._state[ids, v : v + 3] += dv
        self._obs_state[ids, v : v + 3] += dv
        self._publish()

    def randomize_params(self, env_ids: torch.Tensor, generator: torch.Generator) -> None:
        """Move ``env_ids`` to uniformly drawn parameter groups (no-op with one group)."""
        if self.num_groups == 1 or len(env_ids) == 0:
            return
        ids = env_ids.detach().cpu().long().numpy()
        groups = torch.randint(self.num_groups, (len(ids),), generator=generator).numpy()
        self._env_group[ids] = groups
        for i, g in zip(ids, groups):
            self._env_models[i] = self._group_models[g]
        self._update_params()

    def key_body_positions(
        self, root_pos: np.ndarray, root_quat: np.ndarray, dof_pos: np.ndarray
    ) -> np.ndarray:
        """Forward kinematics: key-body positions [T, K, 3] (m, world) of T configurations."""
        m, d = self.model, mujoco.MjData(self.model)
        root_pos, root_quat, dof_pos = (np.atleast_2d(x) for x in (root_pos, root_quat, dof_pos))
        ids = [m.body(n).id for n in self.key_body_names]
        out = np.zeros((len(root_pos), len(ids), 3))
        r = self._root_qadr
        for t in range(len(root_pos)):
            d.qpos[r : r + 3] = root_pos[t]
            d.qpos[r + 3 : r + 7] = root_quat[t]
            d.qpos[self._dof_qadr] = dof_pos[t]
            mujoco.mj_kinematics(m, d)
            out[t] = d.xpos[ids]
        return out

    def close(self) -> None:
        """Shut the rollout thread pool down."""
        if self._rollout is not None:
            self._rollout.close()
            self._rollout = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()


def _rotate(
    q: torch.Tensor, v: torch.Tensor, inverse: bool = False, out: torch.Tensor | None = None
) -> torch.Tensor:
    """Rotate ``v [..., 3]`` by unit quaternion ``q [..., 4]`` (w, x, y, z), or by its inverse."""
    w = q[..., :1]
    u = -q[..., 1:] if inverse else q[..., 1:]
    t = 2.0 * torch.linalg.cross(u, v)
    res = v + w * t + torch.linalg.cross(u, t)
    if out is not None:
        out.copy_(res)
        return out
    return res
