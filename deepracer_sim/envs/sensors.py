"""What a policy sees: DeepRacer's ``FRONT_FACING_CAMERA``, our own ``FEATURES`` vector, or both.

Sensor names (``sensor=`` of every env, ``train.py --sensor``):

* ``FEATURES`` (the default): the 19-value vector of :mod:`deepracer_sim.sim.observation`,
  ``Box(OBS_DIM,)`` float32. It is not a DeepRacer sensor: a policy on it learns a track in
  seconds and is the fast route for reward prototyping, but only this simulator can drive it.
* ``FRONT_FACING_CAMERA``: DeepRacer's camera as the simapp gives it to the policy,
  ``Box(0, 255, (120, 160, 1), uint8)`` (:mod:`deepracer_sim.sim.camera`); the sensor of models
  that DeepRacer and the car can run.
* ``FEATURES+FRONT_FACING_CAMERA``: a ``Dict`` with both, keys ``"FEATURES"`` and
  ``"FRONT_FACING_CAMERA"`` (a privileged teacher's input next to the student's, or a policy
  that sees both).

Camera frames are rendered into two preallocated batches used in turn, so a step allocates no
frame: an observation stays valid until the second following step (stable-baselines3 copies it
into its rollout buffer within that time; copy it to keep it longer). Terminal observations
(given on episode ends only) are copies.

Domain randomisation (:class:`~deepracer_sim.sim.camera.DomainRandomization`) is drawn per car
at every episode start from the car's own seeded generator: on by default for training envs,
off by default for evaluation envs (evaluation sees the nominal world, as the simapp's
evaluation without ``ENABLE_DOMAIN_RANDOMIZATION``).
"""

from __future__ import annotations

from typing import Any, TypeAlias

import gymnasium as gym
import numpy as np

from deepracer_sim.errors import UsageError
from deepracer_sim.sim.camera import (
    IMAGE_HEIGHT,
    IMAGE_WIDTH,
    CameraRenderer,
    DomainRandomization,
)
from deepracer_sim.sim.lidar import lidar_bounds
from deepracer_sim.sim.objects import object_observation_bounds
from deepracer_sim.sim.observation import observation_bounds
from deepracer_sim.sim.simulator import Simulator
from deepracer_sim.sim.world import ObjectsConfig
from deepracer_sim.track import Track

#: Our own sensor: the 19-value feature vector (not a DeepRacer name).
FEATURES = "FEATURES"
#: DeepRacer's front camera (``model_metadata.json`` ``sensor``).
FRONT_FACING_CAMERA = "FRONT_FACING_CAMERA"
#: Both, as a ``Dict`` observation.
FEATURES_AND_CAMERA = f"{FEATURES}+{FRONT_FACING_CAMERA}"
#: The accepted ``sensor`` values.
SENSORS = (FEATURES, FRONT_FACING_CAMERA, FEATURES_AND_CAMERA)
#: One camera observation: (height, width, channels).
CAMERA_SHAPE = (IMAGE_HEIGHT, IMAGE_WIDTH, 1)
#: What an env's ``domain_randomization`` accepts: None (on for training, off for evaluation),
#: a bool, or the settings.
DomainRandomizationLike: TypeAlias = DomainRandomization | bool | None


def check_sensor(sensor: str) -> str:
    """``sensor`` if it is one of :data:`SENSORS`.

    Raises:
        UsageError: another value (the message lists the accepted ones).
    """
    if sensor not in SENSORS:
        raise UsageError(f"sensor={sensor!r}: use one of {', '.join(SENSORS)} (FEATURES: the "
                         "fast 19-value vector; FRONT_FACING_CAMERA: DeepRacer's camera)")
    return sensor


def camera_space() -> gym.spaces.Box:
    """``Box(0, 255, (120, 160, 1), uint8)``: one camera frame."""
    return gym.spaces.Box(0, 255, CAMERA_SHAPE, np.uint8)


def features_space(objects: ObjectsConfig | None = None) -> gym.spaces.Box:
    """``Box(OBS_DIM,)`` float32: the feature vector; with ``objects`` followed by the object
    features and the lidar's (:mod:`deepracer_sim.sim.objects`, :mod:`deepracer_sim.sim.lidar`):
    ``Box(27,)``, ``Box(27 + 64,)`` (LIDAR) or ``Box(27 + 8,)`` (SECTOR_LIDAR)."""
    low, high = observation_bounds()
    if objects is not None:
        olow, ohigh = object_observation_bounds()
        low, high = np.concatenate([low, olow]), np.concatenate([high, ohigh])
        if objects.lidar:
            llow, lhigh = lidar_bounds(objects.lidar)
            low, high = np.concatenate([low, llow]), np.concatenate([high, lhigh])
    return gym.spaces.Box(low, high, low.shape, np.float32)


def observation_space(sensor: str, objects: ObjectsConfig | None = None) -> gym.Space:
    """The single-car observation space of ``sensor`` (the feature vector's size follows
    ``objects``: :func:`features_space`)."""
    check_sensor(sensor)
    if sensor == FEATURES:
        return features_space(objects)
    if sensor == FRONT_FACING_CAMERA:
        return camera_space()
    return gym.spaces.Dict({FEATURES: features_space(objects),
                            FRONT_FACING_CAMERA: camera_space()})


def resolve_randomization(dr: DomainRandomizationLike, training: bool) -> DomainRandomization:
    """The settings of an env's ``domain_randomization`` argument (None: on when training)."""
    if isinstance(dr, DomainRandomization):
        return dr
    return DomainRandomization(enabled=training if dr is None else bool(dr))


class Sensors:
    """The observations of a :class:`~deepracer_sim.sim.simulator.Simulator`'s N cars.

    Args:
        sensor: one of :data:`SENSORS`.
        sim: the simulator (its poses ``s[:, S_X:S_YAW + 1]`` and features ``obs``).
        training: whether the env trains (the default of ``dr``).
        dr: domain randomisation (:func:`resolve_randomization`).
        seed: seed of the cars' randomisation.

    Attributes:
        camera: the :class:`~deepracer_sim.sim.camera.CameraRenderer`, or None for ``FEATURES``.
        observation_space: one car's observation space.
    """

    def __init__(self, sensor: str, sim: Simulator, track: Track, training: bool = True,
                 dr: DomainRandomizationLike = None, seed: int = 0) -> None:
        self.sensor = check_sensor(sensor)
        self.sim = sim
        self.observation_space = observation_space(
            sensor, sim.objects if isinstance(sim, Simulator) else None)
        self.camera: CameraRenderer | None = None
        n = sim.n
        if sensor != FEATURES:
            slots = sim.obj.shape[1] if isinstance(sim, Simulator) else 0  # boxes, bot cars
            self.camera = CameraRenderer(track, n, resolve_randomization(dr, training), seed,
                                         max_objects=slots)
        rows = n if self.camera is not None else 0  # FEATURES: no frame buffers
        self._frames = [np.zeros((rows, *CAMERA_SHAPE), np.uint8) for _ in range(2)]
        self._planes = [f.reshape(rows, IMAGE_HEIGHT, IMAGE_WIDTH) for f in self._frames]
        self._turn = 0
        self._current = self._frames[0]

    @property
    def has_camera(self) -> bool:
        """Whether the camera is rendered."""
        return self.camera is not None

    def seed(self, seed: int) -> None:
        """Restart the cars' randomisation from ``seed``."""
        if self.camera is not None:
            self.camera.seed(seed)

    def new_episodes(self, cars: np.ndarray | list[int] | None = None) -> None:
        """Draw the randomisation of ``cars`` (all when None) whose episode starts."""
        if self.camera is not None:
            self.camera.reset(cars)

    def render(self, cars: np.ndarray | None = None) -> np.ndarray:
        """Render the cars at their current poses into the next frame batch (``cars``: only
        those rows, into the current batch). Returns the (N, 120, 160, 1) uint8 batch."""
        assert self.camera is not None
        if cars is None:
            self._turn ^= 1
            self._current = self._frames[self._turn]
        if self.camera.objects.shape[1]:  # the boxes and bot cars where they are now
            assert isinstance(self.sim, Simulator)
            self.camera.draw_objects(self.sim.obj, self.sim.world, cars)
        self.camera.render_into(self.sim.s, self._planes[self._turn], cars)
        return self._current

    def observe(self) -> Any:
        """The batch observation of every car now: (N, OBS_DIM) float32 (a copy), (N, 120,
        160, 1) uint8 (rendered now) or a dict of both."""
        if self.camera is None:
            return self.sim.obs.copy()
        frames = self.render()
        if self.sensor == FRONT_FACING_CAMERA:
            return frames
        return {FEATURES: self.sim.obs.copy(), FRONT_FACING_CAMERA: frames}

    def current(self) -> Any:
        """The last batch observation again, without rendering (after :meth:`refresh`)."""
        if self.camera is None:
            return self.sim.obs.copy()
        if self.sensor == FRONT_FACING_CAMERA:
            return self._current
        return {FEATURES: self.sim.obs.copy(), FRONT_FACING_CAMERA: self._current}

    def last_frame(self, i: int) -> np.ndarray:
        """Car ``i``'s last rendered camera frame, (120, 160, 1) uint8 (a view)."""
        return self._current[i]

    def single(self, batch: Any, i: int, copy: bool = False) -> Any:
        """Car ``i``'s observation in a batch observation (a copy if ``copy``)."""
        if isinstance(batch, dict):
            return {k: self.single(v, i, copy) for k, v in batch.items()}
        return batch[i].copy() if copy else batch[i]

    def finish_episodes(self, ended: list[int]) -> dict[int, Any]:
        """After :meth:`observe` of a step without automatic reset: keep the last observation
        of each car in ``ended``, restart its episode (simulator and randomisation) and render
        its first frame into the current batch.

        Returns:
            {car: its episode's last observation (a copy)}.
        """
        batch = self._current if self.sensor == FRONT_FACING_CAMERA else {
            FEATURES: self.sim.obs, FRONT_FACING_CAMERA: self._current}
        last = {i: self.single(batch, i, copy=True) for i in ended}
        if ended:
            for i in ended:
                self.sim.reset_car(i)
            cars = np.asarray(ended, dtype=np.int64)
            self.new_episodes(cars)
            self.render(cars)
        return last
