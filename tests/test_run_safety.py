"""A run folder is never overwritten, appears all at once, starts with checkpoint 0 and its
pointer, and every file a run or an export writes is written atomically."""

from __future__ import annotations

import builtins
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from training_helpers import CENTER, ROOT, SMALL, checkpoint_files, pointer, small_config

from deepracer_sim.cli import main as cli_main
from deepracer_sim.errors import CheckpointError
from deepracer_sim.export import export_run
from deepracer_sim.formats.files import is_temporary
from deepracer_sim.formats.model_metadata import discrete_action_space
from deepracer_sim.logs.report import build_report
from deepracer_sim.training import checkpoints as checkpoints_module
from deepracer_sim.training.evaluation import evaluate_run
from deepracer_sim.training.policy import load_policy, read_checkpoint_state
from deepracer_sim.training.ppo import TrainingObserver, train


def test_train_never_overwrites_a_run(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    args = ["train", "--reward", str(CENTER), "--out", str(out), "--timesteps", "128", *SMALL]
    assert cli_main(args) == 0
    before = {p.name: p.read_bytes() for p in (out / "model").iterdir()}
    capsys.readouterr()
    # a second train on the same folder stops before writing anything, naming both ways on
    assert cli_main(args) == 2
    err = capsys.readouterr().err
    assert f"--out {out} holds a training run (last checkpoint 1_Step-128.zip)" in err
    assert "--resume" in err and "--force" in err and "run.replaced-<YYYYmmdd-HHMMSS>" in err
    assert {p.name: p.read_bytes() for p in (out / "model").iterdir()} == before
    # --force moves it aside (never deleted) and starts a new run
    assert cli_main([*args, "--force"]) == 0
    printed = capsys.readouterr().out
    (aside,) = [p for p in tmp_path.iterdir() if p.name.startswith("run.replaced-")]
    assert f"the earlier run in that folder was moved to {aside}" in printed
    assert {p.name: p.read_bytes() for p in (aside / "model").iterdir()} == before
    assert (out / "model" / "0_Step-0.zip").is_file() and pointer(out)["last_checkpoint"]
    # a folder that is not a run is not overwritten either; a file is not a folder
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("mine")
    assert cli_main(["train", "--reward", str(CENTER), "--out", str(other)]) == 2
    assert "is not empty (and is not a training run)" in capsys.readouterr().err
    assert cli_main(["train", "--reward", str(CENTER), "--out", str(other / "todo.txt")]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert cli_main(["train", "--out", str(out), "--resume", "--force"]) == 2
    assert "not both" in capsys.readouterr().err


def test_a_new_run_starts_with_checkpoint_0_and_its_pointer(tmp_path: Path) -> None:
    seen: dict = {}

    class AtStart(TrainingObserver):
        def on_start(self, run, env, model) -> None:
            root = Path(run.root)
            seen["files"] = sorted(str(p.relative_to(root)) for p in root.rglob("*")
                                   if p.is_file())
            seen["pointer"] = pointer(root)
            seen["weights"] = {k: v.clone() for k, v in model.policy.state_dict().items()}

    out = tmp_path / "run"
    train(small_config(out, timesteps=128), progress_bar=False, observers=[AtStart()])
    # before the first step the folder is a usable run: DeepRacer's files, checkpoint 0 (the
    # untrained policy, as DeepRacer's trainer saves it first) and a pointer naming it
    assert seen["files"] == ["ip/hyperparameters.json", "logs/training.log",
                             "metrics/iterations.jsonl", "model/0_Step-0.zip",
                             "model/deepracer_checkpoints.json", "model/model_metadata.json",
                             "reward_function.py", "run_config.json", "training_state.json"]
    entry = {"name": "0_Step-0.zip", "avg_eval_metric": None, "time_stamp": 0.0,
             "avg_lap_time": None}
    assert seen["pointer"] == {"best_checkpoint": entry, "last_checkpoint": entry}
    state, _ = read_checkpoint_state(out / "model" / "0_Step-0.zip")
    for key, value in seen["weights"].items():
        assert torch.equal(state[key], value), key
    # after one update: checkpoint 1, evaluated, is the best and the last
    info = pointer(out)
    assert info["last_checkpoint"]["name"] == info["best_checkpoint"]["name"] == "1_Step-128.zip"
    assert checkpoint_files(out) == ["0_Step-0.zip", "1_Step-128.zip"]


def test_a_run_appears_all_at_once(tmp_path: Path, monkeypatch) -> None:
    def killed(self, model, number, *args, **kwargs):
        raise KeyboardInterrupt  # as if the process died while saving checkpoint 0

    monkeypatch.setattr(checkpoints_module.Checkpointer, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        train(small_config(tmp_path / "run"), progress_bar=False)
    # nothing at --out, and the folder it was being built in is gone
    assert list(tmp_path.iterdir()) == []


class WriteAudit:
    """Records every file opened for writing under ``root`` (``open`` and ``os.open``)."""

    def __init__(self, root: Path, monkeypatch) -> None:
        self.root = root.resolve()
        self.writes: list[tuple[Path, bool]] = []
        real_open, real_os_open = io.open, os.open

        def audited_open(file, mode="r", *args, **kwargs):
            if isinstance(file, (str, os.PathLike)) and any(c in mode for c in "wax+"):
                self._record(file, "a" in mode)
            return real_open(file, mode, *args, **kwargs)

        def audited_os_open(path, flags, mode=0o777, *, dir_fd=None):
            if dir_fd is None and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
                self._record(path, bool(flags & os.O_APPEND))
            return real_os_open(path, flags, mode, dir_fd=dir_fd)

        monkeypatch.setattr(io, "open", audited_open)
        monkeypatch.setattr(builtins, "open", audited_open)
        monkeypatch.setattr(os, "open", audited_os_open)

    def _record(self, path, append: bool) -> None:
        path = Path(os.fspath(path)).absolute()
        if path.is_relative_to(self.root):
            self.writes.append((path, append))

    def in_place(self) -> list[str]:
        """Files written under their final name (appends to the text logs aside)."""
        logs = {"training.log", "iterations.jsonl"}
        return sorted({str(p.relative_to(self.root)) for p, append in self.writes
                       if not is_temporary(p) and not (append and p.name in logs)})


def test_every_file_of_a_run_and_an_export_is_written_atomically(tmp_path: Path,
                                                                 monkeypatch) -> None:
    audit = WriteAudit(tmp_path, monkeypatch)
    out = tmp_path / "run"
    train(small_config(out, timesteps=256), progress_bar=False)
    assert cli_main(["train", "--out", str(out), "--resume", "--timesteps", "128", *SMALL]) == 0
    export_run(out, tmp_path / "export")
    evaluate_run(out, laps=1)  # its logs go into the run folder
    build_report(out)  # as its report (report/ in the run folder)
    written = {p.name for p, _ in audit.writes}
    # the audit sees the writes: checkpoints, pointer, state, logs, the export's files
    assert any(n.startswith(".3_Step-384.zip.") for n in written)
    assert any(n.startswith(".deepracer_checkpoints.json.") for n in written)
    assert any(n.startswith(".model.tar.gz.") for n in written)
    assert "training.log" in written
    assert any(n.startswith(".EvaluationMetrics-") for n in written)
    assert any(n.startswith(".index.html.") for n in written)
    assert audit.in_place() == []


def test_readers_never_see_a_half_file(tmp_path: Path) -> None:
    """Read the pointer and load the checkpoints it names in a loop while training writes."""
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "deepracer_sim", "train", "--reward",
                             str(CENTER), "--out", str(out), "--timesteps", "2560", *SMALL],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    space = discrete_action_space()
    reads, names, half = 0, set(), []
    deadline = time.time() + 600
    while proc.poll() is None and time.time() < deadline:
        if not (out / "model" / "deepracer_checkpoints.json").exists():
            time.sleep(0.05)
            continue
        try:
            info = pointer(out)
            for key in ("best_checkpoint", "last_checkpoint"):
                load_policy(out / "model" / info[key]["name"], space)
                names.add(info[key]["name"])
            json.loads((out / "training_state.json").read_text())
            metrics = out / "metrics" / "TrainingMetrics.json"
            if metrics.exists():  # written from the first iteration on
                json.loads(metrics.read_text())
            reads += 1
        except CheckpointError as exc:
            if "is missing" not in str(exc):  # pruned after a newer pointer: read again
                half.append(str(exc))
        except (ValueError, KeyError, FileNotFoundError) as exc:
            half.append(f"{type(exc).__name__}: {exc}")
    assert proc.wait(60) == 0, proc.stderr.read()
    assert half == []
    # the loop read many pointers while 20 checkpoints were written
    assert reads >= 20 and len(names) >= 5
