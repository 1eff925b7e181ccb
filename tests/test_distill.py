"""Camera training by distillation (``training.distill``): the loss, a student fitted to a fixed
teacher, the route's run folder (read by evaluate and export) and its ``--timesteps`` bound.
The student is the real SHALLOW network; the step counts are tiny."""

from __future__ import annotations

import json
import signal

import numpy as np
import pytest
import torch
from export_helpers import REWARD

from deepracer_sim.cli import main as cli_main
from deepracer_sim.cli.train import camera_route
from deepracer_sim.envs.sensors import FEATURES, FEATURES_AND_CAMERA, FRONT_FACING_CAMERA
from deepracer_sim.envs.vec_env import DeepRacerVecEnv
from deepracer_sim.errors import UsageError
from deepracer_sim.export import check_path, export_run
from deepracer_sim.formats.model_metadata import ActionSpace, discrete_action_space
from deepracer_sim.formats.problems import errors
from deepracer_sim.logs.events import IterationStats
from deepracer_sim.training import distill
from deepracer_sim.training.config import TrainConfig
from deepracer_sim.training.distill import (
    FrameBuffer,
    collect,
    distill_loss,
    fit_student,
    split_budget,
)
from deepracer_sim.training.evaluation import evaluate_run
from deepracer_sim.training.networks import build_camera_policy
from deepracer_sim.training.policy import build_policy
from deepracer_sim.training.signals import StopSignals

#: 3 steering angles x 1 speed.
SPACE = discrete_action_space(30.0, 3, 1.0, 1)
CARS, STEPS = 4, 6


def _teacher():
    """A fixed feature-vector teacher: a random MLP with a sharpened head (its greedy action
    changes with the car's state)."""
    torch.manual_seed(1)
    teacher = build_policy(SPACE, (16,), FEATURES)
    with torch.no_grad():
        teacher.action_net.weight.mul_(30.0)
    teacher.set_training_mode(False)
    return teacher


def _loss(student, data: FrameBuffer) -> float:
    with torch.no_grad():
        n = data.size
        loss, _, _ = distill_loss(student, torch.from_numpy(data.frames[:n]),
                                  torch.from_numpy(data.targets[:n]),
                                  torch.from_numpy(data.values[:n]), 1.0)
    return float(loss)


@pytest.fixture(scope="module")
def fitted():
    """(data, loss before, loss after, greedy agreement before and after) of a SHALLOW student
    fitted (16 Adam steps) on 24 rendered frames labelled by the fixed teacher; the agreement
    counts the frames whose teacher probability of its greedy action is >= 0.6."""
    torch.manual_seed(0)
    teacher, student = _teacher(), build_camera_policy(SPACE)
    env = DeepRacerVecEnv(CARS, reward_function=REWARD, action_space=SPACE, version=6.0,
                          sensor=FEATURES_AND_CAMERA, camera_seed=0)
    data = FrameBuffer(CARS * STEPS, len(SPACE), (1, 120, 160))
    rng = np.random.default_rng(0)
    collect(env, env.reset(), teacher, student, data, STEPS, 1.0, rng, IterationStats())
    agree = []
    before = _loss(student, data)
    clear = data.targets.max(1) >= 0.6  # frames where the teacher's choice is not a near-tie
    for updates in (0, 16):
        fit_student(student, torch.optim.Adam(student.parameters(), lr=1e-3), data, updates, rng)
        probs = student.action_probabilities(data.frames).numpy()
        agree.append(float(np.mean(probs.argmax(1)[clear] == data.targets.argmax(1)[clear])))
    return data, before, _loss(student, data), agree


def test_collect_fills_the_buffer_with_frames_and_teacher_labels(fitted):
    data = fitted[0]
    assert data.size == CARS * STEPS
    assert data.frames.dtype == np.uint8 and data.frames[:data.size].std() > 10  # real frames
    np.testing.assert_allclose(data.targets.sum(1), 1.0, atol=1e-5)  # probabilities
    assert len(np.unique(data.targets.argmax(1))) >= 2  # the teacher's action changes


def test_distillation_loss_goes_down(fitted):
    """Measured: 0.725 -> 0.165 after 16 steps (0.26 after 8)."""
    _, before, after, _ = fitted
    assert after < 0.5 * before, (before, after)


def test_student_reproduces_the_teacher_greedy_actions(fitted):
    """Measured on the 17 clear frames: 15/17 (0.88) after 16 steps, with camera seeds 0 and 1;
    always choosing the teacher's most frequent action would give 12/17 (0.71)."""
    data, _, _, (start, end) = fitted
    clear = data.targets.max(1) >= 0.6
    majority = np.bincount(data.targets.argmax(1)[clear]).max() / clear.sum()
    assert end >= 0.8 > majority, (start, end, majority)


def test_budget_split_and_refusal(tmp_path):
    cfg = TrainConfig(reward=REWARD, action_space=SPACE, version=6.0, out=tmp_path,
                      timesteps=200_000, n_envs=16, n_steps=256)
    b = split_budget(cfg)
    # 12,000 frames over 4 rounds of 16 cars: 187 steps each; the teacher: whole iterations of
    # 16 x 256 = 4,096 steps in the remaining 188,032
    assert (b.distill, b.round_steps, b.finetune, b.teacher) == (11_968, 187, 0, 184_320)
    cfg.teacher = tmp_path  # a given teacher: the whole budget may distil
    cfg.timesteps = 6_400
    assert (split_budget(cfg).distill, split_budget(cfg).teacher) == (6_400, 0)
    cfg.teacher = None
    cfg.timesteps = 100
    with pytest.raises(UsageError, match="too small"):
        split_budget(cfg)


def test_interrupt_saves_the_student(tmp_path, monkeypatch):
    """Ctrl-C during distillation saves the student as the next checkpoint: 0_Step-0 (the
    untrained student), round 0 after the teacher's 64 steps and its 2 cars x 6 steps
    (1_Step-76), the interrupted round 1 after its 12 more steps (2_Step-88); exit code 130."""
    fits = {"n": 0}

    def interrupted_fit(*args, **kwargs):
        fits["n"] += 1
        if fits["n"] == 2:
            raise KeyboardInterrupt
        return {}

    monkeypatch.setattr(distill, "fit_student", interrupted_fit)
    cfg = TrainConfig(reward=REWARD, action_space=SPACE, version=6.0, out=tmp_path / "run",
                      timesteps=100, n_envs=2, n_steps=16, distill_steps=24, distill_rounds=2,
                      sensor=FRONT_FACING_CAMERA, eval_episodes=1)
    result = distill.train_camera(cfg, progress_bar=False)
    assert result.interrupted and result.exit_code == 130
    assert result.saved_at_stop == "2_Step-88.zip"
    info = json.loads((tmp_path / "run" / "model" / "deepracer_checkpoints.json").read_text())
    assert info["last_checkpoint"]["name"] == "2_Step-88.zip"
    assert sorted(p.name for p in (tmp_path / "run" / "model").glob("*.zip")) == [
        "0_Step-0.zip", "1_Step-76.zip", "2_Step-88.zip"]
    state = json.loads((tmp_path / "run" / "training_state.json").read_text())
    assert "2_Step-88" in json.dumps(state)


def test_stop_signal_during_a_round_ends_the_route(tmp_path, monkeypatch):
    """A SIGTERM recorded during round 0's fit: the round is saved, not evaluated, as
    checkpoint 1 (64 teacher steps + 12), no later round runs, the exit code is 128 + 15."""
    stopper = StopSignals()

    def stopped_fit(*args, **kwargs):
        stopper.interrupt(signal.SIGTERM)
        return {}

    monkeypatch.setattr(distill, "fit_student", stopped_fit)
    cfg = TrainConfig(reward=REWARD, action_space=SPACE, version=6.0, out=tmp_path / "run",
                      timesteps=100, n_envs=2, n_steps=16, distill_steps=24, distill_rounds=2,
                      sensor=FRONT_FACING_CAMERA, eval_episodes=1)
    result = distill.train_camera(cfg, progress_bar=False, stopper=stopper)
    assert (result.exit_code, result.stop_reason) == (143, "stopped by SIGTERM")
    assert [s.checkpoint for s in result.iterations] == ["1_Step-76.zip"]
    assert result.iterations[0].eval_laps == []  # not evaluated at a stop
    info = json.loads((tmp_path / "run" / "model" / "deepracer_checkpoints.json").read_text())
    assert info["last_checkpoint"]["name"] == "1_Step-76.zip"


def test_route_writes_a_run_folder_within_the_budget(tmp_path, monkeypatch, capsys):
    """train --sensor FRONT_FACING_CAMERA: teacher, 2 rounds, 1 PPO fine-tuning iteration;
    evaluate and export read it; the training env steps (counted) stay within --timesteps."""
    counted = {"steps": 0}
    step_wait = DeepRacerVecEnv.step_wait

    def counting(self):
        if self.training:
            counted["steps"] += self.num_envs
        return step_wait(self)

    monkeypatch.setattr(DeepRacerVecEnv, "step_wait", counting)
    run = tmp_path / "run"
    code = cli_main(["train", "--reward", str(REWARD), "--sensor", "FRONT_FACING_CAMERA",
                     "--max-steering", "30", "--steering-levels", "3", "--speed-levels", "1",
                     "--timesteps", "100", "--n-envs", "2", "--n-steps", "16",
                     "--distill-steps", "24", "--distill-rounds", "2", "--finetune-steps", "40",
                     "--out", str(run),
                     "--no-progress-bar"])
    assert code == 0
    assert "camera route: distillation" in capsys.readouterr().out
    # distillation 2 rounds x 2 cars x 6 steps = 24; fine-tuning 40 -> 1 iteration of 32;
    # the teacher the rest, 44 -> 1 iteration of 32
    assert counted["steps"] == 32 + 24 + 32 <= 100
    config = json.loads((run / "run_config.json").read_text())
    assert config["sensor"] == "FRONT_FACING_CAMERA" and config["camera_route"] == "distill"
    names = sorted(p.name for p in (run / "model").glob("*.zip"))
    # 0_Step-0: the untrained student at the run's creation; rounds 1 and 2 after the
    # teacher's 32 steps and 12 each; the fine-tuning iteration 3 after 32 more
    assert names == ["0_Step-0.zip", "1_Step-44.zip", "2_Step-56.zip", "3_Step-88.zip"]
    assert (run / "training_state.json").is_file() and (run / "teacher" / "model").is_dir()
    assert len((run / "metrics" / "iterations.jsonl").read_text().splitlines()) == 3
    report = evaluate_run(run, laps=1)
    assert len(report.laps) == 1
    export_run(run, tmp_path / "exported")
    assert errors(check_path(tmp_path / "exported")) == []


@pytest.mark.parametrize("continuous", [False, True])
def test_loss_is_the_kl_to_the_teacher(continuous):
    """Targets equal to the student's own outputs: KL 0. Continuous, teacher means shifted by 1
    at the student's std 1 (log_std 0 at the start): KL = 2 x 1 / (2 x 1^2) = 1; values off
    by 2: squared error 4."""
    space = (ActionSpace(np.array([[-30.0, 30.0], [0.5, 1.0]]), continuous=True) if continuous
             else SPACE)
    torch.manual_seed(0)
    student = build_camera_policy(space)
    frames = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (3, 1, 120, 160),
                                                                dtype=np.uint8))
    with torch.no_grad():
        dist = student.get_distribution(frames.float()).distribution
        own = (torch.cat([dist.mean, dist.stddev.log()], 1) if continuous else dist.probs)
        values = student.predict_values(frames.float()).reshape(-1)
        _, kl, err = distill_loss(student, frames, own, values, 1.0)
        assert kl == pytest.approx(0.0, abs=1e-6) and err == pytest.approx(0.0, abs=1e-9)
        if continuous:
            shifted = own.clone()
            shifted[:, :2] += 1.0
            _, kl, err = distill_loss(student, frames, shifted, values + 2.0, 1.0)
            assert kl == pytest.approx(1.0, abs=1e-5) and err == pytest.approx(4.0, abs=1e-4)


def test_camera_route_choice(tmp_path):
    """auto: distillation (PPO trains on the CPU); a clone and --resume continue with PPO;
    --teacher only with distillation."""
    cfg = TrainConfig(reward=REWARD, action_space=SPACE, version=6.0, out=tmp_path,
                      sensor=FRONT_FACING_CAMERA)
    assert camera_route(cfg) == "distill"
    cfg.camera_route = "ppo"
    assert camera_route(cfg) == "ppo"
    cfg.teacher = tmp_path
    with pytest.raises(UsageError, match="--teacher"):
        camera_route(cfg)
    cfg.teacher, cfg.init_from, cfg.camera_route = None, tmp_path / "1_Step-8.zip", "auto"
    assert camera_route(cfg) == "ppo"
    cfg.camera_route = "distill"
    with pytest.raises(UsageError, match="--clone"):
        camera_route(cfg)
    cfg.init_from, cfg.resume = None, True  # --resume continues a camera run with PPO
    with pytest.raises(UsageError, match="--resume"):
        camera_route(cfg)
    cfg.camera_route = "auto"
    assert camera_route(cfg) == "ppo"
