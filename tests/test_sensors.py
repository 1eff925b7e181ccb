"""The envs' sensors: FEATURES (unchanged), FRONT_FACING_CAMERA and both; camera training and
evaluation end to end."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from deepracer_sim.cli import main as cli_main
from deepracer_sim.envs.env import DeepRacerEnv
from deepracer_sim.envs.sensors import (
    FEATURES,
    FEATURES_AND_CAMERA,
    FRONT_FACING_CAMERA,
    check_sensor,
)
from deepracer_sim.envs.vec_env import DeepRacerVecEnv
from deepracer_sim.envs.vector import DeepRacerVectorEnv
from deepracer_sim.errors import UsageError
from deepracer_sim.sim.camera import CameraRenderer
from deepracer_sim.sim.observation import OBS_DIM

ROOT = Path(__file__).resolve().parents[1]


def test_spaces_of_each_sensor() -> None:
    env = DeepRacerEnv()
    assert env.observation_space.shape == (OBS_DIM,) and env.sensors.camera is None
    cam = DeepRacerEnv(sensor=FRONT_FACING_CAMERA)
    assert cam.observation_space.shape == (120, 160, 1)
    assert cam.observation_space.dtype == np.uint8
    obs, _ = cam.reset(seed=0)
    assert obs.shape == (120, 160, 1) and obs.dtype == np.uint8
    assert cam.observation_space.contains(obs)
    both = DeepRacerVectorEnv(2, sensor=FEATURES_AND_CAMERA)
    obs, _ = both.reset()
    assert obs[FEATURES].shape == (2, OBS_DIM)
    assert obs[FRONT_FACING_CAMERA].shape == (2, 120, 160, 1)
    with pytest.raises(UsageError, match="FRONT_FACING_CAMERA"):
        check_sensor("LIDAR")


def test_camera_frames_are_the_renderer_at_the_car_pose_and_buffers_alternate() -> None:
    env = DeepRacerVecEnv(3, sensor=FRONT_FACING_CAMERA, training=False)
    first = env.reset()
    actions = np.zeros(3, dtype=np.int64)
    env.step_async(actions)
    a, *_ = env.step_wait()
    env.step_async(actions)
    b, *_ = env.step_wait()
    env.step_async(actions)
    c, *_ = env.step_wait()
    # two preallocated batches in turn: no frame allocated per step
    assert a is c and a is not b and first is b
    # the frame is the nominal camera at the car's pose after the step
    ref = CameraRenderer(env.track, 3).render(env.sim.s[:, :3])
    assert np.array_equal(c[:, :, :, 0], ref)


def test_episode_end_gives_last_frame_then_the_new_episode() -> None:
    env = DeepRacerVecEnv(2, sensor=FRONT_FACING_CAMERA, training=False, max_steps=4)
    env.reset()
    ref = CameraRenderer(env.track, 2)
    for _ in range(4):
        env.step_async(np.zeros(2, dtype=np.int64))
        obs, _, dones, infos = env.step_wait()
    assert dones.all()
    # the new episode's first frame: the car back at its start pose
    assert np.array_equal(obs[:, :, :, 0], ref.render(env.sim.s[:, :3]))
    last = infos[0]["terminal_observation"]
    assert last.shape == (120, 160, 1) and not np.array_equal(last, obs[0])


def test_domain_randomisation_on_for_training_off_for_evaluation() -> None:
    def frame(training: bool, seed: int) -> np.ndarray:
        env = DeepRacerEnv(sensor=FRONT_FACING_CAMERA, training=training)
        obs, _ = env.reset(seed=seed)
        return obs.copy()

    assert np.array_equal(frame(False, 1), frame(False, 2))
    assert np.array_equal(frame(True, 1), frame(True, 1))  # seeded
    assert not np.array_equal(frame(True, 1), frame(True, 2))
    forced = DeepRacerEnv(sensor=FRONT_FACING_CAMERA, training=False, domain_randomization=True)
    assert forced.sensors.camera is not None and forced.sensors.camera.randomizer.dr.enabled


def test_features_observation_unchanged_by_the_sensor_plumbing() -> None:
    plain = DeepRacerVecEnv(2, max_steps=6)
    both = DeepRacerVecEnv(2, max_steps=6, sensor=FEATURES_AND_CAMERA)
    a, b = plain.reset(), both.reset()
    assert np.array_equal(a, b[FEATURES])
    for _ in range(8):
        for env in (plain, both):
            env.step_async(np.full(2, 3, dtype=np.int64))
        (a, ra, da, ia), (b, rb, db, ib) = plain.step_wait(), both.step_wait()
        assert np.array_equal(a, b[FEATURES]) and np.array_equal(ra, rb)
        assert np.array_equal(da, db)
        for x, y in zip(ia, ib, strict=True):
            if "terminal_observation" in x:
                last = y["terminal_observation"][FEATURES]
                assert np.array_equal(x["terminal_observation"], last)


def test_train_and_evaluate_a_camera_policy(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cam"
    code = cli_main(["train", "--reward", str(ROOT / "rewards" / "center.py"), "--out", str(out),
                     "--sensor", FRONT_FACING_CAMERA, "--camera-route", "ppo",
                     "--timesteps", "32", "--n-envs", "2", "--n-steps", "16",
                     "--no-progress-bar"])
    assert code == 0
    meta = json.loads((out / "model" / "model_metadata.json").read_text())
    assert meta["sensor"] == [FRONT_FACING_CAMERA]
    assert json.loads((out / "run_config.json").read_text())["sensor"] == FRONT_FACING_CAMERA
    capsys.readouterr()
    assert cli_main(["evaluate", str(out), "--laps", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["laps"]) == 1
    # --clone keeps the cloned policy's sensor; another --sensor is refused before any work
    again = tmp_path / "again"
    assert cli_main(["train", "--reward", str(ROOT / "rewards" / "center.py"), "--clone",
                     str(out), "--sensor", FEATURES, "--out", str(again)]) == 2
    assert "sees FRONT_FACING_CAMERA" in capsys.readouterr().err and not again.exists()


def test_metadata_validator_takes_deepracer_sensor_names_only() -> None:
    from deepracer_sim.formats.model_metadata import check_metadata_dict, discrete_action_space

    def sensor_problems(sensor):
        meta = discrete_action_space().to_metadata()
        meta["sensor"] = sensor
        return [p for p in check_metadata_dict(meta, "model_metadata.json")
                if p.field == "sensor" and p.level == "error"]

    assert sensor_problems([FRONT_FACING_CAMERA]) == []
    assert sensor_problems([FRONT_FACING_CAMERA, "SECTOR_LIDAR"]) == []
    assert sensor_problems(["STEREO_CAMERAS", "LIDAR"]) == []
    assert sensor_problems([FEATURES])  # our own name: not a DeepRacer model
