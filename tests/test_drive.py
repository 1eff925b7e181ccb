"""``deepracer-sim drive``: keys to actions on discrete and continuous spaces, driving
with injected key states, the params panel against the env's params, and the command line,
all offscreen (SDL_VIDEODRIVER=dummy)."""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import numpy as np
import pygame
import pytest

from deepracer_sim.cli import main as cli_main
from deepracer_sim.constants import STEP_DT
from deepracer_sim.envs.env import DeepRacerEnv
from deepracer_sim.sim.params import PARAM_KEYS
from deepracer_sim.viewer import drive

ROOT = Path(__file__).resolve().parents[1]
CENTER = ROOT / "rewards" / "center.py"
UP, DOWN, LEFT, RIGHT = pygame.K_UP, pygame.K_DOWN, pygame.K_LEFT, pygame.K_RIGHT


def make_app(**kwargs) -> drive.DriveApp:
    env = DeepRacerEnv(reward_function=kwargs.pop("reward", CENTER), training=False, **kwargs)
    return drive.DriveApp(env, reward_name="center.py")


def test_keys_map_onto_the_default_discrete_space() -> None:
    """DeepRacer's default space: steering -30, -15, 0, 15, 30 (outer loop) x speed 0.5, 1.0
    (inner loop): index = 2 * steering level + speed level."""
    app = make_app()
    assert app.action_for({UP, LEFT}) == 9  # +30 deg (level 4), 1.0 m/s: 2 * 4 + 1
    assert app.action_for({pygame.K_w, pygame.K_a}) == 9  # WASD too
    assert app.action_for({UP, RIGHT}) == 1  # -30 deg (level 0), 1.0 m/s
    assert app.action_for({DOWN, LEFT}) == 8  # +30 deg, 0.5 m/s
    # nothing held: straight at the middle speed (the lower of two levels: 0.5)
    assert app.action_for(set()) == 4
    assert app.action_for({UP}) == 5
    assert app.action_for({LEFT, RIGHT, UP}) == 5  # both directions cancel


def test_keys_pick_the_nearest_action_of_a_custom_space(tmp_path: Path) -> None:
    meta = {"action_space": [{"steering_angle": 20.0, "speed": 2.0},
                             {"steering_angle": 0.0, "speed": 1.0},
                             {"steering_angle": -10.0, "speed": 3.0},
                             {"steering_angle": 5.0, "speed": 3.0}],
            "action_space_type": "discrete", "version": "5"}
    path = tmp_path / "model_metadata.json"
    path.write_text(json.dumps(meta))
    app = make_app(action_space=path)
    # wish (+20, 3.0): costs ((s - 20) / 30)^2 + ((v - 3) / 2)^2 -> 0.25, 1.444, 1.0, 0.25;
    # tie between 0 and 3 resolves to the first
    assert app.wish({UP, LEFT}) == (20.0, 3.0)
    assert app.action_for({UP, LEFT}) == 0
    # wish (-10, 1.0) (Down: slowest): costs 1.0 + 0.25, 0.111, 1.0, 0.25 + 1.0 -> action 1
    assert app.wish({DOWN, RIGHT}) == (-10.0, 1.0)
    assert app.action_for({DOWN, RIGHT}) == 1
    # nothing held: (0, middle of 1, 2, 3 = 2.0): 0.444 + 0, 0 + 0.25, 0.111 + 0.25,
    # 0.028 + 0.25 -> action 1 (0.25)
    assert app.action_for(set()) == 1


def test_keys_on_a_continuous_space(tmp_path: Path) -> None:
    meta = {"action_space": {"steering_angle": {"low": -20.0, "high": 30.0},
                             "speed": {"low": 0.5, "high": 2.0}},
            "action_space_type": "continuous", "version": "5"}
    path = tmp_path / "model_metadata.json"
    path.write_text(json.dumps(meta))
    app = make_app(action_space=path)
    # Left + Up: (30, 2.0) -> a = 2 * (v - low) / (high - low) - 1 = (1, 1)
    assert np.allclose(app.action_for({LEFT, UP}), [1.0, 1.0])
    # nothing: steering 0 -> 2 * 20 / 50 - 1 = -0.2; speed (0.5 + 2) / 2 = 1.25 -> 0
    a = app.action_for(set())
    assert np.allclose(a, [-0.2, 0.0])
    steer, speed = app.space.scale(a)
    assert steer[0] == pytest.approx(0.0, abs=1e-5) and speed[0] == pytest.approx(1.25)
    # Right + Down: (-20, 0.5) -> (-1, -1)
    assert np.allclose(app.action_for({RIGHT, DOWN}), [-1.0, -1.0])


def test_driving_with_injected_keys_and_the_params_panel() -> None:
    app = make_app()
    env = app.env
    assert [k for k, _, _ in app.panel_lines()] == list(PARAM_KEYS)
    app.step({UP})  # PREPARE: the reward function is not called
    assert app.reward == 0.0 and not app.reward_called
    assert app.params["steps"] == 1.0
    app.step({UP})
    app.step({UP, LEFT})
    assert app.action == 9
    # three steps: PREPARE, then two RUN steps; on the centre line the centre reward pays 1.0
    rows = {k: (v, changed) for k, v, changed in app.panel_lines()}
    assert rows["steps"] == ("3.0000", True)
    assert app.car.episode_reward == pytest.approx(2.0)
    # the panel shows the env's params of the last step
    expected = app.params
    assert expected["steering_angle"] == 30.0 and expected["speed"] == 1.0
    assert rows["steering_angle"][0] == "30.0000"
    assert rows["speed"][0] == "1.0000"
    assert rows["is_crashed"] == ("False", False)
    assert rows["closest_objects"] == ("[0, 0]", False)
    assert rows["track_length"][0] == f"{env.track.length:.4f}"
    assert rows["waypoints"][0].startswith(f"[{env.track.num_waypoints} points: ")
    for key in ("x", "y", "heading", "progress", "distance_from_center"):
        assert rows[key][0] == f"{expected[key]:.4f}", key
    # the drawn panel changes with the params and carries text
    surface = pygame.Surface((1200, 800))
    app.draw(surface)
    before = pygame.surfarray.array3d(surface)[-drive.PANEL_WIDTH:].copy()
    app.step({UP, LEFT})
    app.draw(surface)
    after = pygame.surfarray.array3d(surface)[-drive.PANEL_WIDTH:]
    assert not np.array_equal(before, after)
    assert (after == np.array(drive.CHANGED)).all(axis=-1).any()  # changed values highlighted


def test_update_runs_in_real_time_and_restarts_after_an_episode() -> None:
    app = make_app()
    # 3 steps of 1/15 s fit into 0.2 s (+ a little for rounding)
    assert app.update(3 * STEP_DT + 1e-9, {UP}) == 3
    app.paused = True
    assert app.update(1.0, {UP}) == 0
    app.paused = False
    for _ in range(200):  # full left at 1 m/s leaves the track
        app.update(0.2, {UP, LEFT})
        if app.done:
            break
    assert app.done and app.car.status == "off_track"
    assert app.update(drive.RESTART_AFTER, set()) == 0  # shows the end, then restarts
    assert not app.done and app.params is None and app.car.steps == 0


def test_a_failing_reward_function_is_shown_not_raised(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def reward_function(params):\n    return params['no_such_key']\n")
    app = make_app(reward=bad)
    app.step(set())  # PREPARE: not called
    app.step(set())
    assert app.error is not None and "KeyError" in app.error and app.paused
    surface = pygame.Surface((1200, 800))
    app.draw(surface)
    panel = pygame.surfarray.array3d(surface)[-drive.PANEL_WIDTH:]
    assert (panel == np.array(drive.ERROR)).all(axis=-1).any()
    app.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_r))
    assert app.error is None and app.car.steps == 0


def test_command_line_runs_headless_and_quits_on_close(tmp_path: Path, capsys) -> None:
    shot = tmp_path / "drive.png"
    assert cli_main(["drive", "--reward", str(CENTER), "--frames", "10", "--size", "900x600",
                       "--screenshot", str(shot)]) == 0
    assert pygame.image.load(str(shot)).get_size() == (900, 600)
    assert cli_main(["drive", "--reward", str(CENTER), "--track", "no_such_track"]) == 2
    assert "unknown track" in capsys.readouterr().err
    # the window's close button ends the loop
    app = make_app()
    window = drive.Window("test", (900, 600))
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    drive.run_app(app, window, frames=1000)
    assert not window.open
    window.close()
