"""The batched step kernel: N cars on one track, with DeepRacer's step loop and episode rules.

Both :class:`~deepracer_sim.env.DeepRacerEnv` (N = 1) and the vectorised env step their cars
here, so they share every rule. One call of :func:`step_cars` is one DeepRacer step for each car
(spec §2.1, ``deepracer_racetrack_env._update_state`` with physics paused between steps):

1. ``steps += 1``; the reward params and the reset-rule flags are computed from the pose *before*
   the action (``update_agent``): progress with the simapp's wrap rules, off track (all four wheel
   centres off the road), reversed (15 consecutive RUN steps of decreasing progress), immobilized
   (15 consecutive RUN steps moving <= 0.3 mm), lap complete (progress >= 100);
2. the status and done flag follow the simapp's priority: lap_complete > off_track >
   immobilized > reversed (``EpisodeStatus.get_episode_status``); our step cap comes last and is
   reported as ``time_up`` with ``truncated`` rather than done;
3. the car drives 1/15 s under the action (clipped to +-30 degrees, [0.1, 4] m/s): the car
   model's sub-steps run inside this one call (:func:`~deepracer_sim.sim.car.advance_car`);
4. the geometry of the new pose is computed once: it is the observation returned now and the
   params of the next step.

The first step of an episode is the simapp's PREPARE step: the car is held, the reward is 0 and
the reward function is not called (``_judge_action_at_prepare_phase``), so the reward function
first sees ``steps == 2.0``. After a training episode the start point advances by the round-robin
distance (``finish_episode``) and, optionally, the direction alternates.

State is struct-of-arrays: ``s`` (N, NS) float64 and ``si`` (N, NI) int64 with the column
indices below; each step writes one row per car into ``rec`` (N, NR) float64, from which the
params dict and the sim-trace row are built. The track comes as the five arrays of
:class:`~deepracer_sim.track.TrackArrays` (``*track.arrays``), the car's parameters inside
``cfg`` (the car and its sub-steps: :mod:`deepracer_sim.sim.car`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from deepracer_sim.constants import (
    IMMOBILIZED_DISTANCE,
    IMMOBILIZED_STEPS,
    REFERENCE_POINT_X,
    REVERSE_STEPS,
    STEP_DT,
    WHEEL_POSITIONS,
)
from deepracer_sim.sim.bots import (
    CRASH_COUNTS,
    CRASH_IGNORED,
    LC_WORK,
    reset_objects,
    resolve_crash,
    update_bots,
)
from deepracer_sim.sim.car import N_PARAMS, advance_car, clip_command
from deepracer_sim.sim.layout import (
    C_ADVANCE,
    C_ALTERNATE,
    C_CAR,
    C_CHANGE_START,
    C_MAX_STEPS,
    C_START_OFFSET,
    F_IS_CCW,
    F_IS_LOOP,
    F_LENGTH,
    F_ROAD_GRID,
    H_PROJ_START,
    H_ROAD_CELLS,
    H_ROAD_INSIDE,
    H_ROAD_START,
    I_DIRECTION,
    I_EPISODE,
    I_IMMOBILE_COUNT,
    I_PHASE,
    I_REVERSE_COUNT,
    L_CFG,
    L_CMD,
    L_EDGES,
    L_FMETA,
    L_IARR,
    L_LENS,
    L_LINES,
    L_N,
    L_NCFG,
    L_NEDGES,
    L_NPTS,
    L_REC,
    L_S,
    L_SI,
    N_STATE,
    NI,
    NR,
    NS,
    PREPARE,
    R_ALL_WHEELS,
    R_CALL_REWARD,
    R_CLOSEST_WP,
    R_DIST_CENTER,
    R_DONE,
    R_EPISODE,
    R_HEADING,
    R_IS_CRASHED,
    R_IS_LEFT,
    R_IS_OFFTRACK,
    R_NEXT_WP,
    R_PREV_WP,
    R_PROGRESS,
    R_PROJECTION,
    R_REVERSED,
    R_SPEED,
    R_STATUS,
    R_STEER,
    R_STEPS,
    R_TRACK_WIDTH,
    R_TRUNCATED,
    R_TSTAMP,
    R_X,
    R_Y,
    RUN,
    S_CLOCK,
    S_CLOSEST_WP,
    S_DELTA,
    S_DIST_CENTER,
    S_HEADING,
    S_IS_LEFT,
    S_LAST_X,
    S_LAST_Y,
    S_NDIST,
    S_NEXT_WP,
    S_PREV_PROGRESS,
    S_PREV_WP,
    S_REF_X,
    S_REF_Y,
    S_START_NDIST,
    S_STEPS,
    S_TRACK_WIDTH,
    S_V,
    S_VY,
    S_WHEELS_ON,
    S_X,
    S_Y,
    S_YAW,
    S_YAW_RATE,
    ST_CRASHED,
    ST_IMMOBILIZED,
    ST_IN_PROGRESS,
    ST_LAP_COMPLETE,
    ST_OFF_TRACK,
    ST_PREPARE,
    ST_REVERSED,
    ST_TIME_UP,
    W_LIDAR,
    W_LIDAR_NOISE,
    W_VERSION,
)
from deepracer_sim.sim.lidar import LIDAR_NONE, write_lidar_observation
from deepracer_sim.sim.objects import (
    N_OBJECT_FEATURES,
    crashed_object,
    object_params,
    project_on,
    set_crashed,
    start_pose,
    write_object_observation,
)
from deepracer_sim.sim.observation import OBS_DIM, point_along, write_observation
from deepracer_sim.sim.world import unpack_objects
from deepracer_sim.track.geometry import find_prev_next, point_on_road
from deepracer_sim.track.model import GRID_META

_WHEELS = np.array(WHEEL_POSITIONS)


@njit(cache=True, inline="always")
def compute_current_prog(current_progress: float, prev_progress: float) -> float:
    """The simapp's ``compute_current_prog`` (``agent_ctrl/utils.py``), percent.

    ``current_progress`` is ``ndist - start_ndist`` (fraction of a lap).
    """
    p = 100.0 * current_progress
    if p <= 0.0:
        p += 100.0
    if prev_progress > p + 50.0:
        p += 100.0
    if p > prev_progress + 50.0:
        p -= 100.0
    return min(p, 100.0)


@njit(cache=True)
def write_record(fmeta: np.ndarray, s: np.ndarray, si: np.ndarray, i: int, r: np.ndarray,
                 progress: float, steer_cmd: float, speed_cmd: float, status: int, done: bool,
                 truncated: bool, call_reward: bool, crashed: bool = False) -> None:
    """Fill record row ``r`` (NR,) from car ``i``'s current geometry and this step's values."""
    d = si[i, I_DIRECTION]
    wheels = s[i, S_WHEELS_ON]
    r[R_X] = s[i, S_REF_X]
    r[R_Y] = s[i, S_REF_Y]
    r[R_HEADING] = s[i, S_HEADING]
    r[R_DIST_CENTER] = s[i, S_DIST_CENTER]
    r[R_IS_LEFT] = s[i, S_IS_LEFT]
    r[R_IS_OFFTRACK] = 1.0 if wheels == 0 else 0.0
    r[R_ALL_WHEELS] = 1.0 if wheels == 4 else 0.0
    r[R_PROGRESS] = progress
    r[R_STEPS] = s[i, S_STEPS]
    r[R_SPEED] = speed_cmd
    r[R_STEER] = steer_cmd
    r[R_TRACK_WIDTH] = s[i, S_TRACK_WIDTH]
    r[R_PROJECTION] = s[i, S_NDIST] * fmeta[F_LENGTH + d]
    r[R_PREV_WP] = s[i, S_PREV_WP]
    r[R_NEXT_WP] = s[i, S_NEXT_WP]
    r[R_CLOSEST_WP] = s[i, S_CLOSEST_WP]
    r[R_STATUS] = status
    r[R_DONE] = 1.0 if done else 0.0
    r[R_TRUNCATED] = 1.0 if truncated else 0.0
    r[R_REVERSED] = d
    r[R_TSTAMP] = s[i, S_CLOCK]
    r[R_CALL_REWARD] = 1.0 if call_reward else 0.0
    r[R_EPISODE] = si[i, I_EPISODE]
    r[R_IS_CRASHED] = 1.0 if crashed else 0.0


@njit(cache=True)
def pose_record(fmeta: np.ndarray, s: np.ndarray, si: np.ndarray, i: int, steer_cmd: float,
                speed_cmd: float) -> np.ndarray:
    """The record of car ``i`` at its current pose as a RUN step would see it, without stepping.

    Progress uses the stored start point and previous progress; the status is in_progress or
    off_track.
    """
    progress = compute_current_prog(s[i, S_NDIST] - s[i, S_START_NDIST], s[i, S_PREV_PROGRESS])
    r = np.zeros(NR)
    status = ST_OFF_TRACK if s[i, S_WHEELS_ON] == 0 else ST_IN_PROGRESS
    write_record(fmeta, s, si, i, r, progress, steer_cmd, speed_cmd, status, False, False, True)
    return r


@njit(cache=True)
def update_geometry(lines, lens, fmeta, road_edges, iarr, s: np.ndarray, si: np.ndarray,
                    i: int, obs: np.ndarray, objs) -> None:
    """Compute the params geometry and the observation of car ``i``'s current pose
    (``track_data.get_nearest_points`` and ``set_reward_and_metrics``, spec §1.2-1.3); with
    objects (``objs``, see :func:`~deepracer_sim.sim.world.no_objects`) the observation's
    object features too."""
    d = si[i, I_DIRECTION]
    is_loop = fmeta[F_IS_LOOP] > 0.5
    length = fmeta[F_LENGTH + d]
    centre = lines[d, 0]
    yaw = s[i, S_YAW]
    c = math.cos(yaw)
    sn = math.sin(yaw)
    x = s[i, S_X]
    y = s[i, S_Y]
    rx = x + REFERENCE_POINT_X * c
    ry = y + REFERENCE_POINT_X * sn
    seg, t, dist = project_on(lines, fmeta, iarr, d, 0, rx, ry)
    cum = lens[d, 0]
    measure = cum[seg] + t * (cum[seg + 1] - cum[seg])
    ndist = measure / length
    ncx = centre[seg, 0] + t * (centre[seg + 1, 0] - centre[seg, 0])
    ncy = centre[seg, 1] + t * (centre[seg + 1, 1] - centre[seg, 1])
    # the border points nearest to the centre point
    inner = lines[d, 1]
    sj, tj, _ = project_on(lines, fmeta, iarr, d, 1, ncx, ncy)
    nix = inner[sj, 0] + tj * (inner[sj + 1, 0] - inner[sj, 0])
    niy = inner[sj, 1] + tj * (inner[sj + 1, 1] - inner[sj, 1])
    outer = lines[d, 2]
    so, to, _ = project_on(lines, fmeta, iarr, d, 2, ncx, ncy)
    nox = outer[so, 0] + to * (outer[so + 1, 0] - outer[so, 0])
    noy = outer[so, 1] + to * (outer[so + 1, 1] - outer[so, 1])
    width = math.hypot(nix - nox, niy - noy)
    d_in = math.hypot(rx - nix, ry - niy)
    d_out = math.hypot(rx - nox, ry - noy)
    is_ccw = (fmeta[F_IS_CCW] > 0.5) != (d == 1)
    is_left = (d_in < d_out) != (not is_ccw)
    prv, nxt = find_prev_next(lens[d, 1], ndist)
    d_prev = math.hypot(rx - centre[prv, 0], ry - centre[prv, 1])
    d_next = math.hypot(rx - centre[nxt, 0], ry - centre[nxt, 1])
    road_start = iarr[iarr[H_ROAD_START]:iarr[H_ROAD_CELLS]]
    road_cells = iarr[iarr[H_ROAD_CELLS]:iarr[H_ROAD_INSIDE]]
    road_inside = iarr[iarr[H_ROAD_INSIDE]:iarr[H_PROJ_START]]
    road_meta = fmeta[F_ROAD_GRID:F_ROAD_GRID + GRID_META]
    wheels = 0
    for k in range(4):
        wx = x + c * _WHEELS[k, 0] - sn * _WHEELS[k, 1]
        wy = y + sn * _WHEELS[k, 0] + c * _WHEELS[k, 1]
        if point_on_road(road_meta, road_edges, road_start, road_cells, road_inside, wx, wy):
            wheels += 1
    s[i, S_REF_X] = rx
    s[i, S_REF_Y] = ry
    s[i, S_NDIST] = ndist
    s[i, S_DIST_CENTER] = dist
    s[i, S_TRACK_WIDTH] = width
    s[i, S_IS_LEFT] = 1.0 if is_left else 0.0
    s[i, S_WHEELS_ON] = wheels
    s[i, S_PREV_WP] = prv
    s[i, S_NEXT_WP] = nxt
    s[i, S_CLOSEST_WP] = nxt if d_next < d_prev else prv
    s[i, S_HEADING] = yaw * 180.0 / math.pi
    # signed offset from the centre line, + = left of travel
    tx = centre[seg + 1, 0] - centre[seg, 0]
    ty = centre[seg + 1, 1] - centre[seg, 1]
    side = tx * (ry - ncy) - ty * (rx - ncx)
    offset = dist if side > 0.0 else -dist
    write_observation(obs[i], centre, cum, is_loop, seg, measure, rx, ry, yaw, s[i, S_V],
                      s[i, S_DELTA], offset, 0.5 * width)
    if objs[0].shape[1] > 0:
        world = objs[1]
        write_object_observation(obs[i, OBS_DIM:], objs[0][i], world[i], rx, ry, yaw, measure,
                                 length)
        code = int(world[i, W_LIDAR])
        if code != LIDAR_NONE:
            write_lidar_observation(objs[0][i], world[i], code, x, y, yaw, world[i, W_LIDAR_NOISE],
                                    objs[11][i], obs[i, OBS_DIM + N_OBJECT_FEATURES:])


@njit(cache=True)
def reset_car(lines, lens, fmeta, road_edges, iarr, cfg: np.ndarray, s: np.ndarray,
              si: np.ndarray, i: int, obs: np.ndarray, objs) -> None:
    """Place car ``i`` at its episode start (``_get_car_start_model_state``), phase PREPARE.

    The car origin goes on the centre line at ``(start_ndist + offset) * track_length`` with the
    yaw pointing at the next waypoint (``interpolate_pose`` with FORWARD_DIFFERENCE), at rest.
    With objects, in training, an object within 1 m of that point (the previous episode's
    objects: the simapp resets them after the car) moves the start to the other lane; then the
    objects are placed for the new episode (``deepracer_racetrack_env.py:200-216``).
    """
    d = si[i, I_DIRECTION]
    is_loop = fmeta[F_IS_LOOP] > 0.5
    length = fmeta[F_LENGTH + d]
    centre = lines[d, 0]
    start = (s[i, S_START_NDIST] + cfg[C_START_OFFSET]) * length
    px, py = point_along(centre, lens[d, 0], is_loop, start)
    ndist = (start % length) / length if is_loop else min(max(start / length, 0.0), 1.0)
    _, nxt = find_prev_next(lens[d, 1], ndist)
    yaw = math.atan2(centre[nxt, 1] - py, centre[nxt, 0] - px)
    obj, world, _, _, boxes, lane_pts, lane_cum, lane_nd, _, spl, spl_n, _ = objs
    if obj.shape[1] > 0:
        if cfg[C_CHANGE_START] > 0.5:
            moved, mx, my, myaw = start_pose(lines, lens, lane_pts, lane_cum, lane_nd, obj[i],
                                             world[i], d, start % length)
            if moved:
                px, py, yaw = mx, my, myaw
        reset_objects(lines, lens, fmeta, iarr, lane_pts, lane_cum, lane_nd, spl, spl_n, obj[i],
                      world[i], d, boxes, np.empty(obj.shape[1]))
    s[i, S_X] = px
    s[i, S_Y] = py
    s[i, S_YAW] = yaw
    s[i, S_V] = 0.0
    s[i, S_DELTA] = 0.0
    s[i, S_VY] = 0.0
    s[i, S_YAW_RATE] = 0.0
    s[i, S_PREV_PROGRESS] = 0.0
    s[i, S_STEPS] = 0.0
    si[i, I_PHASE] = PREPARE
    si[i, I_REVERSE_COUNT] = 0
    si[i, I_IMMOBILE_COUNT] = 0
    update_geometry(lines, lens, fmeta, road_edges, iarr, s, si, i, obs, objs)


@njit(cache=True)
def finish_episode(cfg: np.ndarray, s: np.ndarray, si: np.ndarray, i: int) -> None:
    """Round robin and alternate direction after an episode (``finish_episode``)."""
    si[i, I_EPISODE] += 1
    if cfg[C_CHANGE_START] > 0.5:
        s[i, S_START_NDIST] = (s[i, S_START_NDIST] + cfg[C_ADVANCE]) % 1.0
    if cfg[C_ALTERNATE] > 0.5:
        si[i, I_DIRECTION] = 1 - si[i, I_DIRECTION]


@njit(cache=True, inline="always")
def episode_status(phase: int, progress: float, crash: int, wheels: float, immobile_done: bool,
                   reversed_done: bool) -> int:
    """The step's status (``ST_*``) by the simapp's priority: lap_complete > crashed >
    off_track > immobilized > reversed (``EpisodeStatus.get_episode_status``); a crash that does
    not count hides the other flags (``_check_for_episode_termination``'s elif chain, spec §2).
    Every status but prepare and in_progress ends the episode."""
    if phase == PREPARE:
        return ST_PREPARE
    if progress >= 100.0:
        return ST_LAP_COMPLETE
    if crash == CRASH_COUNTS:
        return ST_CRASHED
    if crash == CRASH_IGNORED:
        return ST_IN_PROGRESS
    if wheels == 0:
        return ST_OFF_TRACK
    if immobile_done:
        return ST_IMMOBILIZED
    if reversed_done:
        return ST_REVERSED
    return ST_IN_PROGRESS


@njit(cache=True)
def object_step(lines, lens, fmeta, iarr, s: np.ndarray, si: np.ndarray, i: int, objs,
                phase: int, progress: float, work: np.ndarray) -> int:
    """Car ``i``'s object work for one step, in the simapp's order
    (``deepracer_racetrack_env.py:129-184``): the object params keys and the crash test on the
    pre-action pose (bots as of the previous step), then the bots move (RUN steps), then the
    crash is judged against the bots' new progress (a bot ahead of the car does not count).

    Returns:
        CRASH_NONE, CRASH_COUNTS or CRASH_IGNORED (:mod:`deepracer_sim.sim.bots`).
    """
    obj, world, lc, opar, _, lane_pts, _, _, lane_dists, spl, spl_n, _ = objs
    d = si[i, I_DIRECTION]
    x = s[i, S_X]
    y = s[i, S_Y]
    yaw = s[i, S_YAW]
    object_params(obj[i], world[i], x, y, yaw, s[i, S_NDIST] * fmeta[F_LENGTH + d],
                  world[i, W_VERSION], opar[i])
    k = crashed_object(obj[i], world[i], x, y, yaw)
    crash = 0
    if phase == RUN:
        update_bots(spl, spl_n, lane_pts, lane_dists, lines, lens, fmeta, iarr, obj[i], world[i],
                    lc[i], d, STEP_DT, work)
        crash = resolve_crash(lines, lens, fmeta, iarr, obj[i], world[i], d, k, progress,
                              s[i, S_START_NDIST])
    set_crashed(opar[i], crash == CRASH_COUNTS)
    return crash


@njit(cache=True)
def step_cars(lines, lens, fmeta, road_edges, iarr, cfg: np.ndarray, s: np.ndarray,
              si: np.ndarray, steer_cmd: np.ndarray, speed_cmd: np.ndarray, rec: np.ndarray,
              obs: np.ndarray, terminal_obs: np.ndarray, auto_reset: bool, objs) -> None:
    """One DeepRacer step for every car (see the module docstring).

    Args:
        lines, lens, fmeta, road_edges, iarr: the track (``*track.arrays``).
        cfg: (NC + N_PARAMS,) :func:`make_config` followed by ``CarParams.as_array()``.
        s, si: state, updated in place.
        steer_cmd, speed_cmd: (N,) float64 commanded steering (degrees) and speed (m/s) of the
            chosen actions, unclipped (the params report them as commanded).
        rec: (N, NR) float64, filled with this step's record.
        obs: (N, OBS_DIM) float32, filled with the observation after the step (after an automatic
            reset: the new episode's first observation).
        terminal_obs: (N, OBS_DIM) float32, the last observation of episodes that ended (only
            written when ``auto_reset``).
        auto_reset: reset finished cars at once (vectorised env semantics).
        objs: the cars' objects (:func:`~deepracer_sim.sim.world.no_objects` for none): with
            objects a crash that counts ends the episode as ``crashed`` (after lap_complete,
            before off_track, spec §2), and a crash that does not count (the car ahead of a bot)
            hides the step's other flags.
    """
    car = cfg[C_CAR:C_CAR + N_PARAMS]
    has_objects = objs[0].shape[1] > 0
    work = np.empty((LC_WORK, objs[2].shape[2]))  # bots' lane changes (lane_change_work)
    for i in range(s.shape[0]):
        phase = si[i, I_PHASE]
        s[i, S_STEPS] += 1.0
        steps = s[i, S_STEPS]
        prev_progress = s[i, S_PREV_PROGRESS]
        progress = compute_current_prog(s[i, S_NDIST] - s[i, S_START_NDIST], prev_progress)
        wheels = s[i, S_WHEELS_ON]
        # reset rules (reset/rules/*.py), evaluated on the pre-action state
        if phase == RUN and progress < prev_progress:
            si[i, I_REVERSE_COUNT] += 1
        else:
            si[i, I_REVERSE_COUNT] = 0
        moved = math.hypot(s[i, S_X] - s[i, S_LAST_X], s[i, S_Y] - s[i, S_LAST_Y])
        if phase == RUN and moved <= IMMOBILIZED_DISTANCE:
            si[i, I_IMMOBILE_COUNT] += 1
        else:
            si[i, I_IMMOBILE_COUNT] = 0
        s[i, S_LAST_X] = s[i, S_X]
        s[i, S_LAST_Y] = s[i, S_Y]
        reversed_done = si[i, I_REVERSE_COUNT] >= REVERSE_STEPS
        immobile_done = si[i, I_IMMOBILE_COUNT] >= IMMOBILIZED_STEPS
        truncated = False
        crash = 0
        if has_objects:
            crash = object_step(lines, lens, fmeta, iarr, s, si, i, objs, phase, progress,
                                work)
        status = episode_status(phase, progress, crash, wheels, immobile_done, reversed_done)
        done = status != ST_PREPARE and status != ST_IN_PROGRESS
        if not done and steps >= cfg[C_MAX_STEPS]:
            status = ST_TIME_UP
            truncated = True
        write_record(fmeta, s, si, i, rec[i], progress, steer_cmd[i], speed_cmd[i], status, done,
                     truncated, phase == RUN, crash == CRASH_COUNTS)
        s[i, S_PREV_PROGRESS] = 0.0 if progress == 100.0 else progress
        s[i, S_CLOCK] += STEP_DT
        if phase == RUN:
            steer, speed = clip_command(steer_cmd[i], speed_cmd[i])
            advance_car(s[i, 0:N_STATE], steer, speed, car)
        else:  # PREPARE: the car is held at its start pose, then the episode runs
            si[i, I_PHASE] = RUN
        update_geometry(lines, lens, fmeta, road_edges, iarr, s, si, i, obs, objs)
        if done or truncated:
            finish_episode(cfg, s, si, i)
            if auto_reset:
                terminal_obs[i] = obs[i]
                reset_car(lines, lens, fmeta, road_edges, iarr, cfg, s, si, i, obs, objs)


@njit(cache=True, inline="always")
def _unpack(F: np.ndarray, I: np.ndarray, O: np.ndarray):  # noqa: E741
    """Views of the packed buffers: the track arrays, cfg, s, si, steer, speed, rec, obs,
    terminal_obs, objs."""
    n = I[L_N]
    npts = I[L_NPTS]
    lines = F[I[L_LINES]:I[L_LINES] + 12 * npts].reshape((2, 3, npts, 2))
    lens = F[I[L_LENS]:I[L_LENS] + 4 * npts].reshape((2, 2, npts))
    fmeta = F[I[L_FMETA]:I[L_FMETA] + 14]
    edges = F[I[L_EDGES]:I[L_EDGES] + 4 * I[L_NEDGES]].reshape((I[L_NEDGES], 4))
    cfg = F[I[L_CFG]:I[L_CFG] + I[L_NCFG]]
    s = F[I[L_S]:I[L_S] + n * NS].reshape((n, NS))
    rec = F[I[L_REC]:I[L_REC] + n * NR].reshape((n, NR))
    steer = F[I[L_CMD]:I[L_CMD] + n]
    speed = F[I[L_CMD] + n:I[L_CMD] + 2 * n]
    iarr = I[I[L_IARR]:I[L_SI]]
    si = I[I[L_SI]:I[L_SI] + n * NI].reshape((n, NI))
    dim = O.shape[0] // (2 * n)
    obs = O[:n * dim].reshape((n, dim))
    terminal_obs = O[n * dim:].reshape((n, dim))
    objs = unpack_objects(F, I, n)
    return lines, lens, fmeta, edges, iarr, cfg, s, si, steer, speed, rec, obs, terminal_obs, objs


@njit(cache=True)
def step_packed(F: np.ndarray, I: np.ndarray, O: np.ndarray, auto_reset: bool) -> None:  # noqa: E741
    """:func:`step_cars` on a :class:`Simulator`'s packed buffers (three arguments keep the call
    from Python cheap)."""
    lines, lens, fmeta, edges, iarr, cfg, s, si, steer, speed, rec, obs, term, objs = _unpack(
        F, I, O)
    step_cars(lines, lens, fmeta, edges, iarr, cfg, s, si, steer, speed, rec, obs, term,
              auto_reset, objs)


@njit(cache=True)
def reset_packed(F: np.ndarray, I: np.ndarray, O: np.ndarray, i: int) -> None:  # noqa: E741
    """:func:`reset_car` on a :class:`Simulator`'s packed buffers."""
    lines, lens, fmeta, edges, iarr, cfg, s, si, _, _, _, obs, _, objs = _unpack(F, I, O)
    reset_car(lines, lens, fmeta, edges, iarr, cfg, s, si, i, obs, objs)


@njit(cache=True)
def refresh_packed(F: np.ndarray, I: np.ndarray, O: np.ndarray, i: int) -> None:  # noqa: E741
    """:func:`update_geometry` on a :class:`Simulator`'s packed buffers."""
    lines, lens, fmeta, edges, iarr, _, s, si, _, _, _, obs, _, objs = _unpack(F, I, O)
    update_geometry(lines, lens, fmeta, edges, iarr, s, si, i, obs, objs)
