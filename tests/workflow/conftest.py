"""Helpers to run the real Snakefile in a temporary working directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


class Workflow:
    """The repo's Snakefile run with ``-d tmp`` on the smoke preset plus optional overrides."""

    def __init__(self, workdir: Path, overrides: Path | None = None):
        self.workdir = workdir
        self.configfiles = [str(REPO / "config" / "smoke.yaml")]
        if overrides is not None:
            self.configfiles.append(str(overrides))

    def run(self, *extra: str, check: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ)
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        cmd = [
            sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"),
            "-d", str(self.workdir), "--cores", "2", "--configfile", *self.configfiles, *extra,
        ]  # fmt: skip
        proc = subprocess.run(
            cmd, capture_output=True, text=True, env=env, timeout=1200, check=False
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return proc

    def planned_jobs(self) -> dict[str, int]:
        """Jobs a dry run would execute, by rule (empty when there is nothing to do)."""
        proc = self.run("--dry-run", "--quiet", "rules")
        text = proc.stdout + proc.stderr
        if "Nothing to be done" in text:
            return {}
        stats = text.split("Job stats:", 1)[-1]
        jobs = {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", stats, re.MULTILINE)}
        jobs.pop("total", None)
        return jobs


@pytest.fixture
def workflow_factory(tmp_path):
    def make(overrides_yaml: str | None = None) -> Workflow:
        overrides = None
        if overrides_yaml is not None:
            overrides = tmp_path / "overrides.yaml"
            overrides.write_text(overrides_yaml)
        work = tmp_path / "work"
        work.mkdir(exist_ok=True)
        return Workflow(work, overrides)

    return make
