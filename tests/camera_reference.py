"""An exact, slow reference of the camera image, for the tests: per-pixel ray casting at
640x480, then the simapp's own downscale pipeline.

Same scene and colour model as :mod:`deepracer_sim.sim.camera`, but no baked texture, no
interpolation and no analytic antialiasing: every 640x480 pixel (optionally ``msaa`` x ``msaa``
samples of it) is ray-cast against the exact geometry (road polygon, distances to the route
polylines, dashes by arc length, arena walls, boxes), given the 8-bit RGB its region has after
lighting, and the frame goes through ``PIL.Image.resize((160, 120), BILINEAR)``
(aws-deepracer-community/deepracer-simapp ``bundle/markov/sensors/sensors_rollout.py``),
Y = 0.2989 R + 0.587 G + 0.114 B and ``astype(uint8)`` (rl_coach filters), as the simapp does
(cloud-model-format §6).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from PIL import Image

from deepracer_sim.constants import CAMERA_RENDER_SIZE, CAMERA_Y_WEIGHTS
from deepracer_sim.sim.camera_look import region_rgb
from deepracer_sim.sim.camera_scene import (
    CP_CAM_X,
    CP_CAM_Y,
    CP_FOCAL,
    CP_HEIGHT,
    CP_PITCH,
    CP_ROLL,
    CP_YAW,
    IMAGE_HEIGHT,
    IMAGE_WIDTH,
    M_BORDER_W,
    M_CENTRE_HALF_W,
    M_DASH_ON,
    M_DASH_PERIOD,
    M_DASH_PHASE,
    M_LENGTH,
    M_LOOP,
    M_START,
    M_START_CELL_LEN,
    M_START_CELL_WID,
    M_START_DX,
    M_START_DY,
    M_START_HALF_LEN,
    M_START_HALF_WID,
    M_START_X,
    M_START_Y,
    O_GREY_FRONT,
    O_GREY_TOP,
    O_HEIGHT,
    O_LENGTH,
    O_WIDTH,
    O_X,
    O_Y,
    O_YAW,
    Scene,
)
from deepracer_sim.track.geometry import build_segment_grid, point_on_road, project_point

#: Gazebo's render is this many times the observation, per side.
DOWNSCALE = CAMERA_RENDER_SIZE[0] // IMAGE_WIDTH
Y_WEIGHTS = CAMERA_Y_WEIGHTS

# region codes of the rendered samples; objects: OBJ0 + 8 * k + (face column - O_GREY_FRONT)
FIELD, ROAD, BORDER, CENTRE, START_LIGHT, START_DARK, SKY, WALL0 = range(8)
OBJ0 = 100


@njit(cache=True)
def _classify(lines, cum, pmeta, pstart, psegs, rmeta, redges, rstart, rcells, rinside, fm_geo,  # noqa: C901
              walls, nw, objs, cam, basis, focal, width, height, msaa, out):
    """Region code of every sample: out (height * msaa, width * msaa) int64."""
    cx, cy, h = cam[0], cam[1], cam[2]
    fx, fy, fz = basis[0], basis[1], basis[2]
    rx, ry, rz = basis[3], basis[4], basis[5]
    dx_, dy_, dz_ = basis[6], basis[7], basis[8]
    bw, hw, on, period, phase, length = (fm_geo[0], fm_geo[1], fm_geo[2], fm_geo[3], fm_geo[4],
                                         fm_geo[5])
    has_start = fm_geo[6] > 0.0
    sx0, sy0, sdx, sdy, shl, shw, scl, scw = (fm_geo[7], fm_geo[8], fm_geo[9], fm_geo[10],
                                              fm_geo[11], fm_geo[12], fm_geo[13], fm_geo[14])
    is_loop = fm_geo[15] > 0.0
    for j in range(height * msaa):
        yc = ((j + 0.5) / msaa - 0.5 * height) / focal
        for i in range(width * msaa):
            xc = ((i + 0.5) / msaa - 0.5 * width) / focal
            ddx = fx + xc * rx + yc * dx_
            ddy = fy + xc * ry + yc * dy_
            ddz = fz + xc * rz + yc * dz_
            code = SKY
            # exit through the arena (convex, inward normals)
            best_t = np.inf
            best_k = -1
            for k in range(nw):
                q = -(walls[k, 5] * ddx + walls[k, 6] * ddy)
                if q > 1e-15:
                    t = (walls[k, 5] * (cx - walls[k, 0]) + walls[k, 6] * (cy - walls[k, 1])) / q
                    if t < best_t:
                        best_t = t
                        best_k = k
            t_ground = h / (-ddz) if ddz < 0.0 else np.inf
            t_hit = np.inf
            if t_ground < best_t:
                t_hit = t_ground
                gx = cx + t_ground * ddx
                gy = cy + t_ground * ddy
                if point_on_road(rmeta, redges, rstart, rcells, rinside, gx, gy):
                    _, _, d_in = project_point(lines[1], pmeta, pstart[1], psegs, gx, gy)
                    _, _, d_out = project_point(lines[2], pmeta, pstart[2], psegs, gx, gy)
                    code = BORDER if min(d_in, d_out) < bw else ROAD
                    seg, t, dc = project_point(lines[0], pmeta, pstart[0], psegs, gx, gy)
                    if dc < hw:
                        if period > 0.0:
                            s = cum[seg] + t * (cum[seg + 1] - cum[seg])
                            if is_loop and s >= length:
                                s -= length
                            w = (s - phase) - math.floor((s - phase) / period) * period
                            if w < on:
                                code = CENTRE
                        else:
                            code = CENTRE
                    if has_start:
                        ox = gx - sx0
                        oy = gy - sy0
                        al = ox * sdx + oy * sdy
                        ac = -ox * sdy + oy * sdx
                        if abs(al) < shl and abs(ac) < shw:
                            a = math.floor((al + shl) / scl)
                            b = math.floor((ac + shw) / scw)
                            code = START_LIGHT if (a + b) % 2 == 0 else START_DARK
                else:
                    code = FIELD
            elif best_k >= 0:
                z = h + best_t * ddz
                if walls[best_k, 4] > 0.0 and 0.0 <= z <= walls[best_k, 4]:
                    code = WALL0 + best_k
                    t_hit = best_t
            # boxes
            best_b = t_hit
            for k in range(objs.shape[0]):
                if objs[k, O_LENGTH] <= 0.0:
                    continue
                c = math.cos(objs[k, O_YAW])
                s_ = math.sin(objs[k, O_YAW])
                ox = cx - objs[k, O_X]
                oy = cy - objs[k, O_Y]
                lo = (c * ox + s_ * oy, -s_ * ox + c * oy, h)
                ld = (c * ddx + s_ * ddy, -s_ * ddx + c * ddy, ddz)
                half = (0.5 * objs[k, O_LENGTH], 0.5 * objs[k, O_WIDTH])
                tmin = -np.inf
                tmax = np.inf
                face = -1
                ok = True
                for a in range(3):
                    lo_a = -half[a] if a < 2 else 0.0
                    hi_a = half[a] if a < 2 else objs[k, O_HEIGHT]
                    if abs(ld[a]) < 1e-15:
                        if lo[a] < lo_a or lo[a] > hi_a:
                            ok = False
                        continue
                    t0 = (lo_a - lo[a]) / ld[a]
                    t1 = (hi_a - lo[a]) / ld[a]
                    if t0 > t1:
                        t0, t1 = t1, t0
                    if t0 > tmin:
                        tmin = t0
                        face = 4 if a == 2 else 2 * a + (1 if ld[a] > 0.0 else 0)
                    tmax = min(tmax, t1)
                if ok and tmax >= tmin > 0.0 and tmin < best_b:
                    best_b = tmin
                    code = OBJ0 + 8 * k + face
            out[j, i] = code


def _geometry(scene: Scene):
    track = scene.track
    lines = np.ascontiguousarray(track.arrays.lines[0])
    pmeta, pstart, psegs = build_segment_grid(lines, cell=0.1, margin=25.0)
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(lines[0], axis=0).T))])
    return lines, cum, pmeta, pstart, psegs


_GEOMETRY_CACHE: dict[int, tuple] = {}


def reference_render(scene: Scene, pose, params: np.ndarray, objects: np.ndarray | None = None,
                     msaa: int = 1, colours: dict | None = None,
                     return_full: bool = False):
    """The exact camera image of one car.

    Args:
        scene: a :func:`camera.build_scene` scene.
        pose: (x, y, yaw) of the car origin (m, rad).
        params: (N_PARAMS,) camera parameters (mount and focal are used; the colours come from
            ``colours`` or :func:`camera.region_rgb` under the default lights).
        objects: (K, N_OBJ_COLS) boxes, or None.
        msaa: samples per 640x480 pixel side (1 = one ray per pixel centre).
        colours: region RGB dict as :func:`camera.region_rgb` returns.
        return_full: also return the 640x480 RGB render.

    Returns:
        (120, 160) uint8 grey frame (and the (480, 640, 3) uint8 render when ``return_full``).
    """
    key = id(scene)
    if key not in _GEOMETRY_CACHE:
        _GEOMETRY_CACHE[key] = _geometry(scene)
    lines, cum, pmeta, pstart, psegs = _GEOMETRY_CACHE[key]
    fm = scene.arrays.fmeta
    fm_geo = np.array([fm[M_BORDER_W], fm[M_CENTRE_HALF_W], fm[M_DASH_ON], fm[M_DASH_PERIOD],
                       fm[M_DASH_PHASE], fm[M_LENGTH], fm[M_START], fm[M_START_X], fm[M_START_Y],
                       fm[M_START_DX], fm[M_START_DY], fm[M_START_HALF_LEN],
                       fm[M_START_HALF_WID], fm[M_START_CELL_LEN], fm[M_START_CELL_WID],
                       fm[M_LOOP]])
    x, y, yaw = pose[0], pose[1], pose[2]
    psi = yaw + params[CP_YAW]
    cam = np.array([x + math.cos(yaw) * params[CP_CAM_X] - math.sin(yaw) * params[CP_CAM_Y],
                    y + math.sin(yaw) * params[CP_CAM_X] + math.cos(yaw) * params[CP_CAM_Y],
                    params[CP_HEIGHT]])
    cp, sp = math.cos(params[CP_PITCH]), math.sin(params[CP_PITCH])
    cr, sr = math.cos(params[CP_ROLL]), math.sin(params[CP_ROLL])
    cyaw, syaw = math.cos(psi), math.sin(psi)
    f = np.array([cp * cyaw, cp * syaw, -sp])
    d0 = np.array([-sp * cyaw, -sp * syaw, -cp])
    r0 = np.array([syaw, -cyaw, 0.0])
    r = cr * r0 + sr * d0
    d = -sr * r0 + cr * d0
    basis = np.concatenate([f, r, d])
    width, height = IMAGE_WIDTH * DOWNSCALE, IMAGE_HEIGHT * DOWNSCALE
    focal = params[CP_FOCAL] * DOWNSCALE
    codes = np.empty((height * msaa, width * msaa), dtype=np.int64)
    rm = scene.track.arrays.road_grid()
    objs = np.zeros((0, 8)) if objects is None else np.asarray(objects, dtype=np.float64)
    nw = scene.n_walls
    _classify(lines, cum, pmeta, pstart, psegs, *rm, fm_geo, scene.arrays.walls, nw, objs, cam,
              basis, focal, width, height, msaa, codes)
    col = colours or region_rgb(scene)
    # 8-bit colour of every region (what the GPU writes)
    table = np.zeros((WALL0 + nw, 3))
    for code, name in ((FIELD, "field"), (ROAD, "road"), (BORDER, "border"), (CENTRE, "centre"),
                       (START_LIGHT, "start_light"), (START_DARK, "start_dark"), (SKY, "sky")):
        table[code] = col[name]
    for k in range(nw):
        table[WALL0 + k] = col["walls"][k]
    rgb = np.zeros((*codes.shape, 3))
    base = codes < 100
    rgb[base] = table[codes[base]]
    for k in range(len(objs)):  # boxes: each face's grey given directly
        for face in range(O_GREY_TOP - O_GREY_FRONT + 1):
            sel = codes == OBJ0 + 8 * k + face
            if sel.any():
                rgb[sel] = objs[k, O_GREY_FRONT + face]
    if msaa > 1:
        rgb = rgb.reshape(height, msaa, width, msaa, 3).mean(axis=(1, 3))
    full = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    small = np.asarray(Image.fromarray(full, "RGB").resize((IMAGE_WIDTH, IMAGE_HEIGHT),
                                                             resample=Image.BILINEAR))
    grey = (small.astype(np.float64) @ np.asarray(Y_WEIGHTS)).astype(np.uint8)
    return (grey, full) if return_full else grey
