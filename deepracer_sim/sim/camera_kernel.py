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


@njit(cache=True, fastmath=_FAST)
def _render_car(tex, fm, walls, fine, x, y, yaw, p, table, objs, rect, state, out):  # noqa: C901
    """One car's frame into ``out`` (H, W) uint8; returns the car's next noise state.

    One function on purpose: numba and LLVM then optimise the per-pixel loop as a whole. Split
    into helpers inlined by numba, the same code ran at a third of the speed (docs/camera.md).
    """
    H = out.shape[0]
    W = out.shape[1]
    f = p[CP_FOCAL]
    inv_f = 1.0 / f
    h = p[CP_HEIGHT]
    psi = yaw + p[CP_YAW]
    cyaw = math.cos(psi)
    syaw = math.sin(psi)
    cx = x + math.cos(yaw) * p[CP_CAM_X] - math.sin(yaw) * p[CP_CAM_Y]
    cy = y + math.sin(yaw) * p[CP_CAM_X] + math.cos(yaw) * p[CP_CAM_Y]
    cp = math.cos(p[CP_PITCH])
    sp = math.sin(p[CP_PITCH])
    # optical axis (forward), image down and image right, world frame (for walls, sky, objects)
    fx, fy, fz = cp * cyaw, cp * syaw, -sp
    d0x, d0y, d0z = -sp * cyaw, -sp * syaw, -cp
    r0x, r0y = syaw, -cyaw
    cr = math.cos(p[CP_ROLL])
    sr = math.sin(p[CP_ROLL])
    rx, ry, rz = cr * r0x + sr * d0x, cr * r0y + sr * d0y, sr * d0z
    dx_, dy_, dz_ = -sr * r0x + cr * d0x, -sr * r0y + cr * d0y, cr * d0z
    nw = int(fm[M_NWALLS])
    noise = p[CP_NOISE]
    c_road = p[CP_ROAD]
    c_border = p[CP_BORDER]
    c_centre = p[CP_CENTRE]
    c_field = p[CP_FIELD]
    c_sky = p[CP_SKY]
    a_road = p[CP_GRAIN_ROAD]
    a_border = p[CP_GRAIN_BORDER]
    a_centre = p[CP_GRAIN_CENTRE]
    a_field = p[CP_GRAIN_FIELD]
    f_road = p[CP_FINE_ROAD]
    f_border = p[CP_FINE_BORDER]
    f_centre = p[CP_FINE_CENTRE]
    f_field = p[CP_FINE_FIELD]
    use_fine = f_road != 0.0 or f_border != 0.0 or f_centre != 0.0 or f_field != 0.0
    inv_fine = 1.0 / FINE_TEXEL
    fine_mask = FINE_N - 1
    # texture layout
    inv_h = 1.0 / fm[M_TEXEL]
    tx0 = fm[M_X0]
    ty0 = fm[M_Y0]
    nx = int(fm[M_NX])
    fi_max = fm[M_NX] - 1.0
    fj_max = fm[M_NY] - 1.0
    row = 4 * nx
    bw = fm[M_BORDER_W]
    hw = fm[M_CENTRE_HALF_W]
    period = fm[M_DASH_PERIOD]
    dashed = period > 0.0
    dash_on = fm[M_DASH_ON]
    phase = fm[M_DASH_PHASE]
    length = fm[M_LENGTH]
    is_loop = fm[M_LOOP] > 0.0
    has_start = fm[M_START] > 0.0
    start_reach2 = (fm[M_START_HALF_WID] + 0.1) ** 2
    # ground points closer than this are inside the arena, away from its edges
    dmin = np.inf
    for k in range(nw):
        dmin = min(dmin, walls[k, W_NX] * (cx - walls[k, W_X0])
                   + walls[k, W_NY] * (cy - walls[k, W_Y0]))
    safe2 = (0.8 * dmin) ** 2 if dmin > 0.0 else -1.0
    is_box = fm[M_BOX] > 0.0
    bx0 = walls[0, W_X0]
    by0 = walls[0, W_Y0]
    bx1 = walls[2, W_X0]
    by1 = walls[2, W_Y0]
    half_w_min = fm[M_HALF_W_MIN]
    reach = hw + fm[M_TEXEL]
    nobj = object_rects(objs, rect, cx, cy, h, f, fx, fy, fz, rx, ry, rz, dx_, dy_, dz_, W, H)
    for v in range(H):
        for u in range(W):
            o = (v * W + u) * N_TABLE
            rho2 = table[o + T_RHO2]
            ground = rho2 >= 0.0
            grey = c_sky
            kf = -1
            ef = np.inf
            if ground:
                lx = table[o + T_LX]
                ly = table[o + T_LY]
                rmax = table[o + T_RMAX]
                gx = cx + cyaw * lx - syaw * ly
                gy = cy + syaw * lx + cyaw * ly
                if rho2 >= safe2:  # distance into the arena and its nearest edge
                    if is_box:  # edges 0-3: y = y0, x = x1, y = y1, x = x0
                        ef = gy - by0
                        kf = 0
                        if bx1 - gx < ef:
                            ef = bx1 - gx
                            kf = 1
                        if by1 - gy < ef:
                            ef = by1 - gy
                            kf = 2
                        if gx - bx0 < ef:
                            ef = gx - bx0
                            kf = 3
                    else:
                        for k in range(nw):
                            dk = (walls[k, W_NX] * (gx - walls[k, W_X0])
                                  + walls[k, W_NY] * (gy - walls[k, W_Y0]))
                            if dk < ef:
                                ef = dk
                                kf = k
                    ground = ef > 0.0
            if ground:
                fi = (gx - tx0) * inv_h
                fj = (gy - ty0) * inv_h
                if 0.0 <= fi < fi_max and 0.0 <= fj < fj_max:
                    i0 = int(fi)
                    j0 = int(fj)
                    ax = fi - i0
                    ay = fj - j0
                    base = (j0 * nx + i0) * 4
                    w11 = ax * ay
                    w10 = ax - w11
                    w01 = ay - w11
                    w00 = 1.0 - ax - w01
                    g = (w00 * tex[base + 3] + w10 * tex[base + 7] + w01 * tex[base + row + 3]
                         + w11 * tex[base + row + 7])
                    e = (w00 * tex[base] + w10 * tex[base + 4] + w01 * tex[base + row]
                         + w11 * tex[base + row + 4])
                    m11 = table[o + T_M11]
                    m12 = table[o + T_M12]
                    m22 = table[o + T_M22]
                    gf = 0.0
                    if use_fine:  # world-fixed fine grain, its std scaled to the footprint
                        k_fine = ((int(gy * inv_fine) & fine_mask) * FINE_N
                                   + (int(gx * inv_fine) & fine_mask))
                        gf = fine[k_fine] * table[o + T_FINE]
                    if e - bw >= rmax:
                        grey = c_road + a_road * g + f_road * gf
                    elif e <= -rmax:
                        grey = c_field + a_field * g + f_field * gf
                    else:
                        e, ex, ey = bilerp_grad(tex, base, row, ax, ay, inv_h)
                        # footprint^2 of e: grad^T (R M R^T) grad, gradient in the car frame
                        qx = cyaw * ex + syaw * ey
                        qy = -syaw * ex + cyaw * ey
                        r2 = m11 * qx * qx + 2.0 * m12 * qx * qy + m22 * qy * qy + 1e-24
                        inv_r = 1.0 / math.sqrt(r2)
                        c_on = tcdf(e, inv_r)
                        c_in = tcdf(e - bw, inv_r)
                        grey = ((1.0 - c_on) * (c_field + a_field * g + f_field * gf)
                                + (c_on - c_in) * (c_border + a_border * g + f_border * gf)
                                + c_in * (c_road + a_road * g + f_road * gf))
                    # centre line: |dc| >= half_w_min - e (e interpolated across the road's
                    # middle ridge may be low by up to a texel), so skip when out of reach
                    if e > 0.0 and half_w_min - e < reach + rmax:
                        dc, dx, dy = bilerp_grad(tex, base + 1, row, ax, ay, inv_h)
                        gap = abs(dc) - hw
                        qx = cyaw * dx + syaw * dy
                        qy = -syaw * dx + cyaw * dy
                        r2 = m11 * qx * qx + 2.0 * m12 * qx * qy + m22 * qy * qy + 1e-24
                        if gap < 0.0 or gap * gap < r2:
                            inv_r = 1.0 / math.sqrt(r2)
                            cov = tcdf(dc + hw, inv_r) - tcdf(dc - hw, inv_r)
                            if dashed and abs(dc) < _DASH_REACH:
                                sb = base + 2
                                s00 = tex[sb]
                                s10 = tex[sb + 4]
                                s01 = tex[sb + row]
                                s11 = tex[sb + row + 4]
                                if is_loop:  # taps straddling the start: unwrap
                                    lo = min(min(s00, s10), min(s01, s11))
                                    hi = max(max(s00, s10), max(s01, s11))
                                    if hi - lo > 0.5 * length:
                                        half = 0.5 * length
                                        s00 = s00 + length if s00 < half else s00
                                        s10 = s10 + length if s10 < half else s10
                                        s01 = s01 + length if s01 < half else s01
                                        s11 = s11 + length if s11 < half else s11
                                s = ((1.0 - ay) * ((1.0 - ax) * s00 + ax * s10)
                                     + ay * ((1.0 - ax) * s01 + ax * s11))
                                sx = ((1.0 - ay) * (s10 - s00) + ay * (s11 - s01)) * inv_h
                                sy = ((1.0 - ax) * (s01 - s00) + ax * (s11 - s10)) * inv_h
                                qx = cyaw * sx + syaw * sy
                                qy = -syaw * sx + cyaw * sy
                                rs = math.sqrt(m11 * qx * qx + 2.0 * m12 * qx * qy
                                               + m22 * qy * qy) + 1e-9
                                if s >= length:
                                    s -= length
                                cov *= dash_cover(s, rs, phase, dash_on, period)
                            grey += cov * (c_centre + a_centre * g + f_centre * gf - grey)
                    if has_start:
                        ox = gx - fm[M_START_X]
                        oy = gy - fm[M_START_Y]
                        if ox * ox + oy * oy < start_reach2:
                            jux, juy, jvx, jvy = jacobian_from(m11, m12, m22, cyaw, syaw)
                            grey = start_band(fm, p, gx, gy, jux, juy, jvx, jvy, grey)
                else:
                    grey = c_field
                if kf >= 0:  # near the arena edge: the wall's base
                    m11 = table[o + T_M11]
                    m12 = table[o + T_M12]
                    m22 = table[o + T_M22]
                    nxk = walls[kf, W_NX]
                    nyk = walls[kf, W_NY]
                    qx = cyaw * nxk + syaw * nyk
                    qy = -syaw * nxk + cyaw * nyk
                    rf2 = m11 * qx * qx + 2.0 * m12 * qx * qy + m22 * qy * qy
                    if ef * ef < rf2:
                        cw = 1.0 - tcdf(ef, 1.0 / (math.sqrt(rf2) + 1e-12))
                        behind = p[CP_WALL0 + kf] if walls[kf, W_HEIGHT] > 0.0 else c_sky
                        grey = (1.0 - cw) * grey + cw * behind
            else:
                # the ray misses the arena's ground: wall or sky
                xc = (u + 0.5 - 0.5 * W) * inv_f
                yc = (v + 0.5 - 0.5 * H) * inv_f
                ddx = fx + xc * rx + yc * dx_
                ddy = fy + xc * ry + yc * dy_
                ddz = fz + xc * rz + yc * dz_
                k, dist, q = exit_wall(walls, nw, cx, cy, ddx, ddy)
                if k >= 0 and walls[k, W_HEIGHT] > 0.0:
                    inv_q = 1.0 / q
                    t = dist * inv_q
                    z = h + t * ddz
                    hk = walls[k, W_HEIGHT]
                    nxk = walls[k, W_NX]
                    nyk = walls[k, W_NY]
                    # dz_exit / d(pixel), for the antialiasing of the wall's base and top
                    qu = -(nxk * rx + nyk * ry)
                    qv = -(nxk * dx_ + nyk * dy_)
                    zu = t * (rz - ddz * qu * inv_q) * inv_f
                    zv = t * (dz_ - ddz * qv * inv_q) * inv_f
                    rz2 = zu * zu + zv * zv + 1e-30
                    if z * z >= rz2 and (hk - z) * (hk - z) >= rz2:
                        if 0.0 < z < hk:
                            grey = p[CP_WALL0 + k]
                        elif z <= 0.0:
                            grey = c_field
                    else:
                        inv_rz = 1.0 / math.sqrt(rz2)
                        below = tcdf(-z, inv_rz)
                        above = tcdf(z - hk, inv_rz)
                        grey = (below * c_field + above * c_sky
                                + (1.0 - below - above) * p[CP_WALL0 + k])
            if nobj > 0:
                grey = blend_objects(objs, rect, nobj, u, v, W, H, inv_f, cx, cy, h, fx, fy, fz,
                                     rx, ry, rz, dx_, dy_, dz_, grey)
            if noise > 0.0:
                state = xorshift(state)
                n1 = (state >> np.uint64(11)) * (1.0 / 9007199254740992.0)
                state = xorshift(state)
                n2 = (state >> np.uint64(11)) * (1.0 / 9007199254740992.0)
                grey += noise * 2.449489742783178 * (n1 + n2 - 1.0)
            grey = min(max(grey, 0.0), 255.0)
            out[v, u] = np.uint8(int(grey))
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
