"""Loading and calling the racer's ``reward_function(params)``.

As the simapp (``boto/s3/files/reward_function.py`` and ``rollout_agent_ctrl.py``, spec §1.1):
the file is imported as a module and its ``reward_function`` attribute is called once per RUN
step with a params dict; the result is converted with ``float()``; an exception, NaN/inf, or a
value outside [-1e5, 1e5] stops the job. Here each of those is a :class:`RewardFunctionError`
that names the file, the line, the step and the params that caused it; so is a ``sys.exit()``
in the file (``SystemExit``, which would otherwise end the process quietly) and an integer too
large for a float (``10**400``). Ctrl-C (``KeyboardInterrupt``) still stops the caller. Unlike
the simapp, a value that is not a real number (e.g. a string that ``float()`` would parse) is
also an error: it is always a bug in the reward file.

One module instance per car: on DeepRacer each rollout worker drives its own car in its own
process and imports the reward file there, so a reward that keeps state in its globals sees
only its own car's steps. Training here simulates N cars in one process, so the file is loaded
once per car as a separate module object (:func:`make_reward_callers`); each evaluation lap
and each in-training evaluation lap gets its own instance too. Only the file's own globals are
per car: a module it imports (``math``, a helper beside it) is imported once and shared.
"""

from __future__ import annotations

import importlib.util
import math
import numbers
import os
import sys
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path

from deepracer_sim.constants import REWARD_MAX, REWARD_MIN
from deepracer_sim.errors import DeepRacerSimWarning, RewardFunctionError, missing_file_text

RewardFn = Callable[[dict], float]


def center_line_reward(params: dict) -> float:
    """The built-in reward: three bands around the centre line (AWS's first example).

    Identical to ``rewards/center.py``: 1.0 within 10 % of the track width of the centre line,
    0.5 within 25 %, 0.1 within 50 %, else 1e-3.
    """
    track_width = params["track_width"]
    distance_from_center = params["distance_from_center"]
    if distance_from_center <= 0.1 * track_width:
        return 1.0
    if distance_from_center <= 0.25 * track_width:
        return 0.5
    if distance_from_center <= 0.5 * track_width:
        return 0.1
    return 1e-3


def _compile_reward_file(path: Path):
    """The compiled code of a reward file.

    Raises:
        RewardFunctionError: missing file or syntax error (with file:line).
    """
    if not path.is_file():
        raise RewardFunctionError(f"reward file {missing_file_text(path)} (give the path of a "
                                  ".py file defining reward_function(params), e.g. "
                                  "rewards/center.py)")
    source = path.read_text(encoding="utf-8", errors="replace")
    try:
        return compile(source, str(path), "exec")
    except SyntaxError as exc:
        raise RewardFunctionError(
            f"{path}:{exc.lineno}: syntax error: {exc.msg}\n    {(exc.text or '').rstrip()}"
        ) from None


def _module_instance(code, path: Path) -> RewardFn:
    """Run ``code`` in a new module object and return its ``reward_function``.

    Raises:
        RewardFunctionError: an exception while importing, no ``reward_function``, or one that
            is not callable.
    """
    name = f"deepracer_reward_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    module.__file__ = str(path)
    try:
        exec(code, module.__dict__)
    except (Exception, SystemExit) as exc:
        raise RewardFunctionError(
            f"{path}:{_user_line(exc, path)}: importing the reward file raised "
            f"{type(exc).__name__}: {exc}{_EXIT_NOTE if isinstance(exc, SystemExit) else ''}"
        ) from None
    fn = module.__dict__.get("reward_function")
    if fn is None:
        raise RewardFunctionError(f"{path}: defines no reward_function; DeepRacer calls "
                                  "reward_function(params) and expects a float back")
    if not callable(fn):
        raise RewardFunctionError(f"{path}: reward_function is a {type(fn).__name__}, not a "
                                  "function")
    sys.modules.setdefault(name, module)
    return fn


#: What a ``sys.exit()`` in a reward file does (added to its error).
_EXIT_NOTE = (" (sys.exit() or exit() in a reward file; DeepRacer's job would stop on it: "
              "return a reward instead)")


def load_reward_function(path: str | os.PathLike) -> RewardFn:
    """Import ``reward_function`` from a DeepRacer reward file, as a new module object (its
    globals are its own: two calls give two independent instances).

    Raises:
        RewardFunctionError: missing file, syntax error (with file:line), an exception while
            importing, no ``reward_function``, or one that is not callable.
    """
    path = Path(path).expanduser()
    return _module_instance(_compile_reward_file(path), path)


def load_reward_instances(path: str | os.PathLike, n: int) -> list[RewardFn]:
    """``n`` independent instances of a reward file's ``reward_function``: the file is read
    and compiled once and run in ``n`` separate module objects, so a reward that keeps state
    in its globals (the previous step's progress, a step counter) keeps one state per car, as
    on DeepRacer, where each rollout worker runs its own car in its own process and imports
    the file there (simapp ``rollout_worker.py``, one worker per car).

    Raises:
        RewardFunctionError: as :func:`load_reward_function`.
    """
    path = Path(path).expanduser()
    code = _compile_reward_file(path)
    return [_module_instance(code, path) for _ in range(n)]


def _user_line(exc: BaseException, path: Path | None) -> str:
    """The deepest traceback line inside ``path`` (or the deepest line at all)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if path is not None:
        target = str(path)
        mine = [f for f in frames if f.filename == target]
        if mine:
            return str(mine[-1].lineno)
    return str(frames[-1].lineno) if frames else "?"


def _describe_params(params: dict) -> str:
    shown = {k: v for k, v in params.items() if k != "waypoints"}
    shown["waypoints"] = f"<{len(params.get('waypoints', []))} points>"
    return ", ".join(f"{k}={v!r}" for k, v in shown.items())


class RewardCaller:
    """Calls a reward function and enforces the simapp's rules on its result.

    Args:
        fn: the reward function.
        source: the file it came from (for messages), or None for a Python callable.
    """

    def __init__(self, fn: RewardFn, source: str | os.PathLike | None = None) -> None:
        self.fn = fn
        self.source = Path(source) if source is not None else None

    @property
    def where(self) -> str:
        return str(self.source) if self.source is not None else getattr(
            self.fn, "__qualname__", repr(self.fn))

    def __call__(self, params: dict) -> float:
        """The reward as a float.

        Raises:
            RewardFunctionError: the function raised, or returned a non-real, NaN/inf or
                out-of-range value; the message has the file:line, step and params.
        """
        try:
            value = self.fn(params)
        except (Exception, SystemExit) as exc:  # sys.exit() in a reward too; Ctrl-C passes
            raise RewardFunctionError(
                f"{self.where}:{_user_line(exc, self.source)}: reward_function raised "
                f"{type(exc).__name__}: {exc}{_EXIT_NOTE if isinstance(exc, SystemExit) else ''}"
                f"\n  at step {params.get('steps')} with params: {_describe_params(params)}"
            ) from exc
        if type(value) is float and REWARD_MIN <= value <= REWARD_MAX:
            return value  # the common case (NaN fails the comparison)
        if not isinstance(value, numbers.Real):
            raise RewardFunctionError(
                f"{self.where}: reward_function returned {value!r} ({type(value).__name__}); it "
                f"must return a number (float)\n  at step {params.get('steps')} with params: "
                f"{_describe_params(params)}"
            )
        try:
            reward = float(value)
        except OverflowError:
            raise RewardFunctionError(
                f"{self.where}: reward_function returned an integer of {len(str(abs(int(value))))}"
                f" digits, too large for a float; DeepRacer stops the job unless the reward is "
                f"within [{REWARD_MIN:g}, {REWARD_MAX:g}]\n  at step {params.get('steps')} with "
                f"params: {_describe_params(params)}") from None
        if not math.isfinite(reward) or not REWARD_MIN <= reward <= REWARD_MAX:
            raise RewardFunctionError(
                f"{self.where}: reward_function returned {reward}; DeepRacer stops the job "
                f"unless the reward is finite and within [{REWARD_MIN:g}, {REWARD_MAX:g}]\n"
                f"  at step {params.get('steps')} with params: {_describe_params(params)}"
            )
        return reward


#: Reward calls :class:`RewardCost` times before it judges the reward's cost.
COST_CALLS = 300
#: :class:`RewardCost` warns when the reward function makes its caller this many times slower
#: than a reward that costs nothing (it takes half of the time).
SLOWDOWN_WARNING = 2.0


class RewardCost:
    """Measures what the reward function costs the loop that calls it, over its first
    :data:`COST_CALLS` calls, and warns once (:class:`~deepracer_sim.errors.DeepRacerSimWarning`)
    when it slows that loop down :data:`SLOWDOWN_WARNING` times or more: with the time per
    call, the share of the time and the slowdown, so that a slow reward (e.g. 5 ms per call:
    training some 45 times slower) does not pass unnoticed.

    The caller reports each cycle of its loop (:meth:`add`): the seconds spent in reward calls,
    the calls made and the cycle's whole duration (the policy, the simulation and the rewards).
    """

    def __init__(self, where: str, calls: int = COST_CALLS) -> None:
        self.where = where
        self.calls_wanted = calls
        self.active = True
        self.calls = 0
        self.reward_seconds = 0.0
        self.cycle_seconds = 0.0

    def add(self, reward_seconds: float, calls: int, cycle_seconds: float) -> None:
        """One cycle: ``calls`` reward calls took ``reward_seconds`` of ``cycle_seconds``."""
        self.calls += calls
        self.reward_seconds += reward_seconds
        self.cycle_seconds += max(cycle_seconds, reward_seconds)
        if self.calls >= self.calls_wanted:
            self.active = False
            self._judge()

    @property
    def slowdown(self) -> float:
        """How many times slower the loop runs than with a reward that costs nothing."""
        rest = self.cycle_seconds - self.reward_seconds
        return self.cycle_seconds / rest if rest > 0 else math.inf

    def _judge(self) -> None:
        if not self.calls or self.slowdown < SLOWDOWN_WARNING:
            return
        per_call = self.reward_seconds / self.calls
        share = self.reward_seconds / self.cycle_seconds
        warnings.warn(
            f"{self.where}: reward_function takes {per_call * 1e3:.2f} ms per call (measured "
            f"over its first {self.calls} calls): {share:.0%} of the time stepping the cars "
            f"goes into it, so they step about {self.slowdown:.0f}x slower than with a reward "
            f"that costs nothing, and every 100,000 steps take {per_call * 1e5 / 60:.0f} min "
            "longer. DeepRacer's 15 steps/s leave it 66 ms, but training here calls it for "
            "every step of every car: move work that does not depend on params out of the "
            "function (e.g. compute a racing line once, at import)",
            DeepRacerSimWarning, stacklevel=3)


def make_reward_caller(reward: str | os.PathLike | RewardFn | None) -> RewardCaller:
    """A :class:`RewardCaller` for a file path, a callable, or None (the built-in reward)."""
    if reward is None:
        return RewardCaller(center_line_reward)
    if callable(reward):
        return RewardCaller(reward)
    return RewardCaller(load_reward_function(reward), reward)


def make_reward_callers(reward: str | os.PathLike | RewardFn | None,
                        n: int) -> list[RewardCaller]:
    """One :class:`RewardCaller` per car: for a file, ``n`` independent module instances
    (:func:`load_reward_instances`); a Python callable or None (the built-in, stateless
    reward) is shared by all cars (a callable's state is the caller's to manage).

    Raises:
        RewardFunctionError: as :func:`load_reward_function`.
    """
    if reward is None or callable(reward):
        return [make_reward_caller(reward)] * n
    return [RewardCaller(fn, reward) for fn in load_reward_instances(reward, n)]
