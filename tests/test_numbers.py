"""Numbers are checked where they come in: command-line values out of range stop argparse with
the accepted range (exit status 2), ``version`` follows one rule in ``--version``, in
``model_metadata.json`` and in ``export --check``, and a ``batch_size`` above the rollout is
lowered with a note and written as trained.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from export_helpers import both_metadata, check_cli, copy_folder

from deepracer_sim.cli import main as cli_main
from deepracer_sim.envs.setup import resolve_action_space
from deepracer_sim.errors import ActionSpaceError, DeepRacerSimWarning
from deepracer_sim.formats.hyperparameters import fit_batch_size, read_hyperparameters
from deepracer_sim.formats.model_metadata import (
    check_metadata_dict,
    check_version,
    discrete_action_space,
    read_model_metadata,
)
from deepracer_sim.training.config import TrainConfig
from deepracer_sim.training.ppo import train

pytest_plugins = ["export_fixtures"]  # the shared run and export fixtures

ROOT = Path(__file__).resolve().parents[1]
CENTER = str(ROOT / "rewards" / "center.py")


def _refused(argv: list[str], capsys) -> str:
    """argparse's error line for ``argv`` (it exits with status 2)."""
    with pytest.raises(SystemExit) as info:
        cli_main(argv)
    assert info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize(("argv", "expected"), [
    (["train", "--reward", CENTER, "--seed", "-1"],
     "argument --seed: -1 is out of range: give an integer from 0 to 4294967295"),
    (["train", "--reward", CENTER, "--seed", str(2**32)],
     "argument --seed: 4294967296 is out of range"),
    (["train", "--reward", CENTER, "--timesteps", "0"],
     "argument --timesteps: 0 is out of range: give an integer >= 1"),
    (["train", "--reward", CENTER, "--n-envs", "0"], "argument --n-envs: 0 is out of range"),
    (["train", "--reward", CENTER, "--n-envs", "100000"],
     "argument --n-envs: 100000 is out of range: give an integer from 1 to 4096"),
    (["train", "--reward", CENTER, "--n-steps", "-4"], "argument --n-steps: -4 is out of range"),
    (["evaluate", "run", "--laps", "0"], "argument --laps: 0 is out of range"),
    (["evaluate", "run", "--laps", "1000000000"],
     "argument --laps: 1000000000 is out of range: give an integer from 1 to 1000"),
    (["analyze", "run", "--dpi", "0"], "argument --dpi: 0 is out of range"),
    (["reward", "map", CENTER, "--out", "m.png", "--resolution", "0"],
     "argument --resolution: 0 is out of range: give a finite number from 0.01 to 1"),
    (["reward", "map", CENTER, "--out", "m.png", "--resolution", "nan"],
     "argument --resolution: nan is out of range"),
    (["reward", "map", CENTER, "--out", "m.png", "--speed", "inf"],
     "argument --speed: inf is out of range: give a finite number from 0 to 4"),
    (["reward", "check", CENTER, "--samples", "0"], "argument --samples: 0 is out of range"),
    (["reward", "replay", CENTER, "run", "--sections", "0"],
     "argument --sections: 0 is out of range"),
    (["raceline", "dr_sim_default", "--actions", "1"],
     "argument --actions: 1 is out of range: give an integer from 2 to 30"),
    (["raceline", "dr_sim_default", "--margin", "-1"], "argument --margin: -1 is out of range"),
    (["drive", "--reward", CENTER, "--start", "nan"], "argument --start: nan is out of range"),
    (["drive", "--reward", CENTER, "--frames", "0"], "argument --frames: 0 is out of range"),
    (["tracks", "show", "dr_sim_default", "--out", "t.png", "--every", "0"],
     "argument --every: 0 is out of range"),
    (["calibrate", "--stride", "0"], "argument --stride: 0 is out of range"),
    (["train", "--reward", CENTER, "--seed", "x"], "argument --seed: 'x' is not an integer"),
])
def test_a_number_out_of_range_is_refused_where_it_comes_in(argv, expected, capsys) -> None:
    assert expected in _refused(argv, capsys)


def test_vmin_must_be_below_vmax(capsys) -> None:
    assert cli_main(["reward", "map", CENTER, "--out", "m.png", "--vmin", "2",
                     "--vmax", "1"]) == 2
    assert "error: --vmin 2 must be below --vmax 1" in capsys.readouterr().err


# --- version: one rule ----------------------------------------------------------------------

@pytest.mark.parametrize("value", [math.nan, -3, 1e308, 0.5, 21, "2024", math.inf, 10**400])
def test_an_impossible_version_is_refused_everywhere(value, tmp_path: Path) -> None:
    meta = discrete_action_space().to_metadata()
    meta["version"] = value
    problems = [p for p in check_metadata_dict(meta) if p.field == "version"]
    assert [p.level for p in problems] == ["error"]
    path = tmp_path / "model_metadata.json"
    path.write_text(json.dumps(meta))
    with pytest.raises(ActionSpaceError, match=f"{path}: version = .*; fix: "):
        read_model_metadata(path)
    with pytest.raises(ActionSpaceError, match="--version: version = "):
        check_version(value)
    with pytest.raises(ActionSpaceError):
        resolve_action_space(None, value)


@pytest.mark.parametrize("text", ["nan", "-3", "1e308", "0"])
def test_an_impossible_version_on_the_command_line(text: str, capsys) -> None:
    err = _refused(["train", "--reward", CENTER, "--version", text], capsys)
    assert f"argument --version: version = '{text}' is" in err
    err = _refused(["drive", "--reward", CENTER, "--version", text], capsys)
    assert "argument --version:" in err


@pytest.mark.parametrize(("value", "level"), [(1, None), ("2.0", None), ("4", None),
                                              (5, None), ("6", None), (7, "warning"),
                                              (20, "warning")])
def test_versions_deepracer_writes_and_future_ones(value, level) -> None:
    meta = discrete_action_space().to_metadata()
    meta["version"] = value
    found = [p.level for p in check_metadata_dict(meta) if p.field == "version"]
    assert found == ([] if level is None else [level])
    assert check_version(value) == float(value)


def test_check_rejects_a_nan_version(exported: Path, tmp_path: Path, capsys) -> None:
    folder = copy_folder(exported, tmp_path / "m")
    both_metadata(folder, lambda meta: meta.update(version=math.nan))
    code, out = check_cli(folder, capsys)
    assert code == 1
    assert "error: model_metadata.json: version = nan is not a number" in out
    assert "error: model/model_metadata.json: version = nan is not a number" in out


# --- batch_size above the rollout -----------------------------------------------------------

def test_fit_batch_size_by_hand() -> None:
    hp = read_hyperparameters(None)  # batch_size 256
    assert fit_batch_size(hp, 4096, "hp") is hp
    with pytest.warns(DeepRacerSimWarning, match=r"^hp: batch_size 256 is larger than the "
                                                 r"rollout of 192 steps"):
        fitted = fit_batch_size(hp, 192, "hp")
    assert fitted["batch_size"] == 192 and hp["batch_size"] == 256


def test_a_batch_above_the_rollout_is_written_as_trained(tmp_path: Path) -> None:
    path = tmp_path / "hyperparameters.json"
    path.write_text(json.dumps({"batch_size": 512}))
    cfg = TrainConfig(reward=Path(CENTER), action_space=discrete_action_space(), version=6.0,
                      out=tmp_path / "run", hyperparameters=path, timesteps=256, n_envs=2,
                      n_steps=128, eval_episodes=0)
    with pytest.warns(DeepRacerSimWarning, match="training uses batch_size 256 and writes it"):
        train(cfg, progress_bar=False)
    written = json.loads((tmp_path / "run" / "ip" / "hyperparameters.json").read_text())
    assert written["batch_size"] == 256  # 2 cars x 128 steps, the minibatch PPO took
