"""``deepracer-sim reward map``: the reward painted over the track surface.

Every cell of a regular grid over the track (``resolution`` m, default 5 cm) that lies on the
road or within ``margin`` of it gets the reward of the params dict DeepRacer would pass with the
car's reference point (params ``x``/``y``) there
(:func:`deepracer_sim.sim.params.reward_params`): the car heads along the track direction at
that point (the direction of the nearest centre-line segment, in the driving direction), turned
by ``heading_offset`` degrees; the action is (``steering``, ``speed``); the episode started at
waypoint 0 (so ``progress`` grows along the track) and ``steps`` is what a car at ``speed``
needed to get there (``2 + 15 * distance / speed``) unless given. The PNG shows the grid with a
colour bar and the track borders, so what the function pays for is visible at a glance.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepracer_sim.constants import STEP_DT
from deepracer_sim.errors import UsageError
from deepracer_sim.sim.params import reward_params
from deepracer_sim.track import Track
from deepracer_sim.track.draw import save_figure


@dataclass
class RewardMap:
    """The reward on a grid (cell centres ``xs`` x ``ys``; ``values[j, i]`` at (xs[i], ys[j]);
    NaN off the painted area or where the function failed)."""

    track: Track
    xs: np.ndarray
    ys: np.ndarray
    values: np.ndarray
    resolution: float
    settings: dict = field(default_factory=dict)
    errors: int = 0
    first_error: str | None = None

    @property
    def painted(self) -> int:
        return int(np.isfinite(self.values).sum())

    def value_at(self, x: float, y: float) -> float:
        """The value of the cell containing (x, y)."""
        i = round(float(x - self.xs[0]) / self.resolution)
        j = round(float(y - self.ys[0]) / self.resolution)
        if not (0 <= i < len(self.xs) and 0 <= j < len(self.ys)):
            return math.nan
        return float(self.values[j, i])


def _nearest_segments(px: np.ndarray, py: np.ndarray, centre: np.ndarray, chunk: int = 2048):
    """(segment index, distance, along-segment fraction) of each point's nearest centre-line
    segment (segments of zero length are skipped)."""
    a = centre[:-1]
    b = centre[1:]
    d = b - a
    len2 = (d ** 2).sum(axis=1)
    keep = len2 > 0
    a, d, len2 = a[keep], d[keep], len2[keep]
    index = np.flatnonzero(keep)
    seg = np.empty(len(px), dtype=np.int64)
    dist = np.empty(len(px))
    frac = np.empty(len(px))
    for k in range(0, len(px), chunk):
        x = px[k:k + chunk, None]
        y = py[k:k + chunk, None]
        t = np.clip(((x - a[:, 0]) * d[:, 0] + (y - a[:, 1]) * d[:, 1]) / len2, 0.0, 1.0)
        qx = a[:, 0] + t * d[:, 0] - x
        qy = a[:, 1] + t * d[:, 1] - y
        dd = qx * qx + qy * qy
        best = np.argmin(dd, axis=1)
        rows = np.arange(len(best))
        seg[k:k + chunk] = index[best]
        dist[k:k + chunk] = np.sqrt(dd[rows, best])
        frac[k:k + chunk] = t[rows, best]
    return seg, dist, frac


def compute_reward_map(fn, track: Track, *, resolution: float = 0.05, margin: float = 0.1,
                       speed: float = 1.0, steering: float = 0.0, heading_offset: float = 0.0,
                       reversed: bool = False, steps: float | None = None) -> RewardMap:
    """The reward of ``fn`` on a grid over ``track`` (see the module docstring).

    Args:
        fn: the reward function.
        resolution: grid cell size, m.
        margin: also paint this far beyond the borders, m.
        speed, steering: the action (params ``speed``, ``steering_angle``).
        heading_offset: the car's heading relative to the track direction, degrees (+ = left).
        reversed: drive against the row order (params ``is_reversed``).
        steps: params ``steps`` everywhere (default: 2 + 15 * distance from the start / speed).
    """
    if resolution <= 0:
        raise UsageError(f"resolution must be > 0, got {resolution}")
    d = 1 if reversed else 0
    lines = track.arrays.lines[d]
    cum = track.arrays.cum[d]
    centre, inner, outer = lines[0], lines[1], lines[2]
    pts = track.waypoints.reshape(-1, 2)
    pad = margin + resolution
    x0, y0 = pts.min(axis=0) - pad
    x1, y1 = pts.max(axis=0) + pad
    xs = np.arange(x0, x1 + resolution / 2, resolution)
    ys = np.arange(y0, y1 + resolution / 2, resolution)
    gx, gy = np.meshgrid(xs, ys)
    px, py = gx.ravel(), gy.ravel()
    seg, dist, frac = _nearest_segments(px, py, centre)
    half = 0.5 * np.hypot(*(outer[seg] - inner[seg]).T)
    half_next = 0.5 * np.hypot(*(outer[seg + 1] - inner[seg + 1]).T)
    inside = dist <= (half + frac * (half_next - half)) + margin
    tangent = centre[seg + 1] - centre[seg]
    heading = np.degrees(np.arctan2(tangent[:, 1], tangent[:, 0])) + heading_offset
    heading = (heading + 180.0) % 360.0 - 180.0
    along = cum[seg] + frac * (cum[seg + 1] - cum[seg])
    values = np.full(px.shape, np.nan)
    errors = 0
    first_error = None
    for k in np.flatnonzero(inside).tolist():
        n_steps = steps if steps is not None else 2.0 + round(
            along[k] / max(speed, 1e-6) / STEP_DT)
        # progress from the start line at waypoint 0; prev_progress selects the wrap
        params = reward_params(track, float(px[k]), float(py[k]), float(heading[k]),
                               speed=speed, steering_angle=steering, steps=float(n_steps),
                               prev_progress=min(100.0 * along[k] / cum[-1], 100.0),
                               reversed=reversed)
        try:
            value = float(fn(params))
        except Exception as exc:  # counted and reported
            errors += 1
            if first_error is None:
                first_error = f"{type(exc).__name__}: {exc} at x={px[k]:.3f}, y={py[k]:.3f}"
            continue
        values[k] = value if math.isfinite(value) else np.nan
    settings = {"speed": speed, "steering": steering, "heading_offset": heading_offset,
                "reversed": reversed, "steps": steps, "margin": margin}
    return RewardMap(track, xs, ys, values.reshape(gx.shape), resolution, settings, errors,
                     first_error)


def _pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend (imported on first use: only the
    PNG needs it).

    Raises:
        RuntimeError: matplotlib is not installed.
    """
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - depends on the installation
        raise RuntimeError("drawing needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


@dataclass
class MapImage:
    """A written PNG and the affine map from world metres to its pixels."""

    path: Path
    width: int
    height: int
    matrix: np.ndarray  # 3x3: display (pixel, origin bottom-left) = matrix @ [x, y, 1]

    def to_pixel(self, x: float, y: float) -> tuple[int, int]:
        """(row, column) of the PNG pixel showing world point (x, y)."""
        dx, dy, _ = self.matrix @ np.array([x, y, 1.0])
        return int(self.height - dy), int(dx)


def render_reward_map(rmap: RewardMap, out: str | os.PathLike, *, title: str = "",
                      vmin: float | None = None, vmax: float | None = None,
                      cmap: str = "viridis", dpi: int = 100) -> MapImage:
    """Write the map as a PNG (cells drawn with nearest-neighbour colours, borders on top).

    Raises:
        RuntimeError: matplotlib is not installed.
    """
    plt = _pyplot()
    track = rmap.track
    reversed_dir = bool(rmap.settings.get("reversed"))
    wp = track.waypoints[::-1] if reversed_dir else track.waypoints
    h = rmap.resolution
    extent = (rmap.xs[0] - h / 2, rmap.xs[-1] + h / 2, rmap.ys[0] - h / 2, rmap.ys[-1] + h / 2)
    span_x, span_y = extent[1] - extent[0], extent[3] - extent[2]
    scale = 9.0 / max(span_x, span_y)
    fig = plt.figure(figsize=(max(span_x * scale, 4.0) + 1.8, max(span_y * scale, 4.0) + 1.0),
                     dpi=dpi)
    try:
        ax = fig.add_axes((0.06, 0.07, 0.74, 0.85))
        cax = fig.add_axes((0.84, 0.07, 0.03, 0.85))
        finite = rmap.values[np.isfinite(rmap.values)]
        lo = vmin if vmin is not None else (float(finite.min()) if finite.size else 0.0)
        hi = vmax if vmax is not None else (float(finite.max()) if finite.size else 1.0)
        if hi <= lo:
            hi = lo + 1.0
        img = ax.imshow(np.ma.masked_invalid(rmap.values), origin="lower", extent=extent,
                        interpolation="nearest", cmap=cmap, vmin=lo, vmax=hi)
        ax.plot(wp[:, 2], wp[:, 3], color="black", lw=0.8)
        ax.plot(wp[:, 4], wp[:, 5], color="black", lw=0.8)
        # the start line across the road, and the driving direction just outside it (the
        # road itself stays unobstructed)
        ax.plot(wp[0, 2::2], wp[0, 3::2], color="red", lw=1.5)
        j = max(1, min(len(wp) - 1, len(wp) // 25))
        out0 = wp[0, 4:6] - wp[0, 0:2]
        out0 = out0 / (np.hypot(*out0) or 1.0) * 0.15
        outj = wp[j, 4:6] - wp[j, 0:2]
        outj = outj / (np.hypot(*outj) or 1.0) * 0.15
        ax.annotate("", xy=tuple(wp[j, 4:6] + outj), xytext=tuple(wp[0, 4:6] + out0),
                    arrowprops={"arrowstyle": "->", "color": "red", "lw": 1.5})
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_aspect("equal")
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)")
        ax.set_title(title, fontsize=9)
        fig.colorbar(img, cax=cax, label="reward")
        fig.canvas.draw()
        matrix = ax.transData.get_affine().get_matrix().copy()
        width, height = fig.canvas.get_width_height()
        out = Path(out)
        if out.parent != Path():
            out.parent.mkdir(parents=True, exist_ok=True)
        save_figure(fig, out, dpi=dpi)
    finally:
        plt.close(fig)
    return MapImage(out, width, height, matrix)
