"""Race-day evaluation: continuous laps with resets, holds and the race rules, on a ring track
with scripted policies (so every number is worked out by hand), and ``evaluate --race``."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest

from deepracer_sim.cli import main as cli_main
from deepracer_sim.constants import STEP_DT
from deepracer_sim.errors import UsageError
from deepracer_sim.formats.model_metadata import discrete_action_space
from deepracer_sim.track.model import track_from_array
from deepracer_sim.training.race import (
    RaceConditions,
    evenly_spaced_starts,
    lane_poses,
    run_races,
)
from deepracer_sim.training.race_scoring import LEADERBOARD_KEYS, RaceRules, leaderboard_entry

ROOT = Path(__file__).resolve().parents[1]
#: straight ahead (index 1) at 1 m/s; -30 / +30 degrees are indices 0 / 2
SPACE = discrete_action_space(max_steering=30, steering_levels=3, max_speed=1.0, speed_levels=1)


def ring(n: int = 40, radius: float = 3.0, half_width: float = 0.4) -> np.ndarray:
    """A CCW circle: inner border at radius - half_width, outer at radius + half_width."""
    ang = np.append(np.linspace(0.0, 2 * np.pi, n, endpoint=False), 0.0)
    c, s = np.cos(ang), np.sin(ang)
    return np.column_stack([radius * c, radius * s, (radius - half_width) * c,
                            (radius - half_width) * s, (radius + half_width) * c,
                            (radius + half_width) * s])


RING = track_from_array(ring(), "ring")


def straight(obs: np.ndarray) -> np.ndarray:
    return np.full(len(obs), 1)


def test_lane_poses_on_the_ring() -> None:
    """At waypoint 0, (3, 0): the inner lane's nearest point is its vertex (2.8, 0), yaw at the
    next lane vertex along the chord of a 9 degree step (94.5 deg). The outer lane's nearest
    point is on its chord from -9 to 0 degrees (that chord is 3.2 cos 4.5 deg from the centre,
    nearer than the vertex): the foot of the perpendicular along the chord's normal at
    -4.5 degrees, yaw 85.5 deg."""
    poses = lane_poses(RING, 0, 0.0)
    assert poses[0] == pytest.approx([2.8, 0.0, math.radians(94.5)], abs=1e-12)
    half = math.radians(4.5)
    depth = 3.2 * math.cos(half) - 3.0 * math.cos(half)
    assert poses[1] == pytest.approx([3.0 + depth * math.cos(half), -depth * math.sin(half),
                                      math.radians(85.5)], abs=1e-12)
    # a quarter lap on, at vertex 10 (90 degrees): both lanes' vertices are nearest
    quarter = lane_poses(RING, 0, RING.length / 4)
    assert quarter[0, :2] == pytest.approx([0.0, 2.8], abs=1e-9)


def test_a_camera_model_races_on_its_frames() -> None:
    """A camera policy races too: it is given each step's (N, 120, 160, 1) frames (the held
    car's frame stays put while it waits) and, driving as the straight feature policy does,
    scores the same race."""
    frames: list[np.ndarray] = []

    def straight_camera(obs: np.ndarray) -> np.ndarray:
        assert obs.shape == (1, 120, 160, 1) and obs.dtype == np.uint8
        frames.append(obs[0, :, :, 0].copy())
        return np.full(len(obs), 1)

    rules = RaceRules(laps=1, off_track_penalty=1.0)
    [camera] = run_races(straight_camera, RING, SPACE, 6.0, rules, sensor="FRONT_FACING_CAMERA")
    [features] = run_races(straight, RING, SPACE, 6.0, rules)
    assert camera == features and camera[0].off_track_count >= 3
    changes = [int((a != b).any()) for a, b in itertools.pairwise(frames)]
    assert sum(changes) > len(changes) // 2  # the view moves while the car drives
    assert changes.count(0) >= 15  # and not while it is held for the 1 s penalty (15 steps)


def test_resets_hold_the_car_for_the_penalty() -> None:
    """Driving straight on a 3 m circle leaves the road again and again; each reset puts the car
    on a lane. The held car resumes exactly where it was put, so a 1 s penalty adds exactly
    15 steps (1 s) per reset to the lap and changes nothing else."""
    free, held = (run_races(straight, RING, SPACE, 6.0,
                            RaceRules(laps=2, off_track_penalty=p))[0] for p in (0.0, 1.0))
    assert len(free) == len(held) == 2
    for a, b in zip(free, held, strict=True):
        assert a.off_track_count == b.off_track_count >= 3
        assert a.reset_count == a.off_track_count
        assert b.elapsed_time_in_milliseconds - a.elapsed_time_in_milliseconds == \
            1000 * b.off_track_count
        assert a.completion_percentage == 100
    # the laps follow each other: lap 2 starts when lap 1 ends
    assert held[1].start_time == held[0].start_time + held[0].elapsed_time_in_milliseconds
    entry = leaderboard_entry(held, 2, "TOTAL_TIME")
    assert entry["TotalLapTime"] == pytest.approx(sum(m.elapsed_time_in_milliseconds
                                                      for m in held) / 1000)


def test_reset_budget_and_time_limit_end_the_race() -> None:
    budget = run_races(straight, RING, SPACE, 6.0, RaceRules(laps=3, max_resets=1))[0]
    assert budget == []  # the second off-track ends the race before any lap
    entry = leaderboard_entry(budget, 3, "AVG_LAP_TIME")
    assert [entry[k] for k in LEADERBOARD_KEYS] == [0, None, None, None, 0, 0, 0]
    timed = run_races(straight, RING, SPACE, 6.0, RaceRules(laps=3, time_limit=2.0))[0]
    assert len(timed) == 1 and timed[0].completion_percentage < 100
    # 2 s of simulated time from the start: 30 steps of 1/15 s (or one more by rounding)
    assert timed[0].elapsed_time_in_milliseconds in (2000, 2067)


def test_start_points_speed_multiplier_and_noise() -> None:
    rules = RaceRules(laps=1, off_track_penalty=0.0)
    starts = evenly_spaced_starts(4)
    assert starts == (0.0, 0.25, 0.5, 0.75)
    plain = run_races(straight, RING, SPACE, 6.0, rules, RaceConditions(starts))
    # the ring is the same everywhere: every start point drives the same race, to a step or
    # two (the polygon's vertices fall differently under the car's steps)
    times = [m[0].elapsed_time_in_milliseconds for m in plain]
    assert max(times) - min(times) <= 2 * 67
    slow = run_races(straight, RING, SPACE, 6.0, rules, RaceConditions(speed_multiplier=0.5))
    assert slow[0][0].elapsed_time_in_milliseconds > 1.5 * max(times)
    noisy = [run_races(straight, RING, SPACE, 6.0, rules,
                       RaceConditions(steering_noise=5.0, speed_noise=0.1, seed=seed))[0]
             for seed in (1, 1, 2)]
    assert noisy[0] == noisy[1] != noisy[2]  # seeded
    with pytest.raises(UsageError, match="speed multiplier"):
        RaceConditions(speed_multiplier=2.0)


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "center"
    assert cli_main(["train", "--reward", str(ROOT / "rewards" / "center.py"), "--out",
                     str(out), "--timesteps", "1024", "--n-envs", "4", "--n-steps", "128",
                     "--no-progress-bar"]) == 0
    return out


def test_evaluate_race_json(trained_run: Path, capsys) -> None:
    assert cli_main(["evaluate", str(trained_run), "--race", "--laps", "1", "--max-resets", "5",
                     "--off-track-penalty", "1", "--timing", "TOTAL_TIME", "--starts", "2",
                     "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(LEADERBOARD_KEYS) <= set(report)
    assert report["TimingMethod"] == "TOTAL_TIME"
    assert [s["start"] for s in report["starts"]] == [0.0, 0.5]
    assert report["spread"]["races"] == 2
    assert report["ResetCount"] <= 5
    for lap in report["laps"]:
        assert lap["episode_status"] in ("Lap complete", "Off track", "In progress")
    assert cli_main(["evaluate", str(trained_run), "--race", "--laps", "1"]) == 0
    assert "timing AVG_LAP_TIME" in capsys.readouterr().out


def test_evaluate_race_rejects_bad_options(trained_run: Path, capsys) -> None:
    assert cli_main(["evaluate", str(trained_run), "--race", "--laps", "2",
                     "--minimum-laps", "3"]) == 2
    assert "minimum laps 3" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli_main(["evaluate", str(trained_run), "--race", "--speed-multiplier", "2"])
    assert math.isclose(STEP_DT, 1 / 15)
