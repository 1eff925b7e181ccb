"""``check_reward``: the three stages of ``deepracer-sim reward check`` on one reward file, in
order (see :mod:`deepracer_sim.reward_lab.check`).
"""

from __future__ import annotations

import time
from pathlib import Path

from deepracer_sim.errors import missing_file_text
from deepracer_sim.formats.model_metadata import ActionSpace
from deepracer_sim.reward import RewardFunctionError, load_reward_function
from deepracer_sim.reward_lab.check.report import ERROR, WARNING, CheckReport, Finding
from deepracer_sim.reward_lab.check.sampled import (
    DEFAULT_SAMPLES,
    SLOW_CALL,
    sample_params,
    sampled_run,
)
from deepracer_sim.reward_lab.check.static import static_checks
from deepracer_sim.reward_lab.check.validator import VALIDATOR_TIMEOUT, validator_run
from deepracer_sim.track import Track


def check_reward(path: str | Path, track: Track, action_space: ActionSpace, *,
                 samples: int = DEFAULT_SAMPLES, seed: int = 0, lint_backend: str = "auto",
                 validator_timeout: float = VALIDATOR_TIMEOUT, slow_call: float = SLOW_CALL,
                 time_budget: float = 60.0) -> CheckReport:
    """Run the three stages on a reward file (see :mod:`deepracer_sim.reward_lab.check`).

    Raises:
        RewardFunctionError: the file does not exist.
    """
    t0 = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise RewardFunctionError(f"reward file {missing_file_text(path)} (give the path of a "
                                  ".py file defining reward_function(params))")
    source = path.read_text(encoding="utf-8", errors="replace")
    report = CheckReport(path, track.name)
    findings, backend, syntax_ok = static_checks(path, source, lint_backend)
    report.findings += findings
    report.lint_backend = backend
    if syntax_ok:
        try:
            fn = load_reward_function(path)
        except RewardFunctionError as exc:
            report.findings.append(Finding(ERROR, "load-error", str(exc)))
            fn = None
        if fn is not None:
            findings, finished = validator_run(fn, path, track.waypoints, validator_timeout)
            report.findings += findings
            if finished and samples > 0:
                fn = load_reward_function(path)  # a fresh module: no state from stage 2
                dicts = sample_params(track, action_space, samples, seed)
                findings, rewards, timing, keys = sampled_run(
                    fn, path, dicts, slow_call=slow_call, time_budget=time_budget)
                report.findings += findings
                report.samples = timing.calls
                report.timing = timing
                report.rewards = rewards
                report.keys_read = keys
            elif not finished:
                report.findings.append(Finding(WARNING, "incomplete", "sampled run skipped: "
                                               "the function did not return in time"))
    report.elapsed = time.perf_counter() - t0
    return report
