"""SIGINT, SIGTERM and SIGHUP end training the same way: stop at the next step, save the
policy as the next checkpoint and the pointer, flush the logs, say where the run is and how to
resume it, exit 128 + signal; a second signal waits for the save; the episode limit ends with
a saved model and says so."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from training_helpers import (
    CENTER,
    ROOT,
    SMALL,
    checkpoint_files,
    pointer,
    simtrace_files,
    small_config,
)

from deepracer_sim.cli import main as cli_main
from deepracer_sim.cli import train as train_command
from deepracer_sim.formats.model_metadata import discrete_action_space
from deepracer_sim.logs.reader import read_run
from deepracer_sim.training import checkpoints as checkpoints_module
from deepracer_sim.training import ppo as training
from deepracer_sim.training.evaluation import evaluate_run
from deepracer_sim.training.policy import load_policy
from deepracer_sim.training.ppo import TrainingObserver, train


class SignalAtStep(TrainingObserver):
    """Sends ``sig`` to this process from inside the ``step``-th vectorised step."""

    def __init__(self, sig: int, step: int) -> None:
        self.sig, self.step, self.count = sig, step, 0

    def on_start(self, run, env, model) -> None:
        def listener(venv, actions, rewards) -> None:
            self.count += 1
            if self.count == self.step:
                os.kill(os.getpid(), self.sig)
        env.listeners.append(listener)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_saves_the_policy_as_the_next_checkpoint(sig, tmp_path: Path) -> None:
    def outside(signum, frame):
        raise AssertionError("the signal reached the caller's handler during training")

    previous = signal.signal(sig, outside)
    try:
        result = train(small_config(tmp_path / "run", timesteps=2560), progress_bar=False,
                       observers=[SignalAtStep(sig, 200)])
        assert signal.getsignal(sig) is outside  # the caller's handler is back
    finally:
        signal.signal(sig, previous)
    run = tmp_path / "run"
    assert result.exit_code == 128 + sig and result.interrupted
    assert result.stop_reason == f"stopped by {signal.Signals(sig).name}"
    # 200 steps of 2 cars: updates at 128, 256 and 384 steps (checkpoints 1-3); the rollout of
    # iteration 3 is cut off at 400 steps and its policy (checkpoint 3's) saved as number 4
    assert result.timesteps == 400
    assert result.saved_at_stop == "4_Step-400.zip"
    # (the last 4 are kept, as DeepRacer's NUM_MODELS_TO_KEEP: 0_Step-0 is gone)
    assert checkpoint_files(run) == ["1_Step-128.zip", "2_Step-256.zip", "3_Step-384.zip",
                                     "4_Step-400.zip"]
    info = pointer(run)
    assert info["last_checkpoint"]["name"] == "4_Step-400.zip"
    assert info["last_checkpoint"]["avg_eval_metric"] is None  # not evaluated at the stop
    assert (run / "model" / info["best_checkpoint"]["name"]).is_file()
    # the cut-off rollout's 8 steps of each car (with the earlier steps of the episodes they
    # continue) are iteration 3's sim-trace, the episodes still running end "in_progress";
    # 4 iterations for checkpoints 0..3, as DeepRacer numbers them
    assert simtrace_files(run) == [f"{i}-iteration.csv" for i in range(4)]
    logs = read_run(run)
    cols = logs.training.columns
    last = cols["iteration"] == 3
    assert int((last & (cols["tstamp"] > 191.5 / 15)).sum()) == 16  # steps 193..200
    assert "in_progress" in set(cols["episode_status"][last].tolist())
    load_policy(run / "model" / "4_Step-400.zip", discrete_action_space())


def test_a_second_signal_waits_for_the_save(tmp_path: Path, monkeypatch, capfd) -> None:
    real_write = checkpoints_module.atomic_write_bytes
    sent = []

    def write_with_a_second_signal(path, data) -> None:
        if sent == [] and Path(path).name == "4_Step-400.zip":
            sent.append(path)
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the stop's zip is written
        real_write(path, data)

    monkeypatch.setattr(checkpoints_module, "atomic_write_bytes", write_with_a_second_signal)
    result = train(small_config(tmp_path / "run", timesteps=2560), progress_bar=False,
                   observers=[SignalAtStep(signal.SIGTERM, 200)])
    assert sent and result.exit_code == 143
    assert "SIGINT: still saving the checkpoint; waiting for it" in capfd.readouterr().err
    load_policy(tmp_path / "run" / "model" / "4_Step-400.zip", discrete_action_space())
    assert pointer(tmp_path / "run")["last_checkpoint"]["name"] == "4_Step-400.zip"


def test_sigterm_to_the_command(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "deepracer_sim", "train", "--reward",
                             str(CENTER), "--out", str(out), "--timesteps", "100000", *SMALL],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:  # wait for checkpoint 2
        if len(list((out / "model").glob("*_Step-*.zip"))) >= 3:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "SIGTERM: stopping after this step" in stderr
    last = pointer(out)["last_checkpoint"]["name"]
    assert f"run folder: {out}" in stdout and "stopped by SIGTERM" in stdout
    assert f"last checkpoint: {last}" in stdout
    assert f"resume it: python train.py --out {out} --resume" in stdout
    load_policy(out / "model" / last, discrete_action_space())


def test_the_episode_limit_ends_with_a_saved_model(tmp_path: Path, capsys) -> None:
    hp = tmp_path / "hp.json"
    hp.write_text(json.dumps({"term_cond_max_episodes": 3}))
    out = tmp_path / "run"
    assert cli_main(["train", "--reward", str(CENTER), "--out", str(out), "--hyperparameters",
                     str(hp), "--timesteps", "2560", *SMALL]) == 0
    printed = capsys.readouterr().out
    assert "term_cond_max_episodes: 3 training episodes reached the limit of 3" in printed
    last = pointer(out)["last_checkpoint"]["name"]
    assert f"last checkpoint: {last} (saved at the stop, not evaluated)" in printed
    assert (out / "model" / last).is_file() and last != "0_Step-0.zip"
    assert f"evaluate it: python evaluate.py {out}" in printed
    assert evaluate_run(out, laps=1, checkpoint="last").laps


def test_a_signal_the_process_ignores_stays_ignored(tmp_path: Path) -> None:
    # nohup starts a process with SIGHUP ignored so that it survives the closed session
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        result = train(small_config(tmp_path / "run", timesteps=512), progress_bar=False,
                       observers=[SignalAtStep(signal.SIGHUP, 100)])
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert not result.interrupted and result.exit_code == 0 and result.timesteps == 512
    assert pointer(tmp_path / "run")["last_checkpoint"]["name"] == "4_Step-512.zip"


def test_a_late_second_signal_waits_for_the_report(tmp_path: Path, monkeypatch,
                                                   capfd) -> None:
    """The command holds the handlers until it has printed where the run is: a second Ctrl-C
    after the save (0.5 s after the first, say) does not end it with a KeyboardInterrupt."""
    original_observers, original_report = training.default_observers, train_command.report
    monkeypatch.setattr(training, "default_observers",
                        lambda cfg: [*original_observers(cfg), SignalAtStep(signal.SIGTERM, 100)])

    def report_after_a_signal(result):
        os.kill(os.getpid(), signal.SIGINT)
        return original_report(result)

    monkeypatch.setattr(train_command, "report", report_after_a_signal)
    reached = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: reached.append(signum))
    try:
        code = cli_main(["train", "--reward", str(CENTER), "--out", str(tmp_path / "run"),
                         "--timesteps", "2560", *SMALL])
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler  # restored
    finally:
        signal.signal(signal.SIGINT, previous)
    assert reached == [] and code == 143
    out = capfd.readouterr()
    assert "SIGINT: still saving the checkpoint; waiting for it" in out.err
    assert f"resume it: python train.py --out {tmp_path / 'run'} --resume" in out.out
