"""``train --resume``: the same folder goes on from its last checkpoint (weights, optimizer,
steps, next number), the logs continue, the run's own files are kept, differing options are
refused, and whatever a kill left after the last checkpoint is cut back first."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch
from training_helpers import CENTER, SMALL, checkpoint_files, pointer, simtrace_files

from deepracer_sim.cli import main as cli_main
from deepracer_sim.logs.reader import read_run
from deepracer_sim.training import ppo as training
from deepracer_sim.training.policy import read_checkpoint_state


def train_cli(out: Path, *extra: str, timesteps: int = 256) -> int:
    return cli_main(["train", "--out", str(out), "--timesteps", str(timesteps), *SMALL, *extra])


@pytest.fixture
def first(tmp_path: Path) -> Path:
    """A run of 2 updates: checkpoints 0, 1, 2; sim-trace iterations 0, 1."""
    out = tmp_path / "run"
    assert train_cli(out, "--reward", str(CENTER)) == 0
    return out


def test_resume_continues_the_run(first: Path, monkeypatch, capsys) -> None:
    state, optimizer = read_checkpoint_state(first / "model" / "2_Step-256.zip")
    log_lines = (first / "logs" / "training.log").read_text().splitlines()
    started: dict = {}

    class AtStart(training.TrainingObserver):
        def on_start(self, run, env, model) -> None:
            started["steps"] = model.num_timesteps
            started["policy"] = {k: v.clone() for k, v in model.policy.state_dict().items()}
            started["optimizer"] = copy.deepcopy(model.policy.optimizer.state_dict())

    original = training.default_observers
    monkeypatch.setattr(training, "default_observers", lambda cfg: [*original(cfg), AtStart()])
    capsys.readouterr()
    assert train_cli(first, "--resume") == 0
    assert "resumed from checkpoint 2_Step-256.zip" in capsys.readouterr().out
    # it went on from checkpoint 2: its weights, optimizer state and step count
    assert started["steps"] == 256
    for key, value in state.items():
        assert torch.equal(started["policy"][key], value), key
    for key, value in optimizer["state"][0].items():
        assert torch.equal(started["optimizer"]["state"][0][key], value), key
    # 256 more steps: checkpoints 3 and 4, iterations 2 and 3 (driven by checkpoints 2, 3)
    assert pointer(first)["last_checkpoint"]["name"] == "4_Step-512.zip"
    assert checkpoint_files(first) == ["1_Step-128.zip", "2_Step-256.zip", "3_Step-384.zip",
                                       "4_Step-512.zip"]
    assert simtrace_files(first) == [f"{i}-iteration.csv" for i in range(4)]
    rows = [json.loads(line) for line in
            (first / "metrics" / "iterations.jsonl").read_text().splitlines()]
    assert [(r["iteration"], r["checkpoint"], r["steps"]) for r in rows] == [
        (0, "1_Step-128.zip", 128), (1, "2_Step-256.zip", 256), (2, "3_Step-384.zip", 384),
        (3, "4_Step-512.zip", 512)]
    # the text log is appended: the lines before are kept, episodes keep counting
    lines = (first / "logs" / "training.log").read_text().splitlines()
    assert lines[:len(log_lines)] == log_lines
    episodes = [int(line.split("Episode=")[1].split(",")[0]) for line in lines
                if line.startswith("Training>")]
    assert episodes == list(range(1, len(episodes) + 1))
    # TrainingMetrics.json holds all 4 iterations, numbered as deepracer-utils derives them,
    # and the simulated clock went on (no episode starts before the resume's first step)
    logs = read_run(first)
    assert sorted(set(logs.training.columns["iteration"].tolist())) == [0, 1, 2, 3]
    training_entries = [m for m in logs.training_metrics if m["phase"] == "training"]
    by_iteration = {}
    for m in training_entries:
        by_iteration[m["iteration"]] = by_iteration.get(m["iteration"], 0) + 1
    episodes_csv = logs.training.episodes
    assert len(training_entries) == len(episodes_csv["steps"])
    assert sorted(by_iteration) == [0, 1, 2, 3]
    tstamps = logs.training.columns["tstamp"]
    iterations = logs.training.columns["iteration"]
    assert tstamps[iterations >= 2].min() >= 256 / 2 / 15 - 1e-9
    config = json.loads((first / "run_config.json").read_text())
    assert config["timesteps"] == 512
    assert [(r["from"], r["timesteps"]) for r in config["resumed"]] == [("2_Step-256.zip", 256)]


def test_resume_keeps_the_runs_own_settings(first: Path, tmp_path: Path, capsys) -> None:
    other_reward = tmp_path / "other.py"
    other_reward.write_text("def reward_function(params):\n    return 2.0\n")
    hp = tmp_path / "hp.json"
    hp.write_text(json.dumps({"lr": 0.001}))
    capsys.readouterr()
    assert train_cli(first, "--resume", "--reward", str(other_reward), "--hyperparameters",
                     str(hp), "--n-envs", "4", "--max-speed", "2", "--track",
                     "dr_sim_twister") == 2
    err = capsys.readouterr().err
    assert f"--resume continues {first} with its own settings, but these differ" in err
    assert f"--reward {other_reward} is not the run's reward_function.py" in err
    assert "lr = 0.001 (the run's: 0.0003)" in err
    assert "batch_size" not in err  # 256 lowered to the rollout of 128, as the run trained
    assert "--n-envs 4 (the run's: 2)" in err
    # 10 actions as the run's, but up to 2 m/s instead of 1
    assert "the action space given (10 actions, other values) is not the run's" in err
    assert "--track dr_sim_twister is not the run's track dr_sim_default" in err
    # the same values are fine (the run's own reward file, its n_envs, DeepRacer's default
    # hyperparameters, whose batch_size of 256 the run lowered to its rollout of 128)
    default_hp = tmp_path / "default.json"
    default_hp.write_text("{}")
    assert train_cli(first, "--resume", "--reward", str(CENTER), "--n-envs", "2",
                     "--hyperparameters", str(default_hp), timesteps=128) == 0
    assert pointer(first)["last_checkpoint"]["name"] == "3_Step-384.zip"
    # --resume needs a run
    assert train_cli(tmp_path / "nothing", "--resume") == 2
    assert "is not a training run folder" in capsys.readouterr().err


def test_resume_cuts_back_what_a_kill_left_after_the_last_checkpoint(first: Path) -> None:
    """As if killed after iteration 2's logs and checkpoint 3's zip were written, before the
    pointer named it: an extra zip, sim-trace, text-log and iterations.jsonl lines, a torn
    temporary file, and sim-trace 0 renumbered for a larger block."""
    model = first / "model"
    (model / "3_Step-384.zip").write_bytes((model / "2_Step-256.zip").read_bytes())
    (model / ".3_Step-384.zip.part-0000.tmp").write_bytes(b"PK\x03")
    sim = first / "training-simtrace"
    (sim / "2-iteration.csv").write_text((sim / "1-iteration.csv").read_text())
    with (first / "logs" / "training.log").open("a") as fh:
        fh.write("Training> Name=main_level/agent, Worker=0, Episode=999, Total reward=1.0, "
                 "Steps=9, Training iteration=2\nPolicy training> Surr")
    with (first / "metrics" / "iterations.jsonl").open("a") as fh:
        fh.write('{"iteration": 2, "checkpoint": "3_Step-384.zip"}\n{"itera')
    lines = (sim / "0-iteration.csv").read_text().splitlines()
    head, rows = lines[0], [line.split(",", 1) for line in lines[1:]]
    episodes = sorted({int(r[0]) for r in rows})
    shifted = {str(e): str(e + 100) for e in episodes}  # a renumbering cut short
    (sim / "0-iteration.csv").write_text(
        "\n".join([head, *(shifted[r[0]] + "," + r[1] for r in rows)]) + "\n")
    assert train_cli(first, "--resume", timesteps=128) == 0
    # checkpoint 3 is the resumed run's own (384 steps after 256), iteration 2 its episodes
    assert pointer(first)["last_checkpoint"]["name"] == "3_Step-384.zip"
    assert not list(model.glob(".*.tmp"))
    assert simtrace_files(first) == ["0-iteration.csv", "1-iteration.csv", "2-iteration.csv"]
    text = (first / "logs" / "training.log").read_text()
    assert "Episode=999" not in text and "Surr\n" not in text and "Policy training> Surr" \
        not in text.replace("Policy training> Surrogate", "")
    rows_after = [json.loads(line) for line in
                  (first / "metrics" / "iterations.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows_after] == [0, 1, 2]
    # episode numbers consistent again: iteration 0 is 0, 1, ..., and K - 1 for its last
    # episode (K = the largest iteration's episodes), so iteration = (episode - 1) // K
    logs = read_run(first)
    restored = sorted(set(logs.training.columns["episode"][
        logs.training.columns["iteration"] == 0].tolist()))
    metrics = [m for m in logs.training_metrics if m["phase"] == "training"]
    block = max(m["trial"] for m in metrics)
    assert restored == [*range(len(episodes) - 1), block - 1]
    assert sorted({m["iteration"] for m in metrics}) == [0, 1, 2]
