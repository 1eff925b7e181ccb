"""The car's camera image beside the track: a panel in the top-right corner of a view with the
``FRONT_FACING_CAMERA`` frame (120 x 160 grey, as the policy sees it), scaled up by whole pixels
to about a quarter of the view's width."""

from __future__ import annotations

import numpy as np
import pygame

from deepracer_sim.sim.camera import CameraRenderer, frame_to_rgb
from deepracer_sim.viewer.style import HUD_BG, HUD_DIM, font

#: Margin between the panel and the view's edge, pixels.
MARGIN = 10


def camera_panel_rect(size: tuple[int, int], frame_shape: tuple[int, int]) -> pygame.Rect:
    """Where the panel goes in a view of ``size`` (width, height) pixels: the frame scaled by
    the whole factor that makes it closest to a quarter of the width (at least 1)."""
    h, w = frame_shape
    scale = max(1, round(size[0] / 4 / w))
    return pygame.Rect(size[0] - MARGIN - w * scale, MARGIN, w * scale, h * scale)


def draw_camera_panel(surface: pygame.Surface, frame: np.ndarray,
                      label: str = "FRONT_FACING_CAMERA") -> pygame.Rect:
    """Draw ``frame`` ((120, 160) or (120, 160, 1) uint8 grey) into ``surface`` with a label.

    Returns:
        the rectangle of the image.
    """
    grey = frame[:, :, 0] if frame.ndim == 3 else frame
    rect = camera_panel_rect(surface.get_size(), grey.shape)
    scale = rect.width // grey.shape[1]
    image = pygame.surfarray.make_surface(frame_to_rgb(grey, scale).swapaxes(0, 1))
    text = font(13).render(label, True, HUD_DIM)
    back = pygame.Surface((rect.width + 8, rect.height + text.get_height() + 10), pygame.SRCALPHA)
    back.fill(HUD_BG)
    surface.blit(back, (rect.x - 4, rect.y - 4))
    surface.blit(image, rect.topleft)
    surface.blit(text, (rect.x, rect.bottom + 3))
    return rect


class CameraPanel:
    """The camera of one watched car, rendered for display from the simulator's state (works for
    any policy, whatever it sees; no domain randomisation).

    Args:
        track: the track (:class:`~deepracer_sim.track.Track`).
        n: cars in the simulator.
    """

    def __init__(self, track, n: int) -> None:
        self.renderer = CameraRenderer(track, n)
        self._one = np.zeros(1, dtype=np.int64)

    def draw(self, surface: pygame.Surface, state: np.ndarray, car: int) -> None:
        """Render car ``car`` at its pose in ``state`` ((n, NS) float64, the simulator's ``s``)
        and draw the panel."""
        self._one[0] = car
        frames = self.renderer.render(state, self._one)
        draw_camera_panel(surface, frames[car])
