"""Export a training run as a DeepRacer model folder: gather -> write -> archive.

    deepracer-sim export RUN_DIR --out DIR [--checkpoint best|last|N] [--force]

The export writes DIR as the S3 prefix of a DeepRacer model (spec §6.1, the layout
``upload-model.sh`` pushes and DeepRacer-on-AWS imports, §6.2)::

    DIR/model_metadata.json              the action space exactly as trained (spec §4)
    DIR/reward_function.py               byte copy of the reward function trained with
    DIR/training_params.yaml             WORLD_NAME, direction, round robin (quoted strings)
    DIR/ip/hyperparameters.json          the effective DeepRacer hyperparameters (spec §5)
    DIR/model/model_metadata.json        same as the root one
    DIR/model/<N>_Step-<S>.ckpt.zip      stable-baselines3 checkpoint (policy + optimizer)
    DIR/model/<N>_Step-<S>.ckpt.pt       the policy's state_dict (torch.load(weights_only=True))
    DIR/model/model_<N>.onnx             the policy network as ONNX (as DeepRacer's model_<N>.pb)
    DIR/model/policy_network.json        what the network's inputs and outputs are
    DIR/model/.coach_checkpoint          "<N>_Step-<S>.ckpt": the chosen checkpoint
    DIR/model/deepracer_checkpoints.json best and last (avg_eval_metric = mean eval progress %)
    DIR/metrics/ training-simtrace/ evaluation-*/   the run's logs, when it has them
    DIR/model.tar.gz                     physical-car layout: model_metadata.json, agent/model.onnx
    DIR/deepracer-for-cloud/             custom_files/ and a run.env fragment for DRfC

(the names are :mod:`deepracer_sim.formats.run_folder`'s). A checkpoint is named as DeepRacer
names its TensorFlow checkpoints: ``<iteration>_Step-<steps>`` + ``.ckpt``, and its files share
that prefix. ``--checkpoint`` picks the checkpoint the model stands for (``.coach_checkpoint``
and ``model.tar.gz``): ``best`` (default), ``last``, or a checkpoint number. With
``best``/``last`` both the best and the last checkpoint are exported and
``deepracer_checkpoints.json`` points at them as the run's does; with a checkpoint number only
that checkpoint is exported and is both best and last (as ``upload-model.sh`` rewrites it).

What the cloud can use: the reward function, action space, hyperparameters and track choice
transfer unchanged. A feature-vector run's weights do not: its network sees
:mod:`deepracer_sim.sim.observation`'s feature vector, not DeepRacer's 120x160 camera image, so
neither the simapp nor the physical car can run it (the car wants ``agent/model.pb``, a
TensorFlow graph over camera frames).

A camera run (a :class:`~deepracer_sim.training.networks.DeepRacerCnnPolicy` checkpoint) is
exported as DeepRacer's own files instead of the ``.pt``/ONNX ones (docs/cloud-models.md;
written without TensorFlow, :mod:`deepracer_sim.training.tf_weights`)::

    DIR/model/<N>_Step-<S>.ckpt.index, .data-00000-of-00001, .meta   the TensorFlow checkpoint
                                         with exactly the variables the simapp restores
    DIR/model/model_<N>.pb               the frozen policy graph, only for the checkpoint
                                         .coach_checkpoint names
    DIR/model/<N>_Step-<S>.ckpt.zip      the stable-baselines3 checkpoint, as for every run
    DIR/model.tar.gz                     model_metadata.json, agent/model.pb (the car's)

and both ``model_metadata.json`` name the run's ``neural_network`` and sensor.

Safety: everything is read and checked first (:func:`~deepracer_sim.export.gather.gather`);
the export is then written to a temporary folder next to DIR (each file atomically,
:mod:`deepracer_sim.formats.files`) and renamed into place, so an interrupted export never
leaves a partial DIR; a non-empty DIR is replaced only with
``--force`` and only if it is an earlier export. Weights are only ever loaded with
``torch.load(weights_only=True)`` (:mod:`deepracer_sim.training.policy`).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from deepracer_sim.errors import ExportError
from deepracer_sim.export.gather import ExportPlan, gather
from deepracer_sim.export.naming import TrackNaming
from deepracer_sim.export.policy import NOT_FOR_THE_CAR, export_onnx, network_description
from deepracer_sim.export.safe_io import copy_tree
from deepracer_sim.formats.checkpoints import (
    checkpoint_iteration,
    checkpoint_stem,
    write_checkpoints_json,
    write_coach_checkpoint,
)
from deepracer_sim.formats.files import atomic_copy, atomic_write_bytes, atomic_write_text
from deepracer_sim.formats.race import drfc_env_lines, objects_from_json, world_params
from deepracer_sim.formats.run_folder import (
    CAR_ARCHIVE,
    CAR_ONNX_MODEL,
    CAR_STATE_DICT,
    CAR_TF_MODEL,
    CHECKPOINTS_JSON,
    COACH_CHECKPOINT,
    DRFC_CUSTOM_FILES,
    DRFC_DIR,
    DRFC_RUN_ENV,
    EVALUATION_DIR_PREFIX,
    HYPERPARAMETERS,
    HYPERPARAMETERS_DIR,
    METRICS_DIR,
    MODEL_DIR,
    MODEL_METADATA,
    POLICY_NETWORK,
    REWARD_FILE,
    SB3_SUFFIX,
    STATE_DICT_SUFFIX,
    TRAINING_METRICS,
    TRAINING_METRICS_COPY_PREFIX,
    TRAINING_METRICS_DIR,
    TRAINING_PARAMS,
    TRAINING_SIMTRACE_DIR,
    car_member,
    frozen_graph_name,
    onnx_name,
)
from deepracer_sim.formats.training_params import dump_training_params
from deepracer_sim.training.tf_weights import write_tf_model


@dataclass
class ExportResult:
    """What :func:`export_run` wrote."""

    out: Path
    checkpoint: str
    checkpoints: list[str]
    onnx: bool
    naming: TrackNaming
    copied_logs: dict[str, int]
    skipped: list[str]
    summary: list[str]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _replace(tmp: Path, dst: Path, force: bool) -> None:
    """Rename ``tmp`` to ``dst``; a non-empty ``dst`` (``force`` only) is renamed away first
    and deleted once the new folder is in place."""
    if not dst.exists():
        os.rename(tmp, dst)
        return
    if not any(dst.iterdir()):
        dst.rmdir()
        os.rename(tmp, dst)
        return
    if not force:
        raise ExportError(f"{dst} is not empty; give --force to replace it")
    trash = dst.parent / f".{dst.name}.{os.getpid()}.{time.time_ns()}.old"
    os.rename(dst, trash)
    try:
        os.rename(tmp, dst)
    except OSError:
        os.rename(trash, dst)
        raise
    shutil.rmtree(trash, ignore_errors=True)


@contextmanager
def atomic_folder(dst: Path, force: bool) -> Iterator[Path]:
    """Yield a temporary folder next to ``dst``; on success it replaces ``dst`` by renames, on
    any failure (Ctrl-C included) it is deleted and ``dst`` is untouched."""
    parent = dst.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".partial", dir=parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        _replace(tmp, dst, force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _tar_add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


# --------------------------------------------------------------------------------------------
# write

def _race(plan: ExportPlan):
    """(race type, objects) of the run (``run_config.json``)."""
    return (str(plan.config.get("race_type", "TIME_TRIAL")),
            objects_from_json(plan.config.get("objects"), str(plan.run_dir)))


def training_params(plan: ExportPlan) -> tuple[dict[str, str | list[str]], list[str]]:
    """(training_params.yaml's values, its comment lines) for the plan (spec §6.2)."""
    prefix = _s3_prefix(plan.out)
    rr = plan.round_robin
    naming = plan.naming
    params: dict[str, str | list[str]] = {
        "AWS_REGION": "us-east-1",
        "JOB_TYPE": "TRAINING",
        "METRICS_S3_BUCKET": "bucket",
        "METRICS_S3_OBJECT_KEY": f"{prefix}/{METRICS_DIR}/{TRAINING_METRICS}",
        "MODEL_METADATA_FILE_S3_KEY": f"{prefix}/{MODEL_DIR}/{MODEL_METADATA}",
        "REWARD_FILE_S3_KEY": f"{prefix}/{REWARD_FILE}",
        "SAGEMAKER_SHARED_S3_BUCKET": "bucket",
        "SAGEMAKER_SHARED_S3_PREFIX": prefix,
        "BODY_SHELL_TYPE": "deepracer",
        "CAR_COLOR": "Red",
        "CAR_NAME": "MyCar",
        "WORLD_NAME": naming.world_name,
        "DISPLAY_NAME": "racer1",
        "RACER_NAME": "racer1",
        "ALTERNATE_DRIVING_DIRECTION": str(bool(plan.config.get("alternate_direction"))).lower(),
        "CHANGE_START_POSITION": "true" if rr > 0 else "false",
        "ROUND_ROBIN_ADVANCE_DIST": repr(rr),
        "START_POSITION_OFFSET": "0.0",
        "ENABLE_DOMAIN_RANDOMIZATION": "false",
        "MIN_EVAL_TRIALS": "5",
        "BEST_MODEL_METRIC": "progress",
    }
    race_type, objects = _race(plan)
    params.update(world_params(race_type, objects))
    if naming.two_direction:
        params["TRACK_DIRECTION_CLOCKWISE"] = "true" if naming.clockwise else "false"
    elif naming.reverse:
        params["REVERSE_DIR"] = "true"
    comments = [f"written by deepracer-sim export from {plan.run_dir.resolve()} "
                f"(checkpoint {checkpoint_stem(plan.chosen)})", *naming.notes]
    return params, comments


def _s3_prefix(out: Path) -> str:
    """The model's S3 prefix in training_params.yaml: the folder name, in S3's characters."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", out.resolve().name) or "model"


def _onnx_note(exc: Exception) -> str:
    if isinstance(exc, ImportError):
        return (f"no ONNX export ({exc}): pip install onnx to get it; {CAR_ARCHIVE} holds the "
                f"{STATE_DICT_SUFFIX} weights instead")
    return f"no ONNX export: torch.onnx.export failed ({exc})"


def _write_camera_checkpoints(plan: ExportPlan, model: Path) -> dict[str, Path]:
    """Each checkpoint's .ckpt.zip and TensorFlow checkpoint, and the chosen one's
    model_<N>.pb; returns {chosen: its .pb}."""
    assert plan.camera is not None
    graphs = {}
    for name, (path, policy) in plan.policies.items():
        stem = checkpoint_stem(name)
        shutil.copyfile(path, model / (stem + SB3_SUFFIX))
        files = write_tf_model(policy, model, stem, frozen_graph=name == plan.chosen,
                               sensor=plan.camera.sensor)
        if "pb" in files:
            graphs[name] = files["pb"]
    return graphs


def _write_checkpoints(plan: ExportPlan, model: Path, result: ExportResult) -> dict[str, Path]:
    """Each checkpoint's .ckpt.zip, .ckpt.pt and model_<N>.onnx (a camera run: its TensorFlow
    files); returns the ONNX (or frozen graph) files."""
    if plan.camera is not None:
        return _write_camera_checkpoints(plan, model)
    onnx_files = {}
    for name, (path, policy) in plan.policies.items():
        stem = checkpoint_stem(name)
        atomic_copy(path, model / (stem + SB3_SUFFIX))
        buffer = io.BytesIO()
        torch.save(policy.state_dict(), buffer)
        atomic_write_bytes(model / (stem + STATE_DICT_SUFFIX), buffer.getvalue())
        onnx_path = model / onnx_name(checkpoint_iteration(stem))
        try:
            export_onnx(policy, plan.space, onnx_path)
            onnx_files[name] = onnx_path
        except Exception as exc:  # ONNX is an extra: the export goes on without it
            onnx_path.unlink(missing_ok=True)
            if _onnx_note(exc) not in result.summary:
                result.summary.append(_onnx_note(exc))
    return onnx_files


def _write_files(plan: ExportPlan, tmp: Path, result: ExportResult) -> dict[str, Path]:
    """The model folder's DeepRacer files; returns the ONNX files written."""
    model = tmp / MODEL_DIR
    model.mkdir()
    (tmp / HYPERPARAMETERS_DIR).mkdir()
    atomic_write_text(tmp / MODEL_METADATA, plan.metadata_text)
    atomic_write_text(model / MODEL_METADATA, plan.metadata_text)
    atomic_write_bytes(tmp / REWARD_FILE, plan.reward)
    atomic_write_text(tmp / HYPERPARAMETERS_DIR / HYPERPARAMETERS, plan.hyperparameters_text)
    atomic_write_text(tmp / TRAINING_PARAMS, dump_training_params(*training_params(plan)))
    onnx_files = _write_checkpoints(plan, model, result)
    write_coach_checkpoint(model / COACH_CHECKPOINT, checkpoint_stem(plan.chosen))
    write_checkpoints_json(model / CHECKPOINTS_JSON, plan.best, plan.last)
    if plan.camera is None:
        atomic_write_text(model / POLICY_NETWORK,
                          json_text(network_description(plan.space, plan.net_arch,
                                                        plan.algorithm)))
    return onnx_files


def json_text(doc: dict) -> str:
    """A JSON document as the export writes it (indent 2, newline)."""
    return json.dumps(doc, indent=2) + "\n"


def _copy_logs(plan: ExportPlan, tmp: Path, result: ExportResult) -> None:
    """The run's metrics/, training-simtrace/ and evaluation-*/ folders, plus the
    metrics/training/training-<stamp>.json copy DeepRacer-on-AWS imports (spec §6.2)."""
    run_dir = plan.run_dir
    for sub in (METRICS_DIR, TRAINING_SIMTRACE_DIR):
        if (run_dir / sub).is_dir() and not (run_dir / sub).is_symlink():
            result.copied_logs[sub] = copy_tree(run_dir / sub, tmp / sub, result.skipped)
    for folder in sorted(run_dir.glob(f"{EVALUATION_DIR_PREFIX}*")):
        if folder.is_dir() and not folder.is_symlink():
            result.copied_logs[folder.name] = copy_tree(folder, tmp / folder.name,
                                                        result.skipped)
    metrics_file = tmp / METRICS_DIR / TRAINING_METRICS
    copies = tmp / METRICS_DIR / TRAINING_METRICS_DIR
    if metrics_file.is_file() and not copies.exists():
        copies.mkdir()
        atomic_copy(metrics_file, copies / f"{TRAINING_METRICS_COPY_PREFIX}"
                                           f"{time.strftime('%Y%m%d%H%M%S')}.json")


def _write_car_archive(plan: ExportPlan, tmp: Path, onnx_files: dict[str, Path]) -> None:
    """model.tar.gz: model_metadata.json and the chosen checkpoint's network under agent/."""
    now = time.time()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        _tar_add_bytes(tar, MODEL_METADATA, plan.metadata_text.encode(), now)
        if plan.camera is not None:
            _tar_add_bytes(tar, car_member(CAR_TF_MODEL), onnx_files[plan.chosen].read_bytes(),
                           now)
        elif plan.chosen in onnx_files:
            _tar_add_bytes(tar, car_member(CAR_ONNX_MODEL), onnx_files[plan.chosen].read_bytes(),
                           now)
        else:
            weights = tmp / MODEL_DIR / (checkpoint_stem(plan.chosen) + STATE_DICT_SUFFIX)
            _tar_add_bytes(tar, car_member(CAR_STATE_DICT), weights.read_bytes(), now)
    atomic_write_bytes(tmp / CAR_ARCHIVE, buffer.getvalue())


def _write_drfc(plan: ExportPlan, tmp: Path) -> None:
    """deepracer-for-cloud/: custom_files/ and a run.env fragment."""
    drfc = tmp / DRFC_DIR
    custom = drfc / DRFC_CUSTOM_FILES
    custom.mkdir(parents=True)
    atomic_write_bytes(custom / REWARD_FILE, plan.reward)
    atomic_write_text(custom / MODEL_METADATA, plan.metadata_text)
    atomic_write_text(custom / HYPERPARAMETERS, plan.hyperparameters_text)
    naming, rr = plan.naming, plan.round_robin
    env = [f"# deepracer-for-cloud {DRFC_RUN_ENV} fragment: deepracer-sim export of "
           f"{plan.run_dir.name}",
           f"# copy {DRFC_CUSTOM_FILES}/* to your DRfC {DRFC_CUSTOM_FILES} "
           f"(dr-upload-custom-files) and merge these lines into {DRFC_RUN_ENV}"]
    if not naming.official:
        env.append(f"# {naming.local_name} is not an official DeepRacer track: set "
                   "DR_WORLD_NAME to one of the simapp's tracks")
    env += [f"DR_WORLD_NAME={naming.drfc_world}",
            f"DR_TRAIN_REVERSE_DIRECTION={naming.reverse}",
            f"DR_TRAIN_ALTERNATE_DRIVING_DIRECTION={bool(plan.config.get('alternate_direction'))}",
            f"DR_TRAIN_CHANGE_START_POSITION={rr > 0}",
            f"DR_TRAIN_ROUND_ROBIN_ADVANCE_DIST={rr!r}",
            "DR_TRAIN_START_POSITION_OFFSET=0.0",
            "DR_TRAIN_MIN_EVAL_TRIALS=5",
            "DR_TRAIN_BEST_MODEL_METRIC=progress",
            *drfc_env_lines(*_race(plan))]
    atomic_write_text(drfc / DRFC_RUN_ENV, "\n".join(env) + "\n")


def _summary(plan: ExportPlan, result: ExportResult) -> list[str]:
    naming = plan.naming
    return [
        f"exported {plan.run_dir} -> {plan.out}",
        f"checkpoint {result.checkpoint} ({COACH_CHECKPOINT}, {CAR_ARCHIVE}); {MODEL_DIR}/ "
        "holds " + ", ".join(result.checkpoints),
        f"track: WORLD_NAME {naming.world_name!r}"
        + (" (official)" if naming.official else " (NOT an official DeepRacer track)"),
        *naming.notes,
        *result.summary,
        *(f"copied {n} files of {k}/" for k, n in result.copied_logs.items()),
        *(f"skipped {p} (a link or special file)" for p in result.skipped),
        f"transfers to the cloud unchanged: {REWARD_FILE}, the action space, the "
        "hyperparameters, the track choice"
        + (f", the {plan.camera.network.name} weights (TensorFlow checkpoint, frozen graph "
           f"{MODEL_DIR}/{frozen_graph_name(checkpoint_iteration(result.checkpoint))}, "
           f"{car_member(CAR_TF_MODEL)} in {CAR_ARCHIVE})" if plan.camera is not None else ""),
        *([] if plan.camera is not None else [
            "does not transfer: the weights (the network reads a feature vector, not the "
            "camera); " + NOT_FOR_THE_CAR]),
        f"check it: deepracer-sim export --check {plan.out}",
    ]


def export_run(run_dir: str | os.PathLike, out: str | os.PathLike, checkpoint: str = "best",
               force: bool = False) -> ExportResult:
    """Export a ``train.py`` run folder as a DeepRacer model folder (module docstring).

    Raises:
        ExportError: bad run folder, bad destination; RunFolderError: not a run folder or no
            such checkpoint; ActionSpaceError / HyperparameterError / CheckpointError: broken
            run files.
    """
    plan = gather(run_dir, out, checkpoint, force)
    result = ExportResult(plan.out, checkpoint_stem(plan.chosen),
                          [checkpoint_stem(n) for n in plan.names], False, plan.naming, {}, [],
                          [])
    with atomic_folder(plan.out, force) as tmp:
        onnx_files = _write_files(plan, tmp, result)
        result.onnx = bool(onnx_files)
        _copy_logs(plan, tmp, result)
        _write_car_archive(plan, tmp, onnx_files)
        _write_drfc(plan, tmp)
    result.summary = _summary(plan, result)
    return result
