"""The kernel's objects (boxes and bot cars) as the camera draws them: each car's object rows of
:class:`~deepracer_sim.sim.camera.CameraRenderer` filled from the simulator's objects every
frame, lit by that car's lights, in numba (no Python per object or pose).

A box is the simapp's obstacle model (``BOX_OBSTACLE_SIZE``, ``BOX_OBSTACLE_ALBEDO``); a bot car
is drawn as a box of its collision footprint, 0.15 m high, in a dark grey (the colour of the
DeepRacer car's chassis and shell, assumed). Each face's grey is the colour model of
:mod:`~deepracer_sim.sim.camera_look` (Lambert irradiance under the world's lights at the face's
middle, ``clip(albedo x gain x (L / L_up) ** (1 / 2.2))`` per channel, then Y), the same numbers
as :func:`~deepracer_sim.sim.camera_look.box_object` for the same lights.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from deepracer_sim.constants import (
    BOX_OBSTACLE_SIZE,
    CAMERA_Y_WEIGHTS,
    POINT_LIGHT_POSITION,
    SUN_DIRECTION,
    WORLD_AMBIENT,
)
from deepracer_sim.sim import layout
from deepracer_sim.sim.camera_look import (
    BOT_CAR_RGB,
    BOT_CAR_SIZE,
    BOX_OBSTACLE_RGB,
    L_ATT,
    L_GAIN,
    L_POINT,
    L_SUN,
    LIGHT_GAMMA,
)
from deepracer_sim.sim.camera_scene import (
    O_GREY_BACK,
    O_GREY_FRONT,
    O_GREY_LEFT,
    O_GREY_RIGHT,
    O_GREY_TOP,
    O_HEIGHT,
    O_LENGTH,
    O_WIDTH,
    O_X,
    O_Y,
    O_YAW,
)

_SUN_NORM = math.sqrt(sum(c * c for c in SUN_DIRECTION))
_SUN = np.array([-c / _SUN_NORM for c in SUN_DIRECTION])
_LIGHT_POS = np.array(POINT_LIGHT_POSITION, dtype=np.float64)
_Y = np.array(CAMERA_Y_WEIGHTS, dtype=np.float64)
_BOX = np.array([*BOX_OBSTACLE_SIZE, *BOX_OBSTACLE_RGB], dtype=np.float64)
_BOT = np.array([*BOT_CAR_SIZE, *BOT_CAR_RGB], dtype=np.float64)


@njit(cache=True)
def face_grey(nx: float, ny: float, nz: float, px: float, py: float, pz: float,
              albedo: np.ndarray, lights: np.ndarray, reference: float) -> float:
    """Grey level (float, before truncation) of a surface with unit normal (nx, ny, nz) through
    the point (px, py, pz) m, of ``albedo`` (3,) 0-255, under ``lights`` (N_LIGHTS,
    :mod:`~deepracer_sim.sim.camera_look`), with
    ``reference`` the R irradiance of an up-facing surface under the default lights
    (``camera_look.irradiance`` then ``lit_grey``)."""
    tx = _LIGHT_POS[0] - px
    ty = _LIGHT_POS[1] - py
    tz = _LIGHT_POS[2] - pz
    dist = math.sqrt(tx * tx + ty * ty + tz * tz)
    att = 1.0 / (lights[L_ATT] + lights[L_ATT + 1] * dist + lights[L_ATT + 2] * dist * dist)
    sun = max(0.0, nx * _SUN[0] + ny * _SUN[1] + nz * _SUN[2])
    pnt = max(0.0, (nx * tx + ny * ty + nz * tz) / dist) * att
    grey = 0.0
    for c in range(3):
        light = WORLD_AMBIENT + lights[L_SUN + c] * sun + lights[L_POINT + c] * pnt
        v = albedo[c] * lights[L_GAIN] * (light / reference) ** (1.0 / LIGHT_GAMMA)
        grey += min(max(v, 0.0), 255.0) * _Y[c]
    return grey


@njit(cache=True)
def shade_object(x: float, y: float, yaw: float, look: np.ndarray, lights: np.ndarray,
                 reference: float, row: np.ndarray) -> None:
    """Fill a camera object row (N_OBJ_COLS,) for a box of ``look`` (length, width, height m,
    then albedo r, g, b) standing at (x, y) m heading ``yaw`` rad: side faces lit at their
    middle height, the top at its height."""
    c = math.cos(yaw)
    s = math.sin(yaw)
    h = look[2]
    albedo = look[3:6]
    row[O_X] = x
    row[O_Y] = y
    row[O_YAW] = yaw
    row[O_LENGTH] = look[0]
    row[O_WIDTH] = look[1]
    row[O_HEIGHT] = h
    mz = 0.5 * h
    row[O_GREY_FRONT] = face_grey(c, s, 0.0, x, y, mz, albedo, lights, reference)
    row[O_GREY_BACK] = face_grey(-c, -s, 0.0, x, y, mz, albedo, lights, reference)
    row[O_GREY_LEFT] = face_grey(-s, c, 0.0, x, y, mz, albedo, lights, reference)
    row[O_GREY_RIGHT] = face_grey(s, -c, 0.0, x, y, mz, albedo, lights, reference)
    row[O_GREY_TOP] = face_grey(0.0, 0.0, 1.0, x, y, h, albedo, lights, reference)


@njit(cache=True)
def shade_objects(obj: np.ndarray, world: np.ndarray, lights: np.ndarray, reference: float,
                  cars: np.ndarray, rows: np.ndarray) -> None:
    """The camera's object rows of ``cars`` from the simulator's objects.

    Args:
        obj: (N, M, NO) the simulator's objects (``Simulator.obj``); world: (N, NW) its world
            rows (how many boxes and bots each car has).
        lights: (N, N_LIGHTS) each car's lights (``CameraRandomizer.lights``).
        reference: see :func:`face_grey`.
        cars: (C,) int64 the cars to fill.
        rows: (N, M, N_OBJ_COLS) the renderer's ``objects``: slot k of car i gets object k
            (boxes, then bots); slots past the car's objects get length 0 (not drawn).
    """
    for ci in range(cars.shape[0]):
        i = cars[ci]
        nbox = int(world[i, layout.W_NBOX])
        n = nbox + int(world[i, layout.W_NBOT])
        for k in range(rows.shape[1]):
            if k >= n:
                rows[i, k, O_LENGTH] = 0.0
                continue
            o = obj[i, k]
            look = _BOX if o[layout.O_KIND] == layout.KIND_BOX else _BOT
            shade_object(o[layout.O_X], o[layout.O_Y], o[layout.O_YAW], look, lights[i],
                         reference, rows[i, k])
