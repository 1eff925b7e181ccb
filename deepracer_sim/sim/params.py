"""The reward function's ``params`` dict, exactly as AWS DeepRacer's simapp builds it.

All 26 keys AWS's simapp passes (``RewardParam``, spec §1.3). Where the simapp's code and AWS's
documentation disagree, this follows the code:

=============================  ===============================================================
key                            value (m, m/s, degrees)
=============================  ===============================================================
``all_wheels_on_track``        all four wheel centres strictly inside the road polygon
``x``, ``y``                   the reference point 0.14 m ahead of the car origin (docs: "car
                               centre"; code: ``RELATIVE_POSITION_OF_FRONT_OF_CAR``)
``heading``                    car yaw, degrees in (-180, 180], CCW from +x
``distance_from_center``       distance from the reference point to the centre line
``is_left_of_center``          closer to the inner than to the outer border, XOR not is_ccw
``is_offtrack``                all four wheel centres off the road (reset-rule flag)
``is_crashed``                 False (no objects)
``is_reversed``                the *track direction* is reversed (docs: "driving clockwise")
``progress``                   percent of the lap from the episode's start point, with the
                               simapp's ``compute_current_prog`` wrap rules
``steps``                      float; the first reward call sees 2.0 (step 1 is PREPARE; docs:
                               int)
``speed``, ``steering_angle``  the commanded action values before clipping (docs: "observed")
``track_width``                local width between the border points nearest the centre point
``track_length``               centre-line length including the closing segment
``waypoints``                  the centre line of the current direction as (x, y) tuples; for a
                               loop the last equals the first (``len == N`` rows, as AWS)
``closest_waypoints``          [prev, next] by ``bisect_right`` on the waypoints' projections
``projection_distance``        distance along the centre line from waypoint 0, m (undocumented)
object keys                    their defaults: ``closest_objects`` [0, 0], lists empty,
                               ``object_in_camera`` False
=============================  ===============================================================

The community simapp's 27th key ``sim_time`` is not passed: a reward function that used it would
fail on DeepRacer-on-AWS.
"""

from __future__ import annotations

import numpy as np

from deepracer_sim.constants import REFERENCE_POINT_X
from deepracer_sim.errors import UsageError
from deepracer_sim.sim import kernel, layout
from deepracer_sim.sim.observation import OBS_DIM
from deepracer_sim.track import Track

#: The keys, in the simapp's ``RewardParam`` order.
PARAM_KEYS = (
    "all_wheels_on_track", "x", "y", "heading", "distance_from_center", "is_left_of_center",
    "is_offtrack", "is_crashed", "is_reversed", "progress", "steps", "speed", "steering_angle",
    "track_width", "track_length", "waypoints", "closest_waypoints", "projection_distance",
    "closest_objects", "objects_location", "objects_left_of_center", "objects_distance",
    "objects_distance_from_center", "objects_heading", "objects_speed", "object_in_camera",
)


# the record columns, in order (layout.R_*): params_from_record unpacks a row in one go
_RECORD_ORDER = ("R_X", "R_Y", "R_HEADING", "R_DIST_CENTER", "R_IS_LEFT", "R_IS_OFFTRACK",
                 "R_ALL_WHEELS", "R_PROGRESS", "R_STEPS", "R_SPEED", "R_STEER", "R_TRACK_WIDTH",
                 "R_PROJECTION", "R_PREV_WP", "R_NEXT_WP", "R_CLOSEST_WP", "R_STATUS", "R_DONE",
                 "R_TRUNCATED", "R_REVERSED", "R_TSTAMP", "R_CALL_REWARD", "R_EPISODE")
assert [getattr(layout, name) for name in _RECORD_ORDER] == list(range(layout.NR))


def params_from_record(row: list[float], track: Track) -> dict:
    """Build a fresh params dict from one step record (``rec[i].tolist()``, columns
    :mod:`deepracer_sim.sim.layout` names).

    Every mutable value is new, so a reward function that mutates the dict changes nothing else.
    """
    (x, y, heading, dist, is_left, offtrack, all_wheels, progress, steps, speed, steer, width,
     projection, prev_wp, next_wp, _, _, _, _, reversed_dir, _, _, _) = row
    reversed_dir = reversed_dir > 0.5
    return {
        "all_wheels_on_track": all_wheels > 0.5,
        "x": x,
        "y": y,
        "heading": heading,
        "distance_from_center": dist,
        "is_left_of_center": is_left > 0.5,
        "is_offtrack": offtrack > 0.5,
        "is_crashed": False,
        "is_reversed": reversed_dir,
        "progress": progress,
        "steps": steps,
        "speed": speed,
        "steering_angle": steer,
        "track_width": width,
        "track_length": track.length,
        "waypoints": track.waypoint_list(reversed_dir)[:],
        "closest_waypoints": [int(prev_wp), int(next_wp)],
        "projection_distance": projection,
        "closest_objects": [0, 0],
        "objects_location": [],
        "objects_left_of_center": [],
        "objects_distance": [],
        "objects_distance_from_center": [],
        "objects_heading": [],
        "objects_speed": [],
        "object_in_camera": False,
    }


def copy_params(params: dict) -> dict:
    """A copy of a params dict whose lists are new too (the tuples inside are immutable), so a
    reward function that changes it cannot change the original: the simapp's
    ``copy.deepcopy(params)``, an order of magnitude cheaper."""
    out = params.copy()
    for key in _LIST_KEYS:
        out[key] = params[key][:]
    return out


_LIST_KEYS = ("waypoints", "closest_waypoints", "closest_objects", "objects_location",
              "objects_left_of_center", "objects_distance", "objects_distance_from_center",
              "objects_heading", "objects_speed")


def reward_params(track: Track, x: float, y: float, heading: float, *, speed: float = 1.0,
                  steering_angle: float = 0.0, steps: float = 2.0, start_distance: float = 0.0,
                  prev_progress: float = 0.0, reversed: bool = False) -> dict:
    """The params dict the simapp would pass with the car at a given pose (offline use).

    Args:
        track: from :func:`~deepracer_sim.load_track`.
        x, y: the reference point (params ``x``/``y``, 0.14 m ahead of the car origin), m.
        heading: car yaw, degrees CCW from +x.
        speed, steering_angle: the commanded action, m/s and degrees.
        steps: the step counter (2.0 is the first reward call of an episode).
        start_distance: the episode's start point, m along the centre line from waypoint 0 of
            the driving direction.
        prev_progress: the previous step's progress, percent (selects the wrap, spec §1.3).
        reversed: drive the track against its row order (params ``is_reversed``).

    Returns:
        a dict with the 26 keys of :data:`PARAM_KEYS`, computed by the same kernels as the env.

    Raises:
        ValueError: non-finite inputs.
    """
    values = (x, y, heading, speed, steering_angle, steps, start_distance, prev_progress)
    if not np.all(np.isfinite(np.asarray(values, dtype=np.float64))):
        raise UsageError(f"reward_params: every number must be finite, got {values}")
    s = np.zeros((1, layout.NS))
    si = np.zeros((1, layout.NI), dtype=np.int64)
    obs = np.zeros((1, OBS_DIM), dtype=np.float32)
    yaw = np.deg2rad(heading)
    s[0, layout.S_X] = x - REFERENCE_POINT_X * np.cos(yaw)
    s[0, layout.S_Y] = y - REFERENCE_POINT_X * np.sin(yaw)
    s[0, layout.S_YAW] = np.arctan2(np.sin(yaw), np.cos(yaw))
    s[0, layout.S_START_NDIST] = (start_distance / track.length) % 1.0
    s[0, layout.S_PREV_PROGRESS] = prev_progress
    s[0, layout.S_STEPS] = steps
    si[0, layout.I_DIRECTION] = 1 if reversed else 0
    si[0, layout.I_PHASE] = layout.RUN
    kernel.update_geometry(*track.arrays, s, si, 0, obs)
    row = kernel.pose_record(track.arrays.fmeta, s, si, 0, float(steering_angle), float(speed))
    return params_from_record(row.tolist(), track)
