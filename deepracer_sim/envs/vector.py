"""``DeepRacerVectorEnv``: N cars stepped by one kernel call, as a native Gymnasium vector env.

``gym.make_vec("DeepRacer-v0", num_envs=N)`` returns it (registered as the env's
``vector_entry_point``, as Gymnasium's CartPole does). Same rules and arguments as
:class:`~deepracer_sim.envs.env.DeepRacerEnv` (the same kernel and the same construction path,
:func:`~deepracer_sim.envs.setup.build_setup`), with Gymnasium's ``SAME_STEP`` autoreset: a car
whose episode ends is reset within the same step, the returned observation is the new episode's
first, and ``infos["final_obs"][i]`` / ``infos["final_info"][i]`` hold the ended episode's last
observation and its info (``episode_status``, ``progress``, ``lap_time``, ``steps``), with the
masks ``infos["_final_obs"]`` / ``infos["_final_info"]``. The reward function is called once
per car per RUN step with a freshly built params dict; a reward file is loaded once per car (each
car's reward function has its own globals, as each DeepRacer rollout worker's has).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from deepracer_sim.constants import ROUND_ROBIN_ADVANCE
from deepracer_sim.envs.sensors import FEATURES, DomainRandomizationLike
from deepracer_sim.envs.setup import (
    ActionSpaceLike,
    RewardLike,
    TracksLike,
    build_setup,
    episode_info,
)
from deepracer_sim.sim import layout
from deepracer_sim.sim.params import params_from_record
from deepracer_sim.track import DEFAULT_TRACK


class DeepRacerVectorEnv(VectorEnv):
    """N DeepRacer cars on one track (see the module docstring).

    Args:
        num_envs: number of cars (>= 1).
        track: a track, or a list or tuple of tracks (car ``i`` on track ``i % T``,
            :mod:`deepracer_sim.envs.multitrack`).
        the other arguments: as :class:`~deepracer_sim.envs.env.DeepRacerEnv`; car ``i`` starts
            ``i / num_envs`` of a lap after ``start_position``.

    Observation: ``(num_envs, OBS_DIM)`` float32 for ``FEATURES``, ``(num_envs, 120, 160, 1)``
    uint8 for ``FRONT_FACING_CAMERA`` (valid until the second next step), a dict of both for
    ``FEATURES+FRONT_FACING_CAMERA`` (:mod:`deepracer_sim.envs.sensors`); action:
    ``(num_envs,)`` int64 for a discrete space, ``(num_envs, 2)`` float32 in [-1, 1] for a
    continuous one.

    Raises:
        UsageError, TrackError, ActionSpaceError, RewardFunctionError: as the single env.
    """

    metadata = {"render_modes": [], "autoreset_mode": AutoresetMode.SAME_STEP}  # noqa: RUF012

    def __init__(self, num_envs: int = 1, *, track: TracksLike = DEFAULT_TRACK,
                 reward_function: RewardLike = None, action_space: ActionSpaceLike = None,
                 version: float | None = None, physics: str | None = None,
                 training: bool = True,
                 round_robin_advance: float = ROUND_ROBIN_ADVANCE,
                 alternate_direction: bool = False, reverse_direction: bool = False,
                 start_position: float = 0.0, max_steps: int | None = None,
                 render_mode: str | None = None, sensor: str = FEATURES,
                 domain_randomization: DomainRandomizationLike = None,
                 camera_seed: int = 0) -> None:
        if render_mode is not None:
            raise ValueError(f"render_mode={render_mode!r}: the vector env does not render; "
                             "use DeepRacerEnv(render_mode=...) to watch a car")
        setup = build_setup(num_envs, track=track, reward_function=reward_function,
                            action_space=action_space, version=version, physics=physics,
                            training=training,
                            round_robin_advance=round_robin_advance,
                            alternate_direction=alternate_direction,
                            reverse_direction=reverse_direction, start_position=start_position,
                            max_steps=max_steps, sensor=sensor,
                            domain_randomization=domain_randomization, camera_seed=camera_seed)
        self.num_envs = num_envs
        self.render_mode = None
        self.track = setup.track
        #: the track of each car (``track`` for all of them unless several were given)
        self.car_tracks = setup.car_tracks
        self.reward_callers = setup.reward_callers
        self.reward_caller = setup.reward_caller
        self.deepracer_action_space = setup.action_space
        self.version = setup.version
        self.physics = setup.physics
        self.training = training
        self.max_steps = setup.max_steps
        self.sim = setup.all_cars
        self.sensors = setup.sensors
        self.sensor = sensor
        self.single_observation_space = setup.single_observation_space
        self.single_action_space = setup.single_action_space
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self._rewards = np.zeros(num_envs)

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        """Restart every car at its initial start point (the simulator is deterministic:
        ``seed`` seeds ``np_random`` and the camera's randomisation); returns (the batch
        observation, {})."""
        super().reset(seed=seed, options=options)
        self.sim.restart()
        if seed is not None:
            self.sensors.seed(seed)
        else:
            self.sensors.new_episodes()
        return self.sensors.observe(), {}

    def step(self, actions: np.ndarray) -> tuple[Any, np.ndarray, np.ndarray,
                                                 np.ndarray, dict[str, Any]]:
        """One DeepRacer step of every car (1/15 s of simulated time).

        Raises:
            RewardFunctionError: the reward function failed or returned a bad value.
        """
        sim = self.sim
        sensors = self.sensors
        camera = sensors.has_camera
        sim.step(*self.deepracer_action_space.scale(actions), not camera)
        rows = sim.rec.tolist()
        rewards = self._rewards
        callers = self.reward_callers
        car_tracks = self.car_tracks
        for i, row in enumerate(rows):
            if row[layout.R_CALL_REWARD] > 0.5:
                rewards[i] = callers[i](params_from_record(row, car_tracks[i]))
            else:
                rewards[i] = 0.0
        terminated = sim.rec[:, layout.R_DONE] > 0.5
        truncated = sim.rec[:, layout.R_TRUNCATED] > 0.5
        infos: dict[str, Any] = {}
        ended = np.flatnonzero(terminated | truncated).tolist()
        if camera:  # render the last frames, then restart the ended cars
            sensors.observe()
            last = sensors.finish_episodes(ended)
        for i in ended:
            final = last[i] if camera else sim.terminal_obs[i].copy()
            infos = self._add_info(infos, {"final_obs": final,
                                           "final_info": episode_info(rows[i])}, i)
        obs = sensors.current() if camera else sim.obs.copy()
        return obs, rewards.copy(), terminated, truncated, infos
