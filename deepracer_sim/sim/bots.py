"""Bot cars (head-to-bot): placement, motion along a lane at a set speed, random lane changes,
and the crash rule's "behind in progress" test; plus the per-episode placement of all objects.

Sources: aws-deepracer-community/deepracer-simapp @ 01f5f015 (paths under ``bundle/markov/``):
``agent_ctrl/bot_cars_agent_ctrl.py`` (settings :65-78, start :159-201, lane changes :203-244,
poses :246-278, collision reaction :396-419), ``track_geom/spline/lane_change_spline.py:41-126``,
``agent_ctrl/rollout_agent_ctrl.py:1012-1034`` (a crash into a bot counts only when the car is
behind it). Rules in ``docs/objects.md``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from deepracer_sim.constants import BOT_Z, CAR_LENGTH, CAR_WIDTH, REFERENCE_POINT_X
from deepracer_sim.sim.lanes import (
    DIST_THRESHOLD,
    INNER,
    N_PIECE,
    OUTER,
    PC_A,
    PC_B,
    PC_HI,
    PC_LO,
    PC_SPAN,
    SPLINE_WORK,
    _bisect,
    fill_piece,
    into_domain,
    lane_point,
    piece_point,
    solve_interpolating_spline,
)
from deepracer_sim.sim.layout import (
    F_IS_LOOP,
    F_LENGTH,
    KIND_BOT,
    KIND_BOX,
    O_DIST0,
    O_KIND,
    O_LANE,
    O_LC_END,
    O_LC_N,
    O_LC_START,
    O_PIECE,
    O_X,
    O_Y,
    O_YAW,
    W_BOT_GAP,
    W_BOT_PAUSE,
    W_BOT_PENALTY,
    W_BOT_RANDOM,
    W_BOT_SPEED,
    W_BOT_TIME,
    W_BOX_GAP,
    W_BOX_RANDOM,
    W_LANE_CHANGE,
    W_LC_DIST,
    W_LC_LOWER,
    W_LC_UPPER,
    W_NBOT,
    W_NBOX,
)
from deepracer_sim.sim.objects import (
    init_object,
    object_geometry,
    place_boxes,
    project_on,
    spaced_distances,
)

#: Knot rows a lane-change spline needs beyond the start lane's vertices before the change
#: starts: 3 vertices behind the bot and its own vertex, the two lane-change points, the end
#: lane's 4 vertices, the 4 extra knots of a not-a-knot spline, and 2 spare.
LC_EXTRA_ROWS = 3 + 1 + 2 + 4 + 4 + 2
CRASH_NONE, CRASH_COUNTS, CRASH_IGNORED = 0, 1, 2


#: Rows of a lane-change work buffer ((LC_WORK, R) float64, C order,
#: :func:`lane_change_work`): the start lane's knots (u, x, y), the end lane's (u, x, y), the
#: merged knots (u, x, y), then the spline solve's work
#: (:func:`~deepracer_sim.sim.lanes.solve_interpolating_spline`).
LC_WORK = 9 + SPLINE_WORK


def lane_change_rows(lane_dists: np.ndarray, length: float, speed: float,
                     upper_time: float) -> int:
    """Rows of each bot's lane-change spline buffer: enough for the longest change the settings
    allow on this track, so no change is ever dropped.

    A change scheduled at centre-line distance c starts at c + speed * U(lower, upper): its knots
    are the start lane's vertices in [c, c + speed * upper_time] plus LC_EXTRA_ROWS.

    Args:
        lane_dists: (2, 2, N) the lanes' vertex distances along the centre line
            (:class:`~deepracer_sim.sim.lanes.LaneArrays` ``dists``), m.
        length: the lap, m; speed: the bots' speed, m/s; upper_time: UPPER_LANE_CHANGE_TIME, s.
    """
    window = speed * upper_time
    most = 0
    for u in lane_dists.reshape(-1, lane_dists.shape[-1]):
        both = np.concatenate([u, u + length])
        ends = np.searchsorted(both, u + window, side="right")
        most = max(most, int((ends - np.arange(len(u))).max()))
    return most + LC_EXTRA_ROWS


def lane_change_work(rows: int) -> np.ndarray:
    """A work buffer for :func:`build_lane_change` ((LC_WORK, rows) float64, rows as the lane-
    change spline buffer)."""
    return np.empty((LC_WORK, rows))


@njit(cache=True)
def _collect(pts, us, i0: int, i1: int, n: int, wrap_offset: float, offset: float,
             w: np.ndarray, row: int, m: int) -> int:
    """Append lane vertices i0..i1 (wrapping at n) with u + offset (+ wrap_offset after the
    wrap) to ``w[row]`` (u), ``w[row + 1]`` (x), ``w[row + 2]`` (y) from index m; returns the
    new count (may exceed the capacity)."""
    cap = w.shape[1]
    wu = w[row]
    wx = w[row + 1]
    wy = w[row + 2]
    if i0 < i1:
        for j in range(i0, i1 + 1):
            if m < cap:
                wu[m], wx[m], wy[m] = us[j] + offset, pts[j, 0], pts[j, 1]
            m += 1
        return m
    for j in range(i0, n):
        if m < cap:
            wu[m], wx[m], wy[m] = us[j] + offset, pts[j, 0], pts[j, 1]
        m += 1
    for j in range(i1 + 1):
        if m < cap:
            wu[m], wx[m], wy[m] = us[j] + offset + wrap_offset, pts[j, 0], pts[j, 1]
        m += 1
    return m


@njit(cache=True)
def build_lane_change(spl, spl_n, lane_pts, lane_dists, d: int, a: int, b: int, length: float,
                      is_loop: bool, current: float, s0: float, s1: float,
                      out: np.ndarray, work: np.ndarray) -> int:
    """The lane-change spline (``LaneChangeSpline._build_spline``) from lane ``a`` to lane ``b``
    for a bot at centre-line distance ``current`` changing between ``s0`` and ``s1`` (m, mod L).

    Knots: start-lane vertices from 3 before the bot's previous vertex to the one before ``s0``
    (-L on those past the lap's end), the start lane's point at ``s0``, the end lane's point at
    ``s1`` (+L when the change crosses the line) and the end lane's next 4 vertices; a vertex
    within DIST_THRESHOLD of the start / end point is dropped; ``np.unique`` on u; then
    :func:`~deepracer_sim.sim.lanes.interpolating_spline`. Allocates nothing: ``work`` is
    :func:`lane_change_work`'s buffer.

    Returns:
        knots written to ``out`` (R, 5); 0 if there are too many (R from
        :func:`lane_change_rows` leaves room for every change) or too few.
    """
    pa = lane_pts[d, a]
    pb = lane_pts[d, b]
    ua = lane_dists[d, a]
    ub = lane_dists[d, b]
    npts = pa.shape[0]
    sx, sy, _, _ = lane_point(spl[d, a], spl_n[d, a], length, s0)
    ex, ey, _, _ = lane_point(spl[d, b], spl_n[d, b], length, s1)
    end_offset = 0.0 if s0 < s1 else length
    nwrap = npts - 1 if is_loop else npts
    i0 = (_bisect(ua, current, False) - 1 - 3) % nwrap
    i1 = _bisect(ua, s0, False) - 1
    e0 = _bisect(ub, s1, True)
    cap = min(out.shape[0], work.shape[1])
    if i0 < i1:
        m = _collect(pa, ua, i0, i1, nwrap, 0.0, 0.0, work, 0, 0)
    else:  # from before the line: those vertices get -L
        m = _collect(pa, ua, i0, i1, nwrap, length, -length, work, 0, 0)
    if m == 0 or m > cap:
        return 0
    if math.hypot(work[1, m - 1] - sx, work[2, m - 1] - sy) < DIST_THRESHOLD:
        m -= 1
    q = _collect(pb, ub, e0, (e0 + 3) % nwrap, nwrap, length, end_offset, work, 3, 0)
    if q == 0 or q > cap:
        return 0
    first = 1 if math.hypot(work[4, 0] - ex, work[5, 0] - ey) < DIST_THRESHOLD else 0
    total = m + 2 + (q - first)
    if total + 4 > cap:
        return 0
    u = work[6]
    xs = work[7]
    ys = work[8]
    u[:m] = work[0, :m]
    xs[:m] = work[1, :m]
    ys[:m] = work[2, :m]
    u[m], xs[m], ys[m] = s0, sx, sy
    u[m + 1], xs[m + 1], ys[m + 1] = s1 + end_offset, ex, ey
    rest = q - first
    u[m + 2:m + 2 + rest] = work[3, first:q]
    xs[m + 2:m + 2 + rest] = work[4, first:q]
    ys[m + 2:m + 2 + rest] = work[5, first:q]
    # np.unique(u, return_index=True): stable sort, keep the first of equal values
    for j in range(1, total):
        uj = u[j]
        if u[j - 1] <= uj:
            continue
        xj, yj = xs[j], ys[j]
        r = j - 1
        while r >= 0 and u[r] > uj:
            u[r + 1], xs[r + 1], ys[r + 1] = u[r], xs[r], ys[r]
            r -= 1
        u[r + 1], xs[r + 1], ys[r + 1] = uj, xj, yj
    k = 0
    for j in range(total):
        if k > 0 and u[j] == u[k - 1]:
            continue
        u[k], xs[k], ys[k] = u[j], xs[j], ys[j]
        k += 1
    return solve_interpolating_spline(u, xs, ys, k, out, work[9:LC_WORK])


@njit(cache=True)
def bot_pose(spl, spl_n, lc_o: np.ndarray, d: int, o: np.ndarray, length: float, speed: float,
             tau: float) -> None:
    """A bot's pose at bot time ``tau``: centre-line distance ``(dist0 + speed tau) % L`` on its
    lane spline, or on its lane-change spline once a change is scheduled; yaw = atan2 of the
    spline's tangent (``_compute_bot_car_poses``, scipy's ``spalde``).

    The spline's cubic piece under the bot is kept in the row (O_PIECE, :func:`~deepracer_sim.
    sim.lanes.fill_piece`; its span index -1 after the spline changes): a bot crosses a knot
    span every few steps, and between crossings its pose is that cubic's value (the spline's
    own, to rounding) with no search and no de Boor recursion.
    """
    dist = (o[O_DIST0] + speed * tau) % length
    piece = o[O_PIECE:O_PIECE + N_PIECE]
    valid = piece[PC_SPAN] >= 0.0
    u = into_domain(dist, piece[PC_LO], piece[PC_HI], length) if valid else dist
    if not valid or not piece[PC_A] <= u < piece[PC_B]:
        n = int(o[O_LC_N])
        curve = lc_o
        if n <= 0:  # no lane change scheduled: the bot follows its lane
            lane = int(o[O_LANE])
            n = int(spl_n[d, lane])
            curve = spl[d, lane]
        lo = curve[3, 0]
        hi = curve[n - 4, 0]
        u = into_domain(dist, lo, hi, length)
        fill_piece(curve, n, u, lo, hi, int(piece[PC_SPAN]), piece)
    x, y, dx, dy = piece_point(piece, u)
    o[O_X] = x
    o[O_Y] = y
    o[O_YAW] = math.atan2(dy, dx)


@njit(cache=True)
def place_bot(spl, spl_n, lines, lens, fmeta, iarr, d: int, lane: int, dist0: float,
              lane_change: bool, o: np.ndarray) -> None:
    """Put a bot on ``lane`` at centre-line distance ``dist0`` at bot time 0; with lane changes
    the first is scheduled at its first update (``lane_change_end_time`` 0)."""
    init_object(o, KIND_BOT, CAR_LENGTH, CAR_WIDTH, CAR_LENGTH, CAR_WIDTH, BOT_Z, lane, dist0,
                0.0 if lane_change else np.inf)
    o[O_PIECE + PC_SPAN] = -1.0
    bot_pose(spl, spl_n, spl[d, lane], d, o, fmeta[F_LENGTH + d], 0.0, 0.0)
    object_geometry(lines, lens, fmeta, iarr, d, o)


@njit(cache=True)
def reset_objects(lines, lens, fmeta, iarr, lane_pts, lane_cum, lane_nd, spl, spl_n,
                  obj_i: np.ndarray, world_i: np.ndarray, d: int, boxes: np.ndarray,
                  scratch: np.ndarray) -> None:
    """Place a car's objects for a new episode (boxes, then bots) and restart the bot clock.

    Bots: ``spaced_distances(gap, L - 1)`` from waypoint 0, lanes alternating from inner or
    random (``_compute_bot_car_initial_states``).
    """
    nbox = int(world_i[W_NBOX])
    nbot = int(world_i[W_NBOT])
    if nbox > 0:
        place_boxes(lines, lens, fmeta, iarr, lane_pts, lane_cum, lane_nd, d, obj_i, world_i,
                    boxes, world_i[W_BOX_RANDOM] > 0.5, world_i[W_BOX_GAP], scratch)
    if nbot > 0:
        randomize = world_i[W_BOT_RANDOM] > 0.5
        gap = world_i[W_BOT_GAP]
        spaced_distances(nbot, gap, fmeta[F_LENGTH + d] - 1.0, gap, randomize, scratch)
        for b in range(nbot):
            if randomize:
                lane = OUTER if np.random.random() >= 0.5 else INNER
            else:
                lane = OUTER if b % 2 == 1 else INNER
            place_bot(spl, spl_n, lines, lens, fmeta, iarr, d, lane, scratch[b],
                      world_i[W_LANE_CHANGE] > 0.5, obj_i[nbox + b])
    world_i[W_BOT_TIME] = 0.0
    world_i[W_BOT_PAUSE] = 0.0


@njit(cache=True)
def update_bots(spl, spl_n, lane_pts, lane_dists, lines, lens, fmeta, iarr, obj_i: np.ndarray,
                world_i: np.ndarray, lc_i: np.ndarray, d: int, dt: float,
                work: np.ndarray) -> None:
    """Move a car's bots by one step (after the car's params and crash test: the car sees the bot
    poses of the previous step, as the simapp). Not on the PREPARE step.

    Bot time advances by ``dt`` unless the bots wait after hitting the car (W_BOT_PAUSE). Lane
    changes: when bot time reaches a bot's change end, the bot is on the other lane (unless no
    change happened yet), the next change ends ``U(lower, upper) + D / v`` later and starts
    ``D / v`` before that, and the bot follows that change's spline (``lc_i[k]``). ``work``:
    :func:`lane_change_work`.
    """
    if world_i[W_BOT_PAUSE] > 0.0:
        world_i[W_BOT_PAUSE] -= dt
        return
    nbox = int(world_i[W_NBOX])
    nbot = int(world_i[W_NBOT])
    length = fmeta[F_LENGTH + d]
    is_loop = fmeta[F_IS_LOOP] > 0.5
    speed = world_i[W_BOT_SPEED]
    tau = world_i[W_BOT_TIME] + dt
    world_i[W_BOT_TIME] = tau
    lc_time = world_i[W_LC_DIST] / speed if speed > 0.0 else np.inf
    for b in range(nbot):
        k = nbox + b
        o = obj_i[k]
        if tau >= o[O_LC_END]:
            if o[O_LC_END] > 0.0:
                o[O_LANE] = 1.0 - o[O_LANE]
            lo = world_i[W_LC_LOWER]
            hi = world_i[W_LC_UPPER]
            end = tau + lo + (hi - lo) * np.random.random() + lc_time
            start = end - lc_time
            o[O_LC_END] = end
            o[O_LC_START] = start
            lane = int(o[O_LANE])
            d0 = o[O_DIST0]
            o[O_LC_N] = build_lane_change(
                spl, spl_n, lane_pts, lane_dists, d, lane, 1 - lane, length, is_loop,
                (d0 + speed * tau) % length, (d0 + speed * start) % length,
                (d0 + speed * end) % length, lc_i[k], work)
            o[O_PIECE + PC_SPAN] = -1.0
        bot_pose(spl, spl_n, lc_i[k], d, o, length, speed, tau)
        object_geometry(lines, lens, fmeta, iarr, d, o)


@njit(cache=True)
def bot_progress(lines, lens, fmeta, iarr, d: int, o: np.ndarray) -> float:
    """A bot's progress, percent: the normalised centre-line distance of its front point, 0.14 m
    ahead of its origin (``BotCarsCtrl.update_agent``, :356-381)."""
    fx = o[O_X] + REFERENCE_POINT_X * math.cos(o[O_YAW])
    fy = o[O_Y] + REFERENCE_POINT_X * math.sin(o[O_YAW])
    seg, t, _ = project_on(lines, fmeta, iarr, d, 0, fx, fy)
    cum = lens[d, 0]
    return 100.0 * (cum[seg] + t * (cum[seg + 1] - cum[seg])) / fmeta[F_LENGTH + d]


@njit(cache=True)
def resolve_crash(lines, lens, fmeta, iarr, obj_i: np.ndarray, world_i: np.ndarray, d: int,
                  k: int, progress: float, start_ndist: float) -> int:
    """Whether a crash into object ``k`` counts (rollout_agent_ctrl.py:1012-1034).

    A box crash always counts. A bot crash counts only when the car is behind it: car
    ``(progress + 100 start_ndist) % 100`` < the bot's progress ``% 100`` (after the bots moved).
    When the car is strictly ahead the bots wait W_BOT_PENALTY seconds (bot_cars_agent_ctrl.py:
    396-419).

    Returns:
        CRASH_NONE (k < 0), CRASH_COUNTS or CRASH_IGNORED.
    """
    if k < 0:
        return CRASH_NONE
    if obj_i[k, O_KIND] == KIND_BOX:
        return CRASH_COUNTS
    car = (progress + 100.0 * start_ndist) % 100.0
    bot = bot_progress(lines, lens, fmeta, iarr, d, obj_i[k]) % 100.0
    if car < bot:
        return CRASH_COUNTS
    if car > bot and world_i[W_BOT_PAUSE] <= 0.0:
        world_i[W_BOT_PAUSE] = world_i[W_BOT_PENALTY]
    return CRASH_IGNORED
