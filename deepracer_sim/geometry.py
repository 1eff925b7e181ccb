"""Track-geometry kernels (numba): projection onto polylines, waypoint lookup, road containment.

These reproduce what the simapp computes with shapely (``bundle/markov/track_geom/track_data.py``,
spec §1.2) without a per-step scan of the whole track:

* :func:`project_point` is shapely's ``LineString.project``: the distance along a polyline of the
  nearest point, with GEOS's tie rule (the lowest-index segment wins). It searches a window of
  segments around a hint (the previous step's segment) and proves the window result global with a
  precomputed per-segment clearance; only when that proof fails does it scan every segment.
* :func:`find_prev_next` is the simapp's ``find_prev_next`` (``bisect.bisect_right`` on the
  waypoints' normalised projections).
* :func:`point_on_road` is ``road_poly.contains(point)`` for ``Polygon(outer, [inner])``, answered
  from a uniform grid: cells the border does not cross are wholly inside or outside; in a crossed
  cell the answer is the cell centre's status flipped by the parity of border crossings between
  the centre and the point.

All coordinates are metres, float64.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Segments searched on each side of the hint segment.
WINDOW = 10
#: Neighbours (in segments) excluded from a segment's clearance; a window result is accepted as
#: global when the best segment lies within ``WINDOW - CLEARANCE_SKIP`` of the hint.
CLEARANCE_SKIP = 5


@njit(cache=True, inline="always")
def _segment_nearest(px: float, py: float, ax: float, ay: float, bx: float, by: float):
    """Projection factor t in [0, 1] and squared distance from p to segment a-b."""
    dx = bx - ax
    dy = by - ay
    l2 = dx * dx + dy * dy
    if l2 == 0.0:
        return 0.0, (px - ax) ** 2 + (py - ay) ** 2
    t = ((px - ax) * dx + (py - ay) * dy) / l2
    if t <= 0.0:
        return 0.0, (px - ax) ** 2 + (py - ay) ** 2
    if t >= 1.0:
        return 1.0, (px - bx) ** 2 + (py - by) ** 2
    qx = ax + t * dx
    qy = ay + t * dy
    return t, (px - qx) ** 2 + (py - qy) ** 2


@njit(cache=True)
def _full_scan(pts: np.ndarray, px: float, py: float):
    best_j = 0
    best_t = 0.0
    best_d2 = np.inf
    for j in range(pts.shape[0] - 1):
        t, d2 = _segment_nearest(px, py, pts[j, 0], pts[j, 1], pts[j + 1, 0], pts[j + 1, 1])
        if d2 < best_d2:
            best_d2 = d2
            best_j = j
            best_t = t
    return best_j, best_t, best_d2


@njit(cache=True, inline="always")
def _index_gap(a: int, b: int, nseg: int, is_loop: bool) -> int:
    g = abs(a - b)
    if is_loop and nseg - g < g:
        g = nseg - g
    return g


@njit(cache=True)
def project_point(pts: np.ndarray, clearance: np.ndarray, is_loop: bool, px: float, py: float,
                  hint: int):
    """Nearest point of a polyline to (px, py), as shapely's ``project``.

    Args:
        pts: (N, 2) float64 polyline vertices (for a loop the last row equals the first).
        clearance: (N-1,) float64 from :func:`segment_clearance` for ``pts``.
        is_loop: whether the polyline is closed.
        px, py: the point, m.
        hint: segment index to search around (the previous answer); -1 forces a full scan.

    Returns:
        (segment index, projection factor t in [0, 1], distance in m).
    """
    nseg = pts.shape[0] - 1
    if hint < 0 or hint >= nseg:
        j, t, d2 = _full_scan(pts, px, py)
        return j, t, math.sqrt(d2)
    best_j = -1
    best_t = 0.0
    best_d2 = np.inf
    for k in range(-WINDOW, WINDOW + 1):
        j = hint + k
        if is_loop:
            j %= nseg
        elif j < 0 or j >= nseg:
            continue
        t, d2 = _segment_nearest(px, py, pts[j, 0], pts[j, 1], pts[j + 1, 0], pts[j + 1, 1])
        if d2 < best_d2 or (d2 == best_d2 and j < best_j):
            best_d2 = d2
            best_j = j
            best_t = t
    d = math.sqrt(best_d2)
    # Every segment outside the window is at least clearance[best_j] from segment best_j, so it is
    # at least clearance - d from the point: the window minimum is global if d < clearance / 2.
    window_ok = (nseg <= 2 * WINDOW + 1) or (
        _index_gap(best_j, hint, nseg, is_loop) <= WINDOW - CLEARANCE_SKIP
        and 2.0 * d < clearance[best_j]
    )
    if window_ok:
        return best_j, best_t, d
    j, t, d2 = _full_scan(pts, px, py)
    return j, t, math.sqrt(d2)


@njit(cache=True)
def _segment_distance(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> float:
    """Distance between segments a-b and c-d (exact unless they intersect, then <= true)."""
    best = np.inf
    for p, q0, q1 in ((a, c, d), (b, c, d), (c, a, b), (d, a, b)):
        _, d2 = _segment_nearest(p[0], p[1], q0[0], q0[1], q1[0], q1[1])
        best = min(best, d2)
    # proper crossing test
    d1 = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
    d2_ = (b[0] - a[0]) * (d[1] - a[1]) - (b[1] - a[1]) * (d[0] - a[0])
    d3 = (d[0] - c[0]) * (a[1] - c[1]) - (d[1] - c[1]) * (a[0] - c[0])
    d4 = (d[0] - c[0]) * (b[1] - c[1]) - (d[1] - c[1]) * (b[0] - c[0])
    if d1 * d2_ < 0.0 and d3 * d4 < 0.0:
        return 0.0
    return math.sqrt(best)


@njit(cache=True)
def segment_clearance(pts: np.ndarray, is_loop: bool) -> np.ndarray:
    """For each segment, the distance to the nearest segment more than CLEARANCE_SKIP away.

    Args:
        pts: (N, 2) float64 polyline.
        is_loop: whether index distance wraps around.

    Returns:
        (N-1,) float64 clearance in m (inf when no such segment exists).
    """
    nseg = pts.shape[0] - 1
    out = np.full(nseg, np.inf)
    for i in range(nseg):
        for j in range(i + 1, nseg):
            if _index_gap(i, j, nseg, is_loop) <= CLEARANCE_SKIP:
                continue
            dist = _segment_distance(pts[i], pts[i + 1], pts[j], pts[j + 1])
            if dist < out[i]:
                out[i] = dist
            if dist < out[j]:
                out[j] = dist
    return out


@njit(cache=True, inline="always")
def find_prev_next(ndists: np.ndarray, ndist: float):
    """The simapp's ``find_prev_next``: (prev, next) waypoint indices around ``ndist``.

    ``ndists`` is the (N,) list of normalised projections of the waypoints with a final 1.0
    (``TrackLine.ndists``); ``next = bisect_right(ndists, ndist)``, ``prev = next - 1``, with
    ``prev == -1 -> N-1`` and ``next == N -> 0``.
    """
    n = ndists.shape[0]
    nxt = np.searchsorted(ndists, ndist, side="right")
    prv = nxt - 1
    if prv == -1:
        prv = n - 1
    if nxt == n:
        nxt = 0
    return prv, nxt


# --- road containment ---------------------------------------------------------------------


@njit(cache=True, inline="always")
def _crosses(px: float, py: float, qx: float, qy: float, e: np.ndarray) -> bool:
    """Whether segment p-q properly crosses edge e = (x0, y0, x1, y1) (half-open rule)."""
    ax, ay, bx, by = e[0], e[1], e[2], e[3]
    o1 = (bx - ax) * (py - ay) - (by - ay) * (px - ax)
    o2 = (bx - ax) * (qy - ay) - (by - ay) * (qx - ax)
    if (o1 > 0.0) == (o2 > 0.0):
        return False
    o3 = (qx - px) * (ay - py) - (qy - py) * (ax - px)
    o4 = (qx - px) * (by - py) - (qy - py) * (bx - px)
    return (o3 > 0.0) != (o4 > 0.0)


@njit(cache=True)
def _ray_inside(edges: np.ndarray, px: float, py: float) -> bool:
    """Even-odd rule over all edges (a horizontal ray to +x)."""
    inside = False
    for k in range(edges.shape[0]):
        x0, y0, x1, y1 = edges[k, 0], edges[k, 1], edges[k, 2], edges[k, 3]
        if (y0 > py) != (y1 > py):
            xc = x0 + (py - y0) * (x1 - x0) / (y1 - y0)
            if xc > px:
                inside = not inside
    return inside


@njit(cache=True)
def _build_grid(edges: np.ndarray, x0: float, y0: float, h: float, nx: int, ny: int):
    counts = np.zeros(nx * ny + 1, dtype=np.int64)
    for pass_ in range(2):
        if pass_ == 1:
            for c in range(nx * ny):
                counts[c + 1] += counts[c]
            fill = counts[:-1].copy()
            cell_edges = np.empty(counts[-1], dtype=np.int64)
        for k in range(edges.shape[0]):
            ex0 = min(edges[k, 0], edges[k, 2])
            ex1 = max(edges[k, 0], edges[k, 2])
            ey0 = min(edges[k, 1], edges[k, 3])
            ey1 = max(edges[k, 1], edges[k, 3])
            i0 = max(int((ex0 - x0) / h) - 1, 0)
            i1 = min(int((ex1 - x0) / h) + 1, nx - 1)
            j0 = max(int((ey0 - y0) / h) - 1, 0)
            j1 = min(int((ey1 - y0) / h) + 1, ny - 1)
            for j in range(j0, j1 + 1):
                for i in range(i0, i1 + 1):
                    c = j * nx + i
                    if pass_ == 0:
                        counts[c + 1] += 1
                    else:
                        cell_edges[fill[c]] = k
                        fill[c] += 1
    centre_inside = np.zeros(nx * ny, dtype=np.bool_)
    for j in range(ny):
        for i in range(nx):
            centre_inside[j * nx + i] = _ray_inside(edges, x0 + (i + 0.5) * h, y0 + (j + 0.5) * h)
    return counts, cell_edges, centre_inside


def build_road_grid(rings: list[np.ndarray], cell: float = 0.1):
    """Precompute the containment grid of the region bounded by ``rings`` (even-odd rule).

    Args:
        rings: closed (M, 2) float64 rings (last row == first row), e.g. [outer, inner].
        cell: grid cell size in m.

    Returns:
        (meta, edges, cell_start, cell_edges, centre_inside): ``meta`` = [x0, y0, h, nx, ny]
        float64; ``edges`` (E, 4) float64; CSR cell -> edge lists (int64); (nx*ny,) bool.
    """
    edges = np.concatenate(
        [np.hstack([r[:-1], r[1:]]) for r in rings if len(r) > 1], axis=0
    ).astype(np.float64)
    pts = np.concatenate(rings, axis=0)
    x0 = float(pts[:, 0].min()) - 2 * cell
    y0 = float(pts[:, 1].min()) - 2 * cell
    nx = math.ceil((pts[:, 0].max() - x0) / cell) + 3
    ny = math.ceil((pts[:, 1].max() - y0) / cell) + 3
    counts, cell_edges, centre_inside = _build_grid(edges, x0, y0, cell, nx, ny)
    meta = np.array([x0, y0, cell, nx, ny], dtype=np.float64)
    return meta, edges, counts, cell_edges, centre_inside


@njit(cache=True)
def point_on_road(meta: np.ndarray, edges: np.ndarray, cell_start: np.ndarray,
                  cell_edges: np.ndarray, centre_inside: np.ndarray, px: float,
                  py: float) -> bool:
    """``road_poly.contains(Point(px, py))`` from the grid of :func:`build_road_grid`."""
    x0, y0, h = meta[0], meta[1], meta[2]
    nx = int(meta[3])
    ny = int(meta[4])
    fi = (px - x0) / h
    fj = (py - y0) / h
    if not (0.0 <= fi < nx and 0.0 <= fj < ny):
        return False
    i = int(fi)
    j = int(fj)
    c = j * nx + i
    inside = centre_inside[c]
    cx = x0 + (i + 0.5) * h
    cy = y0 + (j + 0.5) * h
    for k in range(cell_start[c], cell_start[c + 1]):
        if _crosses(cx, cy, px, py, edges[cell_edges[k]]):
            inside = not inside
    return inside


@njit(cache=True)
def signed_area(pts: np.ndarray) -> float:
    """Shoelace area of a closed polyline, m^2 (> 0 for counter-clockwise, as ``is_ccw``)."""
    a = 0.0
    for k in range(pts.shape[0] - 1):
        a += pts[k, 0] * pts[k + 1, 1] - pts[k + 1, 0] * pts[k, 1]
    return 0.5 * a
