"""Shared helpers of the export, ``--check`` and clone tests (the fixtures are
``export_fixtures``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from deepracer_sim.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[1]
REWARD = ROOT / "rewards" / "center.py"
#: The trained action space: 5 steering levels x 3 speeds of 1.5 m/s = 15 actions.
SPACE_ARGS = (30.0, 5, 1.5, 3)


def onnx_available() -> bool:
    try:
        import onnx  # noqa: F401
    except ImportError:
        return False
    return True


def rel_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def copy_folder(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


def check_cli(folder: Path, capsys) -> tuple[int, str]:
    """(exit status, stdout) of ``deepracer-sim export --check folder``."""
    code = cli_main(["export", "--check", str(folder)])
    return code, capsys.readouterr().out


def edit_json(path: Path, fn) -> None:
    data = json.loads(path.read_text())
    fn(data)
    path.write_text(json.dumps(data))


def both_metadata(folder: Path, fn) -> None:
    for rel in ("model_metadata.json", "model/model_metadata.json"):
        edit_json(folder / rel, fn)


def write_coach(name: str):
    def fn(folder: Path) -> None:
        (folder / "model" / ".coach_checkpoint").write_text(name)
    return fn
