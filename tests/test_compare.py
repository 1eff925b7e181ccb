"""deepracer-sim compare: runs written by hand, so that every rank and number is checked by
hand; a sweep folder gives one row per finished trial; the --json keys; the page."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from deepracer_sim.cli import main as cli_main
from deepracer_sim.formats.run_folder import (
    CHECKPOINTS_JSON,
    ITERATIONS_LOG,
    METRICS_DIR,
    MODEL_DIR,
    RUN_CONFIG,
    SIMTRACE_SUFFIX,
    SWEEP_JSON,
    SWEEP_TRIALS,
    TRAINING_SIMTRACE_DIR,
)
from deepracer_sim.formats.simtrace import SIMTRACE_HEADER
from deepracer_sim.sweep.compare import compare_runs
from deepracer_sim.sweep.trial import write_marker


def lap(progress: float, time_s: float, status: str) -> dict:
    return {"progress": progress, "lap_time": time_s, "status": status, "steps": 1,
            "reward": 0.0, "start": 0.0}


def episode_rows(episode: int, status: str, throttle: float, waypoints: list[int],
                 track_len: float = 23.2) -> list[str]:
    """A prepare row (throttle 9: never counted) then one row per waypoint, 1/15 s apart from
    2/15 s on; the last row has the final status and 100 % progress when the lap completes."""
    rows = [f"{episode},1,0,0,0,0,9.0,0,0,False,True,0.0,0,{track_len},0.0,prepare,0,0,0"]
    for k, wp in enumerate(waypoints, 2):
        last = k == len(waypoints) + 1
        progress = 100.0 if last and status == "lap_complete" else 10.0 * k
        rows.append(f"{episode},{k},0,0,0,0,{throttle},0,0,{last},True,{progress},{wp},{track_len},"
                    f"{k / 15:.4f},{status if last else 'in_progress'},0,0,0")
    return rows


def make_run(root: Path, seed: int, eval_laps: list[dict], trace: bool = False) -> Path:
    """A run folder of this project's layout with two iterations; the best checkpoint's
    in-training evaluation gives ``eval_laps``."""
    (root / MODEL_DIR).mkdir(parents=True)
    (root / METRICS_DIR).mkdir()
    (root / RUN_CONFIG).write_text(json.dumps({"track": "dr_sim_default", "seed": seed,
                                               "timesteps": 2048, "n_envs": 8}))
    best = "1_Step-2048.zip"
    (root / MODEL_DIR / CHECKPOINTS_JSON).write_text(json.dumps(
        {"best_checkpoint": {"name": best}, "last_checkpoint": {"name": best}}))
    done = any(lp["status"] == "lap_complete" for lp in eval_laps)
    lines = [{"iteration": 0, "steps": 1024, "wall_time": 10.0, "completion_rate": 0.0,
              "eval_progress": 5.0, "checkpoint": "0_Step-1024.zip",
              "eval_laps": [lap(5.0, 1.0, "off_track")]},
             {"iteration": 1, "steps": 2048, "wall_time": 30.0,
              "completion_rate": 0.5 if done else 0.0, "eval_progress": 50.0,
              "checkpoint": best, "eval_laps": eval_laps}]
    (root / METRICS_DIR / ITERATIONS_LOG).write_text("\n".join(json.dumps(x) for x in lines))
    if trace:
        (root / TRAINING_SIMTRACE_DIR).mkdir()
        it0 = episode_rows(0, "off_track", 0.5, [0]) + episode_rows(1, "off_track", 0.5, [0])
        it1 = (episode_rows(2, "lap_complete", 1.0, [0, 0])
               + episode_rows(3, "lap_complete", 2.0, [60, 60])
               + episode_rows(4, "lap_complete", 2.0, [60, 60])
               + episode_rows(5, "off_track", 0.7, [0]))
        for i, rows in enumerate((it0, it1)):
            (root / TRAINING_SIMTRACE_DIR / f"{i}{SIMTRACE_SUFFIX}").write_text(
                SIMTRACE_HEADER + "\n" + "\n".join(rows) + "\n")
    return root


@pytest.fixture()
def runs(tmp_path: Path) -> dict[str, Path]:
    return {
        # 2 of 3 laps: 20 and 22 s
        "a": make_run(tmp_path / "a", 1, [lap(100.0, 20.0, "lap_complete"),
                                          lap(100.0, 22.0, "lap_complete"),
                                          lap(50.0, 8.0, "off_track")], trace=True),
        # every lap, slower: 24, 25, 26 s
        "b": make_run(tmp_path / "b", 2, [lap(100.0, 25.0, "lap_complete"),
                                          lap(100.0, 24.0, "lap_complete"),
                                          lap(100.0, 26.0, "lap_complete")]),
        # no lap
        "c": make_run(tmp_path / "c", 3, [lap(30.0, 5.0, "off_track"),
                                          lap(40.0, 6.0, "off_track")]),
    }


def test_ranks_and_numbers_by_hand(runs: dict[str, Path]) -> None:
    comparison = compare_runs([runs["c"], runs["a"], runs["b"]])
    # completion first: b (3/3) before a (2/3), although a's laps are faster; c (0/3) last
    assert [r.name for r in comparison.rows] == ["b", "a", "c"]
    b, a, c = comparison.rows
    assert (b.completion_rate, b.best_lap_time, b.mean_lap_time) == (1.0, 24.0, 25.0)
    assert b.lap_time_std == pytest.approx(math.sqrt(2 / 3))  # std of 24, 25, 26
    assert a.completion_rate == pytest.approx(2 / 3)
    assert (a.best_lap_time, a.mean_lap_time, a.lap_time_std) == (20.0, 21.0, 1.0)
    assert (c.best_lap_time, c.mean_lap_time, c.mean_progress) == (None, None, 35.0)
    assert a.evaluation == "in-training evaluation of 1_Step-2048.zip"
    # the first completed training lap: iteration 1, 2048 steps, 30 s of training
    assert (a.first_lap_iteration, a.first_lap_steps, a.first_lap_seconds) == (1, 2048, 30.0)
    # the last quarter of 2 iterations is iteration 1: 1 of its 4 episodes went off track
    assert a.off_track_rate == 0.25
    # completed training laps (no evaluation trace): section 1 at 1.0 m/s, section 6 at
    # 2.0 m/s, the prepare rows' 9.0 and the off-track episodes' speeds left out
    assert a.section_speed == [1.0, None, None, None, None, 2.0, None, None, None, None]
    assert comparison.varied == ["seed"]  # the only setting that differs


def write_evaluation(run: Path, stamp: str, track_len: float) -> None:
    folder = run / f"evaluation-{stamp}" / "evaluation-simtrace"
    folder.mkdir(parents=True)
    rows = (episode_rows(0, "lap_complete", 3.0, [60, 60, 60], track_len)
            + episode_rows(1, "off_track", 3.0, [0], track_len))
    (folder / f"0{SIMTRACE_SUFFIX}").write_text(SIMTRACE_HEADER + "\n" + "\n".join(rows) + "\n")


def test_the_latest_evaluation_on_the_training_track_counts(runs: dict[str, Path]) -> None:
    write_evaluation(runs["a"], "20260101000000", 23.2)
    write_evaluation(runs["a"], "20260102000000", 33.6)  # later, but on another track
    (row,) = compare_runs([runs["a"]]).rows
    assert row.evaluation == "evaluation-20260101000000"
    # lap 1: prepare at 0 s, last row at 4/15 s; lap 2 off track
    assert row.completion_rate == 0.5 and row.best_lap_time == pytest.approx(4 / 15, abs=1e-4)
    # the evaluation laps' speeds, not the training laps': 3.0 m/s in sections 1 and 6
    assert row.section_speed == [3.0, None, None, None, None, 3.0, None, None, None, None]


def test_json_objects(runs: dict[str, Path], capsys) -> None:
    assert cli_main(["compare", str(runs["a"]), str(runs["b"]), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["run"] for r in rows] == [str(runs["b"]), str(runs["a"])]
    for key in ("run", "settings", "completion_rate", "best_lap_time", "mean_lap_time",
                "lap_time_std", "first_lap_steps", "off_track_rate", "section_speed", "rank"):
        assert key in rows[0]
    assert rows[0]["settings"] == {"seed": 2} and rows[1]["settings"] == {"seed": 1}
    assert (rows[0]["best_lap_time"], rows[0]["mean_lap_time"]) == (24.0, 25.0)
    assert not (runs["a"] / "compare").exists()  # --json alone writes no page


def test_a_sweep_folder_gives_its_finished_trials(tmp_path: Path, runs) -> None:
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / SWEEP_JSON).write_text(json.dumps({"axes": ["seed"], "fingerprint": "x"}))
    (sweep / SWEEP_TRIALS).write_text(json.dumps({f"00{k}-seed={k + 5}": {"seed": k + 5}
                                                  for k in range(3)}))
    (sweep / "compare").mkdir()  # a page written there earlier is not a trial
    for name, seed, laps in (("000-seed=5", 5, [lap(100.0, 30.0, "lap_complete")]),
                             ("001-seed=6", 6, [lap(100.0, 28.0, "lap_complete")])):
        make_run(sweep / name, seed, laps)
        write_marker(sweep / name, {"status": "completed", "params": {"seed": seed}})
    make_run(sweep / "002-seed=7", 7, [])  # no marker: unfinished
    comparison = compare_runs([sweep, runs["c"]])
    assert [r.name for r in comparison.rows] == ["001-seed=6", "000-seed=5", "c"]
    assert comparison.varied == ["seed"]
    assert comparison.notes[0].endswith("left out (002-seed=7); finish them with the same "
                                        "deepracer-sim sweep command")


def test_page_and_errors(runs: dict[str, Path], tmp_path: Path, capsys) -> None:
    out = tmp_path / "page"
    assert cli_main(["compare", str(runs["a"]), str(runs["b"]), str(runs["c"]),
                     "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[1].split()[:2] == ["1", "b"]  # the leaderboard, best first
    page = (out / "index.html").read_text()
    assert page.count("data:image/png;base64,") == 4
    for title in ("Lap-time distributions", "Progress curves", "Fastest laps on the track",
                  "Speed per section"):
        assert title in page
    (tmp_path / "empty").mkdir()
    assert cli_main(["compare", str(tmp_path / "empty")]) == 2
    assert "neither a run folder" in capsys.readouterr().err
    assert cli_main(["compare", str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err
