"""The camera's optics and the renderer's small numba pieces.

* :func:`build_mount_table` / :func:`mount_table`: everything per pixel that depends only on the
  camera mount (height, pitch, roll, focal length): the pixel's ground point in the car frame,
  its ground footprint J J^T (J: the pixel's ground Jacobian), the footprint's largest radius and
  the fine-grain factor (``T_*`` slots), so a frame costs one rotation and one texture fetch per
  ground pixel.
* the antialiasing: PIL's antialiased BILINEAR downscale (SIM
  ``bundle/markov/sensors/sensors_rollout.py``) is a separable triangle filter one output pixel
  wide on each side; pushed through J it becomes, across an edge of a field f, a triangle of
  radius ``|grad(f) . J|`` (same variance), and the fraction of the pixel on each side of the
  edge is that triangle's CDF (:func:`tcdf`); dashes use its periodic version
  (:func:`dash_cover`), the start band a separable product (:func:`start_band`).
* walls (:func:`exit_wall`), boxes (:func:`object_rects`, :func:`blend_objects`) and the per-car
  noise generator (:func:`xorshift`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from deepracer_sim.sim.camera_scene import (
    CAMERA_HEIGHT,
    CAMERA_PITCH,
    CP_START_DARK,
    CP_START_LIGHT,
    FINE_GRAIN_EXPONENT,
    FOCAL_PX,
    IMAGE_HEIGHT,
    IMAGE_WIDTH,
    M_START_CELL_LEN,
    M_START_CELL_WID,
    M_START_DX,
    M_START_DY,
    M_START_HALF_LEN,
    M_START_HALF_WID,
    M_START_X,
    M_START_Y,
    N_TABLE,
    O_GREY_FRONT,
    O_GREY_TOP,
    O_HEIGHT,
    O_LENGTH,
    O_WIDTH,
    O_X,
    O_Y,
    O_YAW,
    T_FINE,
    T_LX,
    T_LY,
    T_M11,
    T_M12,
    T_M22,
    T_RHO2,
    T_RMAX,
    W_NX,
    W_NY,
    W_X0,
    W_Y0,
)


@njit(cache=True, inline="always")
def tcdf(x: float, inv_r: float) -> float:
    """P(x + n > 0) for n triangular on [-r, r], branch-free (``inv_r`` = 1 / r)."""
    q = min(max(x * inv_r, -1.0), 1.0)
    return 0.5 + q - 0.5 * q * abs(q)


@njit(cache=True, inline="always")
def dash_cover(s: float, r: float, phase: float, on: float, period: float) -> float:
    """Fraction of a triangular footprint (radius r, along s) on dashes [phase + k period, + on)."""
    w = s - phase
    w -= math.floor(w / period) * period  # in [0, period)
    inv_r = 1.0 / r
    cov = (tcdf(w, inv_r) - tcdf(w - on, inv_r)
           + tcdf(w - period, inv_r) - tcdf(w - period - on, inv_r)
           + tcdf(w + period, inv_r) - tcdf(w + period - on, inv_r))
    b = min(max((r - period) / period, 0.0), 1.0)  # wider footprints: towards the mean
    return cov * (1.0 - b) + b * on / period


@njit(cache=True, inline="always")
def xorshift(state: np.uint64) -> np.uint64:
    state ^= state << np.uint64(13)
    state ^= state >> np.uint64(7)
    state ^= state << np.uint64(17)
    return state


@njit(cache=True, inline="always")
def bilerp_grad(tex, base, row, ax, ay, inv_h):
    """Bilinear value and gradient (per metre) of one channel."""
    v00 = tex[base]
    v10 = tex[base + 4]
    v01 = tex[base + row]
    v11 = tex[base + row + 4]
    val = (1.0 - ay) * ((1.0 - ax) * v00 + ax * v10) + ay * ((1.0 - ax) * v01 + ax * v11)
    gx = ((1.0 - ay) * (v10 - v00) + ay * (v11 - v01)) * inv_h
    gy = ((1.0 - ax) * (v01 - v00) + ax * (v11 - v10)) * inv_h
    return val, gx, gy


@njit(cache=True, inline="always")
def footprint(gx, gy, jux, juy, jvx, jvy):
    """Radius of the triangle footprint of a field with gradient (gx, gy): |grad . J|."""
    ru = gx * jux + gy * juy
    rv = gx * jvx + gy * jvy
    return math.sqrt(ru * ru + rv * rv) + 1e-12


@njit(cache=True, inline="always")
def exit_wall(walls, nw, cx, cy, dx, dy):
    """First arena edge a horizontal ray (from inside) leaves through.

    Returns:
        (index or -1, distance of the lens from that edge's line, closing rate q = -n . d), so the
        ray parameter of the exit is distance / q.
    """
    best = -1
    best_dist = 1.0
    best_q = 0.0
    for k in range(nw):
        nxk = walls[k, W_NX]
        nyk = walls[k, W_NY]
        q = -(nxk * dx + nyk * dy)
        if q > 1e-12:
            dist = nxk * (cx - walls[k, W_X0]) + nyk * (cy - walls[k, W_Y0])
            if best < 0 or dist * best_q < best_dist * q:  # dist / q < best_dist / best_q
                best = k
                best_dist = dist
                best_q = q
    return best, best_dist, best_q


@njit(cache=True)
def box_hit(ox, oy, oz, dx, dy, dz, obj):
    """Entry of a ray into an oriented box on the ground: (t, face column ``O_GREY_*``), or
    (inf, -1)."""
    c = math.cos(obj[O_YAW])
    s = math.sin(obj[O_YAW])
    rx = ox - obj[O_X]
    ry = oy - obj[O_Y]
    lx = c * rx + s * ry
    ly = -s * rx + c * ry
    ldx = c * dx + s * dy
    ldy = -s * dx + c * dy
    tmin = -np.inf
    tmax = np.inf
    face = -1
    for a in range(3):
        if a == 0:
            o, d, lo, hi = lx, ldx, -0.5 * obj[O_LENGTH], 0.5 * obj[O_LENGTH]
        elif a == 1:
            o, d, lo, hi = ly, ldy, -0.5 * obj[O_WIDTH], 0.5 * obj[O_WIDTH]
        else:
            o, d, lo, hi = oz, dz, 0.0, obj[O_HEIGHT]
        if abs(d) < 1e-12:
            if o < lo or o > hi:
                return np.inf, -1
            continue
        t0 = (lo - o) / d
        t1 = (hi - o) / d
        if t0 > t1:
            t0, t1 = t1, t0
        if t0 > tmin:
            tmin = t0
            # entering through the high face when moving down the axis
            face = O_GREY_TOP if a == 2 else O_GREY_FRONT + 2 * a + (1 if d > 0.0 else 0)
        tmax = min(tmax, t1)
    if tmax < max(tmin, 0.0) or tmin <= 0.0:
        return np.inf, -1
    return tmin, face


@njit(cache=True)
def start_band(fm, p, gx, gy, jux, juy, jvx, jvy, grey):
    """Blend the chequered start band over ``grey`` at ground point (gx, gy): two rows of cells
    along the track, ``START_LINE_CELLS[1]`` across; cell (0, 0) light."""
    ox = gx - fm[M_START_X]
    oy = gy - fm[M_START_Y]
    tx = fm[M_START_DX]
    ty = fm[M_START_DY]
    al = ox * tx + oy * ty + fm[M_START_HALF_LEN]  # from the band's near edge
    ac = -ox * ty + oy * tx + fm[M_START_HALF_WID]  # from its right end
    cl = fm[M_START_CELL_LEN]
    cw = fm[M_START_CELL_WID]
    inv_ra = 1.0 / footprint(tx, ty, jux, juy, jvx, jvy)
    rc = footprint(-ty, tx, jux, juy, jvx, jvy)
    inv_rc = 1.0 / rc
    row0 = tcdf(al, inv_ra) - tcdf(al - cl, inv_ra)
    row1 = tcdf(al - cl, inv_ra) - tcdf(al - 2.0 * cl, inv_ra)
    across = tcdf(ac, inv_rc) - tcdf(ac - 2.0 * fm[M_START_HALF_WID], inv_rc)
    if row0 + row1 <= 0.0 or across <= 0.0:
        return grey
    even = dash_cover(ac, rc, 0.0, cw, 2.0 * cw)
    light = across * (row0 * even + row1 * (1.0 - even))
    dark = across * (row0 * (1.0 - even) + row1 * even)
    return (1.0 - light - dark) * grey + light * p[CP_START_LIGHT] + dark * p[CP_START_DARK]


#: Depth of the lens plane objects are clipped at, m.
_NEAR = 0.02


@njit(cache=True)
def object_rects(objs, rect, cx, cy, h, f, fx, fy, fz, rx, ry, rz, dx_, dy_, dz_, W, H):
    """Screen rectangles [u0, u1, v0, v1] of the objects (inactive: u0 > u1: no length, wholly
    behind the lens or off the frame); the count of active ones. A box that straddles the
    lens plane is clipped by it (its edges cut at the plane), so a box beside the car does not
    cover the whole frame."""
    nobj = 0
    corners = np.empty((8, 4))  # camera-relative x, y, z and depth of each corner
    bounds = np.empty(4)  # umin, umax, vmin, vmax
    for k in range(objs.shape[0]):
        rect[k, 0] = 1
        rect[k, 1] = 0
        if objs[k, O_LENGTH] <= 0.0:
            continue
        co = math.cos(objs[k, O_YAW])
        so = math.sin(objs[k, O_YAW])
        behind = 0
        for corner in range(8):
            lx = (0.5 if corner & 1 else -0.5) * objs[k, O_LENGTH]
            ly = (0.5 if corner & 2 else -0.5) * objs[k, O_WIDTH]
            pz = (objs[k, O_HEIGHT] if corner & 4 else 0.0) - h
            px = objs[k, O_X] + co * lx - so * ly - cx
            py = objs[k, O_Y] + so * lx + co * ly - cy
            corners[corner, 0] = px
            corners[corner, 1] = py
            corners[corner, 2] = pz
            corners[corner, 3] = px * fx + py * fy + pz * fz
            if corners[corner, 3] < _NEAR:
                behind += 1
        if behind == 8:  # wholly behind the lens: not in the frame
            continue
        bounds[0], bounds[1], bounds[2], bounds[3] = 1e9, -1e9, 1e9, -1e9
        for corner in range(8):
            if corners[corner, 3] >= _NEAR:
                _extend(bounds, corners[corner, 0], corners[corner, 1], corners[corner, 2],
                        corners[corner, 3], f, rx, ry, rz, dx_, dy_, dz_, W, H)
            for bit in (1, 2, 4):  # each edge once, cut where it crosses the lens plane
                other = corner | bit
                if other == corner:
                    continue
                da = corners[corner, 3]
                db = corners[other, 3]
                if (da < _NEAR) != (db < _NEAR):
                    w = (_NEAR - da) / (db - da)
                    a = corners[corner]
                    b = corners[other]
                    _extend(bounds, a[0] + w * (b[0] - a[0]), a[1] + w * (b[1] - a[1]),
                            a[2] + w * (b[2] - a[2]), _NEAR, f, rx, ry, rz, dx_, dy_, dz_, W, H)
        u0 = max(0.0, math.floor(bounds[0] - 1.0))
        u1 = min(W - 1.0, math.floor(bounds[1] + 1.0))
        v0 = max(0.0, math.floor(bounds[2] - 1.0))
        v1 = min(H - 1.0, math.floor(bounds[3] + 1.0))
        if u0 > u1 or v0 > v1:  # off the frame
            continue
        rect[k, 0], rect[k, 1], rect[k, 2], rect[k, 3] = int(u0), int(u1), int(v0), int(v1)
        nobj += 1
    return nobj



@njit(cache=True, inline="always")
def _extend(bounds, px, py, pz, depth, f, rx, ry, rz, dx_, dy_, dz_, W, H) -> None:
    """Grow the screen bounds [umin, umax, vmin, vmax] by a camera-relative point in front."""
    u = f * (px * rx + py * ry + pz * rz) / depth + 0.5 * W
    v = f * (px * dx_ + py * dy_ + pz * dz_) / depth + 0.5 * H
    bounds[0] = min(bounds[0], u)
    bounds[1] = max(bounds[1], u)
    bounds[2] = min(bounds[2], v)
    bounds[3] = max(bounds[3], v)


@njit(cache=True)
def build_mount_table(height: float, pitch: float, roll: float, focal: float, H: int, W: int,
                      out: np.ndarray) -> None:
    """Fill a per-pixel mount table (``T_*`` layout) for a camera at ``height`` m, pitched down
    ``pitch`` rad and rolled ``roll`` rad, ``focal`` in output pixels, image H x W.

    Args:
        out: (H * W * N_TABLE,) float32, written.
    """
    cp = math.cos(pitch)
    sp = math.sin(pitch)
    cr = math.cos(roll)
    sr = math.sin(roll)
    # car frame (x forward, y left, z up): optical axis, image right, image down
    fx, fz = cp, -sp
    d0x, d0z = -sp, -cp
    rx, ry, rz = sr * d0x, -cr, sr * d0z
    dx_, dy_, dz_ = cr * d0x, sr, cr * d0z
    inv_f = 1.0 / focal
    for v in range(H):
        yc = (v + 0.5 - 0.5 * H) * inv_f
        for u in range(W):
            xc = (u + 0.5 - 0.5 * W) * inv_f
            ddx = fx + xc * rx + yc * dx_
            ddy = xc * ry + yc * dy_
            ddz = fz + xc * rz + yc * dz_
            o = (v * W + u) * N_TABLE
            if ddz < -1e-9:
                t = height / (-ddz)
                kk = height * inv_f / (ddz * ddz)
                jux = kk * (-ddz * rx + rz * ddx)
                juy = kk * (-ddz * ry + rz * ddy)
                jvx = kk * (-ddz * dx_ + dz_ * ddx)
                jvy = kk * (-ddz * dy_ + dz_ * ddy)
                out[o + T_LX] = t * ddx
                out[o + T_LY] = t * ddy
                out[o + T_M11] = jux * jux + jvx * jvx
                out[o + T_M12] = jux * juy + jvx * jvy
                m11 = jux * jux + jvx * jvx
                m12 = jux * juy + jvx * jvy
                m22 = juy * juy + jvy * jvy
                out[o + T_M22] = m22
                half = 0.5 * (m11 + m22)
                lam = half + math.sqrt(max(half * half - (m11 * m22 - m12 * m12), 0.0))
                out[o + T_RMAX] = 1.02 * math.sqrt(lam)
                out[o + T_RHO2] = t * t * (ddx * ddx + ddy * ddy)
                b_mm = 1000.0 * math.sqrt(2.0) * max(m11 * m22 - m12 * m12, 0.0) ** 0.25
                out[o + T_FINE] = max(b_mm, 1.0) ** -FINE_GRAIN_EXPONENT
            else:
                for c in range(N_TABLE):
                    out[o + c] = 0.0
                out[o + T_RHO2] = -1.0





@njit(cache=True, inline="always")
def jacobian_from(m11, m12, m22, cyaw, syaw):
    """A Jacobian (world frame) with J J^T = R M R^T: the Cholesky factor of M, rotated."""
    a = math.sqrt(max(m11, 1e-30))
    b = m12 / a
    c = math.sqrt(max(m22 - b * b, 0.0))
    # columns of the factor L = [[a, 0], [b, c]] are two orthogonal-equivalent pixel directions
    jux = cyaw * a - syaw * b
    juy = syaw * a + cyaw * b
    jvx = -syaw * c
    jvy = cyaw * c
    return jux, juy, jvx, jvy


@njit(cache=True)
def blend_objects(objs, rect, nobj, u, v, W, H, inv_f, cx, cy, h, fx, fy, fz, rx, ry, rz, dx_, dy_,
             dz_, grey):
    """Blend the boxes covering pixel (u, v) over ``grey`` (2x2 supersampled outline)."""
    cov = 0.0
    acc = 0.0
    xc = (u + 0.5 - 0.5 * W) * inv_f
    yc = (v + 0.5 - 0.5 * H) * inv_f
    for k in range(objs.shape[0]):
        if rect[k, 0] > u or u > rect[k, 1] or rect[k, 2] > v or v > rect[k, 3]:
            continue
        for sub in range(4):
            su = xc + (0.25 if sub & 1 else -0.25) * inv_f
            sv = yc + (0.25 if sub & 2 else -0.25) * inv_f
            sdx = fx + sv * dx_ + su * rx
            sdy = fy + sv * dy_ + su * ry
            sdz = fz + sv * dz_ + su * rz
            _, face = box_hit(cx, cy, h, sdx, sdy, sdz, objs[k])
            if face >= 0:
                cov += 0.25
                acc += 0.25 * objs[k, face]
    if cov > 0.0:
        c = min(cov, 1.0)
        grey = (1.0 - c) * grey + acc * (c / cov)
    return grey


def mount_table(height: float = CAMERA_HEIGHT, pitch: float = CAMERA_PITCH, roll: float = 0.0,
                focal: float = FOCAL_PX, height_px: int = IMAGE_HEIGHT,
                width_px: int = IMAGE_WIDTH) -> np.ndarray:
    """The per-pixel table (H * W * N_TABLE,) float32 of a camera mount: height m, pitch and roll
    rad, focal length in output pixels (:func:`build_mount_table`)."""
    out = np.empty(height_px * width_px * N_TABLE, dtype=np.float32)
    build_mount_table(height, pitch, roll, focal, height_px, width_px, out)
    return out
