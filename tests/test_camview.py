"""The camera image beside the track: the env's rgb_array frame and evaluate --record --camera
(drawn offscreen, SDL_VIDEODRIVER=dummy)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

from deepracer_sim.envs.env import DeepRacerEnv
from deepracer_sim.formats.model_metadata import discrete_action_space
from deepracer_sim.track import load_track
from deepracer_sim.training.evaluation import run_laps
from deepracer_sim.viewer.camview import camera_panel_rect


def test_panel_rectangle_by_hand() -> None:
    # 960 wide: a quarter is 240 = 1.5 x 160 -> scale 2 (round), 320 x 240 at the top right
    r = camera_panel_rect((960, 720), (120, 160))
    assert (r.x, r.y, r.width, r.height) == (960 - 10 - 320, 10, 320, 240)
    assert camera_panel_rect((200, 100), (120, 160)).width == 160  # never below 1x


def test_rgb_array_shows_the_camera_observation() -> None:
    env = DeepRacerEnv(render_mode="rgb_array", sensor="FRONT_FACING_CAMERA", training=False)
    obs, _ = env.reset(seed=0)
    for _ in range(3):
        obs, *_ = env.step(0)
    frame = env.render()
    r = camera_panel_rect((frame.shape[1], frame.shape[0]), (120, 160))
    panel = frame[r.y:r.bottom, r.x:r.right]
    # each camera pixel is a 2x2 block of its grey in all three channels
    assert np.array_equal(panel[::2, ::2, 0], obs[:, :, 0])
    assert np.array_equal(panel[1::2, 1::2, 2], obs[:, :, 0])
    plain = DeepRacerEnv(render_mode="rgb_array", training=False)
    plain.reset(seed=0)
    for _ in range(3):
        plain.step(0)
    other = plain.render()
    assert not np.array_equal(other[r.y:r.bottom, r.x:r.right], panel)


def test_record_with_the_camera_panel(tmp_path: Path) -> None:
    iio = pytest.importorskip("imageio.v3")
    from deepracer_sim.viewer.live import EvaluationViewer

    track = load_track("dr_sim_default")
    out = tmp_path / "laps.gif"
    viewer = EvaluationViewer(window=False, record=out, camera=True)
    laps = run_laps(lambda obs: np.full(len(obs), 9), track, discrete_action_space(), 6.0,
                    [0.0], 60, observers=[viewer])
    frames = np.stack(list(iio.imiter(out)))
    assert frames.shape[0] == laps[0].steps
    r = camera_panel_rect((640, 360), (120, 160))  # the GIF's size
    panel = frames[0][r.y:r.bottom, r.x:r.right, :3].astype(int)
    # grey: the three channels agree (within the GIF palette), and the road is in view
    assert np.abs(panel[:, :, 0] - panel[:, :, 2]).mean() < 6
    assert panel.std() > 10
