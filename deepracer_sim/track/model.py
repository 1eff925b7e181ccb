"""A DeepRacer track: validation and the arrays the kernels use.

Format (spec §9, as the simapp's ``track_data.py`` reads it): a ``.npy`` float64 array of
shape (N, 6) = centre (x, y) | inner border (x, y) | outer border (x, y), metres; the track is
a loop iff the first row equals the last row; travel direction is the row order; the reversed
direction uses ``waypoints[::-1]`` for all three lines.

Finding a track by name and loading it from a file: :mod:`deepracer_sim.track.lookup`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numba import njit

from deepracer_sim.errors import TrackError
from deepracer_sim.track.geometry import (
    build_road_grid,
    build_segment_grid,
    first_crossing,
    project_point,
    signed_area,
)

#: Centre-line lengths accepted, m. The official tracks run 5.7 m to 89.2 m (the simapp's
#: bundle/routes at the catalog's commit); outside 2-500 m a file is not in metres (a track in
#: centimetres is 100 times too long, and its grids would take minutes and gigabytes to build).
TRACK_LENGTH_LIMITS = (2.0, 500.0)
#: Median track widths accepted, m (official tracks: medians 0.61 m to 1.45 m, 0.60 m to 1.98 m
#: at any waypoint; the car is 0.2 m wide).
TRACK_WIDTH_LIMITS = (0.2, 5.0)
#: Units a mis-scaled file is probably in: (name, metres per unit).
_UNITS = (("centimetres", 0.01), ("millimetres", 0.001), ("micrometres", 1e-6),
          ("inches", 0.0254), ("feet", 0.3048), ("kilometres", 1000.0))

# int index array (``iarr``) header: offsets of its sections
H_ROAD_START, H_ROAD_CELLS, H_ROAD_INSIDE, H_PROJ_START, H_PROJ_SEGS, H_END = range(6)
HEADER_SIZE = 8

# float metadata (``fmeta``) slots
F_IS_LOOP = 0
F_IS_CCW = 1  # of the forward direction
F_LENGTH = 2  # + direction (0 forward, 1 reversed): centre-line length, m
F_ROAD_GRID = 4  # 5 values: the road grid's x0, y0, cell size h, nx, ny
F_PROJ_GRID = 9  # 5 values: the projection grid's x0, y0, h, nx, ny
GRID_META = 5
N_FMETA = 14


@njit(cache=True, inline="always")
def projection_rows(fmeta: np.ndarray, iarr: np.ndarray, direction: int,
                    line: int) -> tuple[int, int]:
    """(start, stop) of the slice of ``iarr`` that holds the projection grid's cell offsets of
    one polyline: ``direction`` 0/1, ``line`` 0 centre, 1 inner, 2 outer."""
    ncell = int(fmeta[F_PROJ_GRID + 3] * fmeta[F_PROJ_GRID + 4])
    row = iarr[H_PROJ_START] + (direction * 3 + line) * (ncell + 1)
    return row, row + ncell + 1


class TrackArrays(NamedTuple):
    """The track packed into five arrays for the numba kernels (few arguments keep the kernel
    call cheap); index 0 = forward direction, 1 = reversed.

    ``lines`` (2, 3, N, 2) float64: centre, inner, outer polylines in driving order.
    ``lens`` (2, 2, N) float64: [0] distance of each waypoint from waypoint 0 along the centre
    line, m; [1] the simapp's ``TrackLine.ndists`` (normalised projections, last entry 1.0).
    ``fmeta`` (14,) float64: is_loop, forward is_ccw, length forward, length reversed, the road
    grid's [x0, y0, h, nx, ny], the projection grid's [x0, y0, h, nx, ny].
    ``road_edges`` (E, 4) float64: border edges of the road polygon.
    ``iarr`` int64: a header of section offsets, then the road grid's cell offsets, cell edge
    lists and cell-centre inside flags, then the projection grid's offsets (6 polylines:
    direction * 3 + line) and segment lists.
    """

    lines: np.ndarray
    lens: np.ndarray
    fmeta: np.ndarray
    road_edges: np.ndarray
    iarr: np.ndarray

    @property
    def cum(self) -> np.ndarray:
        """(2, N) centre-line distance of each waypoint, m."""
        return self.lens[:, 0]

    @property
    def ndists(self) -> np.ndarray:
        """(2, N) the simapp's ``ndists`` per direction."""
        return self.lens[:, 1]

    @property
    def info(self) -> np.ndarray:
        """(4,) [is_loop, forward is_ccw, length forward, length reversed]."""
        return self.fmeta[:F_ROAD_GRID]

    def road_grid(self) -> tuple[np.ndarray, ...]:
        """(meta, edges, cell_start, cell_edges, inside): :func:`geometry.point_on_road`'s
        grid arguments."""
        h = self.iarr
        return (self.fmeta[F_ROAD_GRID:F_ROAD_GRID + GRID_META], self.road_edges,
                h[h[H_ROAD_START]:h[H_ROAD_CELLS]], h[h[H_ROAD_CELLS]:h[H_ROAD_INSIDE]],
                h[h[H_ROAD_INSIDE]:h[H_PROJ_START]])

    def projection_grid(self, direction: int, line: int) -> tuple[np.ndarray, ...]:
        """(pts, meta, start, segs): :func:`geometry.project_point`'s first arguments for a
        direction (0, 1) and line (0 centre, 1 inner, 2 outer)."""
        h = self.iarr
        start, stop = projection_rows(self.fmeta, h, direction, line)
        return (self.lines[direction, line], self.fmeta[F_PROJ_GRID:F_PROJ_GRID + GRID_META],
                h[start:stop],
                h[h[H_PROJ_SEGS]:h[H_END]])


@dataclass(eq=False)
class Track:
    """A DeepRacer track.

    Attributes:
        name: the file's stem, as the simapp's ``WORLD_NAME``.
        path: the file it was loaded from (None when built from an array).
        waypoints: (N, 6) float64 raw rows, read-only.
        is_loop: first row == last row.
        length: centre-line length, m (shapely ``LineString.length``; includes the closing
            segment of a loop); the params key ``track_length``.
        is_ccw: whether the centre line in row order runs counter-clockwise
            (shapely ``LinearRing.is_ccw``; True for open tracks, as the simapp sets it).
        width: mean |outer - inner| over the rows, m (the params' ``track_width`` is local).
        sha256: hex digest of the raw float64 bytes.
    """

    name: str
    path: Path | None
    waypoints: np.ndarray
    is_loop: bool = field(init=False)
    length: float = field(init=False)
    is_ccw: bool = field(init=False)
    width: float = field(init=False)
    sha256: str = field(init=False)
    arrays: TrackArrays = field(init=False, repr=False)
    _waypoint_lists: tuple[list, list] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        wp = np.array(self.waypoints, dtype=np.float64, copy=True)
        wp.setflags(write=False)
        self.waypoints = wp
        self.is_loop = bool(np.all(wp[0] == wp[-1]))
        self.arrays = _build_arrays(wp, self.is_loop)
        self.length = float(self.arrays.fmeta[F_LENGTH])
        self.is_ccw = bool(self.arrays.fmeta[F_IS_CCW])
        self.width = float(np.mean(np.hypot(*(wp[:, 4:6] - wp[:, 2:4]).T)))
        self.sha256 = hashlib.sha256(wp.tobytes()).hexdigest()
        fwd = [(float(x), float(y)) for x, y in wp[:, 0:2]]
        self._waypoint_lists = (fwd, fwd[::-1])

    @property
    def num_waypoints(self) -> int:
        """N, the number of rows (= ``len(params['waypoints'])``, as AWS's simapp)."""
        return int(self.waypoints.shape[0])

    def waypoint_list(self, reversed_direction: bool = False) -> list[tuple[float, float]]:
        """The params ``waypoints`` list for a direction (shared: copy before handing out)."""
        return self._waypoint_lists[1 if reversed_direction else 0]

    def centre_line(self, reversed_direction: bool = False) -> np.ndarray:
        """(N, 2) float64 centre line in driving order."""
        return self.arrays.lines[1 if reversed_direction else 0, 0]

    def __repr__(self) -> str:
        return (f"Track({self.name!r}, N={self.num_waypoints}, length={self.length:.3f} m, "
                f"width={self.width:.3f} m, {'CCW' if self.is_ccw else 'CW'})")


def _cumulative(line: np.ndarray) -> np.ndarray:
    seg = np.hypot(np.diff(line[:, 0]), np.diff(line[:, 1]))
    return np.concatenate([[0.0], np.cumsum(seg)])


def _build_arrays(wp: np.ndarray, is_loop: bool) -> TrackArrays:
    n = wp.shape[0]
    lines = np.empty((2, 3, n, 2))
    for d, rows in enumerate((wp, wp[::-1])):
        for k in range(3):
            lines[d, k] = rows[:, 2 * k: 2 * k + 2]
    proj_meta, proj_start, proj_segs = build_segment_grid(lines.reshape(6, n, 2))
    lens = np.empty((2, 2, n))
    for d in range(2):
        centre = lines[d, 0]
        cum = _cumulative(centre)
        lens[d, 0] = cum
        # ndists = [line.project(Point(p), normalized=True) for p in coords[:-1]] + [1.0]
        for i in range(n - 1):
            seg, t, _ = project_point(centre, proj_meta, proj_start[3 * d], proj_segs,
                                      centre[i, 0], centre[i, 1])
            lens[d, 1, i] = (cum[seg] + t * (cum[seg + 1] - cum[seg])) / cum[-1]
        lens[d, 1, n - 1] = 1.0
    is_ccw = signed_area(wp[:, 0:2]) > 0.0 if is_loop else True
    if is_loop:
        rings = [wp[:, 4:6], wp[:, 2:4]]
    else:  # the simapp's Polygon(vstack(outer, flipud(inner))) closes the open outline
        rings = [np.vstack([wp[:, 4:6], wp[::-1, 2:4], wp[:1, 4:6]])]
    road_meta, road_edges, road_start, road_cells, road_inside = build_road_grid(
        [np.ascontiguousarray(r) for r in rings])
    fmeta = np.concatenate([[float(is_loop), float(is_ccw), lens[0, 0, -1], lens[1, 0, -1]],
                            road_meta, proj_meta])
    sections = [road_start, road_cells, road_inside.astype(np.int64), proj_start.reshape(-1),
                proj_segs]
    header = np.zeros(HEADER_SIZE, dtype=np.int64)
    offset = HEADER_SIZE
    for k, part in enumerate(sections):
        header[k] = offset
        offset += len(part)
    header[H_END] = offset
    iarr = np.concatenate([header, *[np.asarray(p, dtype=np.int64) for p in sections]])
    return TrackArrays(lines, lens, fmeta, road_edges, iarr)


def validate_waypoints(wp: object, source: str) -> np.ndarray:
    """Check a raw track array and return it as float64 (N, 6).

    Raises:
        TrackError: wrong type/shape/dtype, NaN or inf, fewer than 3 distinct centre points,
            an implausible scale (:func:`check_scale`), zero or negative width, or a border on
            the wrong side of (crossing) the centre line.
            The message names ``source``, the problem and the fix.
    """
    if not isinstance(wp, np.ndarray):
        raise TrackError(f"{source}: expected a numpy array of shape (N, 6), got "
                         f"{type(wp).__name__}. Save the track with numpy.save(path, array).")
    if wp.ndim != 2 or wp.shape[1] != 6:
        raise TrackError(f"{source}: shape {wp.shape}, expected (N, 6) = centre x,y | inner x,y | "
                         "outer x,y in metres, one row per waypoint.")
    if wp.dtype.kind not in "fiu":
        raise TrackError(f"{source}: dtype {wp.dtype}, expected float64 coordinates in metres.")
    wp = wp.astype(np.float64)
    bad = ~np.isfinite(wp)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise TrackError(f"{source}: row {row} column {col} is {wp[row, col]}; every coordinate "
                         "must be a finite number of metres. Fix or drop that waypoint.")
    distinct = np.unique(wp[:, 0:2], axis=0)
    if len(distinct) < 3:
        raise TrackError(f"{source}: only {len(distinct)} distinct centre points; a track needs "
                         "at least 3.")
    width = np.hypot(*(wp[:, 4:6] - wp[:, 2:4]).T)
    if (width <= 0).any():
        row = int(np.argmax(width <= 0))
        raise TrackError(f"{source}: track width {width[row]:.4f} m at row {row} (inner border "
                         "equals outer border); the width must be positive at every waypoint.")
    check_scale(wp, source)
    # A border must not cross (or touch) the centre line, as polylines.
    centre = np.ascontiguousarray(wp[:, 0:2])
    for name, col in (("inner", 2), ("outer", 4)):
        seg = first_crossing(centre, np.ascontiguousarray(wp[:, col:col + 2]))
        if seg >= 0:
            raise TrackError(f"{source}: the {name} border crosses the centre line between "
                             f"rows {seg} and {seg + 1}. Check that the columns are centre x,y "
                             "| inner x,y | outer x,y and that each border stays on its side "
                             "of the centre.")
    return wp


def _scale_fix(length: float, width: float) -> str:
    """The fix of a mis-scaled track: the unit it is probably in and how to convert it."""
    lo, hi = TRACK_LENGTH_LIMITS
    for unit, metres in _UNITS:
        if lo <= length * metres <= hi and \
                TRACK_WIDTH_LIMITS[0] <= width * metres <= TRACK_WIDTH_LIMITS[1]:
            per = round(1 / metres)
            factor = f"/ {per}" if abs(per * metres - 1) < 1e-9 else f"* {metres:g}"
            return (f"it looks like {unit}: convert it to metres, e.g. "
                    f"numpy.save(path, numpy.load(path) {factor})")
    return "save the coordinates in metres"


def check_scale(wp: np.ndarray, source: str) -> None:
    """Refuse a track whose size is not a DeepRacer track's in metres: a centre line outside
    :data:`TRACK_LENGTH_LIMITS` or a median width outside :data:`TRACK_WIDTH_LIMITS`.

    Raises:
        TrackError: names ``source``, the length and width, the unit the file is probably in
            and the conversion.
    """
    length = float(np.hypot(*np.diff(wp[:, 0:2], axis=0).T).sum())
    width = float(np.median(np.hypot(*(wp[:, 4:6] - wp[:, 2:4]).T)))
    if TRACK_LENGTH_LIMITS[0] <= length <= TRACK_LENGTH_LIMITS[1] and \
            TRACK_WIDTH_LIMITS[0] <= width <= TRACK_WIDTH_LIMITS[1]:
        return
    raise TrackError(
        f"{source}: the centre line is {length:,.6g} m long and the track {width:,.6g} m wide "
        f"(median): not a DeepRacer track in metres (accepted: {TRACK_LENGTH_LIMITS[0]:g}-"
        f"{TRACK_LENGTH_LIMITS[1]:g} m long, {TRACK_WIDTH_LIMITS[0]:g}-"
        f"{TRACK_WIDTH_LIMITS[1]:g} m wide; the official tracks are 5.7-89.2 m long and "
        f"0.60-1.98 m wide). Fix: {_scale_fix(length, width)}")


def track_from_array(waypoints: np.ndarray, name: str = "custom") -> Track:
    """Build a :class:`Track` from an (N, 6) array (validated as :func:`validate_waypoints`)."""
    return Track(name, None, validate_waypoints(waypoints, f"track {name!r}"))


