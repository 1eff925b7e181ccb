"""``python -m deepracer_sim.analyze RUN_DIR [--out DIR]``: an HTML report of a training run.

Reads a run folder of this project, of deepracer-for-cloud (single or multi-worker), of
DeepRacer-on-AWS or a console download (:func:`deepracer_sim.logs.read_run`) and writes
``DIR/index.html`` (default ``RUN_DIR/report/``): one self-contained page (the plots are PNGs
embedded as data URIs; the same PNGs are also written to ``DIR/plots/``) with the plots
DeepRacer racers use (``log-formats-and-analysis.md`` §7):

=====================  =========================================================================
plot                   what it shows
=====================  =========================================================================
training_progress      per iteration: mean reward (± 1 std), mean progress and completion rate
                       of the training episodes, and of the in-training evaluation episodes
                       (TrainingMetrics ``phase: evaluation``)
track_paths            the track with the paths of the fastest laps (or the furthest episodes)
                       over the faint paths of the last iterations
reward_heatmap         mean reward at each place of the track (hexagonal bins)
speed_steering         mean commanded speed and steering per waypoint (± 1 std), completed laps
                       only when there are any (TheRayG's "inefficiencies" plot)
action_sections        share of each action (steering bins for a continuous space) in each
                       tenth of the track
lap_time_histogram     lap times of the completed training laps with the mean, mean - 2 sigma
                       and mean - 3 sigma (the "performance envelope")
fastest_laps           lap time against iteration; the laps at or under the 25th percentile
                       highlighted, the fastest lap per iteration, evaluation lap times and the
                       saved/best checkpoints (which checkpoint to pick)
evaluation_laps        each evaluation lap's path coloured by speed, with its lap time
policy_update          entropy and KL divergence per iteration (when the trainer logged them)
=====================  =========================================================================

A plot whose data the run lacks (no completed lap, no evaluation) is left out and the page
says why. Lap times and per-episode values are computed as deepracer-utils' ``simulation_agg``
does (:func:`deepracer_sim.logs.episode_table`). When the training trace has no completed lap
(e.g. a partial download), the lap-time plots use TrainingMetrics' ``Lap complete`` entries.

The track: ``--track`` (a name or ``.npy`` path), else the run's ``run_config.json``, else the
WORLD_NAME of a text log, else the track whose centre-line length matches the logs'
``track_len`` and whose waypoint numbers match the logged ``closest_waypoint`` best, searched in
``--tracks-dir`` and the project's track folders. Without a track the plots are drawn without
borders.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepracer_sim.errors import RunFolderError, TrackError
from deepracer_sim.logs.reader import RunLogs, Trace, read_run

#: Plots every report has when the run has the data (tests check these).
PLOT_NAMES = ("training_progress", "track_paths", "reward_heatmap", "speed_steering",
              "action_sections", "lap_time_histogram", "fastest_laps", "evaluation_laps",
              "policy_update")
SECTIONS = 10
DPI = 90


@dataclass
class TrackLines:
    """The three lines of a track ``.npy`` (N, 6), as drawn."""

    name: str
    path: Path | None
    waypoints: np.ndarray

    @property
    def center(self) -> np.ndarray:
        return self.waypoints[:, 0:2]

    @property
    def inner(self) -> np.ndarray:
        return self.waypoints[:, 2:4]

    @property
    def outer(self) -> np.ndarray:
        return self.waypoints[:, 4:6]


@dataclass
class Report:
    """What :func:`build_report` made: the page, the PNGs by name, and why plots are missing."""

    html_path: Path
    plots: dict[str, bytes]
    skipped: dict[str, str]
    track: TrackLines | None
    seconds: float = 0.0
    summary: dict = field(default_factory=dict)


# ------------------------------------------------------------------------------------------
# track lookup
# ------------------------------------------------------------------------------------------
def _load_npy(path: Path) -> np.ndarray | None:
    try:
        wp = np.load(path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if wp.ndim != 2 or wp.shape[1] != 6 or wp.dtype.kind not in "fiu":
        return None
    return wp.astype(np.float64)


def _centre_length(wp: np.ndarray) -> float:
    return float(np.hypot(*np.diff(wp[:, 0:2], axis=0).T).sum())


def _candidate_dirs(tracks_dir: Path | None) -> list[Path]:
    dirs = [tracks_dir] if tracks_dir is not None else []
    try:
        from deepracer_sim.track import search_dirs

        dirs += search_dirs()
    except Exception:  # lookup folders are a convenience
        from deepracer_sim.track import PROJECT_TRACKS_DIR

        dirs.append(PROJECT_TRACKS_DIR)
    return [d for d in dirs if d is not None and Path(d).is_dir()]


def _waypoint_agreement(wp: np.ndarray, trace: Trace | None) -> float:
    """Fraction of (sampled) logged rows whose closest_waypoint is the nearest centre point
    (within one index) of this track."""
    if trace is None or not len(trace):
        return 0.0
    cols = trace.columns
    idx = np.linspace(0, len(trace) - 1, min(len(trace), 400)).astype(int)
    pts = np.stack([cols["X"][idx], cols["Y"][idx]], 1)
    centre = wp[:, 0:2]
    nearest = np.argmin(((pts[:, None, :] - centre[None]) ** 2).sum(-1), axis=1)
    n = len(wp)
    logged = cols["closest_waypoint"][idx] % n
    diff = np.abs(nearest - logged)
    diff = np.minimum(diff, n - 1 - diff)  # the last row repeats the first
    return float(np.mean(diff <= 1))


def find_track(logs: RunLogs, track: str | None = None,
               tracks_dir: str | Path | None = None) -> TrackLines | None:
    """The track of a run (see the module docstring); None when nothing fits."""
    tdir = Path(tracks_dir) if tracks_dir is not None else None
    dirs = _candidate_dirs(tdir)

    def by_name(name: str) -> TrackLines | None:
        path = Path(name)
        candidates = [path] if path.suffix == ".npy" or path.is_file() else []
        candidates += [d / f"{name}.npy" for d in dirs] + [d / name for d in dirs]
        for c in candidates:
            if c.is_file() and (wp := _load_npy(c)) is not None:
                return TrackLines(c.stem, c, wp)
        return None

    if track:
        found = by_name(track)
        if found is None:
            raise TrackError(f"track {track!r} not found (searched "
                                    f"{', '.join(str(d) for d in dirs) or 'no folders'})")
        return found
    config = logs.run_config or {}
    for name in (config.get("track_path"), config.get("track"), logs.world_name):
        if name and (found := by_name(str(name))) is not None:
            return found
    if logs.training is None or not len(logs.training):
        return None
    track_len = float(np.nanmedian(logs.training.columns.get("track_len", np.array([np.nan]))))
    if not np.isfinite(track_len):
        return None
    best, best_score = None, 0.5
    for d in dirs:
        for path in sorted(d.glob("*.npy")):
            wp = _load_npy(path)
            if wp is None or abs(_centre_length(wp) - track_len) > 0.01 * track_len:
                continue
            score = _waypoint_agreement(wp, logs.training)
            if score > best_score:
                best, best_score = TrackLines(path.stem, path, wp), score
    return best


# ------------------------------------------------------------------------------------------
# data helpers
# ------------------------------------------------------------------------------------------
def _per_iteration(iteration: np.ndarray, values: np.ndarray, fn=np.mean) -> tuple:
    its = np.unique(iteration)
    return its, np.array([fn(values[iteration == i]) for i in its], dtype=float)


def _eval_metrics_by_iteration(logs: RunLogs) -> dict[str, np.ndarray]:
    ev = [m for m in logs.training_metrics if m.get("phase") == "evaluation"]
    if not ev:
        return {}
    it = np.array([m["iteration"] for m in ev])
    prog = np.array([float(m.get("completion_percentage", 0)) for m in ev])
    comp = np.array([m.get("episode_status") == "Lap complete" for m in ev], dtype=float)
    times = np.array([m.get("elapsed_time_in_milliseconds", 0) / 1000.0 for m in ev])
    its, mprog = _per_iteration(it, prog)
    _, mcomp = _per_iteration(it, comp)
    return {"iteration": its, "progress": mprog, "completion": mcomp * 100.0,
            "all_iteration": it, "all_time": times, "all_complete": comp > 0.5}


def _lap_times(logs: RunLogs) -> tuple[np.ndarray, np.ndarray, str]:
    """(iteration, lap time) of the completed training laps and where they come from."""
    if logs.training is not None and len(logs.training):
        e = logs.training.episodes
        done = e["complete"].astype(bool)
        if done.any():
            return e["iteration"][done], e["time"][done], "training sim-trace"
    tm = [m for m in logs.training_metrics
          if m.get("phase") == "training" and m.get("episode_status") == "Lap complete"]
    if tm:
        return (np.array([m["iteration"] for m in tm]),
                np.array([m["elapsed_time_in_milliseconds"] / 1000.0 for m in tm]),
                "TrainingMetrics (the sim-trace has no completed lap)")
    return np.zeros(0, int), np.zeros(0), ""


def _action_table(logs: RunLogs) -> list[tuple[float, float]] | None:
    space = (logs.model_metadata or {}).get("action_space")
    if isinstance(space, list) and space:
        try:
            return [(float(a["steering_angle"]), float(a["speed"])) for a in space]
        except (KeyError, TypeError, ValueError):
            return None
    return None


def _numeric_actions(cols: dict) -> np.ndarray | None:
    act = cols.get("action")
    if act is None or not len(act):
        return None
    try:
        out = np.array([int(float(a)) for a in act], dtype=np.int64)
    except (TypeError, ValueError):
        return None
    return out if (out >= 0).all() else None


# ------------------------------------------------------------------------------------------
# plotting
# ------------------------------------------------------------------------------------------
def _png(fig, dpi: int = DPI) -> bytes:
    buf = io.BytesIO()
    # constrained layout instead of bbox_inches="tight" (which draws every figure twice), and a
    # fast zlib level: the report is written in a few seconds
    fig.savefig(buf, format="png", dpi=dpi, pil_kwargs={"compress_level": 2})
    import matplotlib.pyplot as plt

    plt.close(fig)
    return buf.getvalue()


def _integer_x(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _draw_track(ax, track: TrackLines | None, cols: dict | None = None) -> None:
    if track is not None:
        ax.plot(*track.inner.T, color="0.35", lw=1)
        ax.plot(*track.outer.T, color="0.35", lw=1)
        ax.plot(*track.center.T, color="0.7", lw=0.6, ls="--")
        ax.plot(*track.center[0], marker="o", color="green", ms=4)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])


def _training_series(logs: RunLogs) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                               str]:
    """Per training episode: iteration, reward, progress, complete, and the source. The
    sim-trace, unless TrainingMetrics covers more iterations (a partial download)."""
    e = logs.training.episodes
    tm = [m for m in logs.training_metrics if m.get("phase") == "training"]
    tm_its = {m["iteration"] for m in tm}
    if len(tm_its) > len(np.unique(e["iteration"])):
        return (np.array([m["iteration"] for m in tm]),
                np.array([float(m.get("reward_score", 0)) for m in tm]),
                np.array([float(m.get("completion_percentage", 0)) for m in tm]),
                np.array([m.get("episode_status") == "Lap complete" for m in tm], dtype=float),
                "TrainingMetrics")
    return (e["iteration"], e["reward"], e["progress"], e["complete"].astype(float),
            "sim-trace")


def plot_training_progress(logs: RunLogs):
    import matplotlib.pyplot as plt

    it, reward, progress, complete, source = _training_series(logs)
    its, rmean = _per_iteration(it, reward)
    _, rstd = _per_iteration(it, reward, np.std)
    _, pmean = _per_iteration(it, progress)
    _, comp = _per_iteration(it, complete)
    ev = _eval_metrics_by_iteration(logs)
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.3), layout="constrained")
    ax = axes[0]
    ax.plot(its, rmean, "o-", ms=3, label="training mean")
    ax.fill_between(its, rmean - rstd, rmean + rstd, alpha=0.2, label="± 1 std")
    ax.set(title="Reward per episode", xlabel="iteration", ylabel="total reward")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(its, pmean, "o-", ms=3, label="training")
    if ev:
        ax.plot(ev["iteration"], ev["progress"], "s-", ms=3, color="tab:orange",
                label="evaluation")
    ax.set(title="Mean progress", xlabel="iteration", ylabel="progress %", ylim=(0, 105))
    ax.legend(fontsize=8)
    ax = axes[2]
    ax.plot(its, comp * 100.0, "o-", ms=3, label="training")
    if ev:
        ax.plot(ev["iteration"], ev["completion"], "s-", ms=3, color="tab:orange",
                label="evaluation")
    ax.set(title="Completion rate", xlabel="iteration", ylabel="laps completed %",
           ylim=(-3, 105))
    ax.legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
        _integer_x(ax)
    fig.suptitle(f"Training progress: {len(it)} episodes in {len(its)} iterations ({source})")
    return fig


def _select_episodes(e: dict, n: int = 5) -> np.ndarray:
    done = np.flatnonzero(e["complete"].astype(bool))
    if len(done):
        return done[np.argsort(e["time"][done], kind="stable")][:n]
    return np.argsort(-e["progress"], kind="stable")[:n]


def plot_track_paths(logs: RunLogs, track: TrackLines | None):
    import matplotlib.pyplot as plt

    tr = logs.training
    cols, e = tr.columns, tr.episodes
    fig, ax = plt.subplots(figsize=(9, 7), layout="constrained")
    _draw_track(ax, track)
    its = np.unique(e["iteration"])
    recent = np.flatnonzero(e["iteration"] >= its[max(0, len(its) - max(1, len(its) // 10))])
    for k in recent[-200:]:
        sl = slice(e["first"][k], e["last"][k] + 1)
        ax.plot(cols["X"][sl], cols["Y"][sl], color="0.6", lw=0.5, alpha=0.4)
    for k in _select_episodes(e):
        sl = slice(e["first"][k], e["last"][k] + 1)
        what = (f"{e['time'][k]:.2f} s lap" if e["complete"][k]
                else f"{e['progress'][k]:.0f}% ({e['status'][k]})")
        label = f"iter {e['iteration'][k]}, ep {e['episode'][k]}"
        if len(np.unique(e["worker"])) > 1:
            label += f", worker {e['worker'][k]}"
        ax.plot(cols["X"][sl], cols["Y"][sl], lw=1.6, label=f"{label}: {what}")
    ax.legend(fontsize=8, loc="best")
    title = "Fastest laps" if e["complete"].any() else "Furthest episodes"
    ax.set_title(f"{title} (grey: episodes of the last iterations)")
    return fig


def plot_reward_heatmap(logs: RunLogs, track: TrackLines | None):
    import matplotlib.pyplot as plt

    cols = logs.training.columns
    fig, ax = plt.subplots(figsize=(9, 7), layout="constrained")
    x, y, r = cols["X"], cols["Y"], cols["reward"]
    run = cols["episode_status"] != "prepare"
    span = max(np.ptp(x[run]) if run.any() else 1.0, np.ptp(y[run]) if run.any() else 1.0, 1.0)
    # colour limits from the 1st-99th percentile: one outlier must not wash out the map
    lo, hi = np.percentile(r[run], [1, 99]) if run.any() else (0.0, 1.0)
    hb = ax.hexbin(x[run], y[run], C=r[run], reduce_C_function=np.mean,
                   gridsize=int(np.clip(span / 0.08, 20, 120)), cmap="inferno", mincnt=1,
                   vmin=lo, vmax=hi if hi > lo else lo + 1e-9)
    _draw_track(ax, track)
    fig.colorbar(hb, ax=ax, shrink=0.8, label="mean reward per step")
    ax.set_title("Reward heatmap")
    return fig


def plot_speed_steering(logs: RunLogs, track: TrackLines | None):
    import matplotlib.pyplot as plt

    cols, e = logs.training.columns, logs.training.episodes
    rows = np.zeros(len(cols["X"]), dtype=bool)
    done = np.flatnonzero(e["complete"].astype(bool))
    source = "completed laps" if len(done) else "all episodes"
    for k in (done if len(done) else range(len(e["episode"]))):
        rows[e["first"][k]:e["last"][k] + 1] = True
    rows &= cols["episode_status"] != "prepare"
    wp = cols["closest_waypoint"][rows]
    n = len(track.waypoints) if track is not None else int(cols["closest_waypoint"].max()) + 1
    count = np.bincount(wp, minlength=n).astype(float)
    seen = count > 0
    fig, axes = plt.subplots(2, 1, figsize=(13, 6), sharex=True, layout="constrained")
    for ax, name, label, color in ((axes[0], "throttle", "speed m/s", "tab:blue"),
                                   (axes[1], "steer", "steering ° (+ left)", "tab:red")):
        v = cols[name][rows]
        s = np.bincount(wp, v, minlength=n)
        s2 = np.bincount(wp, v * v, minlength=n)
        mean = np.full(n, np.nan)
        std = np.full(n, np.nan)
        mean[seen] = s[seen] / count[seen]
        std[seen] = np.sqrt(np.maximum(s2[seen] / count[seen] - mean[seen] ** 2, 0.0))
        idx = np.arange(n)
        ax.fill_between(idx, mean - std, mean + std, color=color, alpha=0.2)
        ax.plot(idx, mean, color=color, lw=1.5)
        if name == "steer":
            ax.axhline(0, color="0.5", lw=0.8)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[1].set_xlabel("closest waypoint")
    axes[0].set_title(f"Mean speed and steering per waypoint ({source}, ± 1 std)")
    return fig


def plot_action_sections(logs: RunLogs, track: TrackLines | None):
    import matplotlib.pyplot as plt

    cols = logs.training.columns
    run = cols["episode_status"] != "prepare"
    n = len(track.waypoints) if track is not None else int(cols["closest_waypoint"].max()) + 1
    section = np.minimum(cols["closest_waypoint"][run] * SECTIONS // max(n, 1), SECTIONS - 1)
    actions = _numeric_actions(cols)
    table = _action_table(logs)
    if actions is not None:
        act = actions[run]
        k = max(int(act.max()) + 1, len(table) if table else 0)
        labels = []
        for a in range(k):
            if table and a < len(table):
                st, sp = table[a]
            else:
                sel = act == a
                st = float(np.mean(cols["steer"][run][sel])) if sel.any() else math.nan
                sp = float(np.mean(cols["throttle"][run][sel])) if sel.any() else math.nan
            labels.append(f"{a}: {st:+.0f}° {sp:.2f} m/s")
        kind = "action"
    else:  # continuous: steering bins
        edges = np.linspace(-30, 30, 7)
        act = np.clip(np.digitize(cols["steer"][run], edges[1:-1]), 0, len(edges) - 2)
        k = len(edges) - 1
        labels = [f"steer {edges[b]:+.0f}..{edges[b + 1]:+.0f}°" for b in range(k)]
        kind = "steering bin"
    counts = np.zeros((k, SECTIONS))
    np.add.at(counts, (act, section), 1)
    share = counts / np.maximum(counts.sum(0, keepdims=True), 1) * 100.0
    fig, ax = plt.subplots(figsize=(12, max(3.5, 0.35 * k + 1.5)), layout="constrained")
    im = ax.imshow(share, aspect="auto", cmap="viridis", origin="lower")
    for i in range(k):
        for j in range(SECTIONS):
            if share[i, j] >= 0.5:
                ax.text(j, i, f"{share[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="w" if share[i, j] < share.max() * 0.6 else "k")
    ax.set_yticks(range(k), labels, fontsize=8)
    bounds = [f"{s * n // SECTIONS}-{min((s + 1) * n // SECTIONS, n) - 1}"
              for s in range(SECTIONS)]
    ax.set_xticks(range(SECTIONS), [f"{s + 1}\nwp {b}" for s, b in enumerate(bounds)],
                  fontsize=8)
    ax.set_xlabel("track section (tenths of the waypoints)")
    fig.colorbar(im, ax=ax, label="% of the steps in the section")
    ax.set_title(f"Use of each {kind} per track section")
    return fig


def plot_lap_time_histogram(times: np.ndarray, source: str):
    import matplotlib.pyplot as plt

    mean, std = float(np.mean(times)), float(np.std(times))
    fig, ax = plt.subplots(figsize=(10, 4.5), layout="constrained")
    bins = max(5, min(40, len(times) // 2))
    ax.hist(times, bins=bins, color="tab:blue", alpha=0.75, edgecolor="w")
    for x, label, color in ((mean, f"mean {mean:.2f} s", "k"),
                            (mean - 2 * std, f"-2σ {mean - 2 * std:.2f} s", "tab:orange"),
                            (mean - 3 * std, f"-3σ {mean - 3 * std:.2f} s", "tab:red")):
        ax.axvline(x, color=color, ls="--", lw=1.5, label=label)
    ax.set(xlabel="lap time s", ylabel="completed laps",
           title=f"Lap times of {len(times)} completed laps ({source}); fastest "
                 f"{times.min():.2f} s")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def plot_fastest_laps(logs: RunLogs, it: np.ndarray, times: np.ndarray, source: str):
    import matplotlib.pyplot as plt

    p25 = float(np.percentile(times, 25))
    fast = times <= p25
    fig, ax = plt.subplots(figsize=(12, 4.8), layout="constrained")
    ax.scatter(it[~fast], times[~fast], s=10, color="0.7", label="completed lap")
    ax.scatter(it[fast], times[fast], s=16, color="tab:red",
               label=f"≤ 25th percentile ({p25:.2f} s)")
    its, best = _per_iteration(it, times, np.min)
    ax.plot(its, best, color="tab:red", lw=0.8, alpha=0.6, label="fastest per iteration")
    ev = _eval_metrics_by_iteration(logs)
    if ev and ev["all_complete"].any():
        sel = ev["all_complete"]
        ax.scatter(ev["all_iteration"][sel], ev["all_time"][sel], marker="s", s=18,
                   facecolors="none", edgecolors="tab:orange", label="evaluation lap")
    ckpt = _checkpoints(logs)
    for k, (i, _) in enumerate(ckpt["kept"]):
        ax.axvline(i, color="tab:green", lw=0.8, alpha=0.5,
                   label="saved checkpoint" if k == 0 else None)
    if ckpt["best"] is not None:
        ax.axvline(ckpt["best"], color="tab:green", lw=2.2,
                   label=f"best checkpoint (iteration {ckpt['best']})")
    ax.set(xlabel="iteration", ylabel="lap time s",
           title=f"Fastest laps per iteration ({source})")
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(alpha=0.3)
    _integer_x(ax)
    return fig


def _checkpoints(logs: RunLogs) -> dict:
    kept = []
    model_dir = logs.root / "model"
    for p in sorted(model_dir.glob("*_Step-*")):
        head = p.name.split("_", 1)[0]
        if head.isdigit() and p.suffix in (".zip", ".index"):
            kept.append((int(head), p.name))
    best = None
    info = logs.checkpoints or {}
    name = (info.get("best_checkpoint") or {}).get("name", "")
    if name.split("_", 1)[0].isdigit():
        best = int(name.split("_", 1)[0])
    return {"kept": sorted(set(kept)), "best": best}


def plot_evaluation_laps(logs: RunLogs, track: TrackLines | None):
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    laps = []
    for tr in logs.evaluations[-4:]:
        e = tr.episodes
        for k in range(min(len(e["episode"]), 3)):
            laps.append((tr, k))
    ncol = min(3, len(laps))
    nrow = math.ceil(len(laps) / ncol)
    if track is not None:
        size = np.ptp(track.outer, axis=0)
    else:
        size = np.array([np.ptp(laps[0][0].columns["X"]), np.ptp(laps[0][0].columns["Y"])])
    aspect = float(np.clip(size[1] / max(size[0], 1e-9), 0.3, 2.0))
    fig, axes = plt.subplots(nrow, ncol, figsize=(5.2 * ncol, (5.0 * aspect + 0.9) * nrow),
                             squeeze=False, layout="constrained")
    vmin = min(float(np.nanmin(tr.columns["throttle"])) for tr, _ in laps)
    vmax = max(float(np.nanmax(tr.columns["throttle"])) for tr, _ in laps)
    vmax = vmax if vmax > vmin else vmin + 1.0
    line = None
    for ax, (tr, k) in zip(axes.flat, laps, strict=False):
        cols, e = tr.columns, tr.episodes
        sl = slice(e["first"][k], e["last"][k] + 1)
        pts = np.stack([cols["X"][sl], cols["Y"][sl]], 1)
        segs = np.stack([pts[:-1], pts[1:]], 1)
        line = LineCollection(segs, cmap="plasma", norm=plt.Normalize(vmin, vmax), lw=2.2)
        line.set_array(cols["throttle"][sl][1:])
        ax.add_collection(line)
        _draw_track(ax, track)
        ax.autoscale()
        what = (f"{e['time'][k]:.2f} s" if e["complete"][k]
                else f"{e['progress'][k]:.0f}% {e['status'][k]}")
        speed = float(np.mean(cols["throttle"][sl]))
        ax.set_title(f"{tr.name[:28]}\nlap {k + 1}: {what}, mean {speed:.2f} m/s", fontsize=9)
    for ax in list(axes.flat)[len(laps):]:
        ax.axis("off")
    if line is not None:
        fig.colorbar(line, ax=axes.ravel().tolist(), shrink=0.7,
                     label="commanded speed m/s")
    fig.suptitle("Evaluation laps coloured by speed")
    return fig


def plot_policy_update(logs: RunLogs):
    import matplotlib.pyplot as plt

    it = np.array([p["iteration"] for p in logs.policy])
    ent = np.array([p["entropy"] for p in logs.policy], dtype=float)
    kl = np.array([p["kl"] for p in logs.policy], dtype=float)
    fig, ax = plt.subplots(figsize=(11, 4), layout="constrained")
    ax.plot(it, ent, "o-", ms=3, color="tab:purple", label="entropy")
    ax.set(xlabel="iteration", ylabel="policy entropy")
    ax2 = ax.twinx()
    ax2.plot(it, kl, "s-", ms=3, color="tab:gray", label="KL divergence")
    ax2.set_ylabel("KL divergence")
    ax.grid(alpha=0.3)
    _integer_x(ax)
    handles = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(handles, [h.get_label() for h in handles], fontsize=8)
    ax.set_title("Policy updates: entropy falls as the policy converges")
    return fig


# ------------------------------------------------------------------------------------------
# the page
# ------------------------------------------------------------------------------------------
def _table(header: list[str], rows: list[list]) -> str:
    def cell(v):
        if isinstance(v, float):
            return "-" if not math.isfinite(v) else f"{v:.3f}" if abs(v) < 1000 else f"{v:.0f}"
        return html.escape(str(v))

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _stability_rows(tr: Trace) -> list[list]:
    cols = tr.columns
    rows = []
    for it in np.unique(cols["iteration"])[-10:]:
        sel = cols["iteration"] == it
        ts = cols["tstamp"][sel]
        prep = cols["episode_status"][sel] == "prepare"
        same = np.r_[False, cols["episode"][sel][1:] == cols["episode"][sel][:-1]]
        d = np.diff(ts, prepend=np.nan)[same & ~prep] * 1000.0
        d = d[np.isfinite(d) & (d >= 0)]
        wall = cols.get("wall_clock", np.full(len(sel), np.nan))[sel]
        rtf = math.nan
        if np.isfinite(wall).any() and np.ptp(wall[np.isfinite(wall)]) > 0:
            wsel = np.isfinite(wall)
            rtf = float(np.ptp(ts[wsel]) / np.ptp(wall[wsel]))
        rows.append([int(it), int(sel.sum()), float(np.mean(d)) if len(d) else math.nan,
                     float(np.percentile(d, 95)) if len(d) else math.nan, rtf])
    return rows


def _summary(logs: RunLogs, track: TrackLines | None, times: np.ndarray, source: str) -> dict:
    tr = logs.training
    e = tr.episodes
    out = {
        "run folder": str(logs.root), "layout": logs.layout,
        "track": f"{track.name} ({track.path})" if track else "unknown (no borders drawn)",
        "workers": len(np.unique(e["worker"])),
        "iterations": len(np.unique(e["iteration"])),
        "episodes": len(e["episode"]), "steps": len(tr),
        "completed laps": int(e["complete"].sum()),
        "completion rate": f"{100.0 * float(np.mean(e['complete'])):.1f} %",
        "mean progress": f"{float(np.mean(e['progress'])):.1f} %",
    }
    if len(times):
        mean, std = float(np.mean(times)), float(np.std(times))
        out.update({"lap times from": f"{len(times)} completed laps, {source}",
                    "fastest lap": f"{times.min():.3f} s", "mean lap": f"{mean:.3f} s",
                    "mean - 2σ / - 3σ": f"{mean - 2 * std:.3f} s / {mean - 3 * std:.3f} s"})
    ck = _checkpoints(logs)
    if (logs.checkpoints or {}).get("best_checkpoint"):
        out["best checkpoint"] = logs.checkpoints["best_checkpoint"].get("name")
    if ck["kept"]:
        out["saved checkpoints"] = ", ".join(name for _, name in ck["kept"])
    return out


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;max-width:1400px;
color:#222}
h1{font-size:1.5em} h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0;font-size:0.9em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right} th{background:#f3f3f3}
td:first-child{text-align:left} img{max-width:100%;border:1px solid #eee}
.note{color:#666;font-size:0.9em}
"""


def build_report(run_dir: str | Path, out: str | Path | None = None, track: str | None = None,
                 tracks_dir: str | Path | None = None, write_pngs: bool = True,
                 dpi: int = DPI) -> Report:
    """Read ``run_dir`` and write the report (see the module docstring); ``dpi`` of the PNGs.

    Raises:
        FileNotFoundError: not a folder, no training sim-trace, or an unknown ``track``.
    """
    import matplotlib

    matplotlib.use("Agg")
    t0 = time.perf_counter()
    logs = read_run(run_dir)
    if logs.training is None or not len(logs.training):
        raise RunFolderError(f"{run_dir}: no training sim-trace found (expected "
                                "training-simtrace/<i>-iteration.csv, <w>/training-simtrace/ or "
                                "sim-trace/training/.../training-simtrace/)")
    trk = find_track(logs, track, tracks_dir)
    out_dir = Path(out) if out is not None else logs.root / "report"
    out_dir.mkdir(parents=True, exist_ok=True)
    plots: dict[str, bytes] = {}
    skipped: dict[str, str] = {}
    it, times, source = _lap_times(logs)

    def make(name: str, fn, *args) -> None:
        plots[name] = _png(fn(*args), dpi)

    make("training_progress", plot_training_progress, logs)
    make("track_paths", plot_track_paths, logs, trk)
    make("reward_heatmap", plot_reward_heatmap, logs, trk)
    make("speed_steering", plot_speed_steering, logs, trk)
    make("action_sections", plot_action_sections, logs, trk)
    if len(times):
        make("lap_time_histogram", plot_lap_time_histogram, times, source)
        make("fastest_laps", plot_fastest_laps, logs, it, times, source)
    else:
        skipped["lap_time_histogram"] = skipped["fastest_laps"] = "no completed lap"
    if logs.evaluations:
        make("evaluation_laps", plot_evaluation_laps, logs, trk)
    else:
        skipped["evaluation_laps"] = "no evaluation-simtrace in the run folder"
    if logs.policy:
        make("policy_update", plot_policy_update, logs)
    else:
        skipped["policy_update"] = ("no entropy per iteration (metrics/iterations.jsonl or "
                                    "'Policy training>' lines)")
    summary = _summary(logs, trk, times, source)
    page = _page(logs, trk, plots, skipped, summary, times)
    html_path = out_dir / "index.html"
    html_path.write_text(page)
    if write_pngs:
        (out_dir / "plots").mkdir(exist_ok=True)
        for name, data in plots.items():
            (out_dir / "plots" / f"{name}.png").write_bytes(data)
    return Report(html_path, plots, skipped, trk, time.perf_counter() - t0, summary)


_CAPTIONS = {
    "training_progress": ("Training progress",
                          "Is it learning? Training episodes (blue) and the in-training "
                          "evaluation of each iteration's checkpoint (orange)."),
    "track_paths": ("Episode paths", "The racing line of the fastest laps."),
    "reward_heatmap": ("Reward heatmap",
                       "Where the reward function pays: a thin bright band is a consistent "
                       "line; scattered dots mark sections to work on."),
    "speed_steering": ("Speed and steering along the track",
                       "Where the car brakes before a corner and how it steers through it."),
    "action_sections": ("Action usage per track section",
                        "Which actions the policy uses where; unused actions can be pruned."),
    "lap_time_histogram": ("Lap-time envelope",
                           "mean - 2σ is reached by about 2 % of laps, mean - 3σ by 0.1 %: "
                           "the best lap to expect from this model."),
    "fastest_laps": ("Fastest laps per iteration",
                     "Iterations with dense red dots are fast and stable: good checkpoints "
                     "to evaluate."),
    "evaluation_laps": ("Evaluation laps", "Each evaluation lap coloured by speed."),
    "policy_update": ("Policy updates", "Entropy and KL divergence of the PPO updates."),
}


def _page(logs: RunLogs, trk, plots, skipped, summary, times) -> str:
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>DeepRacer run report: "
             f"{html.escape(logs.root.name)}</title><style>{_CSS}</style></head><body>",
             f"<h1>DeepRacer run report: {html.escape(logs.root.name)}</h1>",
             _table(["", ""], [[k, v] for k, v in summary.items()])]
    if logs.evaluations:
        rows = []
        for tr in logs.evaluations:
            e = tr.episodes
            done = e["complete"].astype(bool)
            rows.append([tr.name, len(e["episode"]), int(done.sum()),
                         ", ".join(f"{t:.2f}" if c else f"{p:.0f}%"
                                   for t, c, p in zip(e["time"], done, e["progress"],
                                                      strict=True))])
        parts += ["<h2>Evaluations</h2>",
                  _table(["evaluation", "laps", "completed", "lap times s / progress"], rows)]
    for name in PLOT_NAMES:
        title, caption = _CAPTIONS[name]
        parts.append(f"<h2 id='{name}'>{html.escape(title)}</h2>")
        if name in plots:
            data = base64.b64encode(plots[name]).decode("ascii")
            parts.append(f"<p class='note'>{html.escape(caption)}</p>"
                         f"<img alt='{name}' src='data:image/png;base64,{data}'>")
        else:
            parts.append(f"<p class='note'>Not drawn: {html.escape(skipped.get(name, ''))}.</p>")
        if name == "fastest_laps" and len(times):
            e = logs.training.episodes
            done = np.flatnonzero(e["complete"].astype(bool))
            top = done[np.argsort(e["time"][done], kind="stable")][:10]
            if len(top):
                parts.append(_table(["iteration", "episode", "worker", "lap time s",
                                     "start waypoint"],
                                    [[int(e["iteration"][k]), int(e["episode"][k]),
                                      int(e["worker"][k]), float(e["time"][k]),
                                      int(e["start_at"][k])] for k in top]))
    parts += ["<h2>Simulation step timing (last 10 iterations)</h2>",
              "<p class='note'>Cloud runs: an average step above 70 ms or a p95 above 90 ms "
              "means a struggling simulator (target 66.7 ms). RTF: simulated seconds per wall "
              "second of one car.</p>",
              _table(["iteration", "rows", "avg step ms", "p95 step ms", "RTF"],
                     _stability_rows(logs.training))]
    if logs.hyperparameters:
        parts += ["<h2>Hyperparameters</h2>",
                  _table(["key", "value"], [[k, json.dumps(v)] for k, v in
                                            sorted(logs.hyperparameters.items())])]
    parts.append("<p class='note'>Generated by deepracer_sim.analyze.</p></body></html>")
    return "\n".join(parts)
