"""The race type and its objects, as the racer's files already say them: deepracer-for-cloud's
``run.env`` / ``system.env`` keys, a DeepRacer-on-AWS-shaped JSON, and the simapp's world keys
of ``training_params.yaml``.

* deepracer-for-cloud (aws-deepracer-community/deepracer-for-cloud @ 2eb1a1f
  ``defaults/template-run.env:48-62``, ``scripts/training/prepare-config.py:62-87``):
  ``DR_RACE_TYPE``; ``DR_OA_NUMBER_OF_OBSTACLES``, ``DR_OA_MIN_DISTANCE_BETWEEN_OBSTACLES``,
  ``DR_OA_RANDOMIZE_OBSTACLE_LOCATIONS``, ``DR_OA_OBJECT_POSITIONS`` ("0.23,-1;0.46,1": fraction
  of the lap, lane 1 inside / -1 outside; sets the number of boxes); ``DR_H2B_IS_LANE_CHANGE``,
  ``DR_H2B_LOWER_LANE_CHANGE_TIME``, ``DR_H2B_UPPER_LANE_CHANGE_TIME``,
  ``DR_H2B_LANE_CHANGE_DISTANCE``, ``DR_H2B_NUMBER_OF_BOT_CARS``,
  ``DR_H2B_MIN_DISTANCE_BETWEEN_BOT_CARS``, ``DR_H2B_RANDOMIZE_BOT_CAR_LOCATIONS``,
  ``DR_H2B_BOT_CAR_SPEED``, ``DR_H2B_BOT_CAR_PENALTY``. Objects apply only to their race type.
* DeepRacer-on-AWS (aws-solutions/deepracer-on-aws @ 61af778 ``race.smithy``,
  ``SimulationEnvironmentHelper.ts:156-175``): ``{"raceType": "OBJECT_AVOIDANCE",
  "objectAvoidanceConfig": {"numberOfObjects": 3, "objectPositions": [{"trackPercentage": 0.15,
  "laneNumber": 1}, ...]}}``; no positions: random boxes.
* ``training_params.yaml`` world keys (the simapp's ``WorldConfig``): :func:`world_params`.

The minimum distance between generated boxes is taken in metres (the simapp before Oct 2024;
since then it is a percentage it re-converts on every call, ``docs/objects.md``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from deepracer_sim.errors import UsageError
from deepracer_sim.sim.world import RACE_TYPES, ObjectsConfig

_TRUE = ("true", "1", "yes")

#: DR_* key -> (ObjectsConfig field, type).
_DRFC_KEYS: dict[str, tuple[str, type]] = {
    "DR_OA_NUMBER_OF_OBSTACLES": ("boxes", int),
    "DR_OA_MIN_DISTANCE_BETWEEN_OBSTACLES": ("box_min_distance", float),
    "DR_OA_RANDOMIZE_OBSTACLE_LOCATIONS": ("randomize_boxes", bool),
    "DR_H2B_IS_LANE_CHANGE": ("lane_change", bool),
    "DR_H2B_LOWER_LANE_CHANGE_TIME": ("lower_lane_change_time", float),
    "DR_H2B_UPPER_LANE_CHANGE_TIME": ("upper_lane_change_time", float),
    "DR_H2B_LANE_CHANGE_DISTANCE": ("lane_change_distance", float),
    "DR_H2B_NUMBER_OF_BOT_CARS": ("bots", int),
    "DR_H2B_MIN_DISTANCE_BETWEEN_BOT_CARS": ("bot_min_distance", float),
    "DR_H2B_RANDOMIZE_BOT_CAR_LOCATIONS": ("randomize_bots", bool),
    "DR_H2B_BOT_CAR_SPEED": ("bot_speed", float),
    "DR_H2B_BOT_CAR_PENALTY": ("bot_penalty", float),
}


def parse_positions(text: str, source: str) -> tuple[tuple[float, int], ...]:
    """``"0.15,1;0.30,-1"`` -> ((0.15, 1), (0.30, -1)); lane -1 outside, anything else inside
    (the simapp's ``lane_choices[int(lane) == -1]``). Raises UsageError naming ``source``."""
    out = []
    for k, entry in enumerate(p for p in text.replace('"', "").split(";") if p.strip()):
        parts = entry.split(",")
        try:
            frac, lane = float(parts[0]), int(float(parts[1]))
        except (IndexError, ValueError):
            raise UsageError(f"{source}: box position {k} = {entry!r}; write "
                             "'<fraction of the lap>,<lane>' entries separated by ';', such as "
                             "'0.15,1;0.30,-1' (lane 1 inside, -1 outside)") from None
        out.append((frac, -1 if lane == -1 else 1))
    return tuple(out)


def read_env_file(path: str | os.PathLike) -> dict[str, str]:
    """``KEY=VALUE`` lines of a deepracer-for-cloud ``run.env`` / ``system.env`` (comments,
    blank lines and ``export`` skipped, quotes stripped). Raises UsageError if unreadable."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the env file ({exc})") from None
    values = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip().removeprefix("export ").strip()
        if "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip().strip("'\"")
    return values


def _typed(value: str, kind: type, source: str, key: str) -> Any:
    if kind is bool:
        return value.strip().lower() in _TRUE
    try:
        return kind(float(value)) if kind is int else kind(value)
    except ValueError:
        raise UsageError(f"{source}: {key}={value!r} is not a number") from None


def race_from_env(values: dict[str, str], source: str) -> tuple[str, ObjectsConfig | None]:
    """(race type, objects) from deepracer-for-cloud keys; objects None for a time trial."""
    race_type = values.get("DR_RACE_TYPE", "TIME_TRIAL").strip().upper()
    if race_type not in RACE_TYPES:
        raise UsageError(f"{source}: DR_RACE_TYPE={race_type!r}; use one of "
                         f"{', '.join(RACE_TYPES)}")
    if race_type == "TIME_TRIAL":
        return race_type, None
    prefix = "DR_OA_" if race_type == "OBJECT_AVOIDANCE" else "DR_H2B_"
    kwargs: dict[str, Any] = {}
    for key, (name, kind) in _DRFC_KEYS.items():
        if key.startswith(prefix) and values.get(key, "") != "":
            kwargs[name] = _typed(values[key], kind, source, key)
    if race_type == "OBJECT_AVOIDANCE" and values.get("DR_OA_OBJECT_POSITIONS", "").strip():
        kwargs["box_positions"] = parse_positions(values["DR_OA_OBJECT_POSITIONS"], source)
    return race_type, ObjectsConfig(**kwargs).check(source)


def race_from_json(data: dict, source: str) -> tuple[str, ObjectsConfig | None]:
    """(race type, objects) from a DeepRacer-on-AWS-shaped dict (see the module docstring)."""
    race_type = str(data.get("raceType", "TIME_TRIAL")).upper()
    if race_type not in RACE_TYPES:
        raise UsageError(f"{source}: raceType={race_type!r}; use one of {', '.join(RACE_TYPES)}")
    if race_type == "TIME_TRIAL":
        return race_type, None
    oa = data.get("objectAvoidanceConfig") or {}
    positions = tuple((float(p["trackPercentage"]), -1 if int(p["laneNumber"]) == -1 else 1)
                      for p in oa.get("objectPositions") or ())
    number = int(oa.get("numberOfObjects", len(positions) or 3))
    if positions and len(positions) != number:  # DeepRacer-on-AWS then places them at random
        positions = ()
    return race_type, ObjectsConfig(boxes=number, box_positions=positions,
                                    randomize_boxes=not positions).check(source)


def read_race_files(paths: list[Path]) -> tuple[str, ObjectsConfig | None]:
    """(race type, objects) from ``run.env``/``system.env`` files (merged in order) or one JSON
    file. Raises UsageError naming the file."""
    if len(paths) == 1 and paths[0].suffix.lower() == ".json":
        try:
            data = json.loads(paths[0].read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(f"{paths[0]}: not a readable JSON file ({exc})") from None
        if not isinstance(data, dict):
            raise UsageError(f"{paths[0]}: expected a JSON object with raceType")
        return race_from_json(data, str(paths[0]))
    values: dict[str, str] = {}
    for path in paths:
        values.update(read_env_file(path))
    return race_from_env(values, " + ".join(str(p) for p in paths))


def world_params(race_type: str, objects: ObjectsConfig | None) -> dict[str, str | list[str]]:
    """The simapp's world keys of ``training_params.yaml`` for a race (strings, as DRfC writes
    them; OBJECT_POSITIONS a list of ``"fraction,lane"``): RACE_TYPE and, with objects, the
    OBSTACLE / BOT_CAR keys (DRfC ``scripts/training/prepare-config.py:62-87``)."""
    out: dict[str, str | list[str]] = {"RACE_TYPE": race_type}
    if objects is None:
        return out
    if objects.num_boxes:
        out.update({
            "NUMBER_OF_OBSTACLES": str(objects.num_boxes), "OBSTACLE_TYPE": "box_obstacle",
            "IS_OBSTACLE_BOT_CAR": "False",
            "MIN_DISTANCE_BETWEEN_OBSTACLES": str(objects.box_min_distance),
            "RANDOMIZE_OBSTACLE_LOCATIONS": str(objects.randomize_boxes)})
        if objects.box_positions:
            out["OBJECT_POSITIONS"] = [f"{f},{lane}" for f, lane in objects.box_positions]
    if objects.bots:
        out.update({
            "NUMBER_OF_BOT_CARS": str(objects.bots), "BOT_CAR_SPEED": str(objects.bot_speed),
            "IS_LANE_CHANGE": str(objects.lane_change),
            "LOWER_LANE_CHANGE_TIME": str(objects.lower_lane_change_time),
            "UPPER_LANE_CHANGE_TIME": str(objects.upper_lane_change_time),
            "LANE_CHANGE_DISTANCE": str(objects.lane_change_distance),
            "MIN_DISTANCE_BETWEEN_BOT_CARS": str(objects.bot_min_distance),
            "RANDOMIZE_BOT_CAR_LOCATIONS": str(objects.randomize_bots),
            "PENALTY_SECONDS": str(objects.bot_penalty)})
    return out


def drfc_env_lines(race_type: str, objects: ObjectsConfig | None) -> list[str]:
    """deepracer-for-cloud ``run.env`` lines of a race (the inverse of :func:`race_from_env`)."""
    lines = [f"DR_RACE_TYPE={race_type}"]
    if objects is None:
        return lines
    for key, (name, _) in _DRFC_KEYS.items():
        if (key.startswith("DR_OA_") and objects.num_boxes) or (
                key.startswith("DR_H2B_") and objects.bots):
            value = getattr(objects, name)
            if name == "boxes":
                value = objects.num_boxes
            lines.append(f"{key}={value}")
    if objects.box_positions:
        lines.append('DR_OA_OBJECT_POSITIONS="'
                     + ";".join(f"{f},{lane}" for f, lane in objects.box_positions) + '"')
    return lines


def objects_to_json(objects: ObjectsConfig | None) -> dict | None:
    """The run folder's record of the objects (``run_config.json`` ``objects``)."""
    if objects is None:
        return None
    data = asdict(objects)
    data["box_positions"] = [list(p) for p in objects.box_positions]
    return data


def objects_from_json(data: dict | None, source: str) -> ObjectsConfig | None:
    """Inverse of :func:`objects_to_json`; raises UsageError naming ``source``."""
    if not data:
        return None
    known = {f.name for f in fields(ObjectsConfig)}
    try:
        kwargs = {k: v for k, v in data.items() if k in known}
        kwargs["box_positions"] = tuple((float(f), int(lane))
                                        for f, lane in kwargs.get("box_positions", ()))
        return ObjectsConfig(**kwargs).check(source)
    except (TypeError, ValueError):
        raise UsageError(f"{source}: the objects record is broken; train again") from None
