"""The viewer's look: palette, sizes in metres, fonts and the trail's colour ramp (pygame)."""

from __future__ import annotations

import pygame

# --- palette -------------------------------------------------------------------------------
BACKGROUND = (27, 43, 36)
ROAD = (64, 67, 74)
BORDER = (236, 236, 230)
CENTRE_LINE = (246, 196, 38)
START_DARK = (20, 20, 20)
START_LIGHT = (245, 245, 245)
WAYPOINT = (150, 190, 255)
CAR_BODY = (168, 85, 247)
CAR_OUTLINE = (250, 245, 255)
CAR_WHEEL = (18, 18, 22)
CAR_GHOST = (125, 105, 150)
BOX_FILL = (196, 140, 74)  # object-avoidance boxes (cardboard)
BOT_BODY = (230, 90, 70)  # head-to-bot bot cars
REFERENCE_DOT = (255, 255, 255)
HUD_TEXT = (238, 240, 245)
HUD_DIM = (160, 168, 180)
HUD_BG = (12, 14, 20, 190)
STATUS_COLOURS = {
    "prepare": (160, 168, 180),
    "in_progress": (120, 220, 140),
    "lap_complete": (90, 200, 255),
    "off_track": (255, 110, 90),
    "reversed": (255, 170, 60),
    "immobilized": (255, 170, 60),
    "time_up": (255, 170, 60),
}
#: Trail colour ramp, low to high (speed or reward): blue, cyan, green, yellow, red.
RAMP = ((48, 110, 255), (0, 205, 220), (70, 215, 80), (250, 215, 40), (240, 60, 40))
RAMP_LEVELS = 48

# --- sizes in metres (DeepRacer tracks: 2-inch white borders, dashed yellow centre line) ---
BORDER_WIDTH = 0.05
CENTRE_WIDTH = 0.025
DASH_LENGTH = 0.15
DASH_GAP = 0.15
TRAIL_WIDTH = 0.035
WHEEL_LENGTH = 0.07  # wheel diameter (radius 0.035 m, spec §3.1)
WHEEL_WIDTH = 0.03
#: Trail points kept per car (an episode of 5000 steps is 333 simulated seconds).
TRAIL_MAX = 5000
#: Pixels between labelled waypoints (every k-th index is labelled).
LABEL_SPACING_PX = 26

_FONTS: dict[int, pygame.font.Font] = {}


def font(size: int) -> pygame.font.Font:
    """A monospace font of ``size`` pixels (DejaVu Sans Mono if installed, else pygame's)."""
    f = _FONTS.get(size)
    if f is None:
        if not pygame.font.get_init():
            pygame.font.init()
        try:
            f = pygame.font.SysFont("dejavusansmono,liberationmono,menlo,consolas,monospace",
                                    size)
        except Exception:  # no fontconfig: the default font
            f = pygame.font.Font(None, size)
        _FONTS[size] = f
    return f


def ramp_colour(t: float) -> tuple[int, int, int]:
    """The trail colour of a value ``t`` in [0, 1] (clipped), piecewise linear over RAMP."""
    t = min(max(t, 0.0), 1.0) * (len(RAMP) - 1)
    k = min(int(t), len(RAMP) - 2)
    f = t - k
    a, b = RAMP[k], RAMP[k + 1]
    return (round(a[0] + f * (b[0] - a[0])), round(a[1] + f * (b[1] - a[1])),
            round(a[2] + f * (b[2] - a[2])))


#: The ramp at RAMP_LEVELS steps (the trail is drawn with these colours).
RAMP_TABLE = [ramp_colour(k / (RAMP_LEVELS - 1)) for k in range(RAMP_LEVELS)]


_BARS: dict[tuple[int, int], pygame.Surface] = {}


def ramp_bar(width: int, height: int) -> pygame.Surface:
    """The colour ramp as a bar (cached)."""
    bar = _BARS.get((width, height))
    if bar is None:
        bar = pygame.Surface((width, height))
        for k in range(width):
            pygame.draw.line(bar, ramp_colour(k / max(width - 1, 1)), (k, 0), (k, height - 1))
        _BARS[(width, height)] = bar
    return bar
