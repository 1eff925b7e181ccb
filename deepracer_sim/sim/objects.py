"""Objects on the track (boxes and bot cars): their geometry, the params keys, the crash test and
the training start rule, as DeepRacer's simapp computes them.

Sources: aws-deepracer-community/deepracer-simapp @ 01f5f015 (paths under ``bundle/markov/``),
checked against AWS's ``upstream-ros2`` @ 9a76236; the rules are summarised in
``../shared/docs/deepracer-interface.md`` §1.3 and §2 and in ``docs/objects.md``.

State (struct of arrays, float64, allocated once; slots named in :mod:`deepracer_sim.sim.layout`):
``obj`` (N, M, NO) the M object slots of each car (each car is its own episode and owns its
objects; boxes first, then bot cars), ``world`` (N, NW) each car's object settings and bot clock,
``oparams`` (N, P_OBJ + NPO * M) the object keys of each car's params. Bot cars move in
:mod:`deepracer_sim.sim.bots`. Random draws use numba's ``np.random`` (seeded by
:func:`seed_objects`).

Units: metres, seconds of simulated time, radians.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from deepracer_sim.constants import (
    BOX_CRASH_LENGTH,
    BOX_CRASH_WIDTH,
    BOX_LENGTH,
    BOX_WIDTH,
    BOX_Z,
    CAMERA_FAR,
    CAMERA_HFOV,
    CAMERA_NEAR,
    CAMERA_OFFSET_X,
    CAMERA_OFFSET_X_V2,
    CAMERA_OFFSET_Z,
    CAMERA_OFFSET_Z_V2,
    CAMERA_PITCH,
    CAMERA_VIEW_RATIO,
    CAR_LENGTH,
    CAR_WIDTH,
    CLOSEST_OBJ_GAP,
)
from deepracer_sim.sim.lanes import INNER, OUTER, line_interpolate, line_pose, line_project
from deepracer_sim.sim.layout import (
    F_IS_CCW,
    F_LENGTH,
    F_PROJ_GRID,
    H_END,
    H_PROJ_SEGS,
    KIND_BOX,
    NPO,
    O_DCENTER,
    O_DIST0,
    O_HALF_LEN,
    O_HALF_WID,
    O_KIND,
    O_LANE,
    O_LC_END,
    O_LC_START,
    O_LEFT,
    O_LIDAR_HALF_LEN,
    O_LIDAR_HALF_WID,
    O_PROJ,
    O_X,
    O_Y,
    O_YAW,
    O_Z,
    P_CRASHED,
    P_IN_CAMERA,
    P_NEXT,
    P_OBJ,
    P_PREV,
    PO_DCENTER,
    PO_DIST,
    PO_HEADING,
    PO_LEFT,
    PO_SPEED,
    PO_X,
    PO_Y,
    W_BOT_SPEED,
    W_NBOT,
    W_NBOX,
)
from deepracer_sim.track.geometry import project_point
from deepracer_sim.track.model import GRID_META, projection_rows

_CAM_COS_PITCH = math.cos(CAMERA_PITCH)
_CAM_SIN_PITCH = math.sin(CAMERA_PITCH)
_CAM_TAN_HALF_H = math.tan(0.5 * CAMERA_HFOV)
_CAM_TAN_HALF_V = _CAM_TAN_HALF_H * CAMERA_VIEW_RATIO

#: Objects the feature observation describes (the nearest ones ahead), and values per object.
OBS_OBJECTS = 2
OBS_PER_OBJECT = 4
N_OBJECT_FEATURES = OBS_OBJECTS * OBS_PER_OBJECT
#: Along-track window of the object features, m: farther objects read as "none" (gap 1).
OBS_OBJECT_RANGE = 6.0


def object_observation_bounds() -> tuple[np.ndarray, np.ndarray]:
    """(low, high) float32 arrays of the object features (OBS_OBJECTS * OBS_PER_OBJECT,)."""
    low = np.tile(np.array([0.0, -1.5, -1.5, 0.0], dtype=np.float32), OBS_OBJECTS)
    high = np.tile(np.array([1.0, 1.5, 1.5, 1.0], dtype=np.float32), OBS_OBJECTS)
    return low, high


def params_row_size(max_objects: int) -> int:
    """Length of the object params row for ``max_objects`` slots."""
    return P_OBJ + NPO * max_objects


@njit(cache=True)
def seed_objects(seed: int) -> None:
    """Seed the random draws of object placement and bot lane changes (numba's generator)."""
    np.random.seed(seed)


@njit(cache=True, inline="always")
def project_on(lines, fmeta, iarr, d: int, k: int, px: float, py: float):
    """``project_point`` on line k (0 centre, 1 inner, 2 outer) of direction d."""
    start, stop = projection_rows(fmeta, iarr, d, k)
    return project_point(lines[d, k], fmeta[F_PROJ_GRID:F_PROJ_GRID + GRID_META], iarr[start:stop],
                         iarr[iarr[H_PROJ_SEGS]:iarr[H_END]], px, py)


@njit(cache=True)
def object_geometry(lines, lens, fmeta, iarr, d: int, o: np.ndarray) -> None:
    """Fill an object's O_PROJ, O_DCENTER and O_LEFT from its position (direction ``d``).

    ``objects_distance`` = ``center_line.project(p)``; ``objects_distance_from_center`` =
    ``center_line.distance(p)``; ``objects_left_of_center`` = ``inner_poly.contains(p) XOR (not
    is_ccw)`` (``track_data.py:372-441``), ``inner_poly`` being the region between the centre line
    and the inner border: here "on the inner border's side of the centre line", the same for any
    point between the borders.
    """
    px = o[O_X]
    py = o[O_Y]
    seg, t, dist = project_on(lines, fmeta, iarr, d, 0, px, py)
    cum = lens[d, 0]
    o[O_PROJ] = cum[seg] + t * (cum[seg + 1] - cum[seg])
    o[O_DCENTER] = dist
    centre = lines[d, 0]
    inner = lines[d, 1]
    tx = centre[seg + 1, 0] - centre[seg, 0]
    ty = centre[seg + 1, 1] - centre[seg, 1]
    cx = centre[seg, 0] + t * tx
    cy = centre[seg, 1] + t * ty
    side_p = tx * (py - cy) - ty * (px - cx)
    ix = inner[seg, 0] + t * (inner[seg + 1, 0] - inner[seg, 0])
    iy = inner[seg, 1] + t * (inner[seg + 1, 1] - inner[seg, 1])
    side_in = tx * (iy - cy) - ty * (ix - cx)
    contains = (side_p > 0.0) == (side_in > 0.0) and side_p != 0.0
    is_ccw = (fmeta[F_IS_CCW] > 0.5) != (d == 1)
    o[O_LEFT] = 1.0 if contains != (not is_ccw) else 0.0


@njit(cache=True)
def spaced_distances(n: int, start: float, end: float, min_gap: float, randomize: bool,
                     out: np.ndarray) -> None:
    """Centre-line distances of ``n`` objects into ``out[:n]``, m.

    ``np.linspace(start, end, n)``; with ``randomize`` each object, in a random order, is redrawn
    uniformly between its neighbours' distances +- ``min_gap`` (``start``/``end`` for the
    first/last) when that interval is not empty (``obstacles_agent_ctrl.py:101-123``,
    ``bot_cars_agent_ctrl.py:159-201``).
    """
    for k in range(n):
        out[k] = start if n == 1 else start + (end - start) * k / (n - 1)
    if not randomize:
        return
    order = np.random.permutation(n)
    for m in range(n):
        k = order[m]
        lo = start if k == 0 else out[k - 1] + min_gap
        hi = end if k == n - 1 else out[k + 1] - min_gap
        if lo < hi:
            out[k] = lo + (hi - lo) * np.random.random()


@njit(cache=True)
def place_box(lines, lens, fmeta, iarr, lane_pts, lane_cum, lane_nd, d: int, lane: int,
              dist: float, o: np.ndarray) -> None:
    """Put a box on ``lane`` at centre-line distance ``dist`` (m), direction ``d``:
    ``lane.interpolate_pose(lane.project(center_line.interpolate(dist)))`` with the
    CENTRAL_DIFFERENCE yaw (``obstacles_agent_ctrl.py:131-141``)."""
    cx, cy = line_interpolate(lines[d, 0], lens[d, 0], dist)
    pts = lane_pts[d, lane]
    cum = lane_cum[d, lane]
    s, _, _ = line_project(pts, cum, cx, cy)
    x, y, yaw = line_pose(pts, cum, lane_nd[d, lane], s, False)
    init_object(o, KIND_BOX, BOX_CRASH_LENGTH, BOX_CRASH_WIDTH, BOX_LENGTH, BOX_WIDTH, BOX_Z,
                lane, dist, np.inf)
    o[O_X] = x
    o[O_Y] = y
    o[O_YAW] = yaw
    object_geometry(lines, lens, fmeta, iarr, d, o)


@njit(cache=True)
def init_object(o: np.ndarray, kind: int, crash_length: float, crash_width: float,
                lidar_length: float, lidar_width: float, z: float, lane: int, dist0: float,
                lc_end: float) -> None:
    """Clear an object row and set what a box and a bot car both have: ``kind``, the crash
    rectangle and the footprint a lidar sees (full length and width, m), the pose height (m),
    the lane, the placement's centre-line distance (m), no lane change under way and the end
    of the last one (``lc_end``, s of bot time; inf: none is ever scheduled)."""
    o[:] = 0.0
    o[O_KIND] = kind
    o[O_HALF_LEN] = 0.5 * crash_length
    o[O_HALF_WID] = 0.5 * crash_width
    o[O_LIDAR_HALF_LEN] = 0.5 * lidar_length
    o[O_LIDAR_HALF_WID] = 0.5 * lidar_width
    o[O_Z] = z
    o[O_LANE] = lane
    o[O_DIST0] = dist0
    o[O_LC_START] = np.inf
    o[O_LC_END] = lc_end


@njit(cache=True)
def place_boxes(lines, lens, fmeta, iarr, lane_pts, lane_cum, lane_nd, d: int, obj_i, world_i,
                boxes: np.ndarray, randomize: bool, min_gap: float, scratch: np.ndarray) -> None:
    """Place the car's boxes for a new episode (``obstacles_agent_ctrl.py:88-141``).

    ``boxes`` (K, 2) [fraction of the lap, lane] with K == W_NBOX: fixed positions
    (``OBJECT_POSITIONS``, lane OUTER/INNER); otherwise ``spaced_distances(min_gap, L - 1)``
    with lanes alternating inner, outer, ... or random (``randomize``).
    """
    length = fmeta[F_LENGTH + d]
    nbox = int(world_i[W_NBOX])
    if boxes.shape[0] == nbox:
        for k in range(nbox):
            place_box(lines, lens, fmeta, iarr, lane_pts, lane_cum, lane_nd, d,
                      int(boxes[k, 1]), boxes[k, 0] * length, obj_i[k])
        return
    spaced_distances(nbox, min_gap, length - 1.0, min_gap, randomize, scratch)
    for k in range(nbox):
        if randomize:
            lane = OUTER if np.random.random() >= 0.5 else INNER
        else:
            lane = OUTER if k % 2 == 1 else INNER
        place_box(lines, lens, fmeta, iarr, lane_pts, lane_cum, lane_nd, d, lane, scratch[k],
                  obj_i[k])


@njit(cache=True, inline="always")
def _visible(cam_x: float, cam_y: float, cam_z: float, cy: float, sy: float, px: float,
             py: float, pz: float) -> bool:
    """A point strictly inside the camera frustum (``Frustum.is_visible``, frustum.py:76-108)."""
    dx = px - cam_x
    dy = py - cam_y
    dz = pz - cam_z
    ahead = cy * dx + sy * dy
    depth = _CAM_COS_PITCH * ahead - _CAM_SIN_PITCH * dz
    lateral = sy * dx - cy * dy
    vertical = _CAM_SIN_PITCH * ahead + _CAM_COS_PITCH * dz
    return (CAMERA_NEAR < depth < CAMERA_FAR and abs(lateral) < depth * _CAM_TAN_HALF_H
            and abs(vertical) < depth * _CAM_TAN_HALF_V)


@njit(cache=True)
def object_in_frustum(o: np.ndarray, car_x: float, car_y: float, car_yaw: float,
                      version: float) -> bool:
    """Any of an object's 4 crash-rectangle corners (at its pose height) or its centre in the
    car's camera frustum (``get_objects_in_camera_frustums``, track_data.py:554-590)."""
    cy = math.cos(car_yaw)
    sy = math.sin(car_yaw)
    ox = CAMERA_OFFSET_X if version >= 3.0 else CAMERA_OFFSET_X_V2
    oz = CAMERA_OFFSET_Z if version >= 3.0 else CAMERA_OFFSET_Z_V2
    cam_x = car_x + ox * cy
    cam_y = car_y + ox * sy
    if _visible(cam_x, cam_y, oz, cy, sy, o[O_X], o[O_Y], o[O_Z]):
        return True
    c = math.cos(o[O_YAW])
    s = math.sin(o[O_YAW])
    hl = o[O_HALF_LEN]
    hw = o[O_HALF_WID]
    for a in (-1.0, 1.0):
        for b in (-1.0, 1.0):
            px = o[O_X] + a * hl * c - b * hw * s
            py = o[O_Y] + a * hl * s + b * hw * c
            if _visible(cam_x, cam_y, oz, cy, sy, px, py, o[O_Z]):
                return True
    return False


@njit(cache=True)
def object_params(obj_i: np.ndarray, world_i: np.ndarray, car_x: float, car_y: float,
                  car_yaw: float, model_pdist: float, version: float, out: np.ndarray) -> None:
    """The object keys of one car's params (``get_object_reward_params``, track_data.py:372-441).

    Args:
        obj_i: (M, NO) the car's objects (bot poses of the previous step, as the simapp).
        world_i: (NW,) the car's world row.
        car_x, car_y, car_yaw: car origin pose (m, rad), for the camera frustum.
        model_pdist: the params reference point's distance along the centre line, m.
        version: model_metadata version (the camera offset changes below 3).
        out: (P_OBJ + NPO * M,) params row (P_* / PO_* of :mod:`~deepracer_sim.sim.layout`);
            P_CRASHED is left for the crash rule.

    ``closest_objects`` = [prev, next] by ``bisect_right`` on the sorted distances mapped back to
    object indices; headings (rad) and speeds are reported only when bot cars exist (then for
    every object, boxes included); ``object_in_camera`` tests object ``next - 1``: the simapp
    indexes its frustum list (which starts with the racecar) with ``next`` (track_data.py:425).
    """
    n = int(world_i[W_NBOX] + world_i[W_NBOT])
    out[P_PREV] = 0.0
    out[P_NEXT] = 0.0
    out[P_IN_CAMERA] = 0.0
    if n == 0:
        return
    has_bots = world_i[W_NBOT] > 0.0
    speed = world_i[W_BOT_SPEED] if has_bots else 0.0
    for k in range(n):
        o = obj_i[k]
        base = P_OBJ + NPO * k
        out[base + PO_X] = o[O_X]
        out[base + PO_Y] = o[O_Y]
        out[base + PO_LEFT] = o[O_LEFT]
        out[base + PO_DIST] = o[O_PROJ]
        out[base + PO_DCENTER] = o[O_DCENTER]
        out[base + PO_HEADING] = o[O_YAW] if has_bots else 0.0
        out[base + PO_SPEED] = speed
    nxt_sorted = 0
    for k in range(n):
        if obj_i[k, O_PROJ] <= model_pdist:
            nxt_sorted += 1
    prv_sorted = nxt_sorted - 1
    if prv_sorted == -1:
        prv_sorted = n - 1
    if nxt_sorted == n:
        nxt_sorted = 0
    prv = 0
    nxt = 0
    for k in range(n):  # rank of each object in a stable sort of the distances
        rank = 0
        pk = obj_i[k, O_PROJ]
        for m in range(n):
            pm = obj_i[m, O_PROJ]
            if pm < pk or (pm == pk and m < k):
                rank += 1
        if rank == prv_sorted:
            prv = k
        if rank == nxt_sorted:
            nxt = k
    out[P_PREV] = prv
    out[P_NEXT] = nxt
    if nxt >= 1 and object_in_frustum(obj_i[nxt - 1], car_x, car_y, car_yaw, version):
        out[P_IN_CAMERA] = 1.0


@njit(cache=True)
def crashed_object(obj_i: np.ndarray, world_i: np.ndarray, car_x: float, car_y: float,
                   car_yaw: float) -> int:
    """Index of the object the car crashed into, or -1 (``get_collided_object_name``,
    track_data.py:525-552).

    One of the car's 4 corners (CAR_LENGTH x CAR_WIDTH centred on the car origin) strictly inside
    an object's crash rectangle; objects in order (boxes, then bots), the first hit wins. Only the
    car's corners are tested, not the object's.
    """
    n = int(world_i[W_NBOX] + world_i[W_NBOT])
    c = math.cos(car_yaw)
    s = math.sin(car_yaw)
    hl = 0.5 * CAR_LENGTH
    hw = 0.5 * CAR_WIDTH
    for k in range(n):
        o = obj_i[k]
        reach = hl + hw + o[O_HALF_LEN] + o[O_HALF_WID]
        if abs(o[O_X] - car_x) > reach or abs(o[O_Y] - car_y) > reach:
            continue
        oc = math.cos(o[O_YAW])
        osn = math.sin(o[O_YAW])
        for a in (-1.0, 1.0):
            for b in (-1.0, 1.0):
                px = car_x + a * hl * c - b * hw * s - o[O_X]
                py = car_y + a * hl * s + b * hw * c - o[O_Y]
                lx = px * oc + py * osn
                ly = -px * osn + py * oc
                if abs(lx) < o[O_HALF_LEN] and abs(ly) < o[O_HALF_WID]:
                    return k
    return -1


@njit(cache=True)
def _closest_object(obj_i, world_i, dist: float, length: float) -> int:
    """``RolloutCtrl._get_closest_obj``: the object with the smallest ``abs(object_dist - dist)
    % L`` below CLOSEST_OBJ_GAP (not a circular distance), or -1."""
    n = int(world_i[W_NBOX] + world_i[W_NBOT])
    best = -1
    gap = CLOSEST_OBJ_GAP
    for k in range(n):
        g = abs(obj_i[k, O_PROJ] - dist) % length
        if g < gap:
            gap = g
            best = k
    return best


@njit(cache=True)
def object_is_inner(lines, lens, d: int, ox: float, oy: float) -> bool:
    """``_is_obstacle_inner``: the object is nearer the inner border point than the outer one,
    both nearest to the object's centre-line point."""
    centre = lines[d, 0]
    s, _, _ = line_project(centre, lens[d, 0], ox, oy)
    cx, cy = line_interpolate(centre, lens[d, 0], s)
    best = np.empty(2)
    for k in range(2):
        line = lines[d, 1 + k]
        cum = np.empty(line.shape[0])
        cum[0] = 0.0
        for j in range(1, line.shape[0]):
            cum[j] = cum[j - 1] + math.hypot(line[j, 0] - line[j - 1, 0],
                                             line[j, 1] - line[j - 1, 1])
        sb, _, _ = line_project(line, cum, cx, cy)
        bx, by = line_interpolate(line, cum, sb)
        best[k] = math.hypot(ox - bx, oy - by)
    return best[0] < best[1]


@njit(cache=True)
def start_pose(lines, lens, lane_pts, lane_cum, lane_nd, obj_i, world_i, d: int,
               start_dist: float):
    """The training start rule (``_get_car_start_model_state``, rollout_agent_ctrl.py:350-376):
    when an object is within CLOSEST_OBJ_GAP of the start point along the centre line, the car
    starts on the other lane, at the lane pose nearest the centre-line start point (FORWARD
    yaw). The objects are those of the previous episode (they reset after the car).

    Returns:
        (moved, x, y, yaw): moved False when no object is near (the car keeps its centre pose).
    """
    length = lens[d, 0][-1]
    k = _closest_object(obj_i, world_i, start_dist, length)
    if k < 0:
        return False, 0.0, 0.0, 0.0
    x, y = line_interpolate(lines[d, 0], lens[d, 0], start_dist)
    lane = OUTER if object_is_inner(lines, lens, d, obj_i[k, O_X], obj_i[k, O_Y]) else INNER
    pts = lane_pts[d, lane]
    cum = lane_cum[d, lane]
    s, _, _ = line_project(pts, cum, x, y)
    px, py, yaw = line_pose(pts, cum, lane_nd[d, lane], s, True)
    return True, px, py, yaw


@njit(cache=True, inline="always")
def _ahead(gap: float, length: float) -> float:
    """``gap % length`` (Python's modulo, the same float) without its division for the usual
    case of two points on the lap (|gap| < length)."""
    if 0.0 <= gap < length:
        return gap + 0.0  # -0.0 -> 0.0, as %
    if -length < gap < 0.0:
        return gap + length  # what % computes: fmod(gap, length) = gap, plus length
    return gap % length


@njit(cache=True)
def write_object_observation(out: np.ndarray, obj_i: np.ndarray, world_i: np.ndarray,
                             ref_x: float, ref_y: float, yaw: float, measure: float,
                             length: float) -> None:
    """The object features of the observation: the OBS_OBJECTS nearest objects ahead along the
    centre line (within OBS_OBJECT_RANGE), OBS_PER_OBJECT values each: gap ahead / range
    [0, 1] (1: none), then the object's position in the car frame from the reference point,
    (forward, left) / 3 m clipped to [-1.5, 1.5], then 1.0 for a bot car, 0.0 for a box or none.

    Args:
        out: (OBS_OBJECTS * OBS_PER_OBJECT,) float32.
        measure: the reference point's distance along the centre line, m; length: lap, m.
    """
    n = int(world_i[W_NBOX] + world_i[W_NBOT])
    c = math.cos(yaw)
    s = math.sin(yaw)
    last = -1.0
    for j in range(OBS_OBJECTS):
        best = -1
        best_gap = OBS_OBJECT_RANGE
        for k in range(n):
            gap = _ahead(obj_i[k, O_PROJ] - measure, length)
            if last < gap < best_gap:
                best_gap = gap
                best = k
        base = j * OBS_PER_OBJECT
        if best < 0:
            out[base] = 1.0
            out[base + 1] = 1.5
            out[base + 2] = 0.0
            out[base + 3] = 0.0
            continue
        last = best_gap
        rx = obj_i[best, O_X] - ref_x
        ry = obj_i[best, O_Y] - ref_y
        out[base] = best_gap / OBS_OBJECT_RANGE
        out[base + 1] = min(max((c * rx + s * ry) / 3.0, -1.5), 1.5)
        out[base + 2] = min(max((-s * rx + c * ry) / 3.0, -1.5), 1.5)
        out[base + 3] = 0.0 if obj_i[best, O_KIND] == KIND_BOX else 1.0


@njit(cache=True, inline="always")
def set_crashed(out: np.ndarray, crashed: bool) -> None:
    """Write ``is_crashed`` into an object params row."""
    out[P_CRASHED] = 1.0 if crashed else 0.0

