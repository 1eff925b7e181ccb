"""The errors deepracer-sim raises for bad input, all under one base class.

Every error a user's input can cause (a track, a ``model_metadata.json``, a reward file, a run
folder, a command-line value) derives from :class:`DeepRacerSimError`, so a caller (the
``deepracer-sim`` command line among them) reports any of them with one ``except`` and no
traceback. Each message names the file or value, the problem and the fix.

The classes keep the built-in base they had before this hierarchy (``ValueError`` for invalid
values, ``RuntimeError`` for failures at run time), so ``except ValueError`` in older code keeps
working.
"""

from __future__ import annotations


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


class MetricsError(DeepRacerSimError, ValueError):
    """A TrainingMetrics / EvaluationMetrics JSON file that does not follow DeepRacer's schema."""


class RacelineError(DeepRacerSimError, ValueError):
    """No racing line: the track is too narrow for the car, or not driveable."""


class FidelityError(DeepRacerSimError, ValueError):
    """A log folder that cannot be replayed against the car model."""


class RecordingError(DeepRacerSimError, ValueError):
    """A video that cannot be written (unknown format, missing encoder, bad path)."""


class ViewerUnavailable(DeepRacerSimError, RuntimeError):
    """No window can be opened (no display); the message says what to do instead."""
