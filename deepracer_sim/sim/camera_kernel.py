"""The camera renderer's kernel: one car's 120 x 160 grey frame, and a batch of cars.

Per output pixel (row v, column u): the pixel's centre ray comes from the mount table
(:mod:`.camera_optics`); a ray that meets the ground inside the arena reads the baked distance
fields (:mod:`.camera_scene`) bilinearly and blends road, border lines, field, centre-line dashes
and the start band by their analytic coverage of the pixel's footprint, plus the texture grain; a
ray past the arena's edge meets a wall (antialiased at its foot and top) or the sky; boxes are
blended over it with 2x2 supersampling; per-pixel noise is added (domain randomisation) and the
grey is clipped and truncated to uint8 as rl_coach's ``astype(uint8)`` does. The result
approximates Gazebo's 640x480 render followed by PIL's antialiased 640x480 -> 160x120 BILINEAR
downscale and the Y conversion (docs/camera.md gives the difference from an exact render).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from deepracer_sim.sim.camera_optics import (
    bilerp_grad,
    blend_objects,
    dash_cover,
    exit_wall,
    jacobian_from,
    object_rects,
    start_band,
    tcdf,
    xorshift,
)
from deepracer_sim.sim.camera_scene import (
    CP_BORDER,
    CP_CAM_X,
    CP_CAM_Y,
    CP_CENTRE,
    CP_FIELD,
    CP_FINE_BORDER,
    CP_FINE_CENTRE,
    CP_FINE_FIELD,
    CP_FINE_ROAD,
    CP_FOCAL,
    CP_GRAIN_BORDER,
    CP_GRAIN_CENTRE,
    CP_GRAIN_FIELD,
    CP_GRAIN_ROAD,
    CP_HEIGHT,
    CP_NOISE,
    CP_PITCH,
    CP_ROAD,
    CP_ROLL,
    CP_SKY,
    CP_WALL0,
    CP_YAW,
    FINE_N,
    FINE_TEXEL,
    M_BORDER_W,
    M_BOX,
    M_CENTRE_HALF_W,
    M_DASH_ON,
    M_DASH_PERIOD,
    M_DASH_PHASE,
    M_HALF_W_MIN,
    M_LENGTH,
    M_LOOP,
    M_NWALLS,
    M_NX,
    M_NY,
    M_START,
    M_START_HALF_WID,
    M_START_X,
    M_START_Y,
    M_TEXEL,
    M_X0,
    M_Y0,
    N_TABLE,
    T_FINE,
    T_LX,
    T_LY,
    T_M11,
    T_M12,
    T_M22,
    T_RHO2,
    T_RMAX,
    W_HEIGHT,
    W_NX,
    W_NY,
    W_X0,
    W_Y0,
)

#: Distance from the centre line within which the arc length is fetched (dashes), m.
_DASH_REACH = 0.2
#: fastmath flags of the per-pixel kernel (no "nnan"/"ninf": the arena test compares with inf).
_FAST = {"contract", "arcp", "reassoc", "nsz"}


@njit(cache=True, inline="always")
def _quad(m11, m12, m22, cyaw, syaw, gx, gy):
    """g^T (R M R^T) g: the squared footprint radius of a field whose world gradient is
    (gx, gy), for a pixel with footprint matrix M = J J^T in the car frame (yaw R)."""
    qx = cyaw * gx + syaw * gy
    qy = -syaw * gx + cyaw * gy
    return m11 * qx * qx + 2.0 * m12 * qx * qy + m22 * qy * qy


@njit(cache=True, inline="always")
def _arc_length(tex, sb, row, ax, ay, inv_h, is_loop, length):
    """Bilinear centre-line arc length (m) at a texel and its world gradient; on a loop the taps
    that straddle the start are unwrapped first."""
    s00 = tex[sb]
    s10 = tex[sb + 4]
    s01 = tex[sb + row]
    s11 = tex[sb + row + 4]
    if is_loop:
        lo = min(min(s00, s10), min(s01, s11))
        hi = max(max(s00, s10), max(s01, s11))
        if hi - lo > 0.5 * length:
            half = 0.5 * length
            s00 = s00 + length if s00 < half else s00
            s10 = s10 + length if s10 < half else s10
            s01 = s01 + length if s01 < half else s01
            s11 = s11 + length if s11 < half else s11
    s = (1.0 - ay) * ((1.0 - ax) * s00 + ax * s10) + ay * ((1.0 - ax) * s01 + ax * s11)
    sx = ((1.0 - ay) * (s10 - s00) + ay * (s11 - s01)) * inv_h
    sy = ((1.0 - ax) * (s01 - s00) + ax * (s11 - s10)) * inv_h
    return (s - length if s >= length else s), sx, sy


@njit(cache=True, inline="always")
def _centre_cover(tex, base, row, ax, ay, inv_h, m11, m12, m22, cyaw, syaw, lines):
    """Coverage (0-1) of the pixel by the centre line: the strip, times the dashes."""
    hw, period, dash_on, phase, length, is_loop = (lines[1], lines[2], lines[3], lines[4],
                                                   lines[5], lines[6] > 0.0)
    dc, dx, dy = bilerp_grad(tex, base + 1, row, ax, ay, inv_h)
    gap = abs(dc) - hw
    r2 = _quad(m11, m12, m22, cyaw, syaw, dx, dy) + 1e-24
    if gap >= 0.0 and gap * gap >= r2:
        return 0.0
    inv_r = 1.0 / math.sqrt(r2)
    cov = tcdf(dc + hw, inv_r) - tcdf(dc - hw, inv_r)
    if period > 0.0 and abs(dc) < _DASH_REACH:
        s, sx, sy = _arc_length(tex, base + 2, row, ax, ay, inv_h, is_loop, length)
        rs = math.sqrt(_quad(m11, m12, m22, cyaw, syaw, sx, sy)) + 1e-9
        cov *= dash_cover(s, rs, phase, dash_on, period)
    return cov


@njit(cache=True, inline="always")
def _ground(tex, fine, fm, p, table, o, gx, gy, view, grid, lines, cols, use_fine, has_start):
    """Grey of a ground pixel inside the arena: field, border lines and road blended by their
    coverage of the pixel's footprint, the centre line and the start band over them, each with
    its texture grain."""
    cyaw, syaw = view[2], view[3]
    tx0, ty0, inv_h, fi_max, fj_max, nxf = grid
    fi = (gx - tx0) * inv_h
    fj = (gy - ty0) * inv_h
    if not (0.0 <= fi < fi_max and 0.0 <= fj < fj_max):
        return cols[3]  # beyond the baked band: plain field
    c_road, c_border, c_centre, c_field = cols[0], cols[1], cols[2], cols[3]
    i0 = int(fi)
    j0 = int(fj)
    ax = fi - i0
    ay = fj - j0
    row = 4 * int(nxf)
    base = (j0 * int(nxf) + i0) * 4
    w11 = ax * ay
    w10 = ax - w11
    w01 = ay - w11
    w00 = 1.0 - ax - w01
    g = (w00 * tex[base + 3] + w10 * tex[base + 7] + w01 * tex[base + row + 3]
         + w11 * tex[base + row + 7])
    e = w00 * tex[base] + w10 * tex[base + 4] + w01 * tex[base + row] + w11 * tex[base + row + 4]
    rmax = table[o + T_RMAX]
    m11 = table[o + T_M11]
    m12 = table[o + T_M12]
    m22 = table[o + T_M22]
    gf = 0.0
    if use_fine:  # world-fixed fine grain, its std scaled to the footprint
        k_fine = (int(gy * (1.0 / FINE_TEXEL)) & (FINE_N - 1)) * FINE_N + (
            int(gx * (1.0 / FINE_TEXEL)) & (FINE_N - 1))
        gf = fine[k_fine] * table[o + T_FINE]
    bw = lines[0]
    if e - bw >= rmax:
        grey = c_road + cols[4] * g + cols[8] * gf
    elif e <= -rmax:
        grey = c_field + cols[7] * g + cols[11] * gf
    else:
        e, ex, ey = bilerp_grad(tex, base, row, ax, ay, inv_h)
        inv_r = 1.0 / math.sqrt(_quad(m11, m12, m22, cyaw, syaw, ex, ey) + 1e-24)
        c_on = tcdf(e, inv_r)
        c_in = tcdf(e - bw, inv_r)
        grey = ((1.0 - c_on) * (c_field + cols[7] * g + cols[11] * gf)
                + (c_on - c_in) * (c_border + cols[5] * g + cols[9] * gf)
                + c_in * (c_road + cols[4] * g + cols[8] * gf))
    # centre line: |dc| >= half_w_min - e (e interpolated across the road's middle ridge may be
    # low by up to a texel), so skip it when out of reach
    if e > 0.0 and lines[7] - e < lines[8] + rmax:
        cov = _centre_cover(tex, base, row, ax, ay, inv_h, m11, m12, m22, cyaw, syaw, lines)
        grey += cov * (c_centre + cols[6] * g + cols[10] * gf - grey)
    if has_start:
        ox = gx - fm[M_START_X]
        oy = gy - fm[M_START_Y]
        if ox * ox + oy * oy < (fm[M_START_HALF_WID] + 0.1) ** 2:
            jux, juy, jvx, jvy = jacobian_from(m11, m12, m22, cyaw, syaw)
            grey = start_band(fm, p, gx, gy, jux, juy, jvx, jvy, grey)
    return grey


@njit(cache=True, inline="always")
def _arena_edge(walls, nw, is_box, gx, gy):
    """(index of the arena edge nearest to the ground point (gx, gy), the point's distance into
    the arena from it, m; negative outside)."""
    if is_box:  # edges 0-3: y = y0, x = x1, y = y1, x = x0
        ef = gy - walls[0, W_Y0]
        kf = 0
        d = walls[2, W_X0] - gx
        if d < ef:
            ef = d
            kf = 1
        d = walls[2, W_Y0] - gy
        if d < ef:
            ef = d
            kf = 2
        d = gx - walls[0, W_X0]
        if d < ef:
            ef = d
            kf = 3
        return kf, ef
    kf = -1
    ef = np.inf
    for k in range(nw):
        dk = walls[k, W_NX] * (gx - walls[k, W_X0]) + walls[k, W_NY] * (gy - walls[k, W_Y0])
        if dk < ef:
            ef = dk
            kf = k
    return kf, ef


@njit(cache=True, inline="always")
def _wall_base(walls, p, table, o, kf, ef, cyaw, syaw, c_sky, grey):
    """Blend the foot of arena edge ``kf`` (the ground point is ``ef`` m inside it) over
    ``grey``."""
    rf2 = _quad(table[o + T_M11], table[o + T_M12], table[o + T_M22], cyaw, syaw,
                walls[kf, W_NX], walls[kf, W_NY])
    if ef * ef >= rf2:
        return grey
    cw = 1.0 - tcdf(ef, 1.0 / (math.sqrt(rf2) + 1e-12))
    behind = p[CP_WALL0 + kf] if walls[kf, W_HEIGHT] > 0.0 else c_sky
    return (1.0 - cw) * grey + cw * behind


@njit(cache=True, inline="always")
def _wall_or_sky(walls, nw, p, xc, yc, inv_f, view, basis, c_field, c_sky):
    """Grey of a ray that leaves the arena above the ground: the wall it meets (antialiased at
    its foot and top), or the sky."""
    cx, cy, h = view[0], view[1], view[4]
    fx, fy, fz, rx, ry, rz, dx_, dy_, dz_ = basis
    ddx = fx + xc * rx + yc * dx_
    ddy = fy + xc * ry + yc * dy_
    ddz = fz + xc * rz + yc * dz_
    k, dist, q = exit_wall(walls, nw, cx, cy, ddx, ddy)
    if k < 0 or walls[k, W_HEIGHT] <= 0.0:
        return c_sky
    inv_q = 1.0 / q
    t = dist * inv_q
    z = h + t * ddz
    hk = walls[k, W_HEIGHT]
    # dz_exit / d(pixel), for the antialiasing of the wall's base and top
    qu = -(walls[k, W_NX] * rx + walls[k, W_NY] * ry)
    qv = -(walls[k, W_NX] * dx_ + walls[k, W_NY] * dy_)
    zu = t * (rz - ddz * qu * inv_q) * inv_f
    zv = t * (dz_ - ddz * qv * inv_q) * inv_f
    rz2 = zu * zu + zv * zv + 1e-30
    if z * z >= rz2 and (hk - z) * (hk - z) >= rz2:
        if 0.0 < z < hk:
            return p[CP_WALL0 + k]
        return c_field if z <= 0.0 else c_sky
    inv_rz = 1.0 / math.sqrt(rz2)
    below = tcdf(-z, inv_rz)
    above = tcdf(z - hk, inv_rz)
    return below * c_field + above * c_sky + (1.0 - below - above) * p[CP_WALL0 + k]


@njit(cache=True, inline="always")
def _noise(state, std):
    """(next generator state, a triangular noise value of standard deviation ``std``)."""
    state = xorshift(state)
    n1 = (state >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    state = xorshift(state)
    n2 = (state >> np.uint64(11)) * (1.0 / 9007199254740992.0)
    return state, std * 2.449489742783178 * (n1 + n2 - 1.0)


@njit(cache=True, inline="always")
def _view(p, x, y, yaw):
    """The camera of one car: view (lens x, y m; cos, sin of its yaw; height m) and basis
    (optical axis, image right, image down; world frame)."""
    psi = yaw + p[CP_YAW]
    cyaw = math.cos(psi)
    syaw = math.sin(psi)
    cx = x + math.cos(yaw) * p[CP_CAM_X] - math.sin(yaw) * p[CP_CAM_Y]
    cy = y + math.sin(yaw) * p[CP_CAM_X] + math.cos(yaw) * p[CP_CAM_Y]
    cp = math.cos(p[CP_PITCH])
    sp = math.sin(p[CP_PITCH])
    cr = math.cos(p[CP_ROLL])
    sr = math.sin(p[CP_ROLL])
    d0x, d0y, d0z = -sp * cyaw, -sp * syaw, -cp
    basis = (cp * cyaw, cp * syaw, -sp,
             cr * syaw + sr * d0x, -cr * cyaw + sr * d0y, sr * d0z,
             -sr * syaw + cr * d0x, sr * cyaw + cr * d0y, cr * d0z)
    return (cx, cy, cyaw, syaw, p[CP_HEIGHT]), basis


@njit(cache=True, inline="always")
def _safe_radius2(walls, nw, cx, cy):
    """Squared ground distance from the lens within which every ground point is inside the
    arena and away from its edges (-1: none)."""
    dmin = np.inf
    for k in range(nw):
        dmin = min(dmin, walls[k, W_NX] * (cx - walls[k, W_X0])
                   + walls[k, W_NY] * (cy - walls[k, W_Y0]))
    return (0.8 * dmin) ** 2 if dmin > 0.0 else -1.0


@njit(cache=True, fastmath=_FAST)
def _render_car(tex, fm, walls, fine, x, y, yaw, p, table, objs, rect, state, out):
    """One car's frame into ``out`` (H, W) uint8; returns the car's next noise state."""
    H = out.shape[0]
    W = out.shape[1]
    inv_f = 1.0 / p[CP_FOCAL]
    view, basis = _view(p, x, y, yaw)
    cx, cy, cyaw, syaw = view[0], view[1], view[2], view[3]
    nw = int(fm[M_NWALLS])
    c_field = p[CP_FIELD]
    c_sky = p[CP_SKY]
    cols = (p[CP_ROAD], p[CP_BORDER], p[CP_CENTRE], c_field, p[CP_GRAIN_ROAD],
            p[CP_GRAIN_BORDER], p[CP_GRAIN_CENTRE], p[CP_GRAIN_FIELD], p[CP_FINE_ROAD],
            p[CP_FINE_BORDER], p[CP_FINE_CENTRE], p[CP_FINE_FIELD])
    use_fine = (cols[8] != 0.0) | (cols[9] != 0.0) | (cols[10] != 0.0) | (cols[11] != 0.0)
    grid = (fm[M_X0], fm[M_Y0], 1.0 / fm[M_TEXEL], fm[M_NX] - 1.0, fm[M_NY] - 1.0, fm[M_NX])
    lines = (fm[M_BORDER_W], fm[M_CENTRE_HALF_W], fm[M_DASH_PERIOD], fm[M_DASH_ON],
             fm[M_DASH_PHASE], fm[M_LENGTH], fm[M_LOOP], fm[M_HALF_W_MIN],
             fm[M_CENTRE_HALF_W] + fm[M_TEXEL])
    has_start = fm[M_START] > 0.0
    is_box = fm[M_BOX] > 0.0
    safe2 = _safe_radius2(walls, nw, cx, cy)
    nobj = object_rects(objs, rect, cx, cy, view[4], p[CP_FOCAL], *basis, W, H)
    noise = p[CP_NOISE]
    for v in range(H):
        yc = (v + 0.5 - 0.5 * H) * inv_f
        for u in range(W):
            o = (v * W + u) * N_TABLE
            rho2 = table[o + T_RHO2]
            kf = -1
            ef = np.inf
            if rho2 >= 0.0:
                lx = table[o + T_LX]
                ly = table[o + T_LY]
                gx = cx + cyaw * lx - syaw * ly
                gy = cy + syaw * lx + cyaw * ly
                if rho2 >= safe2:  # distance into the arena and its nearest edge
                    kf, ef = _arena_edge(walls, nw, is_box, gx, gy)
            if rho2 >= 0.0 and ef > 0.0:
                grey = _ground(tex, fine, fm, p, table, o, gx, gy, view, grid, lines, cols,
                               use_fine, has_start)
                if kf >= 0:  # near the arena edge: the wall's foot
                    grey = _wall_base(walls, p, table, o, kf, ef, cyaw, syaw, c_sky, grey)
            else:  # the ray misses the arena's ground
                grey = _wall_or_sky(walls, nw, p, (u + 0.5 - 0.5 * W) * inv_f, yc, inv_f, view,
                                    basis, c_field, c_sky)
            if nobj > 0:
                grey = blend_objects(objs, rect, nobj, u, v, W, H, inv_f, cx, cy, view[4],
                                     *basis, grey)
            if noise > 0.0:
                state, dn = _noise(state, noise)
                grey += dn
            out[v, u] = np.uint8(int(min(max(grey, 0.0), 255.0)))
    return state


@njit(cache=True)
def render_batch(tex: np.ndarray, fmeta: np.ndarray, walls: np.ndarray, fine: np.ndarray,
                 poses: np.ndarray, params: np.ndarray, tables: np.ndarray, mount: np.ndarray,
                 objects: np.ndarray, rects: np.ndarray, noise_state: np.ndarray,
                 cars: np.ndarray, out: np.ndarray) -> None:
    """Render the camera image of the cars ``cars`` into their rows of ``out`` (no allocation).

    Args:
        tex, fmeta, walls, fine: a :class:`~.camera_scene.CameraScene` (``*scene.arrays``).
        poses: (N, >=3) float64 car-origin x, y (m), yaw (rad).
        params: (N, N_CP) float64 per-car camera parameters (``CP_*``;
            :func:`~.camera_look.nominal_params` or a :class:`~.camera_look.CameraRandomizer`).
        tables: (M, H * W * N_TABLE) float32 mount tables (:func:`~.camera_optics.mount_table`);
            car n uses ``tables[mount[n]]``, built for its ``CP_HEIGHT, CP_PITCH, CP_ROLL,
            CP_FOCAL``.
        mount: (N,) int64 mount table index per car.
        objects: (N, K, N_OBJ_COLS) float64 boxes (``O_*``); rows with length <= 0 are not drawn;
            K may be 0.
        rects: (N, K, 4) int64 scratch (the objects' screen rectangles).
        noise_state: (N,) uint64 per-car noise generator states (advanced when CP_NOISE > 0).
        cars: (C,) int64 indices of the cars to render (``np.arange(N)``: all).
        out: (N, H, W) uint8 frames (120 x 160 for DeepRacer); rows of ``cars`` are written.
    """
    for k in range(cars.shape[0]):
        n = cars[k]
        noise_state[n] = _render_car(tex, fmeta, walls, fine, poses[n, 0], poses[n, 1],
                                     poses[n, 2], params[n], tables[mount[n]], objects[n],
                                     rects[n], noise_state[n], out[n])


@njit(cache=True, parallel=True)
def render_batch_parallel(tex: np.ndarray, fmeta: np.ndarray, walls: np.ndarray, fine: np.ndarray,
                          poses: np.ndarray, params: np.ndarray, tables: np.ndarray,
                          mount: np.ndarray, objects: np.ndarray, rects: np.ndarray,
                          noise_state: np.ndarray, cars: np.ndarray, out: np.ndarray) -> None:
    """:func:`render_batch` with the cars spread over numba's threads (same arguments, same
    frames: each car only touches its own rows of ``rects``, ``noise_state`` and ``out``; the
    indices in ``cars`` must be distinct)."""
    for k in prange(cars.shape[0]):
        n = cars[k]
        noise_state[n] = _render_car(tex, fmeta, walls, fine, poses[n, 0], poses[n, 1],
                                     poses[n, 2], params[n], tables[mount[n]], objects[n],
                                     rects[n], noise_state[n], out[n])
