"""Shared test fixtures: where ../shared/data is, and skipping cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GAITFORGE_SHARED_DATA", REPO.parent / "shared" / "data"))
CMU_DIR = SHARED_DATA / "mocap" / "cmu"
MANIFEST = SHARED_DATA / "mocap" / "manifest.csv"
G1_DIR = SHARED_DATA / "robots" / "unitree_g1"


@pytest.fixture(scope="session")
def cmu_dir() -> Path:
    if not CMU_DIR.is_dir():
        pytest.skip(f"shared CMU clips not found at {CMU_DIR} (set GAITFORGE_SHARED_DATA)")
    return CMU_DIR


@pytest.fixture(scope="session")
def manifest_path() -> Path:
    if not MANIFEST.is_file():
        pytest.skip(f"shared mocap manifest not found at {MANIFEST}")
    return MANIFEST


@pytest.fixture(scope="session")
def g1_dir() -> Path:
    if not (G1_DIR / "g1.xml").is_file():
        pytest.skip(f"official G1 model not found at {G1_DIR} (set GAITFORGE_SHARED_DATA)")
    return G1_DIR
