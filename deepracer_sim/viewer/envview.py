"""``DeepRacerEnv(render_mode="human" | "rgb_array")``: what ``env.render()`` draws.

``render()`` reads the car from the env's simulator state after the last ``step()`` (or
``reset()``), so call it after each step you want to see (a step not rendered leaves a straight
piece in the trail). ``rgb_array`` returns an (H, W, 3) uint8 frame drawn offscreen: no window,
no display needed. ``human`` draws into a window at the env's ``render_fps`` (15: real time);
closing the window makes later ``render()`` calls do nothing.

The frame size is ``env.render_size`` if set, else 960 x 720. An env with a camera sensor shows
its last camera observation in the top-right corner.
"""

from __future__ import annotations

import math

import pygame

from deepracer_sim.reward import RewardCaller
from deepracer_sim.sim import layout
from deepracer_sim.viewer.camview import draw_camera_panel
from deepracer_sim.viewer.carview import CarView
from deepracer_sim.viewer.render import Renderer, action_space_max_speed, surface_to_array
from deepracer_sim.viewer.window import ViewerUnavailable, Window

DEFAULT_SIZE = (960, 720)


class RewardTap(RewardCaller):
    """A :class:`~deepracer_sim.reward.RewardCaller` that remembers its last result and the
    episode's sum, so the viewer shows them without calling the reward function again (and
    without missing the steps that were not rendered)."""

    def __init__(self, caller: RewardCaller) -> None:
        self.__dict__.update(caller.__dict__)
        self.last = math.nan
        self.episode = 0.0

    def __call__(self, params: dict) -> float:
        value = super().__call__(params)
        if params["steps"] <= 2.0:  # the first call of an episode (step 1 is PREPARE)
            self.episode = 0.0
        self.episode += value
        self.last = value
        return value


class EnvRenderer:
    """Renders one :class:`~deepracer_sim.env.DeepRacerEnv` (see the module docstring)."""

    def __init__(self, env, mode: str) -> None:
        self.env = env
        self.mode = mode
        self.renderer = Renderer(env.track, action_space_max_speed(env.deepracer_action_space))
        self.car = CarView()
        self.window: Window | None = None
        self.window_closed = False
        self._key: tuple[float, float] | None = None
        self._surface: pygame.Surface | None = None

    def sync(self) -> CarView:
        """Bring the car view up to the env's state (idempotent between steps)."""
        s = self.env.sim.s[0]
        key = (float(s[layout.S_CLOCK]), float(s[layout.S_STEPS]))
        if key != self._key:
            self._key = key
            pose = s[:5].tolist()
            if key[1] == 0.0:  # after reset(), before its PREPARE step
                self.car.start(pose)
            else:
                row = self.env.sim.rec[0].tolist()
                called = row[layout.R_CALL_REWARD] > 0.5
                tap = self.env.reward_caller
                reward = getattr(tap, "last", math.nan) if called else 0.0
                self.car.step(pose, row, reward)
                if called and isinstance(tap, RewardTap):
                    self.car.episode_reward = tap.episode
        return self.car

    def draw(self, surface: pygame.Surface) -> None:
        env = self.env
        space = env.deepracer_action_space
        kind = "continuous" if space.continuous else f"{len(space)} actions"
        self.renderer.draw(surface, self.sync(), title=f"DeepRacerEnv · {env.track.name}",
                           info=[f"{kind} · version {env.version:g} · "
                                 f"{'training' if env.training else 'evaluation'} mode"],
                           objects=env.sim.obj[0] if env.sim.objects is not None else None)
        sensors = getattr(env, "sensors", None)
        if sensors is not None and sensors.has_camera:
            draw_camera_panel(surface, sensors.last_frame(0))

    def render(self):
        size = tuple(getattr(self.env, "render_size", DEFAULT_SIZE))
        if self.mode == "rgb_array":
            if self._surface is None or self._surface.get_size() != size:
                self._surface = pygame.Surface(size)
            surface = self._surface
            self.draw(surface)
            return surface_to_array(surface)
        if self.window_closed:
            self.sync()
            return None
        if self.window is None:
            try:
                self.window = Window(f"DeepRacer · {self.env.track.name}", size)
            except ViewerUnavailable as exc:
                raise ViewerUnavailable(f"render_mode='human': {exc}; or use "
                                        "render_mode='rgb_array'") from None
        win = self.window
        for event in win.events():
            self.renderer.handle_event(event)
        if not win.open:
            self.close()
            self.window_closed = True
            return None
        self.draw(win.surface)
        win.present(self.env.metadata.get("render_fps", 15))
        return None

    def close(self) -> None:
        if self.window is not None:
            self.window.close()
            self.window = None
