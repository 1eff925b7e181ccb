"""Drawing a track with its waypoint indices (matplotlib, PNG), and writing a figure so that
a full disk is reported (:func:`save_figure`)."""

from __future__ import annotations

import io
import os
from pathlib import Path


def save_figure(fig, path: str | os.PathLike, **kwargs) -> None:
    """Write a matplotlib figure to ``path`` (its format from the suffix, PNG without one;
    ``kwargs`` go to ``savefig``). The image is made in memory and written with Python's file
    I/O: matplotlib's PNG writer does not report a write that fails (a full disk would leave a
    cut file and no error).

    Raises:
        OSError: the file cannot be written (a full disk, a read-only folder).
    """
    path = Path(path)
    data = io.BytesIO()
    fig.savefig(data, format=path.suffix.lstrip(".").lower() or "png", **kwargs)
    path.write_bytes(data.getvalue())


def draw_track(track, out: str | os.PathLike, *, every: int | None = None,
               reversed_direction: bool = False, dpi: int = 120) -> Path:
    """Draw a track with its borders, centre line and waypoint indices into a PNG.

    Args:
        track: a :class:`~deepracer_sim.track.Track`.
        out: PNG path.
        every: label every k-th waypoint (default: about 60 labels at most; index 0 and every
            k-th are labelled, all waypoints get a dot).
        reversed_direction: number the waypoints as ``params['waypoints']`` in the reversed
            direction.

    Raises:
        RuntimeError: matplotlib is not installed.
    """
    plt = _pyplot()
    wp = track.waypoints[::-1] if reversed_direction else track.waypoints
    n = len(wp)
    k = every if every and every > 0 else max(1, -(-n // 60))
    fig, ax = plt.subplots(figsize=(12, 8))
    try:
        ax.plot(wp[:, 2], wp[:, 3], color="0.25", lw=1.5, label="inner border")
        ax.plot(wp[:, 4], wp[:, 5], color="0.55", lw=1.5, label="outer border")
        ax.plot(wp[:, 0], wp[:, 1], color="tab:orange", lw=0.8, ls="--", label="centre line")
        ax.scatter(wp[:, 0], wp[:, 1], s=6, color="tab:blue", zorder=3)
        limit = n - 1 if track.is_loop else n  # a loop's last row repeats waypoint 0
        for i in range(0, limit, k):
            ax.annotate(str(i), (wp[i, 0], wp[i, 1]), xytext=(3, 3),
                        textcoords="offset points", fontsize=7, color="tab:blue")
        ax.scatter([wp[0, 0]], [wp[0, 1]], s=60, marker="o", color="tab:green", zorder=4,
                   label="waypoint 0 (start)")
        j = 1
        while j < n - 1 and (wp[j, 0], wp[j, 1]) == (wp[0, 0], wp[0, 1]):
            j += 1
        j = max(j, min(n - 1, n // 25))  # an arrow long enough to see
        ax.annotate("", xy=(wp[j, 0], wp[j, 1]), xytext=(wp[0, 0], wp[0, 1]),
                    arrowprops={"arrowstyle": "->", "color": "tab:green", "lw": 2})
        ax.set_aspect("equal")
        direction = "open" if not track.is_loop else ("CCW" if track.is_ccw else "CW")
        if reversed_direction and track.is_loop:
            direction = "CW" if direction == "CCW" else "CCW"
        ax.set_title(f"{track.name}: {n} waypoints, {track.length:.3f} m, "
                     f"{track.width:.3f} m wide, {direction}"
                     f"{' (reversed)' if reversed_direction else ''}; labels every {k}")
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)")
        ax.grid(True, lw=0.3)
        ax.legend(loc="best", fontsize=8)
        out = Path(out)
        if out.parent != Path():
            out.parent.mkdir(parents=True, exist_ok=True)
        save_figure(fig, out, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return out


def _pyplot():
    """matplotlib.pyplot with the non-interactive Agg backend."""
    try:
        import matplotlib
    except ImportError:  # pragma: no cover - depends on the installation
        raise RuntimeError("drawing needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt
