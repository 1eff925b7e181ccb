"""Drawing a DeepRacer scene with pygame: track, cars, trail and HUD, to any pygame Surface.

Nothing here opens a window: :class:`Renderer` draws onto a Surface the caller owns (the
window's, or an offscreen ``pygame.Surface`` for ``rgb_array`` frames and videos), so the same
code serves the live windows, the recorder and the tests.

* :class:`~deepracer_sim.viewer.trackart.TrackArt` - the track's lines (numpy only), from a
  :class:`~deepracer_sim.track.Track` or a raw (N, 6) waypoint array: road, inner and outer
  border, dashed centre line, start/finish line, waypoint labels (:mod:`.trackart`).
* :class:`~deepracer_sim.viewer.camera.Camera` - the world-to-screen transform (metres to
  pixels, y up): fit the whole track, follow the car, zoom, pan (:mod:`.camera`).
* :class:`~deepracer_sim.viewer.carview.CarView` - what is shown of one car: its pose, its last
  step record (``kernel.R_*`` columns), the step and episode reward, the best lap and the trail
  (:mod:`.carview`).
* the HUD and the key help (:mod:`.hud`); the palette and sizes (:mod:`.style`).
* :class:`Renderer` - draws all of it; :meth:`Renderer.handle_event` implements the keys and
  mouse controls every viewer shares (:data:`.hud.HELP`, :data:`KEY_ACTIONS`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pygame

from deepracer_sim.constants import MAX_SPEED
from deepracer_sim.viewer.camera import Camera
from deepracer_sim.viewer.carview import CarView, draw_car, draw_objects, draw_trail
from deepracer_sim.viewer.hud import draw_help, draw_hud, hud_box
from deepracer_sim.viewer.style import BACKGROUND
from deepracer_sim.viewer.trackart import TrackArt, draw_track


def action_space_max_speed(space) -> float:
    """The highest speed an action space commands, m/s (the top of the trail colours)."""
    if space is None:
        return MAX_SPEED
    if space.continuous:
        return float(space.actions[1, 1])
    return float(np.max(space.speed))


class Renderer:
    """Draws the scene onto a pygame Surface (see the module docstring).

    Args:
        track: a Track or an (N, 6) waypoint array (or a :class:`TrackArt`).
        max_speed: the speed at the top of the trail's colour ramp, m/s (the action space's
            highest speed).
        follow: start following the car (else show the whole track).
    """

    def __init__(self, track, max_speed: float = MAX_SPEED, follow: bool = False) -> None:
        self.art = track if isinstance(track, TrackArt) else TrackArt(track)
        self.max_speed = float(max_speed) if max_speed and max_speed > 0 else MAX_SPEED
        self.camera: Camera | None = None
        self.follow = follow
        self.trail_mode = "speed"
        self.show_waypoints = False
        self.show_hud = True
        self.show_help = False
        self._layer: tuple[tuple, pygame.Surface, float, float] | None = None
        self._drag: tuple[int, int] | None = None

    # --- controls --------------------------------------------------------------------------
    def handle_event(self, event: pygame.event.Event) -> str | None:
        """Apply a key (:data:`KEY_ACTIONS`) or mouse event; returns the action name it
        triggered (or None).

        "next_car" is returned for Tab (the caller decides what the next car is).
        """
        if event.type == pygame.KEYDOWN:
            return self.press(event.key)
        cam = self.camera
        if event.type == pygame.MOUSEWHEEL and cam is not None:
            at = pygame.mouse.get_pos() if pygame.display.get_init() else None
            cam.zoom(1.15 ** event.y, at)
            return "zoom"
        if event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            self._drag = event.pos
        elif event.type == pygame.MOUSEBUTTONUP and event.button == 1:
            self._drag = None
        elif event.type == pygame.MOUSEMOTION and self._drag is not None and cam is not None:
            dx = event.pos[0] - self._drag[0]
            dy = event.pos[1] - self._drag[1]
            self._drag = event.pos
            if dx or dy:
                self.follow = False
                cam.pan(dx, dy)
                return "pan"
        return None

    def press(self, key: int) -> str | None:
        """Apply a key (:data:`KEY_ACTIONS`); returns the action name, or None (another key,
        or a camera key before the first frame)."""
        entry = KEY_ACTIONS.get(key)
        if entry is None or (entry[2] and self.camera is None):
            return None
        name, action, _ = entry
        action(self)
        return name

    def toggle_follow(self) -> None:
        self.follow = not self.follow
        if self.camera is not None and not self.follow:
            self.camera.fit()

    def toggle_trail(self) -> None:
        self.trail_mode = "reward" if self.trail_mode == "speed" else "speed"

    def toggle_waypoints(self) -> None:
        self.show_waypoints = not self.show_waypoints

    def toggle_hud(self) -> None:
        self.show_hud = not self.show_hud

    def toggle_help(self) -> None:
        self.show_help = not self.show_help

    def zoom_in(self) -> None:
        if self.camera is not None:
            self.camera.zoom(1.25)

    def zoom_out(self) -> None:
        if self.camera is not None:
            self.camera.zoom(0.8)

    def fit(self) -> None:
        """Show the whole track (and stop following the car)."""
        self.follow = False
        if self.camera is not None:
            self.camera.fit()

    def next_car(self) -> None:
        """Nothing here: the caller picks the next car when Tab returns "next_car"."""

    # --- drawing ---------------------------------------------------------------------------
    def prepare_camera(self, width: int, height: int, car: CarView | None = None) -> Camera:
        """The camera for a view of this size, following ``car`` when in follow mode."""
        if self.camera is None:
            self.camera = Camera(self.art.bounds, width, height)
        cam = self.camera
        avoid = hud_box(height) if self.show_hud else None
        if (cam.width, cam.height) != (width, height) or cam.avoid != avoid:
            cam.avoid = avoid
            cam.resize(width, height)
        if self.follow and car is not None and car.pose is not None:
            cam.follow(car.pose[0], car.pose[1])
        elif self.follow:
            cam.follow()
        elif cam.mode == "follow":
            cam.fit()
        return cam

    def draw(self, surface: pygame.Surface, car: CarView | None = None,
             others: Iterable[Sequence[float]] = (), title: str = "",
             info: Sequence[str] = (), best_lap: float = math.inf,
             objects: np.ndarray | None = None) -> Camera:
        """Draw the whole scene onto ``surface`` (the view is the whole surface).

        Args:
            car: the car in focus (trail and HUD), or None.
            others: poses ``(x, y, yaw[, speed, steering])`` of other cars, drawn dimmed.
            title: the HUD's first line; info: more lines under it.
            best_lap: best lap known to the caller (e.g. of all training cars), s.
            objects: the focused car's boxes and bot cars (M, NO) (``Simulator.obj[i]``).

        Returns:
            the camera used (its transform maps world points to this surface's pixels).
        """
        width, height = surface.get_size()
        cam = self.prepare_camera(width, height, car)
        surface.fill(BACKGROUND)
        self._blit_track(surface, cam)
        if objects is not None:
            draw_objects(surface, cam, objects)
        for pose in others:
            draw_car(surface, cam, pose, ghost=True)
        if car is not None and car.pose is not None:
            draw_trail(surface, cam, car, *self.trail_values(car))
            draw_car(surface, cam, car.pose)
        if self.show_hud:
            trail_range = self.trail_values(car)[1:] if car is not None else (0.0, self.max_speed)
            draw_hud(surface, car, title, info, best_lap, self.trail_mode, trail_range)
        if self.show_help:
            draw_help(surface)
        return cam

    def _blit_track(self, surface: pygame.Surface, cam: Camera) -> None:
        """The static track, drawn once per zoom level into a cached layer, then blitted."""
        x0, y0, x1, y1 = self.art.bounds
        pad = 0.5  # m around the track (the labels may stick out)
        w = (x1 - x0 + 2 * pad) * cam.scale
        h = (y1 - y0 + 2 * pad) * cam.scale
        if w * h > 36e6 or w > 16000 or h > 16000:
            # too large to cache (deep zoom): draw straight onto the view
            draw_track(surface, self.art, lambda p: np.column_stack(cam.world_to_screen(
                p[..., 0], p[..., 1])), cam.scale, self.show_waypoints)
            return
        key = (cam.scale, self.show_waypoints)
        if self._layer is None or self._layer[0] != key:
            layer = pygame.Surface((math.ceil(w), math.ceil(h)))
            layer.fill(BACKGROUND)
            ox, oy, s = x0 - pad, y1 + pad, cam.scale
            draw_track(layer, self.art, lambda p: np.stack([(p[..., 0] - ox) * s,
                                                            (oy - p[..., 1]) * s], axis=-1),
                       s, self.show_waypoints)
            self._layer = (key, layer, ox, oy)
        _, layer, ox, oy = self._layer
        sx, sy = cam.world_to_screen(ox, oy)
        surface.blit(layer, (round(float(sx)), round(float(sy))))


    def trail_values(self, car: CarView) -> tuple[np.ndarray, float, float]:
        """(values (P,), low, high) of the trail points in the current colour mode."""
        col = 2 if self.trail_mode == "speed" else 3
        vals = np.fromiter((p[col] for p in car.trail), float, len(car.trail))
        if self.trail_mode == "speed":
            return vals, 0.0, self.max_speed
        if len(vals) == 0:
            return vals, 0.0, 1.0
        return vals, float(vals.min()), float(vals.max())



#: Key -> (the action name :meth:`Renderer.handle_event` returns, the method it calls, whether
#: it needs the camera, i.e. a frame drawn); the keys of :data:`.hud.HELP`.
KEY_ACTIONS: dict[int, tuple[str, Callable[[Renderer], None], bool]] = {
    pygame.K_f: ("follow", Renderer.toggle_follow, False),
    pygame.K_t: ("trail", Renderer.toggle_trail, False),
    pygame.K_w: ("waypoints", Renderer.toggle_waypoints, False),
    pygame.K_h: ("hud", Renderer.toggle_hud, False),
    pygame.K_F1: ("help", Renderer.toggle_help, False),
    pygame.K_QUESTION: ("help", Renderer.toggle_help, False),
    pygame.K_SLASH: ("help", Renderer.toggle_help, False),
    pygame.K_PLUS: ("zoom", Renderer.zoom_in, True),
    pygame.K_EQUALS: ("zoom", Renderer.zoom_in, True),
    pygame.K_KP_PLUS: ("zoom", Renderer.zoom_in, True),
    pygame.K_MINUS: ("zoom", Renderer.zoom_out, True),
    pygame.K_KP_MINUS: ("zoom", Renderer.zoom_out, True),
    pygame.K_0: ("fit", Renderer.fit, True),
    pygame.K_HOME: ("fit", Renderer.fit, True),
    pygame.K_TAB: ("next_car", Renderer.next_car, False),
}


def surface_to_array(surface: pygame.Surface) -> np.ndarray:
    """(H, W, 3) uint8 copy of a surface's pixels."""
    w, h = surface.get_size()
    data = bytearray(pygame.image.tobytes(surface, "RGB"))
    return np.frombuffer(data, dtype=np.uint8).reshape(h, w, 3)


def render_frame(renderer: Renderer, size: tuple[int, int], car: CarView | None = None,
                 **kwargs) -> np.ndarray:
    """Draw offscreen (no window, no display needed) and return an (H, W, 3) uint8 frame."""
    surface = pygame.Surface(size)
    renderer.draw(surface, car, **kwargs)
    return surface_to_array(surface)
