"""The camera's colours: the world's lights on each region, and domain randomisation.

A region's colour is ``clip(albedo x CALIBRATED_GAIN x (L / L_up) ** (1 / LIGHT_GAMMA))`` per
channel, where L is the Lambert irradiance of the surface under the world's lights (ambient 0.5,
the sun, the point light 15 m up; cloud-model-format §6.2) and L_up that of an up-facing surface
under the default lights; its grey is Y = 0.2989 R + 0.587 G + 0.114 B, kept as a float (the
texture noise of the real meshes dithers the 8-bit rounding; the renderer truncates at the end as
rl_coach's ``astype(uint8)`` does). ``CALIBRATED_GAIN`` was fitted to the simapp's sample camera
frame (docs/camera.md, "Sim-to-sim"); the 1/2.2 exponent only matters for surfaces that do not
face up and under domain randomisation, and is unverified.

:class:`DomainRandomization` reproduces the simapp's ``ENABLE_DOMAIN_RANDOMIZATION`` (random light
colours and attenuations at every episode start) and goes beyond it (gain, per-region jitter,
camera mount jitter, grain, noise); :class:`CameraRandomizer` holds the per-car draws, each car
from its own seeded generator.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from deepracer_sim.constants import (
    BOX_OBSTACLE_ALBEDO,
    BOX_OBSTACLE_SIZE,
    CAMERA_Y_WEIGHTS,
    POINT_LIGHT_ATTENUATION,
    POINT_LIGHT_DIFFUSE,
    POINT_LIGHT_POSITION,
    SUN_DIFFUSE,
    SUN_DIRECTION,
    WORLD_AMBIENT,
)
from deepracer_sim.sim.camera_optics import build_mount_table, mount_table
from deepracer_sim.sim.camera_scene import (
    CAMERA_HEIGHT,
    CAMERA_PITCH,
    CAMERA_X,
    CP_BORDER,
    CP_CAM_X,
    CP_CENTRE,
    CP_FIELD,
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
    CP_START_DARK,
    CP_START_LIGHT,
    CP_WALL0,
    CP_YAW,
    FOCAL_PX,
    IMAGE_HEIGHT,
    IMAGE_WIDTH,
    N_CP,
    Scene,
    Vec3,
)

#: Exponent between irradiance ratios and 8-bit output ratios (an sRGB-like output curve); only
#: matters for surfaces not facing up and for domain randomisation [unverified].
LIGHT_GAMMA = 2.2
#: Output/albedo ratio of an up-facing surface under the default lights, fitted to the simapp's
#: sample frame ``docker/files/ml-code/sample_data/front_facing_camera.pkl`` (docs/camera.md).
CALIBRATED_GAIN = 1.36
#: The default obstacle's albedo on the 0-255 scale of the track colours.
BOX_OBSTACLE_RGB = (BOX_OBSTACLE_ALBEDO[0] * 255, BOX_OBSTACLE_ALBEDO[1] * 255,
                    BOX_OBSTACLE_ALBEDO[2] * 255)
#: A bot car drawn as a box: the collision footprint (``BOT_CAR_DIMENSION``) and an assumed
#: height of 0.15 m.
BOT_CAR_SIZE = (0.32352, 0.1961, 0.15)
#: A bot car's albedo (0-255): the dark grey of the DeepRacer car's chassis and shell [assumed].
BOT_CAR_RGB = (45.0, 45.0, 48.0)
#: One car's lights for shading objects ((N_LIGHTS,) float64, ``CameraRandomizer.lights``): the
#: sun's diffuse r, g, b, the point light's diffuse r, g, b, its attenuation (constant, linear,
#: quadratic) and the output gain.
L_SUN, L_POINT, L_ATT, L_GAIN = 0, 3, 6, 9
N_LIGHTS = 10
#: The up-facing normal.
UP = np.array([0.0, 0.0, 1.0])


# --- colour model ------------------------------------------------------------------------------


def irradiance(normal: np.ndarray, point: np.ndarray, sun_rgb: Vec3 = SUN_DIFFUSE,
               point_rgb: Vec3 = POINT_LIGHT_DIFFUSE,
               attenuation: Vec3 = POINT_LIGHT_ATTENUATION) -> np.ndarray:
    """Lambert irradiance (3,) of a surface under the world's lights (SIM ``bundle/worlds``).

    Args:
        normal: (3,) unit surface normal; point: (3,) a point of the surface, m.
        sun_rgb, point_rgb: diffuse colours of the sun and of the point light (0-1).
        attenuation: the point light's (constant, linear, quadratic).
    """
    sun = -np.asarray(SUN_DIRECTION) / np.linalg.norm(SUN_DIRECTION)
    to_light = np.asarray(POINT_LIGHT_POSITION) - point
    dist = float(np.linalg.norm(to_light))
    att = 1.0 / (attenuation[0] + attenuation[1] * dist + attenuation[2] * dist * dist)
    return (WORLD_AMBIENT + np.asarray(sun_rgb) * max(0.0, float(normal @ sun))
            + np.asarray(point_rgb) * max(0.0, float(normal @ to_light) / dist) * att)


def lit_grey(albedo_rgb: Vec3 | np.ndarray, light: np.ndarray, reference: float,
             gain: float = CALIBRATED_GAIN, gamma: float = LIGHT_GAMMA) -> float:
    """Grey level (float, before truncation) of an albedo under an irradiance.

    ``rgb = clip(albedo * gain * (light / reference) ** (1 / gamma), 0, 255)`` per channel, then Y.
    ``reference`` is the R irradiance of an up-facing surface under the default lights.
    """
    rgb = np.clip(np.asarray(albedo_rgb) * gain * (np.asarray(light) / reference) ** (1 / gamma),
                  0.0, 255.0)
    return float(rgb @ np.asarray(CAMERA_Y_WEIGHTS))


def lit_rgb(albedo_rgb: Vec3 | np.ndarray, light: np.ndarray, reference: float,
            gain: float = CALIBRATED_GAIN, gamma: float = LIGHT_GAMMA) -> np.ndarray:
    """The (3,) float RGB of :func:`lit_grey` (before the Y conversion)."""
    return np.clip(np.asarray(albedo_rgb) * gain * (np.asarray(light) / reference) ** (1 / gamma),
                   0.0, 255.0)


def reference_irradiance(scene: Scene) -> float:
    """The R irradiance of an up-facing surface at the scene's centre under the default lights
    (the 1.0 of the colour model's ratio)."""
    return float(irradiance(UP, np.array([*scene.centre, 0.0]))[0])


def nominal_params(scene: Scene, n: int = 1, grain: bool = True) -> np.ndarray:
    """Per-car camera parameters without randomisation: the URDF mount and the world's lights.

    Returns:
        (n, N_CP) float64, rows identical (``CP_*`` columns).
    """
    p = np.zeros(N_CP)
    p[CP_HEIGHT], p[CP_CAM_X] = CAMERA_HEIGHT, CAMERA_X
    p[CP_PITCH], p[CP_FOCAL] = CAMERA_PITCH, FOCAL_PX
    _fill_colours(scene, p, SUN_DIFFUSE, POINT_LIGHT_DIFFUSE, POINT_LIGHT_ATTENUATION,
                  CALIBRATED_GAIN, np.ones(9), 1.0 if grain else 0.0)
    return np.tile(p, (n, 1))


def region_rgb(scene: Scene, sun_rgb: Vec3 = SUN_DIFFUSE, point_rgb: Vec3 = POINT_LIGHT_DIFFUSE,
               attenuation: Vec3 = POINT_LIGHT_ATTENUATION,
               gain: float = CALIBRATED_GAIN) -> dict[str, Any]:
    """Lit RGB (float, 0-255) of every region: what the 640x480 render shows (reference renderer).

    Returns:
        dict of (3,) arrays: road, border, centre, field, start_light, start_dark, sky, and
        ``walls`` (a list, one per arena edge).
    """
    st = scene.style
    ref = reference_irradiance(scene)
    up = irradiance(UP, np.array([*scene.centre, 0.0]), sun_rgb, point_rgb, attenuation)
    cal = dict(zip(("road", "border", "centre", "field", "wall"), st.calibration, strict=True))
    out: dict[str, Any] = {
        name: lit_rgb(np.asarray(getattr(st, name + "_rgb")) * cal.get(name, 1.0), up, ref, gain)
        for name in ("road", "border", "centre", "field", "start_light", "start_dark")}
    out["sky"] = np.asarray(st.sky_rgb, dtype=np.float64)
    wall = np.asarray(st.wall_rgb) * cal["wall"]
    out["walls"] = [lit_rgb(wall, irradiance(scene.wall_normals[k], scene.wall_midpoints[k],
                                             sun_rgb, point_rgb, attenuation), ref, gain)
                    for k in range(scene.n_walls)]
    return out


def _fill_colours(scene: Scene, p: np.ndarray, sun_rgb: Vec3, point_rgb: Vec3, attenuation: Vec3,
                  gain: float,
                  jitter: np.ndarray, grain_scale: float) -> None:
    """Write the region greys of one car into its parameter row ``p``.

    ``jitter`` (9,) multiplies the greys of road, border, centre, field, sky, start light, start
    dark, walls (one factor for all walls) and the grain.
    """
    rgb = region_rgb(scene, sun_rgb, point_rgb, attenuation, gain)
    y = np.asarray(CAMERA_Y_WEIGHTS)
    cols = (CP_ROAD, CP_BORDER, CP_CENTRE, CP_FIELD, CP_SKY, CP_START_LIGHT, CP_START_DARK)
    names = ("road", "border", "centre", "field", "sky", "start_light", "start_dark")
    for k, (col, name) in enumerate(zip(cols, names, strict=True)):
        p[col] = min(255.0, float(rgb[name] @ y) * jitter[k])
    for k in range(scene.n_walls):
        p[CP_WALL0 + k] = min(255.0, float(rgb["walls"][k] @ y) * jitter[7])
    # grain: albedo std times the region's gain, none where the colour clips at 255
    st = scene.style
    for col, name, g, f in zip((CP_GRAIN_ROAD, CP_GRAIN_BORDER, CP_GRAIN_CENTRE, CP_GRAIN_FIELD),
                               ("road", "border", "centre", "field"), st.grain, st.fine_grain,
                               strict=True):
        albedo = np.asarray(getattr(st, name + "_rgb"))
        ratio = float(rgb[name] @ y) / max(float(albedo @ y), 1e-6)
        unclipped = float(np.mean(rgb[name] < 254.5))
        p[col] = g * ratio * unclipped * grain_scale * jitter[8]
        p[col + CP_FINE_ROAD - CP_GRAIN_ROAD] = f * ratio * unclipped * grain_scale * jitter[8]


# --- domain randomisation -----------------------------------------------------------------------


@dataclass(frozen=True)
class DomainRandomization:
    """Camera domain randomisation, sampled per car at each episode start.

    ``simapp_lights`` reproduces the simapp's ENABLE_DOMAIN_RANDOMIZATION (SIM
    ``bundle/markov/domain_randomizations/visual/light_randomizer.py:56-95``: at every episode
    reset (``environments/deepracer_racetrack_env.py:222-223``) each world light
    (``rollout_utils.py:92-118``) gets a diffuse colour with r, g, b ~ U(0, 1) and attenuation
    constant, linear, quadratic ~ U(0, 1)).
    The rest goes beyond the simapp: a global gain, per-region grey jitter, camera mount jitter,
    texture-grain scaling and per-pixel noise.

    Attributes:
        enabled: False = nominal parameters (exactly reproducible frames).
        simapp_lights: randomise the sun and point light as the simapp does.
        gain_range: extra multiplicative gain on every grey.
        region_jitter: each region's grey x U(1 - j, 1 + j).
        height_jitter: camera height + U(-j, j), m.
        pitch_jitter_deg, roll_jitter_deg, yaw_jitter_deg: mount angles + U(-j, j), degrees.
        grain_range: texture grain scale ~ U(lo, hi).
        noise_std_range: per-pixel noise std ~ U(lo, hi) grey levels (fresh noise every frame).
        mount_bank: number of jittered camera mounts (height, pitch, roll) drawn once; each car
            picks one at every episode start (their per-pixel tables are precomputed). 0 = a fresh
            mount per car per episode (one table per car, rebuilt at reset).
    """

    enabled: bool = False
    simapp_lights: bool = True
    gain_range: tuple[float, float] = (0.85, 1.15)
    region_jitter: float = 0.08
    height_jitter: float = 0.005
    pitch_jitter_deg: float = 1.5
    roll_jitter_deg: float = 1.0
    yaw_jitter_deg: float = 1.0
    grain_range: tuple[float, float] = (0.5, 2.0)
    noise_std_range: tuple[float, float] = (0.0, 4.0)
    mount_bank: int = 16


def sample_params(scene: Scene, dr: DomainRandomization, rng: np.random.Generator,
                  out: np.ndarray | None = None, lights: np.ndarray | None = None) -> np.ndarray:
    """One car's camera parameters under ``dr`` (nominal if ``dr.enabled`` is False), except the
    mount (height, pitch, roll: :func:`sample_mount`).

    Args:
        out: (N_CP,) float64 to write the parameters into.
        lights: (N_LIGHTS,) float64 to write the drawn lights and gain into (what objects are
            shaded with).

    Returns:
        (N_CP,) float64 (``out`` when given).
    """
    p = nominal_params(scene, 1)[0]
    sun, pnt, att, gain = SUN_DIFFUSE, POINT_LIGHT_DIFFUSE, POINT_LIGHT_ATTENUATION, CALIBRATED_GAIN
    if dr.enabled:
        if dr.simapp_lights:
            sun = tuple(rng.uniform(0.0, 1.0, 3))
            pnt = tuple(rng.uniform(0.0, 1.0, 3))
            att = tuple(rng.uniform(0.0, 1.0, 3))
        gain = CALIBRATED_GAIN * rng.uniform(*dr.gain_range)
        j = rng.uniform(1.0 - dr.region_jitter, 1.0 + dr.region_jitter, 9)
        j[8] = rng.uniform(*dr.grain_range)
        _fill_colours(scene, p, sun, pnt, att, gain, j, 1.0)
        p[CP_YAW] += math.radians(rng.uniform(-dr.yaw_jitter_deg, dr.yaw_jitter_deg))
        p[CP_NOISE] = rng.uniform(*dr.noise_std_range)
    if lights is not None:
        lights[:] = (*sun, *pnt, *att, gain)
    if out is not None:
        out[:] = p
        return out
    return p


def nominal_lights(n: int = 1) -> np.ndarray:
    """The world's default lights and gain for ``n`` cars, (n, N_LIGHTS) float64."""
    row = np.array([*SUN_DIFFUSE, *POINT_LIGHT_DIFFUSE, *POINT_LIGHT_ATTENUATION,
                    CALIBRATED_GAIN])
    return np.tile(row, (n, 1))


def sample_mount(dr: DomainRandomization, rng: np.random.Generator) -> tuple[float, float, float]:
    """A jittered camera mount (height m, pitch rad, roll rad) under ``dr``."""
    return (CAMERA_HEIGHT + rng.uniform(-dr.height_jitter, dr.height_jitter),
            CAMERA_PITCH + math.radians(rng.uniform(-dr.pitch_jitter_deg, dr.pitch_jitter_deg)),
            math.radians(rng.uniform(-dr.roll_jitter_deg, dr.roll_jitter_deg)))


class CameraRandomizer:
    """Per-car seeded randomisation state for a batch of N cars.

    ``params`` (N, N_CP) float64, ``tables`` (M, H * W * N_TABLE) float32, ``mount`` (N,) int64
    and ``noise_state`` (N,) uint64 go to :func:`~.camera_kernel.render_batch`; ``lights``
    (N, N_LIGHTS) float64 are each car's drawn lights (objects are shaded with them). Car i
    draws from its own generator (child i of ``SeedSequence(seed)``), so its frames do not
    depend on the number of cars or on the other cars; call :meth:`reset` for the cars whose
    episode starts (the simapp randomises at every episode reset). With ``dr.enabled`` False
    every car has the nominal parameters and no noise, whatever the seed.
    """

    def __init__(self, scene: Scene, n: int, dr: DomainRandomization | None = None,
                 seed: int = 0) -> None:
        self.scene = scene
        self.n = n
        self.dr = dr or DomainRandomization()
        self.params = nominal_params(scene, n)
        self.lights = nominal_lights(n)
        self.mount = np.zeros(n, dtype=np.int64)
        self.noise_state = np.ones(n, dtype=np.uint64)
        dr = self.dr
        self.jitter = dr.enabled and (dr.height_jitter > 0 or dr.pitch_jitter_deg > 0
                                      or dr.roll_jitter_deg > 0)
        self.per_car_mount = self.jitter and dr.mount_bank <= 0
        self.seed(seed)

    def seed(self, seed: int) -> None:
        """Restart every car's generator from ``seed`` (and the mount bank), then :meth:`reset`
        all cars."""
        n = self.n
        root = np.random.SeedSequence(seed)
        seqs = root.spawn(n)
        self.rngs = [np.random.default_rng(s) for s in seqs]
        self.noise_state[:] = [s.generate_state(1, np.uint64)[0] | np.uint64(1) for s in seqs]
        nominal = (CAMERA_HEIGHT, CAMERA_PITCH, 0.0)
        if not self.jitter:
            self.mounts = np.array([nominal])
        elif self.per_car_mount:
            self.mounts = np.tile(nominal, (n, 1))
            self.mount[:] = np.arange(n)
        else:  # the bank's own generator: a child no car uses
            bank = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1 << 32,)))
            self.mounts = np.array([sample_mount(self.dr, bank)
                                    for _ in range(self.dr.mount_bank)])
        self.tables = np.stack([mount_table(*m) for m in self.mounts])
        self.reset()

    def reset(self, cars: Iterable[int] | None = None) -> None:
        """Resample the parameters of ``cars`` (indices; all when None)."""
        if not self.dr.enabled:
            return  # nominal parameters, set once
        idx = range(self.n) if cars is None else cars
        for i in idx:
            rng = self.rngs[i]
            sample_params(self.scene, self.dr, rng, out=self.params[i], lights=self.lights[i])
            if self.per_car_mount:
                self.mounts[i] = sample_mount(self.dr, rng)
                m = self.mounts[i]
                build_mount_table(m[0], m[1], m[2], FOCAL_PX, IMAGE_HEIGHT, IMAGE_WIDTH,
                                  self.tables[i])
            elif len(self.mounts) > 1:
                self.mount[i] = rng.integers(len(self.mounts))
            m = self.mounts[self.mount[i]]
            self.params[i, CP_HEIGHT], self.params[i, CP_PITCH], self.params[i, CP_ROLL] = m


def box_object(x: float, y: float, yaw: float, size: Vec3 = BOX_OBSTACLE_SIZE,
               rgb: Vec3 = BOX_OBSTACLE_RGB, scene: Scene | None = None,
               sun_rgb: Vec3 = SUN_DIFFUSE, point_rgb: Vec3 = POINT_LIGHT_DIFFUSE,
               attenuation: Vec3 = POINT_LIGHT_ATTENUATION,
               gain: float = CALIBRATED_GAIN) -> np.ndarray:
    """An (N_OBJ_COLS,) object row (``O_*`` slots): a box of ``size`` (length, width, height, m)
    and albedo ``rgb`` (0-255) standing on the ground at (x, y) m heading ``yaw`` rad, each face
    lit by the world's lights (or the given ones and output ``gain``, e.g. a domain-randomised
    draw). Bot cars: ``size=BOT_CAR_SIZE, rgb=BOT_CAR_RGB``. The envs shade the simulator's
    objects with the same model in numba (:func:`~.camera_objects.shade_objects`).
    """
    ref = reference_irradiance(scene) if scene is not None else float(
        irradiance(UP, np.zeros(3))[0])
    cy, sy = math.cos(yaw), math.sin(yaw)
    mid = np.array([x, y, size[2] / 2])
    faces = []
    for normal in ((cy, sy, 0.0), (-cy, -sy, 0.0), (-sy, cy, 0.0), (sy, -cy, 0.0)):
        light = irradiance(np.array(normal), mid, sun_rgb, point_rgb, attenuation)
        faces.append(lit_grey(rgb, light, ref, gain))
    top = lit_grey(rgb, irradiance(UP, np.array([x, y, size[2]]), sun_rgb, point_rgb,
                                   attenuation), ref, gain)
    return np.array([x, y, yaw, size[0], size[1], size[2], *faces, top])
