"""A run whose files were damaged or cut short, or that sits in a read-only folder: ``evaluate``,
``export`` and ``train --clone`` stop with one line naming the file and the fix (no traceback),
a missing pointer names the checkpoint files that are there and how to pick one, evaluation in
a read-only folder still prints its laps, and the live viewer's shared file is never left
behind, even when training is killed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from export_helpers import copy_folder

from deepracer_sim.cli import main as cli_main
from deepracer_sim.logs import writer

pytest_plugins = ["export_fixtures"]  # the shared run and export fixtures

ROOT = Path(__file__).resolve().parents[1]


def _checkpoints(run: Path) -> list[str]:
    """The run's checkpoint files, by iteration."""
    return sorted((p.name for p in (run / "model").glob("*_Step-*.zip")),
                  key=lambda n: int(n.split("_")[0]))


def _best_name(run: Path) -> str:
    info = json.loads((run / "model" / "deepracer_checkpoints.json").read_text())
    return info["best_checkpoint"]["name"]


def _cut(path: Path) -> None:
    """Keep the first 20 bytes: a file cut short while it was written."""
    path.write_bytes(path.read_bytes()[:20])


@pytest.fixture
def run(run_dir: Path, tmp_path: Path) -> Path:
    return copy_folder(run_dir, tmp_path / "run")


def _evaluate(run: Path, capsys, *extra: str) -> tuple[int, str, str]:
    code = cli_main(["evaluate", str(run), "--laps", "1", *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


# --- damaged files --------------------------------------------------------------------------

def test_a_damaged_pointer_names_the_checkpoints_to_pick(run: Path, capsys) -> None:
    path = run / "model" / "deepracer_checkpoints.json"
    _cut(path)
    code, out, err = _evaluate(run, capsys)
    assert code == 2 and out == ""
    assert err.startswith(f"error: {path}:")
    last = _checkpoints(run)[-1]
    assert "the file is damaged" in err
    assert f"{run / 'model'} holds " in err and last in err
    assert f"pick one with --checkpoint N (its checkpoint number, e.g. --checkpoint " \
           f"{last.split('_')[0]})" in err
    assert "Traceback" not in err


def test_a_damaged_run_config_is_a_clear_error(run: Path, capsys) -> None:
    _cut(run / "run_config.json")
    code, _, err = _evaluate(run, capsys)
    assert code == 2
    assert err.startswith(f"error: {run / 'run_config.json'}:")
    assert "the file is damaged" in err and "Fix: restore it" in err
    assert "the track, version and settings" in err


def test_a_damaged_model_metadata_is_a_clear_error(run: Path, capsys) -> None:
    _cut(run / "model" / "model_metadata.json")
    code, _, err = _evaluate(run, capsys)
    assert code == 2
    assert err.startswith(f"error: {run / 'model' / 'model_metadata.json'}:")
    assert "the action space the policy was trained with" in err


def test_a_damaged_checkpoint_names_the_others(run: Path, capsys) -> None:
    best = _best_name(run)
    _cut(run / "model" / best)
    code, _, err = _evaluate(run, capsys)
    assert code == 2
    assert err.startswith(f"error: {run / 'model' / best}: not a stable-baselines3 checkpoint "
                          "zip")
    assert "pick one with --checkpoint N" in err
    other = next(n for n in _checkpoints(run) if n != best)
    code, out, _ = _evaluate(run, capsys, "--checkpoint", other.split("_")[0])
    assert code == 0 and f"checkpoint {other}" in out


# --- the missing pointer --------------------------------------------------------------------

def test_a_missing_pointer_beside_checkpoints_says_so(run: Path, tmp_path: Path,
                                                      capsys) -> None:
    (run / "model" / "deepracer_checkpoints.json").unlink()
    files = _checkpoints(run)
    code, _, err = _evaluate(run, capsys)
    assert code == 2
    assert "saved no checkpoint yet" not in err
    assert "the pointer to the best and last checkpoints is missing" in err
    assert all(name in err for name in files)
    # --checkpoint N picks one by hand, for evaluate and for export
    n = files[-1].split("_")[0]
    assert _evaluate(run, capsys, "--checkpoint", n)[0] == 0
    assert cli_main(["export", str(run), "--out", str(tmp_path / "out"),
                     "--checkpoint", n]) == 0
    capsys.readouterr()
    assert cli_main(["train", "--reward", str(run / "reward_function.py"), "--clone", str(run),
                     "--out", str(tmp_path / "clone")]) == 2
    err = capsys.readouterr().err
    assert "the pointer to the best and last checkpoints is missing" in err
    assert f"deepracer-sim export {run} --checkpoint N" in err


def test_a_run_without_checkpoints_saved_none_yet(run: Path, capsys) -> None:
    (run / "model" / "deepracer_checkpoints.json").unlink()
    for name in _checkpoints(run):
        (run / "model" / name).unlink()
    code, _, err = _evaluate(run, capsys)
    assert code == 2 and "the run saved no checkpoint yet" in err


# --- a read-only run folder -----------------------------------------------------------------

def test_evaluation_in_a_read_only_folder_prints_the_laps(run: Path, capsys,
                                                          monkeypatch) -> None:
    """The logs cannot be written (simulated, as the tests may run as root): a warning, and
    the laps are printed."""
    def refuse(path, text) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(writer, "atomic_write_text", refuse)
    code, out, err = _evaluate(run, capsys)
    assert code == 0
    assert "completion rate" in out and "  1  " in out  # the lap table
    assert err.startswith(f"warning: {run}: the evaluation logs were not written "
                          "(Permission denied:")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="needs a user that file permissions apply to")
def test_evaluation_in_a_really_read_only_folder(run: Path, capsys) -> None:
    for folder, dirs, _ in os.walk(run):
        os.chmod(folder, 0o555)
        for d in dirs:
            os.chmod(Path(folder) / d, 0o555)
    try:
        code, out, err = _evaluate(run, capsys)
    finally:
        for folder, _, _ in os.walk(run):
            os.chmod(folder, 0o755)
    assert code == 0 and "completion rate" in out and "were not written" in err


# --- the live viewer's shared file ----------------------------------------------------------

_KILLED_TRAINING = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    from deepracer_sim.envs.vec_env import DeepRacerVecEnv
    from deepracer_sim.viewer import live

    live._shared_dir = lambda: sys.argv[1]
    class Model:
        num_timesteps = 0
    env = DeepRacerVecEnv(2, reward_function=sys.argv[2])
    env.reset()
    viewer = live.TrainingViewer()
    viewer.on_start(None, env, Model())
    for _ in range(20):
        env.step(np.array([5, 5]))
    print(viewer.process.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # no on_end, no cleanup of any kind
""")


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_killed_training_leaves_no_shared_file(tmp_path: Path) -> None:
    shared = tmp_path / "shm"
    shared.mkdir()
    env = dict(os.environ, SDL_VIDEODRIVER="dummy", PYTHONPATH=str(ROOT))
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with out.open("w") as fh_out, err.open("w") as fh_err:  # files: the window may outlive it
        code = subprocess.run([sys.executable, "-c", _KILLED_TRAINING, str(shared),
                               str(ROOT / "rewards" / "center.py")], env=env, stdout=fh_out,
                              stderr=fh_err, timeout=600).returncode
    assert code == -signal.SIGKILL, err.read_text()
    assert list(shared.iterdir()) == []  # nothing left, though training never cleaned up
    window = int(out.read_text().split()[0])
    with contextlib.suppress(ProcessLookupError):  # it would also end by itself
        os.kill(window, signal.SIGTERM)
