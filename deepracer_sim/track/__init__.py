"""The track: a DeepRacer ``.npy`` route, its geometry kernels, name lookup, the official catalog.

* :mod:`~deepracer_sim.track.model`: :class:`Track` (validation, the arrays the kernels use);
* :mod:`~deepracer_sim.track.geometry`: numba projection and on-road kernels;
* :mod:`~deepracer_sim.track.lookup`: ``--track NAME`` lookup and :func:`load_track`;
* :mod:`~deepracer_sim.track.catalog`, :mod:`~deepracer_sim.track.download`,
  :mod:`~deepracer_sim.track.draw`: the official tracks by name, their download, a drawing.
"""

from __future__ import annotations

from deepracer_sim.errors import TrackError
from deepracer_sim.track.lookup import (
    DEFAULT_TRACK,
    PROJECT_TRACKS_DIR,
    TRACKS_PATH_ENV,
    load_track,
    resolve_track_path,
    search_dirs,
)
from deepracer_sim.track.model import Track, TrackArrays, track_from_array, validate_waypoints

__all__ = [
    "DEFAULT_TRACK",
    "PROJECT_TRACKS_DIR",
    "TRACKS_PATH_ENV",
    "Track",
    "TrackArrays",
    "TrackError",
    "load_track",
    "resolve_track_path",
    "search_dirs",
    "track_from_array",
    "validate_waypoints",
]
