"""Committing checkpoints: the pointer is rewritten before any checkpoint it named is deleted; a
SIGKILL during the first evaluation, or a stop at the very first step, leaves a run every tool
accepts (and that resumes); a pickle payload in a run's checkpoint never runs when the run is
resumed or cloned."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from training_helpers import (
    CENTER,
    ROOT,
    SMALL,
    checkpoint_files,
    pointer,
    poison_checkpoint,
    small_config,
)

from deepracer_sim.cli import main as cli_main
from deepracer_sim.export import clone_source, export_run
from deepracer_sim.formats.checkpoints import run_checkpoint_parts
from deepracer_sim.logs.events import LapResult
from deepracer_sim.logs.reader import read_run
from deepracer_sim.training.checkpoints import Checkpointer
from deepracer_sim.training.evaluation import evaluate_run
from deepracer_sim.training.ppo import TrainingObserver, train


def test_the_pointer_moves_off_a_checkpoint_before_it_is_deleted(tmp_path: Path,
                                                                 monkeypatch) -> None:
    # evaluation progress of checkpoints 1..6: 1 is the best until 6 beats it, when 1 (the
    # pointer's best until then) and 2 fall out of the kept ones (the last 4 and the best)
    progress = iter([50.0, 10.0, 10.0, 10.0, 10.0, 60.0])

    def evaluate(self, model, should_stop=None) -> list[LapResult]:
        return [LapResult(next(progress), 20.0, "off_track", 300, 10.0, 0.0)]

    monkeypatch.setattr(Checkpointer, "evaluate", evaluate)
    out = tmp_path / "run"
    real_unlink = Path.unlink
    deleted: list[tuple[str, list[str]]] = []

    def unlink(self: Path, missing_ok: bool = False) -> None:
        if self.parent == out / "model" and run_checkpoint_parts(self.name) is not None:
            # what a process killed right now would leave as the pointer
            deleted.append((self.name, sorted(e["name"] for e in pointer(out).values())))
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", unlink)
    train(small_config(out, timesteps=768), progress_bar=False)
    assert deleted == [
        ("0_Step-0.zip", ["1_Step-128.zip", "4_Step-512.zip"]),
        ("1_Step-128.zip", ["6_Step-768.zip", "6_Step-768.zip"]),
        ("2_Step-256.zip", ["6_Step-768.zip", "6_Step-768.zip"]),
    ]
    assert checkpoint_files(out) == ["3_Step-384.zip", "4_Step-512.zip", "5_Step-640.zip",
                                     "6_Step-768.zip"]


_KILLED_IN_THE_FIRST_EVALUATION = """
import os, signal, sys
from deepracer_sim.cli import main
from deepracer_sim.training.checkpoints import Checkpointer

def evaluate(self, model, should_stop=None):
    os.kill(os.getpid(), signal.SIGKILL)  # checkpoint 1 is saved, not yet committed

Checkpointer.evaluate = evaluate
sys.exit(main(sys.argv[1:]))
"""


def test_a_kill_during_the_first_evaluation_leaves_a_usable_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    code = subprocess.run([sys.executable, "-c", _KILLED_IN_THE_FIRST_EVALUATION, "train",
                           "--reward", str(CENTER), "--out", str(out), "--timesteps", "1280",
                           *SMALL], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=600)
    assert code.returncode == -signal.SIGKILL, code.stderr
    # checkpoint 1 was written but not committed: the pointer names checkpoint 0 (the policy
    # iteration 0 was driven by), best and last
    assert checkpoint_files(out) == ["0_Step-0.zip", "1_Step-128.zip"]
    info = pointer(out)
    assert info["best_checkpoint"]["name"] == info["last_checkpoint"]["name"] == "0_Step-0.zip"
    # every tool accepts the run
    assert len(evaluate_run(out, laps=1).laps) == 1
    assert export_run(out, tmp_path / "export").checkpoint == "0_Step-0.ckpt"
    assert clone_source(out).checkpoint == out / "model" / "0_Step-0.zip"
    read_run(out)  # the logs parse (iteration 0's sim-trace is written after the evaluation)
    # and it resumes: the uncommitted checkpoint 1 is made again
    assert cli_main(["train", "--out", str(out), "--resume", "--timesteps", "128",
                     *SMALL]) == 0
    assert pointer(out)["last_checkpoint"]["name"] == "1_Step-128.zip"


def test_resume_and_clone_never_run_a_pickle_payload(tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(small_config(out, timesteps=128), progress_bar=False)
    marker = tmp_path / "payload-ran"
    for name in checkpoint_files(out):
        poison_checkpoint(out / "model" / name, marker)
    assert cli_main(["train", "--reward", str(CENTER), "--clone", str(out), "--out",
                     str(tmp_path / "clone"), "--timesteps", "128", *SMALL]) == 0
    assert cli_main(["train", "--out", str(out), "--resume", "--timesteps", "128",
                     *SMALL]) == 0
    assert pointer(out)["last_checkpoint"]["name"] == "2_Step-256.zip"
    assert not marker.exists()


class StopAtTheFirstStep(TrainingObserver):
    """SIGTERM to this process from inside the first vectorised step."""

    def on_start(self, run, env, model) -> None:
        env.listeners.append(lambda venv, actions, rewards: os.kill(os.getpid(),
                                                                     signal.SIGTERM))


def test_a_stop_at_the_first_step_leaves_a_run_every_tool_takes(tmp_path: Path,
                                                                capsys) -> None:
    out = tmp_path / "run"
    result = train(small_config(out, timesteps=1280), progress_bar=False,
                   observers=[StopAtTheFirstStep()])
    # one step of 2 cars, all of it the PREPARE rows of their first episodes
    assert result.exit_code == 143 and result.saved_at_stop == "1_Step-2.zip"
    assert cli_main(["analyze", str(out), "--out", str(tmp_path / "report")]) == 0
    assert (tmp_path / "report" / "index.html").is_file()
    assert cli_main(["evaluate", str(out), "--laps", "1", "--checkpoint", "last"]) == 0
    assert cli_main(["export", str(out), "--out", str(tmp_path / "export")]) == 0
    assert "Traceback" not in capsys.readouterr().err
