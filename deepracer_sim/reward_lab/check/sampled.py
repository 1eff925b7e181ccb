"""Stage 3 of ``deepracer-sim reward check``: a sampled run of the function.

A few thousand params dicts built by the simulator's own geometry
(:func:`deepracer_sim.sim.params.reward_params`) over the whole track (:func:`sample_params`):
positions along the track, across its width and off it, headings around the track direction
and reversed, every action of the action space, both directions, steps and progress values.
:func:`sampled_run` reports, each with an example params dict: exceptions, non-numeric / NaN /
inf / out-of-range returns (errors: the training job stops), non-float numbers, zero rewards
(AWS's guidance: PPO learns poorly from rewards of exactly 0), negative rewards, a reward that
depends on no params key, non-deterministic rewards, and slow calls (p99 time per call).
"""

from __future__ import annotations

import math
import numbers
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepracer_sim.constants import REWARD_MAX, REWARD_MIN
from deepracer_sim.formats.model_metadata import ActionSpace
from deepracer_sim.reward_lab.check.report import ERROR, WARNING, Finding, Timing, fmt_seconds
from deepracer_sim.reward_lab.check.validator import VALIDATOR_TIMEOUT, exc_line, short_repr
from deepracer_sim.sim.params import PARAM_KEYS, reward_params
from deepracer_sim.track import Track

#: p99 time per call above which ``check`` warns, s.
SLOW_CALL = 0.010
#: Default number of sampled params dicts.
DEFAULT_SAMPLES = 3000
#: At most one sample in this many is a first call on the centre line (the rest spread over the
#: track, across and off it, so that a reward's dependence on the position shows whatever the
#: number of actions).
FIRST_SHARE = 4
#: Sampled findings that are warnings (the others are errors: the training job stops).
_WARNING_CODES = ("non-float", "zero-reward", "negative-reward")


class _RecordingParams(dict):
    """A params dict that records which keys the reward function reads."""

    __slots__ = ("read",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key) -> bool:
        self.read.add(key)
        return super().__contains__(key)

    def _all(self) -> None:
        self.read.update(super().keys())

    def keys(self):
        self._all()
        return super().keys()

    def values(self):
        self._all()
        return super().values()

    def items(self):
        self._all()
        return super().items()

    def __iter__(self):
        self._all()
        return super().__iter__()

    def copy(self):
        self._all()
        return dict(self)


def sample_params(track: Track, action_space: ActionSpace, n: int = DEFAULT_SAMPLES,
                  seed: int = 0) -> list[dict]:
    """``n`` params dicts over the whole track, from the simulator's geometry.

    Sample ``i`` drives direction ``i % 2`` (both directions) with action ``(i // 2) % K``
    (every action; continuous spaces: uniform over the ranges); the first ``2 K`` samples (20
    for a continuous space) sit
    on the centre line, aligned with the track at the start of the episode (the most common
    state); the others at a uniform point along the track, a sideways offset uniform across the
    track (80 %) or 1 to 1.6 half-widths off to either side (20 %), a heading within ~20
    degrees of the track direction (a quarter anywhere), a progress uniform in [0, 100) (2 %
    exactly 100: lap complete) with the matching episode start point, and steps uniform in
    2..1000. At most a quarter of the samples (:data:`FIRST_SHARE`) are those first samples,
    however many actions there are. Every other sample after the first ones has objects
    (:func:`_objects_near`), so the object keys and ``is_crashed`` take the values of
    object-avoidance and head-to-bot races.
    """
    rng = np.random.default_rng(seed)
    length = track.length
    k = len(action_space)
    idx = np.arange(n)
    direction = idx % 2
    # actions
    if action_space.continuous:  # actions = [[steer lo, hi], [speed lo, hi]]
        (steer_lo, steer_hi), (speed_lo, speed_hi) = action_space.actions.tolist()
        steer = rng.uniform(steer_lo, steer_hi, n)
        speed = rng.uniform(speed_lo, speed_hi, n)
        n_first = min(n // FIRST_SHARE, 20)
    else:
        steer = action_space.actions[(idx // 2) % k, 0]
        speed = action_space.actions[(idx // 2) % k, 1]
        n_first = min(n // FIRST_SHARE, 2 * k)
    # position, heading offset, progress, steps
    s = rng.uniform(0.0, length, n)
    side = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    offset = np.where(rng.random(n) < 0.8, rng.uniform(-1.0, 1.0, n),
                      side * rng.uniform(1.0, 1.6, n))
    heading_off = np.where(rng.random(n) < 0.75, rng.normal(0.0, 20.0, n),
                           rng.uniform(-180.0, 180.0, n))
    progress = np.where(rng.random(n) < 0.02, 100.0, rng.uniform(0.0, 100.0, n))
    steps = rng.integers(2, 1001, n).astype(np.float64)
    first = idx < n_first  # on the centre line, aligned, first call of an episode
    s[first] = np.where(idx[first] >= 2, (idx[first] // 2) * length / max(k, 10), 0.0) % length
    offset[first] = 0.0
    heading_off[first] = 0.0
    steps[first] = 2.0
    out = []
    for d in (0, 1):
        sel = np.flatnonzero(direction == d)
        lines = track.arrays.lines[d]
        cum = track.arrays.cum[d]
        centre, inner, outer = lines[0], lines[1], lines[2]
        seg = np.clip(np.searchsorted(cum, s[sel], side="right") - 1, 0, len(centre) - 2)
        seg_len = cum[seg + 1] - cum[seg]
        t = np.where(seg_len > 0, (s[sel] - cum[seg]) / np.where(seg_len > 0, seg_len, 1.0), 0.0)
        point = centre[seg] + t[:, None] * (centre[seg + 1] - centre[seg])
        # tangent of the first segment of positive length at or after seg
        fwd = seg.copy()
        for _ in range(len(centre)):
            zero = cum[fwd + 1] - cum[fwd] <= 0.0
            if not zero.any():
                break
            fwd = np.where(zero, (fwd + 1) % (len(centre) - 1), fwd)
        tangent = centre[fwd + 1] - centre[fwd]
        tangent /= np.hypot(tangent[:, 0], tangent[:, 1])[:, None]
        half = 0.5 * np.hypot(*(outer[seg] - inner[seg]).T)
        px = point[:, 0] - tangent[:, 1] * offset[sel] * half
        py = point[:, 1] + tangent[:, 0] * offset[sel] * half
        heading = np.degrees(np.arctan2(tangent[:, 1], tangent[:, 0])) + heading_off[sel]
        heading = (heading + 180.0) % 360.0 - 180.0
        prog = progress[sel]
        start = np.where(prog >= 100.0, s[sel] - 0.01, s[sel] - prog / 100.0 * length) % length
        prev = np.where(prog >= 100.0, 99.9, prog)  # 100: the start line was just crossed
        start[first[sel]] = 0.0
        prev[first[sel]] = 0.0
        for j, i in enumerate(sel.tolist()):
            objects = (_objects_near(track, d, float(s[i]), rng)
                       if i >= n_first and (i // 2) % 2 == 1 else [])
            out.append((i, reward_params(
                track, float(px[j]), float(py[j]), float(heading[j]), speed=float(speed[i]),
                steering_angle=float(steer[i]), steps=float(steps[i]),
                start_distance=float(start[j]), prev_progress=float(prev[j]),
                reversed=bool(d), objects=objects)))
    out.sort(key=lambda item: item[0])
    return [p for _, p in out]


def _objects_near(track: Track, d: int, s: float,
                  rng: np.random.Generator) -> list[tuple[float, float, float, float]]:
    """1-6 objects around centre-line distance ``s`` (m) of direction ``d``: each 1 m behind to
    4 m ahead (the first within 0.3 m: a crash is likely), on the inner or outer lane (a
    quarter of the width from the centre), facing along the track; all boxes, or (a third of
    the time) all bot cars at 0.2-1 m/s. Returns ``reward_params``' ``objects``."""
    line = track.arrays.lines[d]
    cum = track.arrays.cum[d]
    count = int(rng.integers(1, 7))
    bot_speed = float(rng.uniform(0.2, 1.0)) if rng.random() < 1.0 / 3.0 else 0.0
    out = []
    for k in range(count):
        ds = rng.uniform(-0.3, 0.3) if k == 0 else rng.uniform(-1.0, 4.0)
        dist = (s + ds) % track.length
        j = int(np.clip(np.searchsorted(cum, dist, side="right") - 1, 0, len(cum) - 2))
        seg = max(cum[j + 1] - cum[j], 1e-9)
        t = (dist - cum[j]) / seg
        cx, cy = line[0, j] + t * (line[0, j + 1] - line[0, j])
        tx, ty = (line[0, j + 1] - line[0, j]) / seg
        half = 0.5 * float(np.hypot(*(line[2, j] - line[1, j])))
        side = 0.5 * half * (1.0 if rng.random() < 0.5 else -1.0)
        heading = float(np.arctan2(ty, tx)) if bot_speed else 0.0
        out.append((float(cx - ty * side), float(cy + tx * side), heading, bot_speed))
    return out


class _Budget(Exception):
    pass


class _Groups:
    """Sampled findings grouped by (code, detail): how many calls showed each, and the first
    call's params dict, line and message."""

    def __init__(self) -> None:
        self.groups: dict[tuple, list] = {}  # (code, detail) -> [count, example, line, message]

    def note(self, code: str, key, message: str, example: dict, line: int | None = None) -> None:
        g = self.groups.get((code, key))
        if g is None:
            self.groups[(code, key)] = [1, example, line, message]
        else:
            g[0] += 1

    def findings(self, n: int) -> list[Finding]:
        """One finding per group, in the order first seen, ``n`` the calls made."""
        out = []
        for (code, _), (count, example, line, message) in self.groups.items():
            severity = WARNING if code in _WARNING_CODES else ERROR
            out.append(Finding(severity, code, f"{message}; on {count} of {n} sampled params "
                               f"dicts ({100.0 * count / n:.1f} %)", line, example, count))
        return out


def _reward_of(value, base: dict, groups: _Groups) -> float | None:
    """The reward of a returned ``value`` (noting what is wrong with it), or None when it is
    not a number the training job accepts."""
    if not isinstance(value, numbers.Real):
        groups.note("non-numeric", type(value).__name__,
                    f"reward_function returned {short_repr(value)} ({type(value).__name__}), not a "
                    "number (the training job stops)", base)
        return None
    try:
        reward = float(value)
    except OverflowError:
        groups.note("out-of-range", None, f"reward_function returned {short_repr(value)}, too "
                    "large for a float (the training job stops)", base)
        return None
    if not isinstance(value, float):
        groups.note("non-float", type(value).__name__,
                    f"reward_function returned {short_repr(value)} ({type(value).__name__}), not a "
                    "float: training converts it, but DeepRacer's validator rejects a "
                    "non-float on its own params; return float(reward)", base)
    if not math.isfinite(reward):
        groups.note("nan-inf", None, f"reward_function returned {reward} (the training job "
                    "stops on NaN/inf)", base)
        return None
    if not REWARD_MIN <= reward <= REWARD_MAX:
        groups.note("out-of-range", None, f"reward_function returned {reward:g}, outside "
                    f"[{REWARD_MIN:g}, {REWARD_MAX:g}] (the training job stops: 'Reward "
                    "score out of range')", base)
        return None
    if reward == 0.0:
        groups.note("zero-reward", None, "reward_function returned 0.0 (AWS's guidance: PPO "
                    "learns poorly from rewards of exactly 0; return a small positive floor "
                    "such as 1e-3)", base)
    elif reward < 0.0:
        groups.note("negative-reward", None, f"reward_function returned {reward:g} < 0 "
                    "(negative rewards push the car to end episodes early, e.g. by leaving "
                    "the track)", base)
    return reward


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Raise :class:`_Budget` in the main thread after ``seconds`` (no-op in other threads or
    where ``signal.setitimer`` is missing)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
            signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        raise _Budget()

    old_handler = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old_handler)


@dataclass
class _Calls:
    """The calls of a sampled run: seconds (n,) and rewards (n,) (NaN: no usable reward) per
    params dict, the calls made, the keys read, and why the run stopped early (None: it did
    not)."""

    times: np.ndarray
    rewards: np.ndarray
    n_done: int = 0
    keys_read: set[str] = field(default_factory=set)
    stopped: str | None = None


def _call_all(fn, path: Path, samples: list[dict], groups: _Groups, time_budget: float,
              record_keys: int) -> _Calls:
    """Call ``fn`` on each params dict until done or ``time_budget`` (s) runs out, noting what
    goes wrong in ``groups``; the first ``record_keys`` calls record the keys read."""
    calls = _Calls(np.zeros(len(samples)), np.full(len(samples), np.nan))
    started = time.perf_counter()
    with _alarm(time_budget + VALIDATOR_TIMEOUT):
        for i, base in enumerate(samples):
            params = _RecordingParams(base) if i < record_keys else dict(base)
            t0 = time.perf_counter()
            try:
                value = fn(params)
            except _Budget:
                calls.stopped = f"a call was still running after {time_budget:g} s"
                break
            except (Exception, SystemExit) as exc:  # sys.exit() in a reward too
                calls.times[i] = time.perf_counter() - t0
                line = exc_line(exc, path)
                groups.note("exception", (type(exc).__name__, line),
                            f"reward_function raised {type(exc).__name__}: {exc} (the training "
                            "job stops on an exception)", base, line)
                calls.n_done = i + 1
                continue
            calls.times[i] = time.perf_counter() - t0
            calls.n_done = i + 1
            if isinstance(params, _RecordingParams):
                calls.keys_read |= params.read
            reward = _reward_of(value, base, groups)
            if reward is None:
                continue
            calls.rewards[i] = reward
            if time.perf_counter() - started > time_budget:
                calls.stopped = f"the time budget of {time_budget:g} s ran out"
                break
    return calls


def _timing(times: np.ndarray) -> Timing:
    """p50, p99, max and total of the calls' seconds."""
    if not len(times):
        return Timing()
    p50, p99 = (float(np.percentile(times, q)) for q in (50, 99))
    return Timing(len(times), p50, p99, float(times.max()), float(times.sum()))


def _dependence(finite: np.ndarray, calls: _Calls, samples: list[dict],
                record_keys: int) -> list[Finding]:
    """A warning when the reward is the same for every sampled dict or reads no key."""
    if len(finite) >= 2 and np.all(finite == finite[0]):
        read = sorted(calls.keys_read)
        why = (f"though it reads {', '.join(read)}, its value never changed" if read else
               "it does not depend on any params key")
        return [Finding(WARNING, "no-dependence", f"the reward is {finite[0]:g} for every "
                        f"sampled params dict: {why}, so it teaches the car nothing",
                        example=samples[0])]
    if calls.n_done and not calls.keys_read and record_keys:
        return [Finding(WARNING, "no-dependence", "reward_function reads no params key")]
    return []


def _determinism(fn, samples: list[dict]) -> list[Finding]:
    """A warning when two calls with the same params return different numbers."""
    for base in samples:
        try:
            a, b = fn(dict(base)), fn(dict(base))
        except (Exception, SystemExit):
            continue
        if isinstance(a, numbers.Real) and isinstance(b, numbers.Real) and not (
                a == b or (a != a and b != b)):
            return [Finding(WARNING, "non-deterministic", f"two calls with the same "
                            f"params returned {a!r} and {b!r} (e.g. random): replay "
                            "cannot reproduce such a reward", example=base)]
    return []


def sampled_run(fn, path: Path, samples: list[dict], *, slow_call: float = SLOW_CALL,
                time_budget: float = 60.0, record_keys: int = 300
                ) -> tuple[list[Finding], np.ndarray, Timing, list[str] | None]:
    """Stage 3: ``fn`` on each of ``samples`` (stopped after ``time_budget`` s), the first
    ``record_keys`` calls recording the params keys read. Returns (findings, rewards of the
    calls that returned a finite number, timing (s per call), keys read in
    :data:`~deepracer_sim.sim.params.PARAM_KEYS` order)."""
    groups = _Groups()
    calls = _call_all(fn, path, samples, groups, time_budget, record_keys)
    n_done = calls.n_done
    out = groups.findings(max(n_done, 1))
    if calls.stopped:
        out.append(Finding(WARNING, "incomplete", f"sampling stopped after {n_done} of "
                           f"{len(samples)} params dicts: {calls.stopped}"))
    done_times = calls.times[:n_done]
    timing = _timing(done_times)
    finite = calls.rewards[:n_done][np.isfinite(calls.rewards[:n_done])]
    if timing.p99 > slow_call:
        slowest = int(np.argmax(done_times))
        out.append(Finding(WARNING, "slow", f"slow reward function: p99 "
                           f"{fmt_seconds(timing.p99)} per call (max {fmt_seconds(timing.max)}); "
                           "DeepRacer steps at 15 Hz and local training calls it for every step "
                           f"of every car; keep it under {fmt_seconds(slow_call)}",
                           example=samples[slowest]))
    out += _dependence(finite, calls, samples, record_keys)
    keys = sorted(calls.keys_read,
                  key=lambda k: PARAM_KEYS.index(k) if k in PARAM_KEYS else 99)
    if n_done:
        out += _determinism(fn, samples[:min(50, n_done)])
    return out, finite, timing, keys
