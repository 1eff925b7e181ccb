"""A resizable pygame window with a 60 fps cap, closed cleanly by its close button.

Ctrl-C stays a Python ``KeyboardInterrupt`` (SDL is asked not to turn SIGINT into a quit
event), so the program that owns the window decides what an interrupt means.
"""

from __future__ import annotations

import os

import pygame

from deepracer_sim.errors import ViewerUnavailable

#: Frame-rate cap of the live windows.
MAX_FPS = 60


def prepare_sdl() -> None:
    """Environment for SDL before the display starts: keep Python's Ctrl-C handling."""
    os.environ.setdefault("SDL_NO_SIGNAL_HANDLERS", "1")
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")


class Window:
    """The display window.

    Args:
        title: window caption.
        size: initial (width, height) in pixels; the user may resize it.

    Raises:
        ViewerUnavailable: SDL cannot open a window (e.g. no display on a server).
    """

    def __init__(self, title: str, size: tuple[int, int] = (1280, 800)) -> None:
        prepare_sdl()
        try:
            pygame.display.init()
            pygame.font.init()
            self.surface = pygame.display.set_mode(size, pygame.RESIZABLE)
        except pygame.error as exc:
            raise ViewerUnavailable(
                f"cannot open a window ({exc}); on a machine without a display record a video "
                "instead (evaluate.py --record out.mp4) or set SDL_VIDEODRIVER=dummy") from None
        pygame.display.set_caption(title)
        self.clock = pygame.time.Clock()
        self.open = True

    @property
    def size(self) -> tuple[int, int]:
        return self.surface.get_size()

    def events(self) -> list[pygame.event.Event]:
        """This frame's events. A close request (the window's close button) or Esc/Q marks
        the window closed (``open`` False); a resize refreshes ``surface``."""
        if not self.open:
            return []
        events = pygame.event.get()
        for event in events:
            if event.type == pygame.QUIT or (
                    event.type == pygame.KEYDOWN and event.key in (pygame.K_ESCAPE, pygame.K_q)):
                self.open = False
            elif event.type in (pygame.VIDEORESIZE, pygame.WINDOWRESIZED,
                                pygame.WINDOWSIZECHANGED):
                surface = pygame.display.get_surface()
                if surface is not None:
                    self.surface = surface
        return events

    def present(self, fps: float = MAX_FPS) -> float:
        """Show the frame and wait to hold ``fps``; returns the seconds since the last call."""
        if self.open:
            pygame.display.flip()
        return self.clock.tick(fps) / 1000.0

    def close(self) -> None:
        if pygame.display.get_init():
            pygame.display.quit()
        self.open = False
