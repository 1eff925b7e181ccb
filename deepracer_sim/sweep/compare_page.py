"""The comparison's HTML page: the leaderboard, lap-time distributions, progress curves, the
fastest laps of the top runs on the track and the speed per track section.

One self-contained file (the plots are PNG data URIs, as the run report's); the plotting
helpers (:func:`~deepracer_sim.logs.report.plots.png`,
:func:`~deepracer_sim.logs.report.plots.draw_track`) and the table and style of the report's
page are reused.
"""

from __future__ import annotations

import base64
import html
import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from deepracer_sim.logs.report.data import SECTIONS, select_episodes
from deepracer_sim.logs.report.page import CSS, table
from deepracer_sim.logs.report.plots import draw_track, png
from deepracer_sim.sweep.compare import Comparison, RunRow

#: Runs drawn in the plots (the best ranked).
TOP_PLOTTED = 10
#: Runs whose fastest lap is drawn on the track.
TOP_ON_TRACK = 4


def _label(row: RunRow) -> str:
    return f"{row.rank}. {row.name}"[:48]


def _s(value: float | None, digits: int = 3) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def _setting(value: Any) -> str:
    if isinstance(value, str) and (os.path.isabs(value)
                                   or value.endswith((".py", ".json", ".npy"))):
        return Path(value).name
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


#: Settings shown as columns of the text leaderboard (the page and --json have them all).
TEXT_SETTINGS = 6


def leaderboard(comparison: Comparison, settings: int | None = None) -> tuple[list[str],
                                                                             list[list]]:
    """The leaderboard's header and rows (text cells), with the first ``settings`` varied
    settings (all by default)."""
    varied = comparison.varied[:settings]
    held = comparison.holdout_tracks
    header = ["rank", "run", *varied, "completion %", "best lap s", "mean lap s",
              "lap std s", "progress %", "first lap steps", "first lap s", "off track %",
              "evaluation", *(f"holdout {t} completion % / mean lap s" for t in held)]
    rows = []
    for r in comparison.rows:
        extra = []
        for t in held:
            h = r.holdout.get(t)
            extra.append("-" if h is None else f"{100 * (h.get('completion_rate') or 0):.0f}"
                         f" / {_s(h.get('mean_lap_time'))}")
        rows.append([r.rank, r.name, *(_setting(r.settings.get(k)) for k in varied),
                     f"{100 * r.completion_rate:.0f} ({len(r.lap_times)}/{len(r.laps)})",
                     _s(r.best_lap_time), _s(r.mean_lap_time), _s(r.lap_time_std),
                     _s(r.mean_progress, 1), "-" if r.first_lap_steps is None
                     else str(r.first_lap_steps), _s(r.first_lap_seconds, 1),
                     "-" if r.off_track_rate is None else f"{100 * r.off_track_rate:.0f}",
                     r.evaluation + (f" ({r.stop_reason})" if r.stop_reason else ""), *extra])
    return header, rows


def text_table(comparison: Comparison) -> str:
    """The leaderboard as plain text (the command's output; at most :data:`TEXT_SETTINGS`
    settings, the others are named below it)."""
    header, rows = leaderboard(comparison, TEXT_SETTINGS)
    cells = [[str(c) for c in header], *[[str(c) for c in r] for r in rows]]
    widths = [max(len(r[k]) for r in cells) for k in range(len(header))]
    text = "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in cells)
    more = comparison.varied[TEXT_SETTINGS:]
    if more:
        text += f"\n(settings that also differ, in the page and --json: {', '.join(more)})"
    return text


# ---------------------------------------------------------------------------------------------
def training_lap_times(row: RunRow) -> np.ndarray:
    """Completed training lap times (s) of the last half of the run's iterations."""
    if row.logs is None or row.logs.training is None or not len(row.logs.training):
        return np.zeros(0)
    e = row.logs.training.episodes
    its = np.unique(e["iteration"])
    late = np.isin(e["iteration"], its[len(its) // 2:]) & e["complete"].astype(bool)
    return np.asarray(e["time"][late], dtype=float)


def plot_lap_times(rows: list[RunRow]):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 0.55 * len(rows) + 1.8), layout="constrained")
    for k, row in enumerate(rows):
        y = len(rows) - 1 - k
        times = training_lap_times(row)
        if len(times):  # a box of the quartiles, the median, whiskers to the extremes
            q1, med, q3 = np.percentile(times, [25, 50, 75])
            ax.hlines(y, times.min(), times.max(), color="0.3", lw=1)
            ax.barh(y, q3 - q1, left=q1, height=0.5, color="tab:blue", alpha=0.35,
                    edgecolor="0.3", label="training laps" if k == 0 else None)
            ax.vlines(med, y - 0.25, y + 0.25, color="tab:orange", lw=2)
        if row.lap_times:
            ax.scatter(row.lap_times, [y] * len(row.lap_times), color="tab:red", s=22,
                       zorder=3, label="evaluation lap" if k == 0 else None)
    ax.set_yticks(range(len(rows)), [_label(r) for r in reversed(rows)], fontsize=8)
    ax.set(xlabel="lap time s", title="Lap times: completed training laps of the last half of "
           "training (boxes) and evaluation laps (red)")
    ax.grid(alpha=0.3, axis="x")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper right")
    return fig


def progress_curve(row: RunRow) -> tuple[np.ndarray, np.ndarray, str]:
    """(x, evaluation progress %, x label) per iteration: steps from iterations.jsonl, else
    iterations from TrainingMetrics' evaluation entries or the training trace."""
    logs = row.logs
    if logs is None:
        return np.zeros(0), np.zeros(0), "iteration"
    lines = [ln for ln in logs.iterations if ln.get("eval_progress") is not None]
    if lines:
        return (np.array([ln["steps"] for ln in lines], dtype=float),
                np.array([ln["eval_progress"] for ln in lines], dtype=float), "steps (all cars)")
    ev = [m for m in logs.training_metrics if m.get("phase") == "evaluation"]
    if ev:
        its = np.array([m["iteration"] for m in ev])
        prog = np.array([float(m.get("completion_percentage", 0)) for m in ev])
        u = np.unique(its)
        return u.astype(float), np.array([prog[its == i].mean() for i in u]), "iteration"
    if logs.training is not None and len(logs.training):
        e = logs.training.episodes
        u = np.unique(e["iteration"])
        return (u.astype(float), np.array([e["progress"][e["iteration"] == i].mean()
                                           for i in u]), "iteration (training progress)")
    return np.zeros(0), np.zeros(0), "iteration"


def plot_progress(rows: list[RunRow]):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(12, 5), layout="constrained")
    xlabel = "steps (all cars)"
    for row in rows:
        x, y, xlabel = progress_curve(row)
        if len(x):
            ax.plot(x, y, "o-", ms=2.5, lw=1.2, label=_label(row))
    ax.set(xlabel=xlabel, ylabel="mean evaluation progress %", ylim=(0, 105),
           title="Evaluation progress per iteration")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return fig


def fastest_path(row: RunRow) -> tuple[np.ndarray, str] | None:
    """The (M, 2) path of the run's fastest completed evaluation lap (else its fastest
    training lap, else its furthest training episode) and what it is."""
    for trace, kind in ((row.eval_trace, "evaluation"),
                        (row.logs.training if row.logs is not None else None, "training")):
        if trace is None or not len(trace):
            continue
        e = trace.episodes
        if kind == "evaluation" and not e["complete"].any():
            continue
        k = int(select_episodes(e, 1)[0])
        sl = slice(e["first"][k], e["last"][k] + 1)
        what = (f"{kind} lap {e['time'][k]:.2f} s" if e["complete"][k]
                else f"{kind} {e['progress'][k]:.0f}%")
        return np.stack([trace.columns["X"][sl], trace.columns["Y"][sl]], 1), what
    return None


def plot_fastest_laps(rows: list[RunRow]):
    import matplotlib.pyplot as plt

    track = rows[0].track
    fig, ax = plt.subplots(figsize=(9, 7), layout="constrained")
    draw_track(ax, track)
    for row in rows:
        found = fastest_path(row)
        if found is not None:
            xy, what = found
            ax.plot(xy[:, 0], xy[:, 1], lw=1.6, label=f"{_label(row)}: {what}")
    ax.legend(fontsize=8, loc="best")
    ax.set_title(f"Fastest laps of the top {len(rows)} runs"
                 + (f" on {track.name}" if track is not None else ""))
    return fig


def plot_section_speed(rows: list[RunRow]):
    import matplotlib.pyplot as plt

    data = np.array([[np.nan if v is None else v for v in r.section_speed] for r in rows],
                    dtype=float)
    fig, ax = plt.subplots(figsize=(12, 0.45 * len(rows) + 1.8), layout="constrained")
    im = ax.imshow(data, aspect="auto", cmap="viridis")
    middle = float(np.nanmean(im.get_clim())) if np.isfinite(data).any() else 0.0
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            if np.isfinite(data[i, j]):
                ax.text(j, i, f"{data[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="w" if data[i, j] < middle else "k")
    ax.set_yticks(range(len(rows)), [_label(r) for r in rows], fontsize=8)
    ax.set_xticks(range(SECTIONS), [f"{s + 1}" for s in range(SECTIONS)])
    ax.set_xlabel("track section (tenths of the waypoints from the start line)")
    fig.colorbar(im, ax=ax, label="mean commanded speed m/s")
    ax.set_title("Speed per track section (evaluation laps, else completed training laps)")
    return fig


# ---------------------------------------------------------------------------------------------
def _image(name: str, data: bytes) -> str:
    return (f"<img alt='{name}' src='data:image/png;base64,"
            f"{base64.b64encode(data).decode('ascii')}'>")


def plots(comparison: Comparison, dpi: int) -> dict[str, bytes]:
    """The page's PNGs by name (the fastest laps only for the top runs on the best run's
    track)."""
    top = comparison.rows[:TOP_PLOTTED]
    out = {"lap_times": png(plot_lap_times(top), dpi),
           "progress": png(plot_progress(top), dpi),
           "section_speed": png(plot_section_speed(top), dpi)}
    track = top[0].track
    same = [r for r in top if track is None or r.track is None or r.track.name == track.name]
    out["fastest_laps"] = png(plot_fastest_laps(same[:TOP_ON_TRACK]), dpi)
    return out


CAPTIONS = {
    "lap_times": ("Lap-time distributions", "Consistency: a narrow box close to the red "
                  "evaluation laps is a model that races the way it trained."),
    "progress": ("Progress curves", "How fast each run learned to go around."),
    "fastest_laps": ("Fastest laps on the track", "The line each of the best runs drives."),
    "section_speed": ("Speed per section", "Where each run is fast or slow."),
}


def write_page(comparison: Comparison, out: Path, dpi: int = 90) -> Path:
    """Write ``out`` (an HTML file) and return it."""
    import matplotlib

    matplotlib.use("Agg")
    images = plots(comparison, dpi)
    header, rows = leaderboard(comparison)
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>DeepRacer runs compared"
             f"</title><style>{CSS}</style></head><body><h1>DeepRacer runs compared "
             f"({len(comparison.rows)})</h1>",
             "<p class='note'>Ranked on evaluation completion, then mean lap time, mean "
             "progress and the fastest lap. Lap times are simulated seconds.</p>",
             table(header, rows)]
    parts += [f"<p class='note'>{html.escape(n)}</p>" for n in comparison.notes]
    for name, (title, caption) in CAPTIONS.items():
        parts += [f"<h2 id='{name}'>{html.escape(title)}</h2>",
                  f"<p class='note'>{html.escape(caption)}</p>", _image(name, images[name])]
    parts.append("<h2>Runs</h2>" + table(["rank", "run folder"],
                                          [[r.rank, str(r.run)] for r in comparison.rows]))
    parts.append("<p class='note'>Generated by deepracer-sim compare.</p></body></html>")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(parts))
    return out
