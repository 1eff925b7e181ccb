"""``deepracer-sim analyze RUN_DIR [--out DIR]``: an HTML report of a training run.

Reads a run folder of this project, of deepracer-for-cloud (single or multi-worker), of
DeepRacer-on-AWS or a console download (:func:`deepracer_sim.logs.reader.read_run`) and writes
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
does (:func:`deepracer_sim.logs.reader.episode_table`). When the training trace has no completed lap
(e.g. a partial download), the lap-time plots use TrainingMetrics' ``Lap complete`` entries.

The track: ``--track`` (a name or ``.npy`` path), else the run's ``run_config.json``, else the
WORLD_NAME of a text log, else the track whose centre-line length matches the logs'
``track_len`` and whose waypoint numbers match the logged ``closest_waypoint`` best, searched in
``--tracks-dir`` and the folders of the track name lookup
(:func:`deepracer_sim.track.lookup.track_for_logs`). Without a track the plots are drawn
without borders.

The modules: :mod:`.data` (the track, series, lap times, tables), :mod:`.plots` (the
``plot_*`` functions), :mod:`.page` (the HTML page); this one builds the report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from deepracer_sim.errors import RunFolderError
from deepracer_sim.formats.files import atomic_write_bytes, atomic_write_text
from deepracer_sim.formats.run_folder import (
    CLOUD_SIMTRACE_DIR,
    EVALUATION_SIMTRACE_DIR,
    ITERATIONS_LOG,
    METRICS_DIR,
    SIMTRACE_SUFFIX,
    TRAINING_SIMTRACE_DIR,
    TRAINING_SUBDIR,
)
from deepracer_sim.logs.reader import read_run, rows_on_track
from deepracer_sim.logs.report.data import DPI, PLOT_NAMES, lap_times, summary, track_of
from deepracer_sim.logs.report.page import page
from deepracer_sim.logs.report.plots import (
    plot_action_sections,
    plot_evaluation_laps,
    plot_fastest_laps,
    plot_lap_time_histogram,
    plot_policy_update,
    plot_reward_heatmap,
    plot_speed_steering,
    plot_track_paths,
    plot_training_progress,
    png,
)
from deepracer_sim.track.model import Track

__all__ = ["DPI", "PLOT_NAMES", "REPORT_DIR", "Report", "build_report", "track_of"]

#: The report's folder in the run folder when no ``out`` is given.
REPORT_DIR = "report"

#: Where a training sim-trace is looked for (the error message of a run folder without one).
_EXPECTED_TRACES = (f"{TRAINING_SIMTRACE_DIR}/<i>{SIMTRACE_SUFFIX}, <w>/{TRAINING_SIMTRACE_DIR}/ "
                    f"or {CLOUD_SIMTRACE_DIR}/{TRAINING_SUBDIR}/.../{TRAINING_SIMTRACE_DIR}/")


@dataclass
class Report:
    """What :func:`build_report` made: the page, the PNGs by name, and why plots are missing."""

    html_path: Path
    plots: dict[str, bytes]
    skipped: dict[str, str]
    track: Track | None
    seconds: float = 0.0
    summary: dict = field(default_factory=dict)


def build_report(run_dir: str | Path, out: str | Path | None = None, track: str | None = None,
                 tracks_dir: str | Path | None = None, write_pngs: bool = True,
                 dpi: int = DPI) -> Report:
    """Read ``run_dir`` and write the report (see the module docstring); ``dpi`` of the PNGs.

    Raises:
        RunFolderError: not a folder, or no training sim-trace.
        TrackError: an unknown ``track``.
    """
    import matplotlib  # here, not at import: the command line loads this module

    matplotlib.use("Agg")
    t0 = time.perf_counter()
    logs = read_run(run_dir)
    if logs.training is None or not len(logs.training):
        raise RunFolderError(f"{run_dir}: no training sim-trace found (expected "
                             f"{_EXPECTED_TRACES})")
    trk = track_of(logs, track, tracks_dir)
    out_dir = Path(out) if out is not None else logs.root / REPORT_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    plots: dict[str, bytes] = {}
    skipped: dict[str, str] = {}
    if trk is not None:  # a run on several tracks: the report is the run's track's
        logs.training, other = rows_on_track(logs.training, float(trk.length))
        if other:
            skipped["other_tracks"] = (f"{other} training sim-trace rows driven on the run's "
                                       f"other training tracks (not {trk.name}) left out")
    it, times, source = lap_times(logs)

    def make(name: str, fn, *args) -> None:
        plots[name] = png(fn(*args), dpi)

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
        skipped["evaluation_laps"] = f"no {EVALUATION_SIMTRACE_DIR} in the run folder"
    if logs.policy:
        make("policy_update", plot_policy_update, logs)
    else:
        skipped["policy_update"] = (f"no entropy per iteration ({METRICS_DIR}/{ITERATIONS_LOG} "
                                    "or 'Policy training>' lines)")
    info = summary(logs, trk, times, source)
    html_path = out_dir / "index.html"
    atomic_write_text(html_path, page(logs, plots, skipped, info, times))
    if write_pngs:
        (out_dir / "plots").mkdir(exist_ok=True)
        for name, data in plots.items():
            atomic_write_bytes(out_dir / "plots" / f"{name}.png", data)
    return Report(html_path, plots, skipped, trk, time.perf_counter() - t0, info)
