"""Stage 2 of ``deepracer-sim reward check``: the validator's own run of the function.

``reward_function`` must take exactly one argument and return a ``float`` (an ``int`` fails)
within [REWARD_MIN, REWARD_MAX] on the validator's five params dicts (:func:`validator_params`:
they differ from the simulator's: ``waypoints`` is a numpy array of the *inner border*,
``projection_distance`` is missing, ``heading`` 359.9, ``steps`` 10000, ``speed`` 5.0), each
within :data:`VALIDATOR_TIMEOUT` (SIM ``reward_func_validator/test_reward_function.py``).
"""

from __future__ import annotations

import copy
import inspect
import math
import threading
import time
import traceback
from pathlib import Path

import numpy as np

from deepracer_sim.constants import REWARD_MAX, REWARD_MIN
from deepracer_sim.reward_lab.check.report import ERROR, Finding

#: The validator's time limit per test, s (``TIMEOUT_SEC``).
VALIDATOR_TIMEOUT = 5.0


_VALIDATOR_OBJECTS = {
    "closest_objects": [0, 1],
    "objects_location": [[4.511289152034186, 1.3292364463761641],
                         [6.537302737755836, 1.4140104486149618],
                         [4.752976532490525, 3.1350845729056838],
                         [3.103370840828792, 4.133062703357412],
                         [0.7094212601659824, 4.217507179944688],
                         [1.5996645329306798, 1.7124666440529925]],
    "objects_left_of_center": [True, True, False, True, False, True],
    "object_in_camera": True,
    "objects_speed": [0.2, 0.2, 0.2, 0.2, 0.2, 0.2],
    "objects_heading": [2.717322296283114, 2.368920328229894, -1.9305073380382327,
                        -1.3586571052564007, 0.00025041038280975884, 0.5573269195381345],
    "objects_distance": [1.9501724549506574, 4.139700164331426, 7.997164727523002,
                         10.024219705986598, 12.56561517097048, 15.090712948383509],
}


def validator_params(waypoints: np.ndarray) -> dict[str, dict]:
    """The five params dicts DeepRacer's validator calls the function with (``get_params``):
    valid, start, progress, off-track and finish car, built from the raw track array as the
    validator builds them (``waypoints`` = the inner border as a numpy array, no
    ``projection_distance`` / ``objects_distance_from_center``, six objects)."""
    w = np.array(waypoints, dtype=np.float64)
    n = w.shape[0]
    track_width = math.sqrt((w[0, 4] - w[0, 2]) ** 2 + (w[0, 5] - w[0, 3]) ** 2)
    track_length = 0.0
    for i in range(1, n):
        track_length += math.sqrt((w[i, 2] - w[i - 1, 2]) ** 2 + (w[i, 3] - w[i - 1, 3]) ** 2)

    def make(**kw) -> dict:
        d = {"all_wheels_on_track": True, "distance_from_center": 0, "heading": 0,
             "progress": 0, "steps": 1, "track_width": track_width, "waypoints": w[:, 2:4],
             "closest_waypoints": [0, 1], "is_left_of_center": True, "is_reversed": True,
             "track_length": track_length}
        d.update(copy.deepcopy(_VALIDATOR_OBJECTS))
        d.update({"is_crashed": False, "is_offtrack": False})
        d.update(kw)
        return d

    dist = math.sqrt((w[0, 4] - w[0, 0]) ** 2 + (w[0, 5] - w[0, 1]) ** 2)
    sx = (w[0, 4] - w[0, 0]) / dist if dist else 0.0
    sy = (w[0, 5] - w[0, 1]) / dist if dist else 0.0
    mid = math.floor(n / 2)
    return {
        "valid": make(x=(w[0, 2] + w[0, 0]) / 2, y=(w[0, 3] + w[0, 1]) / 2, speed=0.5,
                      steering_angle=6),
        "start": make(x=w[0, 2], y=w[0, 3], speed=0.1, steering_angle=0.2),
        "progress": make(x=w[mid, 2], y=w[mid, 3], heading=359.9, progress=50, steps=100,
                         speed=1.0, steering_angle=6, closest_waypoints=[3, 4]),
        "off_track": make(all_wheels_on_track=False, x=w[0, 0] + sx * track_width,
                          y=w[0, 1] + sy * track_width, distance_from_center=track_width,
                          heading=359.9, speed=1, steering_angle=15, is_offtrack=True),
        "finish": make(x=w[n - 1, 2], y=w[n - 1, 3], heading=359.9, progress=100, steps=10000,
                       speed=5.0, steering_angle=0, closest_waypoints=[n - 2, n - 1]),
    }


def _call_with_timeout(fn, params: dict, timeout: float):
    """(finished, value, exception, seconds): ``fn(params)`` in a daemon thread."""
    box: dict = {}

    def target() -> None:
        t0 = time.perf_counter()
        try:
            box["value"] = fn(params)
        except BaseException as exc:
            box["exc"] = exc
        box["t"] = time.perf_counter() - t0

    thread = threading.Thread(target=target, daemon=True, name="reward-check")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return False, None, None, timeout
    return True, box.get("value"), box.get("exc"), box.get("t", 0.0)


def short_repr(value: object, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters (``10**400`` has 401 digits)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def exc_line(exc: BaseException, path: Path) -> int | None:
    """The line of ``path`` (the reward file) where ``exc`` was raised, if it was raised there."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    return frames[-1].lineno if frames else None


def validator_run(fn, path: Path, waypoints: np.ndarray,
                  timeout: float = VALIDATOR_TIMEOUT) -> tuple[list[Finding], bool]:
    """Stage 2. Returns (findings, finished: False when a call did not return in time)."""
    out: list[Finding] = []
    try:
        n_params = len(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        n_params = 1
    if n_params != 1:
        out.append(Finding(ERROR, "signature", f"reward_function takes {n_params} parameters; "
                           "the validator requires exactly one: def reward_function(params)"))
    grouped: dict[tuple, list] = {}  # (code, detail) -> [names, first params, line, text]

    def note(code: str, detail, name: str, params: dict, text: str,
             line: int | None = None) -> None:
        g = grouped.setdefault((code, detail), [[], params, line, text])
        g[0].append(name)

    for name, params in validator_params(waypoints).items():
        shown = dict(params)
        finished, value, exc, _ = _call_with_timeout(fn, params, timeout)
        if not finished:
            out.append(Finding(ERROR, "validator-timeout", f"the call with the validator's "
                               f"'{name}' params did not return within {timeout:g} s "
                               "(the validator's limit): 'Timed Out'", example=shown))
            return out, False
        if exc is not None:
            note("validator-exception", (type(exc).__name__, str(exc)), name, shown,
                 f"reward_function raised {type(exc).__name__}: {exc} (the validator's params "
                 "differ from the simulator's: waypoints is a numpy array of the inner border, "
                 "projection_distance is missing, is_reversed is True, heading 359.9, steps up "
                 "to 10000, speed up to 5.0)", exc_line(exc, path))
        elif not isinstance(value, float):
            note("validator-return-type", type(value).__name__, name, shown,
                 f"reward_function returned {short_repr(value)} ({type(value).__name__}); the "
                 "validator requires a float ('Method returned non-floating type value'): return "
                 "float(reward)")
        elif not REWARD_MIN <= value <= REWARD_MAX:
            note("validator-range", None, name, shown,
                 f"reward_function returned {value!r}, outside [{REWARD_MIN:g}, "
                 f"{REWARD_MAX:g}] ('Reward score out of range')")
    for (code, _), (names, params, line, text) in grouped.items():
        which = ", ".join(f"'{n}'" for n in names)
        out.append(Finding(ERROR, code, f"with the validator's {which} params {text}", line,
                           example=params, count=len(names)))
    return out, True

