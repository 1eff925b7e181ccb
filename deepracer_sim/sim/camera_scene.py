"""The camera's world: the scene a track is baked into, and the camera's slots.

What the simapp renders (``../shared/docs/cloud-model-format.md`` §6; aws-deepracer-community/
deepracer-simapp @ 01f5f015, "SIM" below), measured from SIM's COLLADA meshes
(``bundle/meshes/<track>/*.dae``) against the route ``.npy`` files and from their textures
(``docs/camera.md`` has the measurements and what stays unverified):

* road = the polygon between the inner and outer borders of the route at z 0.001;
* border lines: a 3" (0.0762 m) strip inside each road edge;
* centre line: 1" (0.0254 m) wide, dashed 2" on / 2" off along the centre line's arc length
  (reinvent_base too);
* field: a quad around the road's bounding box (margin 0.762 m on most ``trackgen`` tracks,
  9.14 m on the 25 listed in ``_WIDE_FIELD``);
* wall: a box 1.0 m high around the field; ``trackgen`` meshes give it the normal (0, 0, 1), so it
  is lit like the ground; reinvent_base and 2022_reinvent_champ (a 0.914 m blue pentagon) have
  real normals;
* start line: a 2 x 24 chequered band, 0.914 m x 0.067 m, centred 0.13 m past waypoint 0
  (``trackgen`` tracks with a ``startline.png``);
* above the wall: the sky, a flat grey [unverified].

:func:`build_scene` bakes a track once into a coarse top-down texture (``TEXEL`` = 4 cm nodes) of
signed distance fields: to the road border (+ on the road), to the centre line, the centre line's
arc length, and a static texture grain. Distance fields are smooth, so the renderer
(:mod:`.camera_kernel`) interpolates them bilinearly and reads their gradient from the same four
taps.

The camera's array slots are all named here: ``M_*`` (the scene's ``fmeta``), ``W_*`` (its
walls), ``CP_*`` (per-car camera parameters, :mod:`.camera_look`), ``O_*`` (objects, e.g. boxes)
and ``T_*`` (the per-pixel mount table, :mod:`.camera_optics`).

Units: metres, radians, grey levels 0-255. Car pose = the car origin (Gazebo ``base_link``), the
simulator's ``S_X, S_Y, S_YAW``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np
from numba import njit

from deepracer_sim.constants import (
    CAMERA_HORIZONTAL_FOV_RAD,
    CAMERA_IMAGE_SIZE,
    CAMERA_LENS_XYZ,
    CAMERA_ZED_PITCH_RAD,
    CAMERA_ZED_XYZ,
    CHASSIS_Z,
    FRONT_AXLE_X,
    FRONT_AXLE_Z,
    REAR_AXLE_X,
    REAR_AXLE_Z,
    TYRE_RADIUS,
)
from deepracer_sim.errors import CameraError
from deepracer_sim.track import Track, load_track, track_from_array
from deepracer_sim.track.geometry import build_segment_grid, point_on_road, project_point

#: Observation size: the array is (IMAGE_HEIGHT, IMAGE_WIDTH) (+ a channel axis in the envs).
IMAGE_WIDTH, IMAGE_HEIGHT = CAMERA_IMAGE_SIZE
#: Focal length in output pixels: 80 / tan(0.565) = 126.196; square pixels, principal point at
#: the image centre (pixel v spans [v, v + 1)).
FOCAL_PX = (IMAGE_WIDTH / 2) / math.tan(CAMERA_HORIZONTAL_FOV_RAD / 2)


def camera_mount() -> tuple[float, float, float]:
    """The camera's pose on a car resting on flat ground, from the URDF chain (spec §3.1).

    The lens (``camera_link``) is at (0.1453, 0, 0.1303) m from ``base_link``, pitched 15 degrees
    down. The rear axle sits 4 mm higher above ``base_link`` than the front one, so with both
    wheels (radius ``TYRE_RADIUS``) on the ground the body rests nose-up by
    atan(0.004 / wheelbase) = 1.395 degrees (cloud-model-format §6.1; how Gazebo's physics
    settles the body is unverified).

    Returns:
        (forward offset of the lens from the car origin along the ground, m; lens height above the
        ground, m; downward pitch of the optical axis, rad) = (0.14208, 0.13281, 0.23746).
    """
    c, s = math.cos(CAMERA_ZED_PITCH_RAD), math.sin(CAMERA_ZED_PITCH_RAD)
    # camera_link in the base_link frame: zed origin + R_y(pitch) @ offset
    cx = CAMERA_ZED_XYZ[0] + c * CAMERA_LENS_XYZ[0] + s * CAMERA_LENS_XYZ[2]
    cz = CHASSIS_Z + CAMERA_ZED_XYZ[2] - s * CAMERA_LENS_XYZ[0] + c * CAMERA_LENS_XYZ[2]
    # ground contact points in the base_link frame (x, z), then the nose-up settle angle
    rx, rz = REAR_AXLE_X, REAR_AXLE_Z - TYRE_RADIUS
    fx, fz = FRONT_AXLE_X, FRONT_AXLE_Z - TYRE_RADIUS
    a, b = fx - rx, fz - rz  # ground line direction (nose-down in the car frame)
    norm = math.hypot(a, b)
    settle = math.atan2(-b, a)
    height = ((cx - rx) * -b + (cz - rz) * a) / norm  # distance along the upward normal (-b, a)
    forward = (cx * a + cz * b) / norm  # lens minus car origin, along the ground
    return forward, height, CAMERA_ZED_PITCH_RAD - settle


CAMERA_X, CAMERA_HEIGHT, CAMERA_PITCH = camera_mount()

# --- track visuals (SIM bundle/meshes/*/*.dae measured against bundle/routes/*.npy) ---------
BORDER_LINE_WIDTH = 0.0762
CENTRE_LINE_WIDTH = 0.0254
DASH_LENGTH = 0.0508
DASH_PERIOD = 0.1016
FIELD_MARGIN = 0.762
WIDE_FIELD_MARGIN = 9.14
WALL_HEIGHT = 1.0
START_LINE_OFFSET = 0.13
START_LINE_WIDTH = 0.9144
START_LINE_LENGTH = 0.067
START_LINE_CELLS = (2, 24)  # along, across

#: Texture node spacing of the baked distance fields, m (docs/camera.md: the error against an
#: exact render at 0.02, 0.04 and 0.08 m).
TEXEL = 0.04
#: Fine grain: a tiling FINE_N x FINE_N white-noise texture with FINE_TEXEL m texels; its std
#: falls as (footprint / 1 mm) ** -FINE_GRAIN_EXPONENT (the block std of the real road texture).
FINE_N = 128
FINE_TEXEL = 0.002
FINE_GRAIN_EXPONENT = 0.6
#: Arena polygon edges (walls) per scene, at most.
MAX_WALLS = 8

# --- slots --------------------------------------------------------------------------------
#: ``fmeta`` (N_FMETA,) float64: texture grid, line layout, start band, field, arena.
(M_X0, M_Y0, M_TEXEL, M_NX, M_NY, M_LENGTH, M_LOOP, M_BORDER_W, M_CENTRE_HALF_W, M_DASH_ON,
 M_DASH_PERIOD, M_DASH_PHASE, M_NWALLS, M_START, M_START_X, M_START_Y, M_START_DX, M_START_DY,
 M_START_HALF_LEN, M_START_HALF_WID, M_START_CELL_LEN, M_START_CELL_WID, M_FIELD_X0, M_FIELD_Y0,
 M_FIELD_X1, M_FIELD_Y1, M_HALF_W_MIN, M_BOX) = range(28)
N_FMETA = 28
#: ``walls`` (MAX_WALLS, N_WALL_COLS) float64: edge from (x0, y0) to (x1, y1), height, inward
#: unit normal (nx, ny).
W_X0, W_Y0, W_X1, W_Y1, W_HEIGHT, W_NX, W_NY = range(7)
N_WALL_COLS = 7
#: Per-car camera parameters (N, N_CP) float64: the mount (height m, lens offset x, y m, pitch,
#: roll, yaw offset rad, focal px), the grey of each region, the grain amplitudes (coarse, fine)
#: of road, border, centre line and field, the per-pixel noise std, then one grey per wall.
(CP_HEIGHT, CP_CAM_X, CP_CAM_Y, CP_PITCH, CP_ROLL, CP_YAW, CP_FOCAL, CP_ROAD, CP_BORDER,
 CP_CENTRE, CP_FIELD, CP_SKY, CP_START_LIGHT, CP_START_DARK, CP_GRAIN_ROAD, CP_GRAIN_BORDER,
 CP_GRAIN_CENTRE, CP_GRAIN_FIELD, CP_FINE_ROAD, CP_FINE_BORDER, CP_FINE_CENTRE, CP_FINE_FIELD,
 CP_NOISE, CP_WALL0) = range(24)
N_CP = CP_WALL0 + MAX_WALLS
#: Objects (N, K, N_OBJ_COLS) float64: centre of the box's footprint (x, y) m, yaw rad,
#: (length, width, height) m, then the grey of each face: +x (front), -x (back), +y (left),
#: -y (right) in the box frame, and the top. A row with length <= 0 is not drawn.
(O_X, O_Y, O_YAW, O_LENGTH, O_WIDTH, O_HEIGHT, O_GREY_FRONT, O_GREY_BACK, O_GREY_LEFT,
 O_GREY_RIGHT, O_GREY_TOP) = range(11)
N_OBJ_COLS = 11
#: The per-pixel mount table (H * W * N_TABLE,) float32, pixel (v, u) at (v * W + u) * N_TABLE:
#: the ground point relative to the lens in the car frame (x forward, y left), m; the footprint
#: matrix J J^T (m^2 per output pixel^2) in the car frame; the largest footprint radius
#: sqrt(lambda_max(J J^T)), m; the squared ground distance (-1: the ray misses the ground); the
#: fine-grain std factor (footprint / 1 mm) ** -FINE_GRAIN_EXPONENT.
T_LX, T_LY, T_M11, T_M12, T_M22, T_RMAX, T_RHO2, T_FINE = range(8)
N_TABLE = 8

#: An (r, g, b) or (x, y, z) triple.
Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class TrackStyle:
    """Colours (texture means, sRGB 0-255) and layout of a track's world.

    Attributes:
        road_rgb, border_rgb, centre_rgb, field_rgb, wall_rgb, sky_rgb, start_light_rgb,
        start_dark_rgb: albedo of each region (sky: the flat colour above the wall, unlit).
        grain: std of the coarse texture grain (scales of centimetres and up) of (road, border,
            centre line, field), albedo levels.
        fine_grain: std of the fine texture grain of (road, border, centre line, field) averaged
            over 1 mm, albedo levels; over a pixel footprint b mm wide it is this times
            b ** -FINE_GRAIN_EXPONENT (the textures' block std, docs/camera.md).
        dashed: centre line dashed (2" on / 2" off) or solid; dash_phase: arc length of the first
            dash start, m.
        field_margin: (x_lo, y_lo, x_hi, y_hi) field margins around the road bounding box, m;
            field_rect overrides it when given (x0, y0, x1, y1).
        walls: None = a box of wall_height along the field edges; else a closed convex polygon
            ((x, y), ...) counter-clockwise, of the wall's inner faces.
        wall_height: m (0 = no wall: rays past the field see the sky).
        wall_normal_up: ``trackgen`` meshes give the wall the normal (0, 0, 1) (lit as the ground).
        start_line: draw the chequered start band.
        calibration: albedo multipliers of (road, border, centre line, field, wall).
    """

    road_rgb: tuple[float, float, float] = (63.6, 62.9, 61.3)
    border_rgb: tuple[float, float, float] = (222.7, 222.6, 222.4)
    centre_rgb: tuple[float, float, float] = (224.9, 143.4, 0.0)
    field_rgb: tuple[float, float, float] = (126.3, 133.2, 64.7)
    wall_rgb: tuple[float, float, float] = (36.0, 70.0, 81.0)
    sky_rgb: tuple[float, float, float] = (178.0, 178.0, 178.0)
    start_light_rgb: tuple[float, float, float] = (221.3, 221.1, 221.0)
    start_dark_rgb: tuple[float, float, float] = (63.0, 62.3, 60.6)
    grain: tuple[float, float, float, float] = (3.1, 3.0, 0.5, 4.0)
    fine_grain: tuple[float, float, float, float] = (7.9, 5.0, 1.5, 30.0)
    dashed: bool = True
    dash_phase: float = 0.0254
    field_margin: tuple[float, float, float, float] = (FIELD_MARGIN,) * 4
    field_rect: tuple[float, float, float, float] | None = None
    walls: tuple[tuple[float, float], ...] | None = None
    wall_height: float = WALL_HEIGHT
    wall_normal_up: bool = True
    start_line: bool = True
    calibration: tuple[float, float, float, float, float] = (1.0,) * 5


#: Albedo multipliers (road, border, centre line, field, wall) that make the default render match
#: the grey levels of the simapp's sample camera frame (docs/camera.md, "Sim-to-sim").
SAMPLE_FRAME_CALIBRATION = (1.008, 1.0, 1.0, 0.990, 1.027)
#: ``trackgen`` tracks (98 of the simapp's worlds share these textures).
TRACKGEN_STYLE = TrackStyle(calibration=SAMPLE_FRAME_CALIBRATION)
#: re:Invent 2018 (``bundle/meshes/reinvent/``): navy road, green field, real wall normals.
REINVENT_BASE_STYLE = TrackStyle(
    road_rgb=(36.1, 48.5, 64.0), border_rgb=(194.4, 193.6, 189.8), centre_rgb=(194.4, 116.5, 0.0),
    field_rgb=(95.2, 135.6, 104.3), grain=(1.0, 2.4, 1.6, 1.5), fine_grain=(6.0, 14.0, 9.0, 8.8),
    dash_phase=0.0535,
    field_rect=(-0.587, -0.613, 8.575, 5.795), wall_normal_up=False, start_line=False)
#: 2022 re:Invent championship: pentagon wall 0.914 m, light blue (``background.dae``).
REINVENT_CHAMP_2022_STYLE = TrackStyle(
    wall_rgb=(76.0, 194.0, 253.0), dash_phase=0.0222, field_rect=(-5.165, -5.16, 5.163, 5.164),
    calibration=(*SAMPLE_FRAME_CALIBRATION[:4], 1.0),
    walls=((-5.056, -5.056), (5.056, -5.056), (5.056, -2.543), (-2.552, 5.056), (-5.056, 5.056)),
    wall_height=0.914, wall_normal_up=False)
#: Worlds whose field reaches 9.14 m past the road (SIM meshes; the wall is then far away).
_WIDE_FIELD = frozenset((
    "2022_march_open", "2022_march_pro", "2022_summit_speedway", "Albert",
    "AmericasGeneratedInclStart", "Aragon", "Belille", "FS_June2020", "LGSWide", "arctic_open",
    "arctic_pro", "dubai_open", "dubai_pro", "hamption_open", "hamption_pro", "jyllandsringen_open",
    "jyllandsringen_pro", "morgan_open", "morgan_pro", "penbay_open", "penbay_pro", "red_star_open",
    "red_star_pro", "thunder_hill_open", "thunder_hill_pro"))
#: ``trackgen`` tracks without a start-line plane (their textures are the older Bowtie set).
_NO_START_LINE = frozenset(
    ["reInvent2019_wide", "reInvent2019_track", "reInvent2019_wide_mirrored", "LGSWide"])


def style_for_track(name: str) -> TrackStyle:
    """The :class:`TrackStyle` of a simapp world name (``Track.name``; a ``_cw``/``_ccw`` route
    shares its world's look).

    reinvent_base and 2022_reinvent_champ_* have their own meshes; every other track gets the
    ``trackgen`` look (cloud-model-format §6.3; reInvent2019_wide's palette), with the field
    margin of its world where known. City-themed worlds (buildings, barriers) and the project's
    own tracks are drawn the same way: not their real look.
    """
    name = name.removesuffix("_ccw").removesuffix("_cw")
    if name.startswith("reinvent_base"):
        return REINVENT_BASE_STYLE
    if name.startswith("2022_reinvent_champ"):
        return REINVENT_CHAMP_2022_STYLE
    style = TRACKGEN_STYLE
    if name in _WIDE_FIELD:
        style = replace(style, field_margin=(WIDE_FIELD_MARGIN,) * 4)
    if name in _NO_START_LINE:
        style = replace(style, start_line=False, dash_phase=0.0278)
    return style


class CameraScene(NamedTuple):
    """A track baked for :func:`~.camera_kernel.render_batch` (``*scene.arrays``).

    ``tex`` (NY * NX * 4,) float32, node (i, j) channel c at ``(j * NX + i) * 4 + c``: the signed
    distance to the road border (+ on the road), the signed distance to the centre line, the
    centre-line arc length (m) and the unit grain.
    ``fmeta`` (N_FMETA,) float64: grid and line layout (``M_*`` indices). ``walls`` (MAX_WALLS,
    N_WALL_COLS) float64: the arena polygon's edges, inward normals and heights. ``fine``
    (FINE_N * FINE_N,) float32: unit white noise of the fine grain.
    """

    tex: np.ndarray
    fmeta: np.ndarray
    walls: np.ndarray
    fine: np.ndarray


@dataclass
class Scene:
    """A baked track plus what the colour model needs (host side): the arena's lit normals and
    midpoints (n_walls, 3) and the field centre (x, y) m, where the point light is evaluated."""

    name: str
    style: TrackStyle
    arrays: CameraScene
    wall_normals: np.ndarray
    wall_midpoints: np.ndarray
    centre: tuple[float, float]
    track: Track = field(repr=False)

    @property
    def n_walls(self) -> int:
        """Edges of the arena polygon."""
        return int(self.arrays.fmeta[M_NWALLS])


@njit(cache=True)
def _bake(lines: np.ndarray, cum: np.ndarray, pmeta: np.ndarray, pstart: np.ndarray,
          psegs: np.ndarray, rmeta: np.ndarray, redges: np.ndarray, rstart: np.ndarray,
          rcells: np.ndarray, rinside: np.ndarray, x0: float, y0: float, h: float, nx: int,
          ny: int, is_loop: bool, tex: np.ndarray) -> None:
    """Fill channels 0-2 of ``tex`` (distance fields and arc length) at the grid nodes."""
    length = cum[-1]
    for j in range(ny):
        py = y0 + j * h
        for i in range(nx):
            px = x0 + i * h
            _, _, d_in = project_point(lines[1], pmeta, pstart[1], psegs, px, py)
            _, _, d_out = project_point(lines[2], pmeta, pstart[2], psegs, px, py)
            d = min(d_in, d_out)
            if not point_on_road(rmeta, redges, rstart, rcells, rinside, px, py):
                d = -d
            seg, t, dist = project_point(lines[0], pmeta, pstart[0], psegs, px, py)
            ax, ay = lines[0, seg, 0], lines[0, seg, 1]
            bx, by = lines[0, seg + 1, 0], lines[0, seg + 1, 1]
            side = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
            s = cum[seg] + t * (cum[seg + 1] - cum[seg])
            if is_loop and s >= length:
                s -= length
            tex[j, i, 0] = d
            tex[j, i, 1] = dist if side >= 0.0 else -dist
            tex[j, i, 2] = s


def _grain(ny: int, nx: int, seed: int) -> np.ndarray:
    """Static unit-std texture grain: three octaves of bilinearly upsampled white noise."""
    rng = np.random.default_rng(seed)
    total = np.zeros((ny, nx))
    for step, weight in ((1, 1.0), (4, 1.2), (16, 1.5)):
        coarse = rng.standard_normal((ny // step + 2, nx // step + 2))
        jj = np.arange(ny) / step
        ii = np.arange(nx) / step
        j0 = jj.astype(int)
        i0 = ii.astype(int)
        fy = (jj - j0)[:, None]
        fx = (ii - i0)[None, :]
        up = ((1 - fy) * ((1 - fx) * coarse[j0][:, i0] + fx * coarse[j0][:, i0 + 1])
              + fy * ((1 - fx) * coarse[j0 + 1][:, i0] + fx * coarse[j0 + 1][:, i0 + 1]))
        total += weight * up / up.std()
    return (total / total.std()).astype(np.float32)


def _load(track: Track | np.ndarray | str) -> Track:
    if isinstance(track, Track):
        return track
    if isinstance(track, np.ndarray):
        return track_from_array(track)
    return load_track(track)


def _field_rect(wp: np.ndarray, style: TrackStyle) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of the field quad, m."""
    if style.field_rect is not None:
        return style.field_rect
    road = np.vstack([wp[:, 2:4], wp[:, 4:6]])
    mx0, my0, mx1, my1 = style.field_margin
    lo = road.min(0)
    hi = road.max(0)
    return (float(lo[0] - mx0), float(lo[1] - my0), float(hi[0] + mx1), float(hi[1] + my1))


def _bake_texture(track: Track, texel: float, grain_seed: int):
    """(tex (NY, NX, 4) float32, x0, y0, nx, ny, centre-line length): the distance fields, the
    arc length and the grain on a grid covering the waypoints plus 0.5 m."""
    wp = track.waypoints
    lines = np.ascontiguousarray(track.arrays.lines[0])  # centre, inner, outer (forward order)
    pts = wp.reshape(-1, 2)
    pad = 0.5  # beyond it the field is uniform
    x0 = float(pts[:, 0].min()) - pad
    y0 = float(pts[:, 1].min()) - pad
    nx = math.ceil((pts[:, 0].max() + pad - x0) / texel) + 1
    ny = math.ceil((pts[:, 1].max() + pad - y0) / texel) + 1
    pmeta, pstart, psegs = build_segment_grid(lines, cell=0.1, margin=pad + 0.5)
    rmeta, redges, rstart, rcells, rinside = track.arrays.road_grid()
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(lines[0], axis=0).T))])
    tex = np.zeros((ny, nx, 4), dtype=np.float32)
    _bake(lines, cum, pmeta, pstart, psegs, rmeta, redges, rstart, rcells, rinside, x0, y0, texel,
          nx, ny, track.is_loop, tex)
    tex[:, :, 3] = _grain(ny, nx, grain_seed)
    return tex, x0, y0, nx, ny, float(cum[-1])


def _walls(style: TrackStyle, rect: tuple[float, float, float, float]):
    """(walls (MAX_WALLS, N_WALL_COLS), lit normals (nw, 3), midpoints (nw, 3)) of the arena.

    Raises:
        CameraError: a wall polygon with more than MAX_WALLS edges, or not convex and
            counter-clockwise.
    """
    fx0, fy0, fx1, fy1 = rect
    if style.walls is None:
        poly = np.array([(fx0, fy0), (fx1, fy0), (fx1, fy1), (fx0, fy1)])
    else:
        poly = np.asarray(style.walls, dtype=np.float64)
    nw = len(poly)
    if nw > MAX_WALLS:
        raise CameraError(f"TrackStyle.walls has {nw} corners; give at most {MAX_WALLS}")
    walls = np.zeros((MAX_WALLS, N_WALL_COLS))
    normals = np.zeros((nw, 3))
    mids = np.zeros((nw, 3))
    for k in range(nw):
        a, b = poly[k], poly[(k + 1) % nw]
        d = b - a
        n = np.array([-d[1], d[0]]) / math.hypot(*d)  # left of a->b = inside for CCW
        if np.any((poly - a) @ n < -1e-9):
            raise CameraError(f"TrackStyle.walls is not a convex counter-clockwise polygon (edge "
                              f"{k}); list the wall's inner corners counter-clockwise")
        walls[k] = (a[0], a[1], b[0], b[1], style.wall_height, n[0], n[1])
        normals[k] = (0.0, 0.0, 1.0) if style.wall_normal_up else (n[0], n[1], 0.0)
        mids[k] = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, style.wall_height / 2)
    return walls, normals, mids


def _start_band(fmeta: np.ndarray, wp: np.ndarray) -> None:
    """The start band's slots: centred START_LINE_OFFSET past waypoint 0, along wp0 -> wp1."""
    d = wp[1, 0:2] - wp[0, 0:2]
    d = d / np.linalg.norm(d)
    c = wp[0, 0:2] + START_LINE_OFFSET * d
    fmeta[M_START] = 1.0
    fmeta[M_START_X], fmeta[M_START_Y] = float(c[0]), float(c[1])
    fmeta[M_START_DX], fmeta[M_START_DY] = float(d[0]), float(d[1])
    fmeta[M_START_HALF_LEN] = START_LINE_LENGTH / 2
    fmeta[M_START_HALF_WID] = START_LINE_WIDTH / 2
    fmeta[M_START_CELL_LEN] = START_LINE_LENGTH / START_LINE_CELLS[0]
    fmeta[M_START_CELL_WID] = START_LINE_WIDTH / START_LINE_CELLS[1]


def build_scene(track: Track | np.ndarray | str, style: TrackStyle | None = None,
                texel: float = TEXEL, grain_seed: int = 7) -> Scene:
    """Bake a track for the camera (0.05-0.5 s for an official track).

    Args:
        track: a :class:`Track`, an (N, 6) waypoint array, or a track name / ``.npy`` path.
        style: the world's look; default :func:`style_for_track` of the track's name.
        texel: node spacing of the distance-field texture, m (0.005-0.1).
        grain_seed: seed of the static texture grain.

    Returns:
        a :class:`Scene`; its ``arrays`` go to :func:`~.camera_kernel.render_batch`.

    Raises:
        CameraError: a texel outside 0.005-0.1 m, or a bad wall polygon in ``style``.
        TrackError: a track that cannot be loaded.
    """
    track = _load(track)
    if style is None:
        style = style_for_track(track.name)
    if not 0.005 <= texel <= 0.1:
        raise CameraError(f"texel={texel} m: use 0.005-0.1 m (the default {TEXEL} m is within "
                          "0.3 grey levels of an exact render, docs/camera.md)")
    wp = track.waypoints
    rect = _field_rect(wp, style)
    tex, x0, y0, nx, ny, length = _bake_texture(track, texel, grain_seed)
    walls, normals, mids = _walls(style, rect)
    fmeta = np.zeros(N_FMETA)
    fmeta[M_X0], fmeta[M_Y0], fmeta[M_TEXEL], fmeta[M_NX], fmeta[M_NY] = x0, y0, texel, nx, ny
    fmeta[M_LENGTH] = length
    fmeta[M_LOOP] = float(track.is_loop)
    fmeta[M_BORDER_W] = BORDER_LINE_WIDTH
    fmeta[M_CENTRE_HALF_W] = CENTRE_LINE_WIDTH / 2
    fmeta[M_DASH_ON] = DASH_LENGTH
    fmeta[M_DASH_PERIOD] = DASH_PERIOD if style.dashed else 0.0
    fmeta[M_DASH_PHASE] = style.dash_phase
    fmeta[M_NWALLS] = len(normals)
    if style.start_line:
        _start_band(fmeta, wp)
    fmeta[M_FIELD_X0], fmeta[M_FIELD_Y0], fmeta[M_FIELD_X1], fmeta[M_FIELD_Y1] = rect
    # the narrowest half road width (distance from the centre line to the nearer border)
    fmeta[M_HALF_W_MIN] = float(np.min(np.minimum(np.hypot(*(wp[:, 2:4] - wp[:, 0:2]).T),
                                                  np.hypot(*(wp[:, 4:6] - wp[:, 0:2]).T))))
    fmeta[M_BOX] = float(style.walls is None)
    fine = np.random.default_rng(grain_seed + 1).standard_normal(FINE_N * FINE_N)
    arrays = CameraScene(tex.reshape(-1), fmeta, walls, fine.astype(np.float32))
    return Scene(track.name, style, arrays, normals, mids,
                 ((rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2), track)
