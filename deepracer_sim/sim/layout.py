"""Every slot of the simulator's arrays, by name, in one place.

The kernels keep their state in flat float64/int64 arrays (few arguments keep a numba call cheap);
this module names each column so that no module indexes them by bare numbers:

* ``S_*`` (float) and ``I_*`` (int): per-car state, ``s`` (N, NS) and ``si`` (N, NI); the
  first :data:`~deepracer_sim.sim.car.N_STATE` float columns are the car's own state row,
  named with the car (:mod:`deepracer_sim.sim.car`) and re-exported here;
* ``R_*``: the record each step writes per car, ``rec`` (N, NR), from which the params dict and
  the sim-trace row are built; ``ST_*``: its status codes
  (:data:`~deepracer_sim.constants.STATUS_CODES` order);
* ``C_*``: the kernel configuration; the car's parameters follow at ``C_CAR`` (their ``P_*``
  slots are defined with :class:`deepracer_sim.sim.car.CarParams`, from its field order);
* ``L_*``: the header of a :class:`~deepracer_sim.sim.simulator.Simulator`'s packed int buffer;
* the track's packed arrays: ``H_*`` (int index header) and ``F_*`` (``fmeta``) are defined with
  the track (:mod:`deepracer_sim.track.model`) and re-exported here.

Record helpers: :func:`status`, :func:`lap_time`.
"""

from __future__ import annotations

from collections.abc import Sequence

from deepracer_sim.constants import STATUS_CODES, STEP_DT
from deepracer_sim.sim.car import (  # noqa: F401  (re-exported: the car's state slots)
    N_STATE,
    S_DELTA,
    S_V,
    S_VY,
    S_X,
    S_Y,
    S_YAW,
    S_YAW_RATE,
)
from deepracer_sim.track.model import (  # noqa: F401  (re-exported: the track's slots)
    F_IS_CCW,
    F_IS_LOOP,
    F_LENGTH,
    F_PROJ_GRID,
    F_ROAD_GRID,
    H_END,
    H_PROJ_SEGS,
    H_PROJ_START,
    H_ROAD_CELLS,
    H_ROAD_INSIDE,
    H_ROAD_START,
    HEADER_SIZE,
    N_FMETA,
)

# float state columns: the car's state row (S_X .. S_YAW_RATE, 0 .. N_STATE - 1), then
_C = N_STATE
S_START_NDIST = _C  # episode start point, fraction of the lap from waypoint 0 (start_ndist)
S_PREV_PROGRESS = _C + 1
S_STEPS = _C + 2
S_LAST_X, S_LAST_Y = _C + 3, _C + 4  # immobilized rule's last origin position
S_CLOCK = _C + 5  # simulated time of this car, s
# geometry of the current pose
S_REF_X, S_REF_Y = _C + 6, _C + 7
S_NDIST = _C + 8
S_DIST_CENTER = _C + 9
S_TRACK_WIDTH = _C + 10
S_IS_LEFT = _C + 11
S_WHEELS_ON = _C + 12
S_PREV_WP, S_NEXT_WP, S_CLOSEST_WP = _C + 13, _C + 14, _C + 15
S_HEADING = _C + 16
NS = _C + 17

# int state columns
I_DIRECTION = 0  # 0 forward (row order), 1 reversed
I_PHASE = 1  # PREPARE or RUN
I_REVERSE_COUNT = 2
I_IMMOBILE_COUNT = 3
I_EPISODE = 4  # finished episodes of this car
NI = 5

PREPARE, RUN = 0, 1

# record columns (one row per car per step)
R_X, R_Y, R_HEADING = 0, 1, 2
R_DIST_CENTER = 3
R_IS_LEFT = 4
R_IS_OFFTRACK = 5
R_ALL_WHEELS = 6
R_PROGRESS = 7
R_STEPS = 8
R_SPEED, R_STEER = 9, 10  # commanded action values
R_TRACK_WIDTH = 11
R_PROJECTION = 12
R_PREV_WP, R_NEXT_WP, R_CLOSEST_WP = 13, 14, 15
R_STATUS = 16  # index into constants.STATUS_CODES
R_DONE = 17
R_TRUNCATED = 18
R_REVERSED = 19
R_TSTAMP = 20
R_CALL_REWARD = 21
R_EPISODE = 22  # finished episodes of this car before this one (0-based episode index)
R_IS_CRASHED = 23  # 1.0: the car crashed into an object this step and the crash counts
NR = 24

# status codes (constants.STATUS_CODES order)
ST_PREPARE, ST_IN_PROGRESS, ST_LAP_COMPLETE, ST_OFF_TRACK = 0, 1, 2, 3
ST_REVERSED, ST_IMMOBILIZED, ST_TIME_UP = 4, 5, 6
ST_CRASHED = 7

# config columns
C_ADVANCE = 0  # round-robin advance per training episode, fraction of a lap
C_CHANGE_START = 1  # 1: advance the start point after each episode (training)
C_ALTERNATE = 2  # 1: flip the direction after each episode (training)
C_MAX_STEPS = 3  # step cap (truncation), steps including the PREPARE step
C_START_OFFSET = 4  # START_POSITION offset, fraction of a lap
NC = 5
C_CAR = NC  # the Simulator appends the car's parameters (CarParams.as_array) here

# Layout of the packed buffers (see Simulator): entries of the int buffer's header.
L_N, L_NPTS, L_NEDGES, L_LINES, L_LENS, L_FMETA, L_EDGES, L_CFG, L_NCFG, L_S, L_REC, L_CMD, \
    L_IARR, L_SI, L_END = range(15)
# the objects' part of the packed buffers (Simulator): offsets into F of the object state
# (obj, world, lc, oparams), the box layout and the lanes (pts, cum, nd, dists, spl); their
# sizes: M object slots, K fixed box positions, T lane-spline rows, LCR lane-change rows; the
# offset into I of the lanes' spline knot counts spl_n (2, 2); the lidar scans (N, L_NR)
L_OBJ, L_WORLD, L_LC, L_OPAR, L_BOXES, L_LANES, L_SPL, L_M, L_K, L_T, L_LCR, L_SPLN = range(15, 27)
L_RANGES, L_NR = 27, 28
L_SIZE = 29

# --- objects (boxes and bot cars; :mod:`deepracer_sim.sim.objects`) ---------------------------
# object columns, obj (N, M, NO): each car owns M object slots, boxes first, then bot cars (the
# simapp's object_poses order)
O_X, O_Y, O_YAW = 0, 1, 2  # pose of the object origin, m and rad
O_KIND = 3  # KIND_BOX or KIND_BOT
O_HALF_LEN, O_HALF_WID = 4, 5  # crash rectangle half extents, m
O_LIDAR_HALF_LEN, O_LIDAR_HALF_WID = 6, 7  # footprint a lidar sees, m
O_Z = 8  # pose height, m (camera frustum test)
O_LANE = 9  # lane the object is on (bots: the lane it is leaving during a change)
O_DIST0 = 10  # centre-line distance of the placement (bots: at bot time 0), m
O_LC_START, O_LC_END = 11, 12  # bots: lane change window in bot time, s (inf: none)
O_PROJ = 13  # centre-line projection of the position (params objects_distance), m
O_DCENTER = 14  # distance to the centre line (objects_distance_from_center), m
O_LEFT = 15  # 1.0 if left of centre (objects_left_of_center)
O_LC_N = 16  # bots: knots of the current lane-change spline in lc (0: follow the lane)
O_PIECE = 17  # bots: the current spline's cubic piece at the bot (lanes.N_PIECE values)
NO = O_PIECE + 13
KIND_BOX, KIND_BOT = 0, 1

# world columns, world (N, NW): per-car object settings and the bot clock
W_NBOX = 0  # boxes in slots [0, W_NBOX)
W_NBOT = 1  # bot cars in slots [W_NBOX, W_NBOX + W_NBOT)
W_BOT_SPEED = 2  # m/s (also params objects_speed of every object when there are bots)
W_BOT_TIME = 3  # bot clock: s since the episode reset, frozen while the bots wait
W_BOT_PAUSE = 4  # s the bots still wait after hitting the car
W_LANE_CHANGE = 5  # 1.0: bots change lanes (IS_LANE_CHANGE)
W_LC_LOWER, W_LC_UPPER = 6, 7  # LOWER/UPPER_LANE_CHANGE_TIME, s
W_LC_DIST = 8  # LANE_CHANGE_DISTANCE, m
W_BOT_PENALTY = 9  # PENALTY_SECONDS, s
W_BOX_RANDOM = 10  # 1.0: RANDOMIZE_OBSTACLE_LOCATIONS
W_BOX_GAP = 11  # minimum gap between generated boxes, m
W_BOT_RANDOM = 12  # 1.0: RANDOMIZE_BOT_CAR_LOCATIONS
W_BOT_GAP = 13  # MIN_DISTANCE_BETWEEN_BOT_CARS, m
W_VERSION = 14  # model_metadata version (the camera's position for object_in_camera)
W_LIDAR = 15  # the lidar sensor (sim.lidar LIDAR_NONE / LIDAR_FULL / LIDAR_SECTOR)
W_LIDAR_NOISE = 16  # its range noise (standard deviation), m
NW = 17

# object params row, oparams (N, P_OBJ + NPO * M), written each step before the action
P_PREV, P_NEXT = 0, 1  # closest_objects
P_IN_CAMERA = 2  # object_in_camera
P_CRASHED = 3  # 1.0: is_crashed
P_OBJ = 4  # per-object blocks start here, PO_* within a block of NPO
PO_X, PO_Y, PO_LEFT, PO_DIST, PO_DCENTER, PO_HEADING, PO_SPEED = range(7)
NPO = 7




def status(row: Sequence[float]) -> str:
    """The sim-trace status code (``"in_progress"``, ``"off_track"``, ...) of a record row."""
    return STATUS_CODES[int(row[R_STATUS])]


def lap_time(row: Sequence[float]) -> float:
    """Simulated seconds since the episode's PREPARE step, s (the lap time of a lap that
    completes on this row)."""
    return (row[R_STEPS] - 1.0) * STEP_DT
