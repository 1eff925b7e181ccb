"""Tests for ``deepracer_sim.export``: the exported model folder (spec §4-§6), ``--check``,
``train.py --clone`` and safe reading of archives and folders.

One briefly trained run (4096 steps = 4 iterations of 8 cars x 128 steps) is exported once;
every file is checked against the spec: names, JSON keys and types, the YAML quoting, the tar
members. Expected values are worked out by hand (comments) or read from the run's own files
(what the export must carry over unchanged) and from the real DRfC sample
(``../shared/real-logs/sample-drfc-3-logs``).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from deepracer_sim.cli import main as cli_main
from deepracer_sim.export import core as ex
from deepracer_sim.formats.model_metadata import discrete_action_space, read_model_metadata
from deepracer_sim.training import ppo as training
from deepracer_sim.training.ppo import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
REWARD = ROOT / "rewards" / "center.py"
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


def _onnx_available() -> bool:
    try:
        import onnx  # noqa: F401
    except ImportError:
        return False
    return True


# ------------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "run"
    # 5 steering levels x 3 speeds of 1.5 m/s = 15 actions
    cfg = TrainConfig(reward=REWARD, track="dr_sim_default",
                      action_space=discrete_action_space(30.0, 5, 1.5, 3), version=6.0,
                      out=out, timesteps=4096, n_envs=8, n_steps=128, eval_episodes=2)
    training.train(cfg, progress_bar=False)
    return out


@pytest.fixture(scope="module")
def exported(run_dir: Path) -> Path:
    out = run_dir.parent / "exported"
    ex.export_run(run_dir, out)
    return out


@pytest.fixture(scope="module")
def run_info(run_dir: Path) -> dict:
    return json.loads((run_dir / "model" / "deepracer_checkpoints.json").read_text())


def _rel_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


def _check(folder: Path, capsys) -> tuple[int, str]:
    code = cli_main(["export", "--check", str(folder)])
    return code, capsys.readouterr().out


# ------------------------------------------------------------------------------- layout

def test_export_writes_the_deepracer_layout(run_dir: Path, exported: Path, run_info) -> None:
    best = run_info["best_checkpoint"]["name"].removesuffix(".zip")
    last = run_info["last_checkpoint"]["name"].removesuffix(".zip")
    # 4096 steps / (8 cars x 128 steps) = 4 iterations, numbered 0..3
    assert last == "3_Step-4096"
    files = _rel_files(exported)
    expected = {"model_metadata.json", "reward_function.py", "training_params.yaml",
                "ip/hyperparameters.json", "model/model_metadata.json", "model/.coach_checkpoint",
                "model/deepracer_checkpoints.json", "model/policy_network.json", "model.tar.gz",
                "deepracer-for-cloud/run.env",
                "deepracer-for-cloud/custom_files/reward_function.py",
                "deepracer-for-cloud/custom_files/model_metadata.json",
                "deepracer-for-cloud/custom_files/hyperparameters.json"}
    for stem in {best, last}:
        expected |= {f"model/{stem}.ckpt.zip", f"model/{stem}.ckpt.pt"}
        if _onnx_available():
            expected.add(f"model/model_{stem.split('_')[0]}.onnx")
    # the run's logs, whatever the logging code wrote (copied byte for byte)
    logs = {p for p in _rel_files(run_dir) if p.split("/")[0] in ("metrics", "training-simtrace")
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
    policy = "agent/model.onnx" if _onnx_available() else "agent/model.pt"
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
    policy = ex.build_policy(space, (16, 8))
    with torch.no_grad():
        policy.log_std.copy_(torch.tensor([-0.5, 0.25]))
    ex.export_onnx(policy, space, tmp_path / "p.onnx")
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
    again = ex.load_policy_weights(tmp_path / "p.pt", space)
    for key, value in policy.state_dict().items():
        assert torch.equal(again.state_dict()[key], value)


def test_export_without_onnx_falls_back_to_weights(run_dir: Path, tmp_path: Path,
                                                  monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "onnx", None)  # as if onnx were not installed
    result = ex.export_run(run_dir, tmp_path / "out", checkpoint="last")
    assert not result.onnx
    assert not list((tmp_path / "out" / "model").glob("*.onnx"))
    assert any("no ONNX export" in line for line in result.summary)
    with tarfile.open(tmp_path / "out" / "model.tar.gz") as tar:
        assert tar.getnames() == ["model_metadata.json", "agent/model.pt"]
        assert tar.extractfile("agent/model.pt").read() == \
            (tmp_path / "out" / "model" / "3_Step-4096.ckpt.pt").read_bytes()


# ------------------------------------------------------------------------------- options

def test_checkpoint_by_iteration(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "one"
    assert cli_main(["export", str(run_dir), "--out", str(out), "--checkpoint", "1"]) == 0
    # iteration 1 ends at 2 x 1024 = 2048 steps; only it is exported, as best and last
    assert (out / "model" / ".coach_checkpoint").read_text().strip() == "1_Step-2048.ckpt"
    info = json.loads((out / "model" / "deepracer_checkpoints.json").read_text())
    assert info["best_checkpoint"] == info["last_checkpoint"]
    assert info["best_checkpoint"]["name"] == "1_Step-2048.ckpt"
    rows = [json.loads(line) for line in
            (run_dir / "metrics" / "iterations.jsonl").read_text().splitlines()]
    laps = rows[1]["eval_laps"]
    assert info["best_checkpoint"]["avg_eval_metric"] == pytest.approx(
        sum(lap["progress"] for lap in laps) / len(laps))
    ckpts = sorted(p.name for p in (out / "model").iterdir() if ".ckpt." in p.name)
    assert ckpts == ["1_Step-2048.ckpt.pt", "1_Step-2048.ckpt.zip"]


def test_best_and_last_are_both_exported(run_dir: Path, tmp_path: Path) -> None:
    run = _copy(run_dir, tmp_path / "run")
    # make iteration 1 the best, as a run whose evaluation peaked early
    _edit_json(run / "model" / "deepracer_checkpoints.json",
               lambda d: d["best_checkpoint"].update(name="1_Step-2048.zip", avg_eval_metric=77.5,
                                                     time_stamp=17.067))
    out = tmp_path / "exp"
    ex.export_run(run, out)
    info = json.loads((out / "model" / "deepracer_checkpoints.json").read_text())
    assert info["best_checkpoint"] == {"name": "1_Step-2048.ckpt", "avg_eval_metric": 77.5,
                                       "time_stamp": 17.067}
    assert info["last_checkpoint"]["name"] == "3_Step-4096.ckpt"
    assert (out / "model" / ".coach_checkpoint").read_text() == "1_Step-2048.ckpt"
    ckpts = sorted(p.name for p in (out / "model").iterdir() if ".ckpt." in p.name)
    assert ckpts == ["1_Step-2048.ckpt.pt", "1_Step-2048.ckpt.zip",
                     "3_Step-4096.ckpt.pt", "3_Step-4096.ckpt.zip"]
    if _onnx_available():
        assert (out / "model" / "model_1.onnx").is_file()
        assert (out / "model" / "model_3.onnx").is_file()
        with tarfile.open(out / "model.tar.gz") as tar:  # the car archive: the best one
            assert tar.extractfile("agent/model.onnx").read() == \
                (out / "model" / "model_1.onnx").read_bytes()
    # --checkpoint last keeps both, but the model now stands for the last one
    ex.export_run(run, out, checkpoint="last", force=True)
    assert (out / "model" / ".coach_checkpoint").read_text() == "3_Step-4096.ckpt"
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
    assert (out / "model" / ".coach_checkpoint").read_text().strip() == "3_Step-4096.ckpt"
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
    monkeypatch.setattr(ex, "_tar_add_bytes", interrupt)  # dies near the end
    with pytest.raises(KeyboardInterrupt):
        ex.export_run(run_dir, out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    # an earlier export survives an interrupted --force
    monkeypatch.undo()
    ex.export_run(run_dir, out, checkpoint="last")
    before = _rel_files(out)
    monkeypatch.setattr(ex, "_tar_add_bytes", interrupt)
    with pytest.raises(KeyboardInterrupt):
        ex.export_run(run_dir, out, checkpoint="best", force=True)
    assert _rel_files(out) == before
    assert (out / "model" / ".coach_checkpoint").read_text() == "3_Step-4096.ckpt"
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
    n = ex.track_naming({"track": "reInvent2019_track_cw", "reverse_direction": True})
    assert (n.official, n.world_name, n.two_direction, n.clockwise, n.drfc_world) == \
        (True, "reInvent2019_track", True, False, "reInvent2019_track_cw")
    # reinvent_base: one direction only in DeepRacer-on-AWS (no TRACK_DIRECTION_CLOCKWISE)
    n = ex.track_naming({"track": "reinvent_base"})
    assert (n.official, n.world_name, n.two_direction, n.clockwise) == \
        (True, "reinvent_base", False, False)
    n = ex.track_naming({"track": "Spain_track", "reverse_direction": True})
    assert (n.world_name, n.two_direction, n.clockwise) == ("Spain_track", False, False)
    assert any("REVERSE_DIR" in note for note in n.notes)
    # a DeepRacer-on-AWS two-way track id with a direction suffix
    n = ex.track_naming({"track": "2024_reinvent_champ_ccw"})
    assert (n.official, n.world_name, n.clockwise) == (True, "2024_reinvent_champ", False)
    # a local track: direction from the file; a square visited (0,0) (0,1) (1,1) (1,0) turns
    # clockwise (shoelace area -1)
    sq = np.array([[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]], dtype=float)
    path = tmp_path / "my_track.npy"
    np.save(path, np.hstack([sq, sq * 0.9 + 0.05, sq * 1.1 - 0.05]))
    n = ex.track_naming({"track": "my_track", "track_path": str(path)})
    assert (n.official, n.world_name, n.clockwise) == (False, "my_track", True)
    assert "not an official DeepRacer track" in n.notes[0]


def test_official_catalog_matches_the_route_files(shared_dir: Path) -> None:
    from shapely.geometry import LinearRing

    files = {p.stem: p for p in (shared_dir / "tracks").glob("*.npy")}
    assert set(ex.OFFICIAL_TRACKS) == set(files)
    for name, path in files.items():
        wp = np.load(path)
        if not np.array_equal(wp[0], wp[-1]):
            assert ex.OFFICIAL_TRACKS[name] == "open"
            continue
        ring = LinearRing(wp[:, 0:2])
        assert ex.OFFICIAL_TRACKS[name] == ("ccw" if ring.is_ccw else "cw"), name


def test_export_of_an_official_track_run(run_dir: Path, tmp_path: Path, capsys) -> None:
    run = _copy(run_dir, tmp_path / "run")
    config = json.loads((run / "run_config.json").read_text())
    config.update(track="reInvent2019_track_cw", reverse_direction=True,
                  alternate_direction=True, round_robin_advance=0.1)
    (run / "run_config.json").write_text(json.dumps(config))
    out = tmp_path / "exp"
    assert cli_main(["export", str(run), "--out", str(out)]) == 0
    assert "WORLD_NAME 'reInvent2019_track' (official)" in capsys.readouterr().out
    params, problems = ex.parse_training_params((out / "training_params.yaml").read_text())
    assert problems == []
    assert params["WORLD_NAME"] == "reInvent2019_track"
    assert params["TRACK_DIRECTION_CLOCKWISE"] == "false"
    assert params["ALTERNATE_DRIVING_DIRECTION"] == "true"
    assert params["ROUND_ROBIN_ADVANCE_DIST"] == "0.1"
    env = (out / "deepracer-for-cloud" / "run.env").read_text()
    assert "DR_WORLD_NAME=reInvent2019_track_cw\n" in env
    assert "DR_TRAIN_REVERSE_DIRECTION=True\n" in env
    code, text = _check(out, capsys)
    assert code == 0 and "not an official" not in text


def test_yaml_round_trip_with_quotes() -> None:
    text = ex.dump_training_params({"B": "it's", "A": "x"}, ["a comment"])
    # DRfC style: header, then sorted keys, a quote doubled inside single quotes
    assert text == "---\n# a comment\n'A': 'x'\n'B': 'it''s'\n"
    assert ex.parse_training_params(text) == ({"A": "x", "B": "it's"}, [])


# ------------------------------------------------------------------------------- --check

def test_check_passes_on_the_export(exported: Path, capsys) -> None:
    code, text = _check(exported, capsys)
    assert code == 0, text
    assert "0 errors" in text
    assert "not an official DeepRacer track" in text  # a warning, not an error
    assert "warning: model/: holds deepracer-sim (PyTorch) checkpoints" in text
    assert "warning: model.tar.gz: the physical car cannot run this policy" in text


def test_check_warns_about_a_checkpoint_never_evaluated(exported: Path, tmp_path: Path,
                                                        capsys) -> None:
    folder = _copy(exported, tmp_path / "model")
    _edit_json(folder / "model" / "deepracer_checkpoints.json",
               lambda d: d["last_checkpoint"].update(avg_eval_metric=None))
    code, text = _check(folder, capsys)
    assert code == 0
    assert "last_checkpoint.avg_eval_metric is missing or null" in text


def _edit_json(path: Path, fn) -> None:
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def _both_metadata(folder: Path, fn) -> None:
    for rel in ("model_metadata.json", "model/model_metadata.json"):
        _edit_json(folder / rel, fn)


def _bad_tar(folder: Path, add) -> None:
    (folder / "model.tar.gz").unlink()
    with tarfile.open(folder / "model.tar.gz", "w:gz") as tar:
        data = (folder / "model_metadata.json").read_bytes()
        info = tarfile.TarInfo("model_metadata.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        add(tar)


def _tar_member(name: str, data: bytes = b"x", link: str | None = None):
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        if link is not None:
            info.type = tarfile.SYMTYPE
            info.linkname = link
            tar.addfile(info)
        else:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return add


def _set_action(i: int, key: str, value):
    def fn(meta: dict) -> None:
        meta["action_space"][i][key] = value
    return fn


def _yaml_edit(old: str, new: str):
    def fn(folder: Path) -> None:
        path = folder / "training_params.yaml"
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))
    return fn


def _coach(name: str):
    def fn(folder: Path) -> None:
        (folder / "model" / ".coach_checkpoint").write_text(name)
    return fn


BROKEN = {
    "missing reward": (lambda f: (f / "reward_function.py").unlink(),
                       "reward_function.py: missing (required)"),
    "missing yaml": (lambda f: (f / "training_params.yaml").unlink(),
                     "training_params.yaml: missing (required)"),
    "missing root metadata": (lambda f: (f / "model_metadata.json").unlink(),
                              "model_metadata.json: missing (required)"),
    "missing coach checkpoint": (lambda f: (f / "model" / ".coach_checkpoint").unlink(),
                                 "model/.coach_checkpoint: missing (required)"),
    "hyperparameters at the root": (
        lambda f: (f / "ip" / "hyperparameters.json").rename(f / "hyperparameters.json"),
        "move it to ip/hyperparameters.json"),
    "invalid json": (lambda f: (f / "model_metadata.json").write_text("{\n  'action_space': 1"),
                     "model_metadata.json: line 2: invalid JSON"),
    "steering beyond 30": (lambda f: _both_metadata(f, _set_action(0, "steering_angle", -45)),
                           "action_space[0].steering_angle = -45 is outside [-30, 30]"),
    "speed above 4": (lambda f: _both_metadata(f, _set_action(2, "speed", 5)),
                      "action_space[2].speed = 5 is outside [0.1, 4]"),
    "speed below 0.1": (lambda f: _both_metadata(f, _set_action(1, "speed", 0.05)),
                        "action_space[1].speed = 0.05 is outside [0.1, 4]"),
    "steering not a number": (lambda f: _both_metadata(f, _set_action(3, "steering_angle", "x")),
                              "action_space[3].steering_angle = 'x' is not a number"),
    "one action": (lambda f: _both_metadata(f, lambda m: m.update(
        action_space=m["action_space"][:1])), "1 discrete actions"),
    "31 actions": (lambda f: _both_metadata(f, lambda m: m.update(
        action_space=(m["action_space"] * 3)[:31])), "31 discrete actions"),
    "sac on a discrete space": (lambda f: _both_metadata(f, lambda m: m.update(
        training_algorithm="sac")), "training_algorithm 'sac' needs a continuous action space"),
    "continuous low above high": (lambda f: _both_metadata(f, lambda m: m.update(
        action_space_type="continuous",
        action_space={"steering_angle": {"low": 20, "high": -20},
                      "speed": {"low": 0.5, "high": 2}})),
        "action_space.steering_angle: low 20 > high -20"),
    "two cameras": (lambda f: _both_metadata(f, lambda m: m.update(
        sensor=["FRONT_FACING_CAMERA", "STEREO_CAMERAS"])), "2 cameras in sensor"),
    "bad version": (lambda f: _both_metadata(f, lambda m: m.update(version="six")),
                    "version = 'six' is not a number"),
    "metadata copies differ": (lambda f: _edit_json(f / "model" / "model_metadata.json",
                                                    _set_action(0, "speed", 0.7)),
                               "model/model_metadata.json: differs from the root"),
    "yaml value unquoted": (_yaml_edit("'JOB_TYPE': 'TRAINING'", "'JOB_TYPE': TRAINING"),
                            "JOB_TYPE: TRAINING is not a quoted string"),
    "yaml without header": (_yaml_edit("---\n", ""), "must start with the '---' document header"),
    "yaml without WORLD_NAME": (_yaml_edit("'WORLD_NAME': 'dr_sim_default'\n", ""),
                                "error: training_params.yaml: no WORLD_NAME"),
    "coach checkpoint misnamed": (_coach("model_3"),
                                  "'model_3' is not named <iteration>_Step-<steps>.ckpt"),
    "coach checkpoint without files": (_coach("7_Step-9999.ckpt"),
                                       "names 7_Step-9999.ckpt but model/ has no checkpoint"),
    "best checkpoint without files": (lambda f: _edit_json(
        f / "model" / "deepracer_checkpoints.json",
        lambda d: d["best_checkpoint"].update(name="9_Step-1.ckpt")),
        "best_checkpoint: names 9_Step-1.ckpt but model/ has no checkpoint files"),
    "checkpoint file misnamed": (lambda f: (f / "model" / "x.ckpt.index").write_bytes(b""),
                                 "model/x.ckpt.index: checkpoint file not named"),
    "unknown hyperparameter": (lambda f: _edit_json(f / "ip" / "hyperparameters.json",
                                                    lambda d: d.update(gamma=0.9)),
                               "unknown key 'gamma'"),
    "hyperparameter type": (lambda f: _edit_json(f / "ip" / "hyperparameters.json",
                                                 lambda d: d.update(num_epochs=2.5)),
                            "num_epochs = 2.5 is not an integer"),
    "reward syntax error": (lambda f: (f / "reward_function.py").write_text("def reward(:\n"),
                            "reward_function.py: line 1: syntax error"),
    "reward without the function": (lambda f: (f / "reward_function.py").write_text("x = 1\n"),
                                    "no top-level def reward_function(params)"),
    "weights of another action space": (lambda f: _both_metadata(f, lambda m: m.update(
        action_space=m["action_space"][:14])),
        "the network has 15 discrete outputs but the action space has 14"),
    "archive path traversal": (lambda f: _bad_tar(f, _tar_member("../../evil.py")),
                               "member '../../evil.py' is a path that climbs out"),
    "archive symlink out": (lambda f: _bad_tar(f, _tar_member("agent/model.onnx",
                                                              link="/etc/passwd")),
                            "member 'agent/model.onnx' is a link"),
    "archive without metadata": (lambda f: (f / "model.tar.gz").write_bytes(
        _tar_bytes({"agent/model.onnx": b"x"})), "no model_metadata.json at the archive root"),
    "link in the folder": (lambda f: (f / "model" / "notes.txt").symlink_to("/etc/hostname"),
                           "model/notes.txt: is a symbolic link"),
    "training metrics not integers": (lambda f: (f / "metrics" / "TrainingMetrics.json")
                                      .write_text(json.dumps({"metrics": [{
                                          "reward_score": 3.5, "metric_time": 1, "start_time": 0,
                                          "elapsed_time_in_milliseconds": 1, "episode": 1,
                                          "trial": 1, "phase": "training",
                                          "completion_percentage": 5,
                                          "episode_status": "Off track"}],
                                          "version": 2.0, "best_model_metric": "progress"})),
                                      "metrics[0]: ['reward_score'] are not integers"),
}


def _tar_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_check_detects_each_problem(case: str, exported: Path, tmp_path: Path,
                                    capsys) -> None:
    break_it, expected = BROKEN[case]
    folder = _copy(exported, tmp_path / "model")
    break_it(folder)
    code, text = _check(folder, capsys)
    assert code == 1, text
    assert expected in text, text
    # every problem comes with its fix
    lines = text.splitlines()
    found = [ln for ln in lines if ln.startswith(("error: ", "warning: "))]
    assert len(found) == sum(ln.startswith("    fix: ") for ln in lines)


# ------------------------------------------------------------------------------- archives

def test_malicious_archives_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "target"
    cases = {
        "traversal": _tar_bytes({"ok.txt": b"1", "../evil.txt": b"pwned"}),
        "absolute": _tar_bytes({str(tmp_path / "abs.txt"): b"pwned"}),
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        # the classic two-step attack: a link to outside, then a file written through it
        info = tarfile.TarInfo("escape")
        info.type = tarfile.SYMTYPE
        info.linkname = str(tmp_path)
        tar.addfile(info)
        data = b"pwned"
        info = tarfile.TarInfo("escape/evil2.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    cases["symlink"] = buf.getvalue()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("hard")
        info.type = tarfile.LNKTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    cases["hardlink"] = buf.getvalue()
    for name, data in cases.items():
        archive = tmp_path / f"{name}.tar.gz"
        archive.write_bytes(data)
        with pytest.raises(ex.ExportError, match="refusing the archive"):
            ex.safe_extract(archive, target)
        # nothing written anywhere: not even the harmless member before the bad one
        assert not target.exists() or not any(target.iterdir()), name
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".tar.gz")) \
            in ([], ["target"]), name
        assert cli_main(["export", "--check", str(archive)]) == 2


def test_check_of_a_packed_export(exported: Path, tmp_path: Path, capsys) -> None:
    archive = tmp_path / "export.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(exported, arcname="exported")
    code, text = _check(archive, capsys)
    assert code == 0, text


# ------------------------------------------------------------------------------- real files

def test_check_accepts_the_real_drfc_metadata(shared_dir: Path, capsys) -> None:
    sample = shared_dir / "real-logs" / "sample-drfc-3-logs"
    assert ex.check_model_metadata(sample / "model" / "model_metadata.json") == []
    assert ex.check_hyperparameters(sample / "ip" / "hyperparameters.json") == []
    for path in sorted((sample / "metrics").glob("*.json")):
        assert ex.check_metrics(path) == [], path
    droa = shared_dir / "real-logs" / "sample-droa-solution-logs" / "metrics"
    for path in sorted(droa.rglob("*.json")):
        assert ex.check_metrics(path) == [], path
    # the whole folder: only the files a training job's logs do not include are missing
    code, text = _check(sample, capsys)
    assert code == 1
    errors = [line for line in text.splitlines() if line.startswith("error: ")]
    assert errors and all("missing (required)" in line for line in errors), errors
    wheres = [line.split(": ")[1] for line in text.splitlines()
              if line.startswith(("error: ", "warning: "))]
    assert "model/model_metadata.json" not in wheres
    assert "ip/hyperparameters.json" not in wheres
    assert not [w for w in wheres if w.startswith("metrics/")]


def test_real_metadata_in_an_export_is_checked_against_the_weights(
        exported: Path, shared_dir: Path, tmp_path: Path, capsys) -> None:
    sample = shared_dir / "real-logs" / "sample-drfc-3-logs"
    folder = _copy(exported, tmp_path / "model")
    for rel in ("model_metadata.json", "model/model_metadata.json"):
        shutil.copyfile(sample / "model" / "model_metadata.json", folder / rel)
    shutil.copyfile(sample / "ip" / "hyperparameters.json", folder / "ip" / "hyperparameters.json")
    (folder / "model.tar.gz").write_bytes(_tar_bytes({
        "model_metadata.json": (sample / "model" / "model_metadata.json").read_bytes(),
        "agent/model.onnx": b"x"}))
    code, text = _check(folder, capsys)
    errors = [line for line in text.splitlines() if line.startswith("error: ")]
    # the real 14-action space is valid; only our 15-output weights do not fit it
    assert code == 1
    assert errors and all("15 discrete outputs but the action space has 14" in e
                          for e in errors), errors


# ------------------------------------------------------------------------------- clone

def test_clone_source_of_a_run_and_of_an_export(run_dir: Path, exported: Path,
                                                run_info) -> None:
    space = discrete_action_space(30.0, 5, 1.5, 3)
    src = ex.clone_source(run_dir)
    assert src.kind == "run"
    assert src.checkpoint == run_dir / "model" / run_info["best_checkpoint"]["name"]
    assert src.net_arch == (64, 64)
    assert src.version == 6.0
    assert src.hyperparameters == run_dir / "ip" / "hyperparameters.json"
    assert src.same_action_space(space)
    assert not src.same_action_space(discrete_action_space(30.0, 5, 1.0, 3))
    assert not src.same_action_space(discrete_action_space(30.0, 5, 1.5, 2))
    src = ex.clone_source(exported)
    assert src.kind == "export"
    coach = (exported / "model" / ".coach_checkpoint").read_text().strip()
    assert src.checkpoint == exported / "model" / f"{coach}.zip"
    assert src.net_arch == (64, 64)
    assert src.hyperparameters == exported / "ip" / "hyperparameters.json"
    assert src.same_action_space(space)


def test_clone_continues_from_the_exported_weights(run_dir: Path, exported: Path,
                                                  tmp_path: Path, monkeypatch, capsys) -> None:
    import torch
    from stable_baselines3.common.save_util import load_from_zip_file

    started = {}

    class Capture(training.TrainingObserver):
        def on_start(self, run, env, model) -> None:
            started.update({k: v.detach().clone()
                            for k, v in model.policy.state_dict().items()})

    original = training.default_observers
    monkeypatch.setattr(training, "default_observers",
                        lambda cfg: [*original(cfg), Capture()])
    hp = tmp_path / "hp.json"
    hp.write_text(json.dumps({"lr": 1e-12}))  # the first update barely moves the weights
    out = tmp_path / "cloned"
    code = cli_main(["train", "--reward", str(REWARD), "--clone", str(exported), "--out", str(out),
                       "--action-space", str(exported / "model_metadata.json"),
                       "--hyperparameters", str(hp), "--timesteps", "1024", "--n-envs", "8",
                       "--n-steps", "128", "--no-progress-bar"])
    assert code == 0, capsys.readouterr().err
    coach = (exported / "model" / ".coach_checkpoint").read_text().strip()
    cloned = torch.load(exported / "model" / f"{coach}.pt", weights_only=True)
    # training started from the cloned policy, exactly
    assert set(started) == set(cloned)
    for key in cloned:
        assert torch.equal(started[key], cloned[key]), key
    # ... and its first checkpoint (1024 steps = one update at lr 1e-12) is still it
    _, params, _ = load_from_zip_file(out / "model" / "0_Step-1024.zip", load_data=False)
    for key in cloned:
        assert torch.allclose(params["policy"][key], cloned[key], atol=1e-7), key
    # whereas another checkpoint of the original run differs clearly (the test can fail)
    other = next(p for p in (run_dir / "model").glob("*.zip") if f"{p.stem}.ckpt" != coach)
    _, other_params, _ = load_from_zip_file(other, load_data=False)
    assert max(float((other_params["policy"][k] - cloned[k]).abs().max())
               for k in cloned) > 1e-4
    space, version = read_model_metadata(out / "model" / "model_metadata.json")
    assert len(space) == 15 and version == 6.0


def test_clone_refuses_another_action_space(exported: Path, shared_dir: Path, tmp_path: Path,
                                            capsys) -> None:
    out = tmp_path / "run"
    base = ["--reward", str(REWARD), "--clone", str(exported), "--out", str(out),
            "--no-progress-bar"]
    assert cli_main(["train", *base, "--max-speed", "2"]) == 2
    assert "the action space is locked to the cloned model's" in capsys.readouterr().err
    sample = shared_dir / "real-logs" / "sample-drfc-3-logs" / "model" / "model_metadata.json"
    assert cli_main(["train", *base, "--action-space", str(sample)]) == 2
    assert "differs" in capsys.readouterr().err
    assert cli_main(["train", *base[:3], str(tmp_path), *base[4:]]) == 2
    assert "neither a run folder" in capsys.readouterr().err
    assert not out.exists()


def _broken_clone(exported: Path, tmp_path: Path, fn) -> Path:
    folder = _copy(exported, tmp_path / "model")
    fn(folder)
    return folder


def test_clone_source_rejects_bad_folders(exported: Path, tmp_path: Path) -> None:
    coach = (exported / "model" / ".coach_checkpoint").read_text().strip()

    def drop_zip(f: Path) -> None:
        (f / "model" / f"{coach}.zip").unlink()

    def extra_member(f: Path) -> None:
        with zipfile_append(f / "model" / f"{coach}.zip") as zf:
            zf.writestr("evil.py", "import os")

    def other_arch(f: Path) -> None:
        _edit_json(f / "model" / "policy_network.json", lambda d: d.update(net_arch=[32]))

    def link_metadata(f: Path) -> None:
        (f / "model_metadata.json").unlink()
        (f / "model_metadata.json").symlink_to(exported / "model_metadata.json")

    cases = [
        (drop_zip, f"{coach}.zip is missing"),
        (extra_member, "unexpected members ['evil.py']"),
        (other_arch, "hidden layers [64, 64] differ from the folder's net_arch [32]"),
        (lambda f: _both_metadata(f, lambda m: m.update(action_space=m["action_space"][:14])),
         "the network has 15 discrete outputs but the action space has 14"),
        (link_metadata, "is a symbolic link"),
        (_coach("latest"), "'latest' is not <iteration>_Step-<steps>.ckpt"),
    ]
    for k, (fn, message) in enumerate(cases):
        folder = _broken_clone(exported, tmp_path / str(k), fn)
        with pytest.raises(ex.ExportError) as err:
            ex.clone_source(folder)
        assert message in str(err.value)


def zipfile_append(path: Path):
    import zipfile

    return zipfile.ZipFile(path, "a")


def test_summary_says_what_transfers(run_dir: Path, tmp_path: Path, capsys) -> None:
    assert cli_main(["export", str(run_dir), "--out", str(tmp_path / "exp")]) == 0
    text = capsys.readouterr().out
    assert "transfers to the cloud unchanged: reward_function.py, the action space" in text
    assert "the physical car cannot run this policy" in text
    assert "NOT an official DeepRacer track" in text
