"""Fault injection: training killed at random moments by SIGKILL, SIGTERM and SIGINT twice
leaves a usable run every time (``tools/fault_injection.py``, which runs 100 such kills; its
result is in docs/robustness.md). Here three kills, one of each, on one run: a new run killed
once it exists, then resumed and killed twice more at random moments."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("fault_injection",
                                                  ROOT / "tools" / "fault_injection.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_random_kills_leave_usable_runs(tmp_path: Path) -> None:
    tool = _tool()
    rng = random.Random(13)
    run, scratch = tmp_path / "run", tmp_path / "scratch"
    # SIGKILL once the new run exists; SIGTERM anywhere from the start of the resume (before
    # its handlers are installed the process just ends); SIGINT twice once it trains again
    first = tool.run_trial(1, "SIGKILL", run, scratch, rng, window=3.0, wait_for_run=True)
    trials = [first,
              tool.run_trial(2, "SIGTERM", run, scratch, rng, window=first.startup + 4.0),
              tool.run_trial(3, "SIGINT-twice", run, scratch, rng, window=3.0,
                             wait_for_run=True)]
    report = "\n".join(t.line() for t in trials)
    assert all(t.usable and not t.process for t in trials), report
    # the run existed after every kill (the first waited for it), so every check ran
    assert all(t.last is not None for t in trials), report
    assert [t.resumed for t in trials] == [False, True, True]
