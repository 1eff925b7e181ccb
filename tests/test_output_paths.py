"""Every tool that writes, on an output path it cannot use: a path under a regular file, a
read-only folder, a full disk. Each stops with one ``error: OPTION PATH: ...`` line naming the
path and the fix (exit status 2), never a traceback; the first two are found before any work
starts.

Read-only folders are simulated (``os.access`` says no), as the tests may run as root, for whom
permissions do not apply; a full disk is simulated by making every file opened for writing under
the output folder fail with ``ENOSPC`` (or by writing to ``/dev/full``).
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import shutil
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pytest
from export_helpers import copy_folder

from deepracer_sim.cli import main as cli_main
from deepracer_sim.errors import OutputPathError, output_error, writing
from deepracer_sim.logs import writer

pytest_plugins = ["export_fixtures"]  # the shared run and export fixtures

ROOT = Path(__file__).resolve().parents[1]
CENTER = str(ROOT / "rewards" / "center.py")


def _tools(run: Path) -> dict[str, tuple[list[str], str]]:
    """tool -> (argv with OUT where the output path goes, the option), every writing tool."""
    return {
        "train --out": (["train", "--reward", CENTER, "--timesteps", "256", "--out", "OUT"],
                        "--out"),
        "evaluate --record": (["evaluate", str(run), "--laps", "1", "--record", "OUT.gif"],
                              "--record"),
        "analyze --out": (["analyze", str(run), "--out", "OUT"], "--out"),
        "export --out": (["export", str(run), "--out", "OUT"], "--out"),
        "raceline --out": (["raceline", "dr_sim_default", "--out", "OUT.npy"], "--out"),
        "raceline --plot": (["raceline", "dr_sim_default", "--plot", "OUT.png"], "--plot"),
        "raceline --reward-file": (["raceline", "dr_sim_default", "--reward-file", "OUT.py"],
                                   "--reward-file"),
        "raceline --action-space": (["raceline", "dr_sim_default", "--action-space",
                                     "OUT.json"], "--action-space"),
        "reward map --out": (["reward", "map", CENTER, "--out", "OUT.png"], "--out"),
        "reward replay --steps-out": (["reward", "replay", CENTER, str(run), "--steps-out",
                                       "OUT.csv"], "--steps-out"),
        "tracks get --dest": (["tracks", "get", "reinvent_base", "--dest", "OUT"], "--dest"),
        "tracks show --out": (["tracks", "show", "dr_sim_default", "--out", "OUT.png"], "--out"),
        "drive --screenshot": (["drive", "--reward", CENTER, "--frames", "2", "--screenshot",
                                "OUT.png"], "--screenshot"),
    }


TOOLS = list(_tools(Path("run")))


def _argv(run: Path, tool: str, out: Path) -> tuple[list[str], str, Path]:
    argv, option = _tools(run)[tool]
    target = next(Path(a.replace("OUT", str(out))) for a in argv if "OUT" in a)
    return [a.replace("OUT", str(out)) for a in argv], option, target


@pytest.mark.parametrize("tool", TOOLS)
def test_an_output_path_under_a_regular_file(run_dir: Path, tmp_path: Path, tool: str,
                                             capsys) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    argv, option, target = _argv(run_dir, tool, blocker / "sub" / "out")
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {option} {target}: {blocker} is a regular file, so nothing "
                          "can be written under it; fix: choose a path"), err
    assert "Traceback" not in err


@pytest.mark.parametrize("tool", TOOLS)
def test_an_output_path_in_a_read_only_folder(run_dir: Path, tmp_path: Path, tool: str,
                                              capsys, monkeypatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access

    def access(path, mode, *args, **kwargs) -> bool:
        if Path(path) == locked and mode & os.W_OK:
            return False
        return real_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    argv, option, target = _argv(run_dir, tool, locked / "out")
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {option} {target}: the folder {locked} is read-only"), err
    assert "fix: choose a folder you can write to" in err


def full_disk(monkeypatch, root: Path) -> None:
    """Every file opened for writing under ``root`` fails with ENOSPC (a full disk)."""
    real_open, real_os_open = io.open, os.open
    root_text = str(root)

    def under(file) -> bool:
        return isinstance(file, (str, os.PathLike)) and \
            os.path.abspath(os.fspath(file)).startswith(root_text)

    def fake_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+") and under(file):
            raise OSError(errno.ENOSPC, "No space left on device", os.fspath(file))
        return real_open(file, mode, *args, **kwargs)

    def fake_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR) and under(path):
            raise OSError(errno.ENOSPC, "No space left on device", os.fspath(path))
        return real_os_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(io, "open", fake_open)
    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(os, "open", fake_os_open)


def _full_disk_error(err: str, option: str, target: Path) -> None:
    assert err.startswith(f"error: {option} {target}: cannot write "), err
    assert "the disk is full (No space left on device); fix: free space" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("tool", ["train --out", "analyze --out", "export --out",
                                  "evaluate --record", "tracks show --out",
                                  "reward replay --steps-out", "drive --screenshot"])
def test_a_full_disk(run_dir: Path, tmp_path: Path, tool: str, capsys, monkeypatch) -> None:
    run = copy_folder(run_dir, tmp_path / "run")
    disk = tmp_path / "disk"
    disk.mkdir()
    argv, option, target = _argv(run, tool, disk / "out")
    full_disk(monkeypatch, disk)
    assert cli_main(argv) == 2
    _full_disk_error(capsys.readouterr().err, option, target)


@pytest.mark.parametrize("option", ["--reward-file", "--plot"])
def test_raceline_on_a_full_disk(option: str, capsys) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    assert cli_main(["raceline", "dr_sim_default", "--no-rules", option, "/dev/full"]) == 2
    _full_disk_error(capsys.readouterr().err, option, Path("/dev/full"))


def test_reward_map_on_a_full_disk(capsys) -> None:
    """matplotlib's own PNG writer would not notice; the figure goes through Python's I/O."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    assert cli_main(["reward", "map", CENTER, "--resolution", "0.2", "--out", "/dev/full"]) == 2
    _full_disk_error(capsys.readouterr().err, "--out", Path("/dev/full"))


@pytest.mark.shared_data
def test_tracks_get_on_a_full_disk(shared_dir: Path, tmp_path: Path, capsys,
                                   monkeypatch) -> None:
    served = tmp_path / "served"
    served.mkdir()
    shutil.copyfile(shared_dir / "tracks" / "reinvent_base.npy", served / "reinvent_base.npy")
    dest = tmp_path / "cache"
    full_disk(monkeypatch, dest)
    assert cli_main(["tracks", "get", "reinvent_base", "--dest", str(dest), "--url",
                     served.as_uri() + "/"]) == 2
    _full_disk_error(capsys.readouterr().err, "--dest", dest)


def test_full_evaluation_logs_are_a_warning(run_dir: Path, tmp_path: Path, capsys,
                                            monkeypatch) -> None:
    run = copy_folder(run_dir, tmp_path / "run")

    def full(path, text) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(writer, "atomic_write_text", full)
    assert cli_main(["evaluate", str(run), "--laps", "1"]) == 0
    out = capsys.readouterr()
    assert "completion rate" in out.out
    assert out.err.startswith(f"warning: {run}: the evaluation logs were not written (No space "
                              "left on device:")


@pytest.mark.parametrize(("code", "why", "fix"), [
    (errno.ENOSPC, "the disk is full", "free space on that disk"),
    (errno.EDQUOT, "the disk is full", "free space on that disk"),
    (errno.EROFS, "the file system is read-only", "choose a folder on a writable disk"),
    (errno.EACCES, "no permission to write there", "choose a folder you can write to"),
    (errno.ENOTDIR, "a part of the path is a regular file, not a folder", "not under a file"),
])
def test_writing_names_the_path_and_the_fix(code: int, why: str, fix: str) -> None:
    with pytest.raises(OutputPathError) as info, writing("out/x.png", "--plot"):
        raise OSError(code, os.strerror(code), "out/x.png")
    message = str(info.value)
    assert message.startswith(f"--plot out/x.png: cannot write out/x.png: {why} "
                              f"({os.strerror(code)}); fix: ")
    assert fix in message
    assert isinstance(info.value, OSError)  # still an OSError for older callers


def test_writing_lets_other_errors_through() -> None:
    with pytest.raises(FileNotFoundError), writing("out", "--out"):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", "in.csv")
    with pytest.raises(ValueError), writing("out", "--out"):
        raise ValueError("not an OS error")
    assert "cannot write" in str(output_error(OSError(errno.ENOSPC, "full"), "o"))
