# Loading and helpers shared by the rules. Pure logic lives in the packages (mocap.discover, ...).

import json
import shlex
import sys
from pathlib import Path

from mocap.discover import CLIP_ID_PATTERN, discover_clips
from mocap.configs import canonical_json, from_dict

REPO = Path(workflow.basedir)
PYTHON = sys.executable


wildcard_constraints:
    clip=CLIP_ID_PATTERN,
    exp=r"[A-Za-z0-9_\-]+",
    name=r"[A-Za-z0-9_.\-]+",


def package_sources(package, exclude=()):
    """The .py files of a package, as absolute paths: listed as input so code changes rerun."""
    return sorted(str(p) for p in (REPO / package).rglob("*.py") if p.name not in exclude)


def demo_mode():
    """'on', 'off' or 'auto' (YAML 1.1 reads on/off as booleans)."""
    mode = config["mocap"]["demo"]
    return {True: "on", False: "off"}.get(mode, mode)


def demo_clip_names():
    from mocap.demo import DEMO_CLIPS

    wanted = config["mocap"]["demo_clips"] or sorted(DEMO_CLIPS)
    unknown = sorted(set(wanted) - set(DEMO_CLIPS))
    if unknown:
        raise ValueError(f"mocap.demo_clips: unknown demo clip(s) {unknown}; known: {sorted(DEMO_CLIPS)}")
    return list(wanted)


def _discover():
    found = discover_clips(config["mocap"]["paths"])
    use_demo = demo_mode() == "on" or (demo_mode() == "auto" and not found.clips)
    if use_demo:
        for name in demo_clip_names():
            cid = f"demo/{name}"
            if cid in found.clips:
                found.invalid.append(
                    {"file": found.clips.pop(cid), "reason": f"clip id {cid!r} is reserved for the demo gaits"}
                )
            found.clips[cid] = f"results/demo/{name}.bvh"
    for item in found.invalid:
        print(f"gaitforge: skipping {item['file']}: {item['reason']}", file=sys.stderr)
    return found


DISCOVERY = _discover()
CLIPS = DISCOVERY.clips


def clip_inputs(wildcards):
    """Source file of a clip (+ its sidecar metadata for the demo gaits)."""
    source = CLIPS[wildcards.clip]
    inputs = {"clip": source}
    if wildcards.clip.startswith("demo/") and source.startswith("results/demo/"):
        inputs["sidecar"] = source[: -len(".bvh")] + ".meta.json"
    return inputs


def ingest_params(wildcards):
    """The clip's slice of the mocap section, as canonical JSON (rerun exactly when it changes)."""
    m = config["mocap"]
    section = {
        "units": m["units"],
        "up_axis": m["up_axis"],
        "joint_map": m["joint_map"],
        "fps": m["fps_overrides"].get(wildcards.clip),
        "resample_fps": m["resample_fps"],
        "trim": m["trim"],
        "min_duration_s": m["min_duration_s"],
        "max_root_speed_mps": m["max_root_speed_mps"],
        "max_floor_shift_m": m["max_floor_shift_m"],
    }
    if CLIPS[wildcards.clip].endswith(".npz"):
        section["body_models"] = m["body_models"]
    return canonical_json(section)


def robot_inputs(wildcards):
    """The robot MJCF as an input when the config names one (the built-in model is code)."""
    mjcf = config["robot"]["mjcf"]
    return {"mjcf": mjcf} if mjcf else {}


def mjcf_arg():
    mjcf = config["robot"]["mjcf"]
    return f"--mjcf {shlex.quote(mjcf)}" if mjcf else ""


# Stage configs: one frozen dataclass per section is the single source of truth; a section is
# parsed strictly here so a typo fails when the workflow loads, not inside a job.
def _stage_config_classes():
    from retarget.dataset import DatasetConfig
    from retarget.solve import RetargetConfig

    return {"retarget": RetargetConfig, "dataset": DatasetConfig}


STAGE_CONFIGS = {
    name: from_dict(cls, config.get(name), name) for name, cls in _stage_config_classes().items()
}


def deep_merge(base, overrides):
    """``base`` with ``overrides`` merged in, recursively for mappings (overrides win)."""
    if not isinstance(base, dict) or not isinstance(overrides, dict):
        return overrides
    merged = dict(base)
    for key, value in overrides.items():
        merged[key] = deep_merge(base[key], value) if key in base else value
    return merged


EXPERIMENTS = sorted(config["experiments"])


def _experiment_configs(section, cls):
    return {
        exp: from_dict(
            cls,
            deep_merge(config.get(section) or {}, (config["experiments"][exp] or {}).get(section) or {}),
            f"experiments.{exp}.{section}",
        )
        for exp in EXPERIMENTS
    }


for _exp, _overrides in config["experiments"].items():
    _unknown = sorted(set(_overrides or {}) - {"train", "evaluate"})
    if _unknown:
        raise ValueError(f"experiments.{_exp}: unknown section(s) {_unknown}; allowed: train, evaluate")

from rl.train import TrainConfig

TRAIN_CONFIGS = _experiment_configs("train", TrainConfig)


from rl.evaluate import EvalConfig

EVAL_CONFIGS = _experiment_configs("evaluate", EvalConfig)


def train_params(wildcards):
    return canonical_json(TRAIN_CONFIGS[wildcards.exp])


def eval_params(wildcards):
    return canonical_json(EVAL_CONFIGS[wildcards.exp])


def compare_args(wildcards):
    """The other experiments' evaluations, for the report's comparison table."""
    others = [f"results/eval/{e}" for e in EXPERIMENTS if e != wildcards.exp]
    return ("--compare " + " ".join(others)) if others else ""


def section_json(name):
    """A stage's resolved section as canonical JSON (params: rerun exactly when it changes)."""
    return canonical_json(STAGE_CONFIGS[name])


MOCAP_CORE = [str(REPO / "mocap" / f) for f in ("types.py", "quat.py", "fileio.py", "configs.py", "resample.py")]
RETARGET_CODE = MOCAP_CORE + package_sources("retarget", exclude=("dataset.py", "tags.py", "kinematics.py", "view.py"))


ROBOT_CODE = [str(REPO / "retarget" / f) for f in ("robot.py", "g1_params.py")]
DATASET_CODE = MOCAP_CORE + ROBOT_CODE + [
    str(REPO / "retarget" / f) for f in ("dataset.py", "kinematics.py", "tags.py", "contacts.py", "clip.py")
]


RL_EVAL_ONLY = ("evaluate.py", "report.py", "report_plots.py", "metrics.py", "gait.py", "naturalness.py", "video.py")
REPORT_CODE = [str(REPO / "rl" / f) for f in ("report.py", "report_plots.py", "metrics.py", "gait.py", "naturalness.py", "video.py")]
EVAL_CODE = MOCAP_CORE + ROBOT_CODE + [str(REPO / "retarget" / "dataset.py")] + package_sources("rl", exclude=("report.py", "report_plots.py"))
TRAIN_CODE = MOCAP_CORE + ROBOT_CODE + [str(REPO / "retarget" / "dataset.py")] + package_sources("rl", exclude=RL_EVAL_ONLY)


def retargeted_clips():
    return expand("results/retarget/{clip}.{ext}", clip=sorted(CLIPS), ext=["npz", "json", "png"])


DEMO_CODE = [str(REPO / "mocap" / f) for f in ("demo.py", "bvh_write.py", "quat.py", "fileio.py", "types.py")]


def ingested_clips():
    return expand("results/mocap/{clip}.{ext}", clip=sorted(CLIPS), ext=["npz", "json"])
