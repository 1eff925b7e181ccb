"""The sweep spec (``deepracer-sim sweep SPEC.yaml``): parsing, validation and the trial list.

A spec is a YAML mapping::

    track: reinvent_base            # fixed keys: any option of `deepracer-sim train`
    timesteps: 20000
    lr: 0.0005                      # or any DeepRacer hyperparameter (hyperparameters.json key)
    grid:                           # every combination is one trial, the last key fastest
      reward: [rewards/center.py, rewards/speed.py]
      seed: [0, 1]

or, instead of ``grid``, a ``search`` (``method`` random | optuna, ``samples``, ``seed``, ``metric``
of :data:`METRICS`, ``mode``, ``space`` of :data:`DISTRIBUTIONS`, ``early_stopping``; see docs).

The keys are the ``dest`` names of the train command's options (dashes or underscores), read
from its own argparse parser (:class:`TrainOptions`), so a new train option is a spec key with
nothing to add here; values are checked against the option's type, and a trial's options are
the train command's defaults plus the spec's values. ``out``, ``render`` and
``no_progress_bar`` are the sweep's own business and refused. DeepRacer hyperparameters given
inline (the keys of :data:`deepracer_sim.formats.hyperparameters.KNOWN_KEYS`) override the
``hyperparameters`` file (or the defaults) of the trial.

Relative paths (``path`` options such as ``reward``, ``action_space``, ``hyperparameters``,
``clone``, and a ``track`` given as a ``.npy`` path) resolve against the directory the command
runs in, and must exist. ``track`` may name several tracks, comma-separated (``"a,b"``: the
trial trains on both, as ``deepracer-sim train --track a,b``), also as grid values.

``holdout_tracks`` (:data:`HOLDOUT_KEY`, a fixed key only: a list of track names or ``.npy``
paths) are tracks no trial trains on: after training, each trial evaluates its best checkpoint
on each of them (before the final evaluation on its training track), and ``compare`` shows the
results beside the training track's.

``seconds`` (``train --seconds``, a fixed key or an axis) is each trial's training budget in
wall-clock seconds (with ``timesteps``: whichever ends first). ``search.early_stopping: asha``
(or ``{method: asha, grace_period: 4, reduction_factor: 3}``, in iterations) stops hopeless
trials early with Ray Tune's ASHA on the search's metric (:class:`EarlyStopping`).

Errors are :class:`~deepracer_sim.errors.SweepSpecError` naming the spec file, the key and the
fix.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import inspect
import itertools
import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from deepracer_sim.errors import SweepSpecError, TrackError
from deepracer_sim.formats.hyperparameters import (
    KNOWN_KEYS,
    RANGES,
    check_hyperparameters_dict,
)
from deepracer_sim.formats.problems import errors
from deepracer_sim.track.lookup import load_track, looks_like_path, split_track_list
from deepracer_sim.training.config import TrainConfig

#: Train options a sweep sets itself: dest -> why (with the fix).
SWEEP_OWNED = {
    "out": "the sweep writes each trial into <sweep folder>/<trial name>; give --out to the "
           "sweep command instead",
    "render": "trials run in background processes; watch a trial afterwards with "
              "deepracer-sim evaluate RUN --render",
    "no_progress_bar": "trials never draw a progress bar; the sweep shows a table of trials",
}
#: The spec key of the tracks every trial is evaluated on after training and never trains on.
HOLDOUT_KEY = "holdout_tracks"
#: What a trial reports after every iteration, and the direction that is better. ``score`` is
#: the mean evaluation progress (%) plus 100 / the mean evaluation lap time (s) when every
#: evaluation lap completes: above 100 exactly when all complete, then higher for faster laps
#: (DeepRacer's best-model rule, progress then lap time, as one number).
METRICS: dict[str, str] = {
    "score": "max", "best_score": "max", "eval_progress": "max", "best_eval_progress": "max",
    "eval_lap_time": "min", "best_eval_lap_time": "min", "mean_reward": "max",
}
SEARCH_METHODS = ("random", "optuna")
DISTRIBUTIONS = ("uniform", "loguniform", "randint", "choice")
SEARCH_KEYS = ("method", "samples", "seed", "metric", "mode", "space", "early_stopping")
#: A spec that works as written (shown when a spec is not a mapping).
EXAMPLE = """\
track: reinvent_base
timesteps: 20000
grid:
  reward: [rewards/center.py, rewards/speed.py]
  seed: [0, 1]
"""
#: The longest trial (run folder) name.
MAX_NAME = 100


@dataclass(frozen=True)
class Option:
    """One train option: ``dest`` (the spec key), its ``flag``, ``kind`` (path, int, float,
    str or flag), argparse ``default``, whether it is ``required`` and its ``help``."""

    dest: str
    flag: str
    kind: str
    default: Any
    required: bool
    help: str
    check: Callable[[str], Any] | None = None


_KINDS: dict[Any, str] = {Path: "path", int: "int", float: "float", None: "str"}


def _checked_kind(parse: Any) -> str | None:
    """"int" or "float" for an argparse ``type=`` callable that checks a number (the train
    command's range checks: its return annotation says which), else None."""
    try:
        returns = inspect.signature(parse).return_annotation
    except (TypeError, ValueError):
        return None
    return {int: "int", "int": "int", float: "float", "float": "float"}.get(returns)


#: Options whose parser default is None (so that ``train --resume`` sees what was given) and
#: whose value a new run takes from :class:`TrainConfig`.
DEFAULTS_FROM_CONFIG = ("n_envs", "n_steps", "seed")
#: Options a trial needs although ``train`` does not require them (``--resume`` runs without).
REQUIRED = ("reward",)


@dataclass
class TrainOptions:
    """The train command's options, read from its argparse parser (the one list of them).

    Attributes:
        options: dest -> :class:`Option`, without :data:`SWEEP_OWNED`.
        defaults: dest -> default of every option of the parser (owned ones included), the
            values a trial's namespace starts from.
    """

    options: dict[str, Option]
    defaults: dict[str, Any]

    @classmethod
    def from_parser(cls, parser: argparse.ArgumentParser) -> TrainOptions:
        """Read the options of ``parser`` (``deepracer-sim train``'s ``add_arguments``).

        Raises:
            TypeError: an option whose type is not Path, int, float, str or a flag.
        """
        options: dict[str, Option] = {}
        defaults: dict[str, Any] = {}
        for action in parser._actions:
            if not action.option_strings or action.dest == "help":
                continue
            default = action.default
            if default is None and action.dest in DEFAULTS_FROM_CONFIG:
                default = getattr(TrainConfig, action.dest)  # shown as None for --resume
            defaults[action.dest] = default
            if action.dest in SWEEP_OWNED:
                continue
            check = None
            if action.nargs == 0 and action.const is True:
                kind = "flag"
            elif action.type in _KINDS:
                kind = _KINDS[action.type]
            elif _checked_kind(action.type) is not None:
                kind = str(_checked_kind(action.type))
                check = action.type if callable(action.type) else None
            else:
                raise TypeError(f"train option {action.option_strings[0]}: type "
                                f"{action.type!r} is not one a sweep spec can set")
            options[action.dest] = Option(action.dest, action.option_strings[0], kind,
                                          default,
                                          bool(action.required) or action.dest in REQUIRED,
                                          action.help or "", check)
        return cls(options, defaults)

    def namespace(self, params: dict[str, Any], **owned: Any) -> argparse.Namespace:
        """The train command's arguments of a trial: the defaults, then ``params`` (train
        options; hyperparameter keys are left out), then ``owned`` (e.g. ``out=...``)."""
        values = dict(self.defaults)
        for key, value in params.items():
            opt = self.options.get(key)
            if opt is not None:
                values[key] = Path(value) if opt.kind == "path" and value is not None else value
        values.update(owned)
        return argparse.Namespace(**values)


@dataclass(frozen=True)
class Distribution:
    """A search axis: ``kind`` in :data:`DISTRIBUTIONS`; ``args`` (low, high) for uniform and
    loguniform (floats) and randint (integers, both included), or the choices."""

    kind: str
    args: tuple


@dataclass(frozen=True)
class EarlyStopping:
    """``search.early_stopping``: ASHA (the only method) with its ``grace_period`` (iterations
    every trial runs before it can be stopped) and ``reduction_factor`` (1 in that many trials
    goes on at each rung)."""

    method: str = "asha"
    grace_period: int = 4
    reduction_factor: int = 3


@dataclass
class Search:
    """The ``search`` section (see the module docstring)."""

    method: str
    samples: int
    seed: int
    metric: str
    mode: str
    space: dict[str, Distribution]
    early_stopping: EarlyStopping | None = None


@dataclass
class SweepSpec:
    """A parsed spec: ``fixed`` keys of every trial, the ``grid`` (key -> values) or the
    ``search``; paths are absolute. ``source``: the spec file."""

    source: str
    fixed: dict[str, Any]
    grid: dict[str, list[Any]] = field(default_factory=dict)
    search: Search | None = None

    @property
    def axes(self) -> list[str]:
        """The keys that vary between trials."""
        return list(self.search.space) if self.search is not None else list(self.grid)

    def fingerprint(self) -> str:
        """A hash of everything that decides the trials (16 hex digits)."""
        search = None
        if self.search is not None:
            s = self.search
            search = {"method": s.method, "samples": s.samples, "seed": s.seed,
                      "metric": s.metric, "mode": s.mode,
                      "space": {k: [d.kind, list(d.args)] for k, d in s.space.items()}}
            if s.early_stopping is not None:  # absent otherwise: older sweep folders resume
                e = s.early_stopping
                search["early_stopping"] = [e.grace_period, e.reduction_factor]
        text = json.dumps({"fixed": self.fixed, "grid": self.grid, "search": search},
                          sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def record(self) -> dict[str, Any]:
        """What ``sweep.json`` holds: the fingerprint, the spec file, fixed keys and axes."""
        return {"fingerprint": self.fingerprint(), "source": self.source, "fixed": self.fixed,
                "grid": self.grid, "axes": self.axes,
                "search": None if self.search is None else self.search.method}


@dataclass
class TrialSpec:
    """One trial: its name (the run folder's, unique in the sweep) and its settings (train
    options and hyperparameters)."""

    name: str
    params: dict[str, Any]


# ---------------------------------------------------------------------------------------------
def load_spec(path: str | Path, options: TrainOptions, cwd: str | Path | None = None) -> SweepSpec:
    """Read and check a sweep spec file.

    Args:
        path: the YAML file.
        options: the train command's options (:meth:`TrainOptions.from_parser`).
        cwd: the folder relative paths resolve against (default: the current directory).

    Raises:
        SweepSpecError: a missing file, invalid YAML (with its line) or an invalid key or value.
    """
    path = Path(path)
    if not path.is_file():
        raise SweepSpecError(f"{path}: sweep spec not found; write a YAML file such as\n"
                             f"{EXAMPLE}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise SweepSpecError(f"{path}{where}: invalid YAML: "
                             f"{getattr(exc, 'problem', None) or exc}; fix the syntax") from None
    return SpecParser(options, str(path), Path(cwd) if cwd is not None else Path.cwd()).parse(data)


@dataclass
class SpecParser:
    """Checks a loaded spec against the train options (see :func:`load_spec`)."""

    options: TrainOptions
    source: str
    cwd: Path

    def fail(self, where: str, message: str) -> SweepSpecError:
        return SweepSpecError(f"{self.source}: {where}: {message}")

    def parse(self, data: Any) -> SweepSpec:
        if not isinstance(data, dict):
            raise SweepSpecError(f"{self.source}: expected a mapping of keys, e.g.\n{EXAMPLE}")
        fixed: dict[str, Any] = {}
        grid: dict[str, list[Any]] = {}
        search = None
        for raw, value in data.items():
            if raw == "grid":
                grid = self.grid(value)
            elif raw == "search":
                search = self.search(value)
            elif raw == HOLDOUT_KEY:
                fixed[HOLDOUT_KEY] = self.holdout(value)
            else:
                key = self.key(raw, str(raw))
                fixed[key] = self.value(key, value, key)
        if grid and search is not None:
            raise SweepSpecError(f"{self.source}: give either grid or search, not both; move "
                                 "the grid's keys into search.space as {choice: [...]}")
        axes = set(grid) | (set(search.space) if search is not None else set())
        for key in sorted(axes & set(fixed)):
            raise self.fail(key, "is both a fixed key and an axis; remove one of them")
        for opt in self.options.options.values():
            if opt.required and opt.dest not in fixed and opt.dest not in axes:
                raise self.fail(opt.dest, f"missing: every trial needs it ({opt.help}); add "
                                f"e.g. {opt.dest}: {_example(opt)} or a grid axis")
        return SweepSpec(self.source, fixed, grid, search)

    def key(self, raw: Any, where: str) -> str:
        if not isinstance(raw, str):
            raise self.fail(where, "keys must be strings")
        key = raw.strip().lstrip("-").replace("-", "_")
        if key in SWEEP_OWNED:
            raise self.fail(where, f"not allowed in a sweep: {SWEEP_OWNED[key]}")
        if key in ("grid", "search"):
            raise self.fail(where, f"{key} belongs at the top level of the spec")
        if key == HOLDOUT_KEY:
            raise self.fail(where, f"{key} is a fixed key (every trial is evaluated on the same "
                            f"held-out tracks); give it at the top level: {key}: [a, b]")
        if key not in self.options.options and key not in KNOWN_KEYS:
            close = difflib.get_close_matches(key, [*self.options.options, *KNOWN_KEYS], 3)
            hint = f"did you mean {' or '.join(close)}?" if close else (
                f"the train options: {', '.join(self.options.options)}; the hyperparameters: "
                f"{', '.join(KNOWN_KEYS)}")
            raise self.fail(where, "unknown key; use an option of deepracer-sim train or a "
                            f"DeepRacer hyperparameter ({hint})")
        return key

    def value(self, key: str, value: Any, where: str) -> Any:
        """``value`` checked against the key's type; paths made absolute."""
        opt = self.options.options.get(key)
        if opt is None:  # a DeepRacer hyperparameter
            found = errors(check_hyperparameters_dict({key: value}, self.source, training=True))
            if found:
                raise self.fail(where, f"{found[0].message}; {found[0].fix}")
            return value
        if opt.kind == "flag":
            if not isinstance(value, bool):
                raise self.fail(where, f"{value!r}: expected true or false ({opt.flag})")
            return value
        if opt.kind in ("int", "float"):
            return self.number(opt, value, where)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"{value!r}: expected a "
                            f"{'path' if opt.kind == 'path' else 'text value'} ({opt.help})")
        if key == "track":
            try:
                return ",".join(self.track(t, where) for t in split_track_list(value))
            except TrackError as exc:
                raise self.fail(where, str(exc)) from None
        if opt.kind == "path" or looks_like_path(value):
            return self.path(value, where)
        return value

    def path(self, value: str, where: str) -> str:
        path = (self.cwd / Path(value).expanduser()).resolve()
        if not path.exists():
            raise self.fail(where, f"{path} does not exist (relative paths resolve against "
                            f"{self.cwd}, the directory the command runs in)")
        return str(path)

    def track(self, value: str, where: str) -> str:
        """A track name as given, a ``.npy`` path made absolute (checked to exist)."""
        return self.path(value, where) if looks_like_path(value) else value

    def holdout(self, value: Any) -> list[str]:
        """The held-out tracks: a list (or a comma-separated text) of names or paths, each
        loaded here so that a typo stops the sweep before it starts."""
        where = HOLDOUT_KEY
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list) or not value \
                or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(where, "expected a non-empty list of track names or .npy paths, "
                            f"e.g. {where}: [2022_april_open, tracks/mine.npy]")
        tracks = [self.track(v.strip(), f"{where}[{i}]") for i, v in enumerate(value)]
        for i, name in enumerate(tracks):
            try:
                load_track(name)
            except TrackError as exc:
                raise self.fail(f"{where}[{i}]", str(exc)) from None
        return tracks

    def number(self, opt: Option, value: Any, where: str) -> int | float:
        integer = opt.kind == "int"
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or (integer and not float(value).is_integer()):
            raise self.fail(where, f"{value!r}: expected {'an integer' if integer else 'a number'}"
                            f" ({opt.help})")
        if opt.check is not None:  # the train command's own range check
            try:
                opt.check(str(int(value) if integer else float(value)))
            except argparse.ArgumentTypeError as exc:
                raise self.fail(where, f"{exc} ({opt.flag})") from None
        return int(value) if integer else float(value)

    def grid(self, value: Any) -> dict[str, list[Any]]:
        if not isinstance(value, dict) or not value:
            raise self.fail("grid", "expected a mapping of keys to lists of values, e.g. "
                            "grid: {seed: [0, 1]}")
        grid = {}
        for raw, values in value.items():
            where = f"grid.{raw}"
            key = self.key(raw, where)
            if not isinstance(values, list) or not values:
                raise self.fail(where, "expected a non-empty list of values, e.g. "
                                f"{key}: [{_example(self.options.options.get(key))}, ...]; a "
                                "single value goes outside grid as a fixed key")
            checked = [self.value(key, v, f"{where}[{i}]") for i, v in enumerate(values)]
            if len({json.dumps(v) for v in checked}) != len(checked):
                raise self.fail(where, "a value is repeated; give each value once (repeat "
                                "a trial with a seed axis)")
            grid[key] = checked
        return grid

    def search(self, value: Any) -> Search:
        if not isinstance(value, dict):
            raise self.fail("search", "expected a mapping with method, samples and space")
        for k in value:
            if k not in SEARCH_KEYS:
                raise self.fail(f"search.{k}", f"unknown key; search takes "
                                f"{', '.join(SEARCH_KEYS)}")
        method = value.get("method", "random")
        if method not in SEARCH_METHODS:
            raise self.fail("search.method", f"{method!r}: expected one of "
                            f"{', '.join(SEARCH_METHODS)} (a grid goes in grid:)")
        samples, seed = value.get("samples"), value.get("seed", 0)
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise self.fail("search.samples", f"{samples!r}: expected the number of trials, "
                            "an integer >= 1")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise self.fail("search.seed", f"{seed!r}: expected an integer")
        metric = value.get("metric", "best_score")
        if metric not in METRICS:
            raise self.fail("search.metric", f"{metric!r}: expected one of "
                            f"{', '.join(METRICS)}")
        mode = value.get("mode", METRICS[metric])
        if mode not in ("max", "min"):
            raise self.fail("search.mode", f"{mode!r}: expected max or min")
        space = value.get("space")
        if not isinstance(space, dict) or not space:
            raise self.fail("search.space", "expected a mapping such as "
                            "{lr: {loguniform: [1.0e-5, 1.0e-3]}}")
        axes = {}
        for raw, dist in space.items():
            key = self.key(raw, f"search.space.{raw}")
            axes[key] = self.distribution(key, dist, f"search.space.{raw}")
        stopping = value.get("early_stopping")
        return Search(method, samples, seed, metric, mode, axes,
                      None if stopping is None else self.early_stopping(stopping))

    def early_stopping(self, value: Any) -> EarlyStopping:
        """``asha`` or ``{method: asha, grace_period: N, reduction_factor: R}``."""
        where = "search.early_stopping"
        value = {"method": value} if isinstance(value, str) else value
        if not isinstance(value, dict) or value.get("method", "asha") != "asha" \
                or set(value) - {"method", "grace_period", "reduction_factor"}:
            raise self.fail(where, f"{value!r}: expected asha or {{method: asha, grace_period: "
                            "4, reduction_factor: 3} (grace in iterations; 1 trial in 3 goes on)")
        grace = value.get("grace_period", EarlyStopping.grace_period)
        factor = value.get("reduction_factor", EarlyStopping.reduction_factor)
        for name, v, lo in (("grace_period", grace, 1), ("reduction_factor", factor, 2)):
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise self.fail(f"{where}.{name}", f"{v!r}: expected an integer >= {lo}")
        return EarlyStopping("asha", grace, factor)

    def distribution(self, key: str, dist: Any, where: str) -> Distribution:
        if not isinstance(dist, dict) or len(dist) != 1:
            raise self.fail(where, "expected one of {uniform|loguniform|randint: [low, high]} "
                            "or {choice: [values]}")
        ((kind, args),) = dist.items()
        if kind not in DISTRIBUTIONS:
            raise self.fail(f"{where}.{kind}", f"unknown distribution; use "
                            f"{', '.join(DISTRIBUTIONS)}")
        if not isinstance(args, list) or not args:
            raise self.fail(f"{where}.{kind}", "expected a list")
        if kind == "choice":
            return Distribution(kind, tuple(self.value(key, v, f"{where}.choice[{i}]")
                                            for i, v in enumerate(args)))
        opt = self.options.options.get(key)
        numeric = opt.kind if opt is not None else \
            {int: "int", float: "float"}.get(RANGES[key][0]) if key in RANGES else None
        if numeric not in ("int", "float") or (kind == "randint" and numeric != "int"):
            raise self.fail(f"{where}.{kind}", f"{key} is not "
                            f"{'an integer' if kind == 'randint' else 'a number'}; use "
                            "{choice: [...]}")
        if len(args) != 2:
            raise self.fail(f"{where}.{kind}", "expected [low, high]")
        lo, hi = (self.value(key, v, f"{where}.{kind}") for v in args)
        if kind == "randint" and not (float(lo).is_integer() and float(hi).is_integer()):
            raise self.fail(f"{where}.{kind}", "expected integer bounds")
        if not lo < hi or (kind == "loguniform" and lo <= 0):
            raise self.fail(f"{where}.{kind}", "need low < high"
                            + (" and low > 0" if kind == "loguniform" else "")
                            + f", got [{lo}, {hi}]")
        return Distribution(kind, (int(lo), int(hi)) if kind == "randint"
                            else (float(lo), float(hi)))


def _example(opt: Option | None) -> str:
    if opt is None:
        return "0.0003"
    return {"path": "a.py" if opt.dest == "reward" else "a.json", "int": "1", "float": "0.5",
            "flag": "true", "str": "reinvent_base"}[opt.kind]


# ---------------------------------------------------------------------------------------------
def grid_trials(spec: SweepSpec) -> list[TrialSpec]:
    """The full grid as trials ``NNN-key=value-...``, the last grid key varying fastest (a
    spec without grid and search is one trial, ``000``)."""
    keys = list(spec.grid)
    combos = list(itertools.product(*(spec.grid[k] for k in keys)))
    width = max(3, len(str(len(combos) - 1)))
    return [TrialSpec(trial_name(i, dict(zip(keys, combo, strict=True)), width),
                      {**spec.fixed, **dict(zip(keys, combo, strict=True))})
            for i, combo in enumerate(combos)]


def random_trials(spec: SweepSpec) -> list[TrialSpec]:
    """``search.samples`` points drawn with ``numpy.random.default_rng(search.seed)``: the same
    spec always gives the same trials, so an interrupted random search resumes like a grid."""
    if spec.search is None:
        raise ValueError("random_trials needs a spec with a search section")
    rng = np.random.default_rng(spec.search.seed)
    width = max(3, len(str(spec.search.samples - 1)))
    trials = []
    for i in range(spec.search.samples):
        point = {k: sample(d, rng) for k, d in spec.search.space.items()}
        trials.append(TrialSpec(trial_name(i, point, width), {**spec.fixed, **point}))
    return trials


def planned_trials(spec: SweepSpec) -> list[TrialSpec] | None:
    """The trials of a grid or random search; None for optuna (its trials are proposed while
    the sweep runs)."""
    if spec.search is None:
        return grid_trials(spec)
    if spec.search.method == "random":
        return random_trials(spec)
    return None


def sample(dist: Distribution, rng: np.random.Generator) -> Any:
    """One value of ``dist`` drawn with ``rng``."""
    if dist.kind == "uniform":
        return float(rng.uniform(*dist.args))
    if dist.kind == "loguniform":
        lo, hi = dist.args
        return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
    if dist.kind == "randint":
        return int(rng.integers(dist.args[0], dist.args[1] + 1))
    return dist.args[int(rng.integers(len(dist.args)))]


def trial_name(index: int, varying: dict[str, Any], width: int = 3) -> str:
    """``NNN-key=value-...``: the index keeps names unique and in order, the values make them
    readable (paths by their file stem, floats to 4 significant digits); at most
    :data:`MAX_NAME` characters."""
    parts = [f"{index:0{width}d}"]
    for key, value in varying.items():
        if isinstance(value, str) and (os.path.isabs(value)
                                       or value.endswith((".py", ".json", ".npy"))):
            value = Path(value).stem
        if isinstance(value, float):
            value = f"{value:.4g}"
        parts.append(f"{key}={re.sub(r'[^A-Za-z0-9._+]+', '_', str(value))}")
    return "-".join(parts)[:MAX_NAME]
