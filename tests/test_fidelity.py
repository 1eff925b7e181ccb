"""Tests of the replay of real sim-traces (``deepracer_sim.fidelity``) and of the calibrated car.

Real logs: ``../shared/real-logs`` (read in place). sample-drfc-3-logs is version-4 physics
(reinvent_base), sample-droa-solution-logs version 6 (Spain_track). Timing (spec §2.1): row k's
pose is the pose before action k; the car moves under action k between rows k and k+1; the
motion of step k lasts ``tstamp[k] - tstamp[k-1]`` (fidelity's module docstring).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from deepracer_sim.cli import main as cli_main
from deepracer_sim.constants import REAR_AXLE_X, REFERENCE_POINT_X, WHEELBASE
from deepracer_sim.fidelity import replay as fidelity
from deepracer_sim.fidelity.calibrate import fit_cost
from deepracer_sim.fidelity.replay import Estimator
from deepracer_sim.formats.simtrace import SIMTRACE_COLUMNS, read_simtrace
from deepracer_sim.sim.car import (
    DYNAMICS_V4,
    DYNAMICS_V5,
    KINEMATIC,
    advance_car_dt,
    dynamics_for_version,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
LOGS = SHARED / "real-logs"
V4_DIR = LOGS / "sample-drfc-3-logs"
V6_DIR = LOGS / "sample-droa-solution-logs"


def need(path: Path) -> Path:
    if not path.is_dir():
        pytest.skip(f"{path} not available")
    return path


@pytest.fixture(scope="module")
def v6_log():
    return fidelity.load_log(need(V6_DIR))


@pytest.fixture(scope="module")
def v4_log():
    # one of the three training workers (15.8k rows) keeps the test fast
    return fidelity.load_log(need(V4_DIR) / "0")


# --- the acceptance check: calibrated model vs plain bicycle on real logs ------------------------

@pytest.mark.shared_data
@pytest.mark.parametrize("which", ["v4", "v6"])
def test_calibrated_model_beats_kinematic_bicycle_3x(which, v4_log, v6_log):
    log, version = (v4_log, 4) if which == "v4" else (v6_log, 6)
    result = fidelity.compare(log, version)["horizons"]
    for h in ("1", "5", "15"):
        model, kin = result[h]["model"], result[h]["kinematic"]
        assert model["median_cm"] * (2.0 if h == "1" else 3.0) <= kin["median_cm"], h
        assert model["p90_cm"] < kin["p90_cm"], h
        assert model["median_heading_deg"] * 3.0 < kin["median_heading_deg"], h
    # issue goal at 15 steps (held-out figures in the README): median within 10 cm, p90 25 cm
    assert result["15"]["model"]["median_cm"] <= 10.0
    assert result["15"]["model"]["p90_cm"] <= 25.0
    # the car is 32 cm long and a 15-step (1 s) prediction travels ~1.5 m: the plain bicycle's
    # median error (issue: 47 cm on the v4 logs) is a large fraction of that
    assert result["15"]["kinematic"]["median_cm"] > 40.0


@pytest.mark.shared_data
def test_held_out_episodes_v6(v6_log):
    # the episodes the calibration did not fit (every 5th): still 3x better than the bicycle
    result = fidelity.compare(v6_log, 6, episodes="held-out")["horizons"]["15"]
    assert result["model"]["median_cm"] * 3.0 <= result["kinematic"]["median_cm"]
    assert result["model"]["median_cm"] <= 10.0


@pytest.mark.shared_data
@pytest.mark.parametrize("which", ["v4", "v6"])
def test_calibrated_constants_are_a_fit_optimum(which, v4_log, v6_log):
    """The checked-in constants minimise the calibration's objective on the fitted episodes:
    a 30% change of any fitted value raises it (``calibration.fit_cost``: mean soft-L1 loss,
    scale 10 cm, of the position errors and 0.2 m/rad x heading errors, horizons 1..15)."""
    log, version = (v4_log, 4) if which == "v4" else (v6_log, 6)
    dyn = dynamics_for_version(version)
    names = (("speed_tau", "max_accel", "steer_tau", "yaw_gain", "speed_gain", "max_lat_accel")
             if version == 4 else ("speed_tau", "steer_tau", "yaw_gain", "speed_gain"))
    starts = fidelity.window_starts(log, episodes="fit")
    est = fidelity.estimator_for_version(version)
    best = fit_cost(log, starts, dyn, est)
    for name in names:
        for factor in (0.7, 1.3):
            other = replace(dyn, **{name: getattr(dyn, name) * factor})
            assert fit_cost(log, starts, other, est) > best * 1.01, (name, factor)
    # the plain bicycle is far off the optimum
    assert fit_cost(log, starts, KINEMATIC, est) > 2.0 * best


@pytest.mark.shared_data
def test_step_time_choice_matches_the_data(v4_log, v6_log):
    # fidelity.ESTIMATORS: version 6 steps last the logged tstamp differences, the 2022 v4 logs'
    # tstamp jitter is not motion: 1-step errors decide
    def median1(log, version, timing):
        starts = fidelity.window_starts(log)
        est = Estimator(timing, fidelity.estimator_for_version(version).steer_gain)
        pos, _ = fidelity.prediction_errors(log, starts, dynamics_for_version(version), est, 1)
        return float(np.median(pos[:, 0]))

    assert median1(v6_log, 6, "logged") < median1(v6_log, 6, "fixed")
    assert median1(v4_log, 4, "fixed") < median1(v4_log, 4, "logged")
    assert fidelity.ESTIMATORS[6].timing == "logged"
    assert fidelity.ESTIMATORS[4].timing == "fixed"


# --- replay mechanics, checked by hand on real rows ----------------------------------------

def _episode_rows(log, kind: str, episode_number: int):
    for e, (k, _, number) in enumerate(log.episodes):
        if k == kind and number == episode_number:
            return e, np.flatnonzero(log.episode == e)
    raise AssertionError("episode not found")


@pytest.mark.shared_data
def test_kinematic_one_step_prediction_by_hand(v6_log):
    """Rows of the first DRoA training file: from row k the plain bicycle drives u = throttle
    for dt = tstamp[k] - tstamp[k-1] s with steering ``steer``, compared with row k+1."""
    path = next(need(V6_DIR).rglob("training-simtrace/0-iteration.csv"))
    cols = read_simtrace(path)
    e_num = int(cols["episode"][0])
    _, rows = _episode_rows(v6_log, "training", e_num)
    mask = cols["episode"] == e_num
    X, Y = cols["X"][mask], cols["Y"][mask]
    yaw = np.radians(cols["yaw"][mask])
    steer, thr = cols["steer"][mask], cols["throttle"][mask]
    t, status = cols["tstamp"][mask], cols["episode_status"][mask]
    checked = {"straight": 0, "turn": 0}
    for k in range(2, len(X) - 1):
        if status[k] != "in_progress" or status[k + 1] not in ("in_progress", "off_track"):
            continue
        dt = t[k] - t[k - 1]
        s = thr[k] * dt  # arc length of the rear axle (and of the origin when straight)
        if steer[k] == 0.0:
            px = X[k] + s * math.cos(yaw[k])
            py = Y[k] + s * math.sin(yaw[k])
            yaw1 = yaw[k]
            kind = "straight"
        else:
            # rear axle 0.081663 m behind the origin = 0.221663 m behind the reference point;
            # circle of radius R = L / tan(steer), turned by s / R
            r = WHEELBASE / math.tan(math.radians(steer[k]))
            back = REFERENCE_POINT_X - REAR_AXLE_X
            xr, yr = X[k] - back * math.cos(yaw[k]), Y[k] - back * math.sin(yaw[k])
            yaw1 = yaw[k] + s / r
            xr += r * (math.sin(yaw1) - math.sin(yaw[k]))
            yr += r * (math.cos(yaw[k]) - math.cos(yaw1))
            px, py = xr + back * math.cos(yaw1), yr + back * math.sin(yaw1)
            kind = "turn"
        expected = math.hypot(px - X[k + 1], py - Y[k + 1])
        pos, head = fidelity.prediction_errors(v6_log, np.array([rows[k]]), KINEMATIC,
                                               Estimator("logged", 0.0), horizon=1)
        assert pos[0, 0] == pytest.approx(expected, abs=1e-9)
        dyaw = (yaw1 - yaw[k + 1] + math.pi) % (2 * math.pi) - math.pi
        assert head[0, 0] == pytest.approx(dyaw, abs=1e-9)
        checked[kind] += 1
    assert checked["straight"] > 0 and checked["turn"] > 3


@pytest.mark.shared_data
def test_windows_follow_the_rules(v6_log):
    starts = fidelity.window_starts(v6_log)
    assert len(starts) > 1000
    h = 15
    for k in starts:
        e = v6_log.episode[k]
        assert v6_log.episode[k + h] == e
        # not on a PREPARE row nor on the first RUN row of a run (no driven step yet)
        assert v6_log.run_start[k] >= 0 and k > v6_log.run_start[k]
        assert v6_log.act_ok[k:k + h].all()
    # the evaluation episodes hold pauses (respawns after off-track): no window crosses one
    cols = read_simtrace(next(need(V6_DIR).rglob("evaluation-simtrace/0-iteration.csv")))
    assert (cols["episode_status"] == "pause").sum() > 0
    e, rows = _episode_rows(v6_log, "evaluation", 0)
    status = cols["episode_status"][cols["episode"] == 0]
    local = set((starts[v6_log.episode[starts] == e] - rows[0]).tolist())
    for k in local:
        assert all(s == "in_progress" for s in status[k:k + h])
        assert status[k + h] in ("in_progress", "off_track", "lap_complete")
    # a training episode without pauses or step-time hiccups: rows 0 (prepare), 1..n-2
    # (in_progress), n-1 (off_track); starts k = 2..n-16 -> n - 17 windows
    path = next(need(V6_DIR).rglob("training-simtrace/0-iteration.csv"))
    tcols = read_simtrace(path)
    for number in np.unique(tcols["episode"]):
        m = tcols["episode"] == number
        n = int(m.sum())
        dt = np.diff(tcols["tstamp"][m])
        st = tcols["episode_status"][m]
        if st[-1] != "off_track" or not (st[1:-1] == "in_progress").all():
            continue
        if not ((dt[1:-1] > 0.005) & (dt[1:-1] < 0.2)).all():  # rows 2..n-2
            continue
        e, rows = _episode_rows(v6_log, "training", int(number))
        assert int((v6_log.episode[starts] == e).sum()) == max(0, n - 17), number


# --- a synthetic log from our own car: the replay must reproduce it exactly ----------------

def _write_log(folder: Path, dyn, durations, steers, speeds) -> Path:
    """A 17-column sim-trace of one episode driven by ``dyn`` (row 0 PREPARE holds the car)."""
    out = folder / "training-simtrace"
    out.mkdir(parents=True)
    pose = np.array([1.0, 2.0, 0.3, 0.0, 0.0])
    t = 10.0
    rows = []
    for k, (dt, st, sp) in enumerate(zip(durations, steers, speeds, strict=True)):
        status = "prepare" if k == 0 else "in_progress"
        x = pose[0] + REFERENCE_POINT_X * math.cos(pose[2])
        y = pose[1] + REFERENCE_POINT_X * math.sin(pose[2])
        t += dt  # tstamp: the time after this row's step
        rows.append([0, k + 1.0, x, y, math.degrees(pose[2]), st, sp, 0, 1.0, False, True, 1.0,
                     1, 17.7, t, status, 0.0])
        if k > 0:
            advance_car_dt(pose, math.radians(st), sp, dyn.as_array(), dt)
    path = out / "0-iteration.csv"
    with path.open("w") as fh:
        fh.write(",".join(SIMTRACE_COLUMNS[:17]) + "\n")
        for r in rows:
            fh.write(",".join(repr(float(v)) if isinstance(v, float) else str(v) for v in r) + "\n")
    return path


@pytest.mark.parametrize("version", [4, 6])
def test_replay_of_own_car_is_exact(tmp_path, version):
    rng = np.random.default_rng(version)
    n = 80
    timing = fidelity.estimator_for_version(version).timing
    durations = (rng.uniform(0.04, 0.09, n) if timing == "logged" else np.full(n, 1.0 / 15.0))
    steers = rng.choice([-30.0, -15.0, 0.0, 10.0, 30.0], n)
    speeds = rng.choice([0.5, 1.0, 2.0, 3.0], n)
    dyn = DYNAMICS_V4 if version == 4 else DYNAMICS_V5
    _write_log(tmp_path, dyn, durations, steers, speeds)
    log = fidelity.load_log(tmp_path)
    starts = fidelity.window_starts(log)
    # rows 2..n-16 (n - 17 starts: row n-1 is the last pose a 15-step window can end on)
    assert starts.tolist() == list(range(2, n - 15))
    # the state estimate (from rest through the commands; the observer sees no surprise)
    # and the prediction reproduce our car to rounding
    pos, head = fidelity.prediction_errors(log, starts, dyn, fidelity.estimator_for_version(
        version))
    assert np.abs(pos).max() < 1e-9
    assert np.abs(head).max() < 1e-9
    # the plain bicycle does not
    result = fidelity.compare(log, version, dyn=dyn)["horizons"]
    assert result["15"]["model"]["median_cm"] < 1e-6
    assert result["15"]["kinematic"]["median_cm"] > 5.0


# --- command line ---------------------------------------------------------------------------

@pytest.mark.shared_data
def test_cli_json_shape(capsys):
    assert cli_main(["fidelity", str(need(V6_DIR)), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"horizons"}
    assert set(out["horizons"]) == {"1", "5", "15"}
    for h in out["horizons"].values():
        assert set(h) == {"model", "kinematic"}
        for e in h.values():
            assert set(e) == {"median_cm", "p90_cm", "median_heading_deg"}
            assert all(isinstance(v, float) and math.isfinite(v) for v in e.values())
            assert e["p90_cm"] >= e["median_cm"] > 0.0
    # errors grow with the horizon
    m = [out["horizons"][h]["model"]["median_cm"] for h in ("1", "5", "15")]
    assert m[0] < m[1] < m[2]


@pytest.mark.shared_data
def test_cli_table_and_track_check(capsys):
    tracks = SHARED / "tracks"
    if not (tracks / "Spain_track.npy").is_file():
        pytest.skip("Spain_track.npy not available")
    assert cli_main(["fidelity", str(need(V6_DIR)), "--track",
                     str(tracks / "Spain_track.npy")]) == 0
    out = capsys.readouterr()
    assert "physics version 6" in out.out
    assert "warning" not in out.err  # the logged track_len 59.998 m is Spain_track's
    for h in ("1", "5", "15"):
        assert any(line.split("|")[0].strip() == h for line in out.out.splitlines())
    # a wrong track is reported
    assert cli_main(["fidelity", str(V6_DIR), "--track", str(tracks / "reinvent_base.npy"),
                          "--json"]) == 0
    assert "warning" in capsys.readouterr().err


@pytest.mark.shared_data
def test_version_detection(tmp_path, capsys):
    # model_metadata.json "version": "4" (DRfC); "simapp_version 6.0" in the DRoA simapp log
    assert fidelity.detect_version(need(V4_DIR)) == 4.0
    assert fidelity.detect_version(need(V6_DIR)) == 6.0
    # no metadata and no log: the user must say
    _write_log(tmp_path, KINEMATIC, [1 / 15] * 16, [0.0] * 16, [1.0] * 16)
    assert fidelity.detect_version(tmp_path) is None
    assert cli_main(["fidelity", str(tmp_path)]) == 2
    assert "--version" in capsys.readouterr().err
    # 16 rows: a window needs rows k >= 2 and k + 15 <= 15: none
    assert cli_main(["fidelity", str(tmp_path), "--version", "6"]) == 2
    assert "no 15-step replay window" in capsys.readouterr().err
    assert cli_main(["fidelity", str(tmp_path / "missing"), "--version", "6"]) == 2
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli_main(["fidelity", str(empty), "--version", "4"]) == 2
    assert "no training-simtrace" in capsys.readouterr().err


def test_runtime_does_not_need_scipy(tmp_path):
    # only the fitting script (deepracer_sim.fidelity.calibrate) uses scipy
    code = ("import sys; sys.modules['scipy'] = None\n"
            "import deepracer_sim.sim.car, deepracer_sim.sim.kernel, "
            "deepracer_sim.fidelity.replay, deepracer_sim.envs.env\n"
            "print('ok')")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
