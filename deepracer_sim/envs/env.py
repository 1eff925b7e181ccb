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

from typing import Any

import gymnasium as gym
import numpy as np

from deepracer_sim.constants import ROUND_ROBIN_ADVANCE
from deepracer_sim.envs.sensors import FEATURES, DomainRandomizationLike
from deepracer_sim.envs.setup import (
    ActionSpaceLike,
    RewardLike,
    TrackLike,
    build_setup,
    episode_info,
)
from deepracer_sim.sim import layout
from deepracer_sim.sim.params import copy_params, params_from_record
from deepracer_sim.sim.world import ObjectsConfig
from deepracer_sim.track import DEFAULT_TRACK


class DeepRacerEnv(gym.Env[Any, "int | np.ndarray"]):
    """A Gymnasium environment of one DeepRacer car (see the module docstring).

    Args:
        track: a track name, a ``.npy`` path, or a :class:`~deepracer_sim.track.Track`.
        reward_function: a reward file path, a callable ``f(params) -> float``, or None for the
            built-in centre-line reward (the same as ``rewards/center.py``).
        action_space: an :class:`~deepracer_sim.action_space.ActionSpace`, a
            ``model_metadata.json`` path or dict, or None (DeepRacer-on-AWS's default 10 actions).
        version: the ``model_metadata.json`` version; None takes the metadata's, else 6.
        physics: the simulator generation whose car drives: ``"v4"`` (the ROS1 car of versions
            3-4), ``"v5"`` (the ROS1 car of simapp 5.x, the 2022-2025 console league) or
            ``"v6"`` (the ROS 2 car of simapp 6.x / DeepRacer-on-AWS); None follows
            ``version``: < 5 v4, 5.x v5, >= 6 v6 (:mod:`deepracer_sim.sim.car`).
        training: training mode (round robin start, alternate direction) or evaluation mode.
        round_robin_advance: start-point advance per training episode, fraction of a lap.
        alternate_direction: flip the driving direction after every training episode.
        reverse_direction: drive against the track's row order (params ``is_reversed``).
        start_position: the first episode's start point, fraction of a lap from waypoint 0.
        max_steps: step cap per episode (truncation); None: the steps of a lap at 0.1 m/s.
        render_mode: None, "rgb_array" (``render()`` returns an (H, W, 3) uint8 frame drawn
            offscreen, no window) or "human" (``render()`` draws into a window at
            ``render_fps``); call ``render()`` after each ``step()`` you want drawn. See
            :mod:`deepracer_sim.viewer.envview`. With a camera sensor the frame shows the camera
            image beside the track.
        sensor: what the policy sees (:mod:`deepracer_sim.envs.sensors`): ``"FEATURES"`` (the
            default), ``"FRONT_FACING_CAMERA"`` or ``"FEATURES+FRONT_FACING_CAMERA"``.
        domain_randomization: camera randomisation, drawn at every episode start: None (on
            when ``training``, off for evaluation), a bool, or a
            :class:`~deepracer_sim.sim.camera.DomainRandomization`.
        camera_seed: seed of the randomisation (``reset(seed=...)`` reseeds it).

    Observation: ``FEATURES``: ``Box(OBS_DIM,)`` float32, see :mod:`deepracer_sim.observation`;
    ``FRONT_FACING_CAMERA``: ``Box(0, 255, (120, 160, 1), uint8)`` (valid until the second
    next step; copy it to keep it); both: a ``Dict`` with those two keys.
    Action: ``Discrete(K)`` for a discrete space, ``Box(-1, 1, (2,))`` for a continuous one.
    Info: ``params`` (the step's params; the reward function got its own copy),
    ``episode_status`` (a sim-trace status code), ``progress`` (%), ``lap_time`` (simulated s
    since the PREPARE step), ``steps`` and ``reward_called``.

    Raises:
        TrackError, ActionSpaceError, RewardFunctionError: bad track, action space, reward file.
    """

    metadata = {"render_modes": ["human", "rgb_array"], "render_fps": 15}  # noqa: RUF012

    def __init__(self, track: TrackLike = DEFAULT_TRACK, reward_function: RewardLike = None,
                 action_space: ActionSpaceLike = None, version: float | None = None,
                 physics: str | None = None, training: bool = True,
                 round_robin_advance: float = ROUND_ROBIN_ADVANCE,
                 alternate_direction: bool = False, reverse_direction: bool = False,
                 start_position: float = 0.0, max_steps: int | None = None,
                 render_mode: str | None = None, sensor: str = FEATURES,
                 domain_randomization: DomainRandomizationLike = None,
                 camera_seed: int = 0, objects: ObjectsConfig | None = None) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode={render_mode!r}: use None, 'human' or 'rgb_array'")
        setup = build_setup(1, track=track, reward_function=reward_function,
                            action_space=action_space, version=version, physics=physics,
                            training=training,
                            round_robin_advance=round_robin_advance,
                            alternate_direction=alternate_direction,
                            reverse_direction=reverse_direction, start_position=start_position,
                            max_steps=max_steps, sensor=sensor,
                            domain_randomization=domain_randomization, camera_seed=camera_seed,
                            objects=objects)
        self.render_mode = render_mode
        self._viewer: Any = None  # the EnvRenderer, made by the first render()
        self.track = setup.track
        self.reward_caller = setup.reward_caller
        if render_mode is not None:  # the viewer shows each step's reward
            # pygame (through the viewer) loads only for an env that renders
            from deepracer_sim.viewer.envview import RewardTap

            self.reward_caller = RewardTap(self.reward_caller)
        self.deepracer_action_space = setup.action_space
        self.version = setup.version
        self.physics = setup.physics
        self.training = training
        self.max_steps = setup.max_steps
        self.sim = setup.sim
        self.objects = setup.sim.objects
        self.sensors = setup.sensors
        self.sensor = sensor
        self.observation_space = setup.single_observation_space
        self.action_space = setup.single_action_space
        space = self.deepracer_action_space
        # discrete actions as plain Python lists: the per-step lookup avoids numpy scalars
        self._action_steer = space.actions[:, 0].tolist() if not space.continuous else []
        self._action_speed = space.actions[:, 1].tolist() if not space.continuous else []
        self._needs_restart = True

    def reset(self, *, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        """Start an episode; with a ``seed`` (or the first time) from the initial start point
        (a ``seed`` also reseeds the camera's randomisation).

        Returns:
            (observation, info with ``episode_status`` "prepare").
        """
        super().reset(seed=seed)
        if seed is not None or self._needs_restart:
            self.sim.restart()
            self._needs_restart = False
        else:
            self.sim.reset_car(0)
        if seed is not None:
            self.sensors.seed(seed)
        else:
            self.sensors.new_episodes([0])
        return self._observation(), {"episode_status": "prepare", "progress": 0.0}

    def _observation(self) -> Any:
        if not self.sensors.has_camera:
            return self.sim.obs[0].copy()
        return self.sensors.single(self.sensors.observe(), 0)

    def step(self, action) -> tuple[Any, float, bool, bool, dict]:
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
        params = params_from_record(row, self.track,
                                    sm.oparams[0].tolist() if self.objects else None)
        if row[layout.R_CALL_REWARD] > 0.5:
            # the reward function gets its own copy, as the simapp's deepcopy: it may change it
            reward = self.reward_caller(copy_params(params))
            called = True
        else:
            reward = 0.0
            called = False
        info = episode_info(row)
        info["params"] = params
        info["reward_called"] = called
        terminated = row[layout.R_DONE] > 0.5
        return self._observation(), reward, terminated, row[layout.R_TRUNCATED] > 0.5, info

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
            # pygame (through the viewer) loads only for an env that renders
            from deepracer_sim.viewer.envview import EnvRenderer

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
