"""The world-to-screen transform of the viewer (metres, y up, to pixels, y down)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


class Camera:
    """World (m, y up) to screen (pixels, y down) for a view of ``width`` x ``height`` pixels.

    ``screen = (width / 2 + (x - cx) * scale, height / 2 - (y - cy) * scale)``: ``scale`` pixels
    per metre with the world point (cx, cy) at the view's centre.

    Modes: ``"fit"`` (the whole track, refitted on resize), ``"follow"`` (centred on the car
    at ``follow_scale``), ``"free"`` (after the user pans).

    ``avoid`` (width, height): a box in the top-left corner (the HUD) that the fitted track
    keeps clear of, by fitting it to the right of or below the box, when that costs at most a
    fifth of the scale.
    """

    def __init__(self, bounds: Sequence[float], width: int, height: int,
                 margin: int = 16, avoid: tuple[int, int] | None = None) -> None:
        self.bounds = tuple(float(b) for b in bounds)
        self.width = int(width)
        self.height = int(height)
        self.margin = margin
        self.avoid = avoid
        self.mode = "fit"
        self.scale = 1.0
        self.cx = 0.0
        self.cy = 0.0
        self.follow_scale: float | None = None
        self.fit()

    def fit_scale(self, left: float = 0.0, top: float = 0.0) -> float:
        """Pixels per metre that fit the track into the view right of ``left``, below ``top``."""
        x0, y0, x1, y1 = self.bounds
        w = max(self.width - left - 2 * self.margin, 1)
        h = max(self.height - top - 2 * self.margin, 1)
        return min(w / max(x1 - x0, 1e-6), h / max(y1 - y0, 1e-6))

    def fit(self) -> None:
        """Show the whole track (clear of ``avoid`` if that costs little)."""
        x0, y0, x1, y1 = self.bounds
        self.mode = "fit"
        left = top = 0.0
        scale = self.fit_scale()
        if self.avoid is not None:
            aw, ah = self.avoid
            right, below = self.fit_scale(left=aw), self.fit_scale(top=ah)
            if max(right, below) >= 0.8 * scale:
                left, top = (aw, 0.0) if right >= below else (0.0, ah)
                scale = max(right, below)
        self.scale = scale
        # the track's centre goes to the centre of the area it is fitted into
        self.cx = 0.5 * (x0 + x1) - 0.5 * left / scale
        self.cy = 0.5 * (y0 + y1) + 0.5 * top / scale

    def follow(self, x: float | None = None, y: float | None = None) -> None:
        """Follow the car: centre on (x, y) at the follow zoom (about 4 m across)."""
        if self.follow_scale is None:
            self.follow_scale = max(min(self.width, self.height) / 4.0, self.fit_scale())
        self.mode = "follow"
        self.scale = self.follow_scale
        if x is not None and y is not None:
            self.cx, self.cy = float(x), float(y)

    def resize(self, width: int, height: int) -> None:
        self.width, self.height = int(width), int(height)
        if self.mode == "fit":
            self.fit()

    def zoom(self, factor: float, at: tuple[float, float] | None = None) -> None:
        """Zoom by ``factor`` keeping the screen point ``at`` (default the centre) fixed."""
        new = min(max(self.scale * factor, 2.0), 5000.0)
        if at is not None and self.mode != "follow":
            wx, wy = self.screen_to_world(*at)
            self.scale = new
            sx, sy = self.world_to_screen(wx, wy)
            self.cx += (sx - at[0]) / new
            self.cy -= (sy - at[1]) / new
        else:
            self.scale = new
        if self.mode == "follow":
            self.follow_scale = new
        elif self.mode == "fit":
            self.mode = "free"

    def pan(self, dx: float, dy: float) -> None:
        """Move the view by (dx, dy) pixels (drag)."""
        self.cx -= dx / self.scale
        self.cy += dy / self.scale
        self.mode = "free"

    def world_to_screen(self, x, y):
        """Screen pixel coordinates (floats; arrays in, arrays out) of world points."""
        return (self.width / 2.0 + (np.asarray(x) - self.cx) * self.scale,
                self.height / 2.0 - (np.asarray(y) - self.cy) * self.scale)

    def screen_to_world(self, sx, sy):
        return (self.cx + (np.asarray(sx) - self.width / 2.0) / self.scale,
                self.cy - (np.asarray(sy) - self.height / 2.0) / self.scale)

    def pixel(self, x: float, y: float) -> tuple[int, int]:
        """The integer pixel (column, row) a world point falls in."""
        sx, sy = self.world_to_screen(x, y)
        return math.floor(float(sx)), math.floor(float(sy))
