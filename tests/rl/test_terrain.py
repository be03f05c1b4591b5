"""Terrain generator: heights against the specification, MuJoCo surface == height_at, height scan."""

from __future__ import annotations

import dataclasses
import json
import math
import time

import mujoco
import numpy as np
import pytest
import torch

from mocap.configs import ConfigError, canonical_json, from_dict
from rl.terrain import (
    ScanGrid,
    Terrain,
    TerrainConfig,
    height_scan,
    num_steps,
    slope_of,
    step_height_of,
)

torch.set_num_threads(1)

# 0.1 m keeps the MuJoCo hfield small for the tests; the logic is the same at 0.05 m.
CFG = TerrainConfig(num_levels=4, horizontal_scale=0.1, border_width=1.0)


@pytest.fixture(scope="module")
def terrain() -> Terrain:
    return Terrain(CFG)


@pytest.fixture(scope="module")
def model_data(terrain: Terrain) -> tuple[mujoco.MjModel, mujoco.MjData]:
    spec = mujoco.MjSpec()
    terrain.add_to_spec(spec)
    model = spec.compile()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    return model, data


def _col(terrain: Terrain, kind: str) -> int:
    return terrain.col_types.index(kind)


def _outward_profile(terrain: Terrain, row: int, col: int) -> np.ndarray:
    """Raw samples from the tile centre along +x to the tile edge (inclusive)."""
    hs = terrain.horizontal_scale
    n_tile = round(CFG.tile_size / hs)
    n_border = round(CFG.border_width / hs)
    ic = n_border + row * n_tile + n_tile // 2
    jc = n_border + col * n_tile + n_tile // 2
    return terrain.heights[ic : ic + n_tile // 2 + 1, jc].astype(np.float64)


@pytest.mark.parametrize("kind", ["stairs_up", "stairs_down"])
def test_stairs_match_spec(terrain: Terrain, kind: str) -> None:
    sign = 1.0 if kind == "stairs_down" else -1.0
    n = num_steps(CFG)
    for row in range(CFG.num_levels):
        prof = _outward_profile(terrain, row, _col(terrain, kind))
        jumps = np.nonzero(np.abs(np.diff(prof)) > 1e-6)[0]
        assert len(jumps) == n, f"row {row}: {len(jumps)} risers, expected {n}"
        rise = np.diff(prof)[jumps]
        h = step_height_of(CFG, row)
        # Walking outward: stairs_up climbs (+h per riser), stairs_down descends.
        np.testing.assert_allclose(rise, -sign * h, atol=1e-6)
        treads = np.diff(jumps) * CFG.horizontal_scale
        np.testing.assert_allclose(treads, CFG.stair_tread, atol=1e-6)
        assert CFG.stair_tread >= 0.25
        assert prof[-1] == pytest.approx(0.0, abs=1e-6)  # the tile edge joins its neighbours
        assert prof[0] == pytest.approx(sign * n * h, abs=1e-6)  # the centre platform
    assert step_height_of(CFG, 0) == pytest.approx(0.05)
    assert step_height_of(CFG, CFG.num_levels - 1) == pytest.approx(0.20)


@pytest.mark.parametrize("kind", ["slope_up", "slope_down"])
def test_slopes_match_spec(terrain: Terrain, kind: str) -> None:
    sign = 1.0 if kind == "slope_down" else -1.0
    half = CFG.tile_size / 2
    for row in range(CFG.num_levels):
        s = slope_of(CFG, row)
        x0, y0, z0 = terrain.tile_origin(row, _col(terrain, kind))
        d = torch.tensor([1.5, 2.0, 2.5, 3.0, 3.5])  # outward distances on the slope face (m)
        for angle in (0.0, math.pi / 2, math.pi, -math.pi / 2):
            xy = torch.stack([x0 + d * math.cos(angle), y0 + d * math.sin(angle)], dim=-1).double()
            h = terrain.height_at(xy).numpy()
            # rise/run along the outward direction: climbing for up, descending for down
            np.testing.assert_allclose(np.diff(h) / 0.5, -sign * s, atol=1e-5)
            np.testing.assert_allclose(h, sign * s * (half - d.numpy()), atol=1e-5)
        assert z0 == pytest.approx(sign * s * (half - CFG.platform_size / 2), abs=1e-5)
    assert slope_of(CFG, CFG.num_levels - 1) == pytest.approx(0.4)


def test_tile_origins_on_platform(terrain: Terrain) -> None:
    g = torch.Generator().manual_seed(1)
    for row in range(terrain.num_rows):
        for col in range(terrain.num_cols):
            x, y, z = terrain.tile_origin(row, col)
            assert x == pytest.approx((row + 0.5) * CFG.tile_size)
            assert y == pytest.approx((col + 0.5) * CFG.tile_size)
            offs = (torch.rand(50, 2, generator=g) - 0.5) * CFG.platform_size * 0.95
            pts = torch.tensor([x, y]) + offs
            np.testing.assert_allclose(terrain.height_at(pts).numpy(), z, atol=1e-6)
            r, c = terrain.tile_of(pts)
            assert (r == row).all() and (c == col).all()
    assert terrain.tile_origins.shape == (terrain.num_rows, terrain.num_cols, 3)
    with pytest.raises(IndexError):
        terrain.tile_origin(terrain.num_rows, 0)


def test_determinism_and_roughness() -> None:
    cfg = TerrainConfig(
        num_levels=3, col_types=("flat", "rough"), horizontal_scale=0.1, roughness=0.02, seed=7
    )
    a, b = Terrain(cfg), Terrain(cfg)
    np.testing.assert_array_equal(a.heights, b.heights)
    c = Terrain(dataclasses.replace(cfg, seed=8))
    assert not np.array_equal(a.heights, c.heights)
    top = cfg.roughness + cfg.rough_range[1]
    assert np.abs(a.heights).max() <= top + 1e-6
    assert np.abs(a.heights).max() > 0.5 * top
    for row in range(cfg.num_levels):  # spawn platforms stay flat
        x, y, z = a.tile_origin(row, 1)
        pts = torch.tensor([[x + 0.9, y - 0.9], [x - 0.9, y + 0.9], [x, y]])
        np.testing.assert_allclose(a.height_at(pts).numpy(), 0.0, atol=1e-7)
        assert z == 0.0


def test_column_counts_and_config_errors() -> None:
    cfg = TerrainConfig(col_types=("flat", "stairs_up"), col_counts=(2, 3), horizontal_scale=0.1)
    assert cfg.columns == ("flat", "flat", "stairs_up", "stairs_up", "stairs_up")
    parsed = from_dict(TerrainConfig, {"col_types": ["flat", "stairs_up"], "col_counts": [2, 3]})
    assert parsed == dataclasses.replace(cfg, horizontal_scale=0.05)
    assert from_dict(TerrainConfig, json.loads(canonical_json(cfg))) == cfg
    with pytest.raises(ConfigError, match="stair_tread"):
        TerrainConfig(stair_tread=0.33, horizontal_scale=0.1)
    with pytest.raises(ConfigError, match="unknown type"):
        TerrainConfig(col_types=("lava",))
    with pytest.raises(ConfigError, match="tile_size"):
        TerrainConfig(tile_size=8.05, horizontal_scale=0.1)


def _off_ramps(xy: np.ndarray, margin: float) -> np.ndarray:
    """[n] bool: points at least ``margin`` away from every stair ramp.

    Along the Chebyshev radius ``d`` the hfield's riser ramps over ``[edge, edge + hs]`` just
    outside each nominal step edge ``edge = L/2 - k * tread``.
    """
    size, tread, hs = CFG.tile_size, CFG.stair_tread, CFG.horizontal_scale
    dist = np.abs(np.mod(xy, size) - size / 2).max(axis=-1)
    edges = size / 2 - tread * np.arange(1, num_steps(CFG) + 1)
    rel = dist[:, None] - edges[None, :]
    return ((rel < -margin) | (rel > hs + margin)).all(axis=1)


def _ray_heights(model: mujoco.MjModel, data: mujoco.MjData, xy: np.ndarray) -> np.ndarray:
    geomid = np.zeros(1, dtype=np.int32)
    out = []
    for x, y in xy:
        dist = mujoco.mj_ray(
            model, data, np.array([x, y, 10.0]), np.array([0.0, 0.0, -1.0]), None, 1, -1, geomid
        )
        out.append(10.0 - dist)
    return np.array(out)


def test_mujoco_surface_matches_height_at_on_stairs(terrain, model_data) -> None:
    model, data = model_data
    rng = np.random.default_rng(0)
    cols = [_col(terrain, "stairs_up"), _col(terrain, "stairs_down"), _col(terrain, "flat")]
    xy = np.concatenate(
        [
            np.stack(
                [
                    rng.uniform(0, CFG.num_levels * CFG.tile_size, 400),
                    rng.uniform(c * CFG.tile_size, (c + 1) * CFG.tile_size, 400),
                ],
                axis=-1,
            )
            for c in cols
        ]
    )
    # Off the riser ramps: the query is exact on treads.
    xy = xy[_off_ramps(xy, 0.01)]
    assert len(xy) > 600
    h_query = terrain.height_at(torch.from_numpy(xy)).numpy()
    np.testing.assert_allclose(_ray_heights(model, data, xy), h_query, atol=2e-5)


def test_mujoco_surface_matches_height_at_on_slopes(terrain, model_data) -> None:
    model, data = model_data
    rng = np.random.default_rng(1)
    xy = np.concatenate(
        [
            np.stack(
                [
                    rng.uniform(0, CFG.num_levels * CFG.tile_size, 500),
                    rng.uniform(c * CFG.tile_size, (c + 1) * CFG.tile_size, 500),
                ],
                axis=-1,
            )
            for c in (_col(terrain, "slope_up"), _col(terrain, "slope_down"))
        ]
    )
    # Whole faces are planar; the hfield's triangles and the bilinear query differ only in
    # cells that straddle a ridge (diagonal) or the platform rim: at most slope * hs / 4.
    h_query = terrain.height_at(torch.from_numpy(xy)).numpy()
    err = np.abs(_ray_heights(model, data, xy) - h_query)
    assert err.max() <= 0.4 * CFG.horizontal_scale / 4 + 1e-5
    assert np.median(err) < 1e-5


def test_spheres_rest_on_the_query_surface(terrain: Terrain) -> None:
    """A small sphere placed 1 mm into the surface reports 1 mm penetration (collision check)."""
    rng = np.random.default_rng(2)
    col = _col(terrain, "stairs_down")
    pts = np.stack(
        [
            rng.uniform(0, CFG.num_levels * CFG.tile_size, 60),
            rng.uniform(col * CFG.tile_size, (col + 1) * CFG.tile_size, 60),
        ],
        axis=-1,
    )
    radius = 0.02
    pts = pts[_off_ramps(pts, radius + 0.01)][:20]
    h = terrain.height_at(torch.from_numpy(pts)).numpy()
    spec = mujoco.MjSpec()
    terrain.add_to_spec(spec)
    for i, ((x, y), z) in enumerate(zip(pts, h)):
        body = spec.worldbody.add_body(name=f"ball{i}", pos=[x, y, z + radius - 1e-3])
        body.add_freejoint()
        body.add_geom(
            type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[radius, 0, 0], contype=2, conaffinity=1
        )
    model = spec.compile()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    terrain_geom = model.geom("terrain").id
    depth = {}
    for c in data.contact[: data.ncon]:
        other = c.geom[1] if c.geom[0] == terrain_geom else c.geom[0]
        depth[int(model.geom_bodyid[other])] = min(
            depth.get(int(model.geom_bodyid[other]), 1), c.dist
        )
    assert len(depth) == len(pts)
    np.testing.assert_allclose(list(depth.values()), -1e-3, atol=2e-5)


def test_height_scan_on_a_known_slope(terrain: Terrain) -> None:
    row = CFG.num_levels - 1
    s = slope_of(CFG, row)
    x0, y0, _ = terrain.tile_origin(row, _col(terrain, "slope_up"))
    # Base 2.5 m out along +x on the slope_up face; terrain height there = -s * (4 - 2.5).
    base = torch.tensor([[x0 + 2.5, y0, 0.8], [x0 + 2.5, y0, 0.8]])
    yaw = torch.tensor([0.0, math.pi / 2])
    grid = ScanGrid(size_x=1.0, size_y=0.4, resolution=0.1, clip=(-5.0, 5.0))
    pts = grid.points()
    assert pts.shape == (11 * 5, 2)
    scan = height_scan(terrain, base, yaw, grid)
    assert scan.shape == (2, 55)
    # Yaw 0: scan x is world +x (uphill), h = -s * (4 - 2.5 - px).
    expect0 = 0.8 + s * (1.5 - pts[:, 0])
    torch.testing.assert_close(scan[0], expect0, atol=1e-5, rtol=0)
    # Yaw 90 deg: scan y (left) is world -x (downhill), h = -s * (1.5 + py).
    expect1 = 0.8 + s * (1.5 + pts[:, 1])
    torch.testing.assert_close(scan[1], expect1, atol=1e-5, rtol=0)
    clipped = height_scan(terrain, base, yaw, ScanGrid(clip=(-1.0, 1.0)))
    assert clipped.max() <= 1.0 and clipped.min() >= -1.0


def test_plane_kind() -> None:
    t = Terrain(TerrainConfig(kind="plane", num_levels=3))
    assert t.col_types == ("flat",) and t.num_rows == 3 and t.num_cols == 1
    xy = torch.randn(10, 7, 2) * 50
    assert torch.equal(t.height_at(xy), torch.zeros(10, 7))
    spec = mujoco.MjSpec()
    t.add_to_spec(spec)
    model = spec.compile()
    assert model.ngeom == 1 and model.geom_type[0] == mujoco.mjtGeom.mjGEOM_PLANE
    assert t.tile_origin(2, 0)[2] == 0.0


def test_generation_and_query_speed() -> None:
    t0 = time.perf_counter()
    terrain = Terrain(TerrainConfig(horizontal_scale=0.1))  # 10 x 5 tiles
    assert time.perf_counter() - t0 < 1.0
    xy = torch.rand(512, 200, 2, generator=torch.Generator().manual_seed(0)) * 80
    terrain.height_at(xy)
    t0 = time.perf_counter()
    terrain.height_at(xy)
    assert time.perf_counter() - t0 < 0.5  # generous: the machine is shared
