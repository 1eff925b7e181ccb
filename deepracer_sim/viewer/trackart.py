"""The track as drawn: :class:`TrackArt` (its lines, numpy only) and the functions that draw
it onto a pygame Surface."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pygame

from deepracer_sim.viewer.style import (
    BORDER,
    BORDER_WIDTH,
    CENTRE_LINE,
    CENTRE_WIDTH,
    DASH_GAP,
    DASH_LENGTH,
    LABEL_SPACING_PX,
    ROAD,
    START_DARK,
    START_LIGHT,
    WAYPOINT,
    font,
)


class TrackArt:
    """The track's drawable lines, in metres.

    Args:
        track: a :class:`~deepracer_sim.track.Track` or an (N, 6) waypoint array
            (centre | inner | outer, the ``.npy`` layout).
        name: shown in the HUD (default: the track's name).
    """

    def __init__(self, track, name: str | None = None) -> None:
        wp = np.asarray(getattr(track, "waypoints", track), dtype=np.float64)
        self.name = name if name is not None else getattr(track, "name", "track")
        self.waypoints = wp
        self.centre = wp[:, 0:2]
        self.inner = wp[:, 2:4]
        self.outer = wp[:, 4:6]
        self.is_loop = bool(np.all(wp[0] == wp[-1]))
        pts = wp.reshape(-1, 2)
        lo = pts.min(axis=0)
        hi = pts.max(axis=0)
        #: (xmin, ymin, xmax, ymax) of all three lines, m.
        self.bounds = (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))
        seg = np.hypot(*np.diff(self.centre, axis=0).T)
        self.cum = np.concatenate([[0.0], np.cumsum(seg)])
        self.length = float(self.cum[-1])
        # the road as quads between consecutive rows (works for loops and open tracks)
        self.quads = np.stack([self.inner[:-1], self.inner[1:], self.outer[1:], self.outer[:-1]],
                              axis=1)
        self.dashes = self._dashes()
        self.start_squares = self._chequers(0)
        if not self.is_loop:
            self.start_squares += self._chequers(len(wp) - 1)

    def _dashes(self) -> np.ndarray:
        """(D, 4, 2) centre-line dashes, each sampled at 4 points."""
        period = DASH_LENGTH + DASH_GAP
        starts = np.arange(0.0, max(self.length - DASH_LENGTH, 0.0), period)
        if len(starts) == 0:
            return np.zeros((0, 4, 2))
        s = starts[:, None] + np.linspace(0.0, DASH_LENGTH, 4)[None, :]
        x = np.interp(s, self.cum, self.centre[:, 0])
        y = np.interp(s, self.cum, self.centre[:, 1])
        return np.stack([x, y], axis=-1)

    def _chequers(self, row: int) -> list[tuple[np.ndarray, tuple[int, int, int]]]:
        """A chequered start/finish band across the road at waypoint ``row``: 2 rows of 8."""
        inner = self.inner[row]
        outer = self.outer[row]
        n = len(self.centre)
        a = self.centre[min(row + 1, n - 1)] - self.centre[max(row - 1, 0)]
        if self.is_loop and row == 0:
            a = self.centre[1] - self.centre[-2]
        along = a / max(float(np.hypot(*a)), 1e-9)
        across = (outer - inner) / 8.0
        size = float(np.hypot(*across))
        squares = []
        for r in (0, 1):
            for k in range(8):
                p0 = inner + k * across + (r - 1) * size * along
                quad = np.array([p0, p0 + across, p0 + across + size * along, p0 + size * along])
                squares.append((quad, START_LIGHT if (k + r) % 2 == 0 else START_DARK))
        return squares



def draw_track(surface: pygame.Surface, art: TrackArt,
               to_px: Callable[[np.ndarray], np.ndarray], scale: float,
               show_waypoints: bool = False) -> None:
    """Draw the track: road, start/finish squares, dashed centre line, borders and (with
    ``show_waypoints``) the waypoint indices; ``to_px`` maps (..., 2) metres to pixels,
    ``scale`` pixels per metre."""
    for quad in to_px(art.quads).tolist():
        pygame.draw.polygon(surface, ROAD, quad)
    for quad, colour in art.start_squares:
        pygame.draw.polygon(surface, colour, to_px(quad).tolist())
    dash_w = max(1, round(CENTRE_WIDTH * scale))
    for dash in to_px(art.dashes).tolist():
        pygame.draw.lines(surface, CENTRE_LINE, False, dash, dash_w)
    border_w = max(2, round(BORDER_WIDTH * scale))
    for line in (art.inner, art.outer):
        pts = to_px(line).tolist()
        pygame.draw.lines(surface, BORDER, art.is_loop, pts, border_w)
        if border_w > 3:  # round the joints of thick lines
            r = border_w / 2.0
            for p in pts:
                pygame.draw.circle(surface, BORDER, p, r)
    if show_waypoints:
        draw_waypoints(surface, art, to_px, scale)

def draw_waypoints(surface: pygame.Surface, art: TrackArt,
                   to_px: Callable[[np.ndarray], np.ndarray], scale: float) -> None:
    """The centre points, every k-th labelled with its index outside the outer border
    (labels :data:`.style.LABEL_SPACING_PX` apart)."""
    n = len(art.centre) - (1 if art.is_loop else 0)
    spacing = art.length / max(n, 1) * scale
    every = max(1, math.ceil(LABEL_SPACING_PX / max(spacing, 1e-6)))
    pts = to_px(art.centre).tolist()
    # labels go outside the road, beyond the outer border
    normal = art.outer - art.centre
    norm = np.hypot(normal[:, 0], normal[:, 1])[:, None]
    label_at = to_px(art.outer + normal / np.maximum(norm, 1e-9) * 0.12).tolist()
    f = font(max(10, min(14, round(scale * 0.12))))
    for i in range(n):
        pygame.draw.circle(surface, WAYPOINT, pts[i], 2)
        if i % every == 0:
            text = f.render(str(i), True, WAYPOINT)
            rect = text.get_rect(center=(round(label_at[i][0]), round(label_at[i][1])))
            surface.blit(text, rect)
