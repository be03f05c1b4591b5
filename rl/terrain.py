"""Terrain: a grid of square tiles (rows = difficulty levels, columns = terrain types).

Frames and layout (world frame, Z up, metres):

- Tile ``(row, col)`` covers ``x in [row * L, (row + 1) * L)`` and ``y in [col * L, (col + 1) * L)``
  with ``L = tile_size``; rows (difficulty levels) run along +x, columns (types) along +y. A flat
  border of ``border_width`` at height 0 surrounds the grid.
- ``heights[i, j]`` is the terrain height at ``(origin[0] + i * hs, origin[1] + j * hs)`` with
  ``hs = horizontal_scale`` and ``origin = (-border_width, -border_width)``: the first index runs
  along x, the second along y. Between samples the surface is interpolated linearly.
- Every tile has a flat square platform of side ``platform_size`` at its centre, where robots spawn
  (``tile_origin``), and its outer edge at height 0, so neighbouring tiles join without a step.

Terrain types, named from the point of view of a robot that spawns on the centre platform and walks
outward (legged_gym / Isaac Lab build the same pyramids; their "pyramid" has the centre high):

- ``flat``: height 0 everywhere.
- ``rough``: flat plus uniform noise of amplitude ``rough_range`` mapped by level.
- ``slope_up``: inverted pyramid (centre low): walking out climbs a slope of rise/run ``s``.
- ``slope_down``: pyramid (centre high): walking out descends a slope of rise/run ``s``.
- ``stairs_up``: inverted stepped pyramid (centre in a pit): walking out climbs steps.
- ``stairs_down``: stepped pyramid (centre high): walking out descends steps.

Difficulty of row ``r`` is ``r / (num_levels - 1)`` (0 with one level), mapped linearly into
``slope_range`` (rise/run), ``step_height_range`` (m) and ``rough_range`` (m).

Collision geometry: one MuJoCo heightfield for the whole grid (``add_to_spec``). It was measured
against box stairs (800 static boxes for 10 x 2 stair tiles): a small G1-like foot scene steps at
27 us (hfield) vs 31 us (boxes), and the hfield cost does not grow with the number of tiles, so one
hfield is used for every type. The price is that a stair riser is not vertical: it is a ramp of
width ``horizontal_scale`` on the outer side of the nominal step edge (0.20 m over 0.05 m, 76 deg,
at the default scale). Step edges lie exactly on samples because ``stair_tread`` must be a multiple
of ``horizontal_scale``, so the height query ``height_at`` is exact on treads (away from the ramp)
and MuJoCo's surface equals it there (tested with ``mj_ray``).

``TerrainConfig(kind="plane")`` gives an infinite MuJoCo plane at height 0 (fastest) with the same
tile grid of ``num_levels`` rows and one ``flat`` column, so spawning and the curriculum still work.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import mujoco
import numpy as np
import torch

from mocap.configs import ConfigError

TERRAIN_TYPES = ("flat", "rough", "slope_up", "slope_down", "stairs_up", "stairs_down")
"""Known column types, see the module docstring."""

_EPS = 1e-6


@dataclass(frozen=True)
class TerrainConfig:
    """Terrain generator settings (lengths in metres, slopes as rise/run)."""

    kind: Literal["grid", "plane"] = "grid"
    """``grid``: heightfield tiles; ``plane``: one infinite flat plane (fastest)."""
    tile_size: float = 8.0
    """Side of a square tile (m); must be an even multiple of ``horizontal_scale``."""
    num_levels: int = 10
    """Rows of tiles = difficulty levels."""
    col_types: tuple[str, ...] = ("flat", "slope_up", "slope_down", "stairs_up", "stairs_down")
    """Terrain types of the columns, each from ``TERRAIN_TYPES``."""
    col_counts: tuple[int, ...] = ()
    """Columns per entry of ``col_types`` (empty: one each)."""
    slope_range: tuple[float, float] = (0.0, 0.4)
    """Rise/run of the pyramid slopes at level 0 and at the top level."""
    step_height_range: tuple[float, float] = (0.05, 0.20)
    """Stair step height (m) at level 0 and at the top level."""
    stair_tread: float = 0.30
    """Stair tread depth (m); a multiple of ``horizontal_scale``."""
    platform_size: float = 2.0
    """Side of the flat spawn platform at each tile centre (m)."""
    rough_range: tuple[float, float] = (0.0, 0.05)
    """Noise amplitude (m) of ``rough`` columns at level 0 and at the top level."""
    roughness: float = 0.0
    """Uniform noise amplitude (m) added to every tile outside its platform (0: off)."""
    horizontal_scale: float = 0.05
    """Heightfield sample spacing (m)."""
    border_width: float = 2.0
    """Flat border around the grid (m); rounded to a multiple of ``horizontal_scale``."""
    base_depth: float = 1.0
    """Thickness of the heightfield's solid base below its lowest point (m)."""
    seed: int = 0
    """Seed of the roughness noise (the only random part)."""

    def __post_init__(self) -> None:
        hs = self.horizontal_scale
        if hs <= 0:
            raise ConfigError(f"terrain.horizontal_scale: must be > 0, got {hs}")
        n_tile = self.tile_size / hs
        if abs(n_tile - round(n_tile)) > 1e-6 or round(n_tile) % 2:
            raise ConfigError(
                f"terrain.tile_size: {self.tile_size} m must be an even multiple of "
                f"horizontal_scale {hs} m (so the tile centre is a sample)"
            )
        if self.num_levels < 1:
            raise ConfigError(f"terrain.num_levels: must be >= 1, got {self.num_levels}")
        if not self.col_types:
            raise ConfigError("terrain.col_types: needs at least one column type")
        unknown = [t for t in self.col_types if t not in TERRAIN_TYPES]
        if unknown:
            raise ConfigError(
                f"terrain.col_types: unknown type(s) {unknown}; known: {TERRAIN_TYPES}"
            )
        if self.col_counts and (
            len(self.col_counts) != len(self.col_types) or min(self.col_counts) < 0
        ):
            raise ConfigError(
                f"terrain.col_counts: needs one count >= 0 per col_types entry "
                f"({len(self.col_types)}), got {self.col_counts}"
            )
        if self.col_counts and sum(self.col_counts) == 0:
            raise ConfigError("terrain.col_counts: at least one column is needed")
        n_tread = self.stair_tread / hs
        if self.stair_tread <= 0 or abs(n_tread - round(n_tread)) > 1e-6:
            raise ConfigError(
                f"terrain.stair_tread: {self.stair_tread} m must be a positive multiple of "
                f"horizontal_scale {hs} m (so step edges fall on samples)"
            )
        if not 0 <= self.platform_size < self.tile_size:
            raise ConfigError(
                f"terrain.platform_size: must be in [0, tile_size={self.tile_size}), "
                f"got {self.platform_size}"
            )
        for name in ("slope_range", "step_height_range", "rough_range"):
            lo, hi = getattr(self, name)
            if lo < 0 or hi < lo:
                raise ConfigError(f"terrain.{name}: needs 0 <= low <= high, got {(lo, hi)}")
        if self.roughness < 0 or self.border_width < 0 or self.base_depth <= 0:
            raise ConfigError("terrain: roughness and border_width must be >= 0, base_depth > 0")

    @property
    def columns(self) -> tuple[str, ...]:
        """The type of every column, ``col_types`` expanded by ``col_counts``."""
        if self.kind == "plane":
            return ("flat",)
        counts = self.col_counts or (1,) * len(self.col_types)
        return tuple(t for t, c in zip(self.col_types, counts) for _ in range(c))

    def difficulty(self, row: int) -> float:
        """Difficulty in [0, 1] of row (level) ``row``."""
        return row / (self.num_levels - 1) if self.num_levels > 1 else 0.0


def _lerp(rng: tuple[float, float], d: float) -> float:
    return rng[0] + (rng[1] - rng[0]) * d


def slope_of(cfg: TerrainConfig, row: int) -> float:
    """Rise/run of the pyramid slopes in row ``row``."""
    return _lerp(cfg.slope_range, cfg.difficulty(row))


def step_height_of(cfg: TerrainConfig, row: int) -> float:
    """Stair step height (m) in row ``row``."""
    return _lerp(cfg.step_height_range, cfg.difficulty(row))


def num_steps(cfg: TerrainConfig) -> int:
    """Steps between a tile's edge and its centre platform (the platform takes the remainder)."""
    return math.floor((cfg.tile_size - cfg.platform_size) / 2 / cfg.stair_tread + _EPS)


def tile_heights(
    cfg: TerrainConfig, kind: str, row: int, rng: np.random.Generator | None = None
) -> np.ndarray:
    """Heights [n, n] (m) of one tile of type ``kind`` in row ``row``, ``n = tile_size / hs``.

    Sample ``[i, j]`` lies at ``(i * hs, j * hs)`` from the tile's corner; the centre sample is
    ``[n // 2, n // 2]``. ``rng`` draws the noise (needed for ``rough`` or ``roughness > 0``).
    """
    hs, size = cfg.horizontal_scale, cfg.tile_size
    n = round(size / hs)
    u = np.abs(np.arange(n) * hs - size / 2)
    dist = np.maximum(u[:, None], u[None, :])  # Chebyshev distance from the centre [n, n]
    half_platform = cfg.platform_size / 2
    if kind in ("flat", "rough"):
        h = np.zeros((n, n))
    elif kind in ("slope_up", "slope_down"):
        sign = 1.0 if kind == "slope_down" else -1.0
        h = sign * slope_of(cfg, row) * (size / 2 - np.maximum(dist, half_platform))
    elif kind in ("stairs_up", "stairs_down"):
        sign = 1.0 if kind == "stairs_down" else -1.0
        k = np.minimum(np.floor((size / 2 - dist) / cfg.stair_tread + _EPS), num_steps(cfg))
        h = sign * step_height_of(cfg, row) * k
    else:
        raise ConfigError(f"terrain: unknown tile type {kind!r}; known: {TERRAIN_TYPES}")
    amp = cfg.roughness + (_lerp(cfg.rough_range, cfg.difficulty(row)) if kind == "rough" else 0)
    if amp > 0:
        if rng is None:
            raise ValueError("tile_heights: noise requested but no rng given")
        noise = rng.uniform(-amp, amp, size=(n, n))
        noise[dist <= half_platform + _EPS] = 0.0
        h = h + noise
    return h.astype(np.float32)


@dataclass(frozen=True)
class ScanGrid:
    """Height-scan points on a yaw-aligned grid around the base (x forward, y left), metres."""

    size_x: float = 1.6
    """Extent along the base's heading (m), centred on the base."""
    size_y: float = 1.0
    """Extent sideways (m), centred on the base."""
    resolution: float = 0.1
    """Spacing of the points (m)."""
    offset: float = 0.0
    """Subtracted from ``base height - terrain height`` before clipping (m)."""
    clip: tuple[float, float] = (-1.0, 2.0)
    """Clip range of the returned values (m)."""

    def points(self) -> torch.Tensor:
        """Scan points ``[P, 2]`` in the yaw frame, x-major order; P = nx * ny."""
        nx = round(self.size_x / self.resolution) + 1
        ny = round(self.size_y / self.resolution) + 1
        xs = torch.linspace(-self.size_x / 2, self.size_x / 2, nx)
        ys = torch.linspace(-self.size_y / 2, self.size_y / 2, ny)
        gx, gy = torch.meshgrid(xs, ys, indexing="ij")
        return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=-1)


class Terrain:
    """The generated terrain: height grid, tile bookkeeping, height queries, MuJoCo geometry.

    Attributes:
        cfg: the config.
        heights: float32 [H, W] metres, see the module docstring for the layout.
        horizontal_scale: sample spacing (m).
        origin: world (x, y) of sample ``[0, 0]`` (m).
        num_rows, num_cols: tiles along x (levels) and along y (types).
        col_types: the type of each column, length ``num_cols``.
        tile_origins: float32 tensor [num_rows, num_cols, 3], spawn points (tile centre, on the
            platform surface), world frame.
    """

    def __init__(self, cfg: TerrainConfig) -> None:
        self.cfg = cfg
        self.horizontal_scale = cfg.horizontal_scale
        self.col_types: tuple[str, ...] = cfg.columns
        self.num_rows = cfg.num_levels
        self.num_cols = len(self.col_types)
        self.is_plane = cfg.kind == "plane"
        hs = cfg.horizontal_scale
        n_tile = round(cfg.tile_size / hs)
        n_border = round(cfg.border_width / hs)
        self._n_tile, self._n_border = n_tile, n_border
        self.origin = (-n_border * hs, -n_border * hs)
        shape = (
            self.num_rows * n_tile + 2 * n_border + 1,
            self.num_cols * n_tile + 2 * n_border + 1,
        )
        heights = np.zeros(shape, dtype=np.float32)
        if not self.is_plane:
            rng = np.random.default_rng(cfg.seed)
            for r in range(self.num_rows):
                for c, kind in enumerate(self.col_types):
                    i0, j0 = n_border + r * n_tile, n_border + c * n_tile
                    heights[i0 : i0 + n_tile, j0 : j0 + n_tile] = tile_heights(cfg, kind, r, rng)
        self.heights = heights
        centre = n_border + n_tile // 2 + n_tile * np.arange(self.num_rows)[:, None]
        centre_c = n_border + n_tile // 2 + n_tile * np.arange(self.num_cols)[None, :]
        origins = np.zeros((self.num_rows, self.num_cols, 3), dtype=np.float32)
        origins[..., 0] = self.origin[0] + centre * hs
        origins[..., 1] = self.origin[1] + centre_c * hs
        origins[..., 2] = heights[centre, centre_c]
        self.tile_origins = torch.from_numpy(origins)
        self._heights_t: dict[torch.device, torch.Tensor] = {}

    # ----------------------------------------------------------------- tiles
    def tile_origin(self, row: int, col: int) -> tuple[float, float, float]:
        """Spawn point (x, y, z) in metres, world frame: the centre of tile ``(row, col)``."""
        if not (0 <= row < self.num_rows and 0 <= col < self.num_cols):
            raise IndexError(
                f"tile ({row}, {col}) outside the {self.num_rows}x{self.num_cols} grid"
            )
        x, y, z = self.tile_origins[row, col].tolist()
        return (x, y, z)

    def tile_of(self, xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Tile indices ``(row, col)`` (long, shape ``[...]``) of world points ``xy [..., 2]`` (m).

        Points in the border are clamped to the nearest tile.
        """
        xy = torch.as_tensor(xy)
        size = self.cfg.tile_size
        row = torch.floor(xy[..., 0] / size).long().clamp(0, self.num_rows - 1)
        col = torch.floor(xy[..., 1] / size).long().clamp(0, self.num_cols - 1)
        return row, col

    # --------------------------------------------------------------- queries
    def heights_tensor(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """``heights`` as a float32 torch tensor on ``device`` (cached)."""
        device = torch.device(device)
        if device not in self._heights_t:
            self._heights_t[device] = torch.from_numpy(self.heights).to(device)
        return self._heights_t[device]

    def height_at(self, xy: torch.Tensor) -> torch.Tensor:
        """Terrain height (m) under world points ``xy [..., 2]`` (m), bilinear; shape ``[...]``.

        Exact on planar parts (flat treads away from step edges, slope faces away from ridges);
        points outside the grid take the height of the nearest edge sample (the border, 0).
        """
        out_shape = xy.shape[:-1]
        if self.is_plane or xy.numel() == 0:
            return torch.zeros(out_shape, dtype=xy.dtype, device=xy.device)
        # grid_sample is one fused bilinear kernel (about 4x faster than gathers on CPU). The
        # image is heights [X, Y]: the grid's first coordinate indexes Y (width), the second X.
        hmap = self.heights_tensor(xy.device)
        n_x, n_y = hmap.shape
        hs = self.horizontal_scale
        scale = torch.tensor([2 / ((n_y - 1) * hs), 2 / ((n_x - 1) * hs)], device=xy.device)
        offset = torch.tensor([self.origin[1], self.origin[0]], device=xy.device)
        grid = (xy.reshape(1, -1, 1, 2).to(torch.float32).flip(-1) - offset) * scale - 1.0
        h = torch.nn.functional.grid_sample(
            hmap[None, None], grid, mode="bilinear", padding_mode="border", align_corners=True
        )
        return h.reshape(out_shape).to(xy.dtype)

    # ---------------------------------------------------------------- mujoco
    def add_to_spec(self, spec: mujoco.MjSpec, name: str = "terrain") -> None:
        """Add the terrain to ``spec``'s world body as a geom called ``name``.

        ``grid``: an hfield asset ``name`` (nrow along y, ncol along x, data normalised to [0, 1]
        and scaled by the height range) and an hfield geom placed so that its surface equals
        ``heights``; ``plane``: an infinite plane at z = 0. Contact settings stay at MuJoCo's
        defaults (contype/conaffinity 1, friction 1); change them through ``spec.geom(name)``.
        """
        if self.is_plane:
            spec.worldbody.add_geom(
                name=name, type=mujoco.mjtGeom.mjGEOM_PLANE, size=[0.0, 0.0, 0.05]
            )
            return
        hs = self.horizontal_scale
        n_x, n_y = self.heights.shape
        hmin, hmax = float(self.heights.min()), float(self.heights.max())
        span = hmax - hmin
        data = (self.heights - hmin) / span if span > 0 else np.zeros_like(self.heights)
        rx, ry = (n_x - 1) * hs / 2, (n_y - 1) * hs / 2
        spec.add_hfield(
            name=name,
            nrow=n_y,
            ncol=n_x,
            size=[rx, ry, max(span, 1e-3), self.cfg.base_depth],
            userdata=np.ascontiguousarray(data.T, dtype=np.float32).ravel().tolist(),
        )
        spec.worldbody.add_geom(
            name=name,
            type=mujoco.mjtGeom.mjGEOM_HFIELD,
            hfieldname=name,
            pos=[self.origin[0] + rx, self.origin[1] + ry, hmin],
        )


def height_scan(
    terrain: Terrain,
    base_pos_w: torch.Tensor,
    base_yaw: torch.Tensor,
    grid: ScanGrid | torch.Tensor,
) -> torch.Tensor:
    """Height scan for the critic: ``clip(base_z - terrain_z - offset)`` at grid points, [N, P].

    base_pos_w: [N, 3] base position, world frame (m). base_yaw: [N] heading (rad).
    grid: a ``ScanGrid`` or precomputed points [P, 2] in the yaw frame (then offset 0, clip
    ``ScanGrid()`` defaults). The points rotate with the yaw only (not roll/pitch).
    """
    cfg = grid if isinstance(grid, ScanGrid) else ScanGrid()
    pts = grid.points() if isinstance(grid, ScanGrid) else grid
    pts = pts.to(device=base_pos_w.device, dtype=base_pos_w.dtype)
    c, s = torch.cos(base_yaw)[:, None], torch.sin(base_yaw)[:, None]  # [N, 1]
    x = base_pos_w[:, 0:1] + c * pts[:, 0] - s * pts[:, 1]  # [N, P]
    y = base_pos_w[:, 1:2] + s * pts[:, 0] + c * pts[:, 1]
    h = terrain.height_at(torch.stack([x, y], dim=-1))
    return (base_pos_w[:, 2:3] - h - cfg.offset).clamp(cfg.clip[0], cfg.clip[1])
