"""The Python examples of the README and of docs/*.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _python_blocks() -> list[str]:
    blocks = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        blocks += re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S)
    return blocks


def test_readme_is_a_front_page() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 260


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
