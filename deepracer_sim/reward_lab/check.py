"""``python -m deepracer_sim.reward check``: what the console's *Validate* button did, and more.

Three stages, each finding reported as an **error** (the file would fail in the DeepRacer
cloud: validation rejects it, or training stops on it) or a **warning** (it runs, but probably
not as meant):

1. Static checks, as DeepRacer's reward-function validator (spec §1.1; SIM
   ``docker/files/ml-code/reward_func_validator/``): syntax; flake8 E1/E7/E9/F
   (:mod:`.lint`); imports only from ``math, random, numpy, scipy, shapely``; no call of the
   builtins ``open, exec, eval, compile, input``; none of the substrings ``__import__, load,
   fromfile, genfromtxt, loadtxt, tofile, savez, save, savetxt, memmap`` anywhere in the text
   (comments included); no import inside a function. The validator's builtin scan also
   crashes (and so rejects the file) on an attribute of anything but a name or a call, e.g.
   ``params["waypoints"][0].index`` or ``"{}".format(x)``: reported as an error too.
2. The validator's own run: ``reward_function`` must take exactly one argument and return a
   ``float`` (an ``int`` fails) within [-1e5, 1e5] on the validator's five params dicts
   (:func:`validator_params`: note that they differ from the simulator's — ``waypoints`` is a
   numpy array of the *inner border*, ``projection_distance`` is missing, ``heading`` 359.9,
   ``steps`` 10000, ``speed`` 5.0), each within 5 s.
3. A sampled run on a few thousand params dicts built by the simulator's own geometry
   (:func:`deepracer_sim.reward_params`) over the whole track: positions along the track,
   across its width and off it, headings around the track direction and reversed, every action
   of the action space, both directions, steps and progress values. Reported, each with an
   example params dict: exceptions, non-numeric / NaN / inf / out-of-range returns (errors:
   the training job stops), non-float numbers, zero rewards (AWS's guidance: PPO learns poorly
   from rewards of exactly 0), negative rewards, a reward that depends on no params key,
   non-deterministic rewards, and slow calls (p99 time per call).

Exit status of the command: 0 only when nothing would fail in the cloud.
"""

from __future__ import annotations

import ast
import copy
import inspect
import math
import numbers
import re
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepracer_sim.constants import REWARD_MAX, REWARD_MIN
from deepracer_sim.formats.model_metadata import ActionSpace
from deepracer_sim.reward import RewardFunctionError, load_reward_function
from deepracer_sim.reward_lab.lint import lint
from deepracer_sim.sim.params import PARAM_KEYS, reward_params
from deepracer_sim.track import Track

#: Modules the validator lets a reward file import (top-level package names).
ALLOWED_IMPORTS = ("math", "random", "numpy", "scipy", "shapely")
#: Builtins the validator rejects when called (``FORBID_ACCESS``).
FORBIDDEN_BUILTINS = ("open", "exec", "eval", "compile", "input")
#: Substrings the validator rejects anywhere in the file (``FORBID_STRINGS``).
FORBIDDEN_SUBSTRINGS = ("__import__", "load", "fromfile", "genfromtxt", "loadtxt", "tofile",
                        "savez", "save", "savetxt", "memmap")
#: The validator's time limit per test, s (``TIMEOUT_SEC``).
VALIDATOR_TIMEOUT = 5.0
#: p99 time per call above which ``check`` warns, s.
SLOW_CALL = 0.010
#: Default number of sampled params dicts.
DEFAULT_SAMPLES = 3000

ERROR = "error"
WARNING = "warning"
INFO = "info"


@dataclass
class Finding:
    """One result of :func:`check_reward`.

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
            lines.append(f"  time per call: p50 {_fmt_s(t.p50)}, p99 {_fmt_s(t.p99)}, "
                         f"max {_fmt_s(t.max)} ({t.calls} calls)")
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


def _fmt_s(s: float) -> str:
    if s >= 1.0:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} µs"


def _jsonable_params(params: dict) -> dict:
    out = {}
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


# ---------------------------------------------------------------------------------------------
# stage 1: static checks


def _validator_chain(node: ast.AST, found: list, crashes: list) -> list[str] | None:
    """The validator's ``_parse_chain``: the dotted name of a call/attribute chain, or None
    where the validator's ``".".join`` then fails."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Call):
        for arg in node.args:
            _validator_scan(arg, found, crashes)
        return _validator_chain(node.func, found, crashes)
    if isinstance(node, ast.Attribute):
        base = _validator_chain(node.value, found, crashes)
        return None if base is None else [*base, node.attr]
    return None


def _validator_scan(node: ast.AST, found: list, crashes: list) -> None:
    """The validator's ``parse``: collect the dotted names of calls and attributes."""
    if isinstance(node, (ast.Call, ast.Attribute)):
        chain = _validator_chain(node, found, crashes)
        if chain is None:
            crashes.append(node)
        else:
            found.append((".".join(chain), getattr(node, "lineno", None)))
        return
    for name in getattr(node, "_fields", ()):
        value = getattr(node, name, None)
        if isinstance(value, list):
            for item in value:
                if isinstance(item, ast.AST):
                    _validator_scan(item, found, crashes)
        elif isinstance(value, ast.AST):
            _validator_scan(value, found, crashes)


def static_checks(path: Path, source: str, lint_backend: str = "auto") -> tuple[list[Finding],
                                                                                  str, bool]:
    """Stage 1. Returns (findings, lint backend description, syntax ok)."""
    out: list[Finding] = []
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        text = (exc.text or "").strip()
        out.append(Finding(ERROR, "syntax-error", f"{type(exc).__name__}: {exc.msg}"
                           + (f": {text}" if text else ""), exc.lineno))
        return out, "", False
    result = lint(path, source, lint_backend)
    for m in result.messages:
        if m.code == "E999":
            out.append(Finding(ERROR, "syntax-error", m.text, m.line))
            continue
        out.append(Finding(ERROR, f"flake8-{m.code}", f"{m.code} {m.text} (the validator runs "
                           "flake8 and rejects the file for any E1/E7/E9/F message)", m.line))
    # imports (the validator's Analyzer: the top-level package of every import)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.module is None or node.level:
                out.append(Finding(ERROR, "illegal-import", "relative import: the validator "
                                   "accepts only imports from " + ", ".join(ALLOWED_IMPORTS),
                                   node.lineno))
                continue
            names = [node.module]
        else:
            continue
        bad = sorted({n.split(".")[0] for n in names} - set(ALLOWED_IMPORTS))
        if bad:
            out.append(Finding(ERROR, "illegal-import", f"import of {', '.join(bad)}: the "
                               "validator allows only " + ", ".join(ALLOWED_IMPORTS),
                               node.lineno))
    # imports inside functions (the validator calls the function with __import__ disabled)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            for inner in ast.walk(node):
                if isinstance(inner, (ast.Import, ast.ImportFrom)):
                    out.append(Finding(ERROR, "import-in-function", "import inside a function: "
                                       "the validator calls reward_function with imports "
                                       "disabled ('Import should be put at the top of file')",
                                       inner.lineno))
    # builtins (the validator's parse/_parse_chain scan)
    found: list[tuple[str, int | None]] = []
    crashes: list[ast.AST] = []
    _validator_scan(tree, found, crashes)
    for name, line in found:
        if name in FORBIDDEN_BUILTINS:
            out.append(Finding(ERROR, "forbidden-builtin", f"use of the builtin {name}(): "
                               f"the validator forbids {', '.join(FORBIDDEN_BUILTINS)}", line))
    for node in crashes[:5]:
        seg = ast.get_source_segment(source, node) or type(node).__name__
        seg = seg if len(seg) <= 60 else seg[:57] + "..."
        out.append(Finding(ERROR, "validator-crash", f"the validator's builtin scan fails on "
                           f"`{seg}` (an attribute of a {_base_kind(node)}, not of a name: "
                           "'can only join an iterable'); assign the value to a variable "
                           "first", getattr(node, "lineno", None)))
    # forbidden substrings anywhere in the text, comments and strings included
    for n, text in enumerate(source.splitlines(), 1):
        hits = [s for s in FORBIDDEN_SUBSTRINGS if s in text]
        # report the longest match only ("savetxt" contains "save")
        hits = [s for s in hits if not any(s != o and s in o for o in hits)]
        for s in hits:
            words = sorted(set(re.findall(rf"\w*{re.escape(s)}\w*", text)))
            out.append(Finding(ERROR, "forbidden-string", f"contains {s!r} (in "
                               f"{', '.join(words) or s!r}): the validator rejects any file "
                               f"whose text contains it, even in a comment or a string", n))
    return out, result.backend, True


def _base_kind(node: ast.AST) -> str:
    while isinstance(node, (ast.Attribute, ast.Call)):
        node = node.value if isinstance(node, ast.Attribute) else node.func
    return {ast.Subscript: "subscript", ast.Constant: "literal", ast.BinOp: "expression",
            ast.List: "list", ast.Dict: "dict", ast.Tuple: "tuple"}.get(type(node),
                                                                         type(node).__name__)


# ---------------------------------------------------------------------------------------------
# stage 2: the validator's run


_VALIDATOR_OBJECTS = {
    "closest_objects": [0, 1],
    "objects_location": [[4.511289152034186, 1.3292364463761641],
                         [6.537302737755836, 1.4140104486149618],
                         [4.752976532490525, 3.1350845729056838],
                         [3.103370840828792, 4.133062703357412],
                         [0.7094212601659824, 4.217507179944688],
                         [1.5996645329306798, 1.7124666440529925]],
    "objects_left_of_center": [True, True, False, True, False, True],
    "object_in_camera": True,
    "objects_speed": [0.2, 0.2, 0.2, 0.2, 0.2, 0.2],
    "objects_heading": [2.717322296283114, 2.368920328229894, -1.9305073380382327,
                        -1.3586571052564007, 0.00025041038280975884, 0.5573269195381345],
    "objects_distance": [1.9501724549506574, 4.139700164331426, 7.997164727523002,
                         10.024219705986598, 12.56561517097048, 15.090712948383509],
}


def validator_params(waypoints: np.ndarray) -> dict[str, dict]:
    """The five params dicts DeepRacer's validator calls the function with (``get_params``):
    valid, start, progress, off-track and finish car, built from the raw track array as the
    validator builds them (``waypoints`` = the inner border as a numpy array, no
    ``projection_distance`` / ``objects_distance_from_center``, six objects)."""
    w = np.array(waypoints, dtype=np.float64)
    n = w.shape[0]
    track_width = math.sqrt((w[0, 4] - w[0, 2]) ** 2 + (w[0, 5] - w[0, 3]) ** 2)
    track_length = 0.0
    for i in range(1, n):
        track_length += math.sqrt((w[i, 2] - w[i - 1, 2]) ** 2 + (w[i, 3] - w[i - 1, 3]) ** 2)

    def make(**kw) -> dict:
        d = {"all_wheels_on_track": True, "distance_from_center": 0, "heading": 0,
             "progress": 0, "steps": 1, "track_width": track_width, "waypoints": w[:, 2:4],
             "closest_waypoints": [0, 1], "is_left_of_center": True, "is_reversed": True,
             "track_length": track_length}
        d.update(copy.deepcopy(_VALIDATOR_OBJECTS))
        d.update({"is_crashed": False, "is_offtrack": False})
        d.update(kw)
        return d

    dist = math.sqrt((w[0, 4] - w[0, 0]) ** 2 + (w[0, 5] - w[0, 1]) ** 2)
    sx = (w[0, 4] - w[0, 0]) / dist if dist else 0.0
    sy = (w[0, 5] - w[0, 1]) / dist if dist else 0.0
    mid = math.floor(n / 2)
    return {
        "valid": make(x=(w[0, 2] + w[0, 0]) / 2, y=(w[0, 3] + w[0, 1]) / 2, speed=0.5,
                      steering_angle=6),
        "start": make(x=w[0, 2], y=w[0, 3], speed=0.1, steering_angle=0.2),
        "progress": make(x=w[mid, 2], y=w[mid, 3], heading=359.9, progress=50, steps=100,
                         speed=1.0, steering_angle=6, closest_waypoints=[3, 4]),
        "off_track": make(all_wheels_on_track=False, x=w[0, 0] + sx * track_width,
                          y=w[0, 1] + sy * track_width, distance_from_center=track_width,
                          heading=359.9, speed=1, steering_angle=15, is_offtrack=True),
        "finish": make(x=w[n - 1, 2], y=w[n - 1, 3], heading=359.9, progress=100, steps=10000,
                       speed=5.0, steering_angle=0, closest_waypoints=[n - 2, n - 1]),
    }


def _call_with_timeout(fn, params: dict, timeout: float):
    """(finished, value, exception, seconds): ``fn(params)`` in a daemon thread."""
    box: dict = {}

    def target() -> None:
        t0 = time.perf_counter()
        try:
            box["value"] = fn(params)
        except BaseException as exc:
            box["exc"] = exc
        box["t"] = time.perf_counter() - t0

    thread = threading.Thread(target=target, daemon=True, name="reward-check")
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        return False, None, None, timeout
    return True, box.get("value"), box.get("exc"), box.get("t", 0.0)


def _exc_line(exc: BaseException, path: Path) -> int | None:
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    return frames[-1].lineno if frames else None


def validator_run(fn, path: Path, waypoints: np.ndarray,
                  timeout: float = VALIDATOR_TIMEOUT) -> tuple[list[Finding], bool]:
    """Stage 2. Returns (findings, finished: False when a call did not return in time)."""
    out: list[Finding] = []
    try:
        n_params = len(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        n_params = 1
    if n_params != 1:
        out.append(Finding(ERROR, "signature", f"reward_function takes {n_params} parameters; "
                           "the validator requires exactly one: def reward_function(params)"))
    grouped: dict[tuple, list] = {}  # (code, detail) -> [names, first params, line, text]

    def note(code: str, detail, name: str, params: dict, text: str,
             line: int | None = None) -> None:
        g = grouped.setdefault((code, detail), [[], params, line, text])
        g[0].append(name)

    for name, params in validator_params(waypoints).items():
        shown = dict(params)
        finished, value, exc, _ = _call_with_timeout(fn, params, timeout)
        if not finished:
            out.append(Finding(ERROR, "validator-timeout", f"the call with the validator's "
                               f"'{name}' params did not return within {timeout:g} s "
                               "(the validator's limit): 'Timed Out'", example=shown))
            return out, False
        if exc is not None:
            note("validator-exception", (type(exc).__name__, str(exc)), name, shown,
                 f"reward_function raised {type(exc).__name__}: {exc} (the validator's params "
                 "differ from the simulator's: waypoints is a numpy array of the inner border, "
                 "projection_distance is missing, is_reversed is True, heading 359.9, steps up "
                 "to 10000, speed up to 5.0)", _exc_line(exc, path))
        elif not isinstance(value, float):
            note("validator-return-type", type(value).__name__, name, shown,
                 f"reward_function returned {value!r} ({type(value).__name__}); the validator "
                 "requires a float ('Method returned non-floating type value'): return "
                 "float(reward)")
        elif not REWARD_MIN <= value <= REWARD_MAX:
            note("validator-range", None, name, shown,
                 f"reward_function returned {value!r}, outside [{REWARD_MIN:g}, "
                 f"{REWARD_MAX:g}] ('Reward score out of range')")
    for (code, _), (names, params, line, text) in grouped.items():
        which = ", ".join(f"'{n}'" for n in names)
        out.append(Finding(ERROR, code, f"with the validator's {which} params {text}", line,
                           example=params, count=len(names)))
    return out, True


# ---------------------------------------------------------------------------------------------
# stage 3: sampled run


class _RecordingParams(dict):
    """A params dict that records which keys the reward function reads."""

    __slots__ = ("read",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key) -> bool:
        self.read.add(key)
        return super().__contains__(key)

    def _all(self) -> None:
        self.read.update(super().keys())

    def keys(self):
        self._all()
        return super().keys()

    def values(self):
        self._all()
        return super().values()

    def items(self):
        self._all()
        return super().items()

    def __iter__(self):
        self._all()
        return super().__iter__()

    def copy(self):
        self._all()
        return dict(self)


def sample_params(track: Track, action_space: ActionSpace, n: int = DEFAULT_SAMPLES,
                  seed: int = 0) -> list[dict]:
    """``n`` params dicts over the whole track, from the simulator's geometry.

    Sample ``i`` drives direction ``i % 2`` (both directions) with action ``(i // 2) % K``
    (every action; continuous spaces: uniform over the ranges); the first ``2 K`` samples sit
    on the centre line, aligned with the track at the start of the episode (the most common
    state); the others at a uniform point along the track, a sideways offset uniform across the
    track (80 %) or 1 to 1.6 half-widths off to either side (20 %), a heading within ~20
    degrees of the track direction (a quarter anywhere), a progress uniform in [0, 100) (2 %
    exactly 100: lap complete) with the matching episode start point, and steps uniform in
    2..1000.
    """
    rng = np.random.default_rng(seed)
    length = track.length
    k = len(action_space)
    idx = np.arange(n)
    direction = idx % 2
    # actions
    if action_space.continuous:  # actions = [[steer lo, hi], [speed lo, hi]]
        (steer_lo, steer_hi), (speed_lo, speed_hi) = action_space.actions.tolist()
        steer = rng.uniform(steer_lo, steer_hi, n)
        speed = rng.uniform(speed_lo, speed_hi, n)
        n_first = min(n, 20)
    else:
        steer = action_space.actions[(idx // 2) % k, 0]
        speed = action_space.actions[(idx // 2) % k, 1]
        n_first = min(n, 2 * k)
    # position, heading offset, progress, steps
    s = rng.uniform(0.0, length, n)
    side = np.where(rng.random(n) < 0.5, 1.0, -1.0)
    offset = np.where(rng.random(n) < 0.8, rng.uniform(-1.0, 1.0, n),
                      side * rng.uniform(1.0, 1.6, n))
    heading_off = np.where(rng.random(n) < 0.75, rng.normal(0.0, 20.0, n),
                           rng.uniform(-180.0, 180.0, n))
    progress = np.where(rng.random(n) < 0.02, 100.0, rng.uniform(0.0, 100.0, n))
    steps = rng.integers(2, 1001, n).astype(np.float64)
    first = idx < n_first  # on the centre line, aligned, first call of an episode
    s[first] = np.where(idx[first] >= 2, (idx[first] // 2) * length / max(k, 10), 0.0) % length
    offset[first] = 0.0
    heading_off[first] = 0.0
    steps[first] = 2.0
    out = []
    for d in (0, 1):
        sel = np.flatnonzero(direction == d)
        lines = track.arrays.lines[d]
        cum = track.arrays.cum[d]
        centre, inner, outer = lines[0], lines[1], lines[2]
        seg = np.clip(np.searchsorted(cum, s[sel], side="right") - 1, 0, len(centre) - 2)
        seg_len = cum[seg + 1] - cum[seg]
        t = np.where(seg_len > 0, (s[sel] - cum[seg]) / np.where(seg_len > 0, seg_len, 1.0), 0.0)
        point = centre[seg] + t[:, None] * (centre[seg + 1] - centre[seg])
        # tangent of the first segment of positive length at or after seg
        fwd = seg.copy()
        for _ in range(len(centre)):
            zero = cum[fwd + 1] - cum[fwd] <= 0.0
            if not zero.any():
                break
            fwd = np.where(zero, (fwd + 1) % (len(centre) - 1), fwd)
        tangent = centre[fwd + 1] - centre[fwd]
        tangent /= np.hypot(tangent[:, 0], tangent[:, 1])[:, None]
        half = 0.5 * np.hypot(*(outer[seg] - inner[seg]).T)
        px = point[:, 0] - tangent[:, 1] * offset[sel] * half
        py = point[:, 1] + tangent[:, 0] * offset[sel] * half
        heading = np.degrees(np.arctan2(tangent[:, 1], tangent[:, 0])) + heading_off[sel]
        heading = (heading + 180.0) % 360.0 - 180.0
        prog = progress[sel]
        start = np.where(prog >= 100.0, s[sel] - 0.01, s[sel] - prog / 100.0 * length) % length
        prev = np.where(prog >= 100.0, 99.9, prog)  # 100: the start line was just crossed
        start[first[sel]] = 0.0
        prev[first[sel]] = 0.0
        for j, i in enumerate(sel.tolist()):
            out.append((i, reward_params(
                track, float(px[j]), float(py[j]), float(heading[j]), speed=float(speed[i]),
                steering_angle=float(steer[i]), steps=float(steps[i]),
                start_distance=float(start[j]), prev_progress=float(prev[j]),
                reversed=bool(d))))
    out.sort(key=lambda item: item[0])
    return [p for _, p in out]


class _Budget(Exception):
    pass


def sampled_run(fn, path: Path, samples: list[dict], *, slow_call: float = SLOW_CALL,
                time_budget: float = 60.0, record_keys: int = 300
                ) -> tuple[list[Finding], np.ndarray, Timing, list[str] | None]:
    """Stage 3. Returns (findings, rewards of the calls that returned a finite number,
    timing, keys read)."""
    out: list[Finding] = []
    groups: dict[tuple, list] = {}  # (code, detail) -> [count, example, line, message]

    def note(code: str, key, message: str, example: dict, line: int | None = None) -> None:
        g = groups.get((code, key))
        if g is None:
            groups[(code, key)] = [1, example, line, message]
        else:
            g[0] += 1

    times = np.zeros(len(samples))
    rewards = np.full(len(samples), np.nan)
    keys_read: set[str] = set()
    n_done = 0
    started = time.perf_counter()
    use_alarm = threading.current_thread() is threading.main_thread() and hasattr(
        signal, "setitimer")
    old_handler = None
    if use_alarm:
        def on_alarm(signum, frame):
            raise _Budget()

        old_handler = signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, time_budget + VALIDATOR_TIMEOUT)
    stopped = None
    try:
        for i, base in enumerate(samples):
            params = _RecordingParams(base) if i < record_keys else dict(base)
            t0 = time.perf_counter()
            try:
                value = fn(params)
            except _Budget:
                stopped = f"a call was still running after {time_budget:g} s"
                break
            except Exception as exc:
                times[i] = time.perf_counter() - t0
                line = _exc_line(exc, path)
                note("exception", (type(exc).__name__, line),
                     f"reward_function raised {type(exc).__name__}: {exc} (the training job "
                     "stops on an exception)", base, line)
                n_done = i + 1
                continue
            times[i] = time.perf_counter() - t0
            n_done = i + 1
            if isinstance(params, _RecordingParams):
                keys_read |= params.read
            if not isinstance(value, numbers.Real):
                note("non-numeric", type(value).__name__,
                     f"reward_function returned {value!r} ({type(value).__name__}), not a "
                     "number (the training job stops)", base)
                continue
            reward = float(value)
            if not isinstance(value, float):
                note("non-float", type(value).__name__,
                     f"reward_function returned {value!r} ({type(value).__name__}), not a "
                     "float: training converts it, but DeepRacer's validator rejects a "
                     "non-float on its own params; return float(reward)", base)
            if not math.isfinite(reward):
                note("nan-inf", None, f"reward_function returned {reward} (the training job "
                     "stops on NaN/inf)", base)
                continue
            if not REWARD_MIN <= reward <= REWARD_MAX:
                note("out-of-range", None, f"reward_function returned {reward:g}, outside "
                     f"[{REWARD_MIN:g}, {REWARD_MAX:g}] (the training job stops: 'Reward "
                     "score out of range')", base)
                continue
            rewards[i] = reward
            if reward == 0.0:
                note("zero-reward", None, "reward_function returned 0.0 (AWS's guidance: PPO "
                     "learns poorly from rewards of exactly 0; return a small positive floor "
                     "such as 1e-3)", base)
            elif reward < 0.0:
                note("negative-reward", None, f"reward_function returned {reward:g} < 0 "
                     "(negative rewards push the car to end episodes early, e.g. by leaving "
                     "the track)", base)
            if time.perf_counter() - started > time_budget:
                stopped = f"the time budget of {time_budget:g} s ran out"
                break
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_handler)
    n = max(n_done, 1)
    for (code, _), (count, example, line, message) in groups.items():
        severity = WARNING if code in ("non-float", "zero-reward", "negative-reward") else ERROR
        out.append(Finding(severity, code, f"{message}; on {count} of {n} sampled params "
                           f"dicts ({100.0 * count / n:.1f} %)", line, example, count))
    if stopped:
        out.append(Finding(WARNING, "incomplete", f"sampling stopped after {n_done} of "
                           f"{len(samples)} params dicts: {stopped}"))
    done_times = times[:n_done]
    timing = Timing(n_done, *(float(np.percentile(done_times, q)) for q in (50, 99)),
                    float(done_times.max()) if n_done else 0.0, float(done_times.sum())) \
        if n_done else Timing()
    finite = rewards[:n_done][np.isfinite(rewards[:n_done])]
    if timing.p99 > slow_call:
        slowest = int(np.argmax(done_times))
        out.append(Finding(WARNING, "slow", f"slow reward function: p99 {_fmt_s(timing.p99)} "
                           f"per call (max {_fmt_s(timing.max)}); DeepRacer steps at 15 Hz and "
                           f"local training calls it for every step of every car; keep it under "
                           f"{_fmt_s(slow_call)}", example=samples[slowest]))
    if len(finite) >= 2 and np.all(finite == finite[0]):
        out.append(Finding(WARNING, "no-dependence", f"the reward is {finite[0]:g} for every "
                           f"sampled params dict: it does not depend on any params key, so it "
                           "teaches the car nothing", example=samples[0]))
    elif n_done and not keys_read and record_keys:
        out.append(Finding(WARNING, "no-dependence", "reward_function reads no params key"))
    keys = sorted(keys_read, key=lambda k: PARAM_KEYS.index(k) if k in PARAM_KEYS else 99)
    # determinism: the same params twice
    if n_done:
        for base in samples[:min(50, n_done)]:
            try:
                a, b = fn(dict(base)), fn(dict(base))
            except Exception:
                continue
            if isinstance(a, numbers.Real) and isinstance(b, numbers.Real) and not (
                    a == b or (a != a and b != b)):
                out.append(Finding(WARNING, "non-deterministic", f"two calls with the same "
                                   f"params returned {a!r} and {b!r} (e.g. random): replay "
                                   "cannot reproduce such a reward", example=base))
                break
    return out, finite, timing, keys


# ---------------------------------------------------------------------------------------------


def check_reward(path: str | Path, track: Track, action_space: ActionSpace, *,
                 samples: int = DEFAULT_SAMPLES, seed: int = 0, lint_backend: str = "auto",
                 validator_timeout: float = VALIDATOR_TIMEOUT, slow_call: float = SLOW_CALL,
                 time_budget: float = 60.0) -> CheckReport:
    """Run the three stages on a reward file (see the module docstring).

    Raises:
        RewardFunctionError: the file does not exist.
    """
    t0 = time.perf_counter()
    path = Path(path)
    if not path.is_file():
        raise RewardFunctionError(f"reward file {path} does not exist")
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
