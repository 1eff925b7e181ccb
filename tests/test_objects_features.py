"""Objects with the other features: race-day evaluation with boxes (a crash counts as a
collision and the reset goes behind the box, on the other lane), the camera drawing the objects,
the refused combinations (several training tracks, a lidar with the camera alone) and policy
loading by the feature vector's size.

The circle track of tests/test_objects.py: centre radius 3 m, borders 2.5 / 3.5 m, 120 chords,
CCW, so the inner lane is at radius 2.75 and the outer at 3.25.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from deepracer_sim.cli import main as cli_main
from deepracer_sim.constants import BOX_OBSTACLE_SIZE, DROA_DEFAULT_OBJECT_POSITIONS
from deepracer_sim.envs import DeepRacerEnv
from deepracer_sim.envs.sensors import FEATURES, FEATURES_AND_CAMERA, FRONT_FACING_CAMERA
from deepracer_sim.envs.setup import build_setup
from deepracer_sim.envs.vec_env import DeepRacerVecEnv
from deepracer_sim.errors import CheckpointError, UsageError
from deepracer_sim.formats.model_metadata import discrete_action_space
from deepracer_sim.sim import layout
from deepracer_sim.sim.camera import build_scene
from deepracer_sim.sim.camera_look import (
    BOT_CAR_RGB,
    BOT_CAR_SIZE,
    BOX_OBSTACLE_RGB,
    box_object,
    nominal_lights,
    reference_irradiance,
)
from deepracer_sim.sim.camera_objects import shade_object
from deepracer_sim.sim.camera_scene import N_OBJ_COLS, O_GREY_BACK, O_LENGTH, O_X, O_Y
from deepracer_sim.sim.world import ObjectsConfig
from deepracer_sim.track import load_track, track_from_array
from deepracer_sim.training import race
from deepracer_sim.training.policy import build_policy, policy_from_state_dict
from deepracer_sim.training.race_scoring import RaceRules
from deepracer_sim.training.resume import ResumeRequest, resume_config

CENTER = Path(__file__).resolve().parents[1] / "rewards" / "center.py"

SEGMENTS = 120
#: straight ahead (index 1) at 1 m/s
SPACE = discrete_action_space(max_steering=30, steering_levels=3, max_speed=1.0, speed_levels=1)


@pytest.fixture(scope="module")
def circle():
    th = np.linspace(0.0, 2 * math.pi, SEGMENTS + 1)
    c, s = np.cos(th), np.sin(th)
    wp = np.column_stack([3.0 * c, 3.0 * s, 2.5 * c, 2.5 * s, 3.5 * c, 3.5 * s])
    wp[-1] = wp[0]
    return track_from_array(wp, "circle")


def straight(obs: np.ndarray) -> np.ndarray:
    return np.full(len(obs), 1)


def test_a_race_with_a_box_counts_the_crash_and_resets_behind_it(circle, monkeypatch):
    """The car starts at (3, 0) heading +y and drives straight along x = 3. The outer lane
    (radius 3.25) crosses x = 3 at acos(3 / 3.25) = 22.6 degrees, 3 * 0.3948 = 1.184 m along the
    centre line: a box there is in the car's way, the car crashes into it, and the crash is the
    race's one reset (the 5 s collision hold outlasts the 3 s race). The reset is 1 m
    (RESET_BEHIND_DIST) behind the box along the centre line, on the inner lane: radius 2.75
    (less a chord's sagitta), at 0.184 / 3 rad = 3.52 degrees."""
    dist = 3.0 * math.acos(3.0 / 3.25)
    objects = ObjectsConfig(box_positions=((dist / circle.length, -1),))
    resets = []
    reset = race._reset

    def spy(sim, i, car, status, progress, rules):
        reset(sim, i, car, status, progress, rules)
        resets.append((status, sim.s[i, layout.S_X], sim.s[i, layout.S_Y],
                       sim.obj[i, 0, layout.O_PROJ]))

    monkeypatch.setattr(race, "_reset", spy)
    rules = RaceRules(laps=1, time_limit=3.0)
    [[lap]] = race.run_races(straight, circle, SPACE, 6.0, rules, objects=objects)
    assert (lap.crash_count, lap.off_track_count, lap.reset_count) == (1, 0, 1)
    assert lap.episode_status == "Crashed"
    [(status, x, y, proj)] = resets
    assert status == "crashed"
    assert proj == pytest.approx(dist, abs=1e-3)
    assert math.hypot(x, y) == pytest.approx(2.75, abs=2e-3)
    assert math.degrees(math.atan2(y, x)) == pytest.approx(math.degrees((dist - 1.0) / 3.0),
                                                           abs=0.15)
    # the same race without the box: off the track, no crash
    monkeypatch.undo()
    [[free]] = race.run_races(straight, circle, SPACE, 6.0, rules)
    assert (free.crash_count, free.off_track_count) == (0, 1)


def test_objects_need_one_track_and_a_lidar_needs_the_features(circle):
    objects = ObjectsConfig(box_positions=((0.25, 1),))
    with pytest.raises(UsageError, match="2 tracks"):
        DeepRacerVecEnv(2, track=[circle, circle], objects=objects)
    lidar = ObjectsConfig(box_positions=((0.25, 1),), lidar="SECTOR_LIDAR")
    with pytest.raises(UsageError, match="no lidar input"):
        build_setup(1, track=circle, sensor=FRONT_FACING_CAMERA, objects=lidar)
    # the features sensor sees 19 + 8 object values, + 8 with SECTOR_LIDAR
    setup = build_setup(1, track=circle, sensor=FEATURES, objects=objects)
    assert setup.single_observation_space.shape == (27,) == setup.sim.obs.shape[1:]
    assert build_setup(1, track=circle, objects=lidar).single_observation_space.shape == (35,)
    # with the camera too, the feature half of the observation has the same size
    both = build_setup(1, track=circle, sensor=FEATURES_AND_CAMERA, objects=lidar)
    assert both.single_observation_space[FEATURES].shape == (35,)


def test_the_camera_draws_a_box_of_the_race(circle):
    """A box on the inner lane 1 m ahead (0.91 m forward, 0.38 m left of the car, the circle
    curving left) fills the left edge of the frame with its back face's grey (the default
    lights: box_object's 94.1, truncated to 94); the rest of the frame is unchanged."""
    frac = 1.0 / (SEGMENTS * 2 * 3.0 * math.sin(math.pi / SEGMENTS))
    with_box = DeepRacerEnv(track=circle, sensor=FRONT_FACING_CAMERA, training=False,
                            objects=ObjectsConfig(box_positions=((frac, 1),)))
    empty = DeepRacerEnv(track=circle, sensor=FRONT_FACING_CAMERA, training=False)
    a = with_box.reset(seed=0)[0][:, :, 0].astype(int)
    b = empty.reset(seed=0)[0][:, :, 0].astype(int)
    box = with_box.sim.obj[0, 0]
    back = box_object(box[layout.O_X], box[layout.O_Y], box[layout.O_YAW],
                      scene=with_box.sensors.camera.scene)[O_GREY_BACK]
    assert back == pytest.approx(94.1, abs=0.05)
    changed = a != b
    cols = np.nonzero(changed)[1]
    assert changed.sum() > 1500 and cols.max() < 50  # 0.3 m wide at ~0.9 m: the left edge
    assert np.median(a[changed]) == math.floor(back)
    # a bot car is drawn too, in its own (dark) grey, and follows the bot
    bots = DeepRacerEnv(track=circle, sensor=FRONT_FACING_CAMERA, training=False,
                        objects=ObjectsConfig(bots=1, bot_speed=1.0, bot_min_distance=1.0))
    first = bots.reset(seed=0)[0][:, :, 0].astype(int)
    assert (first != b).sum() > 500
    bots.step(1)
    bots.step(1)
    row = bots.sensors.camera.objects[0, 0]
    assert row[O_LENGTH] == pytest.approx(0.32352)
    assert (row[O_X], row[O_Y]) == (bots.sim.obj[0, 0, layout.O_X], bots.sim.obj[0, 0, layout.O_Y])


def test_objects_are_shaded_as_box_object_under_any_lights():
    """The numba shading of the kernel's objects gives box_object's greys, for the default
    lights and for simapp-randomised ones."""
    scene = build_scene(load_track())
    ref = reference_irradiance(scene)
    rng = np.random.default_rng(4)
    for k in range(6):
        lights = nominal_lights(1)[0] if k == 0 else np.concatenate(
            [rng.uniform(0.0, 1.0, 9), [rng.uniform(1.0, 1.6)]])
        x, y, yaw = rng.uniform(-5, 5), rng.uniform(-5, 5), rng.uniform(-math.pi, math.pi)
        row = np.zeros(N_OBJ_COLS)
        look = np.array([*BOT_CAR_SIZE, *BOT_CAR_RGB]) if k % 2 else np.array(
            [*BOX_OBSTACLE_SIZE, *BOX_OBSTACLE_RGB])
        shade_object(x, y, yaw, look, lights, ref, row)
        want = box_object(x, y, yaw, size=tuple(look[:3]), rgb=tuple(look[3:]), scene=scene,
                          sun_rgb=tuple(lights[0:3]), point_rgb=tuple(lights[3:6]),
                          attenuation=tuple(lights[6:9]), gain=lights[9])
        assert row == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize("objects, size", [("", 19), ("objects", 27), ("LIDAR", 27 + 64),
                                           ("SECTOR_LIDAR", 27 + 8)])
def test_a_policy_loads_by_its_feature_vector_size(objects, size):
    state = build_policy(SPACE, (8,), FEATURES, objects).state_dict()
    policy = policy_from_state_dict(state, SPACE)
    assert policy.observation_space.shape == (size,)


def test_a_feature_vector_of_another_size_is_refused():
    state = build_policy(SPACE, (8,)).state_dict()
    state = {k: (v[:, :1].repeat(1, 30) if v.ndim == 2 and v.shape[1] == 19 else v)
             for k, v in state.items()}
    with pytest.raises(CheckpointError, match="reads 30 inputs"):
        policy_from_state_dict(state, SPACE)


def test_an_object_run_resumes_and_races_with_its_objects(tmp_path, capsys):
    """A tiny object-avoidance run with SECTOR_LIDAR: ``--resume`` keeps its objects (race
    options given again are refused), and ``evaluate --race`` loads its 35-input policy and
    races with the run's boxes."""
    out = tmp_path / "run"
    train = ["train", "--out", str(out), "--reward", str(CENTER), "--n-envs", "2",
             "--n-steps", "64", "--no-progress-bar", "--race-type", "OBJECT_AVOIDANCE",
             "--lidar", "SECTOR_LIDAR", "--timesteps", "128"]
    assert cli_main(train) == 0
    config = json.loads((out / "run_config.json").read_text())
    assert config["race_type"] == "OBJECT_AVOIDANCE"
    assert config["objects"]["lidar"] == "SECTOR_LIDAR"
    capsys.readouterr()
    resume = ["train", "--out", str(out), "--resume", "--no-progress-bar", "--timesteps", "128"]
    assert cli_main([*resume, "--boxes", "2"]) == 2
    assert "its own race type and objects (run_config.json); drop --boxes" in \
        capsys.readouterr().err
    cfg = resume_config(ResumeRequest(out=out, timesteps=128))
    assert cfg.race_type == "OBJECT_AVOIDANCE"
    assert cfg.objects is not None and cfg.objects.lidar == "SECTOR_LIDAR"
    assert cfg.objects.box_positions == DROA_DEFAULT_OBJECT_POSITIONS
    assert cli_main(resume) == 0
    capsys.readouterr()
    assert cli_main(["evaluate", str(out), "--race", "--laps", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert "CollisionCount" in json.dumps(report)
