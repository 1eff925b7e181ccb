"""The run folder: the one owner of its layout (which file lives where).

A run folder (``deepracer-sim train --out``) holds DeepRacer's files where DeepRacer's training
job writes them under its S3 prefix (deepracer-for-cloud's single-worker layout), plus two of
our own (``run_config.json``, ``metrics/iterations.jsonl``)::

    model/model_metadata.json            the action space, sensor, network and version
    model/<iteration>_Step-<steps>.zip   stable-baselines3 checkpoints
    model/deepracer_checkpoints.json     best and last checkpoint
    ip/hyperparameters.json              the effective DeepRacer hyperparameters
    reward_function.py                   a byte copy of the reward file
    run_config.json                      track, version and the local settings
    training-simtrace/<i>-iteration.csv  sim-traces, one per iteration
    metrics/TrainingMetrics.json         training and in-training evaluation episodes
    metrics/iterations.jsonl             one line per iteration
    logs/training.log                    the trainer's text log
    evaluation-<stamp>/evaluation-simtrace/0-iteration.csv, metrics/EvaluationMetrics-<stamp>.json

The names below are the only place these file names are written; every reader and writer
(training, evaluation, logs, export, the reward lab, fidelity) uses them.
"""

from __future__ import annotations

import json
from pathlib import Path

from deepracer_sim.errors import RunFolderError

MODEL_DIR = "model"
MODEL_METADATA = "model_metadata.json"
HYPERPARAMETERS_DIR = "ip"
HYPERPARAMETERS = "hyperparameters.json"
REWARD_FILE = "reward_function.py"
RUN_CONFIG = "run_config.json"
CHECKPOINTS_JSON = "deepracer_checkpoints.json"
COACH_CHECKPOINT = ".coach_checkpoint"
METRICS_DIR = "metrics"
ITERATIONS_LOG = "iterations.jsonl"
TRAINING_METRICS = "TrainingMetrics.json"
#: ``EvaluationMetrics-<YYYYmmddHHMMSS>.json``
EVALUATION_METRICS_PREFIX = "EvaluationMetrics-"
TRAINING_SIMTRACE_DIR = "training-simtrace"
EVALUATION_SIMTRACE_DIR = "evaluation-simtrace"
#: ``evaluation-<YYYYmmddHHMMSS>/``
EVALUATION_DIR_PREFIX = "evaluation-"
LOGS_DIR = "logs"
TRAINING_LOG = "training.log"
TRAINING_PARAMS = "training_params.yaml"
CAR_ARCHIVE = "model.tar.gz"
#: ``<iteration>-iteration.csv``, the sim-trace files of a ``*-simtrace/`` folder
SIMTRACE_SUFFIX = "-iteration.csv"
#: Cloud downloads (console, DeepRacer-on-AWS): ``sim-trace/<training|evaluation>/<job>/``,
#: ``metrics/<training|evaluation>/*.json``, ``logs/<training|evaluation>/*.log``
CLOUD_SIMTRACE_DIR = "sim-trace"
TRAINING_SUBDIR = "training"
EVALUATION_SUBDIR = "evaluation"


class RunFolder:
    """Paths of a run folder (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.model_dir = self.root / MODEL_DIR
        self.model_metadata = self.model_dir / MODEL_METADATA
        self.hyperparameters = self.root / HYPERPARAMETERS_DIR / HYPERPARAMETERS
        self.reward_file = self.root / REWARD_FILE
        self.config = self.root / RUN_CONFIG
        self.checkpoints_json = self.model_dir / CHECKPOINTS_JSON
        self.metrics_dir = self.root / METRICS_DIR
        self.iterations_log = self.metrics_dir / ITERATIONS_LOG
        self.training_metrics = self.metrics_dir / TRAINING_METRICS
        self.training_simtrace_dir = self.root / TRAINING_SIMTRACE_DIR
        self.training_log = self.root / LOGS_DIR / TRAINING_LOG

    def evaluation_dir(self, stamp: str) -> Path:
        """``evaluation-<stamp>/`` of one evaluation (``stamp``: YYYYmmddHHMMSS)."""
        return self.root / f"{EVALUATION_DIR_PREFIX}{stamp}"

    def evaluation_metrics(self, stamp: str) -> Path:
        """``metrics/EvaluationMetrics-<stamp>.json`` of one evaluation."""
        return self.metrics_dir / f"{EVALUATION_METRICS_PREFIX}{stamp}.json"

    def read_config(self) -> dict:
        if not self.config.is_file():
            raise RunFolderError(f"{self.root} is not a training run folder (no "
                                 f"{RUN_CONFIG}); give the --out folder of train")
        return json.loads(self.config.read_text())

    def checkpoint_path(self, name: str) -> Path:
        return self.model_dir / name

    def checkpoint_name(self, which: str) -> str:
        """The file name of checkpoint "best", "last", or a name/iteration number."""
        if which in ("best", "last"):
            if not self.checkpoints_json.is_file():
                raise RunFolderError(f"{self.checkpoints_json} is missing: the run saved no "
                                     "checkpoint yet")
            info = json.loads(self.checkpoints_json.read_text())
            entry = info.get(f"{which}_checkpoint") or info.get("last_checkpoint")
            return entry["name"]
        if which.isdigit():
            found = sorted(self.model_dir.glob(f"{which}_Step-*.zip"))
            if found:
                return found[0].name
        if (self.model_dir / which).is_file():
            return which
        raise RunFolderError(f"no checkpoint {which!r} in {self.model_dir}")
