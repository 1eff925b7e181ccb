"""Training and evaluation logs in DeepRacer's formats, and a reader for local and cloud runs.

Every training run writes the deepracer-for-cloud (DRfC) **single-worker** layout into its run
folder, the layout deepracer-utils (``DeepRacerLog``) and the deepracer-analysis notebooks read::

    <run>/training-simtrace/<i>-iteration.csv     one per training iteration, i = 0, 1, 2, ...
    <run>/metrics/TrainingMetrics.json            training + in-training evaluation episodes
    <run>/logs/training.log                       the trainer's "Training>" / "Policy training>"
    <run>/evaluation-<YYYYmmddHHMMSS>/evaluation-simtrace/0-iteration.csv   (evaluate.py)
    <run>/metrics/EvaluationMetrics-<YYYYmmddHHMMSS>.json                   (evaluate.py)

(``model/model_metadata.json``, ``ip/hyperparameters.json`` and ``reward_function.py`` are
written by :mod:`deepracer_sim.training`.)

Sim-trace semantics follow the simapp (spec §7, ``log-formats-and-analysis.md`` §2.1): the
19-column header of the current simapp; every episode starts with its ``prepare`` row (steps
1.0, reward 0.0); ``tstamp`` is the car's simulated clock in seconds (15 Hz steps); ``progress``
is exactly 100.0 on the ``lap_complete`` row; ``done``/``all_wheels_on_track`` are written
``True``/``False``; ``yaw``/``steer`` in degrees, ``throttle`` in m/s; ``action`` is the
discrete index or ``[steer speed]`` for a continuous space; ``X``/``Y`` are the params' x, y
(the reference point); ``done`` is True on the last row of every episode, including ``time_up``.

Design decisions
----------------
**One merged stream, not one worker per car.** deepracer-utils supports at most 10 workers
(single-character worker folders) while training runs up to dozens of cars; and with several
workers the notebooks group by ``unique_episode``, which deepracer-utils derives as
``episode % E_w + (episodes of workers before w) + iteration * E`` with ``E_w`` taken from
iteration 0 -- exact only when every worker runs the same number of episodes in every
iteration. DeepRacer iterations are a fixed number of episodes; ours (PPO) are a fixed number
of *steps*, so episodes per iteration vary (typically 30-40 in one iteration, 36 in the next)
and per car they vary even more. All cars therefore go into one single-worker stream, in
which each episode is one ``episode`` number (single-worker analysis groups by
``(iteration, episode)``, exact for any counts).

**Episode numbering in blocks.** Even with one worker, ``unique_episode`` (and deepracer-utils'
TrainingMetrics, which derives ``iteration = (episode - 1) // max(trial)``) assume a constant
number of episodes per iteration. A PPO iteration with more episodes than iteration 0 would
make two episodes share a ``unique_episode`` (pigeonhole: iteration i only gets ``E`` ids), and
contiguous numbering puts TrainingMetrics episodes into the wrong iteration. So episode numbers
are ``iteration * K + k``: ``k`` is the 0-based index of the episode in its iteration (in the
order the episodes ended) and ``K`` is the largest number of episodes any iteration has had
(the analogue of ``num_episodes_between_training``). The last episode of iteration 0 takes
``k = K - 1``, because deepracer-utils reads the block size from iteration 0 (the CSV's
largest episode number + 1, the JSON's largest ``trial``). With this numbering deepracer-utils'
``unique_episode`` equals ``episode`` and its TrainingMetrics iteration equals ours, for every
run; the price is gaps in the (still 0-based, increasing) episode numbers. When an iteration
has more episodes than ``K``, ``K`` grows and the files already written are renumbered
(rare: the untrained policy of iteration 0 usually has the shortest episodes). The text log
counts episodes contiguously (it is append-only and names the iteration on every line).

**Which iteration an episode belongs to:** the one during which it ended, as
:class:`~deepracer_sim.training.IterationStats` counts them (so the logs and the trainer's own
numbers agree). Rows are buffered per car until the episode ends; an episode still running when
an iteration ends is written with the iteration in which it ends. When training stops normally,
the episodes the step budget cut off are not written (they have no end, and no iteration counts
them); when a stop signal, the episode limit or a crash cuts a rollout off, :meth:`flush
<TrainingLogger.flush>` writes everything buffered into one last file, unfinished episodes
included (their last row is ``in_progress``), and training saves the policy that drove them
as the next checkpoint (iteration ``i``'s episodes are driven by checkpoint ``i``).

**Crash safety.** Every file is written atomically (:mod:`deepracer_sim.formats.files`); the
text log grows by whole lines. The logger's own state changes only after an iteration's
sim-trace file is written, so an exception part-way (a KeyboardInterrupt raised inside the
write, a full disk) never leaves it counting an iteration whose file is missing. A resumed run
continues the logs from the snapshot recorded with its last checkpoint
(:mod:`deepracer_sim.logs.continued`).

**Cost.** Per step the logger copies the (N, NR) record array, the rewards and the actions into
preallocated buffers; formatting and writing happen once per iteration (column-wise ``repr``,
one ``write``). ``TrainingMetrics.json`` is rewritten after every iteration (as the simapp
rewrites it after every episode) from cached per-iteration strings.

**Text logs.** No ``SIM_TRACE_LOG`` robomaker log is written during training: deepracer-utils
reads DRfC runs from the CSVs (its robomaker-log path is for console downloads), the text would
double the logging cost, and log-guru needs far more of the robomaker log than the trace lines.
:func:`write_robomaker_log` converts a run's CSVs into one on demand (SimulationLogsIO format,
with ``num_episodes_between_training = K`` so text-log tools derive the right iterations).

**In-training evaluation** episodes (``IterationStats.eval_laps``) go into TrainingMetrics.json
as ``phase: "evaluation"`` entries after their iteration's training entries, repeating the
iteration's last training ``episode``/``trial`` as the simapp does, with the reward the reward
function paid during the evaluation lap. They are not in the CSVs (as in DeepRacer).
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np

from deepracer_sim.constants import STATUS_CODES, STATUS_LABELS, STEP_DT
from deepracer_sim.errors import DeepRacerSimWarning
from deepracer_sim.formats.files import append_text, atomic_write_text
from deepracer_sim.formats.run_folder import EVALUATION_SIMTRACE_DIR, SIMTRACE_SUFFIX, RunFolder
from deepracer_sim.formats.simtrace import SIMTRACE_HEADER
from deepracer_sim.logs.continued import continued_logs, renumber_simtraces
from deepracer_sim.logs.events import EpisodeObserver, IterationStats, TrainingObserver
from deepracer_sim.logs.rows import (
    METRICS_TAIL,
    EpisodeBlock,
    StepRecorder,
    StepRows,
    action_strings,
    episode_numbers,
    format_rows,
    ms,
    split_episodes,
)
from deepracer_sim.sim import layout


# ------------------------------------------------------------------------------------------
# training logger
# ------------------------------------------------------------------------------------------
class TrainingLogger(TrainingObserver):
    """Writes a training run's sim-trace CSVs, TrainingMetrics.json and text log (see the
    module docstring for the layout, the numbering and the cost)."""

    def __init__(self) -> None:
        self.root: Path | None = None
        self.recorder: StepRecorder | None = None
        self.leftover = StepRows.empty()
        self.k = 0  # block size: the largest number of episodes of an iteration so far
        self.counts: list[int] = []  # episodes per written iteration
        self.training_entries: list[list[tuple]] = []  # per iteration: per-episode values
        self.eval_entries: list[list[tuple]] = []
        self._json_cache: dict[int, str] = {}
        self.clock = 0.0  # simulated clock at the end of the last written iteration, s
        self.total_episodes = 0
        self.total_steps = 0
        self.continuous = False
        self.car_track_len = np.zeros(0)  # centre-line length of each car's track, m
        self.n_epochs = 1
        self.finished = False

    # paths
    @property
    def folder(self) -> RunFolder:
        """The run folder (:meth:`on_start` sets it).

        Raises:
            RuntimeError: before :meth:`on_start`.
        """
        if self.root is None:
            raise RuntimeError("TrainingLogger: on_start has not been called")
        return RunFolder(self.root)

    @property
    def simtrace_dir(self) -> Path:
        return self.folder.training_simtrace_dir

    @property
    def metrics_path(self) -> Path:
        return self.folder.training_metrics

    @property
    def text_log(self) -> Path:
        return self.folder.training_log

    def on_start(self, run: RunFolder, env, model) -> None:
        self.root = Path(run.root)
        self.simtrace_dir.mkdir(parents=True, exist_ok=True)
        self.metrics_path.parent.mkdir(parents=True, exist_ok=True)
        self.text_log.parent.mkdir(parents=True, exist_ok=True)
        if not self.text_log.exists():
            atomic_write_text(self.text_log, "")
        # each car's own track (cars on several tracks: envs.multitrack)
        self.car_track_len = np.array([float(t.length) for t in getattr(env, "car_tracks", None)
                                       or [env.track] * env.num_envs])
        self.continuous = bool(env.deepracer_action_space.continuous)
        self.n_epochs = int(getattr(model, "n_epochs", 1) or 1)
        self.recorder = StepRecorder(env.num_envs, int(getattr(model, "n_steps", 256) or 256))
        env.listeners.append(self.recorder)

    def on_iteration(self, stats: IterationStats) -> None:
        self._write_iteration(stats, flush_all=False)

    @property
    def pending(self) -> bool:
        """Whether steps were recorded since the last written iteration (a rollout cut off)."""
        return self.recorder is not None and self.recorder.t > 0

    def flush(self) -> bool:
        """Write the steps recorded since the last iteration, with the episodes still running
        from before it, as one more iteration (unfinished episodes end with an
        ``in_progress`` row); returns whether anything was written. Episodes still running at
        the last update with no step since are left out, as at a normal end."""
        if not self.pending:
            return False
        self._write_iteration(None, flush_all=True)
        return True

    def on_end(self, interrupted: bool) -> None:
        if self.finished or self.recorder is None:
            return
        self.finished = True
        if interrupted:
            self.flush()

    # ---------------------------------------------------------------------------------------
    # continuing a run (train --resume)
    def snapshot(self) -> dict:
        """What :meth:`restore` needs to continue these logs (JSON-able): iterations written,
        episodes per iteration (training and evaluation), the block size, the text log's
        counters and the simulated clock."""
        return {"iterations": len(self.counts), "block_size": self.k,
                "counts": list(self.counts), "eval_counts": [len(e) for e in self.eval_entries],
                "episodes": self.total_episodes, "episode_steps": self.total_steps,
                "clock": self.clock}

    def restore(self, run: RunFolder, snapshot: dict) -> None:
        """Continue the logs of ``run`` as they were at ``snapshot`` (call before
        :meth:`on_start`): later sim-trace files are removed, the sim-traces' episode numbers
        are made consistent again, and TrainingMetrics.json's entries of the first
        ``snapshot["iterations"]`` iterations are kept (the text log is cut back by the caller).

        Raises:
            RunFolderError: the logs do not hold what the snapshot says.
        """
        self.root = Path(run.root)
        state = continued_logs(run, snapshot)
        self.k = state.block_size
        self.counts = state.counts
        self.training_entries = state.training
        self.eval_entries = state.evaluation
        self._json_cache.clear()
        self.total_episodes = int(snapshot["episodes"])
        self.total_steps = int(snapshot["episode_steps"])
        self.clock = float(snapshot["clock"])

    # ---------------------------------------------------------------------------------------
    def _write_iteration(self, stats: IterationStats | None, flush_all: bool) -> None:
        """Write iteration ``len(self.counts)``; the logger's own state changes only after its
        sim-trace file is written, so an interruption part-way leaves it consistent."""
        if self.recorder is None:
            raise RuntimeError("TrainingLogger: on_start has not been called")
        rows = StepRows.concat(self.leftover, self.recorder.drain())
        self.leftover = rows  # until the iteration is written: an interruption keeps them
        block, leftover = split_episodes(rows, flush_all)
        if flush_all:
            leftover = StepRows.empty()
        i = len(self.counts)
        n = block.count
        new_k = max(self.k, n, 1)
        if new_k != self.k and i > 0:
            renumber_simtraces(self.simtrace_dir, self.counts, new_k)
        ids = episode_numbers(i, n, new_k)
        row_ids = ids[block.index] if n else np.zeros(0, np.int64)
        text = SIMTRACE_HEADER + "\n" + format_rows(
            block.rows.rec, row_ids, block.rows.rewards,
            action_strings(block.rows.rec, block.rows.actions, self.continuous),
            block.rows.wall, self.car_track_len[block.rows.car])
        atomic_write_text(self.simtrace_dir / f"{i}{SIMTRACE_SUFFIX}", text)
        clock = self.clock
        if len(rows):
            clock = max(clock, float(rows.rec[:, layout.R_TSTAMP].max()) + STEP_DT)
        entries = [
            (float(block.reward[e]), ms(block.first_tstamp[e]), ms(block.last_tstamp[e]),
             float(block.progress[e]), block.status[e])
            for e in range(n)
        ]
        start = ms(clock)
        evals = [(float(lap.reward), start, start + ms(lap.lap_time), float(lap.progress),
                  lap.status) for lap in (stats.eval_laps if stats is not None else [])]
        if new_k != self.k:
            self.k = new_k
            self._json_cache.clear()
        self.leftover = leftover
        self.clock = clock
        self.counts.append(n)
        self.training_entries.append(entries)
        self.eval_entries.append(evals)
        self._write_metrics()
        self._append_text_log(i, block, stats)

    def _iteration_json(self, it: int) -> str:
        cached = self._json_cache.get(it)
        if cached is not None:
            return cached
        count = self.counts[it]
        ids = episode_numbers(it, count, self.k)
        parts = []
        for e, (reward, start, end, progress, status) in enumerate(self.training_entries[it]):
            episode = int(ids[e]) + 1
            parts.append(json.dumps({
                "reward_score": round(reward), "metric_time": end, "start_time": start,
                "elapsed_time_in_milliseconds": end - start, "episode": episode,
                "trial": episode - it * self.k, "phase": "training",
                "completion_percentage": int(progress),
                "episode_status": STATUS_LABELS.get(status, status)}))
        last = int(ids[-1]) + 1 if count else it * self.k + 1
        for reward, start, end, progress, status in self.eval_entries[it]:
            parts.append(json.dumps({
                "reward_score": round(reward), "metric_time": end, "start_time": start,
                "elapsed_time_in_milliseconds": end - start, "episode": last,
                "trial": last - it * self.k, "phase": "evaluation",
                "completion_percentage": int(progress),
                "episode_status": STATUS_LABELS.get(status, status)}))
        text = ", ".join(parts)
        self._json_cache[it] = text
        return text

    def _write_metrics(self) -> None:
        parts = [self._iteration_json(it) for it in range(len(self.counts))]
        body = ", ".join(p for p in parts if p)
        atomic_write_text(self.metrics_path, '{"metrics": [' + body + METRICS_TAIL)

    def _append_text_log(self, it: int, block: EpisodeBlock, stats: IterationStats | None) -> None:
        lines = []
        for e in range(block.count):
            self.total_episodes += 1
            self.total_steps += int(block.steps[e])
            lines.append(f"Training> Name=main_level/agent, Worker=0, Episode={self.total_episodes}"
                         f", Total reward={block.reward[e]:.2f}, Steps={self.total_steps}, "
                         f"Training iteration={it}")
        losses = stats.losses if stats is not None else {}
        if "train/entropy_loss" in losses:
            lines.append(
                f"Policy training> Surrogate loss={losses.get('train/policy_gradient_loss', 0.0)}"
                f", KL divergence={losses.get('train/approx_kl', 0.0)}, "
                f"Entropy={-losses['train/entropy_loss']}, training epoch={self.n_epochs - 1}, "
                f"learning_rate={losses.get('train/learning_rate', 0.0)}")
        if lines:
            append_text(self.text_log, "\n".join(lines) + "\n")


# ------------------------------------------------------------------------------------------
# evaluation logger
# ------------------------------------------------------------------------------------------
class EvaluationLogger(EpisodeObserver):
    """Writes ``evaluation-<stamp>/evaluation-simtrace/0-iteration.csv`` (episode = lap index,
    every lap from its own ``prepare`` row) and ``metrics/EvaluationMetrics-<stamp>.json``.

    The laps run side by side in one simulation, so every lap's ``tstamp`` starts at 0.0 and
    the metrics' ``start_time`` is 0 for every trial. An evaluation episode ends at its first
    off-track / reversed / immobilized (no reset-and-continue), so each count is 0 or 1 and
    ``reset_count`` is 0.
    """

    def __init__(self, run_dir: str | Path, stamp: str) -> None:
        self.run_dir = Path(run_dir)
        self.stamp = stamp
        self.chunks: list[StepRows] = []
        self.continuous = False
        self.track_len = 0.0

    @property
    def simtrace_path(self) -> Path:
        return (RunFolder(self.run_dir).evaluation_dir(self.stamp) / EVALUATION_SIMTRACE_DIR
                / f"0{SIMTRACE_SUFFIX}")

    @property
    def metrics_path(self) -> Path:
        return RunFolder(self.run_dir).evaluation_metrics(self.stamp)

    def on_start(self, simulator, track, action_space) -> None:
        self.chunks = []
        self.continuous = bool(action_space.continuous)
        self.track_len = float(track.length)

    def on_step(self, rec, actions, rewards, active) -> None:
        idx = np.flatnonzero(active)
        acts = np.zeros(len(idx), np.int64)
        if not self.continuous:
            acts = np.asarray(actions).reshape(-1)[idx].astype(np.int64)
        self.chunks.append(StepRows(rec[idx].copy(), np.asarray(rewards, float)[idx].copy(), acts,
                                 np.full(len(idx), time.time()), idx.astype(np.int64)))

    def on_end(self, results) -> None:
        """Write the logs; a folder that cannot be written (read-only, full) is a warning: the
        laps still reach the caller."""
        rows = StepRows.empty()
        for chunk in self.chunks:
            rows = StepRows.concat(rows, chunk)
        order = np.lexsort((rows.rec[:, layout.R_STEPS], rows.car))
        rows = rows.take(order)
        try:
            self._write(rows)
        except OSError as exc:
            warnings.warn(f"{self.run_dir}: the evaluation logs were not written "
                          f"({exc.strerror or exc}: {exc.filename or self.run_dir}); the laps "
                          "are reported, their sim-trace and metrics are not kept (evaluate a "
                          "copy of the run in a folder you can write to, to keep them)",
                          DeepRacerSimWarning, stacklevel=2)

    def _write(self, rows: StepRows) -> None:
        self.simtrace_path.parent.mkdir(parents=True, exist_ok=True)
        text = SIMTRACE_HEADER + "\n" + format_rows(
            rows.rec, rows.car, rows.rewards,
            action_strings(rows.rec, rows.actions, self.continuous), rows.wall, self.track_len)
        atomic_write_text(self.simtrace_path, text)
        entries = []
        for lap in range(int(rows.car.max()) + 1 if len(rows) else 0):
            r = rows.rec[rows.car == lap]
            status = STATUS_CODES[int(r[-1, layout.R_STATUS])]
            start, end = ms(r[0, layout.R_TSTAMP]), ms(r[-1, layout.R_TSTAMP])
            entries.append({
                "completion_percentage": int(r[-1, layout.R_PROGRESS]), "metric_time": end,
                "start_time": start, "elapsed_time_in_milliseconds": end - start,
                "episode_status": STATUS_LABELS.get(status, status), "crash_count": 0,
                "immobilized_count": int(status == "immobilized"),
                "off_track_count": int(status == "off_track"),
                "reversed_count": int(status == "reversed"), "reset_count": 0,
                "trial": lap + 1})
        self.metrics_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.metrics_path, json.dumps({"metrics": entries}) + "\n")

