"""Training on several tracks: which car drives which track, the run folder's record of them,
evaluation on a track the run never saw, and held-out tracks in a sweep."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from deepracer_sim.cli import main as cli_main
from deepracer_sim.cli.sweep import train_factory
from deepracer_sim.envs.multitrack import car_track_indices
from deepracer_sim.envs.vec_env import DeepRacerVecEnv
from deepracer_sim.errors import SweepSpecError, TrackError, UsageError
from deepracer_sim.formats.run_folder import SWEEP_RESULTS
from deepracer_sim.formats.simtrace import read_simtrace
from deepracer_sim.logs.reader import read_run, rows_on_track
from deepracer_sim.sweep.cluster import localize, ship_inputs
from deepracer_sim.sweep.compare import compare_runs
from deepracer_sim.sweep.folder import write_results
from deepracer_sim.sweep.spec import HOLDOUT_KEY, TrialSpec, load_spec
from deepracer_sim.sweep.trial import read_marker, run_trial
from deepracer_sim.track import load_track
from deepracer_sim.track.lookup import split_track_list
from deepracer_sim.training.evaluation import evaluate_run

ROOT = Path(__file__).resolve().parents[1]
FACTORY = train_factory()
A, B, C = "dr_sim_default", "dr_sim_speedway", "dr_sim_twister"  # 117, 211, 169 waypoints


def waypoint_count(params: dict) -> float:
    """A reward that says which track the car is on."""
    return float(len(params["waypoints"]))


def test_car_i_drives_track_i_mod_t() -> None:
    assert car_track_indices(5, 2).tolist() == [0, 1, 0, 1, 0]
    env = DeepRacerVecEnv(5, track=[A, B], reward_function=waypoint_count)
    assert [t.name for t in env.car_tracks] == [A, B, A, B, A]
    assert env.track.name == A
    env.reset()
    for _ in range(2):
        _, rewards, _, _ = env.step(np.zeros(5, dtype=np.int64))
    assert rewards.tolist() == [117.0, 211.0, 117.0, 211.0, 117.0]


def test_each_car_moves_as_on_its_own_track() -> None:
    """Two cars on two tracks step exactly as car 0 of 2 on the first track and car 1 of 2 on
    the second (the same start points: 0 and half a lap)."""
    multi = DeepRacerVecEnv(2, track=(A, B))
    alone = [DeepRacerVecEnv(2, track=A), DeepRacerVecEnv(2, track=B)]
    obs = multi.reset()
    ref = [env.reset() for env in alone]
    np.testing.assert_array_equal(obs, [ref[0][0], ref[1][1]])
    actions = np.array([3, 7], dtype=np.int64)
    for _ in range(40):  # long enough for episodes to end and restart
        obs, _, dones, _ = multi.step(actions)
        steps = [env.step(actions) for env in alone]
        np.testing.assert_array_equal(multi.sim.rec[0], alone[0].sim.rec[0])
        np.testing.assert_array_equal(multi.sim.rec[1], alone[1].sim.rec[1])
        np.testing.assert_array_equal(obs, [steps[0][0][0], steps[1][0][1]])
        assert dones.tolist() == [bool(steps[0][2][0]), bool(steps[1][2][1])]


def test_each_track_needs_a_car() -> None:
    with pytest.raises(UsageError, match="3 tracks and 2 cars"):
        DeepRacerVecEnv(2, track=[A, B, C])


def test_track_lists() -> None:
    assert split_track_list(f"{A}, {B}") == [A, B]
    assert split_track_list(A) == [A]
    with pytest.raises(TrackError, match="empty track name"):
        split_track_list(f"{A},,{B}")


def test_render_watches_one_track(tmp_path: Path, capsys) -> None:
    code = cli_main(["train", "--reward", str(ROOT / "rewards" / "center.py"), "--track",
                     f"{A},{B}", "--render", "--out", str(tmp_path / "run")])
    assert code == 2
    assert "--render shows one track" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.fixture(scope="module")
def two_track_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "two"
    code = cli_main(["train", "--reward", str(ROOT / "rewards" / "center.py"), "--out", str(out),
                     "--track", f"{A},{B}", "--timesteps", "512", "--n-envs", "4",
                     "--n-steps", "128", "--no-progress-bar"])
    assert code == 0
    return out


def test_the_run_folder_records_the_tracks(two_track_run: Path) -> None:
    config = json.loads((two_track_run / "run_config.json").read_text())
    assert config["track"] == A
    assert [t["track"] for t in config["training_tracks"]] == [A, B]
    assert config["training_tracks"][1]["track_sha256"] == load_track(B).sha256
    # the training sim-trace: each row carries its own car's track length
    rows = read_simtrace(next((two_track_run / "training-simtrace").glob("*.csv")))
    lengths = {round(v, 3) for v in rows["track_len"]}
    assert lengths == {round(load_track(A).length, 3), round(load_track(B).length, 3)}


def test_analyze_keeps_the_rows_of_the_runs_track(two_track_run: Path) -> None:
    training = read_run(two_track_run).training
    assert training is not None
    lengths = training.columns["track_len"]
    a_len, b_len = load_track(A).length, load_track(B).length
    on_b = int(np.sum(np.abs(lengths - b_len) < 1e-6))
    assert 0 < on_b < len(lengths)
    kept, left_out = rows_on_track(training, a_len)
    assert left_out == on_b and len(kept) == len(lengths) - on_b
    assert np.allclose(kept.columns["track_len"], a_len)
    assert kept.episodes["episode"].size < training.episodes["episode"].size


def test_evaluate_on_a_track_never_seen(two_track_run: Path) -> None:
    before = set(two_track_run.glob("evaluation-*"))
    report = evaluate_run(two_track_run, track=C, laps=2, checkpoint="last")
    assert report.track == C and len(report.laps) == 2
    (folder,) = set(two_track_run.glob("evaluation-*")) - before
    trace = read_simtrace(next(folder.rglob("*.csv")))
    assert {round(v, 3) for v in trace["track_len"]} == {round(load_track(C).length, 3)}
    # compare ranks on the run's own track: the evaluation on C is not it
    (row,) = compare_runs([two_track_run]).rows
    assert row.evaluation.startswith("in-training evaluation")
    assert row.settings["track"] == f"{A},{B}"


def spec_of(text: str, cwd: Path):
    path = cwd / "sweep.yaml"
    path.write_text(text)
    return load_spec(path, FACTORY.options, cwd=cwd)


def test_spec_tracks_and_holdout(tmp_path: Path) -> None:
    (tmp_path / "mine.npy").write_bytes((ROOT / "tracks" / f"{C}.npy").read_bytes())
    spec = spec_of(f"reward: {ROOT}/rewards/center.py\n{HOLDOUT_KEY}: [mine.npy, {B}]\n"
                   f"grid:\n  track: [{A}, '{A},{B}']\n", tmp_path)
    assert spec.fixed[HOLDOUT_KEY] == [str(tmp_path / "mine.npy"), B]
    assert spec.grid["track"] == [A, f"{A},{B}"]
    with pytest.raises(SweepSpecError, match=r"holdout_tracks\[0\].*nosuchtrack"):
        spec_of(f"reward: {ROOT}/rewards/center.py\n{HOLDOUT_KEY}: [nosuchtrack]\n", tmp_path)
    with pytest.raises(SweepSpecError, match="fixed key"):
        spec_of(f"reward: {ROOT}/rewards/center.py\ngrid:\n  {HOLDOUT_KEY}: [[{B}]]\n",
                tmp_path)


def test_a_trial_is_evaluated_on_its_holdout_tracks(tmp_path: Path) -> None:
    run = tmp_path / "000-seed=0"
    params = {"reward": str(ROOT / "rewards" / "center.py"), "track": A, "timesteps": 256,
              "n_envs": 2, "n_steps": 128, HOLDOUT_KEY: [C]}
    run_trial(FACTORY, params, run)
    held = read_marker(run)["evaluation"]["holdout"]
    assert list(held) == [C] and held[C]["laps"] == 5
    assert len(list(run.glob("evaluation-*"))) == 2  # the held-out track's, then the training's
    (row,) = compare_runs([run]).rows
    assert row.holdout[C]["completion_rate"] == held[C]["completion_rate"]
    # the row's evaluation is the training track's (the later one), not the held-out one
    assert row.evaluation.startswith("evaluation-") and len(row.laps) == 5
    assert row.to_json([])["holdout"][C]["laps"] == 5
    write_results(tmp_path)
    (result,) = csv.DictReader((tmp_path / SWEEP_RESULTS).open())
    assert float(result[f"holdout {C} completion_rate"]) == held[C]["completion_rate"]


def test_track_files_in_lists_are_sent_to_cluster_nodes(tmp_path: Path) -> None:
    here, node = tmp_path / "driver", tmp_path / "node"
    here.mkdir()
    for name in ("mine.npy", "held.npy"):
        (here / name).write_bytes((ROOT / "tracks" / f"{C}.npy").read_bytes())
    params = {"reward": str(ROOT / "rewards" / "center.py"), "track": f"{A},{here}/mine.npy",
              HOLDOUT_KEY: [f"{here}/held.npy", B]}
    inputs = ship_inputs([TrialSpec("000", params)], FACTORY.options)
    assert set(inputs) == {params["reward"], f"{here}/mine.npy", f"{here}/held.npy"}
    for name in ("mine.npy", "held.npy"):  # a node without the driver's files
        (here / name).rename(tmp_path / name)
    local = localize(params, FACTORY.options, inputs, node)
    assert local["reward"] == params["reward"]  # there on this node: kept
    assert local[HOLDOUT_KEY] == [f"{node}/input-0/held.npy", B]
    assert local["track"] == f"{A},{node}/input-1/mine.npy"
    assert (node / "input-1" / "mine.npy").read_bytes() == inputs[f"{here}/mine.npy"]
