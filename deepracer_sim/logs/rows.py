"""Sim-trace rows: formatting the kernel's step records as CSV text, and splitting the buffered
steps into episodes (see :mod:`deepracer_sim.logs.writer` for the design)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from deepracer_sim.constants import STATUS_CODES
from deepracer_sim.sim import layout

#: TrainingMetrics / EvaluationMetrics ``episode_status`` labels (simapp ``EpisodeStatus``).
_STATUS_ARRAY = np.array(STATUS_CODES, dtype=object)
METRICS_TAIL = '], "version": 2.0, "best_model_metric": "progress"}\n'


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
                actions: list[str], wall: np.ndarray, track_len: float | np.ndarray) -> str:
    """Sim-trace CSV lines (no header) for step records ``rec`` (M, NR) (``kernel.R_*``).

    Args:
        episodes: (M,) episode numbers; rewards: (M,); actions: (M,) the action column text;
        wall: (M,) wall clock, epoch seconds; track_len: centre-line length, m, of every row
            or (M,) per row (cars on several tracks).
    """
    m = len(rec)
    if m == 0:
        return ""
    done = (rec[:, layout.R_DONE] > 0.5) | (rec[:, layout.R_TRUNCATED] > 0.5)
    # columns with few distinct values (steps, actions, shared clocks) are formatted per value
    cols = [
        _strs_few(episodes.astype(np.int64)),
        _strs_few(rec[:, layout.R_STEPS]),
        _strs(rec[:, layout.R_X]),
        _strs(rec[:, layout.R_Y]),
        _strs(rec[:, layout.R_HEADING]),
        _strs_few(rec[:, layout.R_STEER]),
        _strs_few(rec[:, layout.R_SPEED]),
        actions,
        _strs_few(rewards.astype(np.float64)),
        _bools(done),
        _bools(rec[:, layout.R_ALL_WHEELS] > 0.5),
        _strs(rec[:, layout.R_PROGRESS]),
        _strs_few(rec[:, layout.R_CLOSEST_WP].astype(np.int64)),
        _strs_few(np.broadcast_to(np.asarray(track_len, dtype=np.float64), (m,))),
        _strs_few(rec[:, layout.R_TSTAMP]),
        _STATUS_ARRAY[rec[:, layout.R_STATUS].astype(np.int64)].tolist(),
        ["0.0"] * m,
        ["0"] * m,
        _strs_few(wall),
    ]
    return "\n".join(map(",".join, zip(*cols, strict=True))) + "\n"


def action_strings(rec: np.ndarray, actions: np.ndarray | None, continuous: bool) -> list[str]:
    """The ``action`` column: the discrete index, or ``[steer speed]`` (space separated, as
    numpy prints it) of the commanded values for a continuous space."""
    if continuous or actions is None:
        steer = _strs_few(rec[:, layout.R_STEER])
        speed = _strs_few(rec[:, layout.R_SPEED])
        return [f"[{a} {b}]" for a, b in zip(steer, speed, strict=True)]
    return _strs_few(np.asarray(actions).reshape(-1).astype(np.int64))


def ms(seconds: float) -> int:
    return round(float(seconds) * 1000.0)


# ------------------------------------------------------------------------------------------
# episode bookkeeping
# ------------------------------------------------------------------------------------------
@dataclass
class StepRows:
    """Flat step rows in chronological order (vec step, then car)."""

    rec: np.ndarray
    rewards: np.ndarray
    actions: np.ndarray
    wall: np.ndarray
    car: np.ndarray

    @classmethod
    def empty(cls, nr: int = layout.NR) -> StepRows:
        return cls(np.zeros((0, nr)), np.zeros(0), np.zeros(0, np.int64), np.zeros(0),
                   np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.rec)

    def take(self, idx: np.ndarray) -> StepRows:
        return StepRows(self.rec[idx], self.rewards[idx], self.actions[idx], self.wall[idx],
                     self.car[idx])

    @staticmethod
    def concat(a: StepRows, b: StepRows) -> StepRows:
        return StepRows(np.concatenate([a.rec, b.rec]), np.concatenate([a.rewards, b.rewards]),
                     np.concatenate([a.actions, b.actions]), np.concatenate([a.wall, b.wall]),
                     np.concatenate([a.car, b.car]))


@dataclass
class EpisodeBlock:
    """The episodes of one iteration, rows sorted by episode then step.

    Attributes:
        rows: the rows; index: (M,) 0-based index of each row's episode in the iteration.
        starts: (n,) first row of each episode; the rest are per-episode values.
    """

    rows: StepRows
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


def split_episodes(rows: StepRows, flush_all: bool = False) -> tuple[EpisodeBlock, StepRows]:
    """Split rows into the episodes that ended (ordered by when they ended) and the rows of the
    episodes still running (``flush_all``: treat those as ended too, after the others)."""
    rec = rows.rec
    key = rows.car.astype(np.int64) * (1 << 32) + rec[:, layout.R_EPISODE].astype(np.int64)
    terminal = (rec[:, layout.R_DONE] > 0.5) | (rec[:, layout.R_TRUNCATED] > 0.5)
    end_keys = key[terminal]
    if flush_all:  # unfinished episodes end at their last buffered row, after the finished ones
        rest = ~np.isin(key, end_keys)
        last: dict[int, int] = {}
        for row in np.flatnonzero(rest).tolist():
            last[int(key[row])] = row
        extra = sorted(last, key=lambda k: last[k])
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
        first_tstamp=r[starts, layout.R_TSTAMP], last_tstamp=r[ends, layout.R_TSTAMP],
        progress=r[ends, layout.R_PROGRESS],
        status=_STATUS_ARRAY[r[ends, layout.R_STATUS].astype(np.int64)].tolist(),
        steps=r[ends, layout.R_STEPS],
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


class StepRecorder:
    """Preallocated per-step copies of the vec env's records, rewards and actions."""

    def __init__(self, n: int, capacity: int = 256) -> None:
        self.n = n
        self.t = 0
        self._alloc(max(capacity, 1))

    def _alloc(self, cap: int) -> None:
        self.rec = np.zeros((cap, self.n, layout.NR))
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

    def drain(self) -> StepRows:
        t, n = self.t, self.n
        self.t = 0
        return StepRows(self.rec[:t].reshape(t * n, layout.NR).copy(),
                     self.rewards[:t].reshape(-1).copy(), self.actions[:t].reshape(-1).copy(),
                     np.repeat(self.wall[:t], n), np.tile(np.arange(n), t))

