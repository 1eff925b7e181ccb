"""The viewer's head-up display: the values of the car in focus (:func:`hud_lines`), the trail
legend and the key help (:data:`HELP`)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pygame

from deepracer_sim.sim import layout
from deepracer_sim.viewer.carview import CarView
from deepracer_sim.viewer.style import (
    CENTRE_LINE,
    HUD_BG,
    HUD_DIM,
    HUD_TEXT,
    STATUS_COLOURS,
    font,
    ramp_bar,
)

#: The keys and mouse controls every viewer shares (F1 in a window shows them).
HELP = (
    ("F", "follow the car / whole track"),
    ("T", "trail colour: speed / reward"),
    ("W", "waypoint indices"),
    ("wheel + -", "zoom"),
    ("drag", "pan"),
    ("0", "show the whole track"),
    ("Tab", "next car"),
    ("H", "hide the HUD"),
    ("F1 ?", "this help"),
)


def hud_lines(car: CarView | None, best_lap: float = math.inf) -> list[tuple[str, str]]:
    """The HUD's (label, value) rows for a car (the values are what the tests read)."""
    if car is None or car.pose is None:
        return [("status", "waiting for the first step")]
    row = car.row
    speed_cmd = f"  (action {row[layout.R_SPEED]:.2f})" if row is not None else ""
    steer_cmd = f"  (action {row[layout.R_STEER]:+.1f}°)" if row is not None else ""
    best = min(best_lap, car.best_lap)
    return [
        ("step", f"{car.steps}"),
        ("speed", f"{car.pose[3]:.2f} m/s{speed_cmd}"),
        ("steering", f"{math.degrees(car.pose[4]):+.1f}°{steer_cmd}"),
        ("reward", f"{car.reward:.3f}"),
        ("episode", f"{car.episode_reward:.2f}"),
        ("progress", f"{car.progress:.1f} %"),
        ("lap time", f"{car.lap_time:.2f} s"),
        ("status", car.status),
        ("best lap", f"{best:.2f} s" if math.isfinite(best) else "-"),
    ]


def hud_fonts(height: int) -> tuple[int, pygame.font.Font, pygame.font.Font]:
    """(size, font, small font) of the HUD of a view ``height`` pixels high."""
    size = int(min(max(round(height / 46), 11), 18))
    return size, font(size), font(max(10, size - 3))


def hud_box(height: int) -> tuple[int, int]:
    """The HUD's corner (width, height) in pixels for a view ``height`` pixels high, from
    fixed templates (so that the fitted camera does not move as values change)."""
    size, f, small = hud_fonts(height)
    label_w = f.size("best lap")[0] + size
    value_w = f.size("+30.0°  (action +30.0°)")[0]
    w = max(label_w + value_w, 16 * size) + 2 * size
    h = 2 * small.get_linesize() + 9 * f.get_linesize() + f.get_linesize() + 10 + size + 6
    return w + 8, h + 8


def draw_hud(surface: pygame.Surface, car: CarView | None, title: str, info: Sequence[str],
             best_lap: float, trail_mode: str, trail_range: tuple[float, float]) -> None:
    """The HUD panel in the top-left corner: ``title`` and ``info`` lines, :func:`hud_lines`
    and the trail legend (``trail_mode`` "speed" or "reward", its (low, high) range)."""
    height = surface.get_height()
    size, f, small = hud_fonts(height)
    rows = hud_lines(car, best_lap)
    line_h = f.get_linesize()
    label_w = f.size("best lap")[0] + size
    value_w = max(f.size(value)[0] for _, value in rows)
    head = [t for t in (title, *info) if t]
    head_w = max((small.size(t)[0] for t in head), default=0)
    legend_h = line_h + 10
    w = max(label_w + value_w, head_w, hud_box(height)[0] - 8 - 2 * size) + 2 * size
    h = len(head) * small.get_linesize() + len(rows) * line_h + legend_h + size + 6
    panel = pygame.Surface((w, h), pygame.SRCALPHA)
    panel.fill(HUD_BG)
    y = size // 2
    for text in head:
        panel.blit(small.render(text, True, HUD_DIM), (size, y))
        y += small.get_linesize()
    y += 4
    for label, value in rows:
        panel.blit(f.render(label, True, HUD_DIM), (size, y))
        colour = STATUS_COLOURS.get(value, HUD_TEXT) if label == "status" else HUD_TEXT
        panel.blit(f.render(value, True, colour), (size + label_w, y))
        y += line_h
    # the trail legend: the colour ramp with its range
    y += 4
    bar_w = w - 2 * size
    lo, hi = trail_range
    unit = " m/s" if trail_mode == "speed" else ""
    legend = small.render(f"trail: {trail_mode}  {lo:.2f}..{hi:.2f}{unit}", True, HUD_DIM)
    panel.blit(legend, (size, y))
    y += small.get_linesize() + 2
    panel.blit(ramp_bar(bar_w, 6), (size, y))
    surface.blit(panel, (8, 8))
    hint = small.render("F1: keys", True, HUD_DIM)
    surface.blit(hint, (8, surface.get_height() - hint.get_height() - 6))


def draw_help(surface: pygame.Surface) -> None:
    """The key help (:data:`HELP`) in a panel at the centre of ``surface``."""
    f = font(14)
    lines = [(k, v) for k, v in HELP]
    key_w = max(f.size(k)[0] for k, _ in lines) + 16
    w = key_w + max(f.size(v)[0] for _, v in lines) + 32
    h = len(lines) * f.get_linesize() + 24
    panel = pygame.Surface((w, h), pygame.SRCALPHA)
    panel.fill(HUD_BG)
    y = 12
    for k, v in lines:
        panel.blit(f.render(k, True, CENTRE_LINE), (16, y))
        panel.blit(f.render(v, True, HUD_TEXT), (16 + key_w, y))
        y += f.get_linesize()
    sw, sh = surface.get_size()
    surface.blit(panel, ((sw - w) // 2, (sh - h) // 2))
