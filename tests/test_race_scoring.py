"""Race scoring on hand-made lap/event sequences and on real evaluation logs with resets.

Real logs (``../shared/real-logs``, copied from aws-deepracer-community/deepracer-utils@262e3fe
``tests/deepracer/logs/``): two deepracer-for-cloud evaluations on reinvent_base with one
off-track each (3 trials, not continuous) and one DeepRacer-on-AWS evaluation on Spain_track with
one off-track, each with the simapp's own ``EvaluationMetrics`` JSON.
"""

from __future__ import annotations

import csv
import json

import pytest

from deepracer_sim.constants import STATUS_CODES
from deepracer_sim.errors import UsageError
from deepracer_sim.sim import layout
from deepracer_sim.training.race_scoring import (
    LEADERBOARD_KEYS,
    LapMetric,
    RaceRules,
    best_average_lap_time,
    leaderboard_entry,
    metrics_from_simtrace,
    score_events,
    submission_stats,
)

RACE_1S = RaceRules(laps=3, off_track_penalty=1.0, collision_penalty=1.0)
#: lap 1: 12.0 s driving + 1 s off-track hold = 13.0 s; lap 2: 11.5 s; lap 3: 10.0 s + 1 s
#: collision hold = 11.0 s.
THREE_LAPS = [("drive", 12.0), ("off_track", 40.0), ("lap",), ("drive", 11.5), ("lap",),
              ("drive", 10.0), ("crashed", 55.0), ("lap",)]


def test_crashed_is_the_last_status_code() -> None:
    assert STATUS_CODES[layout.ST_CRASHED] == "crashed" and layout.ST_CRASHED == 7
    assert len(STATUS_CODES) == 8


def test_continuous_race_with_penalties() -> None:
    laps = score_events(THREE_LAPS, RACE_1S)
    assert [m.elapsed_time_in_milliseconds for m in laps] == [13000, 11500, 11000]
    assert [m.start_time for m in laps] == [0, 13000, 24500]
    assert [(m.off_track_count, m.crash_count, m.reset_count) for m in laps] == \
        [(1, 0, 1), (0, 0, 0), (0, 1, 1)]
    assert {m.episode_status for m in laps} == {"Lap complete"}
    entry = leaderboard_entry(laps, 3, "AVG_LAP_TIME")
    assert {k: entry[k] for k in LEADERBOARD_KEYS} == {
        "LapCount": 3, "AvgLapTime": 11.833,  # floor(35500 / 3) ms
        "BestLapTime": 11.0, "TotalLapTime": 35.5, "OffTrackCount": 1, "CollisionCount": 1,
        "ResetCount": 2}
    assert entry["RankingScore"] == 11.833
    assert leaderboard_entry(laps, 3, "BEST_LAP_TIME")["RankingScore"] == 11.0
    assert leaderboard_entry(laps, 3, "TOTAL_TIME")["RankingScore"] == 35.5
    # a window of 2: (13.0 + 11.5) / 2 = 12.25, (11.5 + 11.0) / 2 = 11.25
    assert leaderboard_entry(laps, 2, "AVG_LAP_TIME")["AvgLapTime"] == 11.25


def test_penalty_per_status() -> None:
    rules = RaceRules(laps=1, off_track_penalty=2.0, collision_penalty=5.0)
    assert [rules.penalty(s) for s in ("off_track", "crashed", "reversed", "immobilized")] == \
        [2.0, 5.0, 2.0, 0.0]
    laps = score_events([("drive", 3.0), ("reversed", 10.0), ("immobilized", 10.0),
                         ("crashed", 12.0), ("lap",)], rules)
    assert laps[0].elapsed_time_in_milliseconds == 10000  # 3 + 2 + 0 + 5
    assert (laps[0].reversed_count, laps[0].immobilized_count, laps[0].reset_count) == (1, 1, 3)
    entry = leaderboard_entry(laps, 1, "TOTAL_TIME")
    # every cause is a reset; only off-tracks and collisions have their own column
    assert (entry["ResetCount"], entry["OffTrackCount"], entry["CollisionCount"]) == (3, 0, 1)


def test_reset_budget_ends_the_race_and_drops_the_unfinished_lap() -> None:
    rules = RaceRules(laps=3, max_resets=1, off_track_penalty=1.0)
    laps = score_events([("drive", 5.0), ("lap",), ("drive", 3.0), ("off_track", 20.0),
                         ("drive", 2.0), ("off_track", 30.0)], rules)
    assert [m.elapsed_time_in_milliseconds for m in laps] == [5000]
    entry = leaderboard_entry(laps, 3, "AVG_LAP_TIME")
    assert (entry["LapCount"], entry["AvgLapTime"], entry["BestLapTime"],
            entry["TotalLapTime"], entry["ResetCount"]) == (1, None, 5.0, 5.0, 0)
    assert entry["RankingScore"] is None  # 1 of 3 minimum laps: not ranked
    with pytest.raises(UsageError, match="after the race ended"):
        score_events([("drive", 5.0), ("off_track", 1.0), ("off_track", 1.0), ("lap",)],
                     RaceRules(laps=1, max_resets=1))


def test_time_up_without_a_lap_is_an_incomplete_entry() -> None:
    laps = score_events([("drive", 20.0), ("off_track", 37.9), ("drive", 580.0), ("time_up",)],
                        RaceRules(laps=3, off_track_penalty=2.0))
    assert len(laps) == 1
    assert (laps[0].completion_percentage, laps[0].elapsed_time_in_milliseconds,
            laps[0].episode_status) == (37, 602000, "Off track")
    entry = leaderboard_entry(laps, 3, "BEST_LAP_TIME")
    assert (entry["LapCount"], entry["AvgLapTime"], entry["BestLapTime"]) == (0, None, 602.0)
    assert entry["RankingScore"] is None
    # after a lap a time-up adds nothing
    laps = score_events([("drive", 9.0), ("lap",), ("drive", 4.0), ("time_up",)],
                        RaceRules(laps=3))
    assert [m.elapsed_time_in_milliseconds for m in laps] == [9000]


def test_no_lap_at_all_is_null() -> None:
    entry = leaderboard_entry([], 3, "TOTAL_TIME")
    assert {k: entry[k] for k in LEADERBOARD_KEYS} == {
        "LapCount": 0, "AvgLapTime": None, "BestLapTime": None, "TotalLapTime": None,
        "OffTrackCount": 0, "CollisionCount": 0, "ResetCount": 0}


def test_non_continuous_trials() -> None:
    """Each trial is appended whatever its outcome; the best lap can be an incomplete trial's
    (DeepRacer-on-AWS does not filter), the average only counts complete windows."""
    rules = RaceRules(laps=3, max_resets=0, continuous=False)
    laps = score_events([("drive", 10.0), ("lap",), ("drive", 6.5), ("off_track", 48.0),
                         ("drive", 10.2), ("lap",)], rules)
    assert [(m.completion_percentage, m.elapsed_time_in_milliseconds, m.trial) for m in laps] \
        == [(100, 10000, 1), (48, 6500, 2), (100, 10200, 3)]
    stats = submission_stats(laps, 1)
    assert (stats.best_lap_time, stats.avg_lap_time, stats.completed_lap_count) == \
        (6500, 10000, 1)
    assert best_average_lap_time(laps, 2) == 86_000_000  # no two consecutive complete laps


def test_bad_inputs() -> None:
    with pytest.raises(UsageError, match="timing method"):
        leaderboard_entry([], 1, "FASTEST")
    with pytest.raises(UsageError, match="minimum laps"):
        best_average_lap_time([], 0)
    with pytest.raises(UsageError, match="unknown kind"):
        score_events([("jump",)], RACE_1S)
    with pytest.raises(UsageError, match="end before the race"):
        score_events([("drive", 1.0), ("lap",)], RACE_1S)
    with pytest.raises(UsageError, match="at least 1 lap"):
        RaceRules(laps=0)
    with pytest.raises(UsageError, match="0 s or more"):
        RaceRules(off_track_penalty=-1.0)


# --- real evaluation logs with resets -------------------------------------------------------
REAL_EVALS = [
    ("sample-drfc-3-logs/evaluation-20220709201704/evaluation-simtrace/0-iteration.csv",
     "sample-drfc-3-logs/metrics/EvaluationMetrics-20220709201704.json"),
    ("sample-drfc-3-logs/evaluation-20220709201920/evaluation-simtrace/0-iteration.csv",
     "sample-drfc-3-logs/metrics/EvaluationMetrics-20220709201920.json"),
    ("sample-droa-solution-logs/sim-trace/evaluation/2026-03-07T17:52:00.898Z-deepracerindy-"
     "evaluation-9oJ3QbS0SYm7Iag/evaluation-simtrace/0-iteration.csv",
     "sample-droa-solution-logs/metrics/evaluation/2026-03-07T17:52:00.898Z-deepracerindy-"
     "evaluation-9oJ3QbS0SYm7Iag.json"),
]


def _real_metrics(path) -> list[LapMetric]:
    return [LapMetric(**{k: m[k] for k in LapMetric.__dataclass_fields__})
            for m in json.loads(path.read_text())["metrics"]]


@pytest.mark.parametrize("trace, metrics", REAL_EVALS)
def test_metrics_rebuilt_from_real_simtraces(shared_dir, trace, metrics) -> None:
    real_logs = shared_dir / "real-logs"
    with open(real_logs / trace, newline="") as f:
        rows = list(csv.DictReader(f))
    real = _real_metrics(real_logs / metrics)
    rebuilt = metrics_from_simtrace(rows, continuous=False)
    assert len(rebuilt) == len(real) == 3
    for a, b in zip(rebuilt, real, strict=True):
        assert (a.completion_percentage, a.episode_status, a.off_track_count, a.crash_count,
                a.reset_count, a.trial) == (b.completion_percentage, b.episode_status,
                                            b.off_track_count, b.crash_count, b.reset_count,
                                            b.trial)
        # the simapp starts the lap clock at the reset, about one step before the first row
        assert 0 <= b.elapsed_time_in_milliseconds - a.elapsed_time_in_milliseconds <= 120
    assert sum(m.off_track_count for m in real) == 1


def test_real_droa_evaluation_leaderboard_entry(shared_dir) -> None:
    """Spain_track, DeepRacer-on-AWS: laps 30884 ms (one off-track, its 2 s hold inside),
    28573 and 28312 ms."""
    laps = _real_metrics(shared_dir / "real-logs" / REAL_EVALS[2][1])
    assert [m.elapsed_time_in_milliseconds for m in laps] == [30884, 28573, 28312]
    entry = leaderboard_entry(laps, 3, "AVG_LAP_TIME")
    assert {k: entry[k] for k in LEADERBOARD_KEYS} == {
        "LapCount": 3, "AvgLapTime": 29.256,  # floor(87769 / 3) ms
        "BestLapTime": 28.312, "TotalLapTime": 87.769, "OffTrackCount": 1,
        "CollisionCount": 0, "ResetCount": 1}
