"""Tests for :func:`deepracer_sim.training.policy.load_policy`: a checkpoint is loaded from its
weights only, never unpickled, and drives exactly as stable-baselines3's own loader.

stable-baselines3's ``PPO.load`` unpickles the ``data`` member of a checkpoint zip (JSON with
base64 cloudpickle payloads inside); a crafted member runs code. The payload here only creates
an empty file, and ``PPO``'s own reader is run on it first to show that it does.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from export_helpers import SPACE_ARGS
from stable_baselines3 import PPO
from stable_baselines3.common.save_util import load_from_zip_file
from training_helpers import CreatesAFile, poison_checkpoint

from deepracer_sim.cli import main as cli_main
from deepracer_sim.errors import CheckpointError, RunFolderError
from deepracer_sim.formats.model_metadata import discrete_action_space
from deepracer_sim.sim.observation import observation_bounds
from deepracer_sim.track import load_track
from deepracer_sim.training.evaluation import run_laps, sb3_predict
from deepracer_sim.training.policy import load_policy

pytest_plugins = ["export_fixtures"]  # the shared trained run


def _laps(run: Path, checkpoint: str, capsys) -> list[dict]:
    assert cli_main(["evaluate", str(run), "--json", "--laps", "2",
                     "--checkpoint", checkpoint]) == 0
    return json.loads(capsys.readouterr().out)["laps"]


def test_a_pickle_payload_in_a_checkpoint_never_runs(run_dir: Path, tmp_path: Path,
                                                     capsys) -> None:
    run = shutil.copytree(run_dir, tmp_path / "run")  # evaluation writes into the run folder
    info = json.loads((run / "model" / "deepracer_checkpoints.json").read_text())
    best = run / "model" / info["best_checkpoint"]["name"]
    before = _laps(run, "best", capsys)
    marker = tmp_path / "payload-ran"
    poison_checkpoint(best, marker)
    # the payload works: stable-baselines3's reader of the data member runs it
    probe = tmp_path / "probe.zip"
    shutil.copyfile(best, probe)
    with pytest.raises(Exception):  # noqa: B017  (whatever fails after the payload ran)
        PPO.load(probe, device="cpu")
    assert marker.exists()
    marker.unlink()
    # deepracer-sim evaluate loads the same checkpoint: nothing runs, the laps are the same
    assert _laps(run, "best", capsys) == before
    assert not marker.exists()


def test_the_policy_drives_as_stable_baselines3_loads_it(run_dir: Path, run_info) -> None:
    space = discrete_action_space(*SPACE_ARGS)
    track = load_track("dr_sim_default")
    low, high = observation_bounds()
    obs = np.random.default_rng(0).uniform(low, high, (256, len(low))).astype(np.float32)
    for path in sorted((run_dir / "model").glob("*_Step-*.zip")):
        ours = load_policy(path, space)
        # oracle: stable-baselines3's own loader (the test's own, trusted file)
        theirs = PPO.load(path, device="cpu")
        np.testing.assert_array_equal(ours.predict(obs, deterministic=True)[0],
                                      theirs.predict(obs, deterministic=True)[0])
        laps = [run_laps(sb3_predict(model), track, space, 6.0, [0.0, 0.5], 600)
                for model in (ours, theirs)]
        assert laps[0] == laps[1], path.name


def test_the_loader_reads_plain_weights_and_refuses_what_does_not_fit(run_dir: Path,
                                                                      run_info,
                                                                      tmp_path: Path) -> None:
    path = run_dir / "model" / run_info["last_checkpoint"]["name"]
    space = discrete_action_space(*SPACE_ARGS)
    _, params, _ = load_from_zip_file(path, load_data=False)
    torch.save(params["policy"], tmp_path / "p.pt")
    again = load_policy(tmp_path / "p.pt", space)
    for key, value in params["policy"].items():
        assert torch.equal(again.state_dict()[key], value)
    with pytest.raises(CheckpointError, match="the network has 15 discrete outputs but the "
                                              "action space has 10"):
        load_policy(path, discrete_action_space())
    with pytest.raises(RunFolderError, match="is missing"):
        load_policy(tmp_path / "nope.zip", space)
    buf = io.BytesIO()
    torch.save({"x": CreatesAFile(tmp_path / "marker")}, buf)  # not plain weights
    (tmp_path / "evil.pt").write_bytes(buf.getvalue())
    with pytest.raises(CheckpointError, match="cannot be loaded as plain weights"):
        load_policy(tmp_path / "evil.pt", space)
    assert not (tmp_path / "marker").exists()
