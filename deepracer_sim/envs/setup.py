"""The one construction path of every env: track, reward caller, action space, physics version,
step cap, the kernel's :class:`~deepracer_sim.sim.simulator.Simulator` and the Gymnasium spaces.

:class:`~deepracer_sim.envs.env.DeepRacerEnv` (one car), the stable-baselines3
:class:`~deepracer_sim.envs.vec_env.DeepRacerVecEnv` and Gymnasium's
:class:`~deepracer_sim.envs.vector.DeepRacerVectorEnv` all call :func:`build_setup`, so their
arguments, defaults and checks cannot drift apart.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, TypeAlias

import gymnasium as gym
import numpy as np

from deepracer_sim.constants import MIN_SPEED, ROUND_ROBIN_ADVANCE, STEP_DT
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
from deepracer_sim.sim.car import dynamics_for_version
from deepracer_sim.sim.observation import OBS_DIM, observation_bounds
from deepracer_sim.sim.simulator import Simulator, make_config
from deepracer_sim.track import DEFAULT_TRACK, Track, load_track

#: What an env's ``track`` argument accepts: a name, a ``.npy`` path or a :class:`Track`.
TrackLike: TypeAlias = str | os.PathLike[str] | Track
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
    """Everything an env is built from (see :func:`build_setup`)."""

    track: Track
    reward_callers: list[RewardCaller]
    action_space: ActionSpace
    version: float
    training: bool
    max_steps: int
    sim: Simulator
    single_observation_space: gym.spaces.Box
    single_action_space: gym.Space

    @property
    def reward_caller(self) -> RewardCaller:
        """Car 0's reward caller (the single env's only one)."""
        return self.reward_callers[0]


def build_setup(num_envs: int, *, track: TrackLike = DEFAULT_TRACK,
                reward_function: RewardLike = None, action_space: ActionSpaceLike = None,
                version: float | None = None, training: bool = True,
                round_robin_advance: float = ROUND_ROBIN_ADVANCE,
                alternate_direction: bool = False, reverse_direction: bool = False,
                start_position: float = 0.0, max_steps: int | None = None) -> EnvSetup:
    """Build ``num_envs`` cars with DeepRacer's rules (the envs' shared constructor).

    Car ``i`` starts its first episode ``i / num_envs`` of a lap after ``start_position``, so
    the cars' round-robin start points tile the track (as deepracer-for-cloud's multi-worker
    setups do); with one car that is ``start_position`` itself. A reward file is loaded once
    per car (:func:`~deepracer_sim.reward.make_reward_callers`: each car has its own module
    globals, as each DeepRacer rollout worker has).

    Raises:
        UsageError: ``num_envs < 1`` or ``max_steps < 2``.
        TrackError, ActionSpaceError, RewardFunctionError: bad track, action space, reward.
    """
    if num_envs < 1:
        raise UsageError(f"num_envs={num_envs}: need at least one car")
    trk = track if isinstance(track, Track) else load_track(track)
    callers = make_reward_callers(reward_function, num_envs)
    space, version = resolve_action_space(action_space, version)
    steps = int(max_steps) if max_steps is not None else default_max_steps(trk)
    if steps < 2:
        raise UsageError(f"max_steps={max_steps}: an episode needs at least 2 steps (the "
                         "PREPARE step and one step of driving)")
    cfg = make_config(round_robin_advance, training, training and alternate_direction, steps, 0.0)
    starts = start_position + np.arange(num_envs) / num_envs
    sim = Simulator(trk, num_envs, dynamics_for_version(version).as_array(), cfg, starts,
                    reverse_direction)
    low, high = observation_bounds()
    obs_space = gym.spaces.Box(low, high, (OBS_DIM,), np.float32)
    act_space: gym.Space = (gym.spaces.Box(-1.0, 1.0, (2,), np.float32) if space.continuous
                            else gym.spaces.Discrete(len(space)))
    return EnvSetup(trk, callers, space, version, training, steps, sim, obs_space, act_space)


def episode_info(row: list[float]) -> dict[str, Any]:
    """The info of a step record (``rec[i].tolist()``): ``episode_status`` (a sim-trace status
    code), ``progress`` (%), ``lap_time`` (simulated s since the PREPARE step) and ``steps``."""
    return {
        "episode_status": layout.status(row),
        "progress": row[layout.R_PROGRESS],
        "lap_time": layout.lap_time(row),
        "steps": row[layout.R_STEPS],
    }
