"""The first step of an export: read and check everything the export needs from a run folder,
before anything is written.

:func:`gather` reads the run's ``run_config.json``, ``model/model_metadata.json`` and
``ip/hyperparameters.json`` (each with its one reader and its rules, :mod:`deepracer_sim.formats`),
the reward file, ``deepracer_checkpoints.json`` and ``metrics/iterations.jsonl``, picks the
checkpoints to export, and rebuilds each checkpoint's policy from its weights
(:mod:`deepracer_sim.training.policy`; a camera run's from
:mod:`deepracer_sim.training.networks` with the ``neural_network`` of its
``model_metadata.json``), so that a broken run fails before the destination is touched.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from deepracer_sim.constants import ROUND_ROBIN_ADVANCE
from deepracer_sim.errors import ExportError
from deepracer_sim.export.naming import TrackNaming, track_naming
from deepracer_sim.export.safe_io import read_json, regular_file
from deepracer_sim.formats.checkpoints import (
    BEST,
    LAST,
    best_and_last,
    checkpoint_name,
    checkpoint_stem,
    missing_pointer,
    read_checkpoints_json,
)
from deepracer_sim.formats.hyperparameters import effective_hyperparameters, read_hyperparameters
from deepracer_sim.formats.model_metadata import (
    ActionSpace,
    metadata_text,
    read_model_metadata,
    read_training_algorithm,
)
from deepracer_sim.formats.run_folder import (
    CHECKPOINTS_JSON,
    HYPERPARAMETERS,
    HYPERPARAMETERS_DIR,
    MODEL_DIR,
    MODEL_METADATA,
    REWARD_FILE,
    RUN_CONFIG,
    RunFolder,
)
from deepracer_sim.formats.tf_variables import ModelSpec, model_spec
from deepracer_sim.training.networks import (
    camera_network,
    camera_policy_from_state_dict,
    is_camera_state_dict,
)
from deepracer_sim.training.policy import (
    Policy,
    policy_architecture,
    policy_from_state_dict,
    read_checkpoint_state,
)


@dataclass
class ExportPlan:
    """Everything :func:`~deepracer_sim.export.write.export_run` writes, read and checked.

    Attributes:
        run_dir, out, force: the export's arguments.
        config: the run's run_config.json.
        space, version: the run's model_metadata.json.
        hyperparameters: the effective DeepRacer hyperparameters (sorted, no sac_alpha).
        reward: the reward file's bytes.
        chosen: the run's checkpoint file the model stands for (``<N>_Step-<S>.zip``).
        names: the run's checkpoint files to export (chosen first).
        best, last: the exported ``deepracer_checkpoints.json`` entries.
        policies: run checkpoint file -> (its path, its policy rebuilt from the weights).
        net_arch: hidden layer sizes of the network (() for a camera network).
        naming: the track's cloud names.
        algorithm: model_metadata.json's ``training_algorithm`` (``clipped_ppo`` or ``sac``).
        camera: a camera model's network, action head and sensor (exported as DeepRacer's
            TensorFlow files); None for the feature-vector MLP.
    """

    run_dir: Path
    out: Path
    force: bool
    config: dict
    space: ActionSpace
    version: float
    hyperparameters: dict
    reward: bytes
    chosen: str
    names: list[str]
    best: dict
    last: dict
    policies: dict[str, tuple[Path, Policy]]
    net_arch: tuple[int, ...]
    naming: TrackNaming
    algorithm: str = "clipped_ppo"
    camera: ModelSpec | None = None

    @property
    def metadata_text(self) -> str:
        """model_metadata.json as written (indent 4; a camera model's network and sensor; the
        run's lidar next to the camera)."""
        lidar = str((self.config.get("objects") or {}).get("lidar", ""))
        if self.camera is None:
            return metadata_text(self.space, self.version, self.algorithm, lidar=lidar)
        return metadata_text(self.space, self.version, self.algorithm,
                             neural_network=self.camera.network.name, sensor=self.camera.sensor,
                             lidar=lidar)

    @property
    def hyperparameters_text(self) -> str:
        """hyperparameters.json as written (indent 2)."""
        return json.dumps(self.hyperparameters, indent=2) + "\n"

    @property
    def round_robin(self) -> float:
        """The run's round-robin advance, fraction of a lap (DeepRacer's default if absent)."""
        rr = self.config.get("round_robin_advance")
        return ROUND_ROBIN_ADVANCE if rr is None else float(rr)


def looks_like_export(path: Path) -> bool:
    """Whether a folder is an earlier export (the only kind ``--force`` replaces)."""
    return (path / MODEL_METADATA).exists() or (path / MODEL_DIR).is_dir()


def check_destination(run_dir: Path, out: Path, force: bool) -> None:
    """Refuse an ``--out`` that overlaps the run, is not a folder, or is a non-empty folder that
    may not be replaced.

    Raises:
        ExportError: the message says why and what to do.
    """
    src = run_dir.resolve()
    dst = out.resolve()
    if dst == src or src.is_relative_to(dst) or dst.is_relative_to(src):
        raise ExportError(f"--out {out} overlaps the run folder {run_dir}; export to a folder "
                          "outside it")
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise ExportError(f"--out {out} exists and is not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise ExportError(f"--out {out} is not empty; give --force to replace it")
        if not looks_like_export(out):
            raise ExportError(f"--out {out} is not empty and is not an earlier export (no "
                              f"{MODEL_METADATA} or {MODEL_DIR}/); --force only replaces an "
                              "export: choose another folder or empty it yourself")


def iteration_log(run: RunFolder) -> dict[str, dict]:
    """Per-checkpoint summaries of ``metrics/iterations.jsonl`` (empty if absent)."""
    path = run.iterations_log
    out: dict[str, dict] = {}
    if path.is_file() and not path.is_symlink():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict) and row.get("checkpoint"):
                out[row["checkpoint"]] = row
    return out


def export_entry(run_name: str, info: dict, log: dict[str, dict]) -> dict:
    """The exported ``deepracer_checkpoints.json`` entry of a run checkpoint (name,
    avg_eval_metric, time_stamp): the run's entry, else the iteration log's evaluation."""
    found = None
    for key in (BEST, LAST):
        e = info.get(key)
        if isinstance(e, dict) and e.get("name") == run_name:
            found = e
    metric = found.get("avg_eval_metric") if found else log.get(run_name, {}).get("eval_progress")
    stamp = found.get("time_stamp") if found else None
    return {"name": checkpoint_stem(run_name),
            "avg_eval_metric": metric if isinstance(metric, (int, float)) else None,
            "time_stamp": stamp if isinstance(stamp, (int, float)) else None}


def _pick(run: RunFolder, checkpoint: str) -> tuple[str, list[str], dict, dict]:
    """(chosen, names, best entry, last entry) of ``--checkpoint``."""
    if checkpoint not in ("best", "last") and not run.checkpoints_json.exists():
        info: dict = {}  # a checkpoint picked by hand needs no pointer
    else:
        info = read_checkpoints_json(regular_file(run.root, Path(MODEL_DIR, CHECKPOINTS_JSON),
                                                  f": {missing_pointer(run.model_dir)}"))
    chosen = checkpoint_name(run, str(checkpoint))
    log = iteration_log(run)
    if checkpoint not in ("best", "last"):
        entry = export_entry(chosen, info, log)
        return chosen, [chosen], entry, entry
    best_entry, last_entry = best_and_last(info, run.checkpoints_json)
    best_name, last_name = best_entry["name"], last_entry["name"]
    names = list(dict.fromkeys([chosen, best_name, last_name]))
    return chosen, names, export_entry(best_name, info, log), export_entry(last_name, info, log)


def _policies(run: RunFolder, names: list[str], space: ActionSpace, net_arch: tuple[int, ...],
              meta: dict) -> tuple[dict[str, tuple[Path, Policy]], tuple[int, ...],
                                   ModelSpec | None]:
    """Each checkpoint's policy (weights only), checked against the action space and the
    run's net_arch (a camera policy: against model_metadata.json's ``neural_network``);
    returns them, the network's hidden layer sizes and, for a camera run, its
    :class:`ModelSpec`."""
    policies: dict[str, tuple[Path, Policy]] = {}
    camera = None
    for name in names:
        path = regular_file(run.model_dir, name, " (pruned? pick another --checkpoint)")
        state, _ = read_checkpoint_state(path)
        if is_camera_state_dict(state):
            sensor, network = camera_network(meta)
            camera = model_spec(network, space, sensor)
            policies[name] = (path, camera_policy_from_state_dict(state, space, network,
                                                                  str(path)))
            net_arch = ()
            continue
        arch = policy_architecture(state).net_arch
        if net_arch and arch != net_arch:
            raise ExportError(f"{path}: hidden layers {arch} differ from {RUN_CONFIG}'s "
                              f"net_arch {list(net_arch)}")
        net_arch = arch
        policies[name] = (path, policy_from_state_dict(state, space, str(path)))
    return policies, net_arch, camera


def gather(run_dir: str | os.PathLike, out: str | os.PathLike, checkpoint: str = "best",
           force: bool = False) -> ExportPlan:
    """Read and check a run folder for export (module docstring).

    Raises:
        ExportError: bad run folder, bad destination; RunFolderError: not a run folder or no
            such checkpoint; ActionSpaceError / HyperparameterError / CheckpointError: broken
            run files.
    """
    run_dir, out = Path(run_dir), Path(out)
    run = RunFolder(run_dir)
    config = run.read_config()
    check_destination(run_dir, out, force)
    meta_path = regular_file(run_dir, Path(MODEL_DIR, MODEL_METADATA))
    space, version = read_model_metadata(meta_path)
    algorithm = read_training_algorithm(meta_path)
    hp = read_hyperparameters(regular_file(run_dir, Path(HYPERPARAMETERS_DIR, HYPERPARAMETERS)),
                              algorithm)
    reward = regular_file(run_dir, REWARD_FILE).read_bytes()
    chosen, names, best, last = _pick(run, checkpoint)
    net_arch = tuple(int(n) for n in config.get("net_arch") or ())
    meta = read_json(meta_path)
    assert isinstance(meta, dict)  # read_model_metadata refuses anything else
    policies, net_arch, camera = _policies(run, names, space, net_arch, meta)
    return ExportPlan(run_dir, out, force, config, space, version,
                      effective_hyperparameters(hp, algorithm), reward, chosen, names, best,
                      last, policies, net_arch, track_naming(config), algorithm, camera)
