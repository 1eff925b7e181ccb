"""The training budget in seconds (``train --seconds``): training stops at the step where the
budget is used up, or after the iteration whose update or evaluation used it up, and ends with
a usable run (the policy saved as a checkpoint, the pointer on it, exit status 0)."""

from __future__ import annotations

from pathlib import Path

from training_helpers import CENTER, SMALL, checkpoint_files, pointer, small_config

from deepracer_sim.cli import main as cli_main
from deepracer_sim.formats.model_metadata import discrete_action_space
from deepracer_sim.training import callbacks
from deepracer_sim.training.evaluation import evaluate_run
from deepracer_sim.training.policy import load_policy
from deepracer_sim.training.ppo import TrainingObserver, train


class StepClock(TrainingObserver):
    """A clock that reads one second per vectorised step of the training env, plus ``jump``
    seconds once iteration ``at`` is finished (an update or evaluation that takes long)."""

    def __init__(self, jump: float = 0.0, at: int = -1) -> None:
        self.steps, self.extra, self.jump, self.at = 0, 0.0, jump, at

    def __call__(self) -> float:
        return float(self.steps) + self.extra

    def on_start(self, run, env, model) -> None:
        def listener(venv, actions, rewards) -> None:
            self.steps += 1
        env.listeners.append(listener)

    def on_iteration(self, stats) -> None:
        if stats.iteration == self.at:
            self.extra += self.jump


def test_the_budget_cuts_the_rollout_and_saves_the_policy(tmp_path: Path, monkeypatch) -> None:
    clock = StepClock()
    monkeypatch.setattr(callbacks, "clock", clock)
    run = tmp_path / "run"
    result = train(small_config(run, timesteps=2560, seconds=200.0), progress_bar=False,
                   observers=[clock])
    # 200 s = 200 steps of 2 cars: updates at 128, 256 and 384 steps (checkpoints 1-3); the
    # rollout of iteration 3 is cut off at 400 steps, its policy saved as number 4
    assert result.stop_reason == "--seconds: the training budget of 200 s was used up"
    assert result.exit_code == 0 and not result.interrupted
    assert result.timesteps == 400 and result.saved_at_stop == "4_Step-400.zip"
    assert checkpoint_files(run) == ["1_Step-128.zip", "2_Step-256.zip", "3_Step-384.zip",
                                     "4_Step-400.zip"]
    info = pointer(run)
    assert info["last_checkpoint"]["name"] == "4_Step-400.zip"
    assert info["last_checkpoint"]["avg_eval_metric"] is None  # not evaluated at the stop
    assert (run / "model" / info["best_checkpoint"]["name"]).is_file()
    load_policy(run / "model" / "4_Step-400.zip", discrete_action_space())


def test_a_budget_used_up_in_an_update_ends_after_that_iteration(tmp_path: Path,
                                                                 monkeypatch) -> None:
    # iteration 1 (steps 128..256) finishes at 128 clock seconds, then "takes" 1000 s more:
    # the budget of 150 s is checked before the next rollout takes a step
    clock = StepClock(jump=1000.0, at=1)
    monkeypatch.setattr(callbacks, "clock", clock)
    run = tmp_path / "run"
    result = train(small_config(run, timesteps=2560, seconds=150.0), progress_bar=False,
                   observers=[clock])
    assert result.stop_reason == "--seconds: the training budget of 150 s was used up"
    assert result.timesteps == 256 and result.saved_at_stop is None
    assert [s.iteration for s in result.iterations] == [0, 1]
    info = pointer(run)
    assert info["last_checkpoint"]["name"] == "2_Step-256.zip"
    assert info["last_checkpoint"]["avg_eval_metric"] is not None  # evaluated as usual


def test_train_seconds_on_the_command_line(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert cli_main(["train", "--reward", str(CENTER), "--out", str(out), "--timesteps",
                     "1000000", "--seconds", "1.5", *SMALL]) == 0
    printed = capsys.readouterr().out
    assert "--seconds: the training budget of 1.5 s was used up" in printed
    last = pointer(out)["last_checkpoint"]["name"]
    assert (out / "model" / last).is_file() and f"last checkpoint: {last}" in printed
    steps = int(last.split("_Step-")[1].removesuffix(".zip"))
    assert 0 < steps < 1000000
    assert f"resume it: python train.py --out {out} --resume" in printed
    assert evaluate_run(out, laps=1, checkpoint="last").laps
