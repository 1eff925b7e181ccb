"""The racing line and each track's lap-time limits (deepracer_sim.raceline).

Oracles: the speed profile against kinematics worked out by hand on hand-made envelopes and
against the car's own ramp; the line's containment against shapely (the simapp's own geometry
library); the box-constrained QP against scipy's ``lsq_linear``; the limits' order (a looser
problem is never slower); the limit against the simulator itself (the line driven with recorded
commands, replayed open loop in a fresh env, and perturbed command sequences that must not beat
it); the flying rules bound against the leaderboard records.
"""

from __future__ import annotations

import ast
import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deepracer_sim.cli import main as cli_main
from deepracer_sim.constants import CAR_WIDTH, STEP_DT, WHEEL_POSITIONS
from deepracer_sim.formats.model_metadata import read_model_metadata
from deepracer_sim.raceline import (
    RULES_MARGIN,
    SAFETY_MARGIN,
    TRANSIENT_GRIP,
    CarLimits,
    box_qp,
    compute_bounds,
    compute_raceline,
    drive_line,
    driven_speed,
    line_action_space,
    replay_commands,
    reward_source,
    speed_profile,
)
from deepracer_sim.raceline.controller import DRIVE_RESERVE
from deepracer_sim.raceline.lap import Dense, standing_lap
from deepracer_sim.reward import load_reward_function
from deepracer_sim.reward_lab.check import check_reward
from deepracer_sim.sim.car import CAR_V6
from deepracer_sim.sim.envelope import CarEnvelope, ramp
from deepracer_sim.testing import make_params

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
REINVENT = SHARED / "tracks" / "reinvent_base.npy"

shapely = pytest.importorskip("shapely")
from shapely.geometry import LineString, Point, Polygon  # noqa: E402

#: Quicker scans for the tests that check properties every line has.
QUICK = {"lams": (0.0, 0.1, 1.0, 10.0), "refine": 2}


@pytest.fixture(scope="module")
def default_bounds():
    return compute_bounds("dr_sim_default")


@pytest.fixture(scope="module")
def default_line(default_bounds):
    return default_bounds.limit


@pytest.fixture(scope="module")
def reinvent_line():
    if not REINVENT.is_file():
        pytest.skip(f"{REINVENT} not found")
    return compute_raceline(str(REINVENT))


def hand_limits(a_lat: float = 1.0, a_long: float = 2.0, a_brake: float = 3.0,
                top: float = 4.0, grip: float = 1.0, k_at_rest: float = 1e6) -> CarLimits:
    """A hand-made envelope: constant lateral, forward and braking accelerations (m/s^2) up to
    the top speed; the tightest curvature at rest ``k_at_rest`` (1/m)."""
    v = np.linspace(0.0, top, 81)
    kmax = np.empty_like(v)
    kmax[0] = k_at_rest
    kmax[1:] = np.minimum(a_lat / v[1:] ** 2, k_at_rest)
    steer = np.array([0.0, 30.0])
    table = np.column_stack([np.zeros_like(v), kmax])
    env = CarEnvelope(v, kmax * v**2, kmax, np.full_like(v, a_long), np.full_like(v, a_brake),
                      top, steer, table, 0.0, 0.0)
    return CarLimits(env, grip)


def straight(length: float, step: float = 0.01):
    n = round(length / step)
    return np.full(n, step), np.zeros(n + 1)


# --- the speed profile: kinematics by hand --------------------------------------------------------


def test_standing_start_at_constant_acceleration() -> None:
    # 2 m/s^2 from rest to the top speed 4 m/s: 2 s over 4 m, then 6 m at 4 m/s in 1.5 s: 3.5 s
    v, t = speed_profile(*straight(10.0), hand_limits())
    assert t.sum() == pytest.approx(3.5, abs=1e-4)
    assert v[-1] == 4.0 and v[200] == pytest.approx(math.sqrt(2 * 2.0 * 2.0), abs=1e-9)


def test_braking_into_a_curve_at_constant_deceleration() -> None:
    # a curve k = 1/m with a_lat 1 m/s^2 allows v = sqrt(a / k) = 1 m/s; before it the car
    # brakes at 3 m/s^2: d m before the curve v = sqrt(1 + 2 * 3 * d) until 4 m/s
    n = 1000  # 10 m straight, then 5 m of curve, 0.01 m apart
    ds = np.full(n + 500, 0.01)
    k = np.concatenate([np.zeros(n), np.ones(501)])
    v, _ = speed_profile(ds, k, hand_limits(), v_start=4.0)
    assert v[n + 250] == pytest.approx(1.0, abs=1e-6)
    for d in (0.5, 1.0, 2.0):
        assert v[n - round(d / 0.01)] == pytest.approx(math.sqrt(1.0 + 6.0 * d), abs=1e-6)
    # the transient-grip factor multiplies the lateral envelope: grip 4 -> v = sqrt(4) = 2 m/s
    v4, _ = speed_profile(ds, k, hand_limits(grip=4.0), v_start=4.0)
    assert v4[n + 250] == pytest.approx(2.0, abs=1e-6)


def test_a_lap_after_a_lap_round_a_circle() -> None:
    # a circle of radius 2 m with a_lat 2 m/s^2: v = sqrt(2 * 2) = 2 m/s all the way round,
    # 2 pi 2 / 2 = 2 pi s; from rest the same circle takes 1 s longer... plus the ramp:
    # 2 m/s at 2 m/s^2 is reached after 1 s and 1 m instead of 0.5 s, so + 0.5 s
    m = 1257
    ds = np.full(m, 2.0 * 2.0 * math.pi / m)
    k = np.full(m, 0.5)
    v, t = speed_profile(ds, k, hand_limits(a_lat=2.0), loop=True)
    assert np.allclose(v, 2.0) and t.sum() == pytest.approx(2.0 * math.pi, rel=1e-9)
    _, t0 = speed_profile(ds[:-1], k, hand_limits(a_lat=2.0))
    assert t0.sum() + ds[-1] / 2.0 == pytest.approx(2.0 * math.pi + 0.5, abs=2e-3)


def test_curvature_beyond_the_tightest_turn_cannot_be_driven() -> None:
    ds = np.full(100, 0.01)
    lim = hand_limits(k_at_rest=2.0)
    v, t = speed_profile(ds, np.full(101, 1.9), lim, v_start=4.0)
    assert np.all(v > 0.0) and math.isfinite(t.sum())
    v, t = speed_profile(ds, np.full(101, 2.1), lim, v_start=4.0)
    assert np.all(v == 0.0) and math.isinf(t.sum())


def test_standing_start_of_the_real_car_matches_its_own_ramp() -> None:
    # the v6 car's envelope read at run time: 10 m from rest under command 4 take as long as
    # the car's own kernel driving straight from rest
    speeds, _ = ramp(CAR_V6, 4.0, 60)
    dist = np.concatenate([[0.0], np.cumsum(0.5 * (speeds[1:] + speeds[:-1]) / 15.0)])
    steps = float(np.interp(10.0, dist, np.arange(len(dist))))
    _, t = speed_profile(*straight(10.0), CarLimits.of("v6"))
    assert t.sum() == pytest.approx(steps / 15.0, rel=0.01)
    assert CarLimits.of("v6").v_max == pytest.approx(CAR_V6.top_speed(4.0), abs=1e-12)


def test_invalid_grip_raises() -> None:
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="grip"):
            CarLimits.of("v5", bad)


# --- the optimiser: the bounded QP against scipy --------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(n=st.integers(3, 40), seed=st.integers(0, 10_000))
def test_box_qp_matches_scipy_lsq_linear(n: int, seed: int) -> None:
    from scipy.optimize import lsq_linear
    from scipy.sparse import csc_matrix

    rng = np.random.default_rng(seed)
    a = rng.normal(size=(2 * n, n))
    b = rng.normal(size=2 * n) * 3.0
    lo = -rng.uniform(0.05, 1.0, n)
    hi = rng.uniform(0.05, 1.0, n)
    x = box_qp(csc_matrix(a.T @ a), a.T @ b, lo, hi)
    ref = lsq_linear(a, b, bounds=(lo, hi), method="bvls", tol=1e-12)
    assert x is not None
    assert np.all(x >= lo - 1e-12) and np.all(x <= hi + 1e-12)
    cost = 0.5 * np.sum((a @ x - b) ** 2)
    assert cost <= ref.cost + 1e-7 * max(1.0, ref.cost)


# --- the line stays on the road (shapely) ---------------------------------------------------------


def road_polygon(track) -> Polygon:
    w = track.waypoints
    return Polygon(w[:, 4:6], [w[:, 2:4]])


LINES = ["default_line", pytest.param("reinvent_line", marks=pytest.mark.shared_data)]


@pytest.mark.parametrize("which", LINES)
def test_line_keeps_the_car_on_the_road(which: str, request) -> None:
    line = request.getfixturevalue(which)
    road = road_polygon(line.track)
    assert road.contains(LineString(line.xy).buffer(CAR_WIDTH / 2))
    border = road.boundary
    clearance = min(border.distance(Point(p)) for p in line.xy[::3])
    assert clearance >= CAR_WIDTH / 2 + SAFETY_MARGIN - 0.01
    for (x, y), h in zip(line.xy[::5], line.heading[::5], strict=True):
        for wx, wy in WHEEL_POSITIONS:
            px = x + wx * math.cos(h) - wy * math.sin(h)
            py = y + wx * math.sin(h) + wy * math.cos(h)
            assert road.contains(Point(px, py))


def test_line_starts_where_an_evaluation_lap_starts(default_line) -> None:
    assert np.allclose(default_line.xy[0], default_line.track.waypoints[0, 0:2], atol=1e-9)
    assert np.allclose(default_line.xy[-1], default_line.xy[0], atol=1e-9)
    assert default_line.physics == "v6" and default_line.version == 6.0
    assert default_line.grip == TRANSIENT_GRIP["v6"]


def test_limit_is_no_faster_than_the_line_at_top_speed(default_line) -> None:
    # the origin covers about the line's length (less the 0.14 m the reference point leads)
    # no faster than the top speed (100 rad/s x 0.03587 m), plus the PREPARE step
    v_top = CAR_V6.top_speed(4.0)
    assert default_line.lap_time >= (default_line.length - 0.14) / v_top + STEP_DT
    assert default_line.length < default_line.track.length


def test_less_grip_is_no_faster(default_line) -> None:
    slower = compute_raceline(default_line.track, "v6", grip=0.8 * default_line.grip, **QUICK)
    assert slower.lap_time >= default_line.lap_time
    # the lateral acceleration stays within the scaled envelope (its ~1 % interpolation aside)
    env = slower.limits.envelope
    a_lat = slower.speed**2 * np.abs(slower.kappa)
    cap = slower.grip * np.interp(slower.speed, env.v, env.a_lat_max)
    assert np.all(a_lat[5:] <= 1.02 * cap[5:] + 1e-6)


def test_the_four_limits_are_in_order(default_bounds) -> None:
    # a looser problem cannot have a slower optimum: the rules corridor contains the clean one,
    # a flying lap starts at speed and is free where it crosses the line
    b = default_bounds
    assert b.rules_bound <= b.limit.lap_time
    assert b.flying_lap <= b.limit.drive_time
    assert b.flying_rules_bound <= min(b.flying_lap, b.rules_bound)
    assert b.rules.min_clearance >= RULES_MARGIN - 0.01
    summary = b.summary()
    for key in ("lap_time", "rules_bound", "flying_lap", "flying_rules_bound"):
        assert isinstance(summary[key], float)
    assert (summary["physics"], summary["version"]) == ("v6", 6.0)


@pytest.mark.shared_data
@pytest.mark.parametrize(("track", "physics"), [("penbay_pro", "v6"),
                                                ("2022_september_pro", "v4")])
def test_rules_bound_is_never_slower_than_the_limit(track, physics) -> None:
    # the two cases where the earlier raceline's rules bound came out slower than its clean
    # limit (penbay_pro v6: 20.93 vs 20.27 s; 2022_september_pro v4: 17.53 vs 17.27 s)
    path = SHARED / "tracks" / f"{track}.npy"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    b = compute_bounds(str(path), physics, **QUICK)
    assert b.rules_bound <= b.limit.lap_time
    assert b.flying_rules_bound <= min(b.flying_lap, b.rules_bound)


def test_an_open_track_has_no_flying_lap(tmp_path) -> None:
    x = np.linspace(0.0, 8.0, 41)
    w = np.column_stack([x, np.zeros_like(x), x, np.full_like(x, 0.5), x,
                         np.full_like(x, -0.5)])
    path = tmp_path / "straight.npy"
    np.save(path, w)
    b = compute_bounds(str(path), "v5", **QUICK)
    assert math.isnan(b.flying_lap) and b.summary()["flying_lap"] is None
    with pytest.raises(ValueError, match="no flying lap"):
        compute_raceline(str(path), "v5", flying=True)


# --- the limit is physical: drive it, replay it, try to beat it -----------------------------------


@pytest.mark.parametrize("which", LINES)
def test_driving_the_line_and_replaying_it_open_loop(which: str, request) -> None:
    line = request.getfixturevalue(which)
    drive = drive_line(line)
    assert drive.status == "lap_complete"
    assert drive.min_wheels == 4  # never a wheel off the road
    # the controller aims at the line's speeds under 90 % of the fitted car's lateral envelope
    # (DRIVE_RESERVE), slowing ahead of corners and when off the line: never faster than the
    # limit, and within 20 % of the lap those speeds give (measured: 1.1-1.15)
    dense = Dense(line.xy, line.s, line.heading, line.kappa)
    aimed = standing_lap(line.track, dense, CarLimits.of(line.car, DRIVE_RESERVE))
    assert np.allclose(driven_speed(line), aimed.v)
    assert line.lap_time - STEP_DT <= drive.lap_time <= 1.2 * aimed.lap_time, (
        drive.lap_time, aimed.lap_time, line.lap_time)
    replay = replay_commands(line.track, drive.commands, line.physics)
    assert replay.status == "lap_complete" and replay.steps == drive.steps
    assert replay.lap_time == drive.lap_time and replay.min_wheels == 4
    assert np.allclose(replay.poses, drive.poses, atol=1e-9)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), steer_noise=st.floats(0.0, 3.0),
       speed_noise=st.floats(0.0, 0.5))
def test_perturbed_commands_do_not_beat_the_limit(default_bounds, seed: int, steer_noise: float,
                                                  speed_noise: float) -> None:
    line = default_bounds.limit
    rng = np.random.default_rng(seed)
    commands = _ideal_commands(line).copy()
    commands[1:, 0] += rng.normal(0.0, steer_noise, len(commands) - 1)
    commands[1:, 1] += rng.normal(0.0, speed_noise, len(commands) - 1)
    commands = np.vstack([commands, np.tile(commands[-1], (20, 1))])
    replay = replay_commands(line.track, commands, line.physics)
    if replay.status == "lap_complete":
        # any lap the env accepts: no faster than the rules bound; one with all four wheels on
        # the road throughout: no faster than the limit (within a step)
        assert replay.lap_time >= default_bounds.rules_bound
        if replay.min_wheels == 4:
            assert replay.lap_time >= line.lap_time - STEP_DT


_IDEAL: dict[int, np.ndarray] = {}


def _ideal_commands(line) -> np.ndarray:
    if id(line) not in _IDEAL:
        _IDEAL[id(line)] = drive_line(line).commands
    return _IDEAL[id(line)]


# --- outputs --------------------------------------------------------------------------------------


def test_reward_file_passes_the_check_and_rewards_the_line(default_line, tmp_path) -> None:
    path = tmp_path / "line_reward.py"
    path.write_text(reward_source(default_line))
    tree = ast.parse(path.read_text())
    imports = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imports == {"math"} and not any(isinstance(n, ast.ImportFrom) for n in ast.walk(tree))
    assert "physics\nv6" in path.read_text() or "physics v6" in path.read_text()
    space = line_action_space(default_line)
    report = check_reward(path, default_line.track, space, samples=400)
    assert report.exit_code == 0, report.format()
    fn = load_reward_function(path)
    i = int(np.searchsorted(default_line.s, 5.0))
    h = default_line.heading[i]
    x = default_line.xy[i, 0] + 0.14 * math.cos(h)
    y = default_line.xy[i, 1] + 0.14 * math.sin(h)
    _, speed_cmd = default_line.commands(flying=True)
    on = fn(make_params(default_line.track, x=x, y=y, heading=math.degrees(h),
                        speed=float(speed_cmd[i])))
    nx, ny = -math.sin(h), math.cos(h)
    beside = fn(make_params(default_line.track, x=x + 0.25 * nx, y=y + 0.25 * ny,
                            heading=math.degrees(h), speed=float(speed_cmd[i])))
    slow = fn(make_params(default_line.track, x=x, y=y, heading=math.degrees(h), speed=0.5))
    assert on > beside and on > slow


def test_commands_invert_the_cars_response(default_line) -> None:
    steer, speed = default_line.commands(flying=True)
    assert np.all(np.abs(steer) <= 30.0) and np.all((speed >= 0.1) & (speed <= 4.0))
    # below the top speed the command is the speed / (0.03587 / 0.035); at it, 4 m/s
    v = default_line.flying_speed
    slow = v < CAR_V6.top_speed(4.0) - 1e-3
    assert np.allclose(speed[slow], v[slow] * 0.035 / CAR_V6.wheel_radius)
    assert np.all(speed[~slow] == 4.0)


def test_action_space_from_the_line(default_line) -> None:
    space = line_action_space(default_line, 15)
    acts = [tuple(a) for a in space.actions]
    assert 2 <= len(acts) <= 15
    assert (0.0, 4.0) in acts  # the straight action at the top speed's command
    assert sorted((-s, v) for s, v in acts) == sorted(acts)
    assert all(abs(s) <= 30.0 and 0.1 <= v <= 4.0 for s, v in acts)


def test_cli_writes_every_output(default_line, tmp_path, capsys) -> None:
    args = ["dr_sim_default", "--out", str(tmp_path / "line.npy"), "--plot",
            str(tmp_path / "line.png"), "--reward-file", str(tmp_path / "reward.py"),
            "--action-space", str(tmp_path / "model_metadata.json"), "--actions", "11",
            "--no-rules", "--no-flying"]
    assert cli_main(["raceline", *args]) == 0
    out = capsys.readouterr().out
    assert "| `dr_sim_default` |" in out and "limit lap" in out
    row = next(r for r in out.splitlines() if r.startswith("| `dr_sim_default`"))
    assert float(row.split("|")[5]) == pytest.approx(default_line.lap_time, abs=1e-3)
    assert [c.strip() for c in row.split("|")[6:9]] == ["-", "-", "-"]
    data = np.load(tmp_path / "line.npy")
    assert data.ndim == 2 and data.shape[1] == 4
    assert (tmp_path / "line.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    space, version = read_model_metadata(tmp_path / "model_metadata.json")
    assert version == 6.0 and 2 <= len(space) <= 11
    assert json.loads((tmp_path / "model_metadata.json").read_text())["action_space_type"] == \
        "discrete"


def test_cli_json_has_the_four_limits(default_bounds, capsys) -> None:
    assert cli_main(["raceline", "dr_sim_default", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    b = default_bounds
    assert out["lap_time"] == pytest.approx(b.limit.lap_time, abs=1e-4)
    assert out["rules_bound"] == pytest.approx(b.rules_bound, abs=1e-4)
    assert out["flying_lap"] == pytest.approx(b.flying_lap, abs=1e-4)
    assert out["flying_rules_bound"] == pytest.approx(b.flying_rules_bound, abs=1e-4)
    assert (out["physics"], out["version"]) == ("v6", 6.0)


def test_cli_physics_picks_the_car(capsys) -> None:
    assert cli_main(["raceline", "dr_sim_default", "--physics", "v4", "--no-rules",
                     "--no-flying", "--json", "--grip", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["physics"], out["version"], out["grip"]) == ("v4", 4.0, 1.0)
    with pytest.raises(SystemExit) as exc:
        cli_main(["raceline", "dr_sim_default", "--grip", "0"])
    assert exc.value.code == 2
    assert "--grip: 0 is out of range" in capsys.readouterr().err


def test_cli_reports_a_narrow_track(tmp_path, capsys) -> None:
    # a straight 0.25 m wide: less than the car (0.1961 m) plus two margins (0.04 m each)
    x = np.linspace(0.0, 5.0, 26)
    w = np.column_stack([x, np.zeros_like(x), x, np.full_like(x, 0.125), x,
                         np.full_like(x, -0.125)])
    path = tmp_path / "narrow.npy"
    np.save(path, w)
    assert cli_main(["raceline", str(path), "--no-rules"]) == 2
    assert "narrower than the car" in capsys.readouterr().err
    assert cli_main(["raceline"]) == 2
    assert "--records" in capsys.readouterr().err
