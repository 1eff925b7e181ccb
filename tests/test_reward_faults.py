"""Reward functions that fail in ways a plain ``except Exception`` misses, and the messages
around them: an integer too large for a float and ``sys.exit()`` are RewardFunctionErrors in
training (file, step, params) and findings in ``reward check``; Ctrl-C still stops training; a
slow reward gets one warning with its cost; ``reward check`` refuses ``--samples 0`` and sees
what a reward reads however many actions there are; a folder given for a file says so.
"""

from __future__ import annotations

import json
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

from deepracer_sim import reward as reward_module
from deepracer_sim.cli import main as cli_main
from deepracer_sim.envs.vec_env import DeepRacerVecEnv
from deepracer_sim.errors import DeepRacerSimWarning, RewardFunctionError
from deepracer_sim.formats.model_metadata import ActionSpace, discrete_action_space
from deepracer_sim.reward import RewardCaller, RewardCost, load_reward_function
from deepracer_sim.reward_lab.check import check_reward, sample_params
from deepracer_sim.testing import make_params
from deepracer_sim.track import load_track
from deepracer_sim.training.config import TrainConfig
from deepracer_sim.training.ppo import train

ROOT = Path(__file__).resolve().parents[1]
CENTER = ROOT / "rewards" / "center.py"


def write(tmp_path: Path, body: str, name: str = "reward.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


HUGE = """
def reward_function(params):
    return 10**400
"""
EXIT = """
import sys


def reward_function(params):
    if params["steps"] > 5:
        sys.exit(3)
    return 1.0
"""


@pytest.fixture(scope="module")
def track():
    return load_track("dr_sim_default")


# --- RewardCaller ---------------------------------------------------------------------------

def test_an_int_too_large_for_a_float_is_a_reward_error(tmp_path: Path) -> None:
    path = write(tmp_path, HUGE)
    caller = RewardCaller(load_reward_function(path), path)
    with pytest.raises(RewardFunctionError) as info:
        caller(make_params(steps=7))
    message = str(info.value)
    assert message.startswith(f"{path}: reward_function returned an integer of 401 digits, "
                              "too large for a float")
    assert "at step 7" in message and "distance_from_center=" in message


def test_sys_exit_in_a_reward_is_a_reward_error(tmp_path: Path) -> None:
    path = write(tmp_path, EXIT)
    caller = RewardCaller(load_reward_function(path), path)
    assert caller(make_params(steps=2)) == 1.0
    with pytest.raises(RewardFunctionError) as info:
        caller(make_params(steps=6))
    message = str(info.value)
    assert message.startswith(f"{path}:7: reward_function raised SystemExit: 3 (sys.exit()")
    assert "at step 6" in message


def test_sys_exit_while_importing_is_a_reward_error(tmp_path: Path) -> None:
    path = write(tmp_path, "import sys\nsys.exit(1)\n")
    with pytest.raises(RewardFunctionError, match=f"^{path}:2: importing the reward file raised "
                                                  "SystemExit"):
        load_reward_function(path)


def test_ctrl_c_inside_a_reward_still_stops(tmp_path: Path) -> None:
    path = write(tmp_path, "def reward_function(params):\n    raise KeyboardInterrupt\n")
    with pytest.raises(KeyboardInterrupt):
        RewardCaller(load_reward_function(path), path)(make_params())


# --- training -------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "expected"), [
    (HUGE, "reward_function returned an integer of 401 digits"),
    (EXIT, "reward_function raised SystemExit: 3"),
])
def test_training_stops_with_a_reward_error(tmp_path: Path, capsys, body: str,
                                            expected: str) -> None:
    path = write(tmp_path, body)
    out = tmp_path / "run"
    code = cli_main(["train", "--reward", str(path), "--timesteps", "256", "--n-envs", "2",
                     "--n-steps", "128", "--out", str(out), "--no-progress-bar"])
    err = capsys.readouterr().err
    assert code == 2  # not 1 (a traceback) nor 3 (the reward's own exit status)
    assert err.startswith(f"error: {path}") and expected in err and "Traceback" not in err
    assert list((out / "model").glob("*_Step-*.zip"))  # the policy was saved first


def test_ctrl_c_in_a_reward_interrupts_training(tmp_path: Path) -> None:
    path = write(tmp_path, """
        def reward_function(params):
            if params["steps"] > 40:
                raise KeyboardInterrupt
            return 1.0
    """)
    cfg = TrainConfig(reward=path, action_space=discrete_action_space(), version=6.0,
                      out=tmp_path / "run", timesteps=1024, n_envs=2, n_steps=128,
                      eval_episodes=0)
    result = train(cfg, progress_bar=False)
    assert result.interrupted
    assert list((tmp_path / "run" / "model").glob("*_Step-*.zip"))


# --- the cost of a slow reward --------------------------------------------------------------

def test_reward_cost_by_hand() -> None:
    cost = RewardCost("r.py", calls=300)
    with pytest.warns(DeepRacerSimWarning, match=r"^r.py: reward_function takes 5.00 ms per "
                                                 r"call .* about 501x slower .* every 100,000 "
                                                 r"steps take 8 min longer"):
        for _ in range(15):  # 15 steps of 20 cars: 5 ms per call, 0.2 ms per step the rest
            cost.add(20 * 0.005, 20, 20 * 0.005 + 0.0002)
    assert not cost.active and cost.calls == 300
    # 1.5 s of rewards in 1.503 s: 1.503 / 0.003 = 501 times slower
    assert cost.slowdown == pytest.approx(501.0)


def test_reward_cost_of_a_cheap_reward_is_silent() -> None:
    cost = RewardCost("r.py", calls=10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cost.add(0.001, 10, 0.003)  # a third of the time: 1.5x, below the 2x of a warning
    assert cost.slowdown == pytest.approx(1.5)


def test_a_slow_reward_gets_one_warning(tmp_path: Path) -> None:
    path = write(tmp_path, """
        import time


        def reward_function(params):
            time.sleep(0.005)
            return 1.0
    """)
    env = DeepRacerVecEnv(4, reward_function=path)
    env.reset()
    with pytest.warns(DeepRacerSimWarning) as caught:
        for _ in range(100):
            env.step(np.zeros(4, dtype=np.int64))
    assert len(caught) == 1
    message = str(caught[0].message)
    assert message.startswith(f"{path}: reward_function takes ")
    assert "ms per call (measured over its first 30" in message
    assert "x slower than with a reward that costs nothing" in message
    assert "min longer" in message


def test_a_fast_reward_gets_no_warning() -> None:
    env = DeepRacerVecEnv(4, reward_function=CENTER)
    env.reset()
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeepRacerSimWarning)
        for _ in range(100):
            env.step(np.zeros(4, dtype=np.int64))
    assert not env.reward_cost.active  # it was measured


# --- reward check ---------------------------------------------------------------------------

def test_check_reports_a_huge_int_and_sys_exit(tmp_path: Path, capsys) -> None:
    huge = write(tmp_path, HUGE, "huge.py")
    assert cli_main(["reward", "check", str(huge), "--samples", "50", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    codes = {f["code"]: f for f in report["findings"]}
    assert "too large for a float" in codes["out-of-range"]["message"]
    assert "(401 characters)" in codes["validator-return-type"]["message"]
    ended = write(tmp_path, EXIT, "ended.py")
    assert cli_main(["reward", "check", str(ended), "--samples", "50", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    codes = {f["code"]: f for f in report["findings"]}
    assert "raised SystemExit: 3" in codes["exception"]["message"]


@pytest.mark.parametrize("samples", ["0", "-5"])
def test_check_refuses_no_samples(samples: str, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli_main(["reward", "check", str(CENTER), "--samples", samples])
    assert info.value.code == 2
    assert "argument --samples: " in capsys.readouterr().err


def test_check_sees_the_keys_read_with_thousands_of_actions(track) -> None:
    k = 3000
    space = ActionSpace(np.column_stack([np.linspace(-30.0, 30.0, k), np.full(k, 1.0)]))
    report = check_reward(CENTER, track, space, samples=3000)
    assert report.keys_read == ["distance_from_center", "track_width"]
    assert [f for f in report.findings if f.code == "no-dependence"] == []
    # three quarters of the samples spread over the track (not on the centre line)
    dicts = sample_params(track, space, 3000)
    assert sum(p["distance_from_center"] > 0 for p in dicts) >= 0.75 * 3000 - 1


def test_constant_reward_that_reads_a_key_is_not_said_to_read_none(tmp_path: Path,
                                                                   track) -> None:
    path = write(tmp_path, """
        def reward_function(params):
            return 1.0 if params["steps"] >= 0 else 0.5
    """)
    report = check_reward(path, track, discrete_action_space(), samples=100)
    (finding,) = [f for f in report.findings if f.code == "no-dependence"]
    assert "though it reads steps, its value never changed" in finding.message


# --- a folder given where a file is expected ------------------------------------------------

def test_a_folder_given_as_a_file_says_so(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "rewards"
    folder.mkdir()
    assert cli_main(["train", "--reward", str(folder), "--timesteps", "1"]) == 2
    assert f"reward file {folder} is a folder, not a file" in capsys.readouterr().err
    assert cli_main(["train", "--reward", str(CENTER), "--action-space", str(folder),
                     "--timesteps", "1"]) == 2
    assert f"{folder}: is a folder, not a file" in capsys.readouterr().err
    assert cli_main(["reward", "check", str(CENTER), "--track", f"{folder}/"]) == 2
    assert f"track file {folder} is a folder, not a file" in capsys.readouterr().err
    assert cli_main(["reward", "check", str(folder)]) == 2
    assert f"reward file {folder} is a folder, not a file" in capsys.readouterr().err


def test_the_slow_reward_warning_reaches_the_command_line(tmp_path: Path, capsys,
                                                         monkeypatch) -> None:
    """Any reward is "slow" at a threshold of 1x: the test is about the line, not the clock."""
    monkeypatch.setattr(reward_module, "SLOWDOWN_WARNING", 1.0)
    path = CENTER  # 512 calls, of which the first 300 are measured
    assert cli_main(["train", "--reward", str(path), "--timesteps", "512", "--n-envs", "4",
                     "--n-steps", "128", "--out", str(tmp_path / "run"),
                     "--no-progress-bar"]) == 0
    err = capsys.readouterr().err
    assert err.count("warning: ") == 1
    assert f"warning: {path}: reward_function takes " in err and "ms per call" in err
