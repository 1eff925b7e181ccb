"""``DeepRacerEnv``: the Gymnasium environment (registered as ``DeepRacer-v0``).

One car on a DeepRacer track, stepped by the shared kernel of :mod:`deepracer_sim.sim` with the
simapp's episode rules (spec §2), calling the racer's ``reward_function(params)`` with the exact
params dict (:mod:`deepracer_sim.params`).

Episode flow, as DeepRacer's:

* ``reset()`` places the car on the centre line at the episode's start point, facing the next
  waypoint. The first ``step()`` is the PREPARE step: the action is ignored, the car is held,
  the reward is 0.0 and the reward function is not called (``info["episode_status"] ==
  "prepare"``). From the second step the reward function sees ``steps == 2.0``.
* Each step's reward and termination are judged on the pose *before* the action (the simapp
  pauses physics between steps), so leaving the track is seen one step after it happens.
* ``terminated``: lap_complete (progress 100), off_track (all four wheels off), reversed
  (15 steps of decreasing progress) or immobilized (15 steps without motion).
  ``truncated``: the step cap ``max_steps`` (status ``time_up``).
* Training mode (``training=True``): after each episode the start point advances by
  ``round_robin_advance`` of a lap (DeepRacer's round robin, 5 %), and the direction flips if
  ``alternate_direction``. Evaluation mode starts every episode at the start line.
"""

from __future__ import annotations

import math
import os
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from . import sim
from .action_space import (
    DEFAULT_VERSION,
    ActionSpace,
    ActionSpaceError,
    action_space_from_metadata,
    discrete_action_space,
    read_model_metadata,
)
from .car import dynamics_for_version
from .constants import MIN_SPEED, ROUND_ROBIN_ADVANCE, STATUS_CODES, STEP_DT
from .observation import OBS_DIM, observation_bounds
from .params import copy_params, params_from_record
from .reward import RewardFn, make_reward_caller
from .track import DEFAULT_TRACK, Track, load_track


def default_max_steps(track: Track) -> int:
    """Default step cap: the steps a lap takes at the minimum speed of 0.1 m/s."""
    return math.ceil(track.length / MIN_SPEED / STEP_DT)


def resolve_action_space(action_space: ActionSpace | dict | str | os.PathLike | None,
                         version: float | None) -> tuple[ActionSpace, float]:
    """(ActionSpace, version) from any accepted ``action_space`` argument.

    ``action_space``: an :class:`ActionSpace`, a ``model_metadata.json`` dict or path, or None
    for DeepRacer-on-AWS's default (30 degrees x 5, 1 m/s x 2). ``version``: None takes the
    metadata's ``version`` (a path) or :data:`DEFAULT_VERSION`.
    """
    meta_version: float | None = None
    if action_space is None:
        space = discrete_action_space()
    elif isinstance(action_space, ActionSpace):
        space = action_space
    elif isinstance(action_space, dict):
        space = action_space_from_metadata(action_space, "action_space argument")
        if "version" in action_space:
            meta_version = float(action_space["version"])
    elif isinstance(action_space, (str, os.PathLike)):
        space, meta_version = read_model_metadata(action_space)
    else:
        raise ActionSpaceError(f"action_space: unsupported value {action_space!r}; give an "
                               "ActionSpace, a model_metadata.json dict or path, or None")
    if version is None:
        version = meta_version if meta_version is not None else DEFAULT_VERSION
    return space, float(version)


class DeepRacerEnv(gym.Env):
    """A Gymnasium environment of one DeepRacer car (see the module docstring).

    Args:
        track: a track name, a ``.npy`` path, or a :class:`~deepracer_sim.track.Track`.
        reward_function: a reward file path, a callable ``f(params) -> float``, or None for the
            built-in centre-line reward (the same as ``rewards/center.py``).
        action_space: an :class:`~deepracer_sim.action_space.ActionSpace`, a
            ``model_metadata.json`` path or dict, or None (DeepRacer-on-AWS's default 10 actions).
        version: physics version (spec §3.2): >= 5 velocity-controlled car, < 5 the v4 car;
            None takes the metadata's version, else 6.
        training: training mode (round robin start, alternate direction) or evaluation mode.
        round_robin_advance: start-point advance per training episode, fraction of a lap.
        alternate_direction: flip the driving direction after every training episode.
        reverse_direction: drive against the track's row order (params ``is_reversed``).
        start_position: the first episode's start point, fraction of a lap from waypoint 0.
        max_steps: step cap per episode (truncation); None: the steps of a lap at 0.1 m/s.
        render_mode: None, "rgb_array" (``render()`` returns an (H, W, 3) uint8 frame drawn
            offscreen, no window) or "human" (``render()`` draws into a window at
            ``render_fps``); call ``render()`` after each ``step()`` you want drawn. See
            :mod:`deepracer_sim.viewer.envview`.

    Observation: ``Box(OBS_DIM,)`` float32, see :mod:`deepracer_sim.observation`.
    Action: ``Discrete(K)`` for a discrete space, ``Box(-1, 1, (2,))`` for a continuous one.
    Info: ``params`` (the step's params; the reward function got its own copy),
    ``episode_status`` (a sim-trace status code), ``progress`` (%), ``lap_time`` (simulated s
    since the PREPARE step), ``steps`` and ``reward_called``.

    Raises:
        TrackError, ActionSpaceError, RewardFunctionError: bad track, action space, reward file.
    """

    metadata: ClassVar[dict] = {"render_modes": ["human", "rgb_array"], "render_fps": 15}

    def __init__(self, track: str | os.PathLike | Track = DEFAULT_TRACK,
                 reward_function: str | os.PathLike | RewardFn | None = None,
                 action_space: ActionSpace | dict | str | os.PathLike | None = None,
                 version: float | None = None, training: bool = True,
                 round_robin_advance: float = ROUND_ROBIN_ADVANCE,
                 alternate_direction: bool = False, reverse_direction: bool = False,
                 start_position: float = 0.0, max_steps: int | None = None,
                 render_mode: str | None = None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode={render_mode!r}: use None, 'human' or 'rgb_array'")
        self.render_mode = render_mode
        self._viewer = None
        self.track = track if isinstance(track, Track) else load_track(track)
        self.reward_caller = make_reward_caller(reward_function)
        if render_mode is not None:  # the viewer shows each step's reward
            from .viewer.envview import RewardTap

            self.reward_caller = RewardTap(self.reward_caller)
        self.deepracer_action_space, self.version = resolve_action_space(action_space, version)
        self.training = training
        self.max_steps = int(max_steps) if max_steps is not None else default_max_steps(self.track)
        if self.max_steps < 2:
            raise ValueError(f"max_steps={max_steps}: an episode needs at least 2 steps")
        cfg = sim.make_config(round_robin_advance, training, training and alternate_direction,
                              self.max_steps, 0.0)
        self.sim = sim.Simulator(self.track, 1, dynamics_for_version(self.version).as_array(),
                                 cfg, np.array([start_position]), reverse_direction)
        low, high = observation_bounds()
        self.observation_space = gym.spaces.Box(low, high, (OBS_DIM,), np.float32)
        space = self.deepracer_action_space
        if space.continuous:
            self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        else:
            self.action_space = gym.spaces.Discrete(len(space))
        # discrete actions as plain Python lists: the per-step lookup avoids numpy scalars
        self._action_steer = space.actions[:, 0].tolist() if not space.continuous else []
        self._action_speed = space.actions[:, 1].tolist() if not space.continuous else []
        self._needs_restart = True

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        """Start an episode; with a ``seed`` (or the first time) from the initial start point.

        Returns:
            (observation (OBS_DIM,) float32, info with ``episode_status`` "prepare").
        """
        super().reset(seed=seed)
        if seed is not None or self._needs_restart:
            self.sim.restart()
            self._needs_restart = False
        else:
            self.sim.reset_car(0)
        return self.sim.obs[0].copy(), {"episode_status": "prepare", "progress": 0.0}

    def step(self, action) -> tuple[np.ndarray, float, bool, bool, dict]:
        """One DeepRacer step (1/15 s of simulated time).

        Raises:
            RewardFunctionError: the reward function failed or returned a bad value.
        """
        space = self.deepracer_action_space
        sm = self.sim
        if space.continuous:
            steer, speed = space.scale(np.asarray(action))
            sm.steer[0] = steer[0]
            sm.speed[0] = speed[0]
        else:
            a = int(action)
            sm.steer[0] = self._action_steer[a]
            sm.speed[0] = self._action_speed[a]
        sm.step(None, None, False)
        row = sm.rec[0].tolist()
        params = params_from_record(row, self.track)
        if row[sim.R_CALL_REWARD] > 0.5:
            # the reward function gets its own copy, as the simapp's deepcopy: it may change it
            reward = self.reward_caller(copy_params(params))
            called = True
        else:
            reward = 0.0
            called = False
        info = {
            "params": params,
            "episode_status": STATUS_CODES[int(row[sim.R_STATUS])],
            "progress": row[sim.R_PROGRESS],
            "lap_time": (row[sim.R_STEPS] - 1.0) * STEP_DT,
            "steps": row[sim.R_STEPS],
            "reward_called": called,
        }
        return sm.obs[0].copy(), reward, row[sim.R_DONE] > 0.5, row[sim.R_TRUNCATED] > 0.5, info

    def render(self):
        """Draw the car after the last ``step()``/``reset()`` (see ``render_mode``).

        Returns:
            "rgb_array": (H, W, 3) uint8 frame; "human": None; None mode: None with a warning.
        """
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; create the env with "
                            "render_mode='rgb_array' or 'human'")
            return None
        if self._viewer is None:
            from .viewer.envview import EnvRenderer

            self._viewer = EnvRenderer(self, self.render_mode)
        return self._viewer.render()

    def close(self) -> None:
        """Close the render window, if any."""
        if getattr(self, "_viewer", None) is not None:
            self._viewer.close()
            self._viewer = None

    @property
    def record(self) -> np.ndarray:
        """(NR,) float64 record of the last step (see :mod:`deepracer_sim.sim`)."""
        return self.sim.rec[0]
