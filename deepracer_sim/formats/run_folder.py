"""The run folder: the one owner of its layout (which file lives where).

A run folder (``deepracer-sim train --out``) holds DeepRacer's files where DeepRacer's training
job writes them under its S3 prefix (deepracer-for-cloud's single-worker layout), plus three of
our own (``run_config.json``, ``training_state.json``, ``metrics/iterations.jsonl``)::

    model/model_metadata.json            the action space, sensor, network and version
    model/<N>_Step-<steps>.zip           stable-baselines3 checkpoints (N = PPO updates done)
    model/deepracer_checkpoints.json     best and last checkpoint
    ip/hyperparameters.json              the effective DeepRacer hyperparameters
    reward_function.py                   a byte copy of the reward file
    run_config.json                      track, version and the local settings
    training_state.json                  what ``train --resume`` continues from, per checkpoint
    training-simtrace/<i>-iteration.csv  sim-traces, one per iteration
    metrics/TrainingMetrics.json         training and in-training evaluation episodes
    metrics/iterations.jsonl             one line per iteration
    logs/training.log                    the trainer's text log
    evaluation-<stamp>/evaluation-simtrace/0-iteration.csv, metrics/EvaluationMetrics-<stamp>.json

While it is being created a run folder is ``.<name>.creating-<random>`` beside its final
name; ``train --force`` moves an earlier run aside to ``<name>.replaced-<YYYYmmdd-HHMMSS>``.

An exported model folder (``deepracer-sim export``, :mod:`deepracer_sim.export.write`) has
the same names at DeepRacer's places, plus ``training_params.yaml``, ``model/.coach_checkpoint``,
``model/<name>.ckpt.zip|.pt``, ``model/model_<N>.onnx``, ``model/policy_network.json``,
``model.tar.gz`` (``agent/model.onnx``) and ``deepracer-for-cloud/custom_files/``,
``deepracer-for-cloud/run.env``; a camera model's export has DeepRacer's TensorFlow files
instead of the ``.pt`` and ONNX ones: ``model/<name>.ckpt.index``,
``.ckpt.data-00000-of-00001``, ``.ckpt.meta``, ``model/model_<N>.pb`` and ``agent/model.pb``.

The names below are the only place these file names are written; every reader and writer
(training, evaluation, logs, export, the reward lab, fidelity) uses them.
"""

from __future__ import annotations

from pathlib import Path

from deepracer_sim.errors import RunFolderError
from deepracer_sim.formats.problems import read_json

MODEL_DIR = "model"
MODEL_METADATA = "model_metadata.json"
HYPERPARAMETERS_DIR = "ip"
HYPERPARAMETERS = "hyperparameters.json"
REWARD_FILE = "reward_function.py"
RUN_CONFIG = "run_config.json"
TRAINING_STATE = "training_state.json"
#: ``.<name>.creating-<random>``: a run folder being created; ``<name>.replaced-<stamp>``: an
#: earlier run moved aside by ``train --force``.
CREATING_MARK = ".creating-"
REPLACED_MARK = ".replaced-"
CHECKPOINTS_JSON = "deepracer_checkpoints.json"
COACH_CHECKPOINT = ".coach_checkpoint"
#: Sub-folder of a camera run distilled from a feature-vector teacher: the teacher's run folder.
TEACHER_DIR = "teacher"
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

# --- the sweep folder (deepracer_sim.sweep) -------------------------------------------------
#: A sweep folder (``deepracer-sim sweep --out``) holds one run folder per trial, each a run
#: folder as above plus the trial's completion marker, and the sweep's own files:
#: ``sweep.json`` (the spec and its fingerprint), ``trials.json`` (trial name -> settings),
#: ``results.csv`` (one row per finished trial), ``.sweep.lock`` and ``.locks/<trial>.lock``.
SWEEP_JSON = "sweep.json"
SWEEP_TRIALS = "trials.json"
SWEEP_RESULTS = "results.csv"
SWEEP_LOCK = ".sweep.lock"
SWEEP_TRIAL_LOCKS = ".locks"
#: ``<trial>/sweep_trial.json``: written last and atomically; a trial is finished iff it exists.
SWEEP_TRIAL_MARKER = "sweep_trial.json"
#: ``<trial>/sweep_error.txt``: the traceback of a trial that failed (the folder of an
#: unfinished trial; a rerun deletes it).
SWEEP_TRIAL_ERROR = "sweep_error.txt"
#: ``<sweep>/.incoming-<trial>/``: a run folder being collected from a cluster node.
SWEEP_INCOMING_PREFIX = ".incoming-"
#: ``compare/``: the default folder of ``deepracer-sim compare``'s page inside a sweep folder.
COMPARE_DIR = "compare"
COMPARE_PAGE = "index.html"

# --- checkpoints ---------------------------------------------------------------------------
#: A checkpoint is ``<iteration>_Step-<steps>``: in a run folder ``<name>.zip`` (a
#: stable-baselines3 checkpoint); in an exported model folder DeepRacer's ``<name>.ckpt`` prefix
#: with our files ``.ckpt.zip`` and ``.ckpt.pt`` or DeepRacer's (TensorFlow) ``.ckpt.index``,
#: ``.ckpt.data-00000-of-00001``, ``.ckpt.meta``.
CHECKPOINT_STEP = "_Step-"
CHECKPOINT_SUFFIX = ".ckpt"
SB3_SUFFIX = ".zip"
STATE_DICT_SUFFIX = ".pt"
#: DeepRacer's (TensorFlow V2) checkpoint files: ``<name>.ckpt`` + these suffixes.
TF_INDEX_SUFFIX = ".index"
TF_DATA_SUFFIX = ".data-00000-of-00001"
TF_META_SUFFIX = ".meta"
TF_SUFFIXES = (TF_INDEX_SUFFIX, TF_DATA_SUFFIX, TF_META_SUFFIX)

# --- the exported model folder (deepracer_sim.export, spec §6.1-6.2) -------------------------
#: ``model/model_<iteration>.onnx``: the policy network of a checkpoint.
ONNX_PREFIX = "model_"
ONNX_SUFFIX = ".onnx"
#: ``model/model_<iteration>.pb``: a camera model's frozen policy graph (DeepRacer's name).
FROZEN_GRAPH_PREFIX = "model_"
FROZEN_GRAPH_SUFFIX = ".pb"
#: ``model/policy_network.json``: what the ONNX network's inputs and outputs are.
POLICY_NETWORK = "policy_network.json"
#: ``metrics/training/training-<YYYYmmddHHMMSS>.json``: the TrainingMetrics copy
#: DeepRacer-on-AWS imports.
TRAINING_METRICS_DIR = "training"
TRAINING_METRICS_COPY_PREFIX = "training-"
#: Metrics files ``--check`` reads (DRfC's and DeepRacer-on-AWS's names).
METRICS_FILE_PREFIXES = ("TrainingMetrics", "EvaluationMetrics", "training-", "evaluation-")
#: ``model.tar.gz`` members: the physical car's layout (``agent/model.pb`` for DeepRacer's
#: TensorFlow graph; ours holds ``agent/model.onnx``, or ``agent/model.pt`` without onnx).
CAR_AGENT_DIR = "agent"
CAR_TF_MODEL = "model.pb"
CAR_ONNX_MODEL = "model.onnx"
CAR_STATE_DICT = "model.pt"
#: ``deepracer-for-cloud/custom_files/`` and ``deepracer-for-cloud/run.env``.
DRFC_DIR = "deepracer-for-cloud"
DRFC_CUSTOM_FILES = "custom_files"
DRFC_RUN_ENV = "run.env"


def model_file(name: str) -> str:
    """``model/<name>``: a file of the model folder, as ``--check`` names it."""
    return f"{MODEL_DIR}/{name}"


def onnx_name(iteration: int | str) -> str:
    """``model_<iteration>.onnx``."""
    return f"{ONNX_PREFIX}{iteration}{ONNX_SUFFIX}"


def frozen_graph_name(iteration: int | str) -> str:
    """``model_<iteration>.pb``."""
    return f"{FROZEN_GRAPH_PREFIX}{iteration}{FROZEN_GRAPH_SUFFIX}"


def car_member(name: str) -> str:
    """``agent/<name>``: a policy file inside ``model.tar.gz``."""
    return f"{CAR_AGENT_DIR}/{name}"


class RunFolder:
    """Paths of a run folder (see the module docstring)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.model_dir = self.root / MODEL_DIR
        self.model_metadata = self.model_dir / MODEL_METADATA
        self.hyperparameters = self.root / HYPERPARAMETERS_DIR / HYPERPARAMETERS
        self.reward_file = self.root / REWARD_FILE
        self.config = self.root / RUN_CONFIG
        self.training_state = self.root / TRAINING_STATE
        self.checkpoints_json = self.model_dir / CHECKPOINTS_JSON
        self.metrics_dir = self.root / METRICS_DIR
        self.iterations_log = self.metrics_dir / ITERATIONS_LOG
        self.training_metrics = self.metrics_dir / TRAINING_METRICS
        self.training_simtrace_dir = self.root / TRAINING_SIMTRACE_DIR
        self.training_log = self.root / LOGS_DIR / TRAINING_LOG
        self.training_params = self.root / TRAINING_PARAMS
        self.coach_checkpoint = self.model_dir / COACH_CHECKPOINT
        #: a camera run's feature-vector teacher (a run folder of its own; training.distill)
        self.teacher_dir = self.root / TEACHER_DIR

    def evaluation_dir(self, stamp: str) -> Path:
        """``evaluation-<stamp>/`` of one evaluation (``stamp``: YYYYmmddHHMMSS)."""
        return self.root / f"{EVALUATION_DIR_PREFIX}{stamp}"

    def evaluation_metrics(self, stamp: str) -> Path:
        """``metrics/EvaluationMetrics-<stamp>.json`` of one evaluation."""
        return self.metrics_dir / f"{EVALUATION_METRICS_PREFIX}{stamp}.json"

    def read_config(self) -> dict:
        """The run's ``run_config.json``.

        Raises:
            RunFolderError: not a run folder (none), or a damaged file (the fix says what it
                holds and what to do).
        """
        if not self.root.is_dir():
            what = "is a file, not a run folder" if self.root.exists() else "does not exist"
            raise RunFolderError(f"{self.root} {what}; give the --out folder of train")
        if not self.config.is_file():
            raise RunFolderError(f"{self.root} is not a training run folder (no "
                                 f"{RUN_CONFIG}); give the --out folder of train")
        config = read_json(self.config, RunFolderError, damaged=(
            f"; the file is damaged (cut short while it was written?). Fix: restore it from a "
            f"copy, or write it again: it holds the track, version and settings train used "
            f"(see another run's {RUN_CONFIG})"))
        if not isinstance(config, dict):
            raise RunFolderError(f"{self.config}: expected a JSON object (the run's track, "
                                 "version and settings)")
        return config

    def checkpoint_path(self, name: str) -> Path:
        """``model/<name>``: a checkpoint file of the run."""
        return self.model_dir / name

    def creating(self, token: str) -> Path:
        """``.<name>.creating-<token>`` beside the run: where it is built before it appears."""
        return self.root.parent / f".{self.root.name}{CREATING_MARK}{token}"

    def replaced(self, stamp: str) -> Path:
        """``<name>.replaced-<stamp>`` beside the run: where ``--force`` moves it."""
        return self.root.parent / f"{self.root.name}{REPLACED_MARK}{stamp}"
