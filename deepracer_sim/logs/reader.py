"""Reading a run's logs: the local layout, deepracer-for-cloud single/multi-worker, DeepRacer-on-AWS
and console downloads (17, 18 or 19 sim-trace columns), TrainingMetrics / EvaluationMetrics JSON
and the text logs."""

from __future__ import annotations

import contextlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepracer_sim.errors import RunFolderError
from deepracer_sim.formats.run_folder import (
    CLOUD_SIMTRACE_DIR,
    EVALUATION_DIR_PREFIX,
    EVALUATION_METRICS_PREFIX,
    EVALUATION_SIMTRACE_DIR,
    EVALUATION_SUBDIR,
    LOGS_DIR,
    METRICS_DIR,
    SIMTRACE_SUFFIX,
    TRAINING_METRICS,
    TRAINING_SIMTRACE_DIR,
    TRAINING_SUBDIR,
    RunFolder,
)
from deepracer_sim.formats.simtrace import read_simtrace


# ------------------------------------------------------------------------------------------
# reader
# ------------------------------------------------------------------------------------------
@dataclass
class Trace:
    """Sim-trace rows of one stream: the CSV columns (``read_simtrace`` names and types) plus
    ``iteration`` (from the file name) and ``worker`` (from a DRfC worker folder, else 0),
    sorted by worker, iteration, episode and step; ``episodes``: :func:`episode_table`."""

    name: str
    columns: dict[str, np.ndarray]
    episodes: dict[str, np.ndarray]
    files: list[Path] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.columns.get("episode", ()))


@dataclass
class RunLogs:
    """Everything :func:`read_run` found in a run folder (any of them may be empty/None).

    Attributes:
        layout: "drfc-single", "drfc-multi", "droa", "console" or "none" (no training trace).
        training: the training trace; evaluations: one trace per evaluation run.
        training_metrics: TrainingMetrics entries with ``worker`` and the ``iteration``
            deepracer-utils derives (``(episode - 1) // max(trial)`` per file).
        evaluation_metrics: {stream name: entries}.
        iterations: ``metrics/iterations.jsonl`` lines (this project's trainer).
        policy: per-iteration "Policy training>" values (entropy, kl, surrogate) from text logs.
        world_name: WORLD_NAME from a text log, if any.
    """

    root: Path
    layout: str
    training: Trace | None
    evaluations: list[Trace]
    training_metrics: list[dict]
    evaluation_metrics: dict[str, list[dict]]
    hyperparameters: dict | None
    model_metadata: dict | None
    run_config: dict | None
    checkpoints: dict | None
    iterations: list[dict]
    policy: list[dict]
    world_name: str | None


_ITER_RE = re.compile(rf"^(\d+){re.escape(SIMTRACE_SUFFIX)}$")
#: ``TrainingMetrics_<worker>.json`` (deepracer-for-cloud, several workers)
_METRICS_STEM = TRAINING_METRICS.removesuffix(".json")
_WORKER_METRICS_RE = re.compile(rf"{_METRICS_STEM}_(\d+)\.json$")


def _iteration_of(path: Path) -> int:
    m = _ITER_RE.match(path.name)
    return int(m.group(1)) if m else 0


def _concat_traces(parts: list[tuple[dict, int, int, str]]) -> dict[str, np.ndarray]:
    """Concatenate read_simtrace dicts (with their iteration, worker, stream) into one."""
    names: list[str] = []
    for cols, _, _, _ in parts:
        for name in cols:
            if name not in names:
                names.append(name)
    out: dict[str, list] = {name: [] for name in names}
    out.update(iteration=[], worker=[], stream=[])
    for cols, it, worker, stream in parts:
        m = len(cols["episode"])
        for name in names:
            if name in cols:
                out[name].append(cols[name])
            else:
                fill = np.zeros(m, bool) if name in ("done", "all_wheels_on_track") else \
                    np.full(m, np.nan) if name not in ("action", "episode_status") else \
                    np.full(m, "", dtype=object)
                out[name].append(fill)
        out["iteration"].append(np.full(m, it, np.int64))
        out["worker"].append(np.full(m, worker, np.int64))
        out["stream"].append(np.full(m, stream, dtype=object))
    res = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in out.items()}
    if len(res["episode"]):
        order = np.lexsort((res["steps"], res["episode"], res["iteration"], res["worker"]))
        res = {k: v[order] for k, v in res.items()}
    return res


def rows_on_track(trace: Trace, track_len: float) -> tuple[Trace, int]:
    """The rows of ``trace`` driven on a track of centre-line length ``track_len`` (m), and
    how many rows were left out: a run trained on several tracks (``train --track A,B``)
    logs every car's rows, each with its own track's ``track_len``. ``trace`` itself when all
    rows (or none) match, or it has no ``track_len`` column.

    A row matches when its ``track_len`` is within 0.1 % of ``track_len``.
    """
    lengths = trace.columns.get("track_len")
    if lengths is None or not len(lengths) or not np.isfinite(track_len):
        return trace, 0
    keep = np.abs(lengths - track_len) <= 1e-3 * track_len
    if keep.all() or not keep.any():
        return trace, 0
    cols = {k: v[keep] for k, v in trace.columns.items()}
    return Trace(trace.name, cols, episode_table(cols), trace.files), int((~keep).sum())


def episode_table(cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One row per episode, as deepracer-utils' ``simulation_agg`` computes it.

    Episodes are keyed by (worker, iteration, episode); ``time`` is the sum of ``tstamp``
    steps with the step arriving at a ``prepare`` row (the reset gap) left out -- so an
    evaluation lap without a ``prepare`` row (cloud evaluations drive on) includes the step
    from the previous lap's last row, as in deepracer-utils.

    Returns:
        {worker, iteration, episode, steps, start_at, progress (final), max_progress, time,
        reward (sum), speed (mean throttle), complete (progress == 100), status (final),
        first, last (row indices)}.
    """
    n = len(cols.get("episode", ()))
    if n == 0:
        return {k: np.zeros(0) for k in ("worker", "iteration", "episode", "steps", "start_at",
                                         "progress", "max_progress", "time", "reward", "speed",
                                         "complete", "first", "last")} | {"status": np.zeros(0,
                                                                                           object)}
    worker, it, ep = cols["worker"], cols["iteration"], cols["episode"]
    new = np.r_[True, (worker[1:] != worker[:-1]) | (it[1:] != it[:-1]) | (ep[1:] != ep[:-1])]
    first = np.flatnonzero(new)
    last = np.r_[first[1:], n] - 1
    status = cols["episode_status"]
    ts = cols["tstamp"]
    delta = np.r_[0.0, np.diff(ts)]
    same_stream = np.r_[False, (worker[1:] == worker[:-1]) & (it[1:] == it[:-1])
                        & (cols["stream"][1:] == cols["stream"][:-1])]
    delta[(status == "prepare") | ~same_stream] = 0.0
    reward = cols.get("reward", np.zeros(n))
    speed = cols.get("throttle", np.zeros(n))
    counts = last - first + 1
    progress = cols["progress"][last]
    max_progress = np.maximum.reduceat(cols["progress"], first)
    return {
        "worker": worker[first], "iteration": it[first], "episode": ep[first],
        "steps": counts, "start_at": cols["closest_waypoint"][first],
        "progress": progress, "max_progress": max_progress,
        "time": np.add.reduceat(delta, first), "reward": np.add.reduceat(reward, first),
        "speed": np.add.reduceat(speed, first) / counts,
        "complete": max_progress == 100.0, "status": status[last],
        "first": first, "last": last,
    }


def _read_trace(name: str, files: list[tuple[Path, int, int, str]]) -> Trace | None:
    if not files:
        return None
    parts = [(read_simtrace(path), it, worker, stream) for path, it, worker, stream in files]
    cols = _concat_traces(parts)
    return Trace(name, cols, episode_table(cols), [f[0] for f in files])


def _json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _training_files(root: Path) -> tuple[str, list[tuple[Path, int, int, str]]]:
    def files_in(folder: Path, worker: int) -> list[tuple[Path, int, int, str]]:
        return [(p, _iteration_of(p), worker, "training")
                for p in sorted(folder.glob(f"*{SIMTRACE_SUFFIX}"), key=_iteration_of)]

    cloud = root / CLOUD_SIMTRACE_DIR
    if (cloud / TRAINING_SUBDIR / TRAINING_SIMTRACE_DIR).is_dir():
        return "console", files_in(cloud / TRAINING_SUBDIR / TRAINING_SIMTRACE_DIR, 0)
    if cloud.is_dir():
        out = []
        for job in sorted((cloud / TRAINING_SUBDIR).glob(f"*/{TRAINING_SIMTRACE_DIR}")):
            out += files_in(job, 0)
        return "droa", out
    if (root / TRAINING_SIMTRACE_DIR).is_dir():
        return "drfc-single", files_in(root / TRAINING_SIMTRACE_DIR, 0)
    workers = sorted((p for p in root.iterdir() if p.name.isdigit()
                      and (p / TRAINING_SIMTRACE_DIR).is_dir()), key=lambda p: int(p.name)) \
        if root.is_dir() else []
    if workers:
        out = []
        for w in workers:
            out += files_in(w / TRAINING_SIMTRACE_DIR, int(w.name))
        return "drfc-multi", out
    return "none", []


def _evaluation_files(root: Path) -> list[tuple[str, list[tuple[Path, int, int, str]]]]:
    runs = []
    for folder in sorted(root.glob(f"{EVALUATION_DIR_PREFIX}*/{EVALUATION_SIMTRACE_DIR}")):
        runs.append(folder.parent.name)
    cloud = root / CLOUD_SIMTRACE_DIR / EVALUATION_SUBDIR
    for folder in sorted(cloud.glob(f"*/{EVALUATION_SIMTRACE_DIR}")):
        runs.append(str(folder.parent.relative_to(root)))
    out = []
    for name in runs:
        folder = root / name / EVALUATION_SIMTRACE_DIR
        files = [(p, _iteration_of(p), 0, name)
                 for p in sorted(folder.glob(f"*{SIMTRACE_SUFFIX}"), key=_iteration_of)]
        if files:
            out.append((Path(name).name, files))
    return out


def _training_metrics(root: Path) -> list[dict]:
    files = sorted((root / METRICS_DIR).glob(f"{_METRICS_STEM}*.json"))
    files += sorted((root / METRICS_DIR / TRAINING_SUBDIR).glob("*.json"))
    entries = []
    for path in files:
        m = _WORKER_METRICS_RE.match(path.name)
        worker = int(m.group(1)) if m else 0
        data = _json(path)
        metrics = data.get("metrics") if isinstance(data, dict) else None
        if not metrics:
            continue
        per_iteration = max(int(e.get("trial", 1)) for e in metrics) or 1
        for e in metrics:
            entries.append({**e, "worker": worker,
                            "iteration": (int(e["episode"]) - 1) // per_iteration})
    return entries


def _evaluation_metrics(root: Path) -> dict[str, list[dict]]:
    out = {}
    paths = sorted((root / METRICS_DIR).glob(f"{EVALUATION_METRICS_PREFIX}*.json"))
    paths += sorted((root / METRICS_DIR / EVALUATION_SUBDIR).glob("*.json"))
    for path in paths:
        data = _json(path)
        if isinstance(data, dict) and isinstance(data.get("metrics"), list):
            name = path.stem.replace(EVALUATION_METRICS_PREFIX, EVALUATION_DIR_PREFIX)
            out[name] = data["metrics"]
    return out


_POLICY_RE = re.compile(r"Policy training> Surrogate loss=([-\d.eE+naif]+), KL divergence="
                        r"([-\d.eE+naif]+), Entropy=([-\d.eE+naif]+), training epoch=(\d+)")
_ITER_LINE_RE = re.compile(r"Training> .*Training iteration=(\d+)")
_WORLD_RES = (re.compile(r"'WORLD_NAME': '([^']+)'"), re.compile(r"\* /WORLD_NAME: (\S+)"),
              re.compile(r"WORLD_NAME[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9_.-]+)"))


def _text_logs(root: Path) -> tuple[list[dict], str | None]:
    """Per-iteration mean of the "Policy training>" values, and the WORLD_NAME, from the text
    logs of the run (ours: logs/training.log; console/DRoA: logs/training/*.log)."""
    paths = [RunFolder(root).training_log,
             *sorted((root / LOGS_DIR / TRAINING_SUBDIR).glob("*.log"))]
    world = None
    policy: dict[int, list[tuple[float, float, float]]] = {}
    for path in paths:
        if not path.is_file():
            continue
        iteration = 0
        with path.open(errors="replace") as fh:
            for line in fh:
                if world is None and "WORLD_NAME" in line:
                    for rx in _WORLD_RES:
                        m = rx.search(line)
                        if m:
                            world = m.group(1)
                            break
                m = _ITER_LINE_RE.search(line)
                if m:
                    iteration = int(m.group(1))
                    continue
                m = _POLICY_RE.search(line)
                if m:
                    vals = (float(m.group(1)), float(m.group(2)), float(m.group(3)))
                    policy.setdefault(iteration, []).append(vals)
    rows = [{"iteration": it, "surrogate": float(np.mean([v[0] for v in vals])),
             "kl": float(np.mean([v[1] for v in vals])),
             "entropy": float(np.mean([v[2] for v in vals]))}
            for it, vals in sorted(policy.items())]
    return rows, world


def read_run(folder: str | Path) -> RunLogs:
    """Read the logs of a run folder: this project's, deepracer-for-cloud's (single or
    multi-worker), DeepRacer-on-AWS's or a console download (sim-traces of 17, 18 or 19
    columns).

    Raises:
        RunFolderError: ``folder`` is not a directory.
    """
    root = Path(folder)
    if not root.is_dir():
        raise RunFolderError(f"{root} is not a folder")
    layout, files = _training_files(root)
    training = _read_trace("training", files)
    evaluations = [t for name, ef in _evaluation_files(root)
                   if (t := _read_trace(name, ef)) is not None]
    iterations = []
    run = RunFolder(root)
    jsonl = run.iterations_log
    if jsonl.is_file():
        for line in jsonl.read_text().splitlines():
            if line.strip():
                with contextlib.suppress(ValueError):
                    iterations.append(json.loads(line))
    policy, world = _text_logs(root)
    if iterations and iterations[0].get("entropy_loss") is not None:  # exact per iteration
        policy = [{"iteration": r["iteration"], "entropy": -r["entropy_loss"],
                   "kl": r.get("approx_kl", math.nan),
                   "surrogate": r.get("policy_gradient_loss", math.nan)}
                  for r in iterations if r.get("entropy_loss") is not None]
    return RunLogs(
        root=root, layout=layout, training=training, evaluations=evaluations,
        training_metrics=_training_metrics(root), evaluation_metrics=_evaluation_metrics(root),
        hyperparameters=_json(run.hyperparameters),
        model_metadata=_json(run.model_metadata),
        run_config=_json(run.config),
        checkpoints=_json(run.checkpoints_json),
        iterations=iterations, policy=policy, world_name=world)

