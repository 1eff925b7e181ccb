"""The report's numbers: the run's track, per-iteration series, lap times, actions,
checkpoints, step timing and the summary table (numpy only; :mod:`.plots` draws them)."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from deepracer_sim.errors import RunFolderError
from deepracer_sim.formats.run_folder import RunFolder
from deepracer_sim.logs.reader import RunLogs, Trace
from deepracer_sim.track.lookup import track_for_logs
from deepracer_sim.track.model import Track

#: Plots every report has when the run has the data (tests check these).
PLOT_NAMES = ("training_progress", "track_paths", "reward_heatmap", "speed_steering",
              "action_sections", "lap_time_histogram", "fastest_laps", "evaluation_laps",
              "policy_update", "crashes")
#: Track sections of the action plot (tenths of the waypoints).
SECTIONS = 10
#: Resolution of the PNGs, dots per inch.
DPI = 90


def training(logs: RunLogs) -> Trace:
    """The run's training trace.

    Raises:
        RunFolderError: the run has none (:func:`..build_report` checks this first).
    """
    if logs.training is None:
        raise RunFolderError(f"{logs.root}: no training sim-trace")
    return logs.training


# ------------------------------------------------------------------------------------------
# the track
# ------------------------------------------------------------------------------------------
def track_of(logs: RunLogs, track: str | Path | None = None,
             tracks_dir: str | Path | None = None) -> Track | None:
    """The track of a run (:func:`deepracer_sim.track.lookup.track_for_logs` with the run's
    ``run_config.json``, WORLD_NAME, the training trace's median ``track_len``, its X, Y and
    ``closest_waypoint``, and ``tracks_dir`` searched first); None when nothing fits.

    Raises:
        TrackError: an explicit ``track`` that is not found.
    """
    training = logs.training
    track_len = positions = closest = None
    if training is not None and len(training):
        cols = training.columns
        track_len = float(np.nanmedian(cols.get("track_len", np.array([np.nan]))))
        positions = np.stack([cols["X"], cols["Y"]], 1)
        closest = cols["closest_waypoint"]
    return track_for_logs(track, config=logs.run_config, world_name=logs.world_name,
                          track_len=track_len, positions=positions, closest_waypoint=closest,
                          extra_dirs=[tracks_dir], required=False)


# ------------------------------------------------------------------------------------------
# series
# ------------------------------------------------------------------------------------------
def per_iteration(iteration: np.ndarray, values: np.ndarray,
                  fn: Callable = np.mean) -> tuple[np.ndarray, np.ndarray]:
    """(the iterations, ``fn`` of ``values`` in each)."""
    its = np.unique(iteration)
    return its, np.array([fn(values[iteration == i]) for i in its], dtype=float)


def eval_metrics_by_iteration(logs: RunLogs) -> dict[str, np.ndarray]:
    """The in-training evaluation episodes (TrainingMetrics ``phase: evaluation``): mean
    progress (%) and completion rate (%) per iteration, and each episode's iteration, time (s)
    and completion; {} without any."""
    ev = [m for m in logs.training_metrics if m.get("phase") == "evaluation"]
    if not ev:
        return {}
    it = np.array([m["iteration"] for m in ev])
    prog = np.array([float(m.get("completion_percentage", 0)) for m in ev])
    comp = np.array([m.get("episode_status") == "Lap complete" for m in ev], dtype=float)
    times = np.array([m.get("elapsed_time_in_milliseconds", 0) / 1000.0 for m in ev])
    its, mprog = per_iteration(it, prog)
    _, mcomp = per_iteration(it, comp)
    return {"iteration": its, "progress": mprog, "completion": mcomp * 100.0,
            "all_iteration": it, "all_time": times, "all_complete": comp > 0.5}


def lap_times(logs: RunLogs) -> tuple[np.ndarray, np.ndarray, str]:
    """(iteration, lap time s) of the completed training laps and where they come from."""
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


def action_table(logs: RunLogs) -> list[tuple[float, float]] | None:
    """(steering °, speed m/s) of each discrete action of the model metadata, or None."""
    space = (logs.model_metadata or {}).get("action_space")
    if isinstance(space, list) and space:
        try:
            return [(float(a["steering_angle"]), float(a["speed"])) for a in space]
        except (KeyError, TypeError, ValueError):
            return None
    return None


def numeric_actions(cols: dict) -> np.ndarray | None:
    """The ``action`` column as int64 indices, or None (a continuous space's text)."""
    act = cols.get("action")
    if act is None or not len(act):
        return None
    try:
        out = np.array([int(float(a)) for a in act], dtype=np.int64)
    except (TypeError, ValueError):
        return None
    return out if (out >= 0).all() else None


def training_series(logs: RunLogs) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                              str]:
    """Per training episode: iteration, reward, progress, complete, and the source. The
    sim-trace, unless TrainingMetrics covers more iterations (a partial download)."""
    e = training(logs).episodes
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


def select_episodes(e: dict, n: int = 5) -> np.ndarray:
    """The ``n`` fastest completed laps, else the ``n`` furthest episodes (indices)."""
    done = np.flatnonzero(e["complete"].astype(bool))
    if len(done):
        return done[np.argsort(e["time"][done], kind="stable")][:n]
    return np.argsort(-e["progress"], kind="stable")[:n]


def checkpoints(logs: RunLogs) -> dict:
    """{"kept": sorted (iteration, file name) of the saved checkpoints, "best": the best
    checkpoint's iteration or None}."""
    kept = []
    for p in sorted(RunFolder(logs.root).model_dir.glob("*_Step-*")):
        head = p.name.split("_", 1)[0]
        if head.isdigit() and p.suffix in (".zip", ".index"):
            kept.append((int(head), p.name))
    best = None
    info = logs.checkpoints or {}
    name = (info.get("best_checkpoint") or {}).get("name", "")
    if name.split("_", 1)[0].isdigit():
        best = int(name.split("_", 1)[0])
    return {"kept": sorted(set(kept)), "best": best}


# ------------------------------------------------------------------------------------------
# tables
# ------------------------------------------------------------------------------------------
def stability_rows(tr: Trace) -> list[list]:
    """Per iteration of the last 10: rows, mean and p95 step time (ms), real-time factor."""
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


def summary(logs: RunLogs, track: Track | None, times: np.ndarray, source: str) -> dict:
    """The page's first table: run, track, counts, lap times, checkpoints."""
    tr = training(logs)
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
    crashed = int(np.sum(e["status"] == "crashed"))
    if crashed:
        out["crashes"] = f"{crashed} episodes ended crashed into an object"
    if len(times):
        mean, std = float(np.mean(times)), float(np.std(times))
        out.update({"lap times from": f"{len(times)} completed laps, {source}",
                    "fastest lap": f"{times.min():.3f} s", "mean lap": f"{mean:.3f} s",
                    "mean - 2σ / - 3σ": f"{mean - 2 * std:.3f} s / {mean - 3 * std:.3f} s"})
    ck = checkpoints(logs)
    best = (logs.checkpoints or {}).get("best_checkpoint")
    if best:
        out["best checkpoint"] = best.get("name")
    if ck["kept"]:
        out["saved checkpoints"] = ", ".join(name for _, name in ck["kept"])
    return out
