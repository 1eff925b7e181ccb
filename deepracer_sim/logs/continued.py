"""Continuing a run's training logs (``train --resume``), and the sim-traces' episode
renumbering they share with the writer.

A run's logs are committed with each checkpoint (:mod:`deepracer_sim.training.resume`): the
training state file records, per checkpoint, the :meth:`TrainingLogger.snapshot
<deepracer_sim.logs.writer.TrainingLogger.snapshot>` of the logs at that moment. A run killed
later may hold more than that (an iteration written but not committed, a renumbering cut
short); :func:`continued_logs` brings the files back to the snapshot:

* sim-trace files of later iterations are removed;
* every kept sim-trace file's episode numbers follow the snapshot's block size (a renumbering
  for a larger block, cut short by the kill, is undone);
* ``TrainingMetrics.json``'s entries of the kept iterations are read back (the writer rewrites
  the file from them, numbered for its block size).

Renumbering maps a file's distinct episode numbers, in increasing order, onto the iteration's
numbers for the new block size (:func:`~deepracer_sim.logs.rows.episode_numbers`; both are
increasing in the episode's index), so it works whatever block size the file was written with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from deepracer_sim.constants import STATUS_LABELS
from deepracer_sim.errors import RunFolderError
from deepracer_sim.formats.files import atomic_write_text
from deepracer_sim.formats.run_folder import SIMTRACE_SUFFIX, RunFolder
from deepracer_sim.logs.rows import episode_numbers

#: TrainingMetrics ``episode_status`` label -> the sim-trace status the writer keeps.
_STATUS_OF_LABEL = {label: code for code, label in STATUS_LABELS.items()}


@dataclass
class ContinuedLogs:
    """The writer's state read back from a run's files (see :func:`continued_logs`).

    Attributes:
        block_size: episodes per iteration block (``K``); counts: episodes per iteration.
        training, evaluation: per iteration, the TrainingMetrics values of each training /
            evaluation episode ``(reward, start ms, end ms, progress %, status)``.
    """

    block_size: int
    counts: list[int]
    training: list[list[tuple]]
    evaluation: list[list[tuple]]


def _episode_column(lines: list[str]) -> list[str]:
    return [line.split(",", 1)[0] for line in lines[1:] if line]


def renumber_simtrace(path: Path, iteration: int, count: int, block_size: int) -> None:
    """Give the ``count`` episodes of sim-trace file ``path`` (iteration ``iteration``) their
    numbers for ``block_size`` (module docstring); the file is rewritten only if they differ.

    Raises:
        RunFolderError: the file is missing or holds another number of episodes.
    """
    if not path.is_file():
        raise RunFolderError(f"{path} is missing: the run's sim-traces are incomplete")
    lines = path.read_text().splitlines()
    column = _episode_column(lines)
    found = sorted({int(v) for v in column})
    if len(found) != count:
        raise RunFolderError(f"{path}: {len(found)} episodes where the run's training state "
                             f"says {count}")
    want = episode_numbers(iteration, count, block_size).tolist()
    if found == want:
        return
    mapping = {str(a): str(b) for a, b in zip(found, want, strict=True)}
    out = [lines[0]]
    for line in lines[1:]:
        if line:
            head, rest = line.split(",", 1)
            out.append(mapping[str(int(head))] + "," + rest)
    atomic_write_text(path, "\n".join(out) + "\n")


def renumber_simtraces(folder: Path, counts: list[int], block_size: int) -> None:
    """:func:`renumber_simtrace` every file ``<i>-iteration.csv`` of ``folder`` for
    ``i < len(counts)`` that has episodes."""
    for it, count in enumerate(counts):
        if count:
            renumber_simtrace(folder / f"{it}{SIMTRACE_SUFFIX}", it, count, block_size)


def _first_consistent(folder: Path, counts: list[int], block_size: int) -> bool:
    """Whether the first sim-trace file with episodes has ``block_size``'s numbers (a
    renumbering starts there, so if it was not renumbered, none was)."""
    for it, count in enumerate(counts):
        if count:
            path = folder / f"{it}{SIMTRACE_SUFFIX}"
            if not path.is_file():
                return False
            found = sorted({int(v) for v in _episode_column(path.read_text().splitlines())})
            return found == episode_numbers(it, count, block_size).tolist()
    return True


def _metrics_entries(path: Path, counts: list[int], eval_counts: list[int]
                     ) -> tuple[list[list[tuple]], list[list[tuple]]]:
    need = sum(counts) + sum(eval_counts)
    entries: list = []
    if need:
        try:
            entries = json.loads(path.read_text())["metrics"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise RunFolderError(f"{path}: cannot be read back to continue the run "
                                 f"({exc})") from None
    if len(entries) < need:
        raise RunFolderError(f"{path} holds {len(entries)} episodes, the run's training state "
                             f"says at least {need}")
    training: list[list[tuple]] = []
    evaluation: list[list[tuple]] = []
    pos = 0
    for count, n_eval in zip(counts, eval_counts, strict=True):
        for out, n in ((training, count), (evaluation, n_eval)):
            out.append([(float(e["reward_score"]), int(e["start_time"]), int(e["metric_time"]),
                         float(e["completion_percentage"]),
                         _STATUS_OF_LABEL.get(e["episode_status"], e["episode_status"]))
                        for e in entries[pos:pos + n]])
            pos += n
    return training, evaluation


def continued_logs(run: RunFolder, snapshot: dict) -> ContinuedLogs:
    """Bring the training logs of ``run`` back to ``snapshot`` (module docstring) and return
    the writer's state.

    Raises:
        RunFolderError: a file the snapshot counts is missing or holds something else.
    """
    iterations = int(snapshot["iterations"])
    counts = [int(c) for c in snapshot["counts"][:iterations]]
    eval_counts = [int(c) for c in snapshot["eval_counts"][:iterations]]
    block_size = int(snapshot["block_size"])
    if len(counts) != iterations or len(eval_counts) != iterations:
        raise RunFolderError(f"{run.root}: the training state lists fewer iterations than "
                             f"{iterations}")
    folder = run.training_simtrace_dir
    for path in folder.glob(f"*{SIMTRACE_SUFFIX}"):
        stem = path.name[:-len(SIMTRACE_SUFFIX)]
        if stem.isdigit() and int(stem) >= iterations:
            path.unlink()
    for it in range(iterations):
        if not (folder / f"{it}{SIMTRACE_SUFFIX}").is_file():
            raise RunFolderError(f"{folder / f'{it}{SIMTRACE_SUFFIX}'} is missing: the run's "
                                 "sim-traces are incomplete")
    if not _first_consistent(folder, counts, block_size):
        renumber_simtraces(folder, counts, block_size)
    training, evaluation = _metrics_entries(run.training_metrics, counts, eval_counts)
    return ContinuedLogs(block_size, counts, training, evaluation)

