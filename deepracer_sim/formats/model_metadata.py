"""DeepRacer action spaces and ``model_metadata.json`` (spec §4): one reader, one validator.

A discrete action space is a list of (steering_angle degrees, speed m/s); the policy's output
index selects the entry by list position (``index`` keys are ignored, as the simapp does).
:func:`discrete_action_space` builds one as DeepRacer-on-AWS's ``computeDiscreteActionSpace``:
steering in the outer loop from -max to +max in ``steering_levels`` evenly spaced values, speed in
the inner loop ``max/m, 2*max/m, ..., max``. (With one steering level that code yields -max; here
it yields 0, the only sensible single level.)

A continuous space (``action_space_type: continuous``) is a box: the policy acts in [-1, 1]^2 and
the action is scaled linearly to [low, high] of steering and speed (``multi_agent_coach``).

The rules (:func:`check_metadata_dict`) are the same for every use: training, evaluation and
export read a file with :func:`read_model_metadata` (strict: its errors raise
:class:`~deepracer_sim.errors.ActionSpaceError` naming the file, each field and its fix), and
``deepracer-sim export --check`` lists every problem of the same file
(:func:`check_model_metadata`).

Accepted ranges, decided once (inclusive bounds, give or take :data:`LIMIT_TOLERANCE` of float
rounding; constants in :mod:`deepracer_sim.constants`):

* steering angle: [-30, 30] degrees (:data:`~deepracer_sim.constants.MAX_STEERING_ANGLE`) for
  every discrete entry and for a continuous ``low`` and ``high``;
* discrete speed: [0.1, 4.0] m/s (:data:`~deepracer_sim.constants.MIN_SPEED`,
  :data:`~deepracer_sim.constants.MAX_SPEED`);
* continuous ``speed.low`` and ``speed.high``: [0.5, 4.0] m/s
  (:data:`~deepracer_sim.constants.MIN_CONTINUOUS_SPEED`, ``MAX_SPEED``), ``low <= high``;
* 2 to 30 discrete actions (:data:`~deepracer_sim.constants.MIN_DISCRETE_ACTIONS`,
  :data:`~deepracer_sim.constants.MAX_DISCRETE_ACTIONS`);
* ``version``: a finite number from 1 to 20 (:data:`VERSION_LIMITS`), written as a string or a
  number. DeepRacer has written 1 to 6 so far (1 and 2 before the key existed: a missing
  ``version`` reads as 2.0 with a ``sensor`` key, else 1.0; 3 and 4 the effort-controlled car;
  5 and 6 the velocity-controlled one, 6 from DeepRacer-on-AWS), about one a year. Up to 20
  leaves room for the versions to come, while a value no DeepRacer will write (NaN, -3,
  1e308, a year such as 2024, a typo such as 60) is an error, in training (``--version`` and
  the file) and in ``export --check`` alike; a version above :data:`NEWEST_VERSION` is accepted
  with a warning (it drives the newest car this simulator has).

Source: DeepRacer-on-AWS's API model (aws-solutions/deepracer-on-aws,
``source/libs/model/src/main/smithy/types/model.smithy``): ``DiscreteSpeed`` @range(0.1, 4.0),
``ContinuousSpeedValue`` @range(0.5, 4.0), ``DiscreteSteeringAngle`` @range(-30, 30),
``DiscreteActionSpace`` @length(2, 30). The simapp itself rejects none of these values: it clips
the speed it drives to [0.1, 4] m/s (``agent_ctrl/constants.py`` ``MIN_SPEED``/``MAX_SPEED``,
spec §3.1) and the steering to +-30 degrees, so a speed below 0.1 m/s would be trained as written
but driven at 0.1 m/s. The stricter of the two is taken, so that a model trained here is one
DeepRacer-on-AWS accepts. (DeepRacer-on-AWS also asks a continuous steering ``low`` <= 0 <=
``high``; that rule is not applied here.)
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from deepracer_sim.constants import (
    MAX_DISCRETE_ACTIONS,
    MAX_SPEED,
    MAX_STEERING_ANGLE,
    MIN_CONTINUOUS_SPEED,
    MIN_DISCRETE_ACTIONS,
    MIN_SPEED,
)
from deepracer_sim.errors import ActionSpaceError
from deepracer_sim.formats.files import atomic_write_text
from deepracer_sim.formats.problems import (
    ERROR,
    UNREADABLE,
    WARNING,
    Problem,
    is_number,
    load_json,
    raise_errors,
    read_json,
)
from deepracer_sim.formats.run_folder import MODEL_METADATA

#: ``version`` written to model_metadata.json and used for the dynamics by default
#: (DeepRacer-on-AWS writes 6).
DEFAULT_VERSION = 6.0
#: The newest ``version`` DeepRacer has written (DeepRacer-on-AWS).
NEWEST_VERSION = 6.0
#: (low, high) accepted for ``version`` (the module docstring says why).
VERSION_LIMITS = (1.0, 20.0)
#: (low, high) accepted for a steering angle, degrees.
STEERING_LIMITS = (-MAX_STEERING_ANGLE, MAX_STEERING_ANGLE)
#: (low, high) accepted for a discrete action's speed, m/s.
DISCRETE_SPEED_LIMITS = (MIN_SPEED, MAX_SPEED)
#: (low, high) accepted for a continuous space's speed.low and speed.high, m/s.
CONTINUOUS_SPEED_LIMITS = (MIN_CONTINUOUS_SPEED, MAX_SPEED)
#: Slack of every limit check, for float rounding of generated values (0.3 / 3 m/s is
#: 0.09999999999999999): a value within it of a bound is accepted.
LIMIT_TOLERANCE = 1e-9
#: The keys of a model_metadata.json (spec §4.1).
METADATA_KEYS = ("action_space", "sensor", "neural_network", "version", "training_algorithm",
                 "action_space_type", "lidar_config")
CAMERA_SENSORS = ("FRONT_FACING_CAMERA", "LEFT_CAMERA", "STEREO_CAMERAS", "observation")
LIDAR_SENSORS = ("LIDAR", "SECTOR_LIDAR", "DISCRETIZED_SECTOR_LIDAR")
NEURAL_NETWORKS = ("DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", "DEEP_CONVOLUTIONAL_NETWORK",
                   "DEEP_CONVOLUTIONAL_NETWORK_DEEP")
#: What model_metadata.json says when a model does not name its network and camera (the
#: simapp's defaults).
DEFAULT_NEURAL_NETWORK = NEURAL_NETWORKS[0]
DEFAULT_SENSOR = CAMERA_SENSORS[0]
ACTION_SPACE_TYPES = ("discrete", "continuous")
#: The field of the action-count problem.
COUNT_FIELD = "len(action_space)"
TRAINING_ALGORITHMS = ("clipped_ppo", "sac")


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

    def to_metadata(self, version: float = DEFAULT_VERSION,
                    algorithm: str = "clipped_ppo",
                    neural_network: str = DEFAULT_NEURAL_NETWORK,
                    sensor: str = DEFAULT_SENSOR) -> dict:
        """The ``model_metadata.json`` dict for this space (DeepRacer-on-AWS's keys),
        ``training_algorithm`` (``"clipped_ppo"`` or ``"sac"``), the network and the camera as
        given."""
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
            "sensor": [sensor],
            "neural_network": neural_network,
            "training_algorithm": algorithm,
            "action_space_type": "continuous" if self.continuous else "discrete",
            "version": str(int(v)) if v.is_integer() else str(v),
        }




# --------------------------------------------------------------------------------------------
# the validator (report mode)

class _Findings:
    """Collects the problems of one file."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.problems: list[Problem] = []

    def add(self, message: str, fix: str, level: str = "error", field: str = "") -> None:
        self.problems.append(Problem(self.where, message, fix, level, field))


def _limits_text(continuous: bool) -> str:
    lo, hi = CONTINUOUS_SPEED_LIMITS if continuous else DISCRETE_SPEED_LIMITS
    return (f"steering_angle within +-{MAX_STEERING_ANGLE:g} degrees, speed "
            f"{lo:g}-{hi:g} m/s")


def _within(value: float, lo: float, hi: float) -> bool:
    return lo - LIMIT_TOLERANCE <= value <= hi + LIMIT_TOLERANCE


def _space_kind(meta: dict, out: _Findings) -> str:
    """``action_space_type`` ("discrete" when missing or invalid, with the problem)."""
    kind = meta.get("action_space_type", "discrete")
    if "action_space_type" not in meta:
        out.add("no action_space_type (read as 'discrete')", 'add "action_space_type": '
                '"discrete" or "continuous"', WARNING, "action_space_type")
    if not isinstance(kind, str) or kind.strip().lower() not in ACTION_SPACE_TYPES:
        out.add(f"action_space_type = {kind!r}", 'use "discrete" or "continuous"',
                field="action_space_type")
        return "discrete"
    return kind.strip().lower()


def _check_algorithm(meta: dict, kind: str, out: _Findings) -> None:
    algo = meta.get("training_algorithm", "clipped_ppo")
    if not isinstance(algo, str) or algo.strip().lower() not in TRAINING_ALGORITHMS:
        out.add(f"training_algorithm = {algo!r}", 'use "clipped_ppo" (or "sac" for continuous)',
                field="training_algorithm")
    elif algo.strip().lower() == "sac" and kind != "continuous":
        out.add("training_algorithm 'sac' needs a continuous action space",
                'use "clipped_ppo", or make the action space continuous',
                field="training_algorithm")


def _check_continuous(space: object, out: _Findings) -> None:
    lim = _limits_text(True)
    if not isinstance(space, dict):
        out.add("a continuous action_space must be an object", 'write {"steering_angle": '
                '{"low": -30, "high": 30}, "speed": {"low": 0.5, "high": 4}}',
                field="action_space")
        return
    for key, (lo, hi) in (("steering_angle", STEERING_LIMITS),
                          ("speed", CONTINUOUS_SPEED_LIMITS)):
        entry = space.get(key)
        field = f"action_space.{key}"
        if not isinstance(entry, dict) or not all(is_number(entry.get(k))
                                                  for k in ("low", "high")):
            out.add(f"{field} must be {{\"low\": number, \"high\": number}}",
                    f"give numeric low and high ({lim})", field=field)
            continue
        for k in ("low", "high"):
            if not _within(float(entry[k]), lo, hi):
                out.add(f"{field}.{k} = {entry[k]} is outside [{lo:g}, {hi:g}]", f"keep {lim}",
                        field=f"{field}.{k}")
        if float(entry["low"]) > float(entry["high"]):
            out.add(f"{field}: low {entry['low']} > high {entry['high']}", "swap low and high",
                    field=field)


def _check_action(i: int, entry: object, out: _Findings) -> None:
    lim = _limits_text(False)
    w = f"action_space[{i}]"
    if not isinstance(entry, dict):
        out.add(f"{w} is not an object", 'write {"steering_angle": deg, "speed": m/s}', field=w)
        return
    for key, (lo, hi) in (("steering_angle", STEERING_LIMITS),
                          ("speed", DISCRETE_SPEED_LIMITS)):
        value = entry.get(key)
        if not is_number(value):
            out.add(f"{w}.{key} = {value!r} is not a number", f"give a number ({lim})",
                    field=f"{w}.{key}")
        elif not _within(float(value), lo, hi):
            out.add(f"{w}.{key} = {value} is outside [{lo:g}, {hi:g}]", f"keep {lim}",
                    field=f"{w}.{key}")
    if "index" in entry and entry["index"] != i:
        out.add(f"{w}.index = {entry['index']!r} but the policy output {i} selects it "
                "(list position)", f"set index {i} or remove it", WARNING, f"{w}.index")


def _check_discrete(space: object, out: _Findings) -> None:
    if not isinstance(space, list):
        out.add("a discrete action_space must be a list of {steering_angle, speed} entries",
                'write [{"steering_angle": -30, "speed": 1}, ...] or set action_space_type '
                '"continuous"', field="action_space")
        return
    if not MIN_DISCRETE_ACTIONS <= len(space) <= MAX_DISCRETE_ACTIONS:
        empty = " (the action space is empty)" if not space else ""
        out.add(f"{len(space)} discrete actions{empty}", f"give {MIN_DISCRETE_ACTIONS} to "
                f"{MAX_DISCRETE_ACTIONS} actions (DeepRacer's limit)", field=COUNT_FIELD)
    for i, entry in enumerate(space):
        _check_action(i, entry, out)


def _check_sensors(meta: dict, out: _Findings) -> None:
    sensors = meta.get("sensor")
    if sensors is None:
        out.add("no sensor (read by version)", 'add "sensor": ["FRONT_FACING_CAMERA"]', WARNING,
                "sensor")
    elif not isinstance(sensors, list) or not all(isinstance(s, str) for s in sensors):
        out.add(f"sensor = {sensors!r} must be a list of names", 'e.g. ["FRONT_FACING_CAMERA"]',
                field="sensor")
    else:
        unknown = [s for s in sensors if s not in CAMERA_SENSORS + LIDAR_SENSORS]
        cams = [s for s in sensors if s in CAMERA_SENSORS]
        lidars = [s for s in sensors if s in LIDAR_SENSORS]
        if unknown:
            out.add(f"unknown sensor {unknown}", f"use one of {', '.join(CAMERA_SENSORS)} (+ at "
                    f"most one of {', '.join(LIDAR_SENSORS)})", field="sensor")
        if len(cams) != 1:
            out.add(f"{len(cams)} cameras in sensor", "give exactly one camera, e.g. "
                    "FRONT_FACING_CAMERA", field="sensor")
        if len(lidars) > 1:
            out.add(f"{len(lidars)} lidars in sensor", "give at most one lidar", field="sensor")


def _version_number(raw: object) -> float | None:
    """``version`` as a float (it is written as a string or a number), None if it is not one."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        return None
    try:
        return float(raw)
    except (ValueError, OverflowError):
        return None


def version_problem(raw: object) -> tuple[str, str, str] | None:
    """(level, message, fix) of a ``version`` value that breaks the module's rule (None if it
    is fine): not a number, not finite or outside :data:`VERSION_LIMITS` (errors), above
    :data:`NEWEST_VERSION` (a warning)."""
    version = _version_number(raw)
    lo, hi = VERSION_LIMITS
    if version is None or not math.isfinite(version):
        return ERROR, f"version = {raw!r} is not a number", 'write e.g. "5" or 6'
    if not lo <= version <= hi:
        return (ERROR, f"version = {raw!r} is outside [{lo:g}, {hi:g}] (DeepRacer has written "
                f"1 to {NEWEST_VERSION:g})", f'write the version the model was trained with, e.g. '
                f'"{NEWEST_VERSION:g}" (DeepRacer-on-AWS) or "4" (the older car)')
    if version > NEWEST_VERSION:
        return (WARNING, f"version = {raw!r} is newer than the newest DeepRacer version this "
                f"simulator knows ({NEWEST_VERSION:g}); it drives the version-"
                f"{NEWEST_VERSION:g} car", f'write "{NEWEST_VERSION:g}" unless a newer '
                "DeepRacer wrote it")
    return None


def check_version(value: object, source: str = "--version") -> float:
    """A ``version`` (``--version`` or a metadata value) as a float, by the rule of
    :func:`version_problem` (the strict mode; warnings pass).

    Raises:
        ActionSpaceError: not a number, not finite or outside :data:`VERSION_LIMITS`.
    """
    problem = version_problem(value)
    if problem is not None and problem[0] == ERROR:
        raise ActionSpaceError(f"{source}: {problem[1]}; fix: {problem[2]}")
    version = _version_number(value)
    assert version is not None  # not a number is an error above
    return version


def _check_version(meta: dict, out: _Findings) -> None:
    if "version" not in meta:
        out.add("no version (the simapp then runs its legacy 1.0/2.0 behaviour)",
                'add "version": "5" (or 6, as DeepRacer-on-AWS writes)', WARNING, "version")
        return
    problem = version_problem(meta["version"])
    if problem is not None:
        level, message, fix = problem
        out.add(message, fix, level, "version")


def check_metadata_dict(meta: object, where: str = MODEL_METADATA) -> list[Problem]:
    """Every problem of a ``model_metadata.json`` object (spec §4.1 schema, the limits of the
    module docstring); ``where`` names the file in each :class:`Problem`."""
    out = _Findings(where)
    if not isinstance(meta, dict):
        out.add("not a JSON object", 'write {"action_space": [...], "action_space_type": ...}')
        return out.problems
    for key in meta:
        if key not in METADATA_KEYS:
            out.add(f"unknown key {key!r}", "remove it (DeepRacer's keys: "
                    f"{', '.join(METADATA_KEYS)})", WARNING, str(key))
    kind = _space_kind(meta, out)
    _check_algorithm(meta, kind, out)
    space = meta.get("action_space")
    if space is None:
        out.add("no action_space", "add the action_space the model was trained with",
                field="action_space")
    elif kind == "continuous":
        _check_continuous(space, out)
    else:
        _check_discrete(space, out)
    _check_sensors(meta, out)
    nn = meta.get("neural_network", DEFAULT_NEURAL_NETWORK)
    if nn not in NEURAL_NETWORKS:
        out.add(f"neural_network = {nn!r}", f"use one of {', '.join(NEURAL_NETWORKS)}",
                field="neural_network")
    _check_version(meta, out)
    return out.problems


def check_model_metadata(path: str | os.PathLike, where: str | None = None) -> list[Problem]:
    """Every problem of a ``model_metadata.json`` file (:func:`check_metadata_dict`), or the
    one that it is not valid JSON."""
    where = where or str(path)
    meta, problems = load_json(Path(path), where)
    return problems if meta is UNREADABLE else check_metadata_dict(meta, where)


# --------------------------------------------------------------------------------------------
# the reader (strict mode)

def _space_of(meta: dict) -> ActionSpace:
    """The :class:`ActionSpace` of a metadata dict that passed :func:`check_metadata_dict`."""
    space = meta["action_space"]
    if str(meta.get("action_space_type", "discrete")).strip().lower() == "continuous":
        rows = [(float(space[k]["low"]), float(space[k]["high"]))
                for k in ("steering_angle", "speed")]
        return ActionSpace(np.array(rows, dtype=np.float64), continuous=True)
    actions = [(float(e["steering_angle"]), float(e["speed"])) for e in space]
    return ActionSpace(np.array(actions, dtype=np.float64).reshape(-1, 2), continuous=False)


def entries_action_space(meta: object) -> ActionSpace | None:
    """The action space of a metadata dict whose action space entries are valid, whatever the
    rest of the file says (the action count included): the space its weights must fit. None if
    the entries themselves are broken, or there are none."""
    if not isinstance(meta, dict) or any(p.level == ERROR and p.field.startswith("action_space")
                                         for p in check_metadata_dict(meta)):
        return None
    space = _space_of(meta)
    return space if space.continuous or len(space) else None


def action_space_from_metadata(meta: object, source: str = MODEL_METADATA) -> ActionSpace:
    """The action space of a ``model_metadata.json`` dict (strict mode of
    :func:`check_metadata_dict`).

    Raises:
        ActionSpaceError: any error-level problem of the dict (the message names ``source``,
            each field and its fix).
    """
    raise_errors(check_metadata_dict(meta, source), ActionSpaceError, source)
    assert isinstance(meta, dict)  # a non-dict is an error above
    return _space_of(meta)


def metadata_version(meta: dict) -> float:
    """``version`` of a checked metadata dict as a float; a missing one is the legacy 2.0 with
    a ``sensor`` key, else 1.0 (spec §4.1). Any version < 5 selects the version-4 car."""
    raw = meta.get("version", 2.0 if "sensor" in meta else 1.0)
    return check_version(raw, "version")


def metadata_network(meta: dict) -> tuple[list[str], str]:
    """(``sensor`` names, ``neural_network``) of a checked metadata dict, the simapp's
    defaults (:data:`DEFAULT_SENSOR`, :data:`DEFAULT_NEURAL_NETWORK`) for absent keys."""
    sensors = meta.get("sensor", [DEFAULT_SENSOR])
    return ([str(s) for s in sensors] if isinstance(sensors, list) else [DEFAULT_SENSOR],
            str(meta.get("neural_network", DEFAULT_NEURAL_NETWORK)))


def read_model_metadata(path: str | os.PathLike) -> tuple[ActionSpace, float]:
    """Read a ``model_metadata.json``: (action space, ``version`` as float).

    Raises:
        ActionSpaceError: missing file, invalid JSON (with line), or any error-level problem of
            :func:`check_metadata_dict` (the message names the file, the field and the fix).
    """
    path = Path(path)
    meta = read_json(path, ActionSpaceError, " (expected a model_metadata.json)", damaged=(
        "; the file is damaged (cut short while it was written?). Fix: restore it; in a run "
        "folder it is the action space the policy was trained with (the --action-space file "
        "given to train, or an export of the run, has a copy)"))
    space = action_space_from_metadata(meta, str(path))
    assert isinstance(meta, dict)  # a non-dict is an error above
    return space, metadata_version(meta)


def read_training_algorithm(path: str | os.PathLike) -> str:
    """``training_algorithm`` of a valid ``model_metadata.json``, lower case (``"clipped_ppo"``
    when absent, as DeepRacer reads it).

    Raises:
        ActionSpaceError: as :func:`read_model_metadata`.
    """
    read_model_metadata(path)
    meta = read_json(Path(path), ActionSpaceError, " (expected a model_metadata.json)")
    assert isinstance(meta, dict)  # checked above
    return str(meta.get("training_algorithm", "clipped_ppo")).strip().lower()


def write_model_metadata(path: str | os.PathLike, space: ActionSpace,
                         version: float = DEFAULT_VERSION, algorithm: str = "clipped_ppo",
                         neural_network: str = DEFAULT_NEURAL_NETWORK,
                         sensor: str = DEFAULT_SENSOR) -> None:
    """Write ``model_metadata.json`` for ``space`` (indent 4, as DeepRacer's files) naming
    ``training_algorithm``, ``neural_network`` and ``sensor``, atomically."""
    atomic_write_text(path, metadata_text(space, version, algorithm,
                                          neural_network=neural_network, sensor=sensor))


def metadata_text(space: ActionSpace, version: float = DEFAULT_VERSION,
                  algorithm: str = "clipped_ppo",
                  neural_network: str = DEFAULT_NEURAL_NETWORK,
                  sensor: str = DEFAULT_SENSOR) -> str:
    """The text :func:`write_model_metadata` writes (a camera model's export: its network and
    camera)."""
    return json.dumps(space.to_metadata(version, algorithm, neural_network=neural_network,
                                        sensor=sensor), indent=4) + "\n"


# --------------------------------------------------------------------------------------------
# the console's generator

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
        ActionSpaceError: max_steering outside (0, 30], max_speed outside (0, 4], levels < 1,
            or a space that breaks the module's limits (a speed max_speed / speed_levels below
            0.1 m/s, fewer than 2 or more than 30 actions).
    """
    max_steering = _check_value(source, "max steering angle", max_steering, 0.0,
                                MAX_STEERING_ANGLE, lo_open=True)
    max_speed = _check_value(source, "max speed", max_speed, 0.0, MAX_SPEED, lo_open=True)
    for name, levels in (("steering levels", steering_levels), ("speed levels", speed_levels)):
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
            raise ActionSpaceError(f"{source}: {name} = {levels!r}; it must be an integer >= 1")
    if max_speed / speed_levels < MIN_SPEED - LIMIT_TOLERANCE:
        raise ActionSpaceError(
            f"{source}: the lowest speed, max speed / speed levels = {max_speed / speed_levels:g}"
            f" m/s, is below {MIN_SPEED:g} m/s; fix: raise the max speed or use fewer speed "
            "levels")
    actions = []
    for i in range(steering_levels):
        t = 0.5 if steering_levels < 2 else i / (steering_levels - 1)
        steer = -max_steering * (1.0 - t) + max_steering * t
        for j in range(1, speed_levels + 1):
            actions.append((steer + 0.0, max_speed * j / speed_levels))
    space = ActionSpace(np.array(actions, dtype=np.float64), continuous=False)
    raise_errors(check_metadata_dict(space.to_metadata(), source), ActionSpaceError, source)
    return space
