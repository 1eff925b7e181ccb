"""The pygame viewer: watch training and evaluation, render the env, record videos.

* :class:`TrainingViewer` - ``train.py --render``: one training car live, drawn in another
  process (training is not slowed down by drawing).
* :class:`EvaluationViewer` - ``evaluate.py --render`` / ``--record out.mp4|out.gif``.
* ``DeepRacerEnv(render_mode="human" | "rgb_array")`` draws through :mod:`.envview`.
* ``deepracer-sim drive`` - drive with the arrow keys (:mod:`.drive`).
* :class:`Renderer`, :class:`Camera`, :class:`CarView`, :class:`TrackArt`, :func:`render_frame`
  - the drawing itself, onto any pygame Surface (:mod:`.render`, :mod:`.camera`,
  :mod:`.carview`, :mod:`.trackart`, :mod:`.hud`, :mod:`.style`).

Window keys: :data:`.hud.HELP` (F1 in a window shows them).
"""

from __future__ import annotations

import os

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

from deepracer_sim.viewer.camera import Camera
from deepracer_sim.viewer.carview import CarView
from deepracer_sim.viewer.hud import HELP, hud_lines
from deepracer_sim.viewer.live import EvaluationViewer, TrainingViewer
from deepracer_sim.viewer.record import RecordingError, VideoRecorder, check_video_path
from deepracer_sim.viewer.render import Renderer, render_frame, surface_to_array
from deepracer_sim.viewer.trackart import TrackArt
from deepracer_sim.viewer.window import ViewerUnavailable, Window

__all__ = [
    "HELP",
    "Camera",
    "CarView",
    "EvaluationViewer",
    "RecordingError",
    "Renderer",
    "TrackArt",
    "TrainingViewer",
    "VideoRecorder",
    "ViewerUnavailable",
    "Window",
    "check_video_path",
    "hud_lines",
    "render_frame",
    "surface_to_array",
]

