"""``deepracer-sim compare``: one row per run, ranked on what a racer decides with.

Each argument is a run folder (this project's, deepracer-for-cloud's or a console download:
whatever :func:`deepracer_sim.logs.reader.read_run` reads) or a sweep folder, which gives one
row per finished trial. A row holds:

=====================  ======================================================================
``completion_rate``    share of the evaluation laps completed (0..1)
``best_lap_time``      fastest completed evaluation lap, s (None without one)
``mean_lap_time``      mean of the completed evaluation laps, s (None without one)
``lap_time_std``       their standard deviation, s (consistency; None with fewer than 2)
``mean_progress``      mean progress of the evaluation laps, %
``first_lap_steps``    steps (all cars) at the end of the iteration in which a training
                       episode first completed a lap; ``first_lap_seconds`` its training wall
                       time (s, from ``metrics/iterations.jsonl``; None for other trainers)
``off_track_rate``     share of the training episodes of the last quarter of the iterations
                       that ended off track (0..1)
``section_speed``      mean commanded speed (m/s) in each tenth of the track's waypoints,
                       over the evaluation laps (or the completed training laps when the run
                       has no evaluation trace)
``settings``           the settings that differ between the rows (a sweep's axes among them)
``holdout``            a sweep trial's evaluations on the spec's ``holdout_tracks`` (tracks
                       it never trained on): track -> ``completion_rate``, ``best_lap_time``,
                       ``mean_lap_time``, ``mean_progress``, from its completion marker
=====================  ======================================================================

**The evaluation laps** are the run's latest evaluation on its training track
(``evaluation-<stamp>/`` from ``deepracer-sim evaluate``, or from the sweep's final
evaluation), else the in-training evaluation of the best checkpoint
(``metrics/iterations.jsonl``), else the last in-training evaluation in ``TrainingMetrics.json``
(cloud runs). ``evaluation`` says which.

**Ranking** (DeepRacer's best-model rule, then consistency): the highest completion rate, then
the shortest mean lap time, then the highest mean progress, then the fastest lap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deepracer_sim.errors import CompareError
from deepracer_sim.logs.reader import RunLogs, Trace, read_run
from deepracer_sim.logs.report.data import SECTIONS, track_of
from deepracer_sim.sweep.folder import read_sweep_record, run_folders
from deepracer_sim.sweep.trial import is_finished, jsonable, read_marker
from deepracer_sim.track.model import Track

#: run_config.json keys that are settings of a run.
CONFIG_SETTINGS = ("track", "seed", "timesteps", "n_envs", "n_steps", "version",
                   "alternate_direction", "reverse_direction")
#: Relative tolerance on ``track_len`` for an evaluation to count as on the training track.
SAME_TRACK = 1e-3


@dataclass
class Lap:
    """One evaluation lap: progress (%), lap time (s), completed or not, final status."""

    progress: float
    time: float
    complete: bool
    status: str


@dataclass
class RunRow:
    """One compared run (see the module docstring for the metrics)."""

    run: Path
    name: str
    settings: dict[str, Any]
    evaluation: str
    laps: list[Lap]
    first_lap_iteration: int | None = None
    first_lap_steps: int | None = None
    first_lap_seconds: float | None = None
    off_track_rate: float | None = None
    section_speed: list[float | None] = field(default_factory=list)
    steps: int | None = None
    rank: int = 0
    logs: RunLogs | None = None
    track: Track | None = None
    eval_trace: Trace | None = None
    #: a sweep trial's evaluations on its held-out tracks: track -> ``completion_rate``,
    #: ``best_lap_time``, ``mean_lap_time`` (s, None without a lap), ``mean_progress`` (%)
    holdout: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: a sweep trial's marker ``stop_reason``: why training ended before its steps
    #: (``stopped early by ASHA``, the ``--seconds`` budget; None: it ran them all)
    stop_reason: str | None = None

    @property
    def lap_times(self) -> list[float]:
        return [lap.time for lap in self.laps if lap.complete]

    @property
    def completion_rate(self) -> float:
        return len(self.lap_times) / len(self.laps) if self.laps else 0.0

    @property
    def best_lap_time(self) -> float | None:
        return min(self.lap_times) if self.lap_times else None

    @property
    def mean_lap_time(self) -> float | None:
        return float(np.mean(self.lap_times)) if self.lap_times else None

    @property
    def lap_time_std(self) -> float | None:
        return float(np.std(self.lap_times)) if len(self.lap_times) > 1 else None

    @property
    def mean_progress(self) -> float | None:
        return float(np.mean([lap.progress for lap in self.laps])) if self.laps else None

    def rank_key(self) -> tuple:
        """Sorts the best run first (module docstring)."""
        mean, best = self.mean_lap_time, self.best_lap_time
        return (-self.completion_rate, math.inf if mean is None else mean,
                -(self.mean_progress or 0.0), math.inf if best is None else best, self.name)

    def to_json(self, varied: list[str]) -> dict[str, Any]:
        """The ``--json`` object of the row (None for a missing value)."""
        return jsonable({
            "run": str(self.run), "name": self.name, "rank": self.rank,
            "settings": {k: self.settings.get(k) for k in varied},
            "completion_rate": self.completion_rate, "best_lap_time": self.best_lap_time,
            "mean_lap_time": self.mean_lap_time, "lap_time_std": self.lap_time_std,
            "mean_progress": self.mean_progress, "evaluation": self.evaluation,
            "laps": len(self.laps), "first_lap_iteration": self.first_lap_iteration,
            "first_lap_steps": self.first_lap_steps,
            "first_lap_seconds": self.first_lap_seconds,
            "off_track_rate": self.off_track_rate, "section_speed": self.section_speed,
            "steps": self.steps, "holdout": self.holdout, "stop_reason": self.stop_reason})


@dataclass
class Comparison:
    """The ranked rows, the settings that vary between them, and notes (trials left out)."""

    rows: list[RunRow]
    varied: list[str]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]]:
        return [row.to_json(self.varied) for row in self.rows]

    @property
    def holdout_tracks(self) -> list[str]:
        """The held-out tracks of any row, in first-seen order."""
        names: list[str] = []
        for row in self.rows:
            names += [t for t in row.holdout if t not in names]
        return names


# ---------------------------------------------------------------------------------------------
def run_folders_of(paths: list[str | Path]) -> tuple[list[tuple[Path, dict]], list[str], list[str]]:
    """The run folders the arguments name: ([(folder, sweep settings)], sweep axes, notes).

    A sweep folder (it holds ``sweep.json``) gives its finished trials with their settings
    from the completion markers; its unfinished trials are named in the notes.

    Raises:
        CompareError: a path that is not a folder, or neither a run nor a sweep folder.
    """
    found: list[tuple[Path, dict]] = []
    axes: list[str] = []
    notes: list[str] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            raise CompareError(f"{path}: not a folder; give run folders (train --out) or sweep "
                               "folders (sweep --out)")
        record = read_sweep_record(path)
        if record is None:
            found.append((path, {}))
            continue
        axes += [a for a in record.get("axes", []) if a not in axes]
        left = []
        for run in run_folders(path):
            if is_finished(run):
                found.append((run, dict(read_marker(run).get("params") or {})))
            else:
                left.append(run.name)
        if left:
            notes.append(f"{path}: {len(left)} unfinished trials left out ({', '.join(left)}); "
                         "finish them with the same deepracer-sim sweep command")
    return found, axes, notes


def settings_of(logs: RunLogs, sweep_params: dict[str, Any]) -> dict[str, Any]:
    """A run's settings: the run config, the reward file, the action space, the
    hyperparameters, then the sweep's own settings of a trial (which win)."""
    out: dict[str, Any] = {}
    config = logs.run_config or {}
    if config.get("reward_source"):
        out["reward"] = config["reward_source"]
    out.update({k: config[k] for k in CONFIG_SETTINGS if k in config})
    several = config.get("training_tracks")
    if isinstance(several, list) and several:  # a run on several tracks: as --track A,B
        out["track"] = ",".join(str(t.get("track")) for t in several if isinstance(t, dict))
    space = (logs.model_metadata or {}).get("action_space")
    if isinstance(space, list) and space:
        try:
            speeds = [float(a["speed"]) for a in space]
            angles = [abs(float(a["steering_angle"])) for a in space]
            out["action_space"] = (f"{len(space)} actions, <= {max(speeds):g} m/s, "
                                   f"<= {max(angles):g} deg")
        except (KeyError, TypeError, ValueError):
            pass
    out.update(logs.hyperparameters or {})
    out.update(sweep_params)
    return out


def evaluation_laps(logs: RunLogs, track: Track | None = None
                    ) -> tuple[str, list[Lap], Trace | None]:
    """(where the laps come from, the laps, the evaluation trace when they come from one);
    see the module docstring for the order. ``track``: the run's track."""
    trace = latest_evaluation(logs, track)
    if trace is not None:
        e = trace.episodes
        laps = [Lap(float(p), float(t), bool(c), str(s)) for p, t, c, s in
                zip(e["progress"], e["time"], e["complete"], e["status"], strict=True)]
        return trace.name, laps, trace
    best = ((logs.checkpoints or {}).get("best_checkpoint") or {}).get("name")
    for line in logs.iterations:
        if best is not None and line.get("checkpoint") == best and line.get("eval_laps"):
            return f"in-training evaluation of {best}", [
                Lap(float(lap["progress"]), float(lap["lap_time"]),
                    lap["status"] == "lap_complete", str(lap["status"]))
                for lap in line["eval_laps"]], None
    ev = [m for m in logs.training_metrics if m.get("phase") == "evaluation"]
    if ev:
        last = max(m["iteration"] for m in ev)
        return f"in-training evaluation of iteration {last} (TrainingMetrics)", [
            Lap(float(m.get("completion_percentage", 0)),
                float(m.get("elapsed_time_in_milliseconds", 0)) / 1000.0,
                m.get("episode_status") == "Lap complete", str(m.get("episode_status")))
            for m in ev if m["iteration"] == last], None
    return "none", [], None


def _median_track_len(trace: Trace | None) -> float | None:
    if trace is None or not len(trace) or "track_len" not in trace.columns:
        return None
    value = float(np.nanmedian(trace.columns["track_len"]))
    return value if math.isfinite(value) else None


def latest_evaluation(logs: RunLogs, track: Track | None = None) -> Trace | None:
    """The latest evaluation trace driven on the training track (same ``track_len`` as the
    training sim-trace's; for a run on several tracks, whose training rows mix their lengths,
    the length of ``track``, the run's first track)."""
    several = bool((logs.run_config or {}).get("training_tracks"))
    train_len = (float(track.length) if several and track is not None
                 else _median_track_len(logs.training))
    for trace in sorted(logs.evaluations, key=lambda t: t.name, reverse=True):
        length = _median_track_len(trace)
        if not len(trace.episodes["episode"]):
            continue
        if train_len is None or length is None \
                or abs(length - train_len) <= SAME_TRACK * train_len:
            return trace
    return None


def first_lap(logs: RunLogs) -> tuple[int | None, int | None, float | None]:
    """(iteration, steps, training seconds) at the end of the iteration with the first
    completed training lap; (None, None, None) before one."""
    for line in logs.iterations:
        if (line.get("completion_rate") or 0) > 0:
            return int(line["iteration"]), line.get("steps"), line.get("wall_time")
    if logs.training is not None and len(logs.training):
        e = logs.training.episodes
        done = np.flatnonzero(e["complete"].astype(bool))
        if len(done):
            return int(e["iteration"][done].min()), None, None
    return None, None, None


def off_track_rate(logs: RunLogs) -> float | None:
    """Share of the training episodes of the last quarter of the iterations (at least one)
    that ended off track."""
    if logs.training is None or not len(logs.training):
        return None
    e = logs.training.episodes
    its = np.unique(e["iteration"])
    last = its[-max(1, math.ceil(len(its) / 4)):]
    sel = np.isin(e["iteration"], last)
    return float(np.mean(e["status"][sel] == "off_track")) if sel.any() else None


def section_speed(trace: Trace | None, logs: RunLogs, track: Track | None) -> list[float | None]:
    """Mean commanded speed (m/s) in each tenth of the waypoints (None where no step was):
    over ``trace`` (the evaluation laps), else the completed training laps, else every
    training episode."""
    source = trace
    rows = None
    if source is None and logs.training is not None and len(logs.training):
        source = logs.training
        e = source.episodes
        done = np.flatnonzero(e["complete"].astype(bool))
        if len(done):
            rows = np.zeros(len(source), dtype=bool)
            for k in done:
                rows[e["first"][k]:e["last"][k] + 1] = True
    if source is None or not len(source):
        return [None] * SECTIONS
    cols = source.columns
    keep = cols["episode_status"] != "prepare"
    if rows is not None:
        keep &= rows
    n = len(track.waypoints) if track is not None else int(cols["closest_waypoint"].max()) + 1
    section = np.minimum(cols["closest_waypoint"][keep] * SECTIONS // max(n, 1), SECTIONS - 1)
    speed = cols["throttle"][keep]
    count = np.bincount(section, minlength=SECTIONS)
    total = np.bincount(section, speed, minlength=SECTIONS)
    return [float(total[s] / count[s]) if count[s] else None for s in range(SECTIONS)]


def read_row(folder: Path, sweep_params: dict[str, Any], name: str) -> RunRow:
    """Read one run folder into a :class:`RunRow` (unranked)."""
    logs = read_run(folder)
    track = track_of(logs)
    source, laps, trace = evaluation_laps(logs, track)
    iteration, steps, seconds = first_lap(logs)
    last = logs.iterations[-1] if logs.iterations else {}
    marker = read_marker(folder) if is_finished(folder) else {}
    holdout = (marker.get("evaluation") or {}).get("holdout")
    return RunRow(folder, name, settings_of(logs, sweep_params), source, laps,
                  iteration, steps, seconds, off_track_rate(logs),
                  section_speed(trace, logs, track), last.get("steps"), logs=logs, track=track,
                  eval_trace=trace, holdout=dict(holdout or {}),
                  stop_reason=marker.get("stop_reason"))


def _names(folders: list[Path]) -> list[str]:
    """Short unique names: the folder name, with its parent when two names clash."""
    names = [f.name for f in folders]
    return [f"{f.parent.name}/{f.name}" if names.count(f.name) > 1 else f.name for f in folders]


def varied_settings(rows: list[RunRow], axes: list[str]) -> list[str]:
    """The settings whose values differ between ``rows``, and a sweep's axes."""
    keys: list[str] = list(axes)
    for row in rows:
        keys += [k for k in row.settings if k not in keys]
    return [k for k in keys if k in axes or len({repr(r.settings.get(k)) for r in rows}) > 1]


def compare_runs(paths: list[str | Path]) -> Comparison:
    """Read and rank the runs the arguments name (run or sweep folders).

    Raises:
        CompareError: a folder that is neither a run nor a sweep, or no run at all.
        RunFolderError: a run folder that cannot be read.
    """
    folders, axes, notes = run_folders_of(paths)
    if not folders:
        raise CompareError("nothing to compare: the sweep folders hold no finished trial yet")
    names = _names([f for f, _ in folders])
    rows = []
    for (folder, params), name in zip(folders, names, strict=True):
        row = read_row(folder, params, name)
        if row.logs is not None and row.logs.layout == "none" and not row.laps \
                and row.logs.run_config is None:
            raise CompareError(f"{folder}: neither a run folder (no logs, no run_config.json) "
                               "nor a sweep folder (no sweep.json)")
        rows.append(row)
    rows.sort(key=RunRow.rank_key)
    for k, row in enumerate(rows, 1):
        row.rank = k
    return Comparison(rows, varied_settings(rows, axes), notes)
