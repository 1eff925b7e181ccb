"""End to end: train.py then evaluate.py, the run folder, and training that is interrupted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from deepracer_sim.cli import main as cli_main
from deepracer_sim.formats.model_metadata import read_model_metadata
from deepracer_sim.training.evaluation import load_evaluation
from deepracer_sim.training.ppo import TrainConfig
from deepracer_sim.training.ppo import train as train_fn

ROOT = Path(__file__).resolve().parents[1]
SHORT = ["--timesteps", "4096", "--n-envs", "8", "--n-steps", "128", "--no-progress-bar"]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "center"
    code = cli_main(["train", "--reward", str(ROOT / "rewards" / "center.py"), "--out", str(out),
                       "--max-speed", "1.5", "--speed-levels", "3", "--physics", "v5", *SHORT])
    assert code == 0
    return out


def test_run_folder_has_deepracer_files(trained_run: Path) -> None:
    assert (trained_run / "reward_function.py").read_bytes() == \
        (ROOT / "rewards" / "center.py").read_bytes()
    space, version = read_model_metadata(trained_run / "model" / "model_metadata.json")
    # 5 steering levels x 3 speed levels of 1.5 m/s: 0.5, 1.0, 1.5
    assert len(space) == 15
    assert sorted(set(space.speed.tolist())) == [0.5, 1.0, 1.5]
    assert version == 6.0
    hp = json.loads((trained_run / "ip" / "hyperparameters.json").read_text())
    assert list(hp) == sorted(hp) and "sac_alpha" not in hp
    ckpt = json.loads((trained_run / "model" / "deepracer_checkpoints.json").read_text())
    # 4096 steps / (8 cars x 128 steps) = 4 updates: checkpoints 0 (untrained) to 4
    assert ckpt["last_checkpoint"]["name"] == "4_Step-4096.zip"
    assert (trained_run / "model" / ckpt["best_checkpoint"]["name"]).is_file()
    assert 0.0 <= ckpt["best_checkpoint"]["avg_eval_metric"] <= 100.0


def test_evaluate_json(trained_run: Path, capsys) -> None:
    assert cli_main(["evaluate", str(trained_run), "--laps", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["track"] == "dr_sim_default"
    assert len(report["laps"]) == 2
    assert set(report["laps"][0]) == {"progress", "lap_time", "status"}
    done = [lap["status"] == "lap_complete" for lap in report["laps"]]
    assert report["completion_rate"] == sum(done) / 2


def test_evaluate_cli_table_on_another_track(trained_run: Path) -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "evaluate.py"), str(trained_run),
                           "--track", "dr_sim_twister", "--laps", "1", "--checkpoint", "last"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "dr_sim_twister" in proc.stdout and "completion rate" in proc.stdout


def test_evaluate_rejects_a_folder_that_is_not_a_run(tmp_path: Path, capsys) -> None:
    assert cli_main(["evaluate", str(tmp_path)]) == 2
    assert "not a training run folder" in capsys.readouterr().err


def test_bad_inputs_fail_before_writing(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert cli_main(["train", "--reward", str(tmp_path / "missing.py"), "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli_main(["train", "--reward", str(ROOT / "rewards" / "center.py"), "--out", str(out),
                       "--track", "no_such_track"]) == 2
    assert "unknown track 'no_such_track'" in capsys.readouterr().err
    assert cli_main(["train", "--reward", str(ROOT / "rewards" / "center.py"), "--out", str(out),
                       "--max-steering", "45"]) == 2
    assert "max steering angle" in capsys.readouterr().err
    assert not out.exists()


def _config(tmp_path: Path, reward: Path) -> TrainConfig:
    from deepracer_sim.formats.model_metadata import discrete_action_space

    return TrainConfig(reward=reward, track="dr_sim_default",
                       action_space=discrete_action_space(), version=6.0,
                       out=tmp_path / "run", timesteps=4096, n_envs=4, n_steps=128)


def test_ctrl_c_keeps_a_usable_checkpoint(tmp_path: Path) -> None:
    # The reward function raises KeyboardInterrupt (as Ctrl-C would) on its 300th call (each
    # car has its own instance: car 0 gets there first, in the second of 4 iterations).
    reward = tmp_path / "interrupting.py"
    reward.write_text("calls = [0]\n\n\ndef reward_function(params):\n"
                      "    calls[0] += 1\n"
                      "    if calls[0] == 300:\n"
                      "        raise KeyboardInterrupt\n"
                      "    return 1.0\n")
    result = train_fn(_config(tmp_path, reward), progress_bar=False)
    assert result.interrupted
    assert result.timesteps < 4096
    ckpt = json.loads((result.run_dir / "model" / "deepracer_checkpoints.json").read_text())
    name = ckpt["last_checkpoint"]["name"]
    assert (result.run_dir / "model" / name).is_file()
    # the interrupted run evaluates like any other
    assert cli_main(["evaluate", str(result.run_dir), "--checkpoint", "last", "--laps", "1"]) == 0


def test_reward_error_during_training_saves_checkpoint_then_reports(tmp_path: Path,
                                                                    capsys) -> None:
    reward = tmp_path / "breaks_late.py"
    reward.write_text("def reward_function(params):\n"
                      "    if params['progress'] > 5:\n"
                      "        return params['no_such_key']\n"
                      "    return 1.0\n")
    out = tmp_path / "run"
    code = cli_main(["train", "--reward", str(reward), "--out", str(out), *SHORT])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{reward}:3: reward_function raised KeyError: 'no_such_key'" in err
    ckpt = json.loads((out / "model" / "deepracer_checkpoints.json").read_text())
    assert (out / "model" / ckpt["last_checkpoint"]["name"]).is_file()


def test_iteration_log(trained_run: Path) -> None:
    lines = (trained_run / "metrics" / "iterations.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    # 4 iterations of 8 cars x 128 steps
    assert [r["iteration"] for r in rows] == [0, 1, 2, 3]
    assert [r["steps"] for r in rows] == [1024, 2048, 3072, 4096]
    walls = [r["wall_time"] for r in rows]
    assert walls == sorted(walls) and walls[0] > 0
    for r in rows:
        assert len(r["eval_laps"]) == 5  # the default evaluation episodes per iteration
        starts = [lap["start"] for lap in r["eval_laps"]]
        assert starts == [0.0, 0.2, 0.4, 0.6, 0.8]
        assert "entropy_loss" in r and "approx_kl" in r
        assert (trained_run / "model" / r["checkpoint"]).name == r["checkpoint"]


def test_the_run_records_its_physics_and_evaluate_uses_it(trained_run: Path) -> None:
    # --physics v5 drove the training; --version (default 6) only wrote model_metadata.json's
    config = json.loads((trained_run / "run_config.json").read_text())
    assert (config["physics"], config["version"]) == ("v5", 6.0)
    assert load_evaluation(trained_run).physics == "v5"
    assert load_evaluation(trained_run, physics="v4").physics == "v4"
    # a run folder written before the physics was recorded: its version's car (6: v6)
    del config["physics"]
    (trained_run / "run_config.json").write_text(json.dumps(config))
    try:
        assert load_evaluation(trained_run).physics == "v6"
    finally:
        config["physics"] = "v5"
        (trained_run / "run_config.json").write_text(json.dumps(config))
