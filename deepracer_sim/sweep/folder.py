"""The sweep folder: its lock, its spec record, the trial list, the trial locks and
``results.csv`` (file names: :mod:`deepracer_sim.formats.run_folder`).

Resume rests on three rules, all independent of Ray:

* a trial is finished iff its run folder holds the completion marker
  (:func:`deepracer_sim.sweep.trial.is_finished`);
* one sweep at a time writes into a folder (:func:`sweep_lock`, an ``flock`` the kernel
  releases when the process dies, however it dies);
* a trial writes its run folder only while holding ``.locks/<trial>.lock``
  (:func:`trial_lock`): Ray's trial workers live in their own process groups and outlive a
  SIGKILL of the sweep's process group by a few seconds, so a restarted trial waits until the
  old worker is gone before it deletes the unfinished folder.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from deepracer_sim.errors import SweepError
from deepracer_sim.formats.files import atomic_write_text
from deepracer_sim.formats.run_folder import (
    SWEEP_JSON,
    SWEEP_LOCK,
    SWEEP_RESULTS,
    SWEEP_TRIAL_LOCKS,
    SWEEP_TRIALS,
)
from deepracer_sim.sweep.spec import SweepSpec, TrialSpec
from deepracer_sim.sweep.trial import is_finished, jsonable, read_marker

#: Columns of ``results.csv`` taken from each marker's last iteration metrics (the in-training
#: evaluations' bests, :func:`deepracer_sim.sweep.trial.iteration_metrics`).
RESULT_METRICS = ("best_score", "best_eval_progress", "best_eval_lap_time", "mean_reward")
#: Seconds a restarted trial waits for the worker of a killed sweep to let go of its folder.
TRIAL_LOCK_TIMEOUT = 120.0


@contextlib.contextmanager
def sweep_lock(out: Path) -> Iterator[None]:
    """Hold the sweep folder's lock for the block.

    Raises:
        SweepError: another sweep holds it.
    """
    fh = (Path(out) / SWEEP_LOCK).open("w")
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepError(f"{out}: another sweep is running in this folder; wait for it to "
                             "end or give another --out") from None
        yield
    finally:
        fh.close()


@contextlib.contextmanager
def trial_lock(folder: Path, name: str, timeout: float = TRIAL_LOCK_TIMEOUT) -> Iterator[None]:
    """Hold ``folder/.locks/<name>.lock`` (a POSIX record lock: released by the kernel when
    its holder dies, and honoured over NFS) while the block writes the trial's run folder.

    Raises:
        SweepError: still held by another process after ``timeout`` seconds.
    """
    locks = Path(folder) / SWEEP_TRIAL_LOCKS
    locks.mkdir(parents=True, exist_ok=True)
    fh = (locks / f"{name}.lock").open("w")
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                fcntl.lockf(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SweepError(f"trial {name}: its run folder is still locked by another "
                                     f"process after {timeout:.0f} s; stop that process (an "
                                     "old sweep's Ray worker) and run the sweep again") from None
                time.sleep(0.5)
        yield
    finally:
        fh.close()


def run_folders(out: Path) -> list[Path]:
    """The trial run folders of a sweep folder: the sub-folders named in ``trials.json`` or
    holding a completion marker (not the lock folder, a folder being collected, or a page that
    ``deepracer-sim compare`` wrote there)."""
    if not Path(out).is_dir():
        return []
    named = read_trials(out)
    return sorted(p for p in Path(out).iterdir()
                  if p.is_dir() and not p.name.startswith(".")
                  and (p.name in named or is_finished(p)))


def check_sweep_folder(out: Path, spec: SweepSpec) -> None:
    """Record the spec in ``out/sweep.json``, or check that the folder's sweep is this spec's.

    Before any trial has finished, a corrected spec replaces the old record (and its trial
    list); afterwards only the same spec may resume the folder.

    Raises:
        SweepError: the folder holds finished trials of another spec.
    """
    path = Path(out) / SWEEP_JSON
    record = spec.record()
    if path.is_file():
        old = json.loads(path.read_text())
        if old.get("fingerprint") == record["fingerprint"]:
            return
        if any(is_finished(p) for p in run_folders(out)):
            raise SweepError(f"{out} holds trials of another spec ({old.get('source')}); resume "
                             "it with that spec unchanged, or give another --out")
    atomic_write_text(path, json.dumps(jsonable(record), indent=2) + "\n")
    (Path(out) / SWEEP_TRIALS).unlink(missing_ok=True)


def read_sweep_record(out: Path) -> dict[str, Any] | None:
    """``sweep.json`` of a sweep folder, or None if ``out`` is not one."""
    path = Path(out) / SWEEP_JSON
    return json.loads(path.read_text()) if path.is_file() else None


def read_trials(out: Path) -> dict[str, dict[str, Any]]:
    """``trials.json``: trial name -> settings ({} before the first trial is named)."""
    path = Path(out) / SWEEP_TRIALS
    return json.loads(path.read_text()) if path.is_file() else {}


def write_trials(out: Path, trials: dict[str, dict[str, Any]]) -> None:
    """Write ``trials.json`` (trial name -> settings)."""
    atomic_write_text(Path(out) / SWEEP_TRIALS, json.dumps(jsonable(trials), indent=2) + "\n")


def record_trials(out: Path, trials: list[TrialSpec]) -> None:
    """Add ``trials`` to ``trials.json`` (names already there keep their settings)."""
    known = read_trials(out)
    known.update({t.name: t.params for t in trials if t.name not in known})
    write_trials(out, known)


def _rank(row: dict[str, Any]) -> tuple[float, float, str]:
    mean = row["mean_lap_time"]
    return (-float(row["completion_rate"] or 0.0), math.inf if mean is None else float(mean),
            str(row["trial"]))


def write_results(out: Path) -> Path:
    """``out/results.csv``: one row per finished trial, from the markers: the final
    evaluation's completion rate and lap times (s, empty without a completed lap), then the
    bests of the in-training evaluations, then the completion rate and mean lap time on each
    held-out track (``holdout <track> completion_rate``, ...); ranked as ``deepracer-sim
    compare`` ranks (the highest completion rate, then the shortest mean lap time)."""
    rows = []
    for run in run_folders(out):
        if not is_finished(run):
            continue
        m = read_marker(run)
        final = m.get("final") or {}
        ev = m.get("evaluation") or {}
        rows.append({"trial": run.name, "status": m.get("status"), "steps": m.get("steps"),
                     "wall_time": m.get("wall_time"), "cpu_time": m.get("cpu_time"),
                     "completion_rate": ev.get("completion_rate"),
                     "best_lap_time": ev.get("best_lap_time"),
                     "mean_lap_time": ev.get("mean_lap_time"),
                     **{k: final.get(k) for k in RESULT_METRICS},
                     **{f"holdout {t} {k}": h.get(k) for t, h in (ev.get("holdout") or {}).items()
                        for k in ("completion_rate", "mean_lap_time")}})
    rows.sort(key=_rank)
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    atomic_write_text(Path(out) / SWEEP_RESULTS, buf.getvalue())
    return Path(out) / SWEEP_RESULTS
