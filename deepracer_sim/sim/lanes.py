"""The two lanes of a track and the bot cars' lane splines, as DeepRacer's simapp builds them.

Sources: aws-deepracer-community/deepracer-simapp @ 01f5f015 (paths under ``bundle/markov/``):
the lanes are ``(inner border + centre) / 2`` and ``(outer border + centre) / 2`` row-wise
(``track_geom/track_data.py:207-218``); the bot cars drive a cubic interpolating B-spline of each
lane parameterised by centre-line distance (``track_geom/spline/track_spline.py:32-77``,
``splprep(k=3, s=0, per=is_loop)``) and change lanes on a fresh interpolating spline
(``track_geom/spline/lane_change_spline.py:41-126``). The splines are computed here with numpy
and numba (the runtime needs no scipy); the tests check them against scipy.

Arrays (index ``[direction, lane]``, direction 0 forward / 1 reversed, lane ``INNER`` / ``OUTER``):
see :class:`LaneArrays`. Spline buffers are (T, 5) float64 rows ``[t, cx, cy, dcx, dcy]``: the
knots, the coefficients and the coefficients of the derivative (degree 2 on ``t[1:-1]``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from deepracer_sim.track.geometry import _segment_nearest, find_prev_next

INNER, OUTER = 0, 1
#: ``DIST_THRESHOLD`` (``track_geom/constants.py:20``): lane-change knots this close merge, m.
DIST_THRESHOLD = 0.02


class LaneArrays(NamedTuple):
    """The inner and outer lanes of both driving directions.

    ``pts`` (2, 2, N, 2): lane polylines in driving order; ``cum`` (2, 2, N): their cumulative
    lengths, m; ``nd`` (2, 2, N): their ``TrackLine.ndists`` (normalised projection of each
    vertex, last 1.0); ``dists`` (2, 2, N): each lane vertex's centre-line distance after the
    simapp's wrap fix (``TrackSpline``'s ``lane["dists"]``), m; ``spl`` (2, 2, T, 5) the bot-car
    lane splines and ``spl_n`` (2, 2) int64 their knot counts (T = 0 when built without
    splines).
    """

    pts: np.ndarray
    cum: np.ndarray
    nd: np.ndarray
    dists: np.ndarray
    spl: np.ndarray
    spl_n: np.ndarray


@njit(cache=True)
def line_project(pts: np.ndarray, cum: np.ndarray, px: float, py: float):
    """shapely ``LineString.project`` by a scan of every segment (placement and resets only).

    Returns:
        (distance along the line m, segment, t); the lowest-index segment wins ties.
    """
    best = np.inf
    best_j = 0
    best_t = 0.0
    for j in range(pts.shape[0] - 1):
        t, d2 = _segment_nearest(px, py, pts[j, 0], pts[j, 1], pts[j + 1, 0], pts[j + 1, 1])
        if d2 < best:
            best = d2
            best_j = j
            best_t = t
    return cum[best_j] + best_t * (cum[best_j + 1] - cum[best_j]), best_j, best_t


@njit(cache=True)
def line_interpolate(pts: np.ndarray, cum: np.ndarray, dist: float):
    """shapely ``interpolate(dist)``: a negative distance counts from the end, a distance past
    either end clamps to it. Returns (x, y), m."""
    length = cum[-1]
    if dist < 0.0:
        dist = length + dist
    dist = min(max(dist, 0.0), length)
    j = int(np.searchsorted(cum, dist, side="right")) - 1
    j = min(max(j, 0), pts.shape[0] - 2)
    seg = cum[j + 1] - cum[j]
    t = (dist - cum[j]) / seg if seg > 0.0 else 0.0
    return (pts[j, 0] + t * (pts[j + 1, 0] - pts[j, 0]),
            pts[j, 1] + t * (pts[j + 1, 1] - pts[j, 1]))


@njit(cache=True)
def line_pose(pts: np.ndarray, cum: np.ndarray, nd: np.ndarray, dist: float, forward: bool):
    """``TrackLine.interpolate_pose(dist)`` (``track_data.py:56-83``): the position of
    :func:`line_interpolate`; yaw towards the next waypoint (FORWARD_DIFFERENCE) or from the
    previous to the next (CENTRAL_DIFFERENCE). Returns (x, y, yaw rad)."""
    x, y = line_interpolate(pts, cum, dist)
    prv, nxt = find_prev_next(nd, dist / cum[-1])
    if forward:
        yaw = math.atan2(pts[nxt, 1] - y, pts[nxt, 0] - x)
    else:
        yaw = math.atan2(pts[nxt, 1] - pts[prv, 1], pts[nxt, 0] - pts[prv, 0])
    return x, y, yaw


@njit(cache=True, inline="always")
def _basis3(t: np.ndarray, k: int, x: float):
    """The 4 cubic B-spline basis values nonzero on span k at x (B_{k-3} .. B_k), Cox-de Boor."""
    l1 = x - t[k]
    l2 = x - t[k - 1]
    l3 = x - t[k - 2]
    r1 = t[k + 1] - x
    r2 = t[k + 2] - x
    r3 = t[k + 3] - x
    tmp = 1.0 / (r1 + l1)
    n0 = r1 * tmp
    n1 = l1 * tmp
    tmp = n0 / (r1 + l2)
    m0 = r1 * tmp
    saved = l2 * tmp
    tmp = n1 / (r2 + l1)
    m1 = saved + r2 * tmp
    m2 = l1 * tmp
    tmp = m0 / (r1 + l3)
    b0 = r1 * tmp
    saved = l3 * tmp
    tmp = m1 / (r2 + l2)
    b1 = saved + r2 * tmp
    saved = l2 * tmp
    tmp = m2 / (r3 + l1)
    b2 = saved + r3 * tmp
    b3 = l1 * tmp
    return b0, b1, b2, b3


@njit(cache=True, inline="always")
def _bisect(a: np.ndarray, x: float, right: bool) -> int:
    """Python's ``bisect.bisect_left`` / ``bisect_right``."""
    lo = 0
    hi = a.shape[0]
    while lo < hi:
        mid = (lo + hi) // 2
        if right:
            if x < a[mid]:
                hi = mid
            else:
                lo = mid + 1
        elif a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _deboor3(t: np.ndarray, k: int, x: float, c: np.ndarray, col: int):
    """Cubic de Boor recursion on span k (t[k] <= x < t[k+1]) of two coordinates at once:
    coefficients ``c[k-3..k, col]`` and ``c[k-3..k, col + 1]`` (the weights depend on the knots
    only, so they are computed once). Returns (value of col, value of col + 1)."""
    a0 = (x - t[k]) / (t[k + 3] - t[k])
    a1 = (x - t[k - 1]) / (t[k + 2] - t[k - 1])
    a2 = (x - t[k - 2]) / (t[k + 1] - t[k - 2])
    a3 = (x - t[k]) / (t[k + 2] - t[k])
    a4 = (x - t[k - 1]) / (t[k + 1] - t[k - 1])
    a5 = (x - t[k]) / (t[k + 1] - t[k])
    return (_deboor3_1(c[k - 3, col], c[k - 2, col], c[k - 1, col], c[k, col],
                       a0, a1, a2, a3, a4, a5),
            _deboor3_1(c[k - 3, col + 1], c[k - 2, col + 1], c[k - 1, col + 1], c[k, col + 1],
                       a0, a1, a2, a3, a4, a5))


@njit(cache=True, inline="always")
def _deboor3_1(d0: float, d1: float, d2: float, d3: float, a0: float, a1: float, a2: float,
               a3: float, a4: float, a5: float) -> float:
    """One coordinate of :func:`_deboor3` with its weights."""
    d3 = (1.0 - a0) * d2 + a0 * d3
    d2 = (1.0 - a1) * d1 + a1 * d2
    d1 = (1.0 - a2) * d0 + a2 * d1
    d3 = (1.0 - a3) * d2 + a3 * d3
    d2 = (1.0 - a4) * d1 + a4 * d2
    return (1.0 - a5) * d2 + a5 * d3


@njit(cache=True, inline="always")
def _deboor2(t: np.ndarray, k: int, x: float, c: np.ndarray, col: int):
    """The derivative spline (degree 2 on t[1:-1]) on the same span, coefficients
    ``c[k-3..k-1, col]`` and ``c[k-3..k-1, col + 1]``. Returns the two values."""
    a0 = (x - t[k]) / (t[k + 2] - t[k])
    a1 = (x - t[k - 1]) / (t[k + 1] - t[k - 1])
    a2 = (x - t[k]) / (t[k + 1] - t[k])
    return (_deboor2_1(c[k - 3, col], c[k - 2, col], c[k - 1, col], a0, a1, a2),
            _deboor2_1(c[k - 3, col + 1], c[k - 2, col + 1], c[k - 1, col + 1], a0, a1, a2))


@njit(cache=True, inline="always")
def _deboor2_1(e0: float, e1: float, e2: float, a0: float, a1: float, a2: float) -> float:
    """One coordinate of :func:`_deboor2` with its weights."""
    e2 = (1.0 - a0) * e1 + a0 * e2
    e1 = (1.0 - a1) * e0 + a1 * e1
    return (1.0 - a2) * e1 + a2 * e2


@njit(cache=True)
def lane_point(spl: np.ndarray, n: int, length: float, dist: float):
    """Position and tangent of a lane spline at centre-line distance ``dist`` (m).

    The simapp's ``AbstractSpline.eval_spline`` (``abstract_spline.py:60-75``): ``dist`` below
    the domain [t[3], t[n-4]] gets one track length added, above it one subtracted, then it is
    clamped; value and first derivative as ``scipy.interpolate.spalde``.

    Returns:
        (x, y, dx/du, dy/du).
    """
    t = spl[:, 0]
    dist = into_domain(dist, t[3], t[n - 4], length)
    k = _span(t, n, dist, -1)
    x, y = _deboor3(t, k, dist, spl, 1)
    dx, dy = _deboor2(t, k, dist, spl, 3)
    return x, y, dx, dy


@njit(cache=True, inline="always")
def _span(t: np.ndarray, n: int, u: float, hint: int) -> int:
    """The knot span of ``u``: ``bisect_right(t[:n], u) - 1`` (t[k] <= u < t[k + 1]) clamped to
    [3, n - 5], searched from ``hint`` (a span at or before it, -1: none) when given."""
    k = hint
    if not (3 <= k <= n - 5 and t[k] <= u):
        k = _bisect(t[:n], u, True) - 1
    else:
        while k + 1 < n and t[k + 1] <= u:
            k += 1
    return min(max(k, 3), n - 5)


#: A spline's piece on one knot span as cubics, (N_PIECE,) float64: the span [a, b) of the
#: parameter, the domain [lo, hi] of the whole spline, the span index, then x(u) and y(u) as
#: c0 + c1 s + c2 s^2 + c3 s^3 with s = u - a.
PC_A, PC_B, PC_LO, PC_HI, PC_SPAN, PC_X, PC_Y = 0, 1, 2, 3, 4, 5, 9
N_PIECE = 13


@njit(cache=True, inline="always")
def into_domain(dist: float, lo: float, hi: float, length: float) -> float:
    """``dist`` moved into a spline's domain [lo, hi] as :func:`lane_point` does (one lap added
    below it, one subtracted above it, then clamped)."""
    if dist < lo:
        dist += length
    if dist > hi:
        dist -= length
    return min(max(dist, lo), hi)


@njit(cache=True)
def fill_piece(spl: np.ndarray, n: int, u: float, lo: float, hi: float, hint: int,
               piece: np.ndarray) -> None:
    """The cubic piece of a spline on the knot span of ``u`` (already in the spline's domain
    [lo, hi] = [t[3], t[n - 4]], :func:`into_domain`) into ``piece`` (N_PIECE,): value and
    first derivative at both span ends by de Boor's recursion (scipy's ``spalde``), then the
    Hermite cubic through them, which is the spline's piece itself (to rounding). The span is
    :func:`lane_point`'s (``hint``: a span to search from, -1 none)."""
    t = spl[:, 0]
    k = _span(t, n, u, hint)
    a = t[k]
    b = t[k + 1]
    h = b - a
    xa, ya = _deboor3(t, k, a, spl, 1)
    xb, yb = _deboor3(t, k, b, spl, 1)
    ma_x, ma_y = _deboor2(t, k, a, spl, 3)
    mb_x, mb_y = _deboor2(t, k, b, spl, 3)
    piece[PC_A] = a
    piece[PC_B] = b
    piece[PC_LO] = lo
    piece[PC_HI] = hi
    piece[PC_SPAN] = k
    _hermite(piece, PC_X, xa, xb, ma_x, mb_x, h)
    _hermite(piece, PC_Y, ya, yb, ma_y, mb_y, h)


@njit(cache=True, inline="always")
def _hermite(piece: np.ndarray, base: int, v0: float, v1: float, m0: float, m1: float,
             h: float) -> None:
    """The power-basis cubic (in s = u - a) with values v0, v1 and slopes m0, m1 at s = 0, h."""
    piece[base] = v0
    piece[base + 1] = m0
    piece[base + 2] = (3.0 * (v1 - v0) / h - 2.0 * m0 - m1) / h
    piece[base + 3] = (2.0 * (v0 - v1) / h + m0 + m1) / (h * h)


@njit(cache=True, inline="always")
def piece_point(piece: np.ndarray, u: float):
    """Position and tangent of a cubic piece at ``u`` (m): (x, y, dx/du, dy/du)."""
    s = u - piece[PC_A]
    cx = piece[PC_X:PC_X + 4]
    cy = piece[PC_Y:PC_Y + 4]
    x = cx[0] + s * (cx[1] + s * (cx[2] + s * cx[3]))
    y = cy[0] + s * (cy[1] + s * (cy[2] + s * cy[3]))
    dx = cx[1] + s * (2.0 * cx[2] + 3.0 * s * cx[3])
    dy = cy[1] + s * (2.0 * cy[2] + 3.0 * s * cy[3])
    return x, y, dx, dy


@njit(cache=True)
def _derivative_rows(out: np.ndarray, ncoef: int) -> None:
    """Fill the derivative columns: 3 (c[i+1] - c[i]) / (t[i+4] - t[i+1])."""
    t = out[:, 0]
    for i in range(ncoef - 1):
        den = t[i + 4] - t[i + 1]
        out[i, 3] = 3.0 * (out[i + 1, 1] - out[i, 1]) / den
        out[i, 4] = 3.0 * (out[i + 1, 2] - out[i, 2]) / den


@njit(cache=True)
def interpolating_spline(u: np.ndarray, x: np.ndarray, y: np.ndarray, out: np.ndarray) -> int:
    """``splprep([x, y], u=u, k=3, s=0)`` (not periodic): the cubic interpolating B-spline with
    not-a-knot ends (knots ``[u0]*4 + u[2:-2] + [u_last]*4``), written as spline rows.

    Args:
        u: (m,) strictly increasing parameters, m >= 4; x, y: (m,) points.
        out: (>= m + 4, 5) spline rows.

    Returns:
        the number of knots m + 4 (0 when m < 4 or ``out`` is too small).
    """
    m = u.shape[0]
    return solve_interpolating_spline(u, x, y, m, out, np.empty((SPLINE_WORK, max(m, 1))))


#: Rows of :func:`solve_interpolating_spline`'s work buffer: the band's 7 diagonals, the two
#: right-hand sides and the pivots' inverses.
SPLINE_WORK = 10


@njit(cache=True)
def solve_interpolating_spline(u: np.ndarray, x: np.ndarray, y: np.ndarray, m: int,
                               out: np.ndarray, work: np.ndarray) -> int:
    """:func:`interpolating_spline` of ``u[:m], x[:m], y[:m]`` with a caller's work buffer
    (``work`` (SPLINE_WORK, >= m) float64, C order), so a per-step caller allocates nothing.

    The collocation matrix is banded and totally positive: banded Gaussian elimination without
    pivoting solves it (de Boor, *A Practical Guide to Splines*, SPLINT). The knot span of
    ``u[i]`` is known from the not-a-knot knot vector (3 for i < 2, i + 2 up to m - 3, then
    m - 1): the span a search of the knots finds.

    Returns:
        the number of knots m + 4 (0 when m < 4, a buffer is too small or the system is
        singular).
    """
    if m < 4 or out.shape[0] < m + 4 or work.shape[1] < m:
        return 0
    nk = m + 4
    out[:nk, :] = 0.0
    t = out[:, 0]
    for j in range(4):
        t[j] = u[0]
        t[nk - 1 - j] = u[m - 1]
    for j in range(2, m - 2):
        t[j + 2] = u[j]
    band = work[0:7]  # band[c, i]: row i, column i + c - 3
    rx = work[7]
    ry = work[8]
    inv = work[9]
    for i in range(m):
        k = 3 if i < 2 else (i + 2 if i <= m - 3 else m - 1)
        b0, b1, b2, b3 = _basis3(t, k, u[i])
        c0 = k - i
        for c in range(7):
            band[c, i] = 0.0
        band[c0, i] = b0
        band[c0 + 1, i] = b1
        band[c0 + 2, i] = b2
        band[c0 + 3, i] = b3
        rx[i] = x[i]
        ry[i] = y[i]
    for col in range(m):
        piv = band[3, col]
        if piv == 0.0:
            return 0
        ip = 1.0 / piv
        inv[col] = ip
        for r in range(col + 1, min(col + 4, m)):
            below = band[col - r + 3, r]
            if below != 0.0:
                f = below * ip
                for c in range(col, min(col + 4, m)):
                    band[c - r + 3, r] -= f * band[c - col + 3, col]
                rx[r] -= f * rx[col]
                ry[r] -= f * ry[col]
    for col in range(m - 1, -1, -1):
        vx = rx[col]
        vy = ry[col]
        for c in range(col + 1, min(col + 4, m)):
            b = band[c - col + 3, col]
            vx -= b * out[c, 1]
            vy -= b * out[c, 2]
        out[col, 1] = vx * inv[col]
        out[col, 2] = vy * inv[col]
    _derivative_rows(out, m)
    return nk


def periodic_spline(u: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """``splprep(xy.T, u=u, k=3, s=0, per=1)``: the periodic cubic interpolating B-spline
    (knots at every ``u``, extended by one period on each side), as spline rows.

    Args:
        u: (m,) strictly increasing, m >= 5; xy: (m, 2) with ``xy[-1] == xy[0]``.

    Returns:
        (m + 6, 5) float64 spline rows (m + 2 coefficients, the last 3 repeating the first 3).
    """
    m = len(u)
    period = u[-1] - u[0]
    t = np.concatenate([u[m - 4:m - 1] - period, u, u[1:4] + period])
    nk = m + 6
    nc = m - 1  # unique coefficients: c[j + m - 1] = c[j]
    a = np.zeros((nc, nc))
    for i in range(nc):
        k = i + 3  # span [t[k], t[k+1]) = [u[i], u[i+1])
        basis = _basis3(t, k, u[i])
        for q in range(4):
            a[i, (k - 3 + q) % nc] += basis[q]
    coef = np.linalg.solve(a, xy[:nc])
    out = np.zeros((nk, 5))
    out[:, 0] = t
    out[:m + 2, 1:3] = coef[np.arange(m + 2) % nc]
    _derivative_rows(out, m + 2)
    return out


def _ndists(pts: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """``TrackLine.ndists``: normalised projection of each vertex but the last, then 1.0."""
    out = np.empty(len(pts))
    for j in range(len(pts) - 1):
        out[j] = line_project(pts, cum, pts[j, 0], pts[j, 1])[0] / cum[-1]
    out[-1] = 1.0
    return out


def _lane_spline(p: np.ndarray, c: np.ndarray, centre: np.ndarray, ccum: np.ndarray,
                 u: np.ndarray, is_loop: bool) -> np.ndarray:
    """``TrackSpline._build_spline`` of one lane: ``np.unique`` on u, the first (last) knot
    replaced by the lane point nearest the centre line's first (last) vertex at u = 0 (L)."""
    length = ccum[-1]
    uu, ui = np.unique(u, return_index=True)
    xy = p[ui].copy()
    if uu[0] > 0.0:
        xy[0] = line_interpolate(p, c, line_project(p, c, centre[0, 0], centre[0, 1])[0])
        uu[0] = 0.0
    if uu[-1] < length:
        xy[-1] = line_interpolate(p, c, line_project(p, c, centre[-1, 0], centre[-1, 1])[0])
        uu[-1] = length
    if is_loop:
        xy[-1] = xy[0]
        return periodic_spline(uu, xy)
    out = np.zeros((len(uu) + 4, 5))
    interpolating_spline(uu, xy[:, 0].copy(), xy[:, 1].copy(), out)
    return out


def build_lanes(lines: np.ndarray, is_loop: bool, splines: bool) -> LaneArrays:
    """The lanes of a track (setup, not per step).

    Args:
        lines: (2, 3, N, 2) the track's ``arrays.lines``.
        is_loop: the track is a loop.
        splines: also build the bot cars' lane splines (needed only with bot cars).

    The spline parameter u of each lane vertex is its projection on the centre line; leading
    vertices past half a lap get -L and trailing ones before half a lap +L
    (``TrackSpline._build_spline``).
    """
    n = lines.shape[2]
    pts = np.empty((2, 2, n, 2))
    cum = np.empty((2, 2, n))
    nd = np.empty((2, 2, n))
    dists = np.empty((2, 2, n))
    built = {}
    for d in range(2):
        centre = np.ascontiguousarray(lines[d, 0])
        ccum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(centre, axis=0).T))])
        length = ccum[-1]
        for lane in (INNER, OUTER):
            p = np.ascontiguousarray((lines[d, 1 + lane] + centre) / 2.0)
            c = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(p, axis=0).T))])
            pts[d, lane], cum[d, lane] = p, c
            nd[d, lane] = _ndists(p, c)
            u = np.array([line_project(centre, ccum, x, y)[0] for x, y in p])
            for j in range(len(u)):
                if u[j] < 0.5 * length:
                    break
                u[j] -= length
            for j in range(len(u) - 1, 0, -1):
                if u[j] > 0.5 * length:
                    break
                u[j] += length
            dists[d, lane] = u
            if splines:
                built[d, lane] = _lane_spline(p, c, centre, ccum, u, is_loop)
    size = max((len(s) for s in built.values()), default=0)
    spl = np.zeros((2, 2, size, 5))
    spl_n = np.zeros((2, 2), dtype=np.int64)
    for (d, lane), rows in built.items():
        spl[d, lane, :len(rows)] = rows
        spl_n[d, lane] = len(rows)
    return LaneArrays(pts, cum, nd, dists, spl, spl_n)
