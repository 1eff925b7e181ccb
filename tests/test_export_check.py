"""Tests for ``deepracer-sim export --check``: each broken folder is found with its fix, archives
are read safely, and real DeepRacer files pass.

The broken folders are copies of one export (``export_helpers``) with one thing broken each; the
expected messages name the file, the field and the value. The real files are the DRfC sample
(``../shared/real-logs/sample-drfc-3-logs``) and a DeepRacer-on-AWS solution's logs.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from export_helpers import (
    both_metadata,
    check_cli,
    copy_folder,
    edit_json,
    write_coach,
)

from deepracer_sim.cli import main as cli_main
from deepracer_sim.export import ExportError, safe_extract
from deepracer_sim.formats.hyperparameters import check_hyperparameters
from deepracer_sim.formats.metrics import check_metrics
from deepracer_sim.formats.model_metadata import check_model_metadata

pytest_plugins = ["export_fixtures"]  # the shared run and export fixtures


def _bad_tar(folder: Path, add) -> None:
    (folder / "model.tar.gz").unlink()
    with tarfile.open(folder / "model.tar.gz", "w:gz") as tar:
        data = (folder / "model_metadata.json").read_bytes()
        info = tarfile.TarInfo("model_metadata.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        add(tar)


def _tar_member(name: str, data: bytes = b"x", link: str | None = None):
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        if link is not None:
            info.type = tarfile.SYMTYPE
            info.linkname = link
            tar.addfile(info)
        else:
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return add


def _set_action(i: int, key: str, value):
    def fn(meta: dict) -> None:
        meta["action_space"][i][key] = value
    return fn


def _yaml_edit(old: str, new: str):
    def fn(folder: Path) -> None:
        path = folder / "training_params.yaml"
        text = path.read_text()
        assert old in text
        path.write_text(text.replace(old, new))
    return fn


def _tar_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# ------------------------------------------------------------------------------- --check

def test_check_passes_on_the_export(exported: Path, capsys) -> None:
    code, text = check_cli(exported, capsys)
    assert code == 0, text
    assert "0 errors" in text
    assert "not an official DeepRacer track" in text  # a warning, not an error
    assert "warning: model/: holds deepracer-sim (PyTorch) checkpoints" in text
    assert "warning: model.tar.gz: the physical car cannot run this policy" in text


def test_check_warns_about_a_checkpoint_never_evaluated(exported: Path, tmp_path: Path,
                                                        capsys) -> None:
    folder = copy_folder(exported, tmp_path / "model")
    edit_json(folder / "model" / "deepracer_checkpoints.json",
               lambda d: d["last_checkpoint"].update(avg_eval_metric=None))
    code, text = check_cli(folder, capsys)
    assert code == 0
    assert "last_checkpoint.avg_eval_metric is missing or null" in text


BROKEN = {
    "missing reward": (lambda f: (f / "reward_function.py").unlink(),
                       "reward_function.py: missing (required)"),
    "missing yaml": (lambda f: (f / "training_params.yaml").unlink(),
                     "training_params.yaml: missing (required)"),
    "missing root metadata": (lambda f: (f / "model_metadata.json").unlink(),
                              "model_metadata.json: missing (required)"),
    "missing coach checkpoint": (lambda f: (f / "model" / ".coach_checkpoint").unlink(),
                                 "model/.coach_checkpoint: missing (required)"),
    "hyperparameters at the root": (
        lambda f: (f / "ip" / "hyperparameters.json").rename(f / "hyperparameters.json"),
        "move it to ip/hyperparameters.json"),
    "invalid json": (lambda f: (f / "model_metadata.json").write_text("{\n  'action_space': 1"),
                     "model_metadata.json: line 2: invalid JSON"),
    "steering beyond 30": (lambda f: both_metadata(f, _set_action(0, "steering_angle", -45)),
                           "action_space[0].steering_angle = -45 is outside [-30, 30]"),
    "speed above 4": (lambda f: both_metadata(f, _set_action(2, "speed", 5)),
                      "action_space[2].speed = 5 is outside [0.1, 4]"),
    "speed below 0.1": (lambda f: both_metadata(f, _set_action(1, "speed", 0.05)),
                        "action_space[1].speed = 0.05 is outside [0.1, 4]"),
    "steering not a number": (lambda f: both_metadata(f, _set_action(3, "steering_angle", "x")),
                              "action_space[3].steering_angle = 'x' is not a number"),
    "one action": (lambda f: both_metadata(f, lambda m: m.update(
        action_space=m["action_space"][:1])), "1 discrete actions"),
    "31 actions": (lambda f: both_metadata(f, lambda m: m.update(
        action_space=(m["action_space"] * 3)[:31])), "31 discrete actions"),
    "sac on a discrete space": (lambda f: both_metadata(f, lambda m: m.update(
        training_algorithm="sac")), "training_algorithm 'sac' needs a continuous action space"),
    "continuous low above high": (lambda f: both_metadata(f, lambda m: m.update(
        action_space_type="continuous",
        action_space={"steering_angle": {"low": 20, "high": -20},
                      "speed": {"low": 0.5, "high": 2}})),
        "action_space.steering_angle: low 20 > high -20"),
    "two cameras": (lambda f: both_metadata(f, lambda m: m.update(
        sensor=["FRONT_FACING_CAMERA", "STEREO_CAMERAS"])), "2 cameras in sensor"),
    "bad version": (lambda f: both_metadata(f, lambda m: m.update(version="six")),
                    "version = 'six' is not a number"),
    "metadata copies differ": (lambda f: edit_json(f / "model" / "model_metadata.json",
                                                    _set_action(0, "speed", 0.7)),
                               "model/model_metadata.json: differs from the root"),
    "yaml value unquoted": (_yaml_edit("'JOB_TYPE': 'TRAINING'", "'JOB_TYPE': TRAINING"),
                            "JOB_TYPE: TRAINING is not a quoted string"),
    "yaml without header": (_yaml_edit("---\n", ""), "must start with the '---' document header"),
    "yaml without WORLD_NAME": (_yaml_edit("'WORLD_NAME': 'dr_sim_default'\n", ""),
                                "error: training_params.yaml: no WORLD_NAME"),
    "coach checkpoint misnamed": (write_coach("model_3"),
                                  "'model_3' is not named <iteration>_Step-<steps>.ckpt"),
    "coach checkpoint without files": (write_coach("7_Step-9999.ckpt"),
                                       "names 7_Step-9999.ckpt but model/ has no checkpoint"),
    "best checkpoint without files": (lambda f: edit_json(
        f / "model" / "deepracer_checkpoints.json",
        lambda d: d["best_checkpoint"].update(name="9_Step-1.ckpt")),
        "best_checkpoint: names 9_Step-1.ckpt but model/ has no checkpoint files"),
    "checkpoint file misnamed": (lambda f: (f / "model" / "x.ckpt.index").write_bytes(b""),
                                 "model/x.ckpt.index: checkpoint file not named"),
    "unknown hyperparameter": (lambda f: edit_json(f / "ip" / "hyperparameters.json",
                                                    lambda d: d.update(gamma=0.9)),
                               "unknown key 'gamma'"),
    "hyperparameter type": (lambda f: edit_json(f / "ip" / "hyperparameters.json",
                                                 lambda d: d.update(num_epochs=2.5)),
                            "num_epochs = 2.5 is not an integer"),
    "reward syntax error": (lambda f: (f / "reward_function.py").write_text("def reward(:\n"),
                            "reward_function.py: line 1: syntax error"),
    "reward without the function": (lambda f: (f / "reward_function.py").write_text("x = 1\n"),
                                    "no top-level def reward_function(params)"),
    "weights of another action space": (lambda f: both_metadata(f, lambda m: m.update(
        action_space=m["action_space"][:14])),
        "the network has 15 discrete outputs but the action space has 14"),
    "archive path traversal": (lambda f: _bad_tar(f, _tar_member("../../evil.py")),
                               "member '../../evil.py' is a path that climbs out"),
    "archive symlink out": (lambda f: _bad_tar(f, _tar_member("agent/model.onnx",
                                                              link="/etc/passwd")),
                            "member 'agent/model.onnx' is a link"),
    "archive without metadata": (lambda f: (f / "model.tar.gz").write_bytes(
        _tar_bytes({"agent/model.onnx": b"x"})), "no model_metadata.json at the archive root"),
    "link in the folder": (lambda f: (f / "model" / "notes.txt").symlink_to("/etc/hostname"),
                           "model/notes.txt: is a symbolic link"),
    "training metrics not integers": (lambda f: (f / "metrics" / "TrainingMetrics.json")
                                      .write_text(json.dumps({"metrics": [{
                                          "reward_score": 3.5, "metric_time": 1, "start_time": 0,
                                          "elapsed_time_in_milliseconds": 1, "episode": 1,
                                          "trial": 1, "phase": "training",
                                          "completion_percentage": 5,
                                          "episode_status": "Off track"}],
                                          "version": 2.0, "best_model_metric": "progress"})),
                                      "metrics[0]: ['reward_score'] are not integers"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_check_detects_each_problem(case: str, exported: Path, tmp_path: Path,
                                    capsys) -> None:
    break_it, expected = BROKEN[case]
    folder = copy_folder(exported, tmp_path / "model")
    break_it(folder)
    code, text = check_cli(folder, capsys)
    assert code == 1, text
    assert expected in text, text
    # every problem comes with its fix
    lines = text.splitlines()
    found = [ln for ln in lines if ln.startswith(("error: ", "warning: "))]
    assert len(found) == sum(ln.startswith("    fix: ") for ln in lines)


# ------------------------------------------------------------------------------- archives

def test_malicious_archives_are_refused(tmp_path: Path) -> None:
    target = tmp_path / "target"
    cases = {
        "traversal": _tar_bytes({"ok.txt": b"1", "../evil.txt": b"pwned"}),
        "absolute": _tar_bytes({str(tmp_path / "abs.txt"): b"pwned"}),
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        # the classic two-step attack: a link to outside, then a file written through it
        info = tarfile.TarInfo("escape")
        info.type = tarfile.SYMTYPE
        info.linkname = str(tmp_path)
        tar.addfile(info)
        data = b"pwned"
        info = tarfile.TarInfo("escape/evil2.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    cases["symlink"] = buf.getvalue()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("hard")
        info.type = tarfile.LNKTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    cases["hardlink"] = buf.getvalue()
    for name, data in cases.items():
        archive = tmp_path / f"{name}.tar.gz"
        archive.write_bytes(data)
        with pytest.raises(ExportError, match="refusing the archive"):
            safe_extract(archive, target)
        # nothing written anywhere: not even the harmless member before the bad one
        assert not target.exists() or not any(target.iterdir()), name
        assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".tar.gz")) \
            in ([], ["target"]), name
        assert cli_main(["export", "--check", str(archive)]) == 2


def test_check_of_a_packed_export(exported: Path, tmp_path: Path, capsys) -> None:
    archive = tmp_path / "export.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(exported, arcname="exported")
    code, text = check_cli(archive, capsys)
    assert code == 0, text


# ------------------------------------------------------------------------------- real files

@pytest.mark.shared_data
def test_check_accepts_the_real_drfc_metadata(shared_dir: Path, capsys) -> None:
    sample = shared_dir / "real-logs" / "sample-drfc-3-logs"
    assert check_model_metadata(sample / "model" / "model_metadata.json") == []
    assert check_hyperparameters(sample / "ip" / "hyperparameters.json") == []
    drfc_metrics = sorted((sample / "metrics").glob("*.json"))
    droa_metrics = sorted((shared_dir / "real-logs" / "sample-droa-solution-logs" / "metrics")
                          .rglob("*.json"))
    assert len(drfc_metrics) >= 2 and len(droa_metrics) >= 2  # the loops below check files
    for path in drfc_metrics + droa_metrics:
        assert check_metrics(path) == [], path
    # the whole folder: only the files a training job's logs do not include are missing
    code, text = check_cli(sample, capsys)
    assert code == 1
    errors = [line for line in text.splitlines() if line.startswith("error: ")]
    assert errors and all("missing (required)" in line for line in errors), errors
    wheres = [line.split(": ")[1] for line in text.splitlines()
              if line.startswith(("error: ", "warning: "))]
    assert "model/model_metadata.json" not in wheres
    assert "ip/hyperparameters.json" not in wheres
    assert not [w for w in wheres if w.startswith("metrics/")]


@pytest.mark.shared_data
def test_real_metadata_in_an_export_is_checked_against_the_weights(
        exported: Path, shared_dir: Path, tmp_path: Path, capsys) -> None:
    sample = shared_dir / "real-logs" / "sample-drfc-3-logs"
    folder = copy_folder(exported, tmp_path / "model")
    for rel in ("model_metadata.json", "model/model_metadata.json"):
        shutil.copyfile(sample / "model" / "model_metadata.json", folder / rel)
    shutil.copyfile(sample / "ip" / "hyperparameters.json", folder / "ip" / "hyperparameters.json")
    (folder / "model.tar.gz").write_bytes(_tar_bytes({
        "model_metadata.json": (sample / "model" / "model_metadata.json").read_bytes(),
        "agent/model.onnx": b"x"}))
    code, text = check_cli(folder, capsys)
    errors = [line for line in text.splitlines() if line.startswith("error: ")]
    # the real 14-action space is valid; only our 15-output weights do not fit it
    assert code == 1
    assert errors and all("15 discrete outputs but the action space has 14" in e
                          for e in errors), errors

