"""``DeepRacerVecEnv``: N cars stepped by one kernel call, as a stable-baselines3 ``VecEnv``.

Same rules as :class:`~deepracer_sim.env.DeepRacerEnv` (the same kernel; the env is the N = 1
case), with SB3's vectorised semantics: a car whose episode ends is reset at once; its last
observation is in ``infos[i]["terminal_observation"]`` and ``infos[i]["TimeLimit.truncated"]``
says whether the step cap ended it. The user's reward function is called once per car per RUN
step with a freshly built params dict.

Car ``i`` starts its first episode ``i / N`` of a lap after ``start_position``, so the cars'
round-robin start points tile the track (the rule deepracer-for-cloud's multi-worker setups use).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from . import sim
from .car import dynamics_for_version
from .constants import ROUND_ROBIN_ADVANCE, STATUS_CODES, STEP_DT
from .env import default_max_steps, resolve_action_space
from .observation import OBS_DIM, observation_bounds
from .params import params_from_record
from .reward import RewardFn, make_reward_caller
from .track import DEFAULT_TRACK, Track, load_track

#: Called after every step with (vec env, actions as given to ``step``, rewards (N,) float64);
#: the step records are in ``vec_env.sim.rec`` (columns ``sim.R_*``). Used by the sim-trace logger.
StepListener = Callable[["DeepRacerVecEnv", np.ndarray, np.ndarray], None]


class DeepRacerVecEnv(VecEnv):
    """N DeepRacer cars on one track (see the module docstring).

    Args:
        num_envs: number of cars.
        **kwargs: the keyword arguments of :class:`~deepracer_sim.env.DeepRacerEnv`
            (``track``, ``reward_function``, ``action_space``, ``version``, ``training``,
            ``round_robin_advance``, ``alternate_direction``, ``reverse_direction``,
            ``start_position``, ``max_steps``).
    """

    def __init__(self, num_envs: int = 1, *, track: str | os.PathLike | Track = DEFAULT_TRACK,
                 reward_function: str | os.PathLike | RewardFn | None = None,
                 action_space=None, version: float | None = None, training: bool = True,
                 round_robin_advance: float = ROUND_ROBIN_ADVANCE,
                 alternate_direction: bool = False, reverse_direction: bool = False,
                 start_position: float = 0.0, max_steps: int | None = None,
                 render_mode: str | None = None) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs={num_envs}: need at least one car")
        if render_mode is not None:
            raise ValueError(f"render_mode={render_mode!r} is not available yet; use None")
        self.track = track if isinstance(track, Track) else load_track(track)
        self.reward_caller = make_reward_caller(reward_function)
        self.deepracer_action_space, self.version = resolve_action_space(action_space, version)
        self.training = training
        self.max_steps = int(max_steps) if max_steps is not None else default_max_steps(self.track)
        cfg = sim.make_config(round_robin_advance, training, training and alternate_direction,
                              self.max_steps, 0.0)
        starts = start_position + np.arange(num_envs) / num_envs
        self.sim = sim.Simulator(self.track, num_envs,
                                 dynamics_for_version(self.version).as_array(), cfg, starts,
                                 reverse_direction)
        low, high = observation_bounds()
        obs_space = gym.spaces.Box(low, high, (OBS_DIM,), np.float32)
        space = self.deepracer_action_space
        act_space: gym.Space = (gym.spaces.Box(-1.0, 1.0, (2,), np.float32) if space.continuous
                                else gym.spaces.Discrete(len(space)))
        self.render_mode = None
        super().__init__(num_envs, obs_space, act_space)
        self.listeners: list[StepListener] = []
        self._actions: np.ndarray | None = None
        self._rewards = np.zeros(num_envs)
        self._episode_return = np.zeros(num_envs)

    # --- VecEnv API ------------------------------------------------------------------------
    def reset(self) -> np.ndarray:
        """Restart every car at its initial start point; returns (N, OBS_DIM) float32."""
        self.sim.restart()
        self._episode_return[:] = 0.0
        self.reset_infos = [{} for _ in range(self.num_envs)]
        return self.sim.obs.copy()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self):
        self.sim.step(*self.deepracer_action_space.scale(self._actions), True)
        rows = self.sim.rec.tolist()
        rewards = self._rewards
        dones = np.zeros(self.num_envs, dtype=bool)
        infos: list[dict[str, Any]] = []
        for i, row in enumerate(rows):
            if row[sim.R_CALL_REWARD] > 0.5:
                rewards[i] = self.reward_caller(params_from_record(row, self.track))
            else:
                rewards[i] = 0.0
            self._episode_return[i] += rewards[i]
            ended = row[sim.R_DONE] > 0.5 or row[sim.R_TRUNCATED] > 0.5
            if ended:
                dones[i] = True
                infos.append({
                    "terminal_observation": self.sim.terminal_obs[i].copy(),
                    "TimeLimit.truncated": row[sim.R_TRUNCATED] > 0.5,
                    "episode_status": STATUS_CODES[int(row[sim.R_STATUS])],
                    "progress": row[sim.R_PROGRESS],
                    "lap_time": (row[sim.R_STEPS] - 1.0) * STEP_DT,
                    "episode": {"r": self._episode_return[i], "l": int(row[sim.R_STEPS]),
                                "t": 0.0},
                })
                self._episode_return[i] = 0.0
            else:
                infos.append({})
        for listener in self.listeners:
            listener(self, self._actions, rewards)
        return self.sim.obs.copy(), rewards.copy(), dones, infos

    def close(self) -> None:
        pass

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
