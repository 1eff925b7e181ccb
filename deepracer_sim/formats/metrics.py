"""TrainingMetrics / EvaluationMetrics JSON files (spec §6.4): the validator and a strict reader.

A metrics file is ``{"metrics": [entry, ...], ...}``; a training file's entries carry a
``phase`` ("training" or "evaluation") and the file a ``best_model_metric``. Every key of
:data:`TRAINING_METRIC_KEYS` / :data:`EVALUATION_METRIC_KEYS` is required and, except ``phase``
and ``episode_status``, an integer (milliseconds, ``int(round(reward))``, ``int(progress)``);
``episode_status`` is one of the simapp's labels (the values of
:data:`~deepracer_sim.constants.STATUS_LABELS`).
The writer is :mod:`deepracer_sim.logs.writer`.
"""

from __future__ import annotations

import os
from pathlib import Path

from deepracer_sim.errors import MetricsError
from deepracer_sim.formats.problems import UNREADABLE, Problem, load_json, raise_errors, read_json

#: TrainingMetrics entries (spec §6.4).
TRAINING_METRIC_KEYS = ("reward_score", "metric_time", "start_time",
                        "elapsed_time_in_milliseconds", "episode", "trial", "phase",
                        "completion_percentage", "episode_status")
#: EvaluationMetrics entries (spec §6.4).
EVALUATION_METRIC_KEYS = ("completion_percentage", "metric_time", "start_time",
                          "elapsed_time_in_milliseconds", "episode_status", "crash_count",
                          "immobilized_count", "off_track_count", "reversed_count",
                          "reset_count", "trial")
#: The ``episode_status`` labels, in the order the messages list them.
EPISODE_STATUS_LABELS = ("Lap complete", "Off track", "Crashed", "Reversed", "Immobilized",
                         "In progress", "Pause", "Park", "Time Up", "Prepare")
PHASES = ("training", "evaluation")
#: Problems listed per file before "more problems not listed".
MAX_LISTED = 10


def _check_entry(i: int, entry: object, keys: tuple[str, ...], training: bool,
                 where: str) -> list[Problem]:
    field = f"metrics[{i}]"
    if not isinstance(entry, dict):
        return [Problem(where, f"{field} is not an object", "write objects", field=field)]
    out = []
    missing = [k for k in keys if k not in entry]
    wrong = [k for k in keys if k in entry and k not in ("phase", "episode_status")
             and (not isinstance(entry[k], int) or isinstance(entry[k], bool))]
    if missing:
        out.append(Problem(where, f"{field} lacks {missing}",
                           f"write every key: {', '.join(keys)}", field=field))
    if wrong:
        out.append(Problem(where, f"{field}: {wrong} are not integers",
                           "write integers (milliseconds, int(round(reward)), int(progress))",
                           field=field))
    if training and entry.get("phase", "training") not in PHASES:
        out.append(Problem(where, f"{field}.phase = {entry.get('phase')!r}",
                           'use "training" or "evaluation"', field=f"{field}.phase"))
    if "episode_status" in entry and entry["episode_status"] not in EPISODE_STATUS_LABELS:
        out.append(Problem(where, f"{field}.episode_status = {entry['episode_status']!r}",
                           f"use one of {', '.join(EPISODE_STATUS_LABELS)}",
                           field=f"{field}.episode_status"))
    return out


def check_metrics_dict(data: object, where: str) -> list[Problem]:
    """The problems of a metrics object (at most :data:`MAX_LISTED` entries' worth)."""
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), list):
        return [Problem(where, 'not {"metrics": [...]}', "write the metrics as spec §6.4")]
    entries = data["metrics"]
    training = any(isinstance(e, dict) and "phase" in e for e in entries) \
        or "best_model_metric" in data
    keys = TRAINING_METRIC_KEYS if training else EVALUATION_METRIC_KEYS
    out: list[Problem] = []
    for i, entry in enumerate(entries):
        out += _check_entry(i, entry, keys, training, where)
        if isinstance(entry, dict) and len(out) >= MAX_LISTED:
            out.append(Problem(where, "more problems not listed", "fix the ones above first"))
            break
    return out


def check_metrics(path: str | os.PathLike, where: str | None = None) -> list[Problem]:
    """Every problem of a TrainingMetrics / EvaluationMetrics JSON file."""
    where = where or str(path)
    data, problems = load_json(Path(path), where)
    return problems if data is UNREADABLE else check_metrics_dict(data, where)


def read_metrics(path: str | os.PathLike) -> dict:
    """Read a metrics file (strict mode of :func:`check_metrics_dict`).

    Raises:
        MetricsError: missing file, invalid JSON, or an entry that breaks the schema.
    """
    path = Path(path)
    data = read_json(path, MetricsError, " (expected a TrainingMetrics or EvaluationMetrics "
                     "JSON file)")
    raise_errors(check_metrics_dict(data, str(path)), MetricsError, str(path))
    assert isinstance(data, dict)  # a non-dict is an error above
    return data
