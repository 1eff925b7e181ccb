"""``deepracer-sim export --check DIR``: check a model folder against DeepRacer's import rules.

:func:`check_folder` walks the folder as DeepRacer-on-AWS's import reads it (spec §6.2) and
hands each file to its one validator in :mod:`deepracer_sim.formats` (the same rules training
and export read the files with): ``model_metadata.json`` (root and ``model/``),
``reward_function.py``, ``training_params.yaml``, ``ip/hyperparameters.json``,
``model/.coach_checkpoint`` and ``model/deepracer_checkpoints.json`` with the checkpoint files
they name (whether our weights fit the action space, and a warning when a checkpoint zip's
``data`` member holds pickled entries), ``model.tar.gz`` and the metrics; plus links and the
folder size. Every problem is a :class:`~deepracer_sim.formats.problems.Problem`:
errors make an import fail, warnings are worth reading.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from deepracer_sim.errors import CheckpointError, ExportError
from deepracer_sim.export.policy import NOT_FOR_THE_CAR
from deepracer_sim.export.safe_io import (
    MAX_FOLDER_BYTES,
    archive_members,
    member_name,
    read_member,
    safe_extract,
    scan_folder,
)
from deepracer_sim.formats.checkpoint_zip import DATA_MEMBER, pickled_entries
from deepracer_sim.formats.checkpoints import (
    CHECKPOINT_NAME,
    NAME_EXAMPLE,
    NAME_PATTERN,
    check_checkpoint_name,
    check_checkpoints_json,
    check_coach_checkpoint,
    checkpoint_files,
    misnamed_checkpoint_file,
)
from deepracer_sim.formats.hyperparameters import check_hyperparameters
from deepracer_sim.formats.metrics import check_metrics
from deepracer_sim.formats.model_metadata import check_metadata_dict, entries_action_space
from deepracer_sim.formats.problems import UNREADABLE, WARNING, Problem, load_json
from deepracer_sim.formats.reward_file import check_reward_file
from deepracer_sim.formats.run_folder import (
    CAR_AGENT_DIR,
    CAR_ARCHIVE,
    CAR_TF_MODEL,
    CHECKPOINTS_JSON,
    COACH_CHECKPOINT,
    HYPERPARAMETERS,
    HYPERPARAMETERS_DIR,
    METRICS_DIR,
    METRICS_FILE_PREFIXES,
    MODEL_DIR,
    MODEL_METADATA,
    REWARD_FILE,
    SB3_SUFFIX,
    STATE_DICT_SUFFIX,
    TF_SUFFIXES,
    TRAINING_PARAMS,
    car_member,
    model_file,
)
from deepracer_sim.formats.training_params import check_training_params
from deepracer_sim.training.policy import (
    load_policy,
    policy_from_state_dict,
    read_checkpoint_state,
)

#: Archives :func:`check_path` unpacks first.
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


class _Folder:
    """The folder under check and the problems found so far."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def need(self, rel: str, fix: str) -> Path | None:
        """``root/rel`` if it is a regular file; else a problem (missing, or a link)."""
        p = self.root / rel
        if p.is_symlink():
            self.problems.append(Problem(rel, "is a symbolic link",
                                         "replace the link with the file"))
            return None
        if not p.is_file():
            self.problems.append(Problem(rel, "missing (required)", fix))
            return None
        return p

    def plain(self, rel: str) -> Path | None:
        """``root/rel`` if it is a regular file and not a link (no problem if not)."""
        p = self.root / rel
        return p if p.is_file() and not p.is_symlink() else None


def _check_links_and_size(folder: _Folder) -> None:
    links, total = scan_folder(folder.root)
    for rel in links:
        folder.problems.append(Problem(rel, "is a symbolic link (it could point outside the "
                                       "folder; uploads do not keep links)",
                                       "replace it with the file itself"))
    if total > MAX_FOLDER_BYTES:
        folder.problems.append(Problem(".", f"{total / 2**20:.0f} MiB", "DeepRacer-on-AWS "
                                       "imports at most 1 GiB: drop old checkpoints or logs"))


def _metadata(path: Path, where: str, out: list[Problem]) -> object:
    """The metadata of ``path`` (UNREADABLE if it is not JSON), its problems added to ``out``."""
    meta, problems = load_json(path, where)
    out += problems if meta is UNREADABLE else check_metadata_dict(meta, where)
    return meta


def _check_metadata(folder: _Folder) -> object:
    """Both model_metadata.json files; returns the root one's data (None if absent)."""
    root_meta = None
    path = folder.need(MODEL_METADATA, f"copy {model_file(MODEL_METADATA)} to the folder root")
    if path:
        root_meta = _metadata(path, MODEL_METADATA, folder.problems)
    inner_path = folder.plain(model_file(MODEL_METADATA))
    if inner_path:
        inner = _metadata(inner_path, model_file(MODEL_METADATA), folder.problems)
        if isinstance(root_meta, dict) and isinstance(inner, dict) and any(
                root_meta.get(k) != inner.get(k)
                for k in ("action_space", "action_space_type", "training_algorithm")):
            folder.problems.append(Problem(model_file(MODEL_METADATA), "differs from the root "
                                           f"{MODEL_METADATA}", "make both the same file"))
    return root_meta


def _check_hyperparameters(folder: _Folder) -> None:
    rel = f"{HYPERPARAMETERS_DIR}/{HYPERPARAMETERS}"
    if not (folder.root / rel).exists() and (folder.root / HYPERPARAMETERS).is_file():
        folder.problems.append(Problem(HYPERPARAMETERS, f"is at the folder root; the import "
                                       f"reads {rel}", f"move it to {rel}"))
        return
    path = folder.need(rel, f"add {rel} (DeepRacer's keys)")
    if path:
        folder.problems += check_hyperparameters(path, rel)


def _check_weights(model: Path, name: str, meta: dict) -> list[Problem]:
    """Whether our checkpoint's network fits the folder's action space."""
    where = model_file(name)
    space = entries_action_space(meta)
    if space is None:
        return []  # reported by the metadata check
    try:
        pt = model / (name + STATE_DICT_SUFFIX)
        if pt.is_file() and not pt.is_symlink():
            load_policy(pt, space)
        else:
            state, _ = read_checkpoint_state(model / (name + SB3_SUFFIX))
            policy_from_state_dict(state, space, where)
    except ExportError as exc:
        return [Problem(where, str(exc), f"export the checkpoint again with its own "
                        f"{MODEL_METADATA}")]
    return []


def _check_pickles(model: Path, name: str) -> list[Problem]:
    """A warning when a checkpoint zip's ``data`` member holds pickled entries."""
    where = model_file(name + SB3_SUFFIX)
    path = model / (name + SB3_SUFFIX)
    if not path.is_file() or path.is_symlink():
        return []
    try:
        found = pickled_entries(path)
    except CheckpointError as exc:
        return [Problem(where, str(exc).split(": ", 1)[-1], "export the checkpoint again")]
    if not found:
        return []
    return [Problem(
        where, f"its '{DATA_MEMBER}' member holds pickled entries ({', '.join(found)}): "
        "stable-baselines3's PPO.load unpickles them, which runs any code a crafted file "
        "carries (deepracer-sim never reads them: it loads the weights only)",
        "load this file only with deepracer-sim (weights only) or torch.load(weights_only=True) "
        "of its policy.pth; call PPO.load only on files you made yourself", WARNING)]


def _named_checkpoints(folder: _Folder) -> list[tuple[str, str]]:
    """[(where, name)] of the checkpoints .coach_checkpoint and deepracer_checkpoints.json
    name; their own problems are added."""
    named = []
    coach_rel = model_file(COACH_CHECKPOINT)
    coach = folder.need(coach_rel, f"write the checkpoint name, e.g. '{NAME_EXAMPLE}', to "
                        f"{coach_rel}")
    if coach:
        problems, name = check_coach_checkpoint(coach, coach_rel)
        folder.problems += problems
        if name is not None:
            named.append((coach_rel, name))
    info_path = folder.root / MODEL_DIR / CHECKPOINTS_JSON
    if info_path.exists():
        problems, found = check_checkpoints_json(info_path, model_file(CHECKPOINTS_JSON))
        folder.problems += problems
        named += found
    return named


def _check_checkpoints(folder: _Folder, root_meta: object) -> None:
    model = folder.root / MODEL_DIR
    weighed: set[str] = set()
    for where, name in _named_checkpoints(folder):
        if not CHECKPOINT_NAME.match(name):
            folder.problems += check_checkpoint_name(name, where)
            continue
        files, fmt = checkpoint_files(model, name)
        if fmt is None:
            folder.problems.append(Problem(
                where, f"names {name} but {MODEL_DIR}/ has no checkpoint files for it (found "
                f"{files or 'none'})", f"add {model_file(name)}{'/'.join(TF_SUFFIXES)} "
                f"(DeepRacer) or {model_file(name)}{SB3_SUFFIX}/{STATE_DICT_SUFFIX} "
                "(deepracer-sim)"))
        elif fmt == "sb3" and name not in weighed:
            weighed.add(name)
            if isinstance(root_meta, dict):
                folder.problems += _check_weights(model, name, root_meta)
            folder.problems += _check_pickles(model, name)
    if weighed:
        folder.problems.append(Problem(
            f"{MODEL_DIR}/", "holds deepracer-sim (PyTorch) checkpoints, not TensorFlow ones: "
            "DeepRacer-on-AWS validates an import by loading the checkpoint in its simapp, so "
            "the imported model will not pass that validation or drive",
            f"to race in the cloud, create a model there with this folder's {REWARD_FILE}, "
            f"action space ({MODEL_METADATA}), hyperparameters and track, or train it in "
            "deepracer-for-cloud with deepracer-for-cloud/custom_files", WARNING))
    if model.is_dir():
        for p in sorted(model.iterdir()):
            if misnamed_checkpoint_file(p.name):
                folder.problems.append(Problem(model_file(p.name), "checkpoint file not named "
                                               f"{NAME_PATTERN}.*", "rename it, e.g. "
                                               f"{NAME_EXAMPLE}{TF_SUFFIXES[0]}"))


def _archive_metadata(path: Path, root_meta: object, where: str) -> list[Problem]:
    try:
        data = read_member(path, MODEL_METADATA)
    except ExportError as exc:
        return [Problem(where, str(exc).split(": ", 1)[-1], f"put the folder's {MODEL_METADATA} "
                        "in the archive")]
    try:
        inner = None if data is None else json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        inner = None
    if inner is None:
        return [Problem(where, f"{MODEL_METADATA} inside is not valid JSON",
                        f"put the folder's {MODEL_METADATA} in the archive")]
    if isinstance(root_meta, dict) and (not isinstance(inner, dict) or inner.get(
            "action_space") != root_meta.get("action_space")):
        return [Problem(where, f"its {MODEL_METADATA} has another action space than the "
                        "folder's", "rebuild the archive with the folder's file")]
    return []


def check_archive(path: Path, root_meta: object, where: str = CAR_ARCHIVE) -> list[Problem]:
    """Problems of ``model.tar.gz`` (the physical car's layout: ``model_metadata.json`` at the
    root, one policy file under ``agent/``; only plain members)."""
    try:
        members = archive_members(path)
    except ExportError as exc:
        return [Problem(where, str(exc).split(": ", 1)[-1], f"rebuild {CAR_ARCHIVE} from plain "
                        f"files: {MODEL_METADATA} and {car_member('<policy>')}")]
    names = [member_name(m) for m in members if m.isfile()]
    out = []
    if MODEL_METADATA not in names:
        out.append(Problem(where, f"no {MODEL_METADATA} at the archive root",
                           f"add {MODEL_METADATA} at the root (the car reads it there)"))
    else:
        out += _archive_metadata(path, root_meta, where)
    models = [n for n in names if n.startswith(f"{CAR_AGENT_DIR}/")]
    if len(models) != 1:
        out.append(Problem(where, f"{len(models)} policy files under {CAR_AGENT_DIR}/",
                           f"put exactly one policy file under {CAR_AGENT_DIR}/"))
    if len([n for n in names if n.endswith(Path(CAR_TF_MODEL).suffix)]) != 1:
        out.append(Problem(where, f"{NOT_FOR_THE_CAR} (no {car_member(CAR_TF_MODEL)})",
                           "use the archive for inspection only; train in the cloud for the car",
                           WARNING))
    return out


def _check_car_archive(folder: _Folder, root_meta: object) -> None:
    path = folder.root / CAR_ARCHIVE
    if path.is_file() and not path.is_symlink():
        folder.problems += check_archive(path, root_meta)
    elif not path.exists():
        folder.problems.append(Problem(CAR_ARCHIVE, "missing (the classic console required "
                                       "it; DeepRacer-on-AWS does not)", f"add {CAR_ARCHIVE} "
                                       "for the classic console's import", WARNING))


def _check_metrics(folder: _Folder) -> None:
    for p in sorted(folder.root.glob(f"{METRICS_DIR}/**/*.json")):
        if p.is_file() and not p.is_symlink() and p.name.startswith(METRICS_FILE_PREFIXES):
            folder.problems += check_metrics(p, str(p.relative_to(folder.root)))


def check_folder(path: str | os.PathLike) -> list[Problem]:
    """Check a model folder against DeepRacer's import rules (spec §6.2) and the file
    schemas (spec §4-§6); see the module docstring. Errors make an import fail; warnings are
    worth reading."""
    folder = _Folder(Path(path))
    _check_links_and_size(folder)
    root_meta = _check_metadata(folder)
    reward = folder.need(REWARD_FILE, "add the reward function the model was trained with")
    if reward:
        folder.problems += check_reward_file(reward, REWARD_FILE)
    params = folder.need(TRAINING_PARAMS, f"add {TRAINING_PARAMS} (python -m "
                         "deepracer_sim.export writes one)")
    if params:
        folder.problems += check_training_params(params, TRAINING_PARAMS)
    _check_hyperparameters(folder)
    _check_checkpoints(folder, root_meta)
    _check_car_archive(folder, root_meta)
    _check_metrics(folder)
    return folder.problems


def check_path(path: str | os.PathLike) -> list[Problem]:
    """:func:`check_folder` of a folder, or of a ``.tar.gz`` of one (extracted safely to a
    temporary folder first).

    Raises:
        ExportError: not a folder, or an archive with unsafe members (nothing is extracted).
    """
    path = Path(path)
    if path.is_file() and path.name.endswith(ARCHIVE_SUFFIXES):
        with tempfile.TemporaryDirectory() as tmp:
            safe_extract(path, tmp)
            entries = list(Path(tmp).iterdir())
            root = entries[0] if len(entries) == 1 and entries[0].is_dir() else Path(tmp)
            return check_folder(root)
    if not path.is_dir():
        raise ExportError(f"--check {path}: not a folder")
    return check_folder(path)
