"""``deepracer-sim reward check``: what the console's *Validate* button did, and more.

Three stages, each finding reported as an **error** (the file would fail in the DeepRacer
cloud: validation rejects it, or training stops on it) or a **warning** (it runs, but probably
not as meant):

1. Static checks, as DeepRacer's reward-function validator (:mod:`.static`): syntax; flake8
   E1/E7/E9/F (:mod:`deepracer_sim.reward_lab.lint`); imports only from ``math, random, numpy,
   scipy, shapely``; no call of the builtins ``open, exec, eval, compile, input``; none of the
   substrings ``__import__, load, fromfile, genfromtxt, loadtxt, tofile, savez, save, savetxt,
   memmap`` anywhere in the text (comments included); no import inside a function; no
   expression the validator's builtin scan crashes on.
2. The validator's own run (:mod:`.validator`): ``reward_function`` takes exactly one argument
   and returns a ``float`` within [-1e5, 1e5] on the validator's five params dicts, each within
   5 s.
3. A sampled run (:mod:`.sampled`) on a few thousand params dicts built by the simulator's own
   geometry over the whole track.

:func:`check_reward` runs them in order and returns a :class:`CheckReport` (:mod:`.report`);
the command's exit status is 0 only when nothing would fail in the cloud.
"""

from __future__ import annotations

from deepracer_sim.reward_lab.check.checker import check_reward
from deepracer_sim.reward_lab.check.report import ERROR, INFO, WARNING, CheckReport, Finding, Timing
from deepracer_sim.reward_lab.check.sampled import (
    DEFAULT_SAMPLES,
    SLOW_CALL,
    sample_params,
    sampled_run,
)
from deepracer_sim.reward_lab.check.static import (
    ALLOWED_IMPORTS,
    FORBIDDEN_BUILTINS,
    FORBIDDEN_SUBSTRINGS,
    static_checks,
)
from deepracer_sim.reward_lab.check.validator import (
    VALIDATOR_TIMEOUT,
    validator_params,
    validator_run,
)

__all__ = [
    "ALLOWED_IMPORTS",
    "DEFAULT_SAMPLES",
    "ERROR",
    "FORBIDDEN_BUILTINS",
    "FORBIDDEN_SUBSTRINGS",
    "INFO",
    "SLOW_CALL",
    "VALIDATOR_TIMEOUT",
    "WARNING",
    "CheckReport",
    "Finding",
    "Timing",
    "check_reward",
    "sample_params",
    "sampled_run",
    "static_checks",
    "validator_params",
    "validator_run",
]
