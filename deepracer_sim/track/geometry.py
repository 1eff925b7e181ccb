"""Track-geometry kernels (numba): projection onto polylines, waypoint lookup, road containment.

These reproduce what the simapp computes with shapely (``bundle/markov/track_geom/track_data.py``,
spec §1.2) without a per-step scan of the whole track:

* :func:`project_point` is shapely's ``LineString.project``: the nearest point of a polyline, with
  GEOS's tie rule (the lowest-index segment wins). A precomputed grid lists, for each cell, the
  few segments that can be nearest to a point in it, so a query looks at a handful of segments.
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

#: Cell size of the projection grid, m.
PROJECTION_CELL = 0.1


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
    # GEOS's Distance::pointToSegment: |cross| / |b - a| (symmetric in a and b)
    cross = (ay - py) * dx - (ax - px) * dy
    return t, cross * cross / l2


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


@njit(cache=True)
def _build_segment_grid(lines: np.ndarray, x0: float, y0: float, h: float, nx: int, ny: int):
    """CSR candidate lists: for each polyline p and cell c, the segments that can be nearest to
    some point of the cell: those within ``dmin + h*sqrt(2)`` of the cell centre, where dmin is
    the centre's distance to the polyline (any point of the cell is within h*sqrt(2)/2 of the
    centre, so every other segment is strictly farther from it than the nearest)."""
    n_lines = lines.shape[0]
    nseg = lines.shape[1] - 1
    ncell = nx * ny
    start = np.zeros((n_lines, ncell + 1), dtype=np.int64)
    d2 = np.empty(nseg)
    slack = h * math.sqrt(2.0)
    total = 0
    for pass_ in range(2):
        if pass_ == 1:
            segs = np.empty(total, dtype=np.int64)
        pos = 0
        for p in range(n_lines):
            pts = lines[p]
            for c in range(ncell):
                cx = x0 + (c % nx + 0.5) * h
                cy = y0 + (c // nx + 0.5) * h
                dmin = np.inf
                for j in range(nseg):
                    _, dj = _segment_nearest(cx, cy, pts[j, 0], pts[j, 1], pts[j + 1, 0],
                                             pts[j + 1, 1])
                    d2[j] = dj
                    dmin = min(dmin, dj)
                limit = (math.sqrt(dmin) + slack) ** 2 * (1.0 + 1e-12) + 1e-18
                if pass_ == 0:
                    start[p, c] = total
                for j in range(nseg):
                    if d2[j] <= limit:
                        if pass_ == 1:
                            segs[pos] = j
                        pos += 1
                if pass_ == 0:
                    total = pos
            if pass_ == 0:
                start[p, ncell] = total
    return start, segs


def build_segment_grid(lines: np.ndarray, cell: float = PROJECTION_CELL, margin: float = 1.0):
    """Precompute the projection grid of several polylines with the same number of vertices.

    Args:
        lines: (P, N, 2) float64 polylines.
        cell: cell size, m; margin: extra border around the polylines' bounding box, m
            (points outside the grid fall back to a full scan).

    Returns:
        (meta, start, segs): ``meta`` [x0, y0, h, nx, ny] float64; ``start`` (P, nx*ny+1)
        int64 offsets into ``segs`` (int64 segment indices, ascending within a cell).
    """
    pts = lines.reshape(-1, 2)
    x0 = float(pts[:, 0].min()) - margin
    y0 = float(pts[:, 1].min()) - margin
    nx = math.ceil((pts[:, 0].max() + margin - x0) / cell)
    ny = math.ceil((pts[:, 1].max() + margin - y0) / cell)
    start, segs = _build_segment_grid(np.ascontiguousarray(lines), x0, y0, cell, nx, ny)
    return np.array([x0, y0, cell, nx, ny], dtype=np.float64), start, segs


@njit(cache=True)
def project_point(pts: np.ndarray, meta: np.ndarray, start: np.ndarray, segs: np.ndarray,
                  px: float, py: float):
    """Nearest point of a polyline to (px, py), as shapely's ``project``.

    Exact: the grid cell's candidate list contains every segment that can be nearest, and the
    lowest-index segment wins ties (GEOS's rule); outside the grid every segment is scanned.

    Args:
        pts: (N, 2) float64 polyline vertices (for a loop the last row equals the first).
        meta, start, segs: this polyline's grid from :func:`build_segment_grid` (``start`` is
            its (ncells+1,) row).
        px, py: the point, m.

    Returns:
        (segment index, projection factor t in [0, 1], distance in m).
    """
    h = meta[2]
    nx = int(meta[3])
    fi = (px - meta[0]) / h
    fj = (py - meta[1]) / h
    if not (0.0 <= fi < nx and 0.0 <= fj < meta[4]):
        j, t, d2 = _full_scan(pts, px, py)
        return j, t, math.sqrt(d2)
    c = int(fj) * nx + int(fi)
    best_j = 0
    best_t = 0.0
    best_d2 = np.inf
    for k in range(start[c], start[c + 1]):
        j = segs[k]
        t, d2 = _segment_nearest(px, py, pts[j, 0], pts[j, 1], pts[j + 1, 0], pts[j + 1, 1])
        if d2 < best_d2:
            best_d2 = d2
            best_j = j
            best_t = t
    return best_j, best_t, math.sqrt(best_d2)


@njit(cache=True, inline="always")
def find_prev_next(ndists: np.ndarray, ndist: float):
    """The simapp's ``find_prev_next``: (prev, next) waypoint indices around ``ndist``.

    ``ndists`` is the (N,) list of normalised projections of the waypoints with a final 1.0
    (``TrackLine.ndists``); ``next = bisect_right(ndists, ndist)``, ``prev = next - 1``, with
    ``prev == -1 -> N-1`` and ``next == N -> 0``.
    """
    n = ndists.shape[0]
    nxt = int(np.searchsorted(ndists, ndist, side="right"))
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
    inside = centre_inside[c] != 0
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


@njit(cache=True)
def first_crossing(a: np.ndarray, b: np.ndarray) -> int:
    """Index of the first segment of polyline ``a`` that crosses or touches a segment of polyline
    ``b`` (closed-segment intersection, collinear overlaps included), or -1.

    Args:
        a, b: (N, 2) and (M, 2) float64 polylines.
    """
    for i in range(a.shape[0] - 1):
        ax0, ay0, ax1, ay1 = a[i, 0], a[i, 1], a[i + 1, 0], a[i + 1, 1]
        for j in range(b.shape[0] - 1):
            bx0, by0, bx1, by1 = b[j, 0], b[j, 1], b[j + 1, 0], b[j + 1, 1]
            if (max(ax0, ax1) < min(bx0, bx1) or max(bx0, bx1) < min(ax0, ax1)
                    or max(ay0, ay1) < min(by0, by1) or max(by0, by1) < min(ay0, ay1)):
                continue
            d1 = (ax1 - ax0) * (by0 - ay0) - (ay1 - ay0) * (bx0 - ax0)
            d2 = (ax1 - ax0) * (by1 - ay0) - (ay1 - ay0) * (bx1 - ax0)
            d3 = (bx1 - bx0) * (ay0 - by0) - (by1 - by0) * (ax0 - bx0)
            d4 = (bx1 - bx0) * (ay1 - by0) - (by1 - by0) * (ax1 - bx0)
            if ((d1 > 0.0 and d2 > 0.0) or (d1 < 0.0 and d2 < 0.0)
                    or (d3 > 0.0 and d4 > 0.0) or (d3 < 0.0 and d4 < 0.0)):
                continue
            return i  # the bounding boxes overlap and neither segment is strictly on one side
    return -1
