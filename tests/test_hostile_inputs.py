"""Inputs that could come from someone else, read safely: a checkpoint's pickled ``data`` is
reported by ``export --check``; zip and tar bombs are refused from their declared sizes before
anything is inflated (memory and disk stay untouched); tracks in the wrong unit are refused on
load with the unit they are probably in; a sim-trace cut off while it was written loses only
its last row, with a warning, in every tool that reads sim-traces.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from export_helpers import REWARD, check_cli, copy_folder

from deepracer_sim.cli import main as cli_main
from deepracer_sim.errors import CheckpointError, DeepRacerSimWarning, SimtraceError, TrackError
from deepracer_sim.export import (
    ExportError,
    check_path,
    clone_source,
    export_run,
    safe_extract,
    safe_io,
)
from deepracer_sim.formats import checkpoint_zip
from deepracer_sim.formats.simtrace import read_simtrace
from deepracer_sim.track import load_track
from deepracer_sim.track.model import validate_waypoints
from deepracer_sim.training.policy import read_checkpoint_state

pytest_plugins = ["export_fixtures"]  # the shared run and export fixtures

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TRACK = np.load(ROOT / "tracks" / "dr_sim_default.npy")
MIB = 2**20


def _best(run: Path) -> Path:
    info = json.loads((run / "model" / "deepracer_checkpoints.json").read_text())
    return run / "model" / info["best_checkpoint"]["name"]


def _rewrite_zip(path: Path, replace: dict[str, bytes]) -> None:
    """Rewrite a checkpoint zip with some members' bytes replaced (deflated)."""
    members = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            members[name] = replace.get(name, zf.read(name))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)


# --- 1. the pickled data member ------------------------------------------------------------

def test_check_warns_that_a_checkpoint_holds_pickled_data(exported: Path, tmp_path: Path,
                                                          capsys) -> None:
    folder = copy_folder(exported, tmp_path / "m")
    code, out = check_cli(folder, capsys)
    assert code == 0  # a warning, not an error: the exit status is unchanged
    zips = sorted(p.name for p in (folder / "model").glob("*.ckpt.zip"))
    for name in zips:
        line = next(ln for ln in out.splitlines() if ln.startswith(f"warning: model/{name}:"))
        # stable-baselines3 pickles e.g. the spaces and the learning-rate schedule
        assert "its 'data' member holds pickled entries" in line
        assert "observation_space" in line and "lr_schedule" in line
        assert "PPO.load unpickles them" in line
    assert "0 errors" in out


def test_check_is_quiet_about_a_data_member_without_pickles(exported: Path, tmp_path: Path,
                                                            capsys) -> None:
    folder = copy_folder(exported, tmp_path / "m")
    for path in (folder / "model").glob("*.ckpt.zip"):
        _rewrite_zip(path, {"data": json.dumps({"n_steps": 128, "gamma": 0.99}).encode()})
    code, out = check_cli(folder, capsys)
    assert code == 0 and "pickled" not in out


# --- 2. zip bombs ---------------------------------------------------------------------------

def _zip_bomb(run_dir: Path, dst: Path, mib: int = 64) -> Path:
    """The run's best checkpoint with policy.pth replaced by ``mib`` MiB of zeros (deflated
    about 1000 times: a 64 MiB member takes ~64 KB)."""
    shutil.copyfile(_best(run_dir), dst)
    _rewrite_zip(dst, {"policy.pth": bytes(mib * MIB)})
    return dst


def test_a_zip_bomb_is_refused_without_inflating_it(run_dir: Path, tmp_path: Path) -> None:
    bomb = _zip_bomb(run_dir, tmp_path / "0_Step-1.zip")
    assert bomb.stat().st_size < MIB
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError) as info:
            read_checkpoint_state(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert str(bomb) in message and "'policy.pth'" in message and "zip bomb" in message
    assert peak < 4 * MIB  # the 64 MiB member was never inflated


def test_a_checkpoint_above_the_size_limit_is_refused(run_dir: Path, tmp_path: Path,
                                                      monkeypatch) -> None:
    """Incompressible members (ratio ~1) above the limit: refused from the zip's directory."""
    path = tmp_path / "0_Step-1.zip"
    shutil.copyfile(_best(run_dir), path)
    _rewrite_zip(path, {"policy.optimizer.pth": np.random.default_rng(0).bytes(2 * MIB)})
    monkeypatch.setattr(checkpoint_zip, "MAX_CHECKPOINT_BYTES", MIB)
    with pytest.raises(CheckpointError, match=r"'policy.optimizer.pth' inflates to 2.0 MiB, "
                                              r"more than the 1.0 MiB"):
        read_checkpoint_state(path)


def test_the_limits_leave_room_for_deepracer_camera_models() -> None:
    # a DEEP_CONVOLUTIONAL_NETWORK checkpoint is ~230 MB
    assert checkpoint_zip.MAX_CHECKPOINT_BYTES >= 4 * 230e6
    assert safe_io.MAX_ARCHIVE_BYTES >= 4 * 230e6


def test_check_clone_and_export_refuse_a_zip_bomb(run_dir: Path, exported: Path,
                                                  tmp_path: Path, capsys) -> None:
    run = copy_folder(run_dir, tmp_path / "run")
    best = _best(run)
    _zip_bomb(run_dir, best)
    with pytest.raises(CheckpointError, match="zip bomb"):
        clone_source(run)
    with pytest.raises(CheckpointError, match="zip bomb"):
        export_run(run, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    folder = copy_folder(exported, tmp_path / "m")
    coach = (folder / "model" / ".coach_checkpoint").read_text().strip()
    _zip_bomb(run_dir, folder / "model" / f"{coach}.zip")
    (folder / "model" / f"{coach}.pt").unlink()  # the check then weighs the zip
    code, out = check_cli(folder, capsys)
    assert code == 1
    assert f"error: model/{coach}:" in out and "zip bomb" in out


# --- 2. tar bombs ---------------------------------------------------------------------------

def _tar_gz(path: Path, files: dict[str, int]) -> Path:
    """A .tar.gz of files of zeros: {name: size in bytes}."""
    with tarfile.open(path, "w:gz") as tar:
        for name, size in files.items():
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, io.BytesIO(bytes(size)))
    return path


def test_a_tar_bomb_is_refused_before_anything_is_written(tmp_path: Path,
                                                          monkeypatch) -> None:
    bomb = _tar_gz(tmp_path / "bomb.tar.gz", {"m/model_metadata.json": 10, "m/big.bin": 64 * MIB})
    assert bomb.stat().st_size < MIB
    monkeypatch.setattr(safe_io, "MAX_ARCHIVE_BYTES", 8 * MIB)
    target = tmp_path / "out"
    with pytest.raises(ExportError) as info:
        safe_extract(bomb, target)
    assert "unpack to more than 8 MiB (at 'm/big.bin', 64 MiB)" in str(info.value)
    assert str(bomb) in str(info.value)
    assert not target.exists()  # nothing written
    with pytest.raises(ExportError, match="unpack to more than"):
        check_path(bomb)


def test_a_tar_bomb_of_many_files_is_refused(tmp_path: Path, monkeypatch) -> None:
    bomb = _tar_gz(tmp_path / "many.tar.gz", {f"m/{k}.txt": 0 for k in range(30)})
    monkeypatch.setattr(safe_io, "MAX_ARCHIVE_MEMBERS", 20)
    with pytest.raises(ExportError, match="more than 20 members"):
        safe_extract(bomb, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_check_of_a_tar_bomb_is_a_clear_error(tmp_path: Path, monkeypatch, capsys) -> None:
    bomb = _tar_gz(tmp_path / "bomb.tar.gz", {"m/big.bin": 16 * MIB})
    monkeypatch.setattr(safe_io, "MAX_ARCHIVE_BYTES", MIB)
    assert cli_main(["export", "--check", str(bomb)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {bomb}: its members unpack to more than 1 MiB")


# --- 3. track scale -------------------------------------------------------------------------

@pytest.mark.parametrize(("factor", "unit", "fix"), [
    (100.0, "centimetres", "numpy.load(path) / 100)"),
    (1000.0, "millimetres", "numpy.load(path) / 1000)"),
    (1e6, "micrometres", "numpy.load(path) / 1000000)"),
])
def test_a_track_in_another_unit_is_refused(factor: float, unit: str, fix: str) -> None:
    with pytest.raises(TrackError) as info:
        validate_waypoints(DEFAULT_TRACK * factor, "t.npy")
    message = str(info.value)
    # dr_sim_default: 23.241 m long, 0.762 m wide
    assert message.startswith(f"t.npy: the centre line is {23.2410 * factor:,.6g} m long")
    assert f"it looks like {unit}" in message and fix in message


def test_implausible_sizes_in_metres_are_refused() -> None:
    with pytest.raises(TrackError, match=r"0\.023241 m long"):  # a 1000 times smaller track
        validate_waypoints(DEFAULT_TRACK / 1000, "tiny")
    wide = DEFAULT_TRACK.copy()
    centre = wide[:, 0:2]
    wide[:, 2:4] = centre + (wide[:, 2:4] - centre) * 40  # 30.48 m wide, 23 m long
    wide[:, 4:6] = centre + (wide[:, 4:6] - centre) * 40
    with pytest.raises(TrackError, match=r"30\.48 m wide \(median\).*save the coordinates in "
                                         "metres"):
        validate_waypoints(wide, "wide")


def test_loading_a_track_in_centimetres_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cm_track.npy"
    np.save(path, DEFAULT_TRACK * 100)
    with pytest.raises(TrackError, match=f"^{path}: the centre line is 2,324.1 m long"):
        load_track(path)


@pytest.mark.shared_data
def test_every_official_track_has_a_plausible_scale(shared_dir: Path) -> None:
    lengths, medians, widths = [], [], []
    for path in sorted((shared_dir / "tracks").glob("*.npy")):
        wp = validate_waypoints(np.load(path), str(path))
        lengths.append(np.hypot(*np.diff(wp[:, 0:2], axis=0).T).sum())
        width = np.hypot(*(wp[:, 4:6] - wp[:, 2:4]).T)
        medians.append(np.median(width))
        widths += [width.min(), width.max()]
    assert len(lengths) > 100
    # the span the limits were chosen around: 5.7-89.2 m long, median widths 0.61-1.45 m
    # (0.60-1.98 m at any waypoint), well inside 2-500 m and 0.2-5 m
    assert (round(min(lengths), 1), round(max(lengths), 1)) == (5.7, 89.2)
    assert (round(min(medians), 2), round(max(medians), 2)) == (0.61, 1.45)
    assert (round(min(widths), 2), round(max(widths), 2)) == (0.60, 1.98)


# --- 5. a sim-trace cut off while it was written --------------------------------------------

def _cut_last_row(path: Path) -> int:
    """Cut the file in the middle of its last row; returns that row's line number."""
    text = path.read_text()
    lines = text.splitlines()
    path.write_text(text[:len(text) - 1 - len(lines[-1]) // 2])
    return len(lines)


def test_reader_skips_a_cut_last_row_with_a_warning(run_dir: Path, tmp_path: Path) -> None:
    src = sorted((run_dir / "training-simtrace").glob("*.csv"))[-1]
    path = tmp_path / "0-iteration.csv"
    shutil.copyfile(src, path)
    whole = read_simtrace(path)
    line = _cut_last_row(path)
    with pytest.warns(DeepRacerSimWarning) as caught:
        cut = read_simtrace(path)
    assert str(caught[0].message).startswith(f"{path}: line {line}: skipped a cut-off last row")
    assert len(cut["episode"]) == len(whole["episode"]) - 1
    np.testing.assert_array_equal(cut["X"], whole["X"][:-1])


def test_a_short_row_inside_the_file_is_an_error(run_dir: Path, tmp_path: Path) -> None:
    src = sorted((run_dir / "training-simtrace").glob("*.csv"))[-1]
    lines = src.read_text().splitlines()
    lines[5] = lines[5][:20]
    path = tmp_path / "0-iteration.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SimtraceError, match=f"^{path}: line 6: "):
        read_simtrace(path)


def test_a_clean_trace_gives_no_warning(run_dir: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for path in (run_dir / "training-simtrace").glob("*.csv"):
            read_simtrace(path)


@pytest.fixture
def cut_run(run_dir: Path, tmp_path: Path) -> tuple[Path, Path, int]:
    """A copy of the run whose last training sim-trace ends in a cut row: (run, file, line)."""
    run = copy_folder(run_dir, tmp_path / "run")
    for extra in run.glob("evaluation-*"):
        shutil.rmtree(extra)
    path = sorted((run / "training-simtrace").glob("*.csv"))[-1]
    return run, path, _cut_last_row(path)


def test_analyze_replay_and_fidelity_skip_the_cut_row(cut_run, capsys) -> None:
    run, path, line = cut_run
    expected = f"warning: {path}: line {line}: skipped a cut-off last row"
    assert cli_main(["analyze", str(run), "--dpi", "20"]) == 0
    assert expected in capsys.readouterr().err
    assert cli_main(["reward", "replay", str(REWARD), str(run)]) == 0
    assert expected in capsys.readouterr().err
    assert cli_main(["fidelity", str(run), "--version", "6", "--json"]) == 0
    assert expected in capsys.readouterr().err
