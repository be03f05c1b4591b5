"""Clip discovery: globs -> clip ids (DESIGN section 8), and the clip index the report reads.

A clip id is the file's path relative to the fixed (wildcard-free) prefix of its glob, without
extension: ``data/mocap/cmu/07_01.bvh`` found by ``data/mocap/**/*.bvh`` -> ``cmu/07_01``. Ids use
only ``[A-Za-z0-9_.-]`` and ``/``; a file whose id does not fit, or whose id another file already
took, is reported by name with the reason, never silently dropped.
"""

from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

CLIP_ID_PATTERN = r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*"
CLIP_ID_RE = re.compile(rf"^{CLIP_ID_PATTERN}$")
_WILDCARD = re.compile(r"[*?\[]")


@dataclass
class Discovery:
    """Result of clip discovery.

    clips: clip id -> source file path (as found, relative to the working directory).
    invalid: files that were found but cannot be used, each ``{"file": ..., "reason": ...}``.
    """

    clips: dict[str, str] = field(default_factory=dict)
    invalid: list[dict[str, str]] = field(default_factory=list)


def fixed_prefix(pattern: str) -> str:
    """The leading path components of a glob that contain no wildcard (``""`` if none)."""
    parts = PurePosixPath(pattern).parts
    fixed = []
    for part in parts[:-1]:
        if _WILDCARD.search(part):
            break
        fixed.append(part)
    return str(PurePosixPath(*fixed)) if fixed else ""


def clip_id(path: str, pattern: str) -> str:
    """Clip id of ``path`` found by glob ``pattern`` (no validation)."""
    prefix = fixed_prefix(pattern)
    rel = os.path.relpath(path, prefix) if prefix else path
    rel = PurePosixPath(Path(rel).as_posix())
    return str(rel.with_suffix("")) if rel.suffix else str(rel)


def discover_clips(patterns: list[str], root: str | os.PathLike[str] = ".") -> Discovery:
    """Expand ``patterns`` (relative to ``root``) into clip ids; first pattern wins a clash."""
    found = Discovery()
    owner: dict[str, str] = {}
    root = Path(root)
    for pattern in patterns:
        matches = sorted(glob.glob(str(root / pattern), recursive=True))
        for match in matches:
            if not os.path.isfile(match):
                continue
            rel = os.path.relpath(match, root)
            cid = clip_id(rel, pattern)
            if not CLIP_ID_RE.match(cid):
                found.invalid.append({
                    "file": rel,
                    "reason": f"clip id {cid!r} has characters outside [A-Za-z0-9_.-] and '/'; "
                              "rename the file",
                })  # fmt: skip
            elif cid in owner:
                if owner[cid] != rel:
                    found.invalid.append({
                        "file": rel,
                        "reason": f"clip id {cid!r} is already taken by {owner[cid]}; rename one",
                    })  # fmt: skip
            else:
                owner[cid] = rel
                found.clips[cid] = rel
    return found


def build_index(summaries: dict[str, dict[str, Any]], invalid: list[dict[str, str]]) -> dict:
    """The clip index: every clip's status and reason, plus the files that got no clip id."""
    clips = {
        cid: {
            "status": s.get("status"),
            "reason": s.get("reason"),
            "source": s.get("source"),
            "synthetic": s.get("synthetic", False),
            "duration_s": s.get("duration_s"),
        }
        for cid, s in sorted(summaries.items())
    }
    return {
        "clips": clips,
        "accepted": sorted(c for c, s in clips.items() if s["status"] == "accepted"),
        "rejected": sorted(c for c, s in clips.items() if s["status"] != "accepted"),
        "invalid_files": invalid,
    }
