"""The result of ``deepracer-sim reward check``: :class:`Finding` and :class:`CheckReport`, and
their text and JSON forms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

#: Severities: "error" (the file would fail in the DeepRacer cloud), "warning" (it runs, but
#: probably not as meant), "info".
ERROR = "error"
WARNING = "warning"
INFO = "info"


@dataclass
class Finding:
    """One result of :func:`~deepracer_sim.reward_lab.check.check_reward`.

    Attributes:
        severity: "error" (would fail in the DeepRacer cloud), "warning" or "info".
        code: a short identifier, e.g. ``illegal-import``, ``flake8-E701``, ``zero-reward``.
        message: what and why, and what to do.
        line: the file's line, when it is about a line.
        example: a params dict that shows it (sampled findings).
        count: how many sampled params dicts showed it.
    """

    severity: str
    code: str
    message: str
    line: int | None = None
    example: dict | None = None
    count: int | None = None


@dataclass
class Timing:
    """Seconds per reward call over the sampled run."""

    calls: int = 0
    p50: float = 0.0
    p99: float = 0.0
    max: float = 0.0
    total: float = 0.0


@dataclass
class CheckReport:
    """What :func:`~deepracer_sim.reward_lab.check.check_reward` found in one reward file."""

    path: Path
    track: str
    findings: list[Finding] = field(default_factory=list)
    samples: int = 0
    timing: Timing = field(default_factory=Timing)
    rewards: np.ndarray | None = None
    keys_read: list[str] | None = None
    lint_backend: str = ""
    elapsed: float = 0.0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == WARNING]

    @property
    def exit_code(self) -> int:
        """0 when nothing would fail in the cloud, else 1."""
        return 1 if self.errors else 0

    def codes(self, severity: str | None = None) -> set[str]:
        return {f.code for f in self.findings if severity is None or f.severity == severity}

    def to_dict(self) -> dict:
        return {
            "file": str(self.path),
            "track": self.track,
            "exit_code": self.exit_code,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "samples": self.samples,
            "lint": self.lint_backend,
            "elapsed_s": self.elapsed,
            "time_per_call_s": vars(self.timing),
            "keys_read": self.keys_read,
            "findings": [{
                "severity": f.severity, "code": f.code, "message": f.message, "line": f.line,
                "count": f.count,
                "example": _jsonable_params(f.example) if f.example is not None else None,
            } for f in self.findings],
        }

    def format(self, verbose: bool = False) -> str:
        """The human-readable report."""
        lines = [f"check {self.path} (track {self.track})"]
        if self.lint_backend:
            lines.append(f"  static checks as DeepRacer's validator; lint: {self.lint_backend}")
        if self.samples:
            r = self.rewards
            t = self.timing
            lines.append(f"  sampled run: {self.samples} params dicts; reward min {np.min(r):.6g}"
                         f", median {np.median(r):.6g}, max {np.max(r):.6g}"
                         if r is not None and len(r) else
                         f"  sampled run: {self.samples} params dicts")
            lines.append(f"  time per call: p50 {fmt_seconds(t.p50)}, p99 {fmt_seconds(t.p99)}, "
                         f"max {fmt_seconds(t.max)} ({t.calls} calls)")
        if self.keys_read is not None:
            lines.append(f"  params keys read: {', '.join(self.keys_read) or '(none)'}")
        order = {ERROR: 0, WARNING: 1, INFO: 2}
        for f in sorted(self.findings, key=lambda f: (order[f.severity], f.line or 0)):
            if f.severity == INFO and not verbose:
                continue
            where = f"line {f.line}: " if f.line else ""
            lines.append(f"{f.severity.upper():>7} [{f.code}] {where}{f.message}")
            if f.example is not None:
                lines.append(f"          example params: {_describe(f.example)}")
        n_err, n_warn = len(self.errors), len(self.warnings)
        verdict = ("would FAIL in the DeepRacer cloud" if n_err else
                   "passes DeepRacer's checks")
        lines.append(f"{n_err} error(s), {n_warn} warning(s): {verdict} "
                     f"(checked in {self.elapsed:.2f} s)")
        return "\n".join(lines)


def fmt_seconds(s: float) -> str:
    """A duration (s) in s, ms or µs, for the report."""
    if s >= 1.0:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} µs"


def _jsonable_params(params: dict) -> dict:
    out: dict[str, object] = {}
    for k, v in params.items():
        if k == "waypoints":
            out[k] = f"<{len(v)} points>"
        elif isinstance(v, np.ndarray):
            out[k] = v.tolist()
        elif isinstance(v, (np.floating, np.integer, np.bool_)):
            out[k] = v.item()
        else:
            out[k] = v
    return out


def _describe(params: dict) -> str:
    shown = _jsonable_params(params)
    parts = []
    for k, v in shown.items():
        if isinstance(v, float):
            v = round(v, 4)
        elif isinstance(v, list) and len(v) > 2:
            v = f"<{len(v)} items>"
        parts.append(f"{k}={v!r}")
    return "{" + ", ".join(parts) + "}"

