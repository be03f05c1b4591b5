"""The evaluation report: one self-contained HTML file per experiment.

``python -m rl.report --eval-dir results/eval/{exp} --train-dir results/train/{exp}
--dataset results/dataset/motions.h5 --clip-index results/index/clips.json
--out results/report/{exp}/index.html [--compare results/eval/other ...]``

Inputs (each optional: a missing or unreadable one gives a visible "not available: <why>" note
in its section, never a crash):

- ``{eval-dir}/metrics.json`` (:class:`rl.metrics.EvalMetrics`), ``{eval-dir}/rollouts.h5``
  (episodes in the dataset's frame layout, any group nesting, group attributes ``terrain``,
  ``level``), videos named by ``terrains.{t}.video`` or found as ``{eval-dir}/videos/{t}.*`` /
  ``{eval-dir}/{t}.*`` (.webp, .gif, .mp4, .webm);
- ``{train-dir}/metrics.csv`` (one row per iteration), ``{train-dir}/curriculum.csv``,
  ``{train-dir}/resolved_config.yaml`` (or ``config.yaml`` / ``config.json``);
- the dataset (root attributes ``dof_names``, ``key_bodies``, ``fps``, JSON
  ``rejected_clips`` / ``excluded_clips``; clip groups ``/clips/{id}`` with attributes such as
  ``weight``, ``source``, ``synthetic``, ``duration``);
- the clip index JSON ``{"clips": {id: {status, reason, source, synthetic, duration_s}},
  "accepted": [...], "rejected": [...], "invalid_files": [...]}``.

Sections (ids): summary, training, curriculum, task, naturalness, videos, clips, comparison.
Images are base64 PNGs (matplotlib Agg), videos base64 data URIs.
"""

from __future__ import annotations

import argparse
import base64
import csv
import html
import json
import math
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from mocap.fileio import write_text
from rl import gait as G
from rl import report_plots as RP
from rl.metrics import EvalMetrics, MetricsError, Motion, h5_attrs, iter_motions, load_eval_metrics

SECTIONS = (
    ("summary", "Run summary"),
    ("training", "Training curves"),
    ("curriculum", "Curriculum progress"),
    ("task", "Task metrics per terrain"),
    ("naturalness", "Gait naturalness vs reference"),
    ("videos", "Policy videos"),
    ("clips", "Clips that shaped the style"),
    ("comparison", "Comparison of experiments"),
)
VIDEO_EXTS = (".webp", ".gif", ".mp4", ".webm")
CYCLE_JOINTS = (
    "left_hip_pitch_joint",
    "left_knee_joint",
    "left_ankle_pitch_joint",
    "left_hip_roll_joint",
    "left_shoulder_pitch_joint",
    "waist_pitch_joint",
)
#: Largest video file (bytes) that is inlined; bigger ones get a note.
MAX_VIDEO_BYTES = 20 * 1024 * 1024


class NotAvailable(Exception):
    """An input is missing or unusable; the message says why (shown in the report)."""


# ----------------------------------------------------------------------------------------------
# HTML helpers
# ----------------------------------------------------------------------------------------------
def esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def fmt(v: Any, digits: int = 3) -> str:
    """Numbers to short text (3 significant digits, NaN/None -> en dash); others escaped."""
    if v is None:
        return "&ndash;"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating):
        v = float(v)
        if not math.isfinite(v):
            return "&ndash;"
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.{digits - 1}e}"
        return f"{v:.{digits}g}" if abs(v) >= 1 else f"{v:.{digits}f}".rstrip("0").rstrip(".")
    if isinstance(v, list | tuple):
        return "(" + ", ".join(fmt(x, digits) for x in v) + ")"
    return esc(v)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "") -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{fmt(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def img_png(png: bytes, alt: str) -> str:
    b64 = base64.b64encode(png).decode("ascii")
    return f'<img class="plot" alt="{esc(alt)}" src="data:image/png;base64,{b64}">'


def note(why: str) -> str:
    return f'<p class="na">not available: {esc(why)}</p>'


def video_html(path: Path, alt: str) -> str:
    """Inline a video file (MP4/WebM as <video>, GIF/WebP as <img>)."""
    from rl.video import mime_type

    size = path.stat().st_size
    if size > MAX_VIDEO_BYTES:
        raise NotAvailable(f"{path} is {size / 1e6:.1f} MB, more than the inline limit")
    mime = mime_type(path)
    b64 = base64.b64encode(path.read_bytes()).decode("ascii")
    if mime.startswith("video/"):
        return (
            f'<video class="video" autoplay loop muted playsinline controls title="{esc(alt)}">'
            f'<source type="{mime}" src="data:{mime};base64,{b64}"></video>'
        )
    return f'<img class="video" alt="{esc(alt)}" src="data:{mime};base64,{b64}">'


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;
 color:#1d2430;background:#fafbfc}
header{background:#1d2430;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
nav{padding:6px 24px;background:#e9edf2;font-size:13px}nav a{margin-right:14px;color:#245}
main{padding:8px 24px 40px}section{margin:18px 0;padding:8px 16px;background:#fff;
 border:1px solid #dde3ea;border-radius:6px}h2{font-size:17px;border-bottom:1px solid #eee}
table{border-collapse:collapse;margin:8px 0;font-size:12.5px}
th,td{border:1px solid #d5dbe2;padding:3px 7px;text-align:right}
th{background:#f0f3f6}td:first-child,th:first-child{text-align:left}
.na{color:#a33;font-style:italic}.plot{max-width:100%;margin:6px 0}
.video{width:320px;margin:4px;border:1px solid #ccd}.vids{display:flex;flex-wrap:wrap;gap:10px}
figure{margin:0}figcaption{font-size:12px;color:#555}pre{font-size:11px;background:#f5f7f9;
 padding:8px;overflow:auto;max-height:360px}details{margin:6px 0}
.rejected td{color:#933}.small{font-size:12px;color:#555}
"""


# ----------------------------------------------------------------------------------------------
# Inputs
# ----------------------------------------------------------------------------------------------
@dataclass
class ReportInputs:
    """Paths of everything the report reads (any may be None or missing)."""

    eval_dir: Path | None
    train_dir: Path | None = None
    dataset: Path | None = None
    clip_index: Path | None = None
    compare: list[Path] = field(default_factory=list)
    render_missing: bool = False


def read_csv_rows(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV file with a header; ignores a half-written last line."""
    if not path.is_file():
        raise NotAvailable(f"{path} not found")
    text = path.read_text()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    rows = list(csv.DictReader(text.splitlines()))
    if not rows:
        raise NotAvailable(f"{path} has no rows")
    return rows


def read_config(train_dir: Path) -> tuple[Path, Any]:
    """The training config next to the outputs: resolved_config.yaml, config.yaml or .json."""
    for name in ("resolved_config.yaml", "config.yaml", "resolved_config.json", "config.json"):
        p = train_dir / name
        if p.is_file():
            if p.suffix == ".json":
                return p, json.loads(p.read_text())
            import yaml

            return p, yaml.safe_load(p.read_text())
    raise NotAvailable(f"no resolved_config.yaml / config.yaml / config.json in {train_dir}")


def find_key(obj: Any, key: str) -> Any:
    """First value of ``key`` in a nested dict/list (depth first), or None."""
    if isinstance(obj, Mapping):
        if key in obj:
            return obj[key]
        values: Iterable[Any] = obj.values()
    elif isinstance(obj, list):
        values = obj
    else:
        return None
    for v in values:
        found = find_key(v, key)
        if found is not None:
            return found
    return None


def git_describe(cwd: Path | None = None) -> str | None:
    """``git describe --always --dirty --tags`` of the working directory, or None."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],
            cwd=cwd, capture_output=True, text=True, timeout=10, check=True,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _key_bodies(attrs: Mapping[str, Any]) -> list[str]:
    kb = attrs.get("key_bodies")
    if kb:
        return list(kb)
    from retarget.g1_params import KEY_BODIES

    return list(KEY_BODIES)


def _dof_names(attrs: Mapping[str, Any]) -> list[str]:
    names = attrs.get("dof_names")
    if names:
        return list(names)
    from retarget.g1_params import JOINT_NAMES

    return list(JOINT_NAMES)


def _file_attrs(path: Path) -> dict[str, Any]:
    with h5py.File(path, "r") as f:
        return h5_attrs(f)


class Context:
    """Lazy access to the inputs, each read at most once."""

    def __init__(self, inputs: ReportInputs) -> None:
        self.inputs = inputs
        self._cache: dict[str, Any] = {}

    def _get(self, key: str, load: Callable[[], Any]) -> Any:
        if key not in self._cache:
            try:
                self._cache[key] = (load(), None)
            except (NotAvailable, MetricsError, OSError, ValueError, KeyError) as e:
                self._cache[key] = (None, str(e) or type(e).__name__)
        value, why = self._cache[key]
        if value is None:
            raise NotAvailable(why)
        return value

    def metrics(self) -> EvalMetrics:
        def load() -> EvalMetrics:
            if self.inputs.eval_dir is None:
                raise NotAvailable("no --eval-dir given")
            return load_eval_metrics(self.inputs.eval_dir / "metrics.json")

        return self._get("metrics", load)

    def rollouts_path(self) -> Path:
        if self.inputs.eval_dir is None:
            raise NotAvailable("no --eval-dir given")
        name = "rollouts.h5"
        try:
            name = str(self.metrics().get("rollouts", name))
        except NotAvailable:
            pass
        p = self.inputs.eval_dir / name
        if not p.is_file():
            raise NotAvailable(f"{p} not found")
        return p

    def rollouts(self) -> tuple[list[Motion], dict[str, Any]]:
        def load() -> tuple[list[Motion], dict[str, Any]]:
            p = self.rollouts_path()
            motions = list(iter_motions(p))
            if not motions:
                raise NotAvailable(f"{p} holds no episodes")
            return motions, _file_attrs(p)

        return self._get("rollouts", load)

    def dataset(self) -> tuple[list[Motion], dict[str, Any]]:
        def load() -> tuple[list[Motion], dict[str, Any]]:
            p = self.inputs.dataset
            if p is None:
                raise NotAvailable("no --dataset given")
            if not p.is_file():
                raise NotAvailable(f"{p} not found")
            attrs = _file_attrs(p)
            with h5py.File(p, "r") as f:
                has_clips = "clips" in f and len(f["clips"]) > 0
            motions = list(iter_motions(p, "/clips")) if has_clips else []
            return motions, attrs

        return self._get("dataset", load)

    def train_rows(self, name: str) -> list[dict[str, str]]:
        def load() -> list[dict[str, str]]:
            if self.inputs.train_dir is None:
                raise NotAvailable("no --train-dir given")
            return read_csv_rows(self.inputs.train_dir / name)

        return self._get(f"csv:{name}", load)


def terrain_of(m: Motion) -> str:
    """The episode's terrain: attribute ``terrain`` or the first component of its group path."""
    t = m.attrs.get("terrain")
    if t:
        return str(t)
    parts = [p for p in m.name.split("/") if p]
    return parts[0] if len(parts) > 1 else "unknown"


# ----------------------------------------------------------------------------------------------
# Sections
# ----------------------------------------------------------------------------------------------
def section_summary(ctx: Context) -> str:
    parts: list[str] = []
    info: list[tuple[str, Any]] = []
    cfg: Any = None
    try:
        m = ctx.metrics()
        info += [("experiment", m.get("experiment")), ("policy", m.get("policy")),
                 ("evaluation seed", m.get("seed")), ("code version (eval)", m.get("code_version"))]  # fmt: skip
    except NotAvailable as e:
        parts.append(note(f"evaluation metrics: {e}"))
    if ctx.inputs.train_dir is not None:
        try:
            cfg_path, cfg = read_config(ctx.inputs.train_dir)
            info += [("training config", str(cfg_path)), ("training seed", find_key(cfg, "seed")),
                     ("code version (train)", find_key(cfg, "code_version"))]  # fmt: skip
        except NotAvailable as e:
            parts.append(note(f"training config: {e}"))
        try:
            rows = ctx.train_rows("metrics.csv")
            last = rows[-1]
            info += [("iterations", last.get("iteration")), ("env steps", last.get("env_steps")),
                     ("wall time", _hms(last.get("wall_s")))]  # fmt: skip
        except NotAvailable as e:
            parts.append(note(f"training log: {e}"))
    else:
        parts.append(note("no --train-dir given"))
    info.append(("code version (report)", git_describe() or "git describe unavailable"))
    info.append(("report generated", time.strftime("%Y-%m-%d %H:%M:%S %Z")))
    rows_html = "".join(
        f"<tr><th>{esc(k)}</th><td>{fmt(v) if v is not None else '&ndash;'}</td></tr>"
        for k, v in info
    )
    parts.insert(0, f'<table class="kv">{rows_html}</table>')
    if cfg is not None:
        parts.append("<details><summary>training config</summary><pre>"
                     f"{esc(json.dumps(cfg, indent=2, default=str))}</pre></details>")  # fmt: skip
    try:
        ev = ctx.metrics().get("eval_config")
        if ev:
            parts.append("<details><summary>evaluation config</summary><pre>"
                         f"{esc(json.dumps(ev, indent=2, default=str))}</pre></details>")  # fmt: skip
    except NotAvailable:
        pass
    return "\n".join(parts)


def _hms(seconds: Any) -> str:
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return "–"
    if not math.isfinite(s):
        return "–"
    h, rem = divmod(round(s), 3600)
    return f"{h:d}:{rem // 60:02d}:{rem % 60:02d} ({s:.0f} s)"


def section_training(ctx: Context) -> str:
    rows = ctx.train_rows("metrics.csv")
    cols = RP.numeric_columns(rows)
    keys = RP.pick_training_keys(cols)
    if not keys:
        raise NotAvailable("metrics.csv has none of reward/total, episode/*, tracking or level")
    return img_png(RP.plot_curves(cols, keys, "training"), "training curves")


def section_curriculum(ctx: Context) -> str:
    rows = ctx.train_rows("curriculum.csv")
    cols = RP.numeric_columns(rows)
    skip = {"iteration", "env_steps", "step", "wall_s"}
    keys = [k for k in cols if k not in skip][:12]
    if not keys:
        raise NotAvailable("curriculum.csv has no numeric columns besides the step")
    last = rows[-1]
    out = img_png(RP.plot_curves(cols, keys, "curriculum"), "curriculum progress")
    out += "<p>Last row:</p>" + table(list(last), [list(last.values())])
    return out


_TASK_COLS = (
    ("episodes", "episodes"),
    ("lin_vel_rmse_mps", "lin. vel. RMSE (m/s)"),
    ("yaw_rate_rmse_radps", "yaw-rate RMSE (rad/s)"),
    ("lin_vel_window_rmse_mps", "lin. vel. RMSE, windowed (m/s)"),
    ("yaw_rate_window_rmse_radps", "yaw-rate RMSE, windowed (rad/s)"),
    ("falls_per_min", "falls / min"),
    ("survival_time_s", "survival (s)"),
    ("distance_m", "distance (m)"),
    ("success_rate", "success rate"),
    ("highest_level_passed", "highest level passed"),
)


def section_task(ctx: Context) -> str:
    m = ctx.metrics()
    terrains = m["terrains"]
    if not terrains:
        raise NotAvailable("metrics.json lists no terrains")
    header = ["terrain", *(label for _, label in _TASK_COLS)]
    rows = [[t, *(v["task"].get(k) for k, _ in _TASK_COLS)] for t, v in terrains.items()]
    out = [table(header, rows, "task")]
    for t, v in terrains.items():
        per = v.get("per_command", [])
        if not per:
            continue
        body = [[r["command"], r["level"], *(r.get(k) for k, _ in _TASK_COLS)] for r in per]
        out.append(
            f"<details><summary>{esc(t)}: per command and level ({len(per)} rows)</summary>"
            + table(["command (vx, vy, wz)", "level", *(lb for _, lb in _TASK_COLS)], body)
            + "</details>"
        )
    return "\n".join(out)


_GAIT_COLS = (
    ("n_strides", "strides"),
    ("speed_mps", "speed (m/s)"),
    ("cadence_spm", "cadence (steps/min)"),
    ("stride_length_m", "stride length (m)"),
    ("duty_factor", "duty factor"),
    ("double_support", "double support"),
    ("flight", "flight"),
    ("step_time_si", "step-time SI (%)"),
    ("step_length_si", "step-length SI (%)"),
    ("clearance_m", "swing clearance (m)"),
    ("slip_m", "stance slip (m)"),
)
_NAT_SCALARS = (
    ("frechet", "Fréchet distance (AMP windows)"),
    ("root_jerk", "root dimensionless jerk"),
    ("foot_jerk", "foot dimensionless jerk"),
    ("action_rate", "action rate (1/s)"),
    ("cost_of_transport", "cost of transport"),
    ("discriminator_policy", "discriminator reward: policy"),
    ("discriminator_reference", "discriminator reward: reference"),
)


def _gait_inputs(
    ctx: Context,
) -> tuple[list[tuple[Motion, G.GaitAnalysis]], list[tuple[Motion, G.GaitAnalysis]], list[str]]:
    """Gait analyses of the rollouts (flat-terrain episodes when there are any) and the clips."""

    def load() -> Any:
        motions, attrs = ctx.rollouts()
        flat = [m for m in motions if "flat" in terrain_of(m)] or motions
        kb = _key_bodies(attrs)
        policy = [(m, G.analyze_motion(m, kb)) for m in flat]
        try:
            clips, dattrs = ctx.dataset()
            ref = [(m, G.analyze_motion(m, _key_bodies(dattrs))) for m in clips]
        except NotAvailable:
            ref = []
        return policy, ref, _dof_names(attrs)

    return ctx._get("gait", load)


def _attribution_table(attribution: Mapping[str, Any], policy: Any) -> str:
    """What the frozen discriminator tells the policy from the reference by: the policy's style
    reward with one feature group swapped for the reference's, largest lift first."""
    base = float(policy) if isinstance(policy, int | float) else math.nan

    def lift(v: Any) -> float:
        return float(v) - base if isinstance(v, int | float) else math.nan

    rows = sorted(
        ([name, v, lift(v)] for name, v in attribution.items()),
        key=lambda r: -r[2] if math.isfinite(r[2]) else math.inf,
    )
    return (
        "<h3>What the discriminator tells the policy apart by</h3>"
        '<p class="small">The policy\'s mean style reward when one group of its AMP features '
        "comes from reference windows instead: a large lift names what looks least like the "
        "reference.</p>" + table(["feature group", "style reward, swapped", "lift"], rows)
    )


def section_naturalness(ctx: Context) -> str:
    out: list[str] = []
    nat: Mapping[str, Any] = {}
    try:
        nat = ctx.metrics().get("naturalness", {}) or {}
    except NotAvailable as e:
        out.append(note(f"metrics.json: {e}"))
    scalars = [(label, nat.get(k)) for k, label in _NAT_SCALARS if k in nat]
    if scalars:
        out.append("<h3>Summary</h3>" + table(["metric", "value"], scalars))
        p, r = nat.get("discriminator_policy"), nat.get("discriminator_reference")
        if isinstance(p, int | float) and isinstance(r, int | float) and r:
            out.append(f'<p class="small">discriminator policy / reference = {fmt(p / r)}</p>')
    elif nat == {}:
        out.append(note("metrics.json has no 'naturalness' block"))
    attribution = nat.get("discriminator_attribution")
    if isinstance(attribution, Mapping) and attribution:
        out.append(_attribution_table(attribution, nat.get("discriminator_policy")))
    if nat.get("frechet_by_speed"):
        rows = [[f"{b['speed_lo']:.2f}–{b['speed_hi']:.2f}", b["n_policy"], b["n_reference"],
                 b["frechet"]] for b in nat["frechet_by_speed"]]  # fmt: skip
        out.append("<h3>Fréchet distance at matched speed</h3>"
                   + table(["speed band (m/s)", "policy windows", "reference windows",
                            "Fréchet"], rows))  # fmt: skip

    # Gait tables: from metrics.json, else computed here from the rollouts.
    gait_rows = []
    if isinstance(nat.get("gait"), Mapping):
        gait_rows.append(["policy (metrics.json)", *(nat["gait"].get(k) for k, _ in _GAIT_COLS)])
    if isinstance(nat.get("reference_gait"), Mapping):
        gait_rows.append(
            ["reference (metrics.json)", *(nat["reference_gait"].get(k) for k, _ in _GAIT_COLS)]
        )
    plots: list[str] = []
    try:
        policy, ref, dof_names = _gait_inputs(ctx)
        ps = G.summarize_gait([a for _, a in policy])
        gait_rows.append(["policy rollouts", *(ps.get(k) for k, _ in _GAIT_COLS)])
        if ref:
            rs = G.summarize_gait([a for _, a in ref])
            gait_rows.append(["reference clips", *(rs.get(k) for k, _ in _GAIT_COLS)])
        plots.append(_speed_band_table(policy, ref))
        plots.append(_gait_scatter(policy, ref))
        plots.append(_cycles_plot(policy, ref, dof_names))
        if not ref:
            plots.append(note(f"reference clips: {_why(ctx.dataset)}"))
    except NotAvailable as e:
        plots.append(note(f"gait from rollouts: {e}"))
    if gait_rows:
        out.append("<h3>Gait cycle</h3>" + table(["", *(lb for _, lb in _GAIT_COLS)], gait_rows))
    out.extend(plots)

    wp, wv = nat.get("wasserstein_joint_pos"), nat.get("wasserstein_joint_vel")
    if isinstance(wp, Mapping) and wp:
        names = list(wp)
        series = {"angle (rad)": np.array([wp[n] for n in names], dtype=float)}
        if isinstance(wv, Mapping) and all(n in wv for n in names):
            series["velocity (rad/s) / 10"] = np.array([wv[n] for n in names], dtype=float) / 10
        out.append("<h3>Per-joint Wasserstein-1 distance to the reference</h3>"
                   + img_png(RP.plot_bars(names, series, "per-joint W1", "W1"), "wasserstein"))  # fmt: skip
    else:
        out.append(note("per-joint Wasserstein distances: not in metrics.json"))

    try:
        terrains = ctx.metrics()["terrains"]
    except NotAvailable:
        terrains = {}
    for t, v in terrains.items():
        rows = v.get("gait_by_speed")
        if rows:
            out.append(f"<details><summary>{esc(t)}: gait by speed (metrics.json)</summary>"
                       + _band_rows_table(rows) + "</details>")  # fmt: skip
    return "\n".join(out)


def _why(fn: Callable[[], Any]) -> str:
    try:
        fn()
    except NotAvailable as e:
        return str(e)
    return "no clips in the dataset"


def _all_strides(items: Sequence[tuple[Motion, G.GaitAnalysis]]) -> G.Strides:
    return G.Strides.concatenate([a.strides for _, a in items])


def _band_rows_table(rows: Sequence[Mapping[str, Any]]) -> str:
    return table(
        ["speed band (m/s)", "strides", "speed", "cadence", "ref. cadence", "stride length",
         "ref. stride length", "duty factor", "ref. duty factor"],
        [[f"{r['speed_lo']:.2f}–{r['speed_hi']:.2f}", r["n_strides"], r["speed_mps"],
          r["cadence_spm"], r["ref_cadence_spm"], r["stride_length_m"], r["ref_stride_length_m"],
          r["duty_factor"], r["ref_duty_factor"]] for r in rows],
    )  # fmt: skip


def _speed_band_table(policy: Sequence[Any], ref: Sequence[Any]) -> str:
    ps = _all_strides(policy)
    if not len(ps):
        return note("no complete strides in the policy rollouts")
    rows = G.gait_by_speed(ps, _all_strides(ref) if ref else None)
    return "<h3>Cadence and stride length vs speed (policy rollouts vs reference)</h3>" + (
        _band_rows_table(rows)
    )


def _gait_scatter(policy: Sequence[Any], ref: Sequence[Any]) -> str:
    ps = _all_strides(policy)
    rs = _all_strides(ref) if ref else None
    if not len(ps) and (rs is None or not len(rs)):
        return note("no strides to plot")

    def d(s: G.Strides) -> dict[str, np.ndarray]:
        return {"speed": s.speed, "cadence": s.cadence, "stride_length": s.stride_length}

    curves = None
    if rs is not None and len(rs):
        curves = {"cadence": G.reference_curve(rs.speed, rs.cadence),
                  "stride_length": G.reference_curve(rs.speed, rs.stride_length)}  # fmt: skip
    png = RP.plot_gait_vs_speed(d(ps), d(rs) if rs is not None else None, curves)
    return img_png(png, "cadence and stride length vs speed")


def _cycles_plot(policy: Sequence[Any], ref: Sequence[Any], dof_names: Sequence[str]) -> str:
    joints = [j for j in CYCLE_JOINTS if j in dof_names]
    if not joints:
        return note("none of the plotted joints are in dof_names")
    idx = [list(dof_names).index(j) for j in joints]

    def cycles(items: Sequence[tuple[Motion, G.GaitAnalysis]], lo: float, hi: float) -> np.ndarray:
        parts = []
        for m, a in items:
            keep = a.strides.select((a.strides.speed >= lo) & (a.strides.speed <= hi))
            c = G.cycle_normalize(m.dof_pos[:, idx], keep, foot=0)
            if len(c):
                parts.append(c)
        return np.concatenate(parts) if parts else np.zeros((0, 101, len(idx)))

    pol = cycles(policy, -np.inf, np.inf)
    if not len(pol):
        return note("no left-foot strides in the policy rollouts for the joint-cycle plot")
    ps = _all_strides(policy).speed
    ref_c = None
    caption = "reference: all clips"
    if ref:
        ref_c = cycles(ref, float(ps.min()) - 0.2, float(ps.max()) + 0.2)
        caption = f"reference: strides at {ps.min() - 0.2:.2f}–{ps.max() + 0.2:.2f} m/s"
        if len(ref_c) < 3:
            ref_c = cycles(ref, -np.inf, np.inf)
            caption = "reference: all strides (too few at the policy's speed)"
    png = RP.plot_joint_cycles(joints, pol, ref_c)
    return (f"<h3>Joint angles over the gait cycle</h3><figure>{img_png(png, 'joint cycles')}"
            f"<figcaption>{esc(caption)}</figcaption></figure>")  # fmt: skip


def _find_video(eval_dir: Path, terrain: str, declared: Any) -> Path | None:
    if declared:
        p = eval_dir / str(declared)
        return p if p.is_file() else None
    for base in (eval_dir / "videos", eval_dir):
        for ext in VIDEO_EXTS:
            p = base / f"{terrain}{ext}"
            if p.is_file():
                return p
    return None


def _render_episode(ctx: Context, terrain: str) -> str:
    """Render the first rollout episode of ``terrain`` (flat floor) to an inline WebP."""
    from rl.video import VideoError, encode_animation, render_motion

    motions, _ = ctx.rollouts()
    eps = [m for m in motions if terrain_of(m) == terrain]
    if not eps:
        raise NotAvailable(f"no rollout episode on {terrain} to render")
    m = eps[0]
    try:
        frames = render_motion(m.root_pos, m.root_quat, m.dof_pos, m.fps, max_seconds=6.0)
    except VideoError as e:
        raise NotAvailable(f"rendering failed: {e}") from None
    b64 = base64.b64encode(encode_animation(frames, 20.0, "webp")).decode("ascii")
    return (f'<img class="video" alt="{esc(terrain)}" src="data:image/webp;base64,{b64}">'
            '<figcaption>rendered by the report on a flat floor</figcaption>')  # fmt: skip


def section_videos(ctx: Context) -> str:
    eval_dir = ctx.inputs.eval_dir
    if eval_dir is None:
        raise NotAvailable("no --eval-dir given")
    terrains: dict[str, Any] = {}
    try:
        terrains = dict(ctx.metrics()["terrains"])
    except NotAvailable:
        for base in (eval_dir / "videos", eval_dir):
            for p in sorted(base.glob("*")) if base.is_dir() else ():
                if p.suffix.lower() in VIDEO_EXTS:
                    terrains.setdefault(p.stem, {})
    if not terrains:
        raise NotAvailable(f"no terrains in metrics.json and no videos in {eval_dir}")
    figs = []
    for t, v in terrains.items():
        declared = v.get("video") if isinstance(v, Mapping) else None
        path = _find_video(eval_dir, t, declared)
        try:
            if path is not None:
                body = video_html(path, t)
            elif ctx.inputs.render_missing:
                body = _render_episode(ctx, t)
            else:
                why = (
                    f"{eval_dir / declared} not found"
                    if declared
                    else (
                        f"no video for {t} in {eval_dir} (looked for videos/{t}.webp|gif|mp4|webm)"
                    )
                )
                raise NotAvailable(why)
        except NotAvailable as e:
            body = note(str(e))
        figs.append(f"<figure><figcaption><b>{esc(t)}</b></figcaption>{body}</figure>")
    return '<div class="vids">' + "".join(figs) + "</div>"


def section_clips(ctx: Context) -> str:
    out: list[str] = []
    info: dict[str, dict[str, Any]] = {}
    index_lists: dict[str, list[Any]] = {}
    p = ctx.inputs.clip_index
    if p is None:
        out.append(note("no --clip-index given"))
    elif not p.is_file():
        out.append(note(f"clip index {p} not found"))
    else:
        try:
            idx = json.loads(p.read_text())
            for cid, c in (idx.get("clips") or {}).items():
                info[cid] = dict(c) if isinstance(c, Mapping) else {"status": c}
            index_lists = {
                k: list(idx.get(k) or []) for k in ("accepted", "rejected", "invalid_files")
            }
            for cid in index_lists["accepted"]:
                info.setdefault(str(cid), {}).setdefault("status", "accepted")
            for r in index_lists["rejected"]:
                cid = r.get("id", r.get("clip")) if isinstance(r, Mapping) else r
                entry = info.setdefault(str(cid), {})
                entry.setdefault("status", "rejected")
                if isinstance(r, Mapping) and r.get("reason"):
                    entry.setdefault("reason", r["reason"])
        except (json.JSONDecodeError, AttributeError, TypeError) as e:
            out.append(note(f"clip index {p} unreadable: {e}"))

    weights: dict[str, dict[str, Any]] = {}
    try:
        clips, attrs = ctx.dataset()
        for m in clips:
            weights[m.name] = m.attrs
            entry = info.setdefault(m.name, {})
            entry.setdefault("status", "accepted")
            entry["in_dataset"] = True
        for key, status in (("rejected_clips", "rejected"), ("excluded_clips", "excluded")):
            extra = attrs.get(key)
            if isinstance(extra, str):
                try:
                    extra = json.loads(extra)
                except json.JSONDecodeError:
                    extra = [extra]
            items = (
                extra.items()
                if isinstance(extra, Mapping)
                else (
                    ((r.get("id", r.get("clip")), r) if isinstance(r, Mapping) else (r, {}))
                    for r in (extra or [])
                )
            )
            for cid, r in items:
                entry = info.setdefault(str(cid), {})
                entry["status"] = status
                reason = r.get("reason") if isinstance(r, Mapping) else r
                if reason:
                    entry.setdefault("reason", reason)
    except NotAvailable as e:
        out.append(note(f"dataset: {e}"))

    if not info:
        raise NotAvailable("neither the clip index nor the dataset lists any clip")
    rows = []
    for cid in sorted(info, key=lambda c: (info[c].get("status") != "accepted", c)):
        c, a = info[cid], weights.get(cid, {})
        tags = a.get("tags") if isinstance(a.get("tags"), list) else []
        if "synthetic" not in c and "synthetic" not in a and tags:
            c["synthetic"] = "synthetic" in tags
        dur = c.get("duration_s", a.get("duration_s", a.get("duration")))
        rows.append([cid, c.get("status", "?"), c.get("reason", ""),
                     c.get("source", a.get("source", "")), c.get("synthetic", a.get("synthetic")),
                     dur, a.get("weight"), "yes" if c.get("in_dataset") else "no"])  # fmt: skip
    n_acc = sum(1 for c in info.values() if c.get("status") == "accepted")
    out.insert(0, f"<p>{n_acc} accepted, {len(info) - n_acc} rejected or excluded; "
                  "weights are the dataset's sampling weights.</p>")  # fmt: skip
    header = ["clip", "status", "reason", "source", "synthetic", "duration (s)", "weight",
              "in dataset"]  # fmt: skip
    out.append(table(header, rows, "clips"))
    if index_lists.get("invalid_files"):
        out.append("<p>Files that could not be indexed:</p>"
                   + table(["file / problem"], [[f] for f in index_lists["invalid_files"]]))  # fmt: skip
    return "\n".join(out)


_CMP_TASK = (("success_rate", "success"), ("lin_vel_rmse_mps", "lin RMSE"),
             ("falls_per_min", "falls/min"), ("highest_level_passed", "max level"))  # fmt: skip
_CMP_NAT = (("frechet", "Fréchet"), ("cost_of_transport", "CoT"),
            ("discriminator_policy", "disc. reward"), ("root_jerk", "root jerk"))  # fmt: skip


def comparison_table(experiments: Sequence[tuple[str, EvalMetrics | None, str]]) -> str:
    """One row per experiment: per-terrain task metrics and the naturalness scalars."""
    terrains: list[str] = []
    for _, m, _ in experiments:
        for t in (m or {}).get("terrains", {}):
            if t not in terrains:
                terrains.append(t)
    header = ["experiment"] + [f"{t}: {lb}" for t in terrains for _, lb in _CMP_TASK]
    header += [lb for _, lb in _CMP_NAT] + ["cadence", "step-time SI"]
    rows = []
    for name, m, why in experiments:
        if m is None:
            rows.append([f"{name} (not available: {why})"] + [None] * (len(header) - 1))
            continue
        row: list[Any] = [name]
        for t in terrains:
            task = m["terrains"].get(t, {}).get("task", {})
            row += [task.get(k) for k, _ in _CMP_TASK]
        nat = m.get("naturalness", {}) or {}
        row += [nat.get(k) for k, _ in _CMP_NAT]
        g = nat.get("gait", {}) or {}
        row += [g.get("cadence_spm"), g.get("step_time_si")]
        rows.append(row)
    return table(header, rows, "comparison")


def section_comparison(ctx: Context) -> str:
    if not ctx.inputs.compare:
        raise NotAvailable("a single experiment (pass --compare other eval dirs to compare)")
    exps: list[tuple[str, EvalMetrics | None, str]] = []
    dirs = ([ctx.inputs.eval_dir] if ctx.inputs.eval_dir else []) + list(ctx.inputs.compare)
    for d in dirs:
        try:
            m = load_eval_metrics(d / "metrics.json")
            exps.append((str(m.get("experiment") or d.name), m, ""))
        except MetricsError as e:
            exps.append((d.name, None, str(e)))
    return comparison_table(exps)


BUILDERS: dict[str, Callable[[Context], str]] = {
    "summary": section_summary,
    "training": section_training,
    "curriculum": section_curriculum,
    "task": section_task,
    "naturalness": section_naturalness,
    "videos": section_videos,
    "clips": section_clips,
    "comparison": section_comparison,
}


def build_report(inputs: ReportInputs, title: str | None = None) -> str:
    """The whole HTML document. Every section is built independently: a missing input, or an
    unexpected error inside one section, becomes a visible note in that section."""
    ctx = Context(inputs)
    if title is None:
        try:
            title = f"gaitforge report: {ctx.metrics()['experiment']}"
        except NotAvailable:
            title = f"gaitforge report: {inputs.eval_dir.name if inputs.eval_dir else '?'}"
    body = []
    for sid, heading in SECTIONS:
        try:
            content = BUILDERS[sid](ctx)
        except NotAvailable as e:
            content = note(str(e))
        except Exception as e:  # noqa: BLE001 - one broken input must not sink the report
            print(f"rl.report: section {sid} failed:\n{traceback.format_exc()}", file=sys.stderr)
            content = note(f"section failed: {type(e).__name__}: {e}")
        body.append(f'<section id="{sid}"><h2>{esc(heading)}</h2>\n{content}\n</section>')
    nav = "".join(f'<a href="#{sid}">{esc(h)}</a>' for sid, h in SECTIONS)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width"><title>{esc(title)}</title>'
        f"<style>{_CSS}</style></head><body><header><h1>{esc(title)}</h1></header>"
        f"<nav>{nav}</nav><main>{''.join(body)}</main></body></html>\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Write the HTML report of one experiment (optionally compared with others)."""
    p = argparse.ArgumentParser(prog="python -m rl.report", description=main.__doc__)
    p.add_argument("--eval-dir", type=Path, required=True, help="results/eval/{exp}")
    p.add_argument("--train-dir", type=Path, default=None, help="results/train/{exp}")
    p.add_argument("--dataset", type=Path, default=None, help="results/dataset/motions.h5")
    p.add_argument("--clip-index", type=Path, default=None, help="results/index/clips.json")
    p.add_argument("--out", type=Path, required=True, help="results/report/{exp}/index.html")
    p.add_argument("--compare", type=Path, nargs="*", default=[], help="other eval dirs")
    p.add_argument("--title", default=None)
    p.add_argument("--render-missing", action="store_true",
                   help="render a video from rollouts.h5 where the evaluator wrote none")  # fmt: skip
    args = p.parse_args(argv)
    inputs = ReportInputs(
        eval_dir=args.eval_dir, train_dir=args.train_dir, dataset=args.dataset,
        clip_index=args.clip_index, compare=list(args.compare),
        render_missing=args.render_missing,
    )  # fmt: skip
    text = build_report(inputs, args.title)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_text(args.out, text)
    print(f"rl.report: wrote {args.out} ({len(text) / 1e6:.2f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
