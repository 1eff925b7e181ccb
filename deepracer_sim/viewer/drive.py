"""Drive the car yourself and watch what your reward function pays: offline reward prototyping
(``deepracer-sim drive``).

The arrow keys (or W A S D) choose the action, mapped onto the action space as a policy would
choose it: Left/Right steer to the space's largest angle (+ = left), nothing held steers
straight; Up holds the fastest speed, Down the slowest, neither the middle speed. A discrete
space takes the action nearest to that wish (steering and speed each scaled to their range); a
continuous one takes the wish itself. The car steps in real time (15 steps per simulated
second). The side panel shows the step's reward, the episode's total, a reward history, and
the full params dict the reward function was called with (values that changed since the
previous step are highlighted).

Keys: arrows/WASD drive, Space pause, N one step while paused, R or Enter restart, [ ] slower
/ faster, and the viewer's keys (F follow, T trail colour, W waypoints, zoom, F1 help). Esc, Q
or the window's close button quit.
"""

from __future__ import annotations

import io
import os
from collections import deque
from collections.abc import Container
from pathlib import Path

import numpy as np

from deepracer_sim.errors import RewardFunctionError

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame

from deepracer_sim.constants import STEP_DT
from deepracer_sim.sim.params import PARAM_KEYS
from deepracer_sim.viewer.carview import CarView
from deepracer_sim.viewer.render import Renderer, action_space_max_speed
from deepracer_sim.viewer.style import (
    BACKGROUND,
    CENTRE_LINE,
    HUD_DIM,
    HUD_TEXT,
    STATUS_COLOURS,
    font,
)
from deepracer_sim.viewer.window import MAX_FPS, Window

PANEL_WIDTH = 440
PANEL_BG = (20, 23, 30)
CHANGED = (255, 214, 90)
ERROR = (255, 110, 90)
#: Real seconds an ended episode stays on screen before the car restarts.
RESTART_AFTER = 2.0
#: Steps kept in the panel's reward history.
HISTORY = 150

LEFT_KEYS = (pygame.K_LEFT, pygame.K_a)
RIGHT_KEYS = (pygame.K_RIGHT, pygame.K_d)
UP_KEYS = (pygame.K_UP, pygame.K_w)
DOWN_KEYS = (pygame.K_DOWN, pygame.K_s)
DRIVE_KEYS = LEFT_KEYS + RIGHT_KEYS + UP_KEYS + DOWN_KEYS


def pressed_drive_keys() -> set[int]:
    """The driving keys held now (from pygame's keyboard state)."""
    state = pygame.key.get_pressed()
    return {k for k in DRIVE_KEYS if state[k]}


def format_value(value) -> str:
    """How the panel writes a params value."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list) and value and isinstance(value[0], tuple):
        return f"[{len(value)} points: ({value[0][0]:.2f}, {value[0][1]:.2f}), ...]"
    return str(value)


class DriveApp:
    """The drive loop's state: an env, the keys-to-action mapping, and the drawing.

    Args:
        env: a :class:`~deepracer_sim.env.DeepRacerEnv` (any render_mode; this draws itself).
        reward_name: shown in the panel.
    """

    def __init__(self, env, reward_name: str = "reward_function") -> None:
        self.env = env
        self.space = env.deepracer_action_space
        self.reward_name = reward_name
        self.renderer = Renderer(env.track, action_space_max_speed(self.space))
        self.paused = False
        self.speed = 1.0
        self.error: str | None = None
        self.reset()

    # --- keys to actions -------------------------------------------------------------------
    def wish(self, pressed: Container[int]) -> tuple[float, float]:
        """(steering deg, speed m/s) the held keys ask for (see the module docstring)."""
        space = self.space
        if space.continuous:
            (s_lo, s_hi), (v_lo, v_hi) = space.actions.tolist()
            speeds = [v_lo, (v_lo + v_hi) / 2.0, v_hi]
        else:
            s_lo, s_hi = float(space.steering.min()), float(space.steering.max())
            levels = sorted(set(space.speed.tolist()))
            speeds = [levels[0], levels[(len(levels) - 1) // 2], levels[-1]]
        left = any(k in pressed for k in LEFT_KEYS)
        right = any(k in pressed for k in RIGHT_KEYS)
        steer = s_hi if left and not right else s_lo if right and not left else \
            min(max(0.0, s_lo), s_hi)
        up = any(k in pressed for k in UP_KEYS)
        down = any(k in pressed for k in DOWN_KEYS)
        speed = speeds[2] if up and not down else speeds[0] if down and not up else speeds[1]
        return steer, speed

    def action_for(self, pressed: Container[int]):
        """The env action for the held keys: an index (discrete) or a (2,) array in [-1, 1]
        (continuous)."""
        steer, speed = self.wish(pressed)
        space = self.space
        if space.continuous:
            lo = space.actions[:, 0]
            hi = space.actions[:, 1]
            span = np.where(hi > lo, hi - lo, 1.0)
            a = 2.0 * (np.array([steer, speed]) - lo) / span - 1.0
            return np.clip(a, -1.0, 1.0).astype(np.float32)
        s_span = max(float(np.ptp(space.steering)), 1e-9)
        v_span = max(float(np.ptp(space.speed)), 1e-9)
        cost = ((space.steering - steer) / s_span) ** 2 + ((space.speed - speed) / v_span) ** 2
        return int(np.argmin(cost))

    # --- stepping --------------------------------------------------------------------------
    def reset(self) -> None:
        self.env.reset()
        self.car = CarView()
        self.car.start(self.env.sim.s[0, :5].tolist())
        self.params: dict | None = None
        self.prev_params: dict | None = None
        self.reward: float | None = None
        self.reward_called = False
        self.history: deque[float] = deque(maxlen=HISTORY)
        self.done = False
        self.done_for = 0.0
        self.action = None
        self.clock = 0.0
        self.error = None

    def step(self, pressed: Container[int] = ()) -> None:
        """One env step with the action of the held keys."""
        if self.done or self.error:
            return
        action = self.action_for(pressed)
        try:
            _, reward, terminated, truncated, info = self.env.step(action)
        except RewardFunctionError as exc:
            self.error = str(exc)
            self.paused = True
            return
        self.action = action
        self.prev_params = self.params
        self.params = info["params"]
        self.reward = float(reward)
        self.reward_called = bool(info["reward_called"])
        if self.reward_called:
            self.history.append(self.reward)
        self.car.step(self.env.sim.s[0, :5].tolist(), self.env.sim.rec[0].tolist(), reward)
        if terminated or truncated:
            self.done = True
            self.done_for = 0.0

    def update(self, dt: float, pressed: Container[int] = ()) -> int:
        """Advance ``dt`` real seconds: the steps that fit in real time (times ``speed``).
        Returns the number of steps taken."""
        if self.done:
            self.done_for += dt
            if self.done_for >= RESTART_AFTER:
                self.reset()
            return 0
        if self.paused:
            return 0
        self.clock += min(dt, 0.25) * self.speed
        steps = 0
        while self.clock >= STEP_DT and not self.done and not self.error:
            self.clock -= STEP_DT
            self.step(pressed)
            steps += 1
        return steps

    def handle_event(self, event: pygame.event.Event, pressed: Container[int] = ()) -> None:
        if event.type == pygame.KEYDOWN:
            if event.key == pygame.K_SPACE:
                self.paused = not self.paused
            elif event.key == pygame.K_n and self.paused:
                self.step(pressed)
            elif event.key in (pygame.K_r, pygame.K_RETURN):
                self.reset()
            elif event.key == pygame.K_RIGHTBRACKET:
                self.speed = min(self.speed * 2.0, 8.0)
            elif event.key == pygame.K_LEFTBRACKET:
                self.speed = max(self.speed / 2.0, 0.125)
            elif event.key == pygame.K_w:
                return  # W drives (up); waypoint labels: use the panel's hint key V
            elif event.key == pygame.K_v:
                self.renderer.show_waypoints = not self.renderer.show_waypoints
                return
        self.renderer.handle_event(event)

    # --- drawing ---------------------------------------------------------------------------
    def panel_lines(self) -> list[tuple[str, str, bool]]:
        """The params rows of the panel: (key, value text, changed since the last step)."""
        if self.params is None:
            return [(key, "-", False) for key in PARAM_KEYS]
        prev = self.prev_params or {}
        return [(key, format_value(self.params[key]),
                 key in prev and prev[key] != self.params[key]) for key in PARAM_KEYS]

    def draw(self, surface: pygame.Surface) -> None:
        """The track view (left) and the panel (right) onto ``surface``."""
        width, height = surface.get_size()
        panel_w = min(PANEL_WIDTH, width // 2)
        view = surface.subsurface((0, 0, width - panel_w, height))
        state = "paused (Space)" if self.paused else f"{self.speed:g}x real time"
        self.renderer.draw(view, self.car, title=f"drive · {self.env.track.name}",
                           info=[state])
        self._draw_panel(surface.subsurface((width - panel_w, 0, panel_w, height)))

    def _draw_panel(self, panel: pygame.Surface) -> None:
        panel.fill(PANEL_BG)
        w, h = panel.get_size()
        big = font(26)
        f = font(14)
        small = font(12)
        x = 16
        y = 12
        panel.blit(small.render(f"reward_function: {self.reward_name}", True, HUD_DIM), (x, y))
        y += small.get_linesize() + 6
        if self.reward is None:
            text = "-"
        elif not self.reward_called:
            text = "prepare (not called)"
        else:
            text = f"{self.reward:.4f}"
        panel.blit(big.render(text, True, HUD_TEXT), (x, y))
        y += big.get_linesize()
        panel.blit(f.render(f"episode {self.car.episode_reward:.3f}   step {self.car.steps}",
                            True, HUD_DIM), (x, y))
        y += f.get_linesize() + 4
        y = self._draw_history(panel, x, y, w - 2 * x, 44) + 8
        if self.action is not None:
            steer, speed = self.space.scale(np.atleast_1d(self.action))
            name = f"#{self.action}" if not self.space.continuous else \
                f"[{self.action[0]:+.2f}, {self.action[1]:+.2f}]"
            text = f"action {name}: {float(steer[0]):+.1f}°  {float(speed[0]):.2f} m/s"
            panel.blit(f.render(text, True, HUD_TEXT), (x, y))
        y += f.get_linesize()
        status = self.car.status if self.params is not None else "prepare"
        colour = STATUS_COLOURS.get(status, HUD_TEXT)
        line = status + (f" - restarting in {max(RESTART_AFTER - self.done_for, 0):.0f} s"
                         if self.done else "")
        panel.blit(f.render(line, True, colour), (x, y))
        y += f.get_linesize() + 8
        pygame.draw.line(panel, (60, 66, 80), (x, y), (w - x, y))
        y += 8
        key_w = max(small.size(k)[0] for k in PARAM_KEYS) + 12
        for key, value, changed in self.panel_lines():
            panel.blit(small.render(key, True, HUD_DIM), (x, y))
            room = w - x - key_w - x
            text = value
            while small.size(text)[0] > room and len(text) > 4:
                text = text[:-5] + "..."
            panel.blit(small.render(text, True, CHANGED if changed else HUD_TEXT),
                       (x + key_w, y))
            y += small.get_linesize()
        if self.error:
            y += 6
            for part in self.error.splitlines()[:6]:
                while part:
                    cut = len(part)
                    while small.size(part[:cut])[0] > w - 2 * x and cut > 10:
                        cut -= 10
                    panel.blit(small.render(part[:cut], True, ERROR), (x, y))
                    y += small.get_linesize()
                    part = part[cut:]
            panel.blit(small.render("R restarts", True, ERROR), (x, y))
        hints = ("arrows/WASD drive · Space pause · N step", "R restart · [ ] speed · V waypoints"
                 " · Esc quit")
        yb = h - 8 - len(hints) * small.get_linesize()
        for hint in hints:
            panel.blit(small.render(hint, True, HUD_DIM), (x, yb))
            yb += small.get_linesize()

    def _draw_history(self, panel: pygame.Surface, x: int, y: int, w: int, h: int) -> int:
        """The reward history as bars (the last HISTORY reward calls); returns the bottom y."""
        pygame.draw.rect(panel, (30, 34, 44), (x, y, w, h))
        vals = list(self.history)
        if vals:
            lo = min(0.0, min(vals))
            hi = max(vals)
            span = hi - lo if hi > lo else 1.0
            bw = w / HISTORY
            zero = y + h - (0.0 - lo) / span * h
            for k, v in enumerate(vals):
                top = y + h - (v - lo) / span * h
                bx = x + k * bw
                pygame.draw.rect(panel, CENTRE_LINE, (bx, min(top, zero), max(bw - 1, 1),
                                                      max(abs(zero - top), 1)))
        return y + h


def run_app(app: DriveApp, window: Window, frames: int | None = None) -> None:
    """The interactive loop: until the window closes (or ``frames`` frames were shown)."""
    shown = 0
    dt = 0.0
    while window.open and (frames is None or shown < frames):
        pressed = pressed_drive_keys()
        for event in window.events():
            app.handle_event(event, pressed)
        if not window.open:
            break
        app.update(dt, pressed)
        window.surface.fill(BACKGROUND)
        app.draw(window.surface)
        dt = window.present(MAX_FPS)
        shown += 1


def save_screenshot(window: Window, path: str | os.PathLike) -> None:
    """Save the window's last frame as a PNG (when the display is still open); the file is
    written by Python, so a full disk or a read-only folder is an ``OSError``."""
    if pygame.display.get_init():
        data = io.BytesIO()
        pygame.image.save(window.surface, data, "screenshot.png")
        Path(path).write_bytes(data.getvalue())
