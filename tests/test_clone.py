"""Tests for ``deepracer-sim train --clone``: reading a run or an exported folder
(:func:`deepracer_sim.export.clone_source`), training starting from its weights exactly, and the
folders it refuses.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import torch
from export_helpers import (
    REWARD,
    SPACE_ARGS,
    both_metadata,
    copy_folder,
    edit_json,
    write_coach,
)
from stable_baselines3.common.save_util import load_from_zip_file

from deepracer_sim.cli import main as cli_main
from deepracer_sim.export import ExportError, clone_source
from deepracer_sim.formats.model_metadata import discrete_action_space, read_model_metadata
from deepracer_sim.training import ppo as training

pytest_plugins = ["export_fixtures"]  # the shared run and export fixtures


def test_clone_source_of_a_run_and_of_an_export(run_dir: Path, exported: Path,
                                                run_info) -> None:
    space = discrete_action_space(*SPACE_ARGS)
    src = clone_source(run_dir)
    assert src.kind == "run"
    assert src.checkpoint == run_dir / "model" / run_info["best_checkpoint"]["name"]
    assert src.net_arch == (64, 64)
    assert src.version == 6.0
    assert src.hyperparameters == run_dir / "ip" / "hyperparameters.json"
    assert src.same_action_space(space)
    assert not src.same_action_space(discrete_action_space(30.0, 5, 1.0, 3))
    assert not src.same_action_space(discrete_action_space(30.0, 5, 1.5, 2))
    src = clone_source(exported)
    assert src.kind == "export"
    coach = (exported / "model" / ".coach_checkpoint").read_text().strip()
    assert src.checkpoint == exported / "model" / f"{coach}.zip"
    assert src.net_arch == (64, 64)
    assert src.hyperparameters == exported / "ip" / "hyperparameters.json"
    assert src.same_action_space(space)


def test_clone_continues_from_the_exported_weights(run_dir: Path, exported: Path,
                                                  tmp_path: Path, monkeypatch, capsys) -> None:
    started = {}

    class Capture(training.TrainingObserver):
        def on_start(self, run, env, model) -> None:
            started.update({k: v.detach().clone()
                            for k, v in model.policy.state_dict().items()})

    original = training.default_observers
    monkeypatch.setattr(training, "default_observers",
                        lambda cfg: [*original(cfg), Capture()])
    hp = tmp_path / "hp.json"
    hp.write_text(json.dumps({"lr": 1e-12}))  # the first update barely moves the weights
    out = tmp_path / "cloned"
    code = cli_main(["train", "--reward", str(REWARD), "--clone", str(exported), "--out", str(out),
                       "--action-space", str(exported / "model_metadata.json"),
                       "--hyperparameters", str(hp), "--timesteps", "1024", "--n-envs", "8",
                       "--n-steps", "128", "--no-progress-bar"])
    assert code == 0, capsys.readouterr().err
    coach = (exported / "model" / ".coach_checkpoint").read_text().strip()
    cloned = torch.load(exported / "model" / f"{coach}.pt", weights_only=True)
    # training started from the cloned policy, exactly
    assert set(started) == set(cloned)
    for key in cloned:
        assert torch.equal(started[key], cloned[key]), key
    # ... its checkpoint 0 (saved when the run was created) is it exactly, and checkpoint 1
    # (1024 steps = one update at lr 1e-12) is still it
    _, params, _ = load_from_zip_file(out / "model" / "0_Step-0.zip", load_data=False)
    for key in cloned:
        assert torch.equal(params["policy"][key], cloned[key]), key
    _, params, _ = load_from_zip_file(out / "model" / "1_Step-1024.zip", load_data=False)
    for key in cloned:
        assert torch.allclose(params["policy"][key], cloned[key], atol=1e-7), key
    # whereas another checkpoint of the original run differs clearly (the test can fail)
    other = next(p for p in (run_dir / "model").glob("*.zip") if f"{p.stem}.ckpt" != coach)
    _, other_params, _ = load_from_zip_file(other, load_data=False)
    assert max(float((other_params["policy"][k] - cloned[k]).abs().max())
               for k in cloned) > 1e-4
    space, version = read_model_metadata(out / "model" / "model_metadata.json")
    assert len(space) == 15 and version == 6.0


@pytest.mark.shared_data
def test_clone_refuses_another_action_space(exported: Path, shared_dir: Path, tmp_path: Path,
                                            capsys) -> None:
    out = tmp_path / "run"
    base = ["--reward", str(REWARD), "--clone", str(exported), "--out", str(out),
            "--no-progress-bar"]
    assert cli_main(["train", *base, "--max-speed", "2"]) == 2
    assert "the action space is locked to the cloned model's" in capsys.readouterr().err
    sample = shared_dir / "real-logs" / "sample-drfc-3-logs" / "model" / "model_metadata.json"
    assert cli_main(["train", *base, "--action-space", str(sample)]) == 2
    assert "differs" in capsys.readouterr().err
    assert cli_main(["train", *base[:3], str(tmp_path), *base[4:]]) == 2
    assert "neither a run folder" in capsys.readouterr().err
    assert not out.exists()


def broken_clone(exported: Path, tmp_path: Path, fn) -> Path:
    folder = copy_folder(exported, tmp_path / "model")
    fn(folder)
    return folder


def test_clone_source_rejects_bad_folders(exported: Path, tmp_path: Path) -> None:
    coach = (exported / "model" / ".coach_checkpoint").read_text().strip()

    def drop_zip(f: Path) -> None:
        (f / "model" / f"{coach}.zip").unlink()

    def extra_member(f: Path) -> None:
        with zipfile.ZipFile(f / "model" / f"{coach}.zip", "a") as zf:
            zf.writestr("evil.py", "import os")

    def other_arch(f: Path) -> None:
        edit_json(f / "model" / "policy_network.json", lambda d: d.update(net_arch=[32]))

    def link_metadata(f: Path) -> None:
        (f / "model_metadata.json").unlink()
        (f / "model_metadata.json").symlink_to(exported / "model_metadata.json")

    cases = [
        (drop_zip, f"{coach}.zip is missing"),
        (extra_member, "unexpected members ['evil.py']"),
        (other_arch, "hidden layers [64, 64] differ from the folder's net_arch [32]"),
        (lambda f: both_metadata(f, lambda m: m.update(action_space=m["action_space"][:14])),
         "the network has 15 discrete outputs but the action space has 14"),
        (link_metadata, "is a symbolic link"),
        (write_coach("latest"), "'latest' is not <iteration>_Step-<steps>.ckpt"),
    ]
    for k, (fn, message) in enumerate(cases):
        folder = broken_clone(exported, tmp_path / str(k), fn)
        with pytest.raises(ExportError) as err:
            clone_source(folder)
        assert message in str(err.value)
