"""The errors deepracer-sim raises for bad input, all under one base class.

Every error a user's input can cause (a track, a ``model_metadata.json``, a reward file, a run
folder, a command-line value) derives from :class:`DeepRacerSimError`, so a caller (the
``deepracer-sim`` command line among them) reports any of them with one ``except`` and no
traceback. Each message names the file or value, the problem and the fix.

The classes keep the built-in base they had before this hierarchy (``ValueError`` for invalid
values, ``RuntimeError`` for failures at run time), so ``except ValueError`` in older code keeps
working.

Paths as every room checks them, with the errors they raise: :func:`missing_file_text` says
why a path given where a file is expected is not one (a folder, not a file; or it does not
exist), so that a message names the real problem. A command checks each output path before its
work starts (:func:`check_output_file`, :func:`check_output_folder`: a path under a regular
file, a read-only folder), and writes inside :func:`writing`, which turns what the operating
system reports while writing (a full disk, a read-only file system, no permission, a path under
a regular file) into :class:`OutputPathError`, naming the option, the path and the fix; other
errors pass through unchanged.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class DeepRacerSimError(Exception):
    """Base of every input error of deepracer-sim."""


class UsageError(DeepRacerSimError, ValueError):
    """A command-line or keyword value out of range (e.g. ``--timesteps 0``)."""


class TrackError(DeepRacerSimError, ValueError):
    """A track that cannot be used: unknown name, unreadable file, invalid waypoints."""


class TrackDownloadError(DeepRacerSimError, RuntimeError):
    """An official track that could not be downloaded (HTTP error, checksum mismatch);
    nothing was cached."""


class TrackOfflineError(TrackDownloadError):
    """The track server could not be reached (no network, DNS failure, refused connection)."""


class ActionSpaceError(DeepRacerSimError, ValueError):
    """An invalid action space or ``model_metadata.json``."""


class HyperparameterError(DeepRacerSimError, ValueError):
    """An invalid ``hyperparameters.json`` or hyperparameter value."""


class SimtraceError(DeepRacerSimError, ValueError):
    """A sim-trace CSV that cannot be read."""


class RunFolderError(DeepRacerSimError, FileNotFoundError):
    """A run folder, or a file in it, that is missing or damaged."""


class RunExistsError(DeepRacerSimError, FileExistsError):
    """``train --out DIR`` where DIR already holds a run (or other files): training never
    overwrites one; the message names ``--resume`` and ``--force``."""


class ResumeError(DeepRacerSimError, ValueError):
    """``train --resume`` that cannot continue the run: not a run, a run without a training
    state, or options that differ from the run's."""


class RewardFunctionError(DeepRacerSimError, RuntimeError):
    """A reward file that cannot be loaded, or a reward function that failed or returned a bad
    value; run-time failures also name the step and the params."""


class ReplayError(DeepRacerSimError, ValueError):
    """Logs or a track that the reward replay cannot use."""


class ExportError(DeepRacerSimError, ValueError):
    """A run or model folder that cannot be exported, cloned or read."""


class CheckpointError(ExportError, RunFolderError):
    """A checkpoint that cannot be used: a missing or damaged checkpoint file, a
    ``deepracer_checkpoints.json`` or ``.coach_checkpoint`` that names none, or weights that do
    not fit the action space (both an :class:`ExportError` and a :class:`RunFolderError`)."""


class TensorFlowFileError(CheckpointError):
    """A TensorFlow checkpoint (``.ckpt.index``, ``.ckpt.data-00000-of-00001``, ``.ckpt.meta``)
    or frozen graph (``.pb``) that cannot be read, or whose variables or nodes do not fit the
    DeepRacer network it should hold."""


class NetworkError(DeepRacerSimError, ValueError):
    """A DeepRacer camera network that cannot be built or converted: an unknown
    ``neural_network`` or sensor, an observation or action space DeepRacer does not have, or
    weights that do not fit the network."""


class MetricsError(DeepRacerSimError, ValueError):
    """A TrainingMetrics / EvaluationMetrics JSON file that does not follow DeepRacer's schema."""


class RacelineError(DeepRacerSimError, ValueError):
    """No racing line: the track is too narrow for the car, or not driveable."""


class RecordsError(DeepRacerSimError, ValueError):
    """A leaderboard-records CSV that cannot be read (``raceline --records``)."""


class FidelityError(DeepRacerSimError, ValueError):
    """A log folder that cannot be replayed against the car model."""


class RecordingError(DeepRacerSimError, ValueError):
    """A video that cannot be written (unknown format, missing encoder, bad path)."""


class ViewerUnavailable(DeepRacerSimError, RuntimeError):
    """No window can be opened (no display); the message says what to do instead."""


class CameraError(DeepRacerSimError, ValueError):
    """A camera scene or render request that cannot be used: a track style with a bad wall
    polygon, a texel size out of range, or poses of the wrong shape."""


class SweepSpecError(DeepRacerSimError, ValueError):
    """An invalid sweep spec (YAML): the message names the spec file, the key and the fix."""


class SweepError(DeepRacerSimError, RuntimeError):
    """A sweep that cannot run: its folder is locked by another sweep or holds another spec's
    trials, a trial's inputs are invalid, Ray is missing or cannot reach the cluster."""


class CompareError(DeepRacerSimError, ValueError):
    """A folder ``deepracer-sim compare`` cannot read as a run or a sweep."""


class OutputPathError(DeepRacerSimError, OSError):
    """A file or folder that cannot be written: a read-only folder, a full disk, or a path under
    a regular file (the message names the path, the option and the fix)."""


class DeepRacerSimWarning(UserWarning):
    """Something worth a racer's attention that does not stop the work: a skipped truncated
    sim-trace row, a checkpoint carrying pickled data, a slow reward function, evaluation logs
    that could not be written. The command line prints it as one ``warning: ...`` line."""


# --------------------------------------------------------------------------------------------
# paths

#: The errors :func:`writing` reports as an :class:`OutputPathError`: (errno codes, why, fix).
_REASONS: tuple[tuple[tuple[int, ...], str, str], ...] = (
    ((errno.ENOSPC, errno.EDQUOT), "the disk is full",
     "free space on that disk or write to another one"),
    ((errno.EROFS,), "the file system is read-only", "choose a folder on a writable disk"),
    ((errno.EACCES, errno.EPERM), "no permission to write there",
     "choose a folder you can write to, or change its permissions"),
    ((errno.ENOTDIR,), "a part of the path is a regular file, not a folder",
     "choose a path that is not under a file"),
    ((errno.EEXIST,), "a file of that name is in the way", "choose another path or move it"),
    ((errno.EISDIR,), "it is a folder", "give a file name"),
)


def missing_file_text(path: str | os.PathLike) -> str:
    """Why ``path``, given where a file is expected, is not a readable file: ``"PATH is a
    folder, not a file"``, ``"PATH is not a regular file"`` or ``"PATH does not exist"``."""
    p = Path(path)
    if p.is_dir():
        return f"{p} is a folder, not a file"
    if p.exists():
        return f"{p} is not a regular file"
    return f"{p} does not exist"


def _label(path: Path, option: str) -> str:
    return f"{option} {path}" if option else str(path)


def _existing_ancestor(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (a link counts as existing)."""
    p = Path(os.path.abspath(path))
    while not (p.exists() or p.is_symlink()) and p != p.parent:
        p = p.parent
    return p


def _check_base(path: Path, option: str, start: Path | None = None) -> None:
    """Refuse ``path`` when the nearest existing folder at or above ``start`` (default
    ``path``) is a regular file or read-only."""
    base = _existing_ancestor(path if start is None else start)
    if not base.is_dir():
        raise OutputPathError(f"{_label(path, option)}: {base} is a regular file, so nothing can "
                              f"be written under it; fix: choose a path that is not under a "
                              "file")
    if not os.access(base, os.W_OK | os.X_OK):
        raise OutputPathError(f"{_label(path, option)}: the folder {base} is read-only (no "
                              "permission to write in it); fix: choose a folder you can write "
                              "to, or change its permissions")


def check_output_folder(path: str | os.PathLike, option: str = "") -> Path:
    """``path`` if a folder can be created or written there (checked before the work starts).

    Raises:
        OutputPathError: ``path`` is a file, lies under a regular file, or its nearest existing
            folder is read-only.
    """
    p = Path(path)
    if (p.exists() or p.is_symlink()) and not p.is_dir():
        raise OutputPathError(f"{_label(p, option)}: is a file, not a folder; fix: give a "
                              "folder path")
    _check_base(p, option)
    return p


def check_output_file(path: str | os.PathLike, option: str = "") -> Path:
    """``path`` if a file can be written there (checked before the work starts).

    Raises:
        OutputPathError: ``path`` is a folder, lies under a regular file, is a file that cannot
            be written, or its nearest existing folder is read-only.
    """
    p = Path(path)
    if p.is_dir():
        raise OutputPathError(f"{_label(p, option)}: is a folder; fix: give a file path")
    if p.exists():
        if not os.access(p, os.W_OK):
            raise OutputPathError(f"{_label(p, option)}: the file is read-only; fix: choose "
                                  "another file name, or change its permissions")
        return p
    _check_base(p, option, p.parent)
    return p


def output_error(exc: OSError, path: str | os.PathLike, option: str = "") -> OutputPathError:
    """The :class:`OutputPathError` of an operating-system error met writing ``path``."""
    failed = exc.filename if exc.filename is not None else path
    why, fix = exc.strerror or str(exc), "choose another path"
    for codes, reason, remedy in _REASONS:
        if exc.errno in codes:
            why, fix = f"{reason} ({exc.strerror})", remedy
            break
    return OutputPathError(f"{_label(Path(path), option)}: cannot write {failed}: {why}; fix: "
                           f"{fix}")


def is_output_error(exc: BaseException) -> bool:
    """Whether ``exc`` is an operating-system error :func:`writing` reports (full disk,
    read-only, no permission, a path under a file)."""
    return isinstance(exc, OSError) and not isinstance(exc, OutputPathError) and any(
        exc.errno in codes for codes, _, _ in _REASONS)


@contextmanager
def writing(path: str | os.PathLike, option: str = "") -> Iterator[None]:
    """Run the block that writes ``path`` (given as ``option``); the operating system's errors
    of :func:`is_output_error` become an :class:`OutputPathError` naming the path and the fix.

    Raises:
        OutputPathError: a full disk, a read-only file system or folder, a path under a file.
    """
    try:
        yield
    except OSError as exc:
        if is_output_error(exc):
            raise output_error(exc, path, option) from None
        raise
