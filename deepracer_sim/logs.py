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
them); after Ctrl-C or a crash, ``on_end`` flushes everything buffered into one last file,
unfinished episodes included (their last row is ``in_progress``).

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

import contextlib
import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import sim
from .constants import STATUS_CODES, STEP_DT
from .evaluation import EpisodeObserver
from .simtrace import SIMTRACE_COLUMNS, read_simtrace
from .training import IterationStats, RunFolder, TrainingObserver

#: The header line of the current simapp (19 columns).
SIMTRACE_HEADER = ",".join(SIMTRACE_COLUMNS)
#: TrainingMetrics / EvaluationMetrics ``episode_status`` labels (simapp ``EpisodeStatus``).
STATUS_LABELS = {
    "prepare": "Prepare", "in_progress": "In progress", "lap_complete": "Lap complete",
    "off_track": "Off track", "crashed": "Crashed", "reversed": "Reversed",
    "immobilized": "Immobilized", "time_up": "Time Up", "pause": "Pause", "park": "Park",
}
_STATUS_ARRAY = np.array(STATUS_CODES, dtype=object)
_METRICS_TAIL = '], "version": 2.0, "best_model_metric": "progress"}\n'


# ------------------------------------------------------------------------------------------
# formatting
# ------------------------------------------------------------------------------------------
def _strs(values) -> list[str]:
    """``str()`` of every element (Python reprs, as the simapp writes them), fast: the list's
    repr is built in C."""
    values = values.tolist() if isinstance(values, np.ndarray) else list(values)
    if not values:
        return []
    return repr(values)[1:-1].split(", ")


def _strs_few(values: np.ndarray) -> list[str]:
    """:func:`_strs` for a column with few distinct values (each is formatted once)."""
    if len(values) == 0:
        return []
    uniq, inverse = np.unique(values, return_inverse=True)
    return np.array(_strs(uniq), dtype=object)[inverse.reshape(-1)].tolist()


def _bools(mask: np.ndarray) -> list[str]:
    return np.where(mask, "True", "False").tolist()


def format_rows(rec: np.ndarray, episodes: np.ndarray, rewards: np.ndarray,
                actions: list[str], wall: np.ndarray, track_len: float) -> str:
    """Sim-trace CSV lines (no header) for step records ``rec`` (M, NR) (``sim.R_*``).

    Args:
        episodes: (M,) episode numbers; rewards: (M,); actions: (M,) the action column text;
        wall: (M,) wall clock, epoch seconds; track_len: centre-line length, m.
    """
    m = len(rec)
    if m == 0:
        return ""
    done = (rec[:, sim.R_DONE] > 0.5) | (rec[:, sim.R_TRUNCATED] > 0.5)
    # columns with few distinct values (steps, actions, shared clocks) are formatted per value
    cols = [
        _strs_few(episodes.astype(np.int64)),
        _strs_few(rec[:, sim.R_STEPS]),
        _strs(rec[:, sim.R_X]),
        _strs(rec[:, sim.R_Y]),
        _strs(rec[:, sim.R_HEADING]),
        _strs_few(rec[:, sim.R_STEER]),
        _strs_few(rec[:, sim.R_SPEED]),
        actions,
        _strs_few(rewards.astype(np.float64)),
        _bools(done),
        _bools(rec[:, sim.R_ALL_WHEELS] > 0.5),
        _strs(rec[:, sim.R_PROGRESS]),
        _strs_few(rec[:, sim.R_CLOSEST_WP].astype(np.int64)),
        [repr(float(track_len))] * m,
        _strs_few(rec[:, sim.R_TSTAMP]),
        _STATUS_ARRAY[rec[:, sim.R_STATUS].astype(np.int64)].tolist(),
        ["0.0"] * m,
        ["0"] * m,
        _strs_few(wall),
    ]
    return "\n".join(map(",".join, zip(*cols, strict=True))) + "\n"


def action_strings(rec: np.ndarray, actions: np.ndarray | None, continuous: bool) -> list[str]:
    """The ``action`` column: the discrete index, or ``[steer speed]`` (space separated, as
    numpy prints it) of the commanded values for a continuous space."""
    if continuous or actions is None:
        steer = _strs_few(rec[:, sim.R_STEER])
        speed = _strs_few(rec[:, sim.R_SPEED])
        return [f"[{a} {b}]" for a, b in zip(steer, speed, strict=True)]
    return _strs_few(np.asarray(actions).reshape(-1).astype(np.int64))


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _ms(seconds: float) -> int:
    return round(float(seconds) * 1000.0)


# ------------------------------------------------------------------------------------------
# episode bookkeeping
# ------------------------------------------------------------------------------------------
@dataclass
class _Rows:
    """Flat step rows in chronological order (vec step, then car)."""

    rec: np.ndarray
    rewards: np.ndarray
    actions: np.ndarray
    wall: np.ndarray
    car: np.ndarray

    @classmethod
    def empty(cls, nr: int = sim.NR) -> _Rows:
        return cls(np.zeros((0, nr)), np.zeros(0), np.zeros(0, np.int64), np.zeros(0),
                   np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.rec)

    def take(self, idx: np.ndarray) -> _Rows:
        return _Rows(self.rec[idx], self.rewards[idx], self.actions[idx], self.wall[idx],
                     self.car[idx])

    @staticmethod
    def concat(a: _Rows, b: _Rows) -> _Rows:
        return _Rows(np.concatenate([a.rec, b.rec]), np.concatenate([a.rewards, b.rewards]),
                     np.concatenate([a.actions, b.actions]), np.concatenate([a.wall, b.wall]),
                     np.concatenate([a.car, b.car]))


@dataclass
class EpisodeBlock:
    """The episodes of one iteration, rows sorted by episode then step.

    Attributes:
        rows: the rows; index: (M,) 0-based index of each row's episode in the iteration.
        starts: (n,) first row of each episode; the rest are per-episode values.
    """

    rows: _Rows
    index: np.ndarray
    starts: np.ndarray
    reward: np.ndarray
    first_tstamp: np.ndarray
    last_tstamp: np.ndarray
    progress: np.ndarray
    status: list[str]
    steps: np.ndarray

    @property
    def count(self) -> int:
        return len(self.starts)


def split_episodes(rows: _Rows, flush_all: bool = False) -> tuple[EpisodeBlock, _Rows]:
    """Split rows into the episodes that ended (ordered by when they ended) and the rows of the
    episodes still running (``flush_all``: treat those as ended too, after the others)."""
    rec = rows.rec
    key = rows.car.astype(np.int64) * (1 << 32) + rec[:, sim.R_EPISODE].astype(np.int64)
    terminal = (rec[:, sim.R_DONE] > 0.5) | (rec[:, sim.R_TRUNCATED] > 0.5)
    end_keys = key[terminal]
    if flush_all:  # unfinished episodes end at their last buffered row, after the finished ones
        rest = ~np.isin(key, end_keys)
        last = {}
        for pos in np.flatnonzero(rest):
            last[key[pos]] = pos
        extra = sorted(last, key=last.get)
        end_keys = np.concatenate([end_keys, np.array(extra, dtype=np.int64)])
    order = np.argsort(end_keys, kind="stable")
    sorted_keys = end_keys[order]
    pos = np.searchsorted(sorted_keys, key)
    pos_c = np.minimum(pos, max(len(sorted_keys) - 1, 0))
    matched = (pos < len(sorted_keys)) & (sorted_keys[pos_c] == key) if len(sorted_keys) \
        else np.zeros(len(key), dtype=bool)
    index_all = np.where(matched, order[pos_c] if len(sorted_keys) else 0, -1)
    finished = np.flatnonzero(matched)
    finished = finished[np.argsort(index_all[finished], kind="stable")]
    block_rows = rows.take(finished)
    index = index_all[finished]
    leftover = rows.take(np.flatnonzero(~matched))
    n = len(end_keys)
    if len(index):
        starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
    else:
        starts = np.zeros(0, dtype=np.int64)
    ends = np.r_[starts[1:], len(index)] - 1 if len(index) else starts
    assert len(starts) == n, "every episode that ended has rows"
    r = block_rows.rec
    block = EpisodeBlock(
        rows=block_rows, index=index, starts=starts,
        reward=np.add.reduceat(block_rows.rewards, starts) if n else np.zeros(0),
        first_tstamp=r[starts, sim.R_TSTAMP], last_tstamp=r[ends, sim.R_TSTAMP],
        progress=r[ends, sim.R_PROGRESS],
        status=_STATUS_ARRAY[r[ends, sim.R_STATUS].astype(np.int64)].tolist(),
        steps=r[ends, sim.R_STEPS],
    )
    return block, leftover


def episode_numbers(iteration: int, count: int, k: int) -> np.ndarray:
    """Episode numbers (0-based) of the ``count`` episodes of ``iteration`` with block size
    ``k``: ``iteration * k + index``, except that the last episode of iteration 0 is ``k - 1``
    (see the module docstring)."""
    slots = np.arange(count, dtype=np.int64)
    if iteration == 0 and count:
        slots[count - 1] = k - 1
    return iteration * k + slots


class _StepRecorder:
    """Preallocated per-step copies of the vec env's records, rewards and actions."""

    def __init__(self, n: int, capacity: int = 256) -> None:
        self.n = n
        self.t = 0
        self._alloc(max(capacity, 1))

    def _alloc(self, cap: int) -> None:
        self.rec = np.zeros((cap, self.n, sim.NR))
        self.rewards = np.zeros((cap, self.n))
        self.actions = np.zeros((cap, self.n), dtype=np.int64)
        self.wall = np.zeros(cap)

    def __call__(self, venv, actions, rewards) -> None:
        t = self.t
        if t == len(self.wall):
            old = (self.rec, self.rewards, self.actions, self.wall)
            self._alloc(2 * t)
            self.rec[:t], self.rewards[:t], self.actions[:t], self.wall[:t] = old
        self.rec[t] = venv.sim.rec
        self.rewards[t] = rewards
        if actions is not None and np.ndim(actions) == 1:
            self.actions[t] = actions
        self.wall[t] = time.time()
        self.t = t + 1

    def drain(self) -> _Rows:
        t, n = self.t, self.n
        self.t = 0
        return _Rows(self.rec[:t].reshape(t * n, sim.NR).copy(),
                     self.rewards[:t].reshape(-1).copy(), self.actions[:t].reshape(-1).copy(),
                     np.repeat(self.wall[:t], n), np.tile(np.arange(n), t))


# ------------------------------------------------------------------------------------------
# training logger
# ------------------------------------------------------------------------------------------
class TrainingLogger(TrainingObserver):
    """Writes a training run's sim-trace CSVs, TrainingMetrics.json and text log (see the
    module docstring for the layout, the numbering and the cost)."""

    def __init__(self) -> None:
        self.root: Path | None = None
        self.recorder: _StepRecorder | None = None
        self.leftover = _Rows.empty()
        self.k = 0  # block size: the largest number of episodes of an iteration so far
        self.counts: list[int] = []  # episodes per written iteration
        self.training_entries: list[list[tuple]] = []  # per iteration: per-episode values
        self.eval_entries: list[list[tuple]] = []
        self._json_cache: dict[int, str] = {}
        self.clock = 0.0  # simulated clock at the end of the last written iteration, s
        self.total_episodes = 0
        self.total_steps = 0
        self.continuous = False
        self.track_len = 0.0
        self.n_epochs = 1
        self.finished = False

    # paths
    @property
    def simtrace_dir(self) -> Path:
        return self.root / "training-simtrace"

    @property
    def metrics_path(self) -> Path:
        return self.root / "metrics" / "TrainingMetrics.json"

    @property
    def text_log(self) -> Path:
        return self.root / "logs" / "training.log"

    def on_start(self, run: RunFolder, env, model) -> None:
        self.root = Path(run.root)
        self.simtrace_dir.mkdir(parents=True, exist_ok=True)
        self.metrics_path.parent.mkdir(parents=True, exist_ok=True)
        self.text_log.parent.mkdir(parents=True, exist_ok=True)
        # files of an earlier run in the same folder would be read as part of this one
        for old in self.simtrace_dir.glob("*-iteration.csv"):
            old.unlink()
        self.metrics_path.unlink(missing_ok=True)
        self.text_log.write_text("")
        self.track_len = float(env.track.length)
        self.continuous = bool(env.deepracer_action_space.continuous)
        self.n_epochs = int(getattr(model, "n_epochs", 1) or 1)
        self.recorder = _StepRecorder(env.num_envs, int(getattr(model, "n_steps", 256) or 256))
        env.listeners.append(self.recorder)

    def on_iteration(self, stats: IterationStats) -> None:
        self._write_iteration(stats, flush_all=False)

    def on_end(self, interrupted: bool) -> None:
        if self.finished or self.recorder is None:
            return
        self.finished = True
        if interrupted and (self.recorder.t or len(self.leftover)):
            self._write_iteration(None, flush_all=True)

    # ---------------------------------------------------------------------------------------
    def _write_iteration(self, stats: IterationStats | None, flush_all: bool) -> None:
        rows = _Rows.concat(self.leftover, self.recorder.drain())
        block, self.leftover = split_episodes(rows, flush_all)
        if flush_all:
            self.leftover = _Rows.empty()
        i = len(self.counts)
        n = block.count
        self.counts.append(n)
        new_k = max(self.k, n, 1)
        if new_k != self.k:
            old_k = self.k
            self.k = new_k
            if i > 0:
                self._renumber(old_k, new_k)
            self._json_cache.clear()
        ids = episode_numbers(i, n, self.k)
        row_ids = ids[block.index] if n else np.zeros(0, np.int64)
        text = SIMTRACE_HEADER + "\n" + format_rows(
            block.rows.rec, row_ids, block.rows.rewards,
            action_strings(block.rows.rec, block.rows.actions, self.continuous),
            block.rows.wall, self.track_len)
        _atomic_write(self.simtrace_dir / f"{i}-iteration.csv", text)
        if len(rows):
            self.clock = max(self.clock, float(rows.rec[:, sim.R_TSTAMP].max()) + STEP_DT)
        entries = [
            (float(block.reward[e]), _ms(block.first_tstamp[e]), _ms(block.last_tstamp[e]),
             float(block.progress[e]), block.status[e])
            for e in range(n)
        ]
        self.training_entries.append(entries)
        evals = []
        start = _ms(self.clock)
        for lap in (stats.eval_laps if stats is not None else []):
            evals.append((float(lap.reward), start, start + _ms(lap.lap_time),
                          float(lap.progress), lap.status))
        self.eval_entries.append(evals)
        self._write_metrics()
        self._append_text_log(i, block, stats)

    def _renumber(self, old_k: int, new_k: int) -> None:
        """Rewrite the episode column of the files already written for block size ``new_k``."""
        for it, count in enumerate(self.counts[:-1]):
            if not count:
                continue
            old = episode_numbers(it, count, old_k)
            new = episode_numbers(it, count, new_k)
            mapping = {str(a): str(b) for a, b in zip(old.tolist(), new.tolist(), strict=True)}
            path = self.simtrace_dir / f"{it}-iteration.csv"
            lines = path.read_text().splitlines()
            out = [lines[0]]
            for line in lines[1:]:
                head, rest = line.split(",", 1)
                out.append(mapping[head] + "," + rest)
            _atomic_write(path, "\n".join(out) + "\n")

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
        _atomic_write(self.metrics_path, '{"metrics": [' + body + _METRICS_TAIL)

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
            with self.text_log.open("a") as fh:
                fh.write("\n".join(lines) + "\n")


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
        self.chunks: list[_Rows] = []
        self.continuous = False
        self.track_len = 0.0

    @property
    def simtrace_path(self) -> Path:
        return (self.run_dir / f"evaluation-{self.stamp}" / "evaluation-simtrace"
                / "0-iteration.csv")

    @property
    def metrics_path(self) -> Path:
        return self.run_dir / "metrics" / f"EvaluationMetrics-{self.stamp}.json"

    def on_start(self, simulator, track, action_space) -> None:
        self.chunks = []
        self.continuous = bool(action_space.continuous)
        self.track_len = float(track.length)

    def on_step(self, rec, actions, rewards, active) -> None:
        idx = np.flatnonzero(active)
        acts = np.zeros(len(idx), np.int64)
        if not self.continuous:
            acts = np.asarray(actions).reshape(-1)[idx].astype(np.int64)
        self.chunks.append(_Rows(rec[idx].copy(), np.asarray(rewards, float)[idx].copy(), acts,
                                 np.full(len(idx), time.time()), idx.astype(np.int64)))

    def on_end(self, results) -> None:
        rows = _Rows.empty()
        for chunk in self.chunks:
            rows = _Rows.concat(rows, chunk)
        order = np.lexsort((rows.rec[:, sim.R_STEPS], rows.car))
        rows = rows.take(order)
        self.simtrace_path.parent.mkdir(parents=True, exist_ok=True)
        text = SIMTRACE_HEADER + "\n" + format_rows(
            rows.rec, rows.car, rows.rewards,
            action_strings(rows.rec, rows.actions, self.continuous), rows.wall, self.track_len)
        _atomic_write(self.simtrace_path, text)
        entries = []
        for lap in range(int(rows.car.max()) + 1 if len(rows) else 0):
            r = rows.rec[rows.car == lap]
            status = STATUS_CODES[int(r[-1, sim.R_STATUS])]
            start, end = _ms(r[0, sim.R_TSTAMP]), _ms(r[-1, sim.R_TSTAMP])
            entries.append({
                "completion_percentage": int(r[-1, sim.R_PROGRESS]), "metric_time": end,
                "start_time": start, "elapsed_time_in_milliseconds": end - start,
                "episode_status": STATUS_LABELS.get(status, status), "crash_count": 0,
                "immobilized_count": int(status == "immobilized"),
                "off_track_count": int(status == "off_track"),
                "reversed_count": int(status == "reversed"), "reset_count": 0,
                "trial": lap + 1})
        self.metrics_path.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(self.metrics_path, json.dumps({"metrics": entries}) + "\n")


# ------------------------------------------------------------------------------------------
# reader
# ------------------------------------------------------------------------------------------
@dataclass
class Trace:
    """Sim-trace rows of one stream: the CSV columns (``read_simtrace`` names and types) plus
    ``iteration`` (from the file name) and ``worker`` (from a DRfC worker folder, else 0),
    sorted by worker, iteration, episode and step; ``episodes``: :func:`episode_table`."""

    name: str
    columns: dict[str, np.ndarray]
    episodes: dict[str, np.ndarray]
    files: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.columns.get("episode", ()))


@dataclass
class RunLogs:
    """Everything :func:`read_run` found in a run folder (any of them may be empty/None).

    Attributes:
        layout: "drfc-single", "drfc-multi", "droa", "console" or "none" (no training trace).
        training: the training trace; evaluations: one trace per evaluation run.
        training_metrics: TrainingMetrics entries with ``worker`` and the ``iteration``
            deepracer-utils derives (``(episode - 1) // max(trial)`` per file).
        evaluation_metrics: {stream name: entries}.
        iterations: ``metrics/iterations.jsonl`` lines (this project's trainer).
        policy: per-iteration "Policy training>" values (entropy, kl, surrogate) from text logs.
        world_name: WORLD_NAME from a text log, if any.
    """

    root: Path
    layout: str
    training: Trace | None
    evaluations: list[Trace]
    training_metrics: list[dict]
    evaluation_metrics: dict[str, list[dict]]
    hyperparameters: dict | None
    model_metadata: dict | None
    run_config: dict | None
    checkpoints: dict | None
    iterations: list[dict]
    policy: list[dict]
    world_name: str | None


_ITER_RE = re.compile(r"^(\d+)-iteration\.csv$")


def _iteration_of(path: Path) -> int:
    m = _ITER_RE.match(path.name)
    return int(m.group(1)) if m else 0


def _concat_traces(parts: list[tuple[dict, int, int, str]]) -> dict[str, np.ndarray]:
    """Concatenate read_simtrace dicts (with their iteration, worker, stream) into one."""
    names: list[str] = []
    for cols, _, _, _ in parts:
        for name in cols:
            if name not in names:
                names.append(name)
    out: dict[str, list] = {name: [] for name in names}
    out.update(iteration=[], worker=[], stream=[])
    for cols, it, worker, stream in parts:
        m = len(cols["episode"])
        for name in names:
            if name in cols:
                out[name].append(cols[name])
            else:
                fill = np.zeros(m, bool) if name in ("done", "all_wheels_on_track") else \
                    np.full(m, np.nan) if name not in ("action", "episode_status") else \
                    np.full(m, "", dtype=object)
                out[name].append(fill)
        out["iteration"].append(np.full(m, it, np.int64))
        out["worker"].append(np.full(m, worker, np.int64))
        out["stream"].append(np.full(m, stream, dtype=object))
    res = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in out.items()}
    if len(res["episode"]):
        order = np.lexsort((res["steps"], res["episode"], res["iteration"], res["worker"]))
        res = {k: v[order] for k, v in res.items()}
    return res


def episode_table(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One row per episode, as deepracer-utils' ``simulation_agg`` computes it.

    Episodes are keyed by (worker, iteration, episode); ``time`` is the sum of ``tstamp``
    steps with the step arriving at a ``prepare`` row (the reset gap) left out -- so an
    evaluation lap without a ``prepare`` row (cloud evaluations drive on) includes the step
    from the previous lap's last row, as in deepracer-utils.

    Returns:
        {worker, iteration, episode, steps, start_at, progress (final), max_progress, time,
        reward (sum), speed (mean throttle), complete (progress == 100), status (final),
        first, last (row indices)}.
    """
    n = len(cols.get("episode", ()))
    if n == 0:
        return {k: np.zeros(0) for k in ("worker", "iteration", "episode", "steps", "start_at",
                                         "progress", "max_progress", "time", "reward", "speed",
                                         "complete", "first", "last")} | {"status": np.zeros(0,
                                                                                           object)}
    worker, it, ep = cols["worker"], cols["iteration"], cols["episode"]
    new = np.r_[True, (worker[1:] != worker[:-1]) | (it[1:] != it[:-1]) | (ep[1:] != ep[:-1])]
    first = np.flatnonzero(new)
    last = np.r_[first[1:], n] - 1
    status = cols["episode_status"]
    ts = cols["tstamp"]
    delta = np.r_[0.0, np.diff(ts)]
    same_stream = np.r_[False, (worker[1:] == worker[:-1]) & (it[1:] == it[:-1])
                        & (cols["stream"][1:] == cols["stream"][:-1])]
    delta[(status == "prepare") | ~same_stream] = 0.0
    reward = cols.get("reward", np.zeros(n))
    speed = cols.get("throttle", np.zeros(n))
    counts = last - first + 1
    progress = cols["progress"][last]
    max_progress = np.maximum.reduceat(cols["progress"], first)
    return {
        "worker": worker[first], "iteration": it[first], "episode": ep[first],
        "steps": counts, "start_at": cols["closest_waypoint"][first],
        "progress": progress, "max_progress": max_progress,
        "time": np.add.reduceat(delta, first), "reward": np.add.reduceat(reward, first),
        "speed": np.add.reduceat(speed, first) / counts,
        "complete": max_progress == 100.0, "status": status[last],
        "first": first, "last": last,
    }


def _read_trace(name: str, files: list[tuple[Path, int, int, str]]) -> Trace | None:
    if not files:
        return None
    parts = [(read_simtrace(path), it, worker, stream) for path, it, worker, stream in files]
    cols = _concat_traces(parts)
    return Trace(name, cols, episode_table(cols), [f[0] for f in files])


def _json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _training_files(root: Path) -> tuple[str, list[tuple[Path, int, int, str]]]:
    def files_in(folder: Path, worker: int) -> list[tuple[Path, int, int, str]]:
        return [(p, _iteration_of(p), worker, "training")
                for p in sorted(folder.glob("*-iteration.csv"), key=_iteration_of)]

    if (root / "sim-trace" / "training" / "training-simtrace").is_dir():
        return "console", files_in(root / "sim-trace" / "training" / "training-simtrace", 0)
    if (root / "sim-trace").is_dir():
        out = []
        for job in sorted((root / "sim-trace" / "training").glob("*/training-simtrace")):
            out += files_in(job, 0)
        return "droa", out
    if (root / "training-simtrace").is_dir():
        return "drfc-single", files_in(root / "training-simtrace", 0)
    workers = sorted((p for p in root.iterdir() if p.name.isdigit()
                      and (p / "training-simtrace").is_dir()), key=lambda p: int(p.name)) \
        if root.is_dir() else []
    if workers:
        out = []
        for w in workers:
            out += files_in(w / "training-simtrace", int(w.name))
        return "drfc-multi", out
    return "none", []


def _evaluation_files(root: Path) -> list[tuple[str, list[tuple[Path, int, int, str]]]]:
    runs = []
    for folder in sorted(root.glob("evaluation-*/evaluation-simtrace")):
        runs.append(folder.parent.name)
    for folder in sorted(root.glob("sim-trace/evaluation/*/evaluation-simtrace")):
        runs.append(str(folder.parent.relative_to(root)))
    out = []
    for name in runs:
        folder = root / name / "evaluation-simtrace"
        files = [(p, _iteration_of(p), 0, name)
                 for p in sorted(folder.glob("*-iteration.csv"), key=_iteration_of)]
        if files:
            out.append((Path(name).name, files))
    return out


def _training_metrics(root: Path) -> list[dict]:
    files = sorted((root / "metrics").glob("TrainingMetrics*.json"))
    files += sorted((root / "metrics" / "training").glob("*.json"))
    entries = []
    for path in files:
        m = re.match(r"TrainingMetrics_(\d+)\.json$", path.name)
        worker = int(m.group(1)) if m else 0
        data = _json(path)
        metrics = data.get("metrics") if isinstance(data, dict) else None
        if not metrics:
            continue
        per_iteration = max(int(e.get("trial", 1)) for e in metrics) or 1
        for e in metrics:
            entries.append({**e, "worker": worker,
                            "iteration": (int(e["episode"]) - 1) // per_iteration})
    return entries


def _evaluation_metrics(root: Path) -> dict[str, list[dict]]:
    out = {}
    paths = sorted((root / "metrics").glob("EvaluationMetrics-*.json"))
    paths += sorted((root / "metrics" / "evaluation").glob("*.json"))
    for path in paths:
        data = _json(path)
        if isinstance(data, dict) and isinstance(data.get("metrics"), list):
            name = path.stem.replace("EvaluationMetrics-", "evaluation-")
            out[name] = data["metrics"]
    return out


_POLICY_RE = re.compile(r"Policy training> Surrogate loss=([-\d.eE+naif]+), KL divergence="
                        r"([-\d.eE+naif]+), Entropy=([-\d.eE+naif]+), training epoch=(\d+)")
_ITER_LINE_RE = re.compile(r"Training> .*Training iteration=(\d+)")
_WORLD_RES = (re.compile(r"'WORLD_NAME': '([^']+)'"), re.compile(r"\* /WORLD_NAME: (\S+)"),
              re.compile(r"WORLD_NAME[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9_.-]+)"))


def _text_logs(root: Path) -> tuple[list[dict], str | None]:
    """Per-iteration mean of the "Policy training>" values, and the WORLD_NAME, from the text
    logs of the run (ours: logs/training.log; console/DRoA: logs/training/*.log)."""
    paths = [root / "logs" / "training.log", *sorted((root / "logs" / "training").glob("*.log"))]
    world = None
    policy: dict[int, list[tuple[float, float, float]]] = {}
    for path in paths:
        if not path.is_file():
            continue
        iteration = 0
        with path.open(errors="replace") as fh:
            for line in fh:
                if world is None and "WORLD_NAME" in line:
                    for rx in _WORLD_RES:
                        m = rx.search(line)
                        if m:
                            world = m.group(1)
                            break
                m = _ITER_LINE_RE.search(line)
                if m:
                    iteration = int(m.group(1))
                    continue
                m = _POLICY_RE.search(line)
                if m:
                    vals = tuple(float(m.group(k)) for k in (1, 2, 3))
                    policy.setdefault(iteration, []).append(vals)
    rows = [{"iteration": it, "surrogate": float(np.mean([v[0] for v in vals])),
             "kl": float(np.mean([v[1] for v in vals])),
             "entropy": float(np.mean([v[2] for v in vals]))}
            for it, vals in sorted(policy.items())]
    return rows, world


def read_run(folder: str | Path) -> RunLogs:
    """Read the logs of a run folder: this project's, deepracer-for-cloud's (single or
    multi-worker), DeepRacer-on-AWS's or a console download (sim-traces of 17, 18 or 19
    columns).

    Raises:
        FileNotFoundError: ``folder`` is not a directory.
    """
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder")
    layout, files = _training_files(root)
    training = _read_trace("training", files)
    evaluations = [t for name, ef in _evaluation_files(root)
                   if (t := _read_trace(name, ef)) is not None]
    iterations = []
    jsonl = root / "metrics" / "iterations.jsonl"
    if jsonl.is_file():
        for line in jsonl.read_text().splitlines():
            if line.strip():
                with contextlib.suppress(ValueError):
                    iterations.append(json.loads(line))
    policy, world = _text_logs(root)
    if iterations and iterations[0].get("entropy_loss") is not None:  # exact per iteration
        policy = [{"iteration": r["iteration"], "entropy": -r["entropy_loss"],
                   "kl": r.get("approx_kl", math.nan),
                   "surrogate": r.get("policy_gradient_loss", math.nan)}
                  for r in iterations if r.get("entropy_loss") is not None]
    return RunLogs(
        root=root, layout=layout, training=training, evaluations=evaluations,
        training_metrics=_training_metrics(root), evaluation_metrics=_evaluation_metrics(root),
        hyperparameters=_json(root / "ip" / "hyperparameters.json"),
        model_metadata=_json(root / "model" / "model_metadata.json"),
        run_config=_json(root / "run_config.json"),
        checkpoints=_json(root / "model" / "deepracer_checkpoints.json"),
        iterations=iterations, policy=policy, world_name=world)


# ------------------------------------------------------------------------------------------
# robomaker-style text log, on demand
# ------------------------------------------------------------------------------------------
def _fmt_trace_line(row: dict) -> str:
    """One SIM_TRACE_LOG line in the simapp's ``sim_trace_log`` format."""
    # %d,%d,%.4f,%.4f,%.4f,%.2f,%.2f,%s,%.4f,%s,%s,%.4f,%d,%.2f,%s,%s,%.2f,%d,%.4f
    return (f"SIM_TRACE_LOG:{int(row['episode'])},{int(row['steps'])},{row['X']:.4f},"
            f"{row['Y']:.4f},{row['yaw']:.4f},{row['steer']:.2f},{row['throttle']:.2f},"
            f"{row['action']},{row['reward']:.4f},{row['done']},{row['all_wheels_on_track']},"
            f"{row['progress']:.4f},{int(row['closest_waypoint'])},{row['track_len']:.2f},"
            f"{row['tstamp']},{row['episode_status']},{row.get('pause_duration', 0.0):.2f},"
            f"{int(row.get('obstacle_crash_counter', 0))},{row.get('wall_clock', 0.0):.4f}")


def write_robomaker_log(run_dir: str | Path, out: str | Path) -> Path:
    """Write a robomaker-style text log of a run's training trace (``SIM_TRACE_LOG:`` lines,
    the hyperparameters block with ``num_episodes_between_training`` = the run's episodes per
    iteration, the action space, sensor and WORLD_NAME lines) for text-log tools such as
    deepracer-utils' ``SimulationLogsIO``.

    Raises:
        FileNotFoundError: no training trace in ``run_dir``.
    """
    logs = read_run(run_dir)
    if logs.training is None or not len(logs.training):
        raise FileNotFoundError(f"{run_dir}: no training-simtrace files")
    cols = logs.training.columns
    ep = logs.training.episodes
    per_iteration = int(ep["episode"][ep["iteration"] == 0].max()) + 1 \
        if (ep["iteration"] == 0).any() else 1
    hp = dict(logs.hyperparameters or {})
    hp["num_episodes_between_training"] = per_iteration
    meta = logs.model_metadata or {}
    lines = ["Using the following hyper-parameters", json.dumps(hp, indent=2, sort_keys=True)]
    space = meta.get("action_space")
    if isinstance(space, list):
        lines.append(f"Loaded action space from file: {space}")
    sensors = meta.get("sensor", ["FRONT_FACING_CAMERA"])
    lines.append(f"Sensor list {sensors}, network "
                 f"{meta.get('neural_network', 'DEEP_CONVOLUTIONAL_NETWORK_SHALLOW')}, "
                 f"simapp_version {float(meta.get('version', 6))}, training_algorithm "
                 f"{meta.get('training_algorithm', 'clipped_ppo')}")
    world = (logs.run_config or {}).get("track")
    if world:
        lines.append(f" * /WORLD_NAME: {world}")
    names = [c for c in SIMTRACE_COLUMNS if c in cols]
    for k in range(len(cols["episode"])):
        row = {name: cols[name][k] for name in names}
        row["done"] = bool(row["done"])
        row["all_wheels_on_track"] = bool(row["all_wheels_on_track"])
        lines.append(_fmt_trace_line(row))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    return out
