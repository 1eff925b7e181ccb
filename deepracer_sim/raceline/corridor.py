"""The road corridor a racing line may use: the reference points and the bounds of the offsets.

The centre line, resampled every ``spacing`` m and smoothed over ~0.3 m, is the reference
(:func:`reference`); a line is ``p_i + alpha_i * n_i`` with ``n_i`` the reference's left normal.
:meth:`Road.corridor` bounds ``alpha_i`` so that a disc of radius ``CAR_WIDTH / 2 + margin``
around the line point lies on the road (a k-d tree of the densified borders and
:func:`~deepracer_sim.track.geometry.point_on_road`): the wheel centres are ``WHEEL_RADIUS``
(0.116 m) from the car origin, so a car whose origin is within ``margin - 0.018`` m of the line
keeps all four wheels on the road in any heading.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from deepracer_sim.errors import RacelineError
from deepracer_sim.track import Track
from deepracer_sim.track.geometry import point_on_road


def _resample(points: np.ndarray, spacing: float, closed: bool) -> np.ndarray:
    """Points every ~``spacing`` m along a polyline (a loop: without the closing point),
    starting at its first point; an open line keeps its last point."""
    pts = np.asarray(points, dtype=np.float64)
    if closed:
        pts = np.vstack([pts, pts[:1]]) if np.any(pts[0] != pts[-1]) else pts
    seg = np.hypot(*np.diff(pts, axis=0).T)
    keep = np.concatenate([[True], seg > 1e-9])
    pts = pts[keep]
    cum = np.concatenate([[0.0], np.cumsum(seg[seg > 1e-9])])
    n = max(round(cum[-1] / spacing), 8)
    s = np.linspace(0.0, cum[-1], n + 1)
    out = np.column_stack([np.interp(s, cum, pts[:, 0]), np.interp(s, cum, pts[:, 1])])
    return out[:-1] if closed else out


def _normals(points: np.ndarray, closed: bool) -> np.ndarray:
    """(M, 2) unit left normals from central differences."""
    if closed:
        d = np.roll(points, -1, axis=0) - np.roll(points, 1, axis=0)
    else:
        d = np.gradient(points, axis=0)
    d /= np.hypot(d[:, 0], d[:, 1])[:, None]
    return np.column_stack([-d[:, 1], d[:, 0]])


def _border_points(track: Track, step: float = 0.01) -> np.ndarray:
    """Points every <= ``step`` m along the inner and outer borders (an open track's end caps
    are no border: the car starts and finishes across them)."""
    w = track.waypoints
    out = []
    for col in (2, 4):
        line = w[:, col:col + 2]
        a, b = line[:-1], line[1:]
        length = np.hypot(*(b - a).T)
        counts = np.maximum(np.ceil(length / step).astype(int), 1)
        idx = np.repeat(np.arange(len(a)), counts)
        frac = np.concatenate([np.arange(c) / c for c in counts])
        out.append(a[idx] + frac[:, None] * (b[idx] - a[idx]))
        out.append(line[-1:])
    return np.vstack(out)


@njit(cache=True)
def _on_road(grid_meta, edges, cell_start, cell_edges, inside, xy: np.ndarray) -> np.ndarray:
    out = np.empty(xy.shape[0], dtype=np.bool_)
    for k in range(xy.shape[0]):
        out[k] = point_on_road(grid_meta, edges, cell_start, cell_edges, inside, xy[k, 0],
                               xy[k, 1])
    return out


class Road:
    """The road of a track for clearance queries: a k-d tree of its densified border and its
    containment grid."""

    def __init__(self, track: Track) -> None:
        from scipy.spatial import cKDTree

        self.track = track
        self.tree = cKDTree(_border_points(track))
        self.grid = track.arrays.road_grid()
        w = track.waypoints
        self.max_width = float(np.max(np.hypot(*(w[:, 4:6] - w[:, 2:4]).T)))

    def clearance(self, xy: np.ndarray) -> np.ndarray:
        """Signed distance to the border, m (+ on the road), within ~0.1 mm."""
        d, _ = self.tree.query(xy)
        meta, edges, cell_start, cell_edges, inside = self.grid
        on = _on_road(meta, edges, cell_start, cell_edges, inside, np.ascontiguousarray(xy))
        return np.where(on, d, -d)

    def corridor(self, p: np.ndarray, n: np.ndarray, radius: float,
                 step: float = 0.005) -> tuple[np.ndarray, np.ndarray]:
        """Bounds (lb, ub) of alpha such that ``p + alpha n`` has clearance >= ``radius``: the
        run of such offsets (sampled every ``step`` m) nearest to alpha = 0."""
        span = 0.75 * self.max_width + 0.05
        a = np.arange(-span, span + step / 2, step)
        xy = p[:, None, :] + a[None, :, None] * n[:, None, :]
        if not self.track.is_loop:  # test the end points 1 cm inside the open track's caps
            t0 = np.array([n[0, 1], -n[0, 0]])
            t1 = np.array([n[-1, 1], -n[-1, 0]])
            xy[0] += 0.01 * t0
            xy[-1] -= 0.01 * t1
        ok = (self.clearance(xy.reshape(-1, 2)) >= radius).reshape(len(p), len(a))
        lb = np.empty(len(p))
        ub = np.empty(len(p))
        zero = len(a) // 2
        for i in range(len(p)):
            good = np.flatnonzero(ok[i])
            if len(good) == 0:
                raise RacelineError(
                    f"{self.track.name}: the road is narrower than the car plus margins "
                    f"({2 * radius:.3f} m) near ({p[i, 0]:.2f}, {p[i, 1]:.2f})")
            j = good[np.argmin(np.abs(good - zero))]
            lo = hi = j
            while lo > 0 and ok[i, lo - 1]:
                lo -= 1
            while hi < len(a) - 1 and ok[i, hi + 1]:
                hi += 1
            lb[i], ub[i] = a[lo], a[hi]
        return lb, ub



def reference(points: np.ndarray, spacing: float, closed: bool,
               smooth: float = 0.3) -> tuple[np.ndarray, np.ndarray]:
    """Reference points every ~``spacing`` m (a loop: a multiple of 3 of them, for the
    Jacobian's colouring) smoothed over ~``smooth`` m, point 0 kept; and their normals."""
    ref = _resample(points, spacing, closed)
    if closed:
        length = float(np.sum(np.hypot(*np.diff(np.vstack([ref, ref[:1]]), axis=0).T)))
        m = max(3 * round(length / spacing / 3), 9)
        ref = _resample(points, length / m * (1.0 + 1e-12), closed)[:m]
        if len(ref) < m:
            ref = _resample(points, length / m * (1.0 - 1e-9), closed)[:m]
    start = ref[0].copy()
    passes = round(2.0 * (smooth / spacing) ** 2)
    for _ in range(passes):  # binomial filter ~ a Gaussian of sigma = smooth
        if closed:
            ref = 0.25 * np.roll(ref, 1, axis=0) + 0.5 * ref + 0.25 * np.roll(ref, -1, axis=0)
        else:
            ref[1:-1] = 0.25 * ref[:-2] + 0.5 * ref[1:-1] + 0.25 * ref[2:]
        ref[0] = start
    return ref, _normals(ref, closed)

