"""The one construction path of every env: track, reward caller, action space, physics version
and generation, step cap, the kernel's :class:`~deepracer_sim.sim.simulator.Simulator` and the
Gymnasium spaces.

:class:`~deepracer_sim.envs.env.DeepRacerEnv` (one car), the stable-baselines3
:class:`~deepracer_sim.envs.vec_env.DeepRacerVecEnv` and Gymnasium's
:class:`~deepracer_sim.envs.vector.DeepRacerVectorEnv` all call :func:`build_setup`, so their
arguments, defaults and checks cannot drift apart.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, cast

import gymnasium as gym
import numpy as np

from deepracer_sim.constants import MIN_SPEED, ROUND_ROBIN_ADVANCE, STEP_DT
from deepracer_sim.envs.multitrack import TrackGroups, car_track_indices
from deepracer_sim.envs.sensors import (
    FEATURES,
    FRONT_FACING_CAMERA,
    DomainRandomizationLike,
    Sensors,
)
from deepracer_sim.errors import ActionSpaceError, UsageError
from deepracer_sim.formats.model_metadata import (
    DEFAULT_VERSION,
    ActionSpace,
    action_space_from_metadata,
    check_version,
    discrete_action_space,
    read_model_metadata,
)
from deepracer_sim.reward import RewardCaller, RewardFn, make_reward_callers
from deepracer_sim.sim import layout
from deepracer_sim.sim.car import car_params, resolve_physics
from deepracer_sim.sim.simulator import Simulator, make_config
from deepracer_sim.sim.world import ObjectsConfig
from deepracer_sim.track import DEFAULT_TRACK, Track, load_track

#: What an env's ``track`` argument accepts: a name, a ``.npy`` path or a :class:`Track`.
TrackLike: TypeAlias = str | os.PathLike[str] | Track
#: What a vector env's ``track`` argument accepts: one track, or a list or tuple of tracks
#: (car ``i`` drives track ``i % T``: :mod:`deepracer_sim.envs.multitrack`).
TracksLike: TypeAlias = TrackLike | Sequence[TrackLike]
#: What an env's ``action_space`` argument accepts (see :func:`resolve_action_space`).
ActionSpaceLike: TypeAlias = ActionSpace | dict[str, Any] | str | os.PathLike[str] | None
#: What an env's ``reward_function`` argument accepts: a file, a callable, or None (built-in).
RewardLike: TypeAlias = str | os.PathLike[str] | RewardFn | None


def default_max_steps(track: Track) -> int:
    """Default step cap: the steps a lap takes at the minimum speed of 0.1 m/s."""
    return math.ceil(track.length / MIN_SPEED / STEP_DT)


def resolve_action_space(action_space: ActionSpaceLike,
                         version: float | None) -> tuple[ActionSpace, float]:
    """(ActionSpace, version) from any accepted ``action_space`` argument.

    ``action_space``: an :class:`ActionSpace`, a ``model_metadata.json`` dict or path, or None
    for DeepRacer-on-AWS's default (30 degrees x 5, 1 m/s x 2). ``version``: None takes the
    metadata's ``version`` (a path) or :data:`DEFAULT_VERSION`.

    Raises:
        ActionSpaceError: an unsupported value, an invalid ``model_metadata.json``, or a
            ``version`` outside :data:`~deepracer_sim.formats.model_metadata.VERSION_LIMITS`.
    """
    meta_version: float | None = None
    if action_space is None:
        space = discrete_action_space()
    elif isinstance(action_space, ActionSpace):
        space = action_space
    elif isinstance(action_space, dict):
        space = action_space_from_metadata(action_space, "action_space argument")
        if "version" in action_space:
            meta_version = check_version(action_space["version"], "action_space argument")
    elif isinstance(action_space, (str, os.PathLike)):
        space, meta_version = read_model_metadata(action_space)
    else:
        raise ActionSpaceError(f"action_space: unsupported value {action_space!r}; give an "
                               "ActionSpace, a model_metadata.json dict or path, or None")
    if version is None:
        version = meta_version if meta_version is not None else DEFAULT_VERSION
    return space, check_version(version, "version")


@dataclass
class EnvSetup:
    """Everything an env is built from (see :func:`build_setup`).

    ``track`` is the first track; ``car_tracks`` the track of each car (all ``track`` unless
    several tracks were given); ``max_steps`` is the first track's step cap. Several tracks:
    ``groups`` steps all the cars (``sim`` is then its first track's simulator, with that
    track's cars only); one track: ``groups`` is None and ``sim`` holds every car."""

    track: Track
    reward_callers: list[RewardCaller]
    action_space: ActionSpace
    version: float
    physics: str
    training: bool
    max_steps: int
    sim: Simulator
    sensors: Sensors
    single_observation_space: gym.Space
    single_action_space: gym.Space
    car_tracks: list[Track] = field(default_factory=list)
    groups: TrackGroups | None = None

    @property
    def all_cars(self) -> Simulator | TrackGroups:
        """What steps every car: ``groups`` (several tracks) or ``sim``."""
        return self.groups if self.groups is not None else self.sim

    @property
    def reward_caller(self) -> RewardCaller:
        """Car 0's reward caller (the single env's only one)."""
        return self.reward_callers[0]


def load_tracks(track: TracksLike) -> list[Track]:
    """The tracks of a ``track`` argument (one, or a list or tuple), loaded.

    Raises:
        UsageError: an empty list; TrackError: a track that cannot be loaded.
    """
    given = (list(cast(Sequence[TrackLike], track)) if isinstance(track, (list, tuple))
             else [cast(TrackLike, track)])
    if not given:
        raise UsageError("track: an empty list; give at least one track")
    return [t if isinstance(t, Track) else load_track(t) for t in given]


def build_setup(num_envs: int, *, track: TracksLike = DEFAULT_TRACK,
                reward_function: RewardLike = None, action_space: ActionSpaceLike = None,
                version: float | None = None, physics: str | None = None,
                training: bool = True, round_robin_advance: float = ROUND_ROBIN_ADVANCE,
                alternate_direction: bool = False, reverse_direction: bool = False,
                start_position: float = 0.0, max_steps: int | None = None,
                sensor: str = FEATURES, domain_randomization: DomainRandomizationLike = None,
                camera_seed: int = 0, objects: ObjectsConfig | None = None) -> EnvSetup:
    """Build ``num_envs`` cars with DeepRacer's rules (the envs' shared constructor).

    ``objects``: the race's boxes and bot cars (:class:`~deepracer_sim.sim.world.ObjectsConfig`;
    each car has its own); with objects the observation gains the object features.

    The car is the simulator generation ``physics`` (``"v4"``, ``"v5"``, ``"v6"``), or, when
    None, the one the model's ``version`` runs on
    (:func:`~deepracer_sim.sim.car.physics_for_version`). ``sensor``,
    ``domain_randomization`` and ``camera_seed`` choose what the policy sees
    (:mod:`deepracer_sim.envs.sensors`).

    Car ``i`` starts its first episode ``i / num_envs`` of a lap after ``start_position``, so
    the cars' round-robin start points tile the track (as deepracer-for-cloud's multi-worker
    setups do); with one car that is ``start_position`` itself. Several tracks (a list or
    tuple): car ``i`` drives track ``i % T`` (:class:`TrackGroups`), each track with its own
    default step cap. A reward file is loaded once per car
    (:func:`~deepracer_sim.reward.make_reward_callers`: each car has its own module globals,
    as each DeepRacer rollout worker has).

    Raises:
        UsageError: ``num_envs < 1``, ``max_steps < 2``, an unknown ``sensor`` or
            ``physics``, fewer cars than tracks, or the camera on several tracks.
        TrackError, ActionSpaceError, RewardFunctionError: bad track, action space, reward.
    """
    if num_envs < 1:
        raise UsageError(f"num_envs={num_envs}: need at least one car")
    trks = load_tracks(track)
    if len(trks) > num_envs:
        raise UsageError(f"{len(trks)} tracks and {num_envs} cars: each track needs a car; "
                         f"give at least {len(trks)} cars (--n-envs) or fewer tracks")
    callers = make_reward_callers(reward_function, num_envs)
    space, version = resolve_action_space(action_space, version)
    physics = resolve_physics(physics, version)
    caps = [int(max_steps) if max_steps is not None else default_max_steps(t) for t in trks]
    if caps[0] < 2:
        raise UsageError(f"max_steps={max_steps}: an episode needs at least 2 steps (the "
                         "PREPARE step and one step of driving)")
    cfgs = [make_config(round_robin_advance, training, training and alternate_direction, cap,
                        0.0) for cap in caps]
    starts = start_position + np.arange(num_envs) / num_envs
    if objects is not None:
        check_objects(objects, len(trks), sensor)
    dyn = car_params(physics).as_array()
    if len(trks) > 1 and sensor != FEATURES:
        raise UsageError(f"sensor {sensor} on {len(trks)} tracks: the camera trains on one "
                         "track at a time; give one --track, or the FEATURES sensor")
    groups = (TrackGroups(trks, num_envs, dyn, cfgs, starts, reverse_direction)
              if len(trks) > 1 else None)
    sim = (groups.sims[0] if groups is not None
           else Simulator(trks[0], num_envs, dyn, cfgs[0], starts, reverse_direction, objects,
                          version))
    # FEATURES on several tracks reads only ``obs``, which the groups gather in car order
    sensors = Sensors(sensor, cast(Simulator, groups) if groups is not None else sim, trks[0],
                      training, domain_randomization, camera_seed)
    act_space: gym.Space = (gym.spaces.Box(-1.0, 1.0, (2,), np.float32) if space.continuous
                            else gym.spaces.Discrete(len(space)))
    car_tracks = [trks[k] for k in car_track_indices(num_envs, len(trks)).tolist()]
    return EnvSetup(trks[0], callers, space, version, physics, training, caps[0], sim, sensors,
                    sensors.observation_space, act_space, car_tracks, groups)


def check_objects(objects: ObjectsConfig, num_tracks: int, sensor: str) -> None:
    """Check that a race's ``objects`` fit the env: one track; a lidar only where the policy
    reads the feature vector (docs/objects.md, "With the other features"). The camera draws
    the boxes and bot cars.

    Raises:
        UsageError: objects on several tracks, a lidar with the camera alone, or an impossible
            layout (:meth:`~deepracer_sim.sim.world.ObjectsConfig.check`).
    """
    objects.check()
    if num_tracks > 1:
        raise UsageError(f"objects (boxes or bot cars) on {num_tracks} tracks: a race with "
                         "objects trains on one track; give one --track, or drop the objects")
    if objects.lidar and sensor == FRONT_FACING_CAMERA:
        raise UsageError(f"--lidar {objects.lidar} with sensor {sensor}: the camera network "
                         "has no lidar input; use --sensor FEATURES+FRONT_FACING_CAMERA (the "
                         "lidar joins the feature vector) or drop --lidar")


def episode_info(row: list[float]) -> dict[str, Any]:
    """The info of a step record (``rec[i].tolist()``): ``episode_status`` (a sim-trace status
    code), ``progress`` (%), ``lap_time`` (simulated s since the PREPARE step) and ``steps``."""
    return {
        "episode_status": layout.status(row),
        "progress": row[layout.R_PROGRESS],
        "lap_time": layout.lap_time(row),
        "steps": row[layout.R_STEPS],
    }
