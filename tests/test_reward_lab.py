"""The reward-function lab: ``deepracer-sim reward check|map|replay``.

``check`` must flag, with the right severity, everything that fails DeepRacer's validator or
stops a training job (errors: exit status 1) and what merely runs badly (warnings: exit status
0). The validator's rules are spec §1.1 (SIM ``reward_func_validator``): allowed imports
math/random/numpy/scipy/shapely, forbidden builtins and substrings, flake8 E1/E7/E9/F, a float
within [-1e5, 1e5] on its five params dicts within 5 s.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from deepracer_sim.cli import main as cli_main
from deepracer_sim.formats.model_metadata import discrete_action_space
from deepracer_sim.formats.simtrace import find_simtrace_files, read_simtrace
from deepracer_sim.reward import load_reward_function
from deepracer_sim.reward_lab.check import (
    ERROR,
    WARNING,
    check_reward,
    sample_params,
    static_checks,
    validator_params,
)
from deepracer_sim.reward_lab.lint import builtin_lint, flake8_available, lint
from deepracer_sim.reward_lab.map import compute_reward_map, render_reward_map
from deepracer_sim.reward_lab.replay import replay
from deepracer_sim.track import load_track
from deepracer_sim.training.ppo import TrainConfig, train

REPO = Path(__file__).resolve().parents[1]
REWARD_FILES = sorted((REPO / "rewards").glob("*.py"))
SPACE = discrete_action_space()  # DeepRacer-on-AWS default: 5 steering x 2 speeds


@pytest.fixture(scope="module")
def track():
    return load_track("dr_sim_default")


def write(tmp_path: Path, text: str, name: str = "reward.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def run_check(path, track, **kw):
    kw.setdefault("samples", 400)
    kw.setdefault("lint_backend", "builtin")
    return check_reward(path, track, SPACE, **kw)


def findings(report, code):
    return [f for f in report.findings if f.code == code]


# --------------------------------------------------------------------------------------------
# good files


@pytest.mark.parametrize("path", REWARD_FILES, ids=lambda p: p.name)
def test_project_reward_files_pass(path, track):
    report = run_check(path, track, lint_backend="auto")
    assert report.errors == [], report.format()
    assert report.exit_code == 0
    assert report.warnings == [], report.format()
    assert report.samples == 400


def test_center_rewards_and_keys(track):
    # rewards/center.py pays 1.0 / 0.5 / 0.1 / 1e-3 and reads exactly these two keys
    report = run_check(REPO / "rewards" / "center.py", track, samples=600)
    assert set(np.unique(report.rewards)) <= {1.0, 0.5, 0.1, 1e-3}
    assert set(np.unique(report.rewards)) == {1.0, 0.5, 0.1, 1e-3}  # all bands are sampled
    assert report.keys_read == ["distance_from_center", "track_width"]


def test_cli_exit_status_good_file(track, capsys):
    assert cli_main(["reward", "check", str(REPO / "rewards" / "center.py"), "--samples", "200",
                        "--lint", "builtin"]) == 0
    out = capsys.readouterr().out
    assert "0 error(s), 0 warning(s)" in out


# --------------------------------------------------------------------------------------------
# bad files: one per problem, (source, code, severity)

BAD = {
    "forbidden_import": ("""
        import os


        def reward_function(params):
            return 1.0 + params["x"] * 0.0
        """, "illegal-import", ERROR, 1),
    "forbidden_from_import": ("""
        from collections import deque


        def reward_function(params):
            return float(len(deque([params["x"]])))
        """, "illegal-import", ERROR, 1),
    "forbidden_builtin": ("""
        def reward_function(params):
            return eval("1.0") + params["x"] * 0.0
        """, "forbidden-builtin", ERROR, 2),
    # "download" contains the forbidden substring "load", even in a comment
    "forbidden_substring_comment": ("""
        def reward_function(params):
            # download the best lap
            return 1.0 + params["x"] * 0.0
        """, "forbidden-string", ERROR, 2),
    "syntax_error": ("""
        def reward_function(params):
            return 1.0 +
        """, "syntax-error", ERROR, 2),
    "flake8_one_line_if": ("""
        def reward_function(params):
            if params["x"] > 0: return 1.0
            return 0.5
        """, "flake8-E701", ERROR, 2),
    "flake8_undefined_name": ("""
        def reward_function(params):
            return float(distance_from_centre) + params["x"]
        """, "flake8-F821", ERROR, 2),
    "import_in_function": ("""
        def reward_function(params):
            import math
            return math.sqrt(params["track_width"])
        """, "import-in-function", ERROR, 2),
    "validator_crash_attribute_of_literal": ("""
        def reward_function(params):
            text = "{}".format(params["x"])
            return float(len(text))
        """, "validator-crash", ERROR, 2),
    # runs in the simulator, but the validator's params have no projection_distance
    "validator_missing_key": ("""
        def reward_function(params):
            return 1.0 + 0.0 * params["projection_distance"]
        """, "validator-exception", ERROR, 2),
    "int_return": ("""
        def reward_function(params):
            if params["all_wheels_on_track"]:
                return 1
            return 0.5
        """, "validator-return-type", ERROR, None),
    "two_parameters": ("""
        def reward_function(params, extra):
            return 1.0
        """, "signature", ERROR, None),
    # the validator's params always have is_reversed True: these pass it and fail in training
    "exception": ("""
        def reward_function(params):
            if not params["is_reversed"]:
                raise ValueError("forward")
            return 1.0 + params["x"] * 0.0
        """, "exception", ERROR, 3),
    "non_numeric": ("""
        def reward_function(params):
            if not params["is_reversed"]:
                return None
            return 1.0 + params["x"] * 0.0
        """, "non-numeric", ERROR, None),
    "nan": ("""
        def reward_function(params):
            if not params["is_reversed"]:
                return float("nan")
            return 1.0 + params["x"] * 0.0
        """, "nan-inf", ERROR, None),
    "inf": ("""
        def reward_function(params):
            if not params["is_reversed"]:
                return float("inf")
            return 1.0 + params["x"] * 0.0
        """, "nan-inf", ERROR, None),
    "out_of_range": ("""
        def reward_function(params):
            if not params["is_reversed"]:
                return 2e5
            return 1.0 + params["x"] * 0.0
        """, "out-of-range", ERROR, None),
    "zero_rewards": ("""
        def reward_function(params):
            if params["all_wheels_on_track"]:
                return 1.0
            return 0.0
        """, "zero-reward", WARNING, None),
    "negative_rewards": ("""
        def reward_function(params):
            if params["all_wheels_on_track"]:
                return 1.0
            return -1.0
        """, "negative-reward", WARNING, None),
    "no_dependence": ("""
        def reward_function(params):
            return 1.0
        """, "no-dependence", WARNING, None),
    "reads_but_constant": ("""
        def reward_function(params):
            speed = params["speed"]
            return 1.0 if speed < 100.0 else 2.0
        """, "no-dependence", WARNING, None),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_file_detected(name, tmp_path, track):
    source, code, severity, line = BAD[name]
    report = run_check(write(tmp_path, source), track)
    hits = findings(report, code)
    assert hits, report.format()
    assert all(f.severity == severity for f in hits)
    if line is not None:
        assert hits[0].line == line
    # exit status 0 only when nothing would fail in the cloud
    assert report.exit_code == (1 if severity == ERROR else 0)
    if severity == WARNING:
        assert report.errors == [], report.format()


@pytest.mark.parametrize("name", ["exception", "non_numeric", "nan", "out_of_range",
                                  "zero_rewards", "negative_rewards"])
def test_sampled_findings_carry_an_example(name, tmp_path, track):
    source, code, _, _ = BAD[name]
    report = run_check(write(tmp_path, source), track)
    (finding,) = findings(report, code)
    ex = finding.example
    assert ex is not None and len(ex) == 26
    if name in ("exception", "non_numeric", "nan", "out_of_range"):
        assert ex["is_reversed"] is False  # the files fail only in the forward direction
        # samples alternate directions: half of the 400 are forward
        assert finding.count == 200
    else:
        assert ex["all_wheels_on_track"] is False


def test_forbidden_substrings_each_reported_with_line(tmp_path, track):
    path = write(tmp_path, """
        import numpy as np


        def reward_function(params):
            # np.save and np.savetxt are both forbidden; payload too ("load")
            return float(np.mean([params["x"]]) * 0.0 + 1.0)
        """)
    found, _, _ = static_checks(path, path.read_text(), "builtin")
    hits = [f for f in found if f.code == "forbidden-string"]
    assert {f.line for f in hits} == {5}
    texts = " ".join(f.message for f in hits)
    assert "'savetxt'" in texts and "'load'" in texts and "payload" in texts


def test_int_return_is_only_a_warning_in_training_but_an_error_for_the_validator(tmp_path,
                                                                                 track):
    report = run_check(write(tmp_path, BAD["int_return"][0]), track)
    assert findings(report, "validator-return-type")[0].severity == ERROR
    assert findings(report, "non-float")[0].severity == WARNING


def test_slow_calls_reported_with_p99(tmp_path, track):
    slow = write(tmp_path, """
        def reward_function(params):
            total = 0.0
            for k in range(3000):
                total += k * 1e-9
            return 1.0 + 0.0 * total * params["x"]
        """)
    report = run_check(slow, track, samples=200, slow_call=1e-5)
    (finding,) = findings(report, "slow")
    assert finding.severity == WARNING
    assert report.timing.p99 > 1e-5 and report.timing.calls == 200
    assert report.exit_code == 0
    # the same threshold does not flag a trivial function (a few microseconds per call)
    fast = run_check(REPO / "rewards" / "center.py", track, samples=200, slow_call=1e-3)
    assert findings(fast, "slow") == []


def test_validator_timeout_is_an_error(tmp_path, track):
    # the validator's finish car has steps == 10000; sampled steps never exceed 1000
    path = write(tmp_path, """
        def reward_function(params):
            if params["steps"] >= 10000:
                total = 0
                for k in range(3_000_000):
                    total += k
            return 1.0 + params["x"] * 0.0
        """)
    report = run_check(path, track, validator_timeout=0.05)
    assert findings(report, "validator-timeout")[0].severity == ERROR
    assert report.exit_code == 1
    assert report.samples == 0  # the sampled run is skipped


def test_cli_exit_status_and_json(tmp_path):
    bad = write(tmp_path, BAD["forbidden_import"][0])
    proc = subprocess.run([sys.executable, "-m", "deepracer_sim", "reward", "check", str(bad),
                           "--samples", "100", "--lint", "builtin", "--json"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["exit_code"] == 1
    assert any(f["code"] == "illegal-import" and f["line"] == 1 for f in data["findings"])
    # a missing file is a usage error
    assert cli_main(["reward", "check", str(tmp_path / "missing.py")]) == 2


# --------------------------------------------------------------------------------------------
# the validator's rules in detail


LINT_SOURCE = """
import math


def helper(v): return v * 2


def reward_function(params):
  x = params["x"]
  if x == None:
      x = 0.0
  l = 3; y = 2;
  try:
      z = undefined_thing + x
  except:
      z = 0.0
  s = f"hello"
  return float(l + y + z + len(s) + helper(math.pi))
"""
# by hand (pycodestyle/pyflakes rules): E704 (def on one line) line 4; E111 on every line
# indented by 2 or 6 spaces (8-17); E711 line 9; E741 + E702 + E703 line 11; F821 line 13;
# E722 line 14; F541 line 16
LINT_EXPECTED = {("E704", 4), ("E711", 9), ("E741", 11), ("E702", 11), ("E703", 11),
                 ("F821", 13), ("E722", 14), ("F541", 16)} | {("E111", n) for n in range(8, 18)}


@pytest.mark.parametrize("backend", ["builtin", "flake8"])
def test_lint_backends(backend, tmp_path):
    if backend == "flake8" and not flake8_available():
        pytest.skip("flake8 not installed")
    path = write(tmp_path, LINT_SOURCE)
    result = lint(path, backend=backend)
    got = {(m.code, m.line) for m in result.messages}
    assert got == LINT_EXPECTED
    assert result.exact == (backend == "flake8")


def test_builtin_lint_tabs_and_redefinition():
    src = "def reward_function(params):\n\tif params['x']:\n\t    return 1.0\n\treturn 0.5\n\n\n" \
          "def reward_function(params):\n    return 1.0\n"
    got = {(m.code, m.line) for m in builtin_lint(src)}
    # the file indents with tabs first (line 2): line 3 adds spaces and line 8 uses spaces
    # (E101 both); the second def replaces the unused first one (line 1)
    assert got == {("E101", 3), ("E101", 8), ("F811", 7)}


def test_validator_params_by_hand():
    # a 4-row triangle loop: centre (0,0)-(4,0)-(4,3)-(0,0), borders 0.5 m to either side
    w = np.array([
        [0.0, 0.0, 0.0, 0.5, 0.0, -0.5],
        [4.0, 0.0, 3.5, 0.5, 4.0, -0.5],
        [4.0, 3.0, 3.5, 2.5, 4.5, 3.0],
        [0.0, 0.0, 0.0, 0.5, 0.0, -0.5],
    ])
    vp = validator_params(w)
    assert set(vp) == {"valid", "start", "progress", "off_track", "finish"}
    valid = vp["valid"]
    # width of row 0: |(0,-0.5) - (0,0.5)| = 1.0
    assert valid["track_width"] == 1.0
    # inner-border length: (0,.5)->(3.5,.5) = 3.5; ->(3.5,2.5) = 2; ->(0,.5) = sqrt(3.5^2+2^2)
    assert valid["track_length"] == pytest.approx(3.5 + 2.0 + math.hypot(3.5, 2.0))
    # between the inner border and the centre of row 0
    assert (valid["x"], valid["y"]) == (0.0, 0.25)
    assert "projection_distance" not in valid and "objects_distance_from_center" not in valid
    assert isinstance(valid["waypoints"], np.ndarray)
    assert valid["waypoints"].tolist() == w[:, 2:4].tolist()
    assert len(valid) == 24
    off = vp["off_track"]
    # from the centre towards the outer border (0,-1 direction) by one track width
    assert (off["x"], off["y"]) == (0.0, -1.0)
    assert off["is_offtrack"] is True and off["all_wheels_on_track"] is False
    fin = vp["finish"]
    assert fin["steps"] == 10000 and fin["progress"] == 100 and fin["speed"] == 5.0
    assert fin["closest_waypoints"] == [2, 3]
    assert vp["progress"]["x"] == w[2, 2]  # floor(4 / 2) = row 2


def test_sample_params_cover_the_space(track):
    samples = sample_params(track, SPACE, 1000, seed=3)
    assert len(samples) == 1000
    assert {p["is_reversed"] for p in samples} == {False, True}
    actions = {(p["steering_angle"], p["speed"]) for p in samples}
    assert actions == {tuple(a) for a in SPACE.actions.tolist()}
    off = sum(p["is_offtrack"] for p in samples)
    on = sum(p["all_wheels_on_track"] for p in samples)
    assert off > 50 and on > 300
    assert any(p["progress"] == 100.0 for p in samples)
    assert min(p["steps"] for p in samples) == 2.0


def test_check_speed_a_few_thousand_samples(track):
    report = check_reward(REPO / "rewards" / "heading.py", track, SPACE, samples=3000,
                          lint_backend="builtin")
    assert report.samples == 3000
    assert report.elapsed < 15.0  # ~1 s on a developer machine


# --------------------------------------------------------------------------------------------
# map


def _straight_points(track, offsets):
    """Points at the middle of the segments 3..7 of dr_sim_default's start straight, moved
    sideways (left of travel) by each offset."""
    wp = track.waypoints
    out = []
    for i in range(3, 8):
        a, b = wp[i, 0:2], wp[i + 1, 0:2]
        t = (b - a) / np.hypot(*(b - a))
        normal = np.array([-t[1], t[0]])
        mid = (a + b) / 2
        out.append([mid + o * normal for o in offsets])
    return out


def test_map_values_center(track):
    fn = load_reward_function(REPO / "rewards" / "center.py")
    rmap = compute_reward_map(fn, track, resolution=0.05, margin=0.1)
    # track width 0.762: bands <= 0.0762 -> 1.0, <= 0.1905 -> 0.5, <= 0.381 -> 0.1, else 1e-3.
    # A cell centre is within 0.05 * sqrt(2) / 2 = 0.0354 m of the query point, so offsets
    # 0 / 0.14 / 0.28 / -0.43 land in [0, 0.035] / [0.105, 0.175] / [0.245, 0.315] /
    # [0.395, 0.465] (painted up to 0.381 + 0.1 = 0.481).
    for centre, mid, outer, off in _straight_points(track, [0.0, 0.14, 0.28, -0.43]):
        assert rmap.value_at(*centre) == 1.0
        assert rmap.value_at(*mid) == 0.5
        assert rmap.value_at(*outer) == 0.1
        assert rmap.value_at(*off) == 1e-3
    assert rmap.errors == 0
    # far from the track: not painted
    assert math.isnan(rmap.value_at(0.0, 0.0))


def test_map_heading_offset(track):
    # heading.py: 1.0 when the heading is within 10 degrees of the track direction, else 0.5
    fn = load_reward_function(REPO / "rewards" / "heading.py")
    aligned = compute_reward_map(fn, track, resolution=0.1, margin=0.0)
    turned = compute_reward_map(fn, track, resolution=0.1, margin=0.0, heading_offset=90.0)
    for (centre,) in _straight_points(track, [0.0]):
        assert aligned.value_at(*centre) == 1.0
        assert turned.value_at(*centre) == 0.5


def test_map_png_pixels(track, tmp_path):
    pytest.importorskip("matplotlib")
    from matplotlib import colormaps
    from matplotlib.image import imread

    fn = load_reward_function(REPO / "rewards" / "center.py")
    rmap = compute_reward_map(fn, track, resolution=0.05, margin=0.1)
    image = render_reward_map(rmap, tmp_path / "map.png", vmin=0.0, vmax=1.0)
    png = imread(tmp_path / "map.png")
    assert png.shape[:2] == (image.height, image.width)
    cmap = colormaps["viridis"]
    # with vmin 0 and vmax 1 a reward r is drawn in viridis(r)
    for centre, outer in _straight_points(track, [0.0, 0.28]):
        r, c = image.to_pixel(*centre)
        assert np.abs(png[r, c, :3] - np.array(cmap(1.0)[:3])).max() < 0.02
        r, c = image.to_pixel(*outer)
        assert np.abs(png[r, c, :3] - np.array(cmap(0.1)[:3])).max() < 0.02
    # the centre line is the brightest: viridis(1.0) is yellow (red channel > 0.9)
    r, c = image.to_pixel(*_straight_points(track, [0.0])[2][0])
    assert png[r, c, 0] > 0.9


def test_map_cli(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "m.png"
    assert cli_main(["reward", "map", str(REPO / "rewards" / "speed.py"), "--speed", "2",
                        "--resolution", "0.1", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "cells" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# replay


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A short real training run of rewards/speed.py (both directions)."""
    out = tmp_path_factory.mktemp("run") / "run"
    cfg = TrainConfig(reward=REPO / "rewards" / "speed.py", track="dr_sim_default",
                      action_space=SPACE, version=6.0, out=out, timesteps=384, n_envs=2,
                      n_steps=96, eval_episodes=0, alternate_direction=True, seed=1)
    train(cfg, progress_bar=False)
    if not find_simtrace_files(out):
        pytest.skip("training wrote no sim-trace files")
    return out


def _logged_rows(run):
    rows = []
    for f in find_simtrace_files(run):
        with f.open() as fh:
            rows += list(csv.DictReader(fh))
    return rows


def test_replay_reproduces_logged_rewards_exactly(trained_run):
    report = replay(REPO / "rewards" / "speed.py", trained_run)
    rows = _logged_rows(trained_run)
    called = [r for r in rows if r["episode_status"] != "prepare"]
    assert len(report.logged) == len(called) > 50
    assert report.skipped == len(rows) - len(called)
    # the logged reward column, read independently of the lab
    assert sorted(report.logged.tolist()) == sorted(float(r["reward"]) for r in called)
    assert np.array_equal(report.new, report.logged)
    assert report.identical == len(called)
    assert report.waypoint_matches == len(called)
    # both directions were driven and recognised
    assert {e.reversed for e in report.episodes} == {False, True}
    # per episode: the logged totals of the CSV
    totals = defaultdict(float)
    for r in called:
        totals[int(r["episode"])] += float(r["reward"])
    for e in report.episodes:
        assert e.logged == pytest.approx(totals[e.episode], abs=1e-12)
        assert e.new == pytest.approx(e.logged, abs=1e-12)
    assert sum(s.steps for s in report.sections) == len(called)


def test_replay_other_function_uses_logged_values(trained_run, tmp_path):
    # steps and speed come straight from the log
    path = write(tmp_path, """
        def reward_function(params):
            return float(params["steps"]) + 1000.0 * params["speed"]
        """)
    report = replay(path, trained_run)
    called = [r for r in _logged_rows(trained_run) if r["episode_status"] != "prepare"]
    expected = sorted(float(r["steps"]) + 1000.0 * float(r["throttle"]) for r in called)
    assert sorted(report.new.tolist()) == expected


def test_replay_cli(trained_run, capsys):
    assert cli_main(["reward", "replay", str(REPO / "rewards" / "speed.py"), str(trained_run)]) == 0
    out = capsys.readouterr().out
    assert "identical on" in out and "section" in out


@pytest.mark.shared_data
def test_replay_real_cloud_logs(shared_dir, tmp_path):
    # deepracer-for-cloud worker 0 on reinvent_base (spec §7 sample logs)
    logs = shared_dir / "real-logs" / "sample-drfc-3-logs" / "0"
    track = shared_dir / "tracks" / "reinvent_base.npy"
    if not logs.is_dir() or not track.is_file():
        pytest.skip("real logs or reinvent_base missing")
    path = write(tmp_path, """
        def reward_function(params):
            return float(params["progress"])
        """)
    first = sorted(find_simtrace_files(logs))[:3]
    single = tmp_path / "logs"
    (single / "training-simtrace").mkdir(parents=True)
    for f in first:
        (single / "training-simtrace" / f.name).write_bytes(f.read_bytes())
    report = replay(path, single, track=track)
    progress = []
    for f in first:
        cols = read_simtrace(f)
        keep = cols["episode_status"] != "prepare"
        progress += cols["progress"][keep].tolist()
    assert sorted(report.new.tolist()) == sorted(progress)
    # the recomputed geometry matches the real simulator's closest_waypoint on every row
    assert report.waypoint_matches == len(progress)
