# Loading, validation and helpers shared by the rules. Pure logic lives in the packages
# (mocap.discover, the stage config dataclasses); this file only wires it to Snakemake.

import json
import shlex
import sys
from pathlib import Path

from mocap.configs import canonical_json, from_dict
from mocap.discover import CLIP_ID_PATTERN, discover_clips
from retarget.dataset import DatasetConfig
from retarget.solve import RetargetConfig
from rl.evaluate import EvalConfig
from rl.train import TrainConfig

REPO = Path(workflow.basedir)
PYTHON = sys.executable


wildcard_constraints:
    clip=CLIP_ID_PATTERN,
    exp=r"[A-Za-z0-9_\-]+",
    name=r"[A-Za-z0-9_.\-]+",


# ---------------------------------------------------------------------------------------------
# Code each stage runs: listed as input, so a code change reruns that stage and only that stage.
# ---------------------------------------------------------------------------------------------
def package_sources(package, exclude=()):
    """The .py files of a package, as absolute paths."""
    return sorted(str(p) for p in (REPO / package).rglob("*.py") if p.name not in exclude)


def _files(package, names):
    return [str(REPO / package / n) for n in names]


MOCAP_CORE = _files("mocap", ("types.py", "quat.py", "fileio.py", "configs.py", "resample.py"))
DEMO_CODE = _files("mocap", ("demo.py", "bvh_write.py", "quat.py", "fileio.py", "types.py"))
INGEST_CODE = package_sources("mocap", exclude=("demo.py", "bvh_write.py"))
ROBOT_CODE = _files("retarget", ("robot.py", "g1_params.py"))
RETARGET_CODE = MOCAP_CORE + package_sources(
    "retarget", exclude=("dataset.py", "tags.py", "kinematics.py", "view.py")
)
DATASET_CODE = MOCAP_CORE + ROBOT_CODE + _files(
    "retarget", ("dataset.py", "kinematics.py", "tags.py", "contacts.py", "clip.py")
)
REPORT_ONLY = ("report.py", "report_plots.py")
# metrics.py and gait.py also train: the gait clock measures the reference strides with them.
EVAL_ONLY = ("evaluate.py", "naturalness.py", "video.py")
TRAIN_CODE = DATASET_CODE + package_sources("rl", exclude=REPORT_ONLY + EVAL_ONLY)
EVAL_CODE = DATASET_CODE + package_sources("rl", exclude=REPORT_ONLY)
REPORT_CODE = _files("rl", REPORT_ONLY + EVAL_ONLY + ("metrics.py", "gait.py"))


# ---------------------------------------------------------------------------------------------
# Stage configs: one frozen dataclass per section is the single source of truth. Sections are
# parsed strictly here, so a typo fails when the workflow loads, naming the key.
# ---------------------------------------------------------------------------------------------
def deep_merge(base, overrides):
    """``base`` with ``overrides`` merged in, recursively for mappings (overrides win)."""
    if not isinstance(base, dict) or not isinstance(overrides, dict):
        return overrides
    merged = dict(base)
    for key, value in overrides.items():
        merged[key] = deep_merge(base[key], value) if key in base else value
    return merged


STAGE_CONFIGS = {
    "retarget": from_dict(RetargetConfig, config.get("retarget"), "retarget"),
    "dataset": from_dict(DatasetConfig, config.get("dataset"), "dataset"),
}

EXPERIMENTS = sorted(config["experiments"])


def _experiment_configs(section, cls):
    """``{experiment: cls}`` from the section merged with each experiment's overrides."""
    configs = {}
    for exp in EXPERIMENTS:
        overrides = config["experiments"][exp] or {}
        merged = deep_merge(config.get(section) or {}, overrides.get(section) or {})
        configs[exp] = from_dict(cls, merged, f"experiments.{exp}.{section}")
    return configs


TRAIN_CONFIGS = _experiment_configs("train", TrainConfig)
EVAL_CONFIGS = _experiment_configs("evaluate", EvalConfig)


def section_json(name):
    """A stage's resolved section as canonical JSON (params: rerun exactly when it changes)."""
    return canonical_json(STAGE_CONFIGS[name])


def train_params(wildcards):
    return canonical_json(TRAIN_CONFIGS[wildcards.exp])


def eval_params(wildcards):
    return canonical_json(EVAL_CONFIGS[wildcards.exp])


# ---------------------------------------------------------------------------------------------
# Clips: discovered from mocap.paths (DESIGN section 8), plus the demo gaits when asked for.
# ---------------------------------------------------------------------------------------------
def demo_mode():
    """'on', 'off' or 'auto' (YAML 1.1 reads on/off as booleans)."""
    mode = config["mocap"]["demo"]
    return {True: "on", False: "off"}.get(mode, mode)


def demo_clip_names():
    from mocap.demo import DEMO_CLIPS

    wanted = config["mocap"]["demo_clips"] or sorted(DEMO_CLIPS)
    unknown = sorted(set(wanted) - set(DEMO_CLIPS))
    if unknown:
        raise ValueError(
            f"mocap.demo_clips: unknown demo clip(s) {unknown}; known: {sorted(DEMO_CLIPS)}"
        )
    return list(wanted)


def _discover():
    found = discover_clips(config["mocap"]["paths"])
    use_demo = demo_mode() == "on" or (demo_mode() == "auto" and not found.clips)
    if use_demo:
        for name in demo_clip_names():
            cid = f"demo/{name}"
            if cid in found.clips:
                reason = f"clip id {cid!r} is reserved for the demo gaits"
                found.invalid.append({"file": found.clips.pop(cid), "reason": reason})
            found.clips[cid] = f"results/demo/{name}.bvh"
    for item in found.invalid:
        print(f"gaitforge: skipping {item['file']}: {item['reason']}", file=sys.stderr)
    return found


DISCOVERY = _discover()
CLIPS = DISCOVERY.clips


def ingested_clips():
    return expand("results/mocap/{clip}.{ext}", clip=sorted(CLIPS), ext=["npz", "json"])


def retargeted_clips():
    return expand("results/retarget/{clip}.{ext}", clip=sorted(CLIPS), ext=["npz", "json", "png"])


# ---------------------------------------------------------------------------------------------
# Input and params functions.
# ---------------------------------------------------------------------------------------------
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


def compare_args(wildcards):
    """The other experiments' evaluations, for the report's comparison table."""
    others = [f"results/eval/{e}" for e in EXPERIMENTS if e != wildcards.exp]
    return ("--compare " + " ".join(others)) if others else ""
