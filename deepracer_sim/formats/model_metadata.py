"""DeepRacer action spaces and ``model_metadata.json`` (spec §4).

A discrete action space is a list of (steering_angle degrees, speed m/s); the policy's output
index selects the entry by list position (``index`` keys are ignored, as the simapp does).
:func:`discrete_action_space` builds one as DeepRacer-on-AWS's ``computeDiscreteActionSpace``:
steering in the outer loop from -max to +max in ``steering_levels`` evenly spaced values, speed in
the inner loop ``max/m, 2*max/m, ..., max``. (With one steering level that code yields -max; here
it yields 0, the only sensible single level.)

A continuous space (``action_space_type: continuous``) is a box: the policy acts in [-1, 1]^2 and
the action is scaled linearly to [low, high] of steering and speed (``multi_agent_coach``).

Limits (DeepRacer-on-AWS's UI, spec §3.2): |steering| <= 30 degrees, 0 < speed <= 4 m/s; a
discrete space has 2 to 30 actions (fewer or more are accepted locally with a warning, since the
simapp itself only needs one).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepracer_sim.constants import (
    MAX_DISCRETE_ACTIONS,
    MAX_SPEED,
    MAX_STEERING_ANGLE,
    MIN_DISCRETE_ACTIONS,
)
from deepracer_sim.errors import ActionSpaceError

#: ``version`` written to model_metadata.json and used for the dynamics by default
#: (DeepRacer-on-AWS writes 6).
DEFAULT_VERSION = 6.0


@dataclass(frozen=True)
class ActionSpace:
    """A DeepRacer action space.

    Attributes:
        actions: (K, 2) float64 [steering_angle deg, speed m/s] for a discrete space; for a
            continuous one (2, 2) = [[steer_low, steer_high], [speed_low, speed_high]].
        continuous: whether this is a continuous (box) space.
    """

    actions: np.ndarray
    continuous: bool = False

    def __len__(self) -> int:
        return 0 if self.continuous else int(self.actions.shape[0])

    @property
    def steering(self) -> np.ndarray:
        """(K,) float64 steering angles of a discrete space, degrees."""
        return self.actions[:, 0]

    @property
    def speed(self) -> np.ndarray:
        """(K,) float64 speeds of a discrete space, m/s."""
        return self.actions[:, 1]

    def scale(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Policy outputs -> (steering deg, speed m/s) arrays.

        Discrete: ``a`` (N,) int indices. Continuous: ``a`` (N, 2) in [-1, 1], clipped then
        scaled ``(high - low) / 2 * (a + 1) + low``.
        """
        if not self.continuous:
            idx = np.asarray(a, dtype=np.int64).reshape(-1)
            return self.actions[idx, 0], self.actions[idx, 1]
        a = np.clip(np.asarray(a, dtype=np.float64).reshape(-1, 2), -1.0, 1.0)
        lo = self.actions[:, 0]
        hi = self.actions[:, 1]
        out = (hi - lo) / 2.0 * (a + 1.0) + lo
        return out[:, 0], out[:, 1]

    def to_metadata(self, version: float = DEFAULT_VERSION) -> dict:
        """The ``model_metadata.json`` dict for this space (DeepRacer-on-AWS's keys)."""
        if self.continuous:
            space: object = {
                "steering_angle": {"low": float(self.actions[0, 0]),
                                   "high": float(self.actions[0, 1])},
                "speed": {"low": float(self.actions[1, 0]), "high": float(self.actions[1, 1])},
            }
        else:
            space = [{"steering_angle": float(s), "speed": float(v), "index": i}
                     for i, (s, v) in enumerate(self.actions)]
        v = float(version)
        return {
            "action_space": space,
            "sensor": ["FRONT_FACING_CAMERA"],
            "neural_network": "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW",
            "training_algorithm": "clipped_ppo",
            "action_space_type": "continuous" if self.continuous else "discrete",
            "version": str(int(v)) if v.is_integer() else str(v),
        }


def _check_value(source: str, field: str, value: object, lo: float, hi: float,
                 lo_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ActionSpaceError(f"{source}: {field} = {value!r} is not a number")
    v = float(value)
    bad = not math.isfinite(v) or v > hi or (v <= lo if lo_open else v < lo)
    if bad:
        lo_txt = f"> {lo:g}" if lo_open else f">= {lo:g}"
        raise ActionSpaceError(f"{source}: {field} = {value!r} is out of range; DeepRacer "
                               f"accepts values {lo_txt} and <= {hi:g}")
    return v


def discrete_action_space(max_steering: float = 30.0, steering_levels: int = 5,
                          max_speed: float = 1.0, speed_levels: int = 2,
                          source: str = "action space") -> ActionSpace:
    """Build a discrete space as the DeepRacer console does (see the module docstring).

    The defaults are DeepRacer-on-AWS's: ``computeDiscreteActionSpace(30, 5, 1, 2)`` (10 actions).

    Raises:
        ActionSpaceError: max_steering outside (0, 30], max_speed outside (0, 4], levels < 1.
    """
    max_steering = _check_value(source, "max steering angle", max_steering, 0.0,
                                MAX_STEERING_ANGLE, lo_open=True)
    max_speed = _check_value(source, "max speed", max_speed, 0.0, MAX_SPEED, lo_open=True)
    for name, levels in (("steering levels", steering_levels), ("speed levels", speed_levels)):
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
            raise ActionSpaceError(f"{source}: {name} = {levels!r}; it must be an integer >= 1")
    actions = []
    for i in range(steering_levels):
        t = 0.5 if steering_levels < 2 else i / (steering_levels - 1)
        steer = -max_steering * (1.0 - t) + max_steering * t
        for j in range(1, speed_levels + 1):
            actions.append((steer + 0.0, max_speed * j / speed_levels))
    return _finish_discrete(np.array(actions, dtype=np.float64), source)


def _finish_discrete(actions: np.ndarray, source: str) -> ActionSpace:
    n = len(actions)
    if n == 0:
        raise ActionSpaceError(f"{source}: the action space is empty; give at least "
                               f"{MIN_DISCRETE_ACTIONS} actions")
    if not MIN_DISCRETE_ACTIONS <= n <= MAX_DISCRETE_ACTIONS:
        warnings.warn(f"{source}: {n} actions; DeepRacer-on-AWS accepts "
                      f"{MIN_DISCRETE_ACTIONS}-{MAX_DISCRETE_ACTIONS} discrete actions",
                      stacklevel=3)
    return ActionSpace(actions, continuous=False)


def action_space_from_metadata(meta: dict, source: str = "model_metadata.json") -> ActionSpace:
    """Parse the ``action_space`` of a ``model_metadata.json`` dict.

    Raises:
        ActionSpaceError: a missing or malformed ``action_space``, steering beyond +-30 degrees,
            a speed <= 0 or > 4 m/s, low > high; each message names the entry and field.
    """
    if not isinstance(meta, dict) or "action_space" not in meta:
        raise ActionSpaceError(f"{source}: no 'action_space' key (expected a list of "
                               '{"steering_angle": deg, "speed": m/s} entries)')
    space = meta["action_space"]
    kind = str(meta.get("action_space_type", "discrete")).strip().lower()
    if kind not in ("discrete", "continuous"):
        raise ActionSpaceError(f"{source}: action_space_type = {kind!r}; use 'discrete' or "
                               "'continuous'")
    if kind == "continuous" or isinstance(space, dict):
        if not isinstance(space, dict):
            raise ActionSpaceError(f"{source}: a continuous action_space must be "
                                   '{"steering_angle": {"low", "high"}, "speed": {"low", "high"}}')
        rows = []
        for key, lo, hi, lo_open in (("steering_angle", -MAX_STEERING_ANGLE, MAX_STEERING_ANGLE,
                                      False), ("speed", 0.0, MAX_SPEED, True)):
            entry = space.get(key)
            if not isinstance(entry, dict) or "low" not in entry or "high" not in entry:
                raise ActionSpaceError(f"{source}: action_space.{key} must be "
                                       '{"low": number, "high": number}')
            low = _check_value(source, f"action_space.{key}.low", entry["low"], lo, hi, lo_open)
            high = _check_value(source, f"action_space.{key}.high", entry["high"], lo, hi,
                                lo_open)
            if low > high:
                raise ActionSpaceError(f"{source}: action_space.{key}: low {low} > high {high}")
            rows.append((low, high))
        return ActionSpace(np.array(rows, dtype=np.float64), continuous=True)
    if not isinstance(space, list):
        raise ActionSpaceError(f"{source}: action_space must be a list of actions")
    actions = []
    for k, entry in enumerate(space):
        where = f"action_space[{k}]"
        if not isinstance(entry, dict) or "steering_angle" not in entry or "speed" not in entry:
            raise ActionSpaceError(f"{source}: {where} must have 'steering_angle' and 'speed'")
        steer = _check_value(source, f"{where}.steering_angle", entry["steering_angle"],
                             -MAX_STEERING_ANGLE, MAX_STEERING_ANGLE)
        speed = _check_value(source, f"{where}.speed", entry["speed"], 0.0, MAX_SPEED,
                             lo_open=True)
        actions.append((steer, speed))
    return _finish_discrete(np.array(actions, dtype=np.float64).reshape(-1, 2), source)


def read_model_metadata(path: str | os.PathLike) -> tuple[ActionSpace, float]:
    """Read a ``model_metadata.json``: (action space, ``version`` as float).

    A missing ``version`` means the legacy 1.0/2.0 (spec §4.1); any version < 5 selects the
    version-4 car dynamics.

    Raises:
        ActionSpaceError: missing file, invalid JSON (with line), or an invalid action space.
    """
    path = Path(path)
    if not path.is_file():
        raise ActionSpaceError(f"{path}: file not found (expected a model_metadata.json)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ActionSpaceError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    space = action_space_from_metadata(meta, str(path))
    raw = meta.get("version", 2.0 if "sensor" in meta else 1.0)
    try:
        version = float(raw)
    except (TypeError, ValueError):
        raise ActionSpaceError(f"{path}: version = {raw!r} is not a number (use e.g. \"5\")") \
            from None
    return space, version


def write_model_metadata(path: str | os.PathLike, space: ActionSpace,
                         version: float = DEFAULT_VERSION) -> None:
    """Write ``model_metadata.json`` for ``space`` (indent 4, as DeepRacer's files)."""
    Path(path).write_text(json.dumps(space.to_metadata(version), indent=4) + "\n")
