"""``DeepRacerVecEnv``: N cars stepped by one kernel call, as a stable-baselines3 ``VecEnv``.

Same rules as :class:`~deepracer_sim.env.DeepRacerEnv` (the same kernel; the env is the N = 1
case), with SB3's vectorised semantics: a car whose episode ends is reset at once; its last
observation is in ``infos[i]["terminal_observation"]`` and ``infos[i]["TimeLimit.truncated"]``
says whether the step cap ended it. The user's reward function is called once per car per RUN
step with a freshly built params dict; its cost over the first few hundred calls is measured,
and a reward that slows the steps down (:class:`~deepracer_sim.reward.RewardCost`) gets one
warning.

Car ``i`` starts its first episode ``i / N`` of a lap after ``start_position``, so the cars'
round-robin start points tile the track (the rule deepracer-for-cloud's multi-worker setups use).
With several tracks (``track=[A, B, ...]``) car ``i`` drives track ``i % T``
(:mod:`deepracer_sim.envs.multitrack`); ``track`` is then the first one and ``car_tracks`` says
which car drives which. A reward file is loaded once per car: each car's reward function has
its own globals, as on DeepRacer, where each car is a rollout worker in its own process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from deepracer_sim.constants import ROUND_ROBIN_ADVANCE
from deepracer_sim.envs.sensors import FEATURES, DomainRandomizationLike
from deepracer_sim.envs.setup import (
    ActionSpaceLike,
    RewardLike,
    TracksLike,
    build_setup,
    episode_info,
)
from deepracer_sim.reward import RewardCost
from deepracer_sim.sim import layout
from deepracer_sim.sim.params import params_from_record
from deepracer_sim.track import DEFAULT_TRACK

#: Called after every step with (vec env, actions as given to ``step``, rewards (N,) float64);
#: the step records are in ``vec_env.sim.rec`` (columns ``layout.R_*``). Used by the sim-trace
#: logger.
StepListener = Callable[["DeepRacerVecEnv", np.ndarray, np.ndarray], None]


class DeepRacerVecEnv(VecEnv):
    """N DeepRacer cars on one track (see the module docstring).

    Args:
        num_envs: number of cars.
        track: a track, or a list or tuple of tracks (car ``i`` on track ``i % T``).
        **kwargs: the keyword arguments of :class:`~deepracer_sim.env.DeepRacerEnv`
            (``reward_function``, ``action_space``, ``version``, ``physics``, ``training``,
            ``round_robin_advance``, ``alternate_direction``, ``reverse_direction``,
            ``start_position``, ``max_steps``, ``sensor``, ``domain_randomization``,
            ``camera_seed``).

    Observation: as :class:`~deepracer_sim.envs.vector.DeepRacerVectorEnv`'s.
    """

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
            raise ValueError(f"render_mode={render_mode!r} is not available yet; use None")
        setup = build_setup(num_envs, track=track, reward_function=reward_function,
                            action_space=action_space, version=version, physics=physics,
                            training=training,
                            round_robin_advance=round_robin_advance,
                            alternate_direction=alternate_direction,
                            reverse_direction=reverse_direction, start_position=start_position,
                            max_steps=max_steps, sensor=sensor,
                            domain_randomization=domain_randomization, camera_seed=camera_seed)
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
        self.render_mode = None
        super().__init__(num_envs, setup.single_observation_space, setup.single_action_space)
        self.listeners: list[StepListener] = []
        self._actions: np.ndarray | None = None
        self._rewards = np.zeros(num_envs)
        self._episode_return = np.zeros(num_envs)
        #: the reward function's cost over the first steps (a warning when it is slow)
        self.reward_cost = RewardCost(self.reward_caller.where)
        self._cycle_mark: float | None = None

    # --- VecEnv API ------------------------------------------------------------------------
    def reset(self) -> Any:
        """Restart every car at its initial start point; returns the batch observation
        ((N, OBS_DIM) float32 for ``FEATURES``); a seed given by ``seed()`` reseeds the
        camera's randomisation."""
        self.sim.restart()
        self._episode_return[:] = 0.0
        self.reset_infos = [{} for _ in range(self.num_envs)]
        seed = self._seeds[0] if self._seeds else None
        if seed is not None:
            self.sensors.seed(int(seed))
        else:
            self.sensors.new_episodes()
        self._reset_seeds()
        return self.sensors.observe()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        camera = self.sensors.has_camera
        self.sim.step(*self.deepracer_action_space.scale(self._actions), not camera)
        rows = self.sim.rec.tolist()
        rewards = self._rewards
        callers = self.reward_callers
        dones = np.zeros(self.num_envs, dtype=bool)
        infos: list[dict[str, Any]] = []
        last = {}
        if camera:  # render the last frames, then restart the ended cars
            self.sensors.observe()
            last = self.sensors.finish_episodes(
                [i for i, row in enumerate(rows)
                 if row[layout.R_DONE] > 0.5 or row[layout.R_TRUNCATED] > 0.5])
        measuring = self.reward_cost.active
        car_tracks = self.car_tracks
        spent, calls = 0.0, 0
        for i, row in enumerate(rows):
            if row[layout.R_CALL_REWARD] > 0.5:
                params = params_from_record(row, car_tracks[i])
                if measuring:
                    t0 = time.perf_counter()
                    rewards[i] = callers[i](params)
                    spent += time.perf_counter() - t0
                    calls += 1
                else:
                    rewards[i] = callers[i](params)
            else:
                rewards[i] = 0.0
            self._episode_return[i] += rewards[i]
            ended = row[layout.R_DONE] > 0.5 or row[layout.R_TRUNCATED] > 0.5
            if ended:
                dones[i] = True
                info = episode_info(row)
                info["terminal_observation"] = (last[i] if camera
                                                else self.sim.terminal_obs[i].copy())
                info["TimeLimit.truncated"] = row[layout.R_TRUNCATED] > 0.5
                info["episode"] = {"r": self._episode_return[i], "l": int(row[layout.R_STEPS]),
                                   "t": 0.0}
                infos.append(info)
                self._episode_return[i] = 0.0
            else:
                infos.append({})
        for listener in self.listeners:
            listener(self, self._actions, rewards)
        if measuring:
            self._measure_reward(spent, calls)
        obs = self.sensors.current() if camera else self.sim.obs.copy()
        return obs, rewards.copy(), dones, infos

    def _measure_reward(self, spent: float, calls: int) -> None:
        """Report a step's reward time to :attr:`reward_cost` (the cycle is the time since the
        previous step ended: the policy, the simulation and the rewards; the first step, with
        its start-up, only starts the clock)."""
        now = time.perf_counter()
        if self._cycle_mark is not None:
            self.reward_cost.add(spent, calls, now - self._cycle_mark)
        self._cycle_mark = now

    def close(self) -> None:
        pass

    def set_clock(self, seconds: float) -> None:
        """Set every car's simulated clock (the sim-trace ``tstamp``), s: a resumed run
        continues its clock."""
        self.sim.s[:, layout.S_CLOCK] = float(seconds)

    def get_attr(self, attr_name: str, indices=None) -> list[Any]:
        return [getattr(self, attr_name) for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices=None) -> None:
        setattr(self, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs):
        return [getattr(self, method_name)(*method_args, **method_kwargs)
                for _ in self._get_indices(indices)]

    def env_is_wrapped(self, wrapper_class: type, indices=None) -> list[bool]:
        return [False for _ in self._get_indices(indices)]

    def _get_indices(self, indices) -> Sequence[int]:
        if indices is None:
            return range(self.num_envs)
        if isinstance(indices, int):
            return [indices]
        return indices
