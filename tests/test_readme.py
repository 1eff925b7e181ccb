"""The README's Python examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _python_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_readme_has_two_leading_commands() -> None:
    text = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    assert "python train.py --reward rewards/center.py" in commands[0]
    assert "python -m pytest" in commands[1]
    assert "python -m pytest" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("block", _python_blocks())
def test_readme_python_examples(block: str, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    if "model_metadata.json" in block:  # the gym.make example names a user's file
        block = block.replace('action_space="model_metadata.json", ', "")
    exec(compile(block, "README.md", "exec"), {})
