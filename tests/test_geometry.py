"""Tests for the numba geometry kernels in ``deepracer_sim.track.geometry``.

The simapp computes all track geometry with shapely (spec §1.2), so shapely is the oracle:
``project_point`` must equal ``LineString/LinearRing.project`` (unnormalised) and ``distance``,
``point_on_road`` must equal ``Polygon(outer, [inner]).contains`` and ``find_prev_next`` the
``bisect.bisect_right`` rule of spec §1.3. Official tracks come from ``../shared/tracks``.

``project_point`` answers from a grid (``build_segment_grid``): each cell lists the segments
that can be nearest to a point in it; outside the grid it scans every segment. Both paths are
checked against shapely, and the candidate lists against a brute-force nearest segment.
"""

from __future__ import annotations

import bisect

import numpy as np
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from shapely.geometry import LinearRing, LineString, Point, Polygon

from deepracer_sim.track import Track, load_track
from deepracer_sim.track.geometry import (
    build_road_grid,
    build_segment_grid,
    find_prev_next,
    point_on_road,
    project_point,
    signed_area,
)

# reinvent_base: 119 rows, no duplicate; Spain_track: CW, one duplicated consecutive centre point;
# reInvent2019_track: CCW, one duplicate (dup=1 in shared/tracks/README.md); Straight_track: open.
TRACKS = ["reinvent_base", "Spain_track", "reInvent2019_track", "Straight_track"]
LOOP_TRACKS = TRACKS[:3]
LINES = [0, 1, 2]
LINE_IDS = ["centre", "inner", "outer"]
TOL = 1e-9  # m


@pytest.fixture(scope="module")
def tracks(shared_dir) -> dict[str, Track]:
    folder = shared_dir / "tracks"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    return {name: load_track(folder / f"{name}.npy") for name in TRACKS}


def shapely_line(pts: np.ndarray, is_loop: bool):
    return LinearRing(pts) if is_loop else LineString(pts)


def along(pts: np.ndarray, seg: int, t: float) -> float:
    """Distance along the polyline of (seg, t), from segment lengths computed here."""
    seglen = np.hypot(*np.diff(pts, axis=0).T)
    return float(np.sum(seglen[:seg]) + t * seglen[seg])


def single_grid(pts: np.ndarray, **kwargs):
    """(pts, meta, start_row, segs) for one polyline, from build_segment_grid on (1, N, 2)."""
    pts = np.ascontiguousarray(pts, dtype=np.float64)
    meta, start, segs = build_segment_grid(pts[None], **kwargs)
    assert start.shape == (1, int(meta[3]) * int(meta[4]) + 1)
    return pts, meta, start[0], segs


def in_grid(meta: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Whether each point falls in a cell: 0 <= (x - x0)/h < nx and 0 <= (y - y0)/h < ny (the
    rule in project_point's docstring: outside it scans every segment)."""
    fi = (xy[:, 0] - meta[0]) / meta[2]
    fj = (xy[:, 1] - meta[1]) / meta[2]
    return (fi >= 0) & (fi < meta[3]) & (fj >= 0) & (fj < meta[4])


def cell_of(meta: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Row-major cell index of points inside the grid."""
    fi = (xy[:, 0] - meta[0]) / meta[2]
    fj = (xy[:, 1] - meta[1]) / meta[2]
    return fj.astype(np.int64) * int(meta[3]) + fi.astype(np.int64)


def brute_d2(pts: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(M, nseg) squared distances from each point to each segment (written out here, all in
    numpy: clamp the projection factor to [0, 1]; a zero-length segment is its vertex)."""
    a = pts[:-1][None]
    d = (pts[1:] - pts[:-1])[None]
    p = xy[:, None]
    l2 = np.sum(d * d, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(l2 > 0, np.sum((p - a) * d, axis=-1) / l2, 0.0)
    t = np.clip(t, 0.0, 1.0)
    q = a + t[..., None] * d
    return np.sum((p - q) ** 2, axis=-1)


def random_points(pts: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """Half uniform in the bounding box + 1 m, half within ~1 m of the polyline's vertices."""
    lo = pts.min(axis=0) - 1.0
    hi = pts.max(axis=0) + 1.0
    box = rng.uniform(lo, hi, size=(n // 2, 2))
    near = pts[rng.integers(0, len(pts), n - n // 2)] + rng.normal(0.0, 0.5, (n - n // 2, 2))
    return np.vstack([box, near])


def far_points(pts: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """Points 50-60 m outside the polyline's bounding box, all around it."""
    lo = pts.min(axis=0)
    hi = pts.max(axis=0)
    centre = (lo + hi) / 2
    radius = np.hypot(*(hi - lo)) / 2 + rng.uniform(50.0, 60.0, n)
    ang = rng.uniform(0, 2 * np.pi, n)
    return centre + radius[:, None] * np.column_stack([np.cos(ang), np.sin(ang)])


def border_points(meta: np.ndarray, rng: np.random.Generator, n: int) -> np.ndarray:
    """Points exactly on the grid's outer edges: x = x0 or y = y0 (inside, first row/column)
    and x = x0 + nx*h or y = y0 + ny*h (outside: full scan), plus just inside the far edges."""
    x0, y0, h, nx, ny = meta
    x1 = x0 + nx * h
    y1 = y0 + ny * h
    xs = rng.uniform(x0, x1, n)
    ys = rng.uniform(y0, y1, n)
    return np.vstack([
        np.column_stack([np.full(n, x0), ys]), np.column_stack([xs, np.full(n, y0)]),
        np.column_stack([np.full(n, x1), ys]), np.column_stack([xs, np.full(n, y1)]),
        np.column_stack([np.full(n, np.nextafter(x1, -np.inf)), ys]),
        np.column_stack([xs, np.full(n, np.nextafter(y1, -np.inf))]),
    ])


def check_against_shapely(grid, is_loop: bool, xy: np.ndarray) -> None:
    pts = grid[0]
    geom = shapely_line(pts, is_loop)
    shp_proj = shapely.line_locate_point(geom, shapely.points(xy))
    shp_dist = shapely.distance(geom, shapely.points(xy))
    nseg = len(pts) - 1
    seglen = np.hypot(*np.diff(pts, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seglen)])
    for k, (x, y) in enumerate(xy):
        seg, t, d = project_point(*grid, float(x), float(y))
        assert 0 <= seg < nseg
        assert 0.0 <= t <= 1.0
        proj = cum[seg] + t * seglen[seg]
        assert abs(proj - shp_proj[k]) < TOL, (k, x, y, seg, t, proj, shp_proj[k])
        assert abs(d - shp_dist[k]) < TOL, (k, x, y, d, shp_dist[k])


# --- project_point: hand cases -----------------------------------------------------------------


# unit square ring, CCW: segments 0:(0,0)-(1,0) 1:(1,0)-(1,1) 2:(1,1)-(0,1) 3:(0,1)-(0,0)
SQUARE = np.array([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]], dtype=float)


@pytest.mark.parametrize("cell", [0.15, 0.4, 3.0])
def test_project_point_hand_square_ties_lowest_index(cell):
    grid = single_grid(SQUARE, cell=cell)
    ring = LinearRing(SQUARE)
    # the centre (0.5, 0.5) is 0.5 from all four segments: GEOS keeps the first -> seg 0, t 0.5
    assert in_grid(grid[1], np.array([[0.5, 0.5]]))[0]
    assert project_point(*grid, 0.5, 0.5) == (0, 0.5, 0.5)
    assert ring.project(Point(0.5, 0.5)) == 0.5
    # (-0.5, -0.5) is nearest to the closing vertex (0, 0): start of seg 0 (0 m), not the end of
    # seg 3 (4 m); distance sqrt(0.25 + 0.25) = sqrt(0.5). With margin 1 m it is in the grid.
    assert in_grid(grid[1], np.array([[-0.5, -0.5]]))[0]
    seg, t, d = project_point(*grid, -0.5, -0.5)
    assert (seg, t) == (0, 0.0)
    assert d == pytest.approx(0.5 ** 0.5, abs=1e-15)
    assert ring.project(Point(-0.5, -0.5)) == 0.0
    # exactly at the closing vertex: distance 0 to segs 0 and 3 -> seg 0, t 0
    assert project_point(*grid, 0.0, 0.0) == (0, 0.0, 0.0)
    assert ring.project(Point(0, 0)) == 0.0
    # (1.5, 0.25): nearest to seg 1 at (1, 0.25), t = 0.25, along = 1.25 m, distance 0.5
    assert project_point(*grid, 1.5, 0.25) == (1, 0.25, 0.5)
    assert ring.project(Point(1.5, 0.25)) == 1.25
    # (0.5, 0.9): seg 2 at (0.5, 1): t = 0.5, along 2.5 m, distance 0.1 (0.9 from seg 0)
    seg, t, d = project_point(*grid, 0.5, 0.9)
    assert (seg, t) == (2, 0.5)
    assert d == pytest.approx(0.1, abs=1e-15)
    assert ring.project(Point(0.5, 0.9)) == 2.5


def test_project_point_hand_square_outside_grid_is_a_full_scan():
    grid = single_grid(SQUARE)  # margin 1 m: the grid covers about [-1, 2] x [-1, 2]
    ring = LinearRing(SQUARE)
    # (-50, -50): nearest the closing vertex (0, 0) -> seg 0, t 0, distance 50*sqrt(2)
    assert not in_grid(grid[1], np.array([[-50.0, -50.0]]))[0]
    seg, t, d = project_point(*grid, -50.0, -50.0)
    assert (seg, t) == (0, 0.0)
    assert d == pytest.approx(50 * 2 ** 0.5, abs=1e-12)
    assert ring.project(Point(-50, -50)) == 0.0
    # (0.5, 60): above seg 2 at (0.5, 1): t 0.5, along 2.5, distance 59
    assert project_point(*grid, 0.5, 60.0) == (2, 0.5, 59.0)
    # (40, 0.5): right of seg 1 at (1, 0.5): t 0.5, along 1.5, distance 39
    assert project_point(*grid, 40.0, 0.5) == (1, 0.5, 39.0)
    # (-30, 1): ties between the end of seg 2 and the start of seg 3 at (0, 1) -> seg 2, t 1
    # (along 3 m), distance 30
    assert project_point(*grid, -30.0, 1.0) == (2, 1.0, 30.0)
    assert ring.project(Point(-30, 1)) == 3.0


def test_project_point_zero_length_segment():
    # a duplicated vertex: segment 1 has zero length; (2, 0) ends seg 0, is seg 1, starts seg 2
    pts = np.array([[0, 0], [2, 0], [2, 0], [2, 2]], dtype=float)
    line = LineString(pts)
    for cell in (0.15, 1.0):
        grid = single_grid(pts, cell=cell)
        for x, y in ((3.0, -1.0), (60.0, -60.0)):  # in the grid / full scan
            # nearest point (2, 0), equally far from segs 0, 1 and 2: the first wins -> seg 0,
            # t 1; along = 2 m; distance sqrt(1 + 1) resp. sqrt(58^2 + 60^2)
            seg, t, d = project_point(*grid, x, y)
            assert (seg, t) == (0, 1.0)
            assert along(pts, seg, t) == 2.0
            assert d == pytest.approx(np.hypot(x - 2, y), abs=1e-12)
            assert line.project(Point(x, y)) == 2.0
        # exactly at the duplicated vertex: distance 0, seg 0 t 1 (along 2 m)
        assert project_point(*grid, 2.0, 0.0) == (0, 1.0, 0.0)
        # (2.5, 1): seg 2 at (2, 1): t 0.5, along 2 + 0 + 1 = 3 m, distance 0.5
        assert project_point(*grid, 2.5, 1.0) == (2, 0.5, 0.5)
        assert line.project(Point(2.5, 1)) == 3.0


def test_build_segment_grid_hand_layout():
    # one segment (0,0)-(2,0), cell 0.5, margin 0.25: x0 = -0.25, y0 = -0.25,
    # nx = ceil((2 + 0.25 - -0.25) / 0.5) = 5, ny = ceil((0 + 0.25 - -0.25) / 0.5) = 1
    meta, start, segs = build_segment_grid(np.array([[[0.0, 0.0], [2.0, 0.0]]]), cell=0.5,
                                           margin=0.25)
    np.testing.assert_array_equal(meta, [-0.25, -0.25, 0.5, 5, 1])
    # the only segment is a candidate of every cell: offsets 0..5, all entries 0
    np.testing.assert_array_equal(start, [[0, 1, 2, 3, 4, 5]])
    np.testing.assert_array_equal(segs, np.zeros(5))
    # two polylines share the grid; the second's offsets continue after the first's lists
    two = np.array([[[0.0, 0.0], [2.0, 0.0]], [[0.0, 0.5], [2.0, 0.5]]])
    meta, start, segs = build_segment_grid(two, cell=0.5, margin=0.25)
    # y range -0.25 .. 0.75: ny = ceil(1.0 / 0.5) = 2
    np.testing.assert_array_equal(meta, [-0.25, -0.25, 0.5, 5, 2])
    np.testing.assert_array_equal(start, [np.arange(11), np.arange(10, 21)])


# --- project_point on the official tracks --------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.parametrize("name", TRACKS)
@pytest.mark.parametrize("direction", [0, 1])
@pytest.mark.parametrize("line", LINES, ids=LINE_IDS)
def test_project_point_matches_shapely(tracks, name, direction, line):
    track = tracks[name]
    grid = track.arrays.projection_grid(direction, line)
    pts, meta = grid[0], grid[1]
    # the grid's polyline is the track's line in driving order (spec §9: reversed = rows[::-1])
    rows = track.waypoints if direction == 0 else track.waypoints[::-1]
    np.testing.assert_array_equal(pts, rows[:, 2 * line:2 * line + 2])
    rng = np.random.default_rng(1000 + 10 * TRACKS.index(name) + 3 * direction + line)
    near = random_points(pts, rng, 400)
    far = far_points(pts, rng, 40)
    edge = border_points(meta, rng, 10)
    # the grid's margin (1 m) covers the line's bounding box + 1 m (the first half of `near`)
    assert in_grid(meta, near[:200]).all()
    assert not in_grid(meta, far).any()  # these take the full-scan path
    check_against_shapely(grid, track.is_loop, np.vstack([near, far, edge]))


@pytest.mark.shared_data
@pytest.mark.parametrize("name", TRACKS)
@pytest.mark.parametrize("direction", [0, 1])
@pytest.mark.parametrize("line", LINES, ids=LINE_IDS)
def test_project_point_at_the_vertices(tracks, name, direction, line):
    track = tracks[name]
    grid = track.arrays.projection_grid(direction, line)
    pts = grid[0]
    nseg = len(pts) - 1
    geom = shapely_line(pts, track.is_loop)
    expected = shapely.line_locate_point(geom, shapely.points(pts))
    for k, (x, y) in enumerate(pts):
        seg, t, d = project_point(*grid, float(x), float(y))
        assert d == 0.0, k
        assert abs(along(pts, seg, t) - expected[k]) < TOL, (k, seg, t)
        # vertex k ends segment k-1 and starts segment k: the lower index wins -> (k-1, 1.0),
        # except vertex 0 (no segment before it) and a repeat of an earlier vertex
        first = int(np.flatnonzero(np.all(pts == pts[k], axis=1))[0])
        assert (seg, t) == ((first - 1, 1.0) if first > 0 else (0, 0.0)), (k, first)
    if track.is_loop:
        # the closing vertex pts[-1] == pts[0]: shapely's project is 0 (start of seg 0), not the
        # length (end of the last segment)
        assert expected[-1] == 0.0
        assert project_point(*grid, *map(float, pts[-1])) == (0, 0.0, 0.0)
    else:
        assert project_point(*grid, *map(float, pts[-1]))[:2] == (nseg - 1, 1.0)


def away_grid(pts: np.ndarray):
    """project_point arguments with a one-cell grid 1000 km away: every query near the track is
    outside it, so project_point scans every segment."""
    meta = np.array([1e6, 1e6, 1.0, 1.0, 1.0])
    return (pts, meta, np.zeros(2, dtype=np.int64), np.zeros(0, dtype=np.int64))


@pytest.mark.shared_data
@pytest.mark.parametrize("name", TRACKS)
@pytest.mark.parametrize("direction", [0, 1])
def test_project_point_full_scan_matches_shapely(tracks, name, direction):
    track = tracks[name]
    for line in LINES:
        pts = track.arrays.projection_grid(direction, line)[0]
        rng = np.random.default_rng(500 + 10 * TRACKS.index(name) + 3 * direction + line)
        xy = np.vstack([random_points(pts, rng, 200), pts])
        grid = away_grid(pts)
        assert not in_grid(grid[1], xy).any()
        check_against_shapely(grid, track.is_loop, xy)


@pytest.mark.shared_data
@pytest.mark.parametrize("name", LOOP_TRACKS)
@pytest.mark.parametrize("direction", [0, 1])
@pytest.mark.parametrize("line", LINES, ids=LINE_IDS)
def test_project_point_loop_closure_tie(tracks, name, direction, line):
    """Points off the closing vertex v, outside the wedge of its two segments, are nearest to v,
    which both ends the last segment and starts segment 0 (an exact tie: both distances are
    |p - v|): shapely's project gives 0 (lowest index), not the lap length."""
    track = tracks[name]
    grid = track.arrays.projection_grid(direction, line)
    pts = grid[0]
    v = pts[0]
    u_in = (pts[-2] - v) / np.hypot(*(pts[-2] - v))
    u_out = (pts[1] - v) / np.hypot(*(pts[1] - v))
    geom = shapely_line(pts, True)
    bisector = -(u_in + u_out) / np.hypot(*(u_in + u_out))
    # outside the wedge: the projection factor on both segments is negative (clamped to v)
    assert bisector @ u_in < 0 and bisector @ u_out < 0
    for r in (0.01, 0.1, 0.3):
        x, y = v + r * bisector
        assert geom.distance(Point(x, y)) == pytest.approx(r, abs=1e-12)  # v is the nearest
        assert geom.project(Point(x, y)) == 0.0
        for g in (grid, away_grid(pts)):  # the grid and the full scan
            seg, t, d = project_point(*g, float(x), float(y))
            assert (seg, t) == (0, 0.0)
            assert d == pytest.approx(r, abs=1e-12)


@pytest.mark.shared_data
@settings(max_examples=200, deadline=None)
@given(u=st.floats(-0.2, 1.2), v=st.floats(-0.2, 1.2), which=st.sampled_from(TRACKS),
       direction=st.integers(0, 1), line=st.sampled_from(LINES))
def test_project_point_hypothesis(shared_dir, u, v, which, direction, line):
    track = _hypothesis_tracks(shared_dir)[which]
    grid = track.arrays.projection_grid(direction, line)
    pts = grid[0]
    lo = pts.min(axis=0)
    hi = pts.max(axis=0)
    x, y = lo + np.array([u, v]) * (hi - lo)
    check_against_shapely(grid, track.is_loop, np.array([[x, y]]))


_TRACK_CACHE: dict[str, Track] = {}


def _hypothesis_tracks(shared_dir) -> dict[str, Track]:
    if not _TRACK_CACHE:
        for name in TRACKS:
            path = shared_dir / "tracks" / f"{name}.npy"
            if not path.is_file():
                pytest.skip(f"{path} not found")
            _TRACK_CACHE[name] = load_track(path)
    return _TRACK_CACHE


# half-metre lattice vertices: repeated vertices, vertices on other segments and collinear
# segments are common
_VERTEX = st.tuples(st.integers(-6, 6), st.integers(-6, 6)).map(lambda p: (p[0] / 2, p[1] / 2))


def _overlapping_segments(pts: np.ndarray) -> bool:
    """Whether two segments share a stretch of positive length (a line that retraces itself)."""
    segs = [LineString(pts[k:k + 2]) for k in range(len(pts) - 1)]
    return any(segs[i].intersection(segs[j]).length > 0
               for i in range(len(segs)) for j in range(i + 1, len(segs)))


@settings(max_examples=200, deadline=None)
@given(vertices=st.lists(_VERTEX, min_size=2, max_size=9), close=st.booleans(),
       cell=st.sampled_from([0.1, 0.15, 0.37, 1.0, 2.5]), margin=st.sampled_from([0.0, 0.5, 1.0]),
       seed=st.integers(0, 2 ** 32 - 1))
def test_project_point_random_polylines_hypothesis(vertices, close, cell, margin, seed):
    """Small random polylines with their own grid: the projection equals shapely's, and the
    cell's candidate list holds the lowest-index nearest segment. Queries: random points (some
    outside the grid) and the vertices themselves (exact ties between segments meeting there).
    Retracing lines are left out: see test_project_point_retraced_segment_tie."""
    pts = np.array(vertices + vertices[:1] if close else vertices, dtype=float)
    assume(not np.all(pts == pts[0]))  # a single point is no line
    assume(not _overlapping_segments(pts))
    grid = single_grid(pts, cell=cell, margin=margin)
    _, meta, start, segs = grid
    rng = np.random.default_rng(seed)
    xy = np.vstack([rng.uniform(-5, 5, (6, 2)), pts])
    check_against_shapely(grid, False, xy)
    inside = in_grid(meta, xy)
    d2 = brute_d2(pts, xy[inside])
    for k, c in enumerate(cell_of(meta, xy[inside])):
        cand = segs[start[c]:start[c + 1]]
        assert d2[k, cand].min() == d2[k].min(), (xy[inside][k], c, cand)
        assert np.argmin(d2[k]) in cand, (xy[inside][k], c, cand)


def test_project_point_retraced_segment_tie():
    # (0.5, 0) -> (0, 1) -> (0.5, 0): segment 1 retraces segment 0. From (0, 0) both are nearest
    # at (0.4, 0.2): t = ((0 - 0.5)*(-0.5) + 0*1) / (0.25 + 1) = 0.2 on seg 0 -> along
    # 0.2 * sqrt(1.25) = 0.2236 m; on seg 1 t = 0.8 -> along sqrt(1.25) + 0.8*sqrt(1.25) = 2.0125
    pts = np.array([[0.5, 0.0], [0.0, 1.0], [0.5, 0.0]])
    assert LineString(pts).project(Point(0, 0)) == pytest.approx(0.2 * 1.25 ** 0.5, abs=1e-15)
    seg, t, d = project_point(*single_grid(pts), 0.0, 0.0)
    assert d == pytest.approx(0.4 * 1.25 ** 0.5, abs=1e-15)  # |cross| / |b - a| = 0.5 / sqrt(1.25)
    assert (seg, t) == (0, pytest.approx(0.2, abs=1e-15))


# --- the projection grid's candidate lists ------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.parametrize("name", TRACKS)
def test_candidate_lists_are_complete(tracks, name):
    """For points in random cells, the nearest segment among the cell's candidates is as near as
    the nearest of all segments, and the lowest-index nearest segment is a candidate (so the
    tie rule holds too)."""
    track = tracks[name]
    rng = np.random.default_rng(77 + TRACKS.index(name))
    for direction in (0, 1):
        for line in LINES:
            pts, meta, start, segs = track.arrays.projection_grid(direction, line)
            x0, y0, h, nx, ny = meta
            nx, ny = int(nx), int(ny)
            nseg = len(pts) - 1
            counts = np.diff(start)
            assert len(counts) == nx * ny
            assert counts.min() >= 1  # every cell has a candidate
            assert start[-1] <= len(segs)
            lists = [segs[start[c]:start[c + 1]] for c in range(nx * ny)]
            assert all(np.all(np.diff(cand) > 0) for cand in lists)  # ascending, no repeats
            assert all(cand[0] >= 0 and cand[-1] < nseg for cand in lists)
            # 150 uniform random cells + 150 cells near the line, 4 points in each: uniform in
            # the cell and its lower-left corner (the corner farthest from the other corners)
            near = pts[rng.integers(0, len(pts), 150)] + rng.normal(0, 0.4, (150, 2))
            near_cells = cell_of(meta, near[in_grid(meta, near)])
            cells = np.concatenate([rng.integers(0, nx * ny, 150), near_cells])
            ci = cells % nx
            cj = cells // nx
            frac = rng.uniform(0, 1, (len(cells), 4, 2))
            frac[:, 0] = 0.0
            xy = (np.stack([x0 + (ci[:, None] + frac[..., 0]) * h,
                            y0 + (cj[:, None] + frac[..., 1]) * h], axis=-1)).reshape(-1, 2)
            xy = xy[in_grid(meta, xy)]
            d2 = brute_d2(pts, xy)
            for k, c in enumerate(cell_of(meta, xy)):
                cand = lists[c]
                assert d2[k, cand].min() == d2[k].min(), (direction, line, xy[k], c)
                assert np.argmin(d2[k]) in cand, (direction, line, xy[k], c)


@pytest.mark.shared_data
@pytest.mark.parametrize("name", TRACKS)
def test_candidate_lists_are_short_near_the_track(tracks, name):
    """The point of the grid: a query near the track looks at a handful of segments. A cell
    h wide lists the segments within dmin + h*sqrt(2) of its centre (h = 0.1-0.15 m: about
    0.15-0.21 m); with waypoints some 0.1-1 m apart that is a few segments per line, not the
    whole track."""
    track = tracks[name]
    centre = LineString(track.arrays.lines[0, 0])
    for direction in (0, 1):
        for line in LINES:
            pts, meta, start, _ = track.arrays.projection_grid(direction, line)
            x0, y0, h, nx, ny = meta
            c = np.arange(int(nx) * int(ny))
            cx = x0 + (c % int(nx) + 0.5) * h
            cy = y0 + (c // int(nx) + 0.5) * h
            near = shapely.distance(centre, shapely.points(cx, cy)) <= 0.5
            counts = np.diff(start)[near]
            assert near.sum() > 200  # the track really crosses the grid
            assert counts.mean() < 12, (direction, line, counts.mean())
            assert counts.max() < 25, (direction, line, counts.max())
            if track.is_loop:  # 118+ segments: far fewer than a full scan
                assert counts.mean() < (len(pts) - 1) / 8


# --- find_prev_next ----------------------------------------------------------------------------


def bisect_prev_next(ndists: list[float], ndist: float) -> tuple[int, int]:
    """spec §1.3 (simapp ``find_prev_next``)."""
    nxt = bisect.bisect_right(ndists, ndist)
    prv = nxt - 1
    if prv == -1:
        prv = len(ndists) - 1
    if nxt == len(ndists):
        nxt = 0
    return prv, nxt


def test_find_prev_next_by_hand():
    nd = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    # bisect_right: 0.0 -> 1; 0.25 -> 2; 0.3 -> 2; 0.99 -> 4; 1.0 -> 5 == N -> next 0
    assert tuple(find_prev_next(nd, 0.0)) == (0, 1)
    assert tuple(find_prev_next(nd, 0.25)) == (1, 2)
    assert tuple(find_prev_next(nd, 0.3)) == (1, 2)
    assert tuple(find_prev_next(nd, 0.99)) == (3, 4)
    assert tuple(find_prev_next(nd, 1.0)) == (4, 0)
    # below the first entry: bisect_right -> 0, prev -1 -> N-1
    assert tuple(find_prev_next(nd, -0.01)) == (4, 0)
    # repeated values (a duplicated waypoint): bisect_right skips past all of them
    nd = np.array([0.0, 0.2, 0.2, 0.6, 1.0])
    assert tuple(find_prev_next(nd, 0.2)) == (2, 3)
    assert tuple(find_prev_next(nd, 0.19)) == (0, 1)


def shapely_ndists(centre: np.ndarray, is_loop: bool) -> list[float]:
    """``[line.project(Point(p), normalized=True) for p in coords[:-1]] + [1.0]`` (spec §1.3)."""
    geom = shapely_line(centre, is_loop)
    coords = list(geom.coords)
    return [geom.project(Point(p), normalized=True) for p in coords[:-1]] + [1.0]


@pytest.mark.shared_data
@pytest.mark.parametrize("name", TRACKS)
@pytest.mark.parametrize("direction", [0, 1])
def test_track_ndists_match_shapely(tracks, name, direction):
    track = tracks[name]
    centre = np.ascontiguousarray(track.arrays.lines[direction, 0])
    expected = shapely_ndists(centre, track.is_loop)
    np.testing.assert_allclose(track.arrays.ndists[direction], expected, rtol=0, atol=1e-12)


@pytest.mark.shared_data
@pytest.mark.parametrize("name", TRACKS)
@pytest.mark.parametrize("direction", [0, 1])
def test_find_prev_next_matches_bisect(tracks, name, direction):
    track = tracks[name]
    centre = np.ascontiguousarray(track.arrays.lines[direction, 0])
    nd_list = shapely_ndists(centre, track.is_loop)
    nd = np.array(nd_list)
    rng = np.random.default_rng(11 + direction)
    values = [0.0, 1.0, *nd_list]
    values += [float(np.nextafter(v, -np.inf)) for v in nd_list]
    values += [float(np.nextafter(v, np.inf)) for v in nd_list]
    values += list((nd[:-1] + nd[1:]) / 2)
    values += list(rng.uniform(0.0, 1.0, 300))
    for v in values:
        assert tuple(find_prev_next(nd, v)) == bisect_prev_next(nd_list, v), v
    # and with the track's own ndists array as the simulator uses it
    own = track.arrays.ndists[direction]
    for v in values:
        assert tuple(find_prev_next(own, v)) == bisect_prev_next(list(own), v), v


# --- point_on_road -------------------------------------------------------------------------------


def road_polygon(track: Track) -> Polygon:
    wp = track.waypoints
    if track.is_loop:
        return Polygon(wp[:, 4:6], [wp[:, 2:4]])
    # simapp's open-track road: Polygon(vstack(outer, flipud(inner)))
    return Polygon(np.vstack([wp[:, 4:6], wp[::-1, 2:4]]))


def road_test_points(track: Track, rng: np.random.Generator) -> np.ndarray:
    wp = track.waypoints
    allpts = wp.reshape(-1, 2)
    lo = allpts.min(axis=0) - 0.5
    hi = allpts.max(axis=0) + 0.5
    box = rng.uniform(lo, hi, size=(4000, 2))
    border = np.vstack([wp[:, 2:4], wp[:, 4:6]])
    near_border = border[rng.integers(0, len(border), 2000)] + rng.normal(0, 0.03, (2000, 2))
    # points exactly on the containment grid's cell lines and centres
    x0, y0, h, nx, ny = track.arrays.road_grid()[0]
    gi = rng.integers(0, int(nx), 1000)
    gj = rng.integers(0, int(ny), 1000)
    frac = rng.choice([0.0, 0.5], size=(1000, 2))
    lattice = np.column_stack([x0 + (gi + frac[:, 0]) * h, y0 + (gj + frac[:, 1]) * h])
    return np.vstack([box, near_border, lattice])


@pytest.mark.shared_data
@pytest.mark.parametrize("name", TRACKS)
def test_point_on_road_matches_shapely(tracks, name):
    track = tracks[name]
    poly = road_polygon(track)
    assert poly.is_valid
    rng = np.random.default_rng(2024 + TRACKS.index(name))
    xy = road_test_points(track, rng)
    dist_to_border = shapely.distance(poly.boundary, shapely.points(xy))
    xy = xy[dist_to_border >= 1e-9]
    expected = shapely.contains_xy(poly, xy[:, 0], xy[:, 1])
    grid = track.arrays.road_grid()
    got = np.array([point_on_road(*grid, float(x), float(y)) for x, y in xy])
    mismatch = np.flatnonzero(got != expected)
    assert mismatch.size == 0, xy[mismatch[:5]]
    assert expected.sum() > 1000  # the sample really covers the road
    assert (~expected).sum() > 1000


def test_point_on_road_hand_annulus():
    # outer square 0..4, hole 1..3 (border points are off the road: strict contains)
    outer = np.array([[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]], dtype=float)
    inner = np.array([[1, 1], [1, 3], [3, 3], [3, 1], [1, 1]], dtype=float)
    grid = build_road_grid([outer, inner], 0.3)
    cases = {(0.5, 0.5): True, (3.5, 2.0): True, (2.0, 3.9): True, (2.0, 2.0): False,
             (1.5, 2.5): False, (5.0, 5.0): False, (-1.0, 2.0): False, (4.01, 2.0): False,
             (100.0, -100.0): False}
    for (x, y), inside in cases.items():
        assert point_on_road(*grid, x, y) is inside, (x, y)


def test_signed_area_by_hand():
    # CCW 2 x 3 rectangle: +6 m^2; reversed: -6 m^2
    rect = np.array([[0, 0], [2, 0], [2, 3], [0, 3], [0, 0]], dtype=float)
    assert signed_area(rect) == 6.0
    assert signed_area(np.ascontiguousarray(rect[::-1])) == -6.0
