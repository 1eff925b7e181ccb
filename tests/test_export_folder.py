"""Tests for ``deepracer-sim export``: the exported model folder (spec §4-§6), its options,
the track names and the summary.

A briefly trained run is exported once (``export_helpers``); every file is checked against the
spec: names, JSON keys and types, the YAML quoting, the tar members. Expected values are worked
out by hand (comments) or read from the run's own files (what the export must carry over
unchanged).
"""

from __future__ import annotations

import json
import re
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest
from export_helpers import (
    REWARD,
    check_cli,
    copy_folder,
    edit_json,
    onnx_available,
    rel_files,
)

from deepracer_sim.cli import main as cli_main
from deepracer_sim.export import export_run, track_naming
from deepracer_sim.export import write as export_write
from deepracer_sim.export.policy import export_onnx
from deepracer_sim.formats.training_params import (
    OFFICIAL_TRACKS,
    dump_training_params,
    parse_training_params,
)
from deepracer_sim.training.policy import build_policy, load_policy

# spec §6.1: <iteration>_Step-<steps>.ckpt
CKPT = re.compile(r"^(\d+)_Step-(\d+)\.ckpt$")
# DRfC's yaml.dump(default_style="'"): every key and value single-quoted (spec §6.2)
YAML_LINE = re.compile(r"^'([A-Z0-9_]+)': '((?:[^']|'')*)'$")
SPEC_YAML_KEYS = {
    "AWS_REGION", "JOB_TYPE", "METRICS_S3_BUCKET", "METRICS_S3_OBJECT_KEY",
    "MODEL_METADATA_FILE_S3_KEY", "REWARD_FILE_S3_KEY", "SAGEMAKER_SHARED_S3_BUCKET",
    "SAGEMAKER_SHARED_S3_PREFIX", "BODY_SHELL_TYPE", "CAR_COLOR", "CAR_NAME", "RACE_TYPE",
    "WORLD_NAME", "DISPLAY_NAME", "RACER_NAME", "ALTERNATE_DRIVING_DIRECTION",
    "CHANGE_START_POSITION", "ROUND_ROBIN_ADVANCE_DIST", "START_POSITION_OFFSET",
    "ENABLE_DOMAIN_RANDOMIZATION", "MIN_EVAL_TRIALS",
}

pytest_plugins = ["export_fixtures"]  # the shared run and export fixtures


# ------------------------------------------------------------------------------- layout

def test_export_writes_the_deepracer_layout(run_dir: Path, exported: Path, run_info) -> None:
    best = run_info["best_checkpoint"]["name"].removesuffix(".zip")
    last = run_info["last_checkpoint"]["name"].removesuffix(".zip")
    # 4096 steps / (8 cars x 128 steps) = 4 updates: checkpoints 0 (untrained) to 4
    assert last == "4_Step-4096"
    files = rel_files(exported)
    expected = {"model_metadata.json", "reward_function.py", "training_params.yaml",
                "ip/hyperparameters.json", "model/model_metadata.json", "model/.coach_checkpoint",
                "model/deepracer_checkpoints.json", "model/policy_network.json", "model.tar.gz",
                "deepracer-for-cloud/run.env",
                "deepracer-for-cloud/custom_files/reward_function.py",
                "deepracer-for-cloud/custom_files/model_metadata.json",
                "deepracer-for-cloud/custom_files/hyperparameters.json"}
    for stem in {best, last}:
        expected |= {f"model/{stem}.ckpt.zip", f"model/{stem}.ckpt.pt"}
        if onnx_available():
            expected.add(f"model/model_{stem.split('_')[0]}.onnx")
    # the run's logs, whatever the logging code wrote (copied byte for byte)
    logs = {p for p in rel_files(run_dir) if p.split("/")[0] in ("metrics", "training-simtrace")
            or p.startswith("evaluation-")}
    assert "metrics/iterations.jsonl" in logs
    for rel in logs:
        assert (exported / rel).read_bytes() == (run_dir / rel).read_bytes()
    extra = files - expected - logs
    # DeepRacer-on-AWS's optional metrics/training/training-*.json (copy of TrainingMetrics)
    assert all(re.fullmatch(r"metrics/training/training-\d{14}\.json", p) for p in extra), extra
    assert bool(extra) == ("metrics/TrainingMetrics.json" in logs)
    # no partial folder left next to it
    assert not list(exported.parent.glob(".exported.*"))


def test_model_metadata_is_the_trained_action_space(exported: Path) -> None:
    root = json.loads((exported / "model_metadata.json").read_text())
    assert json.loads((exported / "model" / "model_metadata.json").read_text()) == root
    assert json.loads((exported / "deepracer-for-cloud" / "custom_files" /
                       "model_metadata.json").read_text()) == root
    assert set(root) == {"action_space", "sensor", "neural_network", "training_algorithm",
                         "action_space_type", "version"}
    assert root["sensor"] == ["FRONT_FACING_CAMERA"]
    assert root["neural_network"] == "DEEP_CONVOLUTIONAL_NETWORK_SHALLOW"
    assert root["training_algorithm"] == "clipped_ppo"
    assert root["action_space_type"] == "discrete"
    assert float(root["version"]) == 6.0
    # steering outer loop -30, -15, 0, 15, 30; speed inner loop 1.5/3 = 0.5, 1.0, 1.5
    want = [(s, v) for s in (-30.0, -15.0, 0.0, 15.0, 30.0) for v in (0.5, 1.0, 1.5)]
    got = [(a["steering_angle"], a["speed"]) for a in root["action_space"]]
    assert got == want
    for a in root["action_space"]:
        assert isinstance(a["steering_angle"], float) and isinstance(a["speed"], float)


def test_reward_and_hyperparameters_carry_over(run_dir: Path, exported: Path) -> None:
    for rel in ("reward_function.py", "deepracer-for-cloud/custom_files/reward_function.py"):
        assert (exported / rel).read_bytes() == REWARD.read_bytes()
    hp = json.loads((exported / "ip" / "hyperparameters.json").read_text())
    assert hp == json.loads((run_dir / "ip" / "hyperparameters.json").read_text())
    assert json.loads((exported / "deepracer-for-cloud" / "custom_files" /
                       "hyperparameters.json").read_text()) == hp
    assert list(hp) == sorted(hp) and "sac_alpha" not in hp  # the PPO set, spec §5
    assert set(hp) == {"batch_size", "beta_entropy", "discount_factor", "e_greedy_value",
                       "epsilon_steps", "exploration_type", "loss_type", "lr",
                       "num_episodes_between_training", "num_epochs", "stack_size",
                       "term_cond_avg_score", "term_cond_max_episodes"}
    for key in ("batch_size", "num_epochs", "num_episodes_between_training", "stack_size"):
        assert type(hp[key]) is int


def test_checkpoints_json_and_coach_checkpoint(run_dir: Path, exported: Path,
                                               run_info) -> None:
    info = json.loads((exported / "model" / "deepracer_checkpoints.json").read_text())
    assert set(info) == {"best_checkpoint", "last_checkpoint"}
    for key in info:
        entry = info[key]
        assert set(entry) == {"name", "avg_eval_metric", "time_stamp"}
        assert CKPT.match(entry["name"])
        run_entry = run_info[key]
        assert entry["name"] == run_entry["name"].replace(".zip", ".ckpt")
        # avg_eval_metric = mean evaluation progress of the checkpoint's evaluation laps
        rows = [json.loads(line) for line in
                (run_dir / "metrics" / "iterations.jsonl").read_text().splitlines()]
        laps = next(r["eval_laps"] for r in rows if r["checkpoint"] == run_entry["name"])
        assert entry["avg_eval_metric"] == pytest.approx(
            sum(lap["progress"] for lap in laps) / len(laps), abs=1e-9)
        # the files the entry names exist
        assert (exported / "model" / (entry["name"] + ".zip")).is_file()
    # last: 4096 steps over 8 cars at 15 Hz = 512 steps / 15 = 34.133 s of sim time
    assert info["last_checkpoint"]["time_stamp"] == pytest.approx(34.133)
    # .coach_checkpoint: one line naming the chosen (default: best) checkpoint
    assert (exported / "model" / ".coach_checkpoint").read_text().strip() == \
        info["best_checkpoint"]["name"]


def test_training_params_yaml_is_quoted_with_header(exported: Path) -> None:
    lines = (exported / "training_params.yaml").read_text().splitlines()
    assert lines[0] == "---"
    params = {}
    for line in lines[1:]:
        if line.startswith("#"):
            continue
        m = YAML_LINE.match(line)
        assert m, f"not a quoted 'KEY': 'value' line: {line!r}"
        params[m.group(1)] = m.group(2)
    assert set(params) >= SPEC_YAML_KEYS
    assert list(params) == sorted(params)
    assert params["WORLD_NAME"] == "dr_sim_default"
    assert params["JOB_TYPE"] == "TRAINING"
    assert params["RACE_TYPE"] == "TIME_TRIAL"
    assert params["ALTERNATE_DRIVING_DIRECTION"] == "false"
    assert params["CHANGE_START_POSITION"] == "true"
    assert float(params["ROUND_ROBIN_ADVANCE_DIST"]) == 0.05
    assert "TRACK_DIRECTION_CLOCKWISE" not in params  # not an official two-way track
    comments = " ".join(line for line in lines if line.startswith("#"))
    assert "'dr_sim_default' is not an official DeepRacer track" in comments


def test_car_archive_layout(exported: Path) -> None:
    with tarfile.open(exported / "model.tar.gz", "r:gz") as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        meta = json.loads(tar.extractfile("model_metadata.json").read())
    policy = "agent/model.onnx" if onnx_available() else "agent/model.pt"
    assert names == ["model_metadata.json", policy]
    assert all(m.isfile() for m in members)
    assert meta == json.loads((exported / "model_metadata.json").read_text())


def test_drfc_run_env(exported: Path) -> None:
    lines = (exported / "deepracer-for-cloud" / "run.env").read_text().splitlines()
    values = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert values["DR_WORLD_NAME"] == "dr_sim_default"
    assert values["DR_TRAIN_REVERSE_DIRECTION"] == "False"
    assert values["DR_TRAIN_ALTERNATE_DRIVING_DIRECTION"] == "False"
    assert values["DR_TRAIN_CHANGE_START_POSITION"] == "True"
    assert float(values["DR_TRAIN_ROUND_ROBIN_ADVANCE_DIST"]) == 0.05
    assert any("not an official DeepRacer track" in line for line in lines)


def test_state_dict_loads_as_plain_weights(run_dir: Path, exported: Path, run_info) -> None:
    import torch
    from stable_baselines3.common.save_util import load_from_zip_file

    stem = run_info["best_checkpoint"]["name"].removesuffix(".zip")
    state = torch.load(exported / "model" / f"{stem}.ckpt.pt", weights_only=True)
    _, params, _ = load_from_zip_file(run_dir / "model" / f"{stem}.zip", load_data=False)
    assert set(state) == set(params["policy"])
    for key, value in params["policy"].items():
        assert torch.equal(state[key], value), key
    # the SB3 checkpoint is the run's file, byte for byte
    assert (exported / "model" / f"{stem}.ckpt.zip").read_bytes() == \
        (run_dir / "model" / f"{stem}.zip").read_bytes()
    desc = json.loads((exported / "model" / "policy_network.json").read_text())
    assert desc["net_arch"] == [64, 64]
    assert desc["onnx"]["inputs"][0]["name"] == "observation"
    assert desc["onnx"]["inputs"][0]["shape"] == ["batch", 19]
    assert desc["onnx"]["outputs"][0]["shape"] == ["batch", 15]


def test_onnx_gives_the_policy_probabilities(run_dir: Path, exported: Path, run_info) -> None:
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import torch
    from stable_baselines3 import PPO

    from deepracer_sim.sim.observation import observation_bounds

    stem = run_info["best_checkpoint"]["name"].removesuffix(".zip")
    path = exported / "model" / f"model_{stem.split('_')[0]}.onnx"
    onnx.checker.check_model(onnx.load(str(path)))
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["observation"]
    assert [o.name for o in session.get_outputs()] == ["action_probabilities"]
    assert session.get_outputs()[0].shape[1] == 15
    low, high = observation_bounds()
    obs = np.random.default_rng(0).uniform(low, high, (64, 19)).astype(np.float32)
    (probs,) = session.run(None, {"observation": obs})
    # oracle: stable-baselines3's own loader and distribution (our test's own file)
    model = PPO.load(run_dir / "model" / f"{stem}.zip", device="cpu")
    with torch.no_grad():
        want = model.policy.get_distribution(torch.as_tensor(obs)).distribution.probs.numpy()
    assert probs.shape == (64, 15)
    np.testing.assert_allclose(probs, want, atol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-6)
    # the tar holds the chosen checkpoint's network
    with tarfile.open(exported / "model.tar.gz") as tar:
        assert tar.extractfile("agent/model.onnx").read() == path.read_bytes()


def test_onnx_of_a_continuous_policy(tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import torch

    from deepracer_sim.formats.model_metadata import ActionSpace
    from deepracer_sim.sim.observation import observation_bounds

    space = ActionSpace(np.array([[-20.0, 20.0], [0.5, 3.0]]), continuous=True)
    torch.manual_seed(1)
    policy = build_policy(space, (16, 8))
    with torch.no_grad():
        policy.log_std.copy_(torch.tensor([-0.5, 0.25]))
    export_onnx(policy, space, tmp_path / "p.onnx")
    session = ort.InferenceSession(str(tmp_path / "p.onnx"), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["action_mean", "action_log_std"]
    low, high = observation_bounds()
    obs = np.random.default_rng(1).uniform(low, high, (8, 19)).astype(np.float32)
    mean, log_std = session.run(None, {"observation": obs})
    with torch.no_grad():
        dist = policy.get_distribution(torch.as_tensor(obs)).distribution
    np.testing.assert_allclose(mean, dist.mean.numpy(), atol=1e-6)
    # the state-independent log std, one row per observation
    np.testing.assert_allclose(log_std, np.tile([-0.5, 0.25], (8, 1)), atol=1e-7)
    # and the weights survive a weights-only round trip
    torch.save(policy.state_dict(), tmp_path / "p.pt")
    again = load_policy(tmp_path / "p.pt", space)
    for key, value in policy.state_dict().items():
        assert torch.equal(again.state_dict()[key], value)


def test_export_without_onnx_falls_back_to_weights(run_dir: Path, tmp_path: Path,
                                                  monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if onnx were not installed
    result = export_run(run_dir, tmp_path / "out", checkpoint="last")
    assert not result.onnx
    assert not list((tmp_path / "out" / "model").glob("*.onnx"))
    assert any("no ONNX export" in line for line in result.summary)
    with tarfile.open(tmp_path / "out" / "model.tar.gz") as tar:
        assert tar.getnames() == ["model_metadata.json", "agent/model.pt"]
        assert tar.extractfile("agent/model.pt").read() == \
            (tmp_path / "out" / "model" / "4_Step-4096.ckpt.pt").read_bytes()


# ------------------------------------------------------------------------------- options

def test_checkpoint_by_number(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "one"
    assert cli_main(["export", str(run_dir), "--out", str(out), "--checkpoint", "2"]) == 0
    # checkpoint 2 follows the second update, at 2 x 1024 = 2048 steps (iteration 1's update);
    # only it is exported, as best and last
    assert (out / "model" / ".coach_checkpoint").read_text().strip() == "2_Step-2048.ckpt"
    info = json.loads((out / "model" / "deepracer_checkpoints.json").read_text())
    assert info["best_checkpoint"] == info["last_checkpoint"]
    assert info["best_checkpoint"]["name"] == "2_Step-2048.ckpt"
    rows = [json.loads(line) for line in
            (run_dir / "metrics" / "iterations.jsonl").read_text().splitlines()]
    laps = rows[1]["eval_laps"]
    assert info["best_checkpoint"]["avg_eval_metric"] == pytest.approx(
        sum(lap["progress"] for lap in laps) / len(laps))
    ckpts = sorted(p.name for p in (out / "model").iterdir() if ".ckpt." in p.name)
    assert ckpts == ["2_Step-2048.ckpt.pt", "2_Step-2048.ckpt.zip"]


def test_best_and_last_are_both_exported(run_dir: Path, tmp_path: Path) -> None:
    run = copy_folder(run_dir, tmp_path / "run")
    # make checkpoint 2 the best, as a run whose evaluation peaked early
    edit_json(run / "model" / "deepracer_checkpoints.json",
               lambda d: d["best_checkpoint"].update(name="2_Step-2048.zip", avg_eval_metric=77.5,
                                                     time_stamp=17.067))
    out = tmp_path / "exp"
    export_run(run, out)
    info = json.loads((out / "model" / "deepracer_checkpoints.json").read_text())
    assert info["best_checkpoint"] == {"name": "2_Step-2048.ckpt", "avg_eval_metric": 77.5,
                                       "time_stamp": 17.067}
    assert info["last_checkpoint"]["name"] == "4_Step-4096.ckpt"
    assert (out / "model" / ".coach_checkpoint").read_text() == "2_Step-2048.ckpt"
    ckpts = sorted(p.name for p in (out / "model").iterdir() if ".ckpt." in p.name)
    assert ckpts == ["2_Step-2048.ckpt.pt", "2_Step-2048.ckpt.zip",
                     "4_Step-4096.ckpt.pt", "4_Step-4096.ckpt.zip"]
    if onnx_available():
        assert (out / "model" / "model_2.onnx").is_file()
        assert (out / "model" / "model_4.onnx").is_file()
        with tarfile.open(out / "model.tar.gz") as tar:  # the car archive: the best one
            assert tar.extractfile("agent/model.onnx").read() == \
                (out / "model" / "model_2.onnx").read_bytes()
    # --checkpoint last keeps both, but the model now stands for the last one
    export_run(run, out, checkpoint="last", force=True)
    assert (out / "model" / ".coach_checkpoint").read_text() == "4_Step-4096.ckpt"
    assert json.loads((out / "model" / "deepracer_checkpoints.json").read_text()) == info


def test_refuses_non_empty_folder_and_force_replaces_an_export(run_dir: Path, tmp_path: Path,
                                                               capsys) -> None:
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("mine")
    assert cli_main(["export", str(run_dir), "--out", str(other)]) == 2
    assert "not empty; give --force" in capsys.readouterr().err
    # --force does not delete a folder that is not an export
    assert cli_main(["export", str(run_dir), "--out", str(other), "--force"]) == 2
    assert "not an earlier export" in capsys.readouterr().err
    assert (other / "keep.txt").read_text() == "mine"
    out = tmp_path / "exp"
    assert cli_main(["export", str(run_dir), "--out", str(out)]) == 0
    assert cli_main(["export", str(run_dir), "--out", str(out), "--checkpoint", "last"]) == 2
    assert cli_main(["export", str(run_dir), "--out", str(out), "--checkpoint", "last",
                     "--force"]) == 0
    assert (out / "model" / ".coach_checkpoint").read_text().strip() == "4_Step-4096.ckpt"
    # an empty folder is fine without --force
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli_main(["export", str(run_dir), "--out", str(empty)]) == 0


def test_refuses_to_export_over_or_into_the_run(run_dir: Path, capsys) -> None:
    assert cli_main(["export", str(run_dir), "--out", str(run_dir), "--force"]) == 2
    assert cli_main(["export", str(run_dir), "--out", str(run_dir / "export")]) == 2
    assert cli_main(["export", str(run_dir), "--out", str(run_dir.parent), "--force"]) == 2
    assert capsys.readouterr().err.count("overlaps the run folder") == 3


def test_interrupted_export_leaves_nothing(run_dir: Path, tmp_path: Path,
                                           monkeypatch) -> None:
    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    out = tmp_path / "exp"
    monkeypatch.setattr(export_write, "_tar_add_bytes", interrupt)  # dies near the end
    with pytest.raises(KeyboardInterrupt):
        export_run(run_dir, out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    # an earlier export survives an interrupted --force
    monkeypatch.undo()
    export_run(run_dir, out, checkpoint="last")
    before = rel_files(out)
    monkeypatch.setattr(export_write, "_tar_add_bytes", interrupt)
    with pytest.raises(KeyboardInterrupt):
        export_run(run_dir, out, checkpoint="best", force=True)
    assert rel_files(out) == before
    assert (out / "model" / ".coach_checkpoint").read_text() == "4_Step-4096.ckpt"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exp"]


def test_usage_errors(tmp_path: Path, capsys) -> None:
    assert cli_main(["export"]) == 2
    assert cli_main(["export", "--check", str(tmp_path), str(tmp_path)]) == 2
    assert cli_main(["export", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "not a training run folder" in err
    assert not (tmp_path / "x").exists()


# ------------------------------------------------------------------------------- track names

def test_track_naming_rules(tmp_path: Path) -> None:
    # a _cw route file driven against its row order is driven counter-clockwise
    n = track_naming({"track": "reInvent2019_track_cw", "reverse_direction": True})
    assert (n.official, n.world_name, n.two_direction, n.clockwise, n.drfc_world) == \
        (True, "reInvent2019_track", True, False, "reInvent2019_track_cw")
    # reinvent_base: one direction only in DeepRacer-on-AWS (no TRACK_DIRECTION_CLOCKWISE)
    n = track_naming({"track": "reinvent_base"})
    assert (n.official, n.world_name, n.two_direction, n.clockwise) == \
        (True, "reinvent_base", False, False)
    n = track_naming({"track": "Spain_track", "reverse_direction": True})
    assert (n.world_name, n.two_direction, n.clockwise) == ("Spain_track", False, False)
    assert any("REVERSE_DIR" in note for note in n.notes)
    # a DeepRacer-on-AWS two-way track id with a direction suffix
    n = track_naming({"track": "2024_reinvent_champ_ccw"})
    assert (n.official, n.world_name, n.clockwise) == (True, "2024_reinvent_champ", False)
    # a local track: direction from the file; a square visited (0,0) (0,1) (1,1) (1,0) turns
    # clockwise (shoelace area -1)
    sq = np.array([[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]], dtype=float)
    path = tmp_path / "my_track.npy"
    np.save(path, np.hstack([sq, sq * 0.9 + 0.05, sq * 1.1 - 0.05]))
    n = track_naming({"track": "my_track", "track_path": str(path)})
    assert (n.official, n.world_name, n.clockwise) == (False, "my_track", True)
    assert "not an official DeepRacer track" in n.notes[0]


@pytest.mark.shared_data
def test_official_catalog_matches_the_route_files(shared_dir: Path) -> None:
    from shapely.geometry import LinearRing

    files = {p.stem: p for p in (shared_dir / "tracks").glob("*.npy")}
    assert set(OFFICIAL_TRACKS) == set(files)
    for name, path in files.items():
        wp = np.load(path)
        if not np.array_equal(wp[0], wp[-1]):
            assert OFFICIAL_TRACKS[name] == "open"
            continue
        ring = LinearRing(wp[:, 0:2])
        assert OFFICIAL_TRACKS[name] == ("ccw" if ring.is_ccw else "cw"), name


def test_export_of_an_official_track_run(run_dir: Path, tmp_path: Path, capsys) -> None:
    run = copy_folder(run_dir, tmp_path / "run")
    config = json.loads((run / "run_config.json").read_text())
    config.update(track="reInvent2019_track_cw", reverse_direction=True,
                  alternate_direction=True, round_robin_advance=0.1)
    (run / "run_config.json").write_text(json.dumps(config))
    out = tmp_path / "exp"
    assert cli_main(["export", str(run), "--out", str(out)]) == 0
    assert "WORLD_NAME 'reInvent2019_track' (official)" in capsys.readouterr().out
    params, problems = parse_training_params((out / "training_params.yaml").read_text())
    assert problems == []
    assert params["WORLD_NAME"] == "reInvent2019_track"
    assert params["TRACK_DIRECTION_CLOCKWISE"] == "false"
    assert params["ALTERNATE_DRIVING_DIRECTION"] == "true"
    assert params["ROUND_ROBIN_ADVANCE_DIST"] == "0.1"
    env = (out / "deepracer-for-cloud" / "run.env").read_text()
    assert "DR_WORLD_NAME=reInvent2019_track_cw\n" in env
    assert "DR_TRAIN_REVERSE_DIRECTION=True\n" in env
    code, text = check_cli(out, capsys)
    assert code == 0 and "not an official" not in text


def test_yaml_round_trip_with_quotes() -> None:
    text = dump_training_params({"B": "it's", "A": "x"}, ["a comment"])
    # DRfC style: header, then sorted keys, a quote doubled inside single quotes
    assert text == "---\n# a comment\n'A': 'x'\n'B': 'it''s'\n"
    assert parse_training_params(text) == ({"A": "x", "B": "it's"}, [])



def test_summary_says_what_transfers(run_dir: Path, tmp_path: Path, capsys) -> None:
    assert cli_main(["export", str(run_dir), "--out", str(tmp_path / "exp")]) == 0
    text = capsys.readouterr().out
    assert "transfers to the cloud unchanged: reward_function.py, the action space" in text
    assert "the physical car cannot run this policy" in text
    assert "NOT an official DeepRacer track" in text
