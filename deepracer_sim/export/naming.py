"""How a run's track is named in the cloud: ``training_params.yaml``'s ``WORLD_NAME`` and
``TRACK_DIRECTION_CLOCKWISE``, and deepracer-for-cloud's ``DR_WORLD_NAME``.

An official simapp route (``bundle/routes/<name>.npy``) keeps its name; a route of a
DeepRacer-on-AWS track driven both ways (``<id>_cw`` / ``<id>_ccw``) becomes the track id plus
the direction actually driven (the route's row order, flipped by ``reverse_direction``); a local
track file keeps its stem, with a note that the cloud does not have it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from deepracer_sim.formats.training_params import OFFICIAL_TRACKS, TWO_DIRECTION_TRACKS


@dataclass
class TrackNaming:
    """How the run's track is named in the cloud.

    Attributes:
        local_name: the track name the run used (its file stem).
        official: whether that is an official DeepRacer track.
        world_name: training_params.yaml WORLD_NAME (DeepRacer-on-AWS's track id for tracks
            driven both ways: no ``_cw``/``_ccw`` suffix).
        clockwise: the direction driven (None for an open track); with
            ``two_direction`` it is training_params.yaml's TRACK_DIRECTION_CLOCKWISE.
        drfc_world: deepracer-for-cloud's DR_WORLD_NAME (the route file trained on).
        notes: remarks for the yaml comments and the printed summary.
    """

    local_name: str
    official: bool
    world_name: str
    two_direction: bool
    clockwise: bool | None
    drfc_world: str
    reverse: bool
    notes: list[str] = field(default_factory=list)


def file_direction(track_path: str | None) -> str | None:
    """"ccw"/"cw"/"open" from a track file's centre line (shoelace sign), None if unreadable."""
    if not track_path:
        return None
    try:
        wp = np.load(track_path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if wp.ndim != 2 or wp.shape[1] != 6 or len(wp) < 3:
        return None
    if not np.array_equal(wp[0], wp[-1]):
        return "open"
    x, y = wp[:, 0], wp[:, 1]
    area = float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))
    return "ccw" if area > 0 else "cw"


def _notes(naming: TrackNaming, base: str) -> list[str]:
    name, clockwise = naming.local_name, naming.clockwise
    if not naming.official:
        return [f"WORLD_NAME {name!r} is not an official DeepRacer track (the run used a local "
                "track file): pick an official track in the cloud, or train locally on one of "
                "the simapp's route files (bundle/routes/<name>.npy) to carry the track over"]
    if naming.two_direction:
        return [f"WORLD_NAME {base!r} with TRACK_DIRECTION_CLOCKWISE "
                f"{'true' if clockwise else 'false'}: the simapp drives {base}"
                f"_{'cw' if clockwise else 'ccw'}; DeepRacer-on-AWS's importer compares this "
                "value with a YAML boolean, so check the direction after importing"]
    if naming.reverse:
        return [f"{name} was driven against its waypoint order (REVERSE_DIR 'true'); "
                "DeepRacer-on-AWS drives this track one way only"]
    return []


def track_naming(config: dict) -> TrackNaming:
    """Name the run's track for the cloud (see :class:`TrackNaming`); ``config`` is the run's
    ``run_config.json``."""
    name = str(config.get("track") or "")
    reverse = bool(config.get("reverse_direction", False))
    base = re.sub(r"_(cw|ccw)$", "", name)
    suffix = name[len(base) + 1:] if base != name else ""
    official = name in OFFICIAL_TRACKS or (bool(suffix) and base in TWO_DIRECTION_TRACKS)
    direction = suffix or OFFICIAL_TRACKS.get(name) or file_direction(config.get("track_path"))
    clockwise = None if direction in (None, "open") else (direction == "cw") != reverse
    two_direction = official and base in TWO_DIRECTION_TRACKS and clockwise is not None
    naming = TrackNaming(name, official, base if two_direction else name, two_direction,
                         clockwise, name, reverse)
    naming.notes.extend(_notes(naming, base))
    return naming
