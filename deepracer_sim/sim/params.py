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
``is_crashed``                 the crash rule (a crash into a box, or into a bot car the car is
                               behind in progress, :mod:`deepracer_sim.sim.bots`)
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
object keys                    from the object params row (:mod:`deepracer_sim.sim.objects`):
                               ``objects_location`` [[x, y], ...], ``objects_heading`` radians;
                               without objects the defaults: ``closest_objects`` [0, 0], lists
                               empty, ``object_in_camera`` False
=============================  ===============================================================

The community simapp's 27th key ``sim_time`` is not passed: a reward function that used it would
fail on DeepRacer-on-AWS.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deepracer_sim.constants import (
    BOT_Z,
    BOX_CRASH_LENGTH,
    BOX_CRASH_WIDTH,
    BOX_Z,
    CAR_LENGTH,
    CAR_WIDTH,
    MAX_OBJECTS,
    REFERENCE_POINT_X,
)
from deepracer_sim.errors import UsageError
from deepracer_sim.sim import bots as bots_mod
from deepracer_sim.sim import kernel, layout
from deepracer_sim.sim import objects as objects_mod
from deepracer_sim.sim.observation import OBS_DIM
from deepracer_sim.sim.world import no_objects
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
                 "R_TRUNCATED", "R_REVERSED", "R_TSTAMP", "R_CALL_REWARD", "R_EPISODE",
                 "R_IS_CRASHED")
assert [getattr(layout, name) for name in _RECORD_ORDER] == list(range(layout.NR))


def params_from_record(row: list[float], track: Track,
                       objects: list[float] | None = None) -> dict:
    """Build a fresh params dict from one step record (``rec[i].tolist()``, columns
    :mod:`deepracer_sim.sim.layout` names) and, with objects, the car's object params row
    (``Simulator.oparams[i].tolist()``).

    Every mutable value is new, so a reward function that mutates the dict changes nothing else.
    """
    (x, y, heading, dist, is_left, offtrack, all_wheels, progress, steps, speed, steer, width,
     projection, prev_wp, next_wp, _, _, _, _, reversed_dir, _, _, _, crashed) = row
    reversed_dir = reversed_dir > 0.5
    params = {
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
    if objects is not None:
        _fill_object_keys(params, objects, crashed > 0.5)
    return params


def _fill_object_keys(params: dict, row: list[float], crashed: bool) -> None:
    """Set the object keys of ``params`` from an object params row (layout ``P_*``/``PO_*``)."""
    n = (len(row) - layout.P_OBJ) // layout.NPO
    blocks = [row[layout.P_OBJ + layout.NPO * k:layout.P_OBJ + layout.NPO * (k + 1)]
              for k in range(n)]
    params["is_crashed"] = crashed
    params["closest_objects"] = [int(row[layout.P_PREV]), int(row[layout.P_NEXT])]
    params["objects_location"] = [[b[layout.PO_X], b[layout.PO_Y]] for b in blocks]
    params["objects_left_of_center"] = [b[layout.PO_LEFT] > 0.5 for b in blocks]
    params["objects_distance"] = [b[layout.PO_DIST] for b in blocks]
    params["objects_distance_from_center"] = [b[layout.PO_DCENTER] for b in blocks]
    params["objects_heading"] = [b[layout.PO_HEADING] for b in blocks]
    params["objects_speed"] = [b[layout.PO_SPEED] for b in blocks]
    params["object_in_camera"] = row[layout.P_IN_CAMERA] > 0.5


def copy_params(params: dict) -> dict:
    """A copy of a params dict whose lists are new too (the tuples inside are immutable), so a
    reward function that changes it cannot change the original: the simapp's
    ``copy.deepcopy(params)``, an order of magnitude cheaper."""
    out = params.copy()
    for key in _LIST_KEYS:
        out[key] = params[key][:]
    if out["objects_location"]:
        out["objects_location"] = [point[:] for point in out["objects_location"]]
    return out


_LIST_KEYS = ("waypoints", "closest_waypoints", "closest_objects", "objects_location",
              "objects_left_of_center", "objects_distance", "objects_distance_from_center",
              "objects_heading", "objects_speed")


def reward_params(track: Track, x: float, y: float, heading: float, *, speed: float = 1.0,
                  steering_angle: float = 0.0, steps: float = 2.0, start_distance: float = 0.0,
                  prev_progress: float = 0.0, reversed: bool = False,
                  objects: Sequence[Sequence[float]] = (), version: float = 6.0) -> dict:
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
        objects: ``[(x, y, heading_rad, speed), ...]`` object origins (m, radians, m/s) in the
            simapp's order (boxes first); a box is ``(x, y, 0.0, 0.0)``, anything with a speed
            is a bot car. Fills every object key and ``is_crashed`` (the crash rule with this
            layout; a bot the car is ahead of does not count).
        version: model_metadata version (the camera position of ``object_in_camera``).

    Returns:
        a dict with the 26 keys of :data:`PARAM_KEYS`, computed by the same kernels as the env.

    Raises:
        UsageError: non-finite inputs, an object that is not 4 numbers, too many objects.
    """
    values = (x, y, heading, speed, steering_angle, steps, start_distance, prev_progress)
    if not np.all(np.isfinite(np.asarray(values, dtype=np.float64))):
        raise UsageError(f"reward_params: every number must be finite, got {values}")
    table = _object_table(objects)
    s = np.zeros((1, layout.NS))
    si = np.zeros((1, layout.NI), dtype=np.int64)
    objs = no_objects(1)
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
    kernel.update_geometry(*track.arrays, s, si, 0, obs, objs)
    row = kernel.pose_record(track.arrays.fmeta, s, si, 0, float(steering_angle), float(speed))
    if not len(table):
        return params_from_record(row.tolist(), track)
    opar = _object_row(track, s, si, row, table, version)
    row[layout.R_IS_CRASHED] = opar[layout.P_CRASHED]
    return params_from_record(row.tolist(), track, opar.tolist())


def _object_table(objects: Sequence[Sequence[float]]) -> np.ndarray:
    """(K, 4) float64 from ``reward_params``' ``objects``; raises UsageError."""
    try:
        table = np.asarray(objects, dtype=np.float64).reshape(-1, 4)
    except ValueError:
        raise UsageError(f"reward_params: objects={objects!r}; give a list of (x, y, "
                         "heading_rad, speed) tuples, a box as (x, y, 0.0, 0.0)") from None
    if not np.all(np.isfinite(table)) or len(table) > MAX_OBJECTS:
        raise UsageError(f"reward_params: objects must be finite numbers, at most {MAX_OBJECTS}")
    return table


def _object_row(track: Track, s: np.ndarray, si: np.ndarray, row: np.ndarray,
                table: np.ndarray, version: float) -> np.ndarray:
    """The object params row of one car pose and an object table (see ``reward_params``)."""
    lines, lens, fmeta, _, iarr = track.arrays
    d = int(si[0, layout.I_DIRECTION])
    n = len(table)
    bots = table[:, 3] > 0.0
    obj = np.zeros((n, layout.NO))
    for k, (ox, oy, oyaw, _) in enumerate(table):
        o = obj[k]
        o[layout.O_X], o[layout.O_Y], o[layout.O_YAW] = ox, oy, oyaw
        o[layout.O_KIND] = layout.KIND_BOT if bots[k] else layout.KIND_BOX
        half = (CAR_LENGTH, CAR_WIDTH) if bots[k] else (BOX_CRASH_LENGTH, BOX_CRASH_WIDTH)
        o[layout.O_HALF_LEN], o[layout.O_HALF_WID] = 0.5 * half[0], 0.5 * half[1]
        o[layout.O_Z] = BOT_Z if bots[k] else BOX_Z
        objects_mod.object_geometry(lines, lens, fmeta, iarr, d, o)
    world = np.zeros(layout.NW)
    world[layout.W_NBOX] = n
    out = np.zeros(objects_mod.params_row_size(n))
    objects_mod.object_params(obj, world, s[0, layout.S_X], s[0, layout.S_Y], s[0, layout.S_YAW],
                          row[layout.R_PROJECTION], float(version), out)
    if bots.any():  # headings and speeds are reported when bot cars exist (for every object)
        for k in range(n):
            out[layout.P_OBJ + layout.NPO * k + layout.PO_HEADING] = table[k, 2]
            out[layout.P_OBJ + layout.NPO * k + layout.PO_SPEED] = table[k, 3]
    k = objects_mod.crashed_object(obj, world, s[0, layout.S_X], s[0, layout.S_Y],
                                   s[0, layout.S_YAW])
    crash = bots_mod.resolve_crash(lines, lens, fmeta, iarr, obj, world, d, k,
                                   row[layout.R_PROGRESS], s[0, layout.S_START_NDIST])
    out[layout.P_CRASHED] = 1.0 if crash == bots_mod.CRASH_COUNTS else 0.0
    return out
