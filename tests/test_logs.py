"""Training and evaluation logs (deepracer_sim.logs): the DRfC layout and semantics, episode
numbering, and what deepracer-utils (a test dependency) reads from a fresh run.

The training fixture drives a circular track (1 m wide) with three actions that all steer left
(5, 8 and 11 degrees at 2 m/s). The circle's radius is the one the project's own car model
drives at 8 degrees (measured with ``car.advance_car`` and a least-squares circle fit), so even
the untrained policy completes laps and a short training has completed laps (and some
off-tracks) to compare, whatever the calibrated dynamics are.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import driven_radius

from deepracer_sim.constants import STATUS_CODES
from deepracer_sim.formats.model_metadata import ActionSpace
from deepracer_sim.logs.reader import read_run
from deepracer_sim.logs.robomaker import write_robomaker_log
from deepracer_sim.logs.writer import EvaluationLogger, TrainingLogger
from deepracer_sim.sim import layout
from deepracer_sim.track import track_from_array
from deepracer_sim.training.evaluation import LapResult, evaluate_run, run_laps
from deepracer_sim.training.ppo import IterationStats, RunFolder, TrainConfig, train

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
# the current simapp's header, spelled out (spec §7)
HEADER = ("episode,steps,X,Y,yaw,steer,throttle,action,reward,done,all_wheels_on_track,progress,"
          "closest_waypoint,track_len,tstamp,episode_status,pause_duration,"
          "obstacle_crash_counter,wall_clock")
N_WP = 60  # circle waypoints (61 rows, the last repeats the first)
ACTIONS = [(5.0, 2.0), (8.0, 2.0), (11.0, 2.0)]


RADIUS = driven_radius(*ACTIONS[1])
# centre line: 60 chords, each 2 * RADIUS * sin(pi / 60) long
CIRCLE_LEN = 60 * 2 * RADIUS * math.sin(math.pi / 60)


def circle_array(radius: float = RADIUS, width: float = 1.0) -> np.ndarray:
    a = np.linspace(0.0, 2.0 * np.pi, N_WP + 1)
    c = np.stack([np.cos(a), np.sin(a)], 1)
    arr = np.concatenate([radius * c, (radius - width / 2) * c, (radius + width / 2) * c], 1)
    arr[-1] = arr[0]
    return arr


def dru():
    pytest.importorskip("deepracer", reason="deepracer-utils is a test dependency")
    warnings.filterwarnings("ignore")
    from deepracer import logs

    return logs


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A 4-iteration training (4096 steps / (8 cars x 128 steps)) and a 2-lap evaluation."""
    d = tmp_path_factory.mktemp("logs")
    np.save(d / "circle.npy", circle_array())
    cfg = TrainConfig(reward=ROOT / "rewards" / "center.py", track=str(d / "circle.npy"),
                      action_space=ActionSpace(np.array(ACTIONS)), version=6.0, out=d / "run",
                      timesteps=4096, n_envs=8, n_steps=128, seed=0)
    result = train(cfg, progress_bar=False)
    report = evaluate_run(d / "run", laps=2, checkpoint="last")
    return {"dir": d / "run", "track": d / "circle.npy", "result": result, "eval": report}


def csv_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    lines = path.read_text().splitlines()
    return lines[0].split(","), [line.split(",") for line in lines[1:]]


# ------------------------------------------------------------------------------------------
# layout and semantics of a real training run
# ------------------------------------------------------------------------------------------
def test_run_folder_layout(run) -> None:
    root = run["dir"]
    names = sorted(p.name for p in (root / "training-simtrace").iterdir())
    assert names == ["0-iteration.csv", "1-iteration.csv", "2-iteration.csv", "3-iteration.csv"]
    for name in names:
        assert (root / "training-simtrace" / name).read_text().split("\n", 1)[0] == HEADER
    metrics = json.loads((root / "metrics" / "TrainingMetrics.json").read_text())
    assert metrics["version"] == 2.0 and metrics["best_model_metric"] == "progress"
    evals = list(root.glob("evaluation-*/evaluation-simtrace/0-iteration.csv"))
    assert len(evals) == 1
    stamp = evals[0].parent.parent.name.removeprefix("evaluation-")
    assert len(stamp) == 14 and stamp.isdigit()
    assert (root / "metrics" / f"EvaluationMetrics-{stamp}.json").is_file()
    assert (root / "model" / "model_metadata.json").is_file()
    assert (root / "ip" / "hyperparameters.json").is_file()
    assert (root / "reward_function.py").is_file()


def test_simtrace_semantics(run) -> None:
    """The simapp's semantics (log-formats-and-analysis.md TL;DR item 3) on every row."""
    seen_complete = 0
    for i in range(4):
        header, rows = csv_rows(run["dir"] / "training-simtrace" / f"{i}-iteration.csv")
        col = {name: k for k, name in enumerate(header)}
        episodes: dict[int, list[list[str]]] = {}
        for r in rows:
            assert len(r) == 19
            episodes.setdefault(int(r[col["episode"]]), []).append(r)
        for rs in episodes.values():
            first, last = rs[0], rs[-1]
            assert first[col["episode_status"]] == "prepare"
            assert first[col["steps"]] == "1.0" and float(first[col["reward"]]) == 0.0
            steps = [float(r[col["steps"]]) for r in rs]
            assert steps == [float(k) for k in range(1, len(rs) + 1)]
            ts = np.array([float(r[col["tstamp"]]) for r in rs])
            assert np.allclose(np.diff(ts), 1.0 / 15.0, atol=1e-9)  # sim seconds at 15 Hz
            assert [r[col["done"]] for r in rs] == ["False"] * (len(rs) - 1) + ["True"]
            assert {r[col["all_wheels_on_track"]] for r in rs} <= {"True", "False"}
            assert last[col["episode_status"]] in ("lap_complete", "off_track", "reversed",
                                                   "immobilized", "time_up")
            if last[col["episode_status"]] == "lap_complete":
                assert last[col["progress"]] == "100.0"
                seen_complete += 1
            for r in rs:
                assert r[col["action"]] in ("0", "1", "2")
                # the action's commanded steering and speed (degrees, m/s)
                assert (float(r[col["steer"]]), float(r[col["throttle"]])) == \
                    ACTIONS[int(r[col["action"]])]
                assert 0 <= int(r[col["closest_waypoint"]]) <= N_WP  # 61 rows: 0..60
                assert -180.0 < float(r[col["yaw"]]) <= 180.0
                assert float(r[col["track_len"]]) == pytest.approx(CIRCLE_LEN, abs=1e-9)
                assert r[col["pause_duration"]] == "0.0"
                assert r[col["obstacle_crash_counter"]] == "0"
                assert float(r[col["wall_clock"]]) > 1.6e9  # epoch seconds
    assert seen_complete > 0


def test_episode_numbers_are_blocks_of_the_largest_iteration(run) -> None:
    """episode = iteration * K + index, K = most episodes of an iteration; the last episode of
    iteration 0 is K - 1 (module docstring)."""
    counts = [len(s.rewards) for s in run["result"].iterations]
    k = max(counts)
    for i, n in enumerate(counts):
        _, rows = csv_rows(run["dir"] / "training-simtrace" / f"{i}-iteration.csv")
        got = sorted({int(r[0]) for r in rows})
        want = [i * k + j for j in range(n)]
        if i == 0:
            want[-1] = k - 1
        assert got == want


def test_deepracer_utils_summaries_match_the_trainer(run) -> None:
    logs = dru()
    log = logs.DeepRacerLog(model_folder=str(run["dir"]))
    log.load_training_trace()
    df = log.dataframe()
    assert df["worker"].nunique() == 1
    assert (df["unique_episode"] == df["episode"]).all()
    agg = logs.AnalysisUtils.simulation_agg(df)
    stats = run["result"].iterations
    assert len(agg) == sum(len(s.rewards) for s in stats)
    for s in stats:
        a = agg[agg["iteration"] == s.iteration]
        assert len(a) == len(s.rewards)
        assert int(a["complete"].sum()) == s.completed
        assert sorted(a.loc[a["complete"] == 1, "time"]) == pytest.approx(sorted(s.lap_times),
                                                                           abs=1e-9)
        assert sorted(a["reward"]) == pytest.approx(sorted(s.rewards), abs=1e-9)
        assert sorted(a["progress"]) == pytest.approx(sorted(s.progress), abs=1e-9)
    assert sum(s.completed for s in stats) > 0
    # TrainingMetrics.json: deepracer-utils derives the iteration from episode and trial
    tm = logs.TrainingMetrics(None, fname=str(run["dir"] / "metrics" / "TrainingMetrics.json"))
    summary = tm.getSummary(method="sum")
    for s in stats:
        row = summary.xs(s.iteration, level="iteration").iloc[0]
        assert row["train_episodes"] == len(s.rewards)
        assert row["train_completed"] == s.completed
        # reward_score = round(episode reward); the two sums may differ in the last bit, which
        # only matters for an episode reward within 1e-9 of a .5 tie
        ties = sum(abs(abs(r - math.floor(r)) - 0.5) < 1e-9 for r in s.rewards)
        assert abs(row["train_reward"] - sum(round(r) for r in s.rewards)) <= ties
        assert row["eval_episodes"] == len(s.eval_laps) == 5
        assert row["eval_completed"] == sum(lap.status == "lap_complete" for lap in s.eval_laps)
        assert row["eval_completion"] == sum(int(lap.progress) for lap in s.eval_laps)


def test_deepracer_utils_reads_the_evaluation(run) -> None:
    logs = dru()
    log = logs.DeepRacerLog(model_folder=str(run["dir"]))
    log.load_evaluation_trace(ignore_metadata=True)
    agg = logs.AnalysisUtils.simulation_agg(log.dataframe(), "stream", is_eval=True)
    laps = run["eval"].laps
    assert len(agg) == len(laps) == 2
    for (_, row), lap in zip(agg.sort_values("episode").iterrows(), laps, strict=True):
        assert row["progress"] == pytest.approx(lap.progress)
        assert row["complete"] == (lap.status == "lap_complete")
        assert row["time"] == pytest.approx(lap.lap_time, abs=1e-9)
    stamp = next(run["dir"].glob("evaluation-*")).name.removeprefix("evaluation-")
    em = json.loads((run["dir"] / "metrics" / f"EvaluationMetrics-{stamp}.json").read_text())
    assert [m["trial"] for m in em["metrics"]] == [1, 2]
    for m, lap in zip(em["metrics"], laps, strict=True):
        assert m["elapsed_time_in_milliseconds"] == round(lap.lap_time * 1000)
        assert m["completion_percentage"] == int(lap.progress)


@pytest.mark.shared_data
def test_check_dru_compat_passes_on_a_fresh_run(run) -> None:
    checker = SHARED / "tools" / "check_dru_compat.py"
    if not checker.is_file():
        pytest.skip(f"{checker} not found")
    dru()
    proc = subprocess.run([sys.executable, str(checker), str(run["dir"]), "--track",
                           str(run["track"]), "--skip-plots", "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "0 failed" in proc.stdout and "FAIL" not in proc.stdout


def test_text_logs(run, tmp_path: Path) -> None:
    stats = run["result"].iterations
    text = (run["dir"] / "logs" / "training.log").read_text().splitlines()
    training = [line for line in text if line.startswith("Training> ")]
    assert len(training) == sum(len(s.rewards) for s in stats)
    assert training[0].startswith("Training> Name=main_level/agent, Worker=0, Episode=1, ")
    policy = [line for line in text if line.startswith("Policy training> ")]
    assert len(policy) == 4
    assert f"Entropy={-stats[0].losses['train/entropy_loss']}" in policy[0]
    # robomaker-style export, read by deepracer-utils' text-log reader
    logs = dru()
    out = write_robomaker_log(run["dir"], tmp_path / "robomaker.log")
    k = max(len(s.rewards) for s in stats)
    df = logs.SimulationLogsIO.load_pandas(str(out), episodes_per_iteration=k)
    csv_total = sum(len(csv_rows(p)[1]) for p in (run["dir"] / "training-simtrace").iterdir())
    assert len(df) == csv_total
    assert sorted(df["iteration"].unique()) == [0, 1, 2, 3]


# ------------------------------------------------------------------------------------------
# the training logger on hand-made steps
# ------------------------------------------------------------------------------------------
class FakeSim:
    def __init__(self, n: int) -> None:
        self.rec = np.zeros((n, layout.NR))


class FakeEnv:
    """What TrainingLogger uses of the vec env: num_envs, track, action space, listeners, sim."""

    def __init__(self, n: int) -> None:
        self.num_envs = n
        self.track = track_from_array(circle_array(), "circle")
        self.deepracer_action_space = ActionSpace(np.array([[0.0, 1.0], [10.0, 2.0]]))
        self.listeners = []
        self.sim = FakeSim(n)


class FakeModel:
    n_steps = 4
    n_epochs = 3


def drive(env: FakeEnv, schedule: list[list[int]], steps: range, state: dict) -> None:
    """Step the fake env: car c runs episodes of the lengths ``schedule[c]`` (rows incl. the
    prepare row); the last row of an episode is off_track with done."""
    for t in steps:
        for c, lengths in enumerate(schedule):
            ep, k = state.setdefault(c, [0, 0])
            r = env.sim.rec[c]
            r[:] = 0.0
            r[layout.R_STEPS] = k + 1
            r[layout.R_EPISODE] = ep
            r[layout.R_TSTAMP] = t / 15.0
            r[layout.R_SPEED], r[layout.R_STEER] = 2.0, 10.0
            r[layout.R_PROGRESS] = 10.0 * k
            last = k + 1 == lengths[ep]
            r[layout.R_STATUS] = STATUS_CODES.index("prepare" if k == 0 else
                                                 "off_track" if last else "in_progress")
            r[layout.R_DONE] = 1.0 if last else 0.0
            state[c] = [ep + 1, 0] if last else [ep, k + 1]
        for listener in env.listeners:
            listener(env, np.ones(len(schedule), dtype=np.int64), np.full(len(schedule), 0.5))


def test_numbering_grows_and_renumbers_earlier_files(tmp_path: Path) -> None:
    """Iteration 0: each of 2 cars ends one 3-row episode (2 episodes); iteration 1: each ends
    three 2-row episodes (6). K grows 2 -> 6: iteration 0 is renumbered {0, 1} -> {0, 5}
    (its last episode takes K - 1 = 5) and iteration 1 is 1 * 6 + 0..5 = 6..11."""
    env = FakeEnv(2)
    logger = TrainingLogger()
    logger.on_start(RunFolder(tmp_path), env, FakeModel())
    schedule = [[3, 2, 2, 2, 5], [3, 2, 2, 2, 5]]
    state: dict = {}
    drive(env, schedule, range(0, 3), state)
    logger.on_iteration(IterationStats(iteration=0))
    _, rows0 = csv_rows(tmp_path / "training-simtrace" / "0-iteration.csv")
    assert sorted({int(r[0]) for r in rows0}) == [0, 1]
    drive(env, schedule, range(3, 9), state)
    lap = LapResult(progress=42.9, lap_time=1.5, status="off_track", steps=23, reward=0.0,
                    start=0.0)
    logger.on_iteration(IterationStats(iteration=1, eval_laps=[lap]))
    _, rows0 = csv_rows(tmp_path / "training-simtrace" / "0-iteration.csv")
    _, rows1 = csv_rows(tmp_path / "training-simtrace" / "1-iteration.csv")
    assert sorted({int(r[0]) for r in rows0}) == [0, 5]
    assert sorted({int(r[0]) for r in rows1}) == list(range(6, 12))
    # episodes are numbered in the order they ended (step, then car): at step 4 car 0 then car 1
    ends = [(int(r[0]), float(r[14])) for r in rows1 if r[9] == "True"]
    assert ends == [(6, 4 / 15), (7, 4 / 15), (8, 6 / 15), (9, 6 / 15), (10, 8 / 15),
                    (11, 8 / 15)]
    metrics = json.loads((tmp_path / "metrics" / "TrainingMetrics.json").read_text())["metrics"]
    train_m = [m for m in metrics if m["phase"] == "training"]
    assert [m["episode"] for m in train_m] == [1, 6, 7, 8, 9, 10, 11, 12]
    assert [m["trial"] for m in train_m] == [1, 6, 1, 2, 3, 4, 5, 6]
    # 3 rows of reward 0.5 = 1.5 -> 2 (rounded half to even: round(1.5) = 2); 2 rows -> 1
    assert [m["reward_score"] for m in train_m] == [2, 2, 1, 1, 1, 1, 1, 1]
    # first episode: tstamp 0/15 .. 2/15 s -> 0 .. 133 ms
    assert (train_m[0]["start_time"], train_m[0]["metric_time"]) == (0, 133)
    assert train_m[0]["episode_status"] == "Off track"
    (ev,) = [m for m in metrics if m["phase"] == "evaluation"]
    # repeats iteration 1's last training episode and trial; placed at the sim clock 9/15 s
    assert (ev["episode"], ev["trial"], ev["completion_percentage"]) == (12, 6, 42)
    assert (ev["start_time"], ev["elapsed_time_in_milliseconds"]) == (600, 1500)
    # deepracer-utils' derivation: iteration = (episode - 1) // max(trial) = // 6
    assert [(m["episode"] - 1) // 6 for m in metrics] == [0, 0, 1, 1, 1, 1, 1, 1, 1]
    # Ctrl-C: the 5-row episodes started at step 9 are flushed unfinished (3 rows each)
    drive(env, schedule, range(9, 12), state)
    logger.on_end(True)
    _, rows2 = csv_rows(tmp_path / "training-simtrace" / "2-iteration.csv")
    assert len(rows2) == 6
    assert sorted({int(r[0]) for r in rows2}) == [12, 13]
    assert {r[15] for r in rows2 if float(r[1]) == 3.0} == {"in_progress"}
    logs = read_run(tmp_path)
    assert logs.layout == "drfc-single"
    assert list(logs.training.episodes["steps"]) == [3, 3, 2, 2, 2, 2, 2, 2, 3, 3]


def test_deepracer_utils_unique_episode_after_renumbering(tmp_path: Path) -> None:
    logs = dru()
    env = FakeEnv(2)
    logger = TrainingLogger()
    logger.on_start(RunFolder(tmp_path), env, FakeModel())
    schedule = [[3, 2, 2, 2, 9], [3, 2, 2, 2, 9]]
    state: dict = {}
    drive(env, schedule, range(0, 3), state)
    logger.on_iteration(IterationStats(iteration=0))
    drive(env, schedule, range(3, 9), state)
    logger.on_iteration(IterationStats(iteration=1))
    log = logs.DeepRacerLog(model_folder=str(tmp_path))
    log.load_training_trace(ignore_metadata=True)
    df = log.dataframe()
    # without the K - 1 slot deepracer-utils would take 2 episodes per iteration from
    # iteration 0 and map iteration 1's six episodes onto 2 ids
    assert df["unique_episode"].nunique() == 8
    assert (df["unique_episode"] == df["episode"]).all()


# ------------------------------------------------------------------------------------------
# evaluation logger
# ------------------------------------------------------------------------------------------
def test_evaluation_logger_continuous_actions_and_time_up(tmp_path: Path) -> None:
    """A continuous space: the action column is "[steer speed]" of the commanded values; with
    a 10-step cap every lap ends time_up on step 10 with done True."""
    track = track_from_array(circle_array(), "circle")
    space = ActionSpace(np.array([[4.0, 5.0], [1.0, 2.0]]), continuous=True)
    logger = EvaluationLogger(tmp_path, "20250101000000")
    # policy output [0, 1] -> steer (5 - 4) / 2 * (0 + 1) + 4 = 4.5, speed (2 - 1) / 2 * 2 + 1 = 2
    results = run_laps(lambda obs: np.tile([0.0, 1.0], (len(obs), 1)), track, space, 6.0,
                       [0.0, 0.5], 10, observers=[logger])
    assert [r.status for r in results] == ["time_up", "time_up"]
    header, rows = csv_rows(tmp_path / "evaluation-20250101000000" / "evaluation-simtrace"
                            / "0-iteration.csv")
    assert ",".join(header) == HEADER
    col = {name: k for k, name in enumerate(header)}
    assert len(rows) == 20
    for lap in (0, 1):
        rs = [r for r in rows if r[col["episode"]] == str(lap)]
        assert [float(r[col["steps"]]) for r in rs] == [float(k) for k in range(1, 11)]
        assert rs[0][col["episode_status"]] == "prepare"
        assert rs[-1][col["episode_status"]] == "time_up" and rs[-1][col["done"]] == "True"
        assert {r[col["action"]] for r in rs} == {"[4.5 2.0]"}
    em = json.loads((tmp_path / "metrics" / "EvaluationMetrics-20250101000000.json")
                    .read_text())["metrics"]
    # 10 rows: 9 steps of 1/15 s = 600 ms
    assert [(m["trial"], m["elapsed_time_in_milliseconds"], m["episode_status"])
            for m in em] == [(1, 600, "Time Up"), (2, 600, "Time Up")]


# ------------------------------------------------------------------------------------------
# reader: cloud layouts, 17/18/19 columns
# ------------------------------------------------------------------------------------------
def _real(name: str) -> Path:
    path = SHARED / "real-logs" / name
    if not path.is_dir():
        pytest.skip(f"{path} not found")
    return path


@pytest.mark.shared_data
def test_read_drfc_multi_worker_17_columns() -> None:
    logs = read_run(_real("sample-drfc-3-logs"))
    assert logs.layout == "drfc-multi"
    assert "wall_clock" not in logs.training.columns
    e = logs.training.episodes
    assert sorted(set(e["worker"].tolist())) == [0, 1, 2]
    assert sorted(set(e["iteration"].tolist())) == list(range(23))
    # num_episodes_between_training 30 (ip/hyperparameters.json) over 3 workers: 10 each
    pairs = list(zip(e["worker"].tolist(), e["iteration"].tolist(), strict=True))
    assert {pairs.count(p) for p in set(pairs)} == {10}
    assert logs.hyperparameters["num_episodes_between_training"] == 30
    assert len(logs.evaluations) == 3
    assert {m["worker"] for m in logs.training_metrics} == {0, 1, 2}
    # the real simapp writes progress 100 and lap_complete together
    done = e["complete"].astype(bool)
    assert set(e["status"][done].tolist()) == {"lap_complete"}
    # evaluation lap times vs EvaluationMetrics (simapp clock ms, a step of ~1/15 s apart)
    first = logs.evaluations[0]
    em = logs.evaluation_metrics[first.name]
    assert first.episodes["time"] == pytest.approx(
        [m["elapsed_time_in_milliseconds"] / 1000 for m in em], abs=0.1)


@pytest.mark.shared_data
def test_read_droa_19_columns() -> None:
    logs = read_run(_real("sample-droa-solution-logs"))
    assert logs.layout == "droa"
    assert logs.world_name == "Spain_track"
    e = logs.training.episodes
    # num_episodes_between_training 20 (the simulation log's hyperparameters), 2 iterations
    assert len(e["episode"]) == 40
    assert float(logs.training.columns["wall_clock"][0]) > 1.7e9
    assert {m["phase"] for m in logs.training_metrics} == {"training", "evaluation"}


@pytest.mark.shared_data
def test_read_18_columns_and_console_layout(tmp_path: Path) -> None:
    """An 18-column file (no wall_clock) in the old console layout."""
    src = _real("sample-droa-solution-logs")
    csv = next(src.glob("sim-trace/training/*/training-simtrace/0-iteration.csv"))
    lines = csv.read_text().splitlines()
    folder = tmp_path / "sim-trace" / "training" / "training-simtrace"
    folder.mkdir(parents=True)
    (folder / "0-iteration.csv").write_text(
        "\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")
    logs = read_run(tmp_path)
    assert logs.layout == "console"
    cols = logs.training.columns
    assert "obstacle_crash_counter" in cols and "wall_clock" not in cols
    assert len(cols["episode"]) == len(lines) - 1
    assert logs.training.episodes["episode"].tolist() == list(range(20))


def test_an_interruption_inside_a_write_leaves_the_logs_consistent(tmp_path: Path,
                                                                   monkeypatch) -> None:
    """A KeyboardInterrupt raised while iteration 0 is written (before its sim-trace file is
    in place), then the stop's flush: the flush writes iteration 0 with every buffered step,
    TrainingMetrics.json and the sim-traces agree (this was an IndexError and a missing
    sim-trace file)."""
    from deepracer_sim.logs import writer

    env = FakeEnv(2)
    logger = TrainingLogger()
    logger.on_start(RunFolder(tmp_path), env, FakeModel())
    schedule = [[3, 2, 2, 2, 5], [3, 2, 2, 2, 5]]
    state: dict = {}
    drive(env, schedule, range(0, 3), state)
    real = writer.atomic_write_text

    def interrupted(*args, **kwargs):
        monkeypatch.setattr(writer, "atomic_write_text", real)
        raise KeyboardInterrupt

    monkeypatch.setattr(writer, "atomic_write_text", interrupted)
    with pytest.raises(KeyboardInterrupt):
        logger.on_iteration(IterationStats(iteration=0))
    drive(env, schedule, range(3, 5), state)
    assert logger.flush()
    files = sorted(p.name for p in (tmp_path / "training-simtrace").iterdir())
    assert files == ["0-iteration.csv"]
    # all 5 steps of both cars are iteration 0 (each car's 3-row and 2-row episodes), and the
    # metrics say the same
    _, rows = csv_rows(tmp_path / "training-simtrace" / "0-iteration.csv")
    assert len(rows) == 10
    metrics = json.loads((tmp_path / "metrics" / "TrainingMetrics.json").read_text())["metrics"]
    assert [m["episode"] for m in metrics] == [1, 2, 3, 4]
    assert read_run(tmp_path).training.episodes["steps"].tolist() == [3, 3, 2, 2]
