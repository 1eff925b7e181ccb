"""Export a training run as a DeepRacer model folder, check such a folder, and clone from one.

    python -m deepracer_sim.export RUN_DIR --out DIR [--checkpoint best|last|N] [--force]
    python -m deepracer_sim.export --check DIR

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

A checkpoint is named as DeepRacer names its TensorFlow checkpoints: ``<iteration>_Step-<steps>``
+ ``.ckpt``, and its files share that prefix. ``--checkpoint`` picks the checkpoint the model
stands for (``.coach_checkpoint`` and ``model.tar.gz``): ``best`` (default), ``last``, or an
iteration number. With ``best``/``last`` both the best and the last checkpoint are exported and
``deepracer_checkpoints.json`` points at them as the run's does; with an iteration number only
that checkpoint is exported and is both best and last (as ``upload-model.sh`` rewrites it).

What the cloud can use: the reward function, action space, hyperparameters and track choice
transfer unchanged. The weights do not: our network sees :mod:`deepracer_sim.observation`'s
feature vector, not DeepRacer's 120x160 camera image, so neither the simapp nor the physical
car can run it (the car wants ``agent/model.pb``, a TensorFlow graph over camera frames).

Safety: the export is written to a temporary folder next to DIR and renamed into place, so an
interrupted export never leaves a partial DIR; a non-empty DIR is replaced only with
``--force`` and only if it is an earlier export. Reading a folder or archive back never
follows links or writes outside its target, and weights are only ever loaded with
``torch.load(weights_only=True)`` (stable-baselines3's ``set_parameters`` does the same; its
``PPO.load`` would also unpickle the ``data`` member, so it is never used here).
"""

from __future__ import annotations

import ast
import io
import json
import math
import os
import re
import shutil
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepracer_sim.constants import (
    MAX_DISCRETE_ACTIONS,
    MAX_SPEED,
    MAX_STEERING_ANGLE,
    MIN_DISCRETE_ACTIONS,
    MIN_SPEED,
)
from deepracer_sim.errors import ExportError
from deepracer_sim.formats.hyperparameters import (
    DEEPRACER_DEFAULTS,
    effective_hyperparameters,
    validate_hyperparameters,
)
from deepracer_sim.formats.model_metadata import ActionSpace, ActionSpaceError, read_model_metadata
from deepracer_sim.track import _catalog_data as track_catalog

#: The official simapp route names (``bundle/routes/<name>.npy``) and the direction of their row
#: order: "ccw", "cw" or "open".
OFFICIAL_TRACKS: dict[str, str] = {
    row[0]: (row[4].lower() if row[3] else "open") for row in track_catalog.ROWS
}
#: DeepRacer-on-AWS track ids that can be driven both ways (``tracks.json``
#: ``enabledDirections``): their WORLD_NAME has no ``_cw``/``_ccw`` suffix and
#: ``TRACK_DIRECTION_CLOCKWISE`` picks the route file.
TWO_DIRECTION_TRACKS = frozenset((
    "2024_reinvent_champ", "2022_april_open", "2022_april_pro", "2022_august_open",
    "2022_august_pro", "2022_july_pro", "2022_june_open", "2022_june_pro", "2022_march_open",
    "2022_march_pro", "2022_may_open", "2022_may_pro", "2022_october_open", "2022_october_pro",
    "2022_reinvent_champ", "2022_september_open", "2022_september_pro", "2022_summit_speedway",
    "arctic_open", "arctic_pro", "dubai_open", "jyllandsringen_open", "jyllandsringen_pro",
    "penbay_open", "penbay_pro", "red_star_pro", "reInvent2019_track", "reInvent2019_wide",
    "thunder_hill_pro",
))

#: ``<iteration>_Step-<steps>.ckpt``: DeepRacer's checkpoint name (spec §6.1).
CHECKPOINT_NAME = re.compile(r"^(\d+)_Step-(\d+)\.ckpt$")
#: Names of the files that make up one of our checkpoints, after the ``.ckpt`` prefix.
SB3_SUFFIX = ".zip"
STATE_DICT_SUFFIX = ".pt"
#: The files of a DeepRacer (TensorFlow) checkpoint, after the ``.ckpt`` prefix.
TF_SUFFIXES = (".index", ".data-00000-of-00001", ".meta")
#: ONNX input/output names of the exported policy network.
ONNX_INPUT = "observation"
ONNX_PROBABILITIES = "action_probabilities"
ONNX_MEAN = "action_mean"
ONNX_LOG_STD = "action_log_std"
ONNX_OPSET = 17
#: DeepRacer-on-AWS's import limit (``MAX_FOLDER_SIZE``).
MAX_FOLDER_BYTES = 1024**3
#: What a stable-baselines3 checkpoint zip may contain.
SB3_MEMBERS = frozenset(("data", "policy.pth", "policy.optimizer.pth", "pytorch_variables.pth",
                         "_stable_baselines3_version", "system_info.txt"))
#: Keys of training_params.yaml as DRfC writes them (spec §6.2).
TRAINING_PARAMS_KEYS = (
    "AWS_REGION", "JOB_TYPE", "METRICS_S3_BUCKET", "METRICS_S3_OBJECT_KEY",
    "MODEL_METADATA_FILE_S3_KEY", "REWARD_FILE_S3_KEY", "SAGEMAKER_SHARED_S3_BUCKET",
    "SAGEMAKER_SHARED_S3_PREFIX", "BODY_SHELL_TYPE", "CAR_COLOR", "CAR_NAME", "RACE_TYPE",
    "WORLD_NAME", "DISPLAY_NAME", "RACER_NAME", "ALTERNATE_DRIVING_DIRECTION",
    "CHANGE_START_POSITION", "ROUND_ROBIN_ADVANCE_DIST", "START_POSITION_OFFSET",
    "ENABLE_DOMAIN_RANDOMIZATION", "MIN_EVAL_TRIALS",
)
CAMERA_SENSORS = ("FRONT_FACING_CAMERA", "LEFT_CAMERA", "STEREO_CAMERAS", "observation")
LIDAR_SENSORS = ("LIDAR", "SECTOR_LIDAR", "DISCRETIZED_SECTOR_LIDAR")
NEURAL_NETWORKS = ("DEEP_CONVOLUTIONAL_NETWORK_SHALLOW", "DEEP_CONVOLUTIONAL_NETWORK",
                   "DEEP_CONVOLUTIONAL_NETWORK_DEEP")
METADATA_KEYS = ("action_space", "sensor", "neural_network", "version", "training_algorithm",
                 "action_space_type", "lidar_config")
#: TrainingMetrics / EvaluationMetrics entries (spec §6.4).
TRAINING_METRIC_KEYS = ("reward_score", "metric_time", "start_time",
                        "elapsed_time_in_milliseconds", "episode", "trial", "phase",
                        "completion_percentage", "episode_status")
EVALUATION_METRIC_KEYS = ("completion_percentage", "metric_time", "start_time",
                          "elapsed_time_in_milliseconds", "episode_status", "crash_count",
                          "immobilized_count", "off_track_count", "reversed_count",
                          "reset_count", "trial")
EPISODE_STATUS_LABELS = ("Lap complete", "Off track", "Crashed", "Reversed", "Immobilized",
                         "In progress", "Pause", "Park", "Time Up", "Prepare")
NOT_FOR_THE_CAR = (
    "the physical car cannot run this policy: it loads agent/model.pb, a TensorFlow graph over "
    "120x160 camera frames; this network reads deepracer-sim's feature vector")


# --------------------------------------------------------------------------------------------
# reading files safely

def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True


def _regular_file(root: Path, rel: str | Path, what: str = "") -> Path:
    """``root/rel`` if it is a regular file inside ``root`` (not a link).

    Raises:
        ExportError: missing, a link, not a regular file, or outside ``root``.
    """
    path = Path(root) / rel
    if path.is_symlink():
        raise ExportError(f"{path} is a symbolic link; links are not followed (one could point "
                          "outside the folder): replace it with the file itself")
    if not path.exists():
        raise ExportError(f"{path} is missing{what}")
    if not path.is_file() or not _inside(root, path):
        raise ExportError(f"{path} is not a regular file inside {root}")
    return path


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ExportError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg}") from None
    except UnicodeDecodeError:
        raise ExportError(f"{path}: not UTF-8 text") from None


def _copy_tree(src: Path, dst: Path, skipped: list[str]) -> int:
    """Copy the regular files under ``src`` to ``dst`` (links and special files are skipped
    and listed in ``skipped``). Returns the number of files copied."""
    count = 0
    for folder, dirs, files in os.walk(src, followlinks=False):
        here = Path(folder)
        for name in list(dirs):
            if (here / name).is_symlink():
                skipped.append(str(here / name))
                dirs.remove(name)
        for name in files:
            path = here / name
            if path.is_symlink() or not path.is_file():
                skipped.append(str(path))
                continue
            target = dst / path.relative_to(src)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            count += 1
    return count


# --------------------------------------------------------------------------------------------
# archives

def _unsafe_member(member: tarfile.TarInfo) -> str | None:
    """Why a tar member must not be extracted (None if it is a plain file or folder)."""
    name = member.name
    parts = Path(name.replace("\\", "/")).parts
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "an absolute path"
    if ".." in parts:
        return "a path that climbs out of the archive (..)"
    if member.issym() or member.islnk():
        return f"a link (to {member.linkname!r})"
    if not (member.isfile() or member.isdir()):
        return "a special file (device, fifo)"
    return None


def archive_members(path: str | os.PathLike) -> list[tarfile.TarInfo]:
    """The members of a ``.tar.gz``, refusing any that could write outside a target folder.

    Raises:
        ExportError: not a tar archive, or a member that is a link, a special file, an absolute
            path or one with ``..`` (the message names the member).
    """
    path = Path(path)
    try:
        with tarfile.open(path, "r:*") as tar:
            members = tar.getmembers()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ExportError(f"{path}: not a readable tar archive ({exc})") from None
    for member in members:
        why = _unsafe_member(member)
        if why is not None:
            raise ExportError(f"{path}: member {member.name!r} is {why}; refusing the archive "
                              "(re-create it from plain files)")
    return members


def safe_extract(archive: str | os.PathLike, target: str | os.PathLike) -> list[Path]:
    """Extract a ``.tar.gz`` into ``target`` (created), plain files and folders only.

    Every member is checked first (:func:`archive_members`), so a malicious archive writes
    nothing; each destination is also checked to resolve inside ``target``.

    Returns:
        the extracted files.
    """
    members = archive_members(archive)
    root = Path(target)
    root.mkdir(parents=True, exist_ok=True)
    out = []
    with tarfile.open(archive, "r:*") as tar:
        for member in members:
            dest = root / member.name
            if not _inside(root, dest):
                raise ExportError(f"{archive}: member {member.name!r} resolves outside {root}")
            if member.isdir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.is_symlink():
                raise ExportError(f"{dest} is a link; refusing to write through it")
            src = tar.extractfile(member)
            assert src is not None
            with src, open(dest, "wb") as fh:
                shutil.copyfileobj(src, fh)
            out.append(dest)
    return out


# --------------------------------------------------------------------------------------------
# the policy network

def _torch():
    import torch

    return torch


def policy_architecture(state: dict) -> tuple[int, tuple[int, ...], int, bool]:
    """(observation size, hidden sizes, action outputs, continuous) of an SB3 ActorCritic
    state dict.

    Raises:
        ExportError: not a stable-baselines3 MLP policy state dict, or policy and value
            networks of different sizes.
    """
    torch = _torch()
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor)
                                              for v in state.values()):
        raise ExportError("not a policy state dict (a mapping of names to tensors)")

    def layers(prefix: str) -> list[tuple[int, int]]:
        found = {}
        for key, value in state.items():
            m = re.fullmatch(prefix + r"\.(\d+)\.weight", key)
            if m:
                found[int(m.group(1))] = tuple(value.shape)
        return [found[k] for k in sorted(found)]

    pi = layers(r"mlp_extractor\.policy_net")
    vf = layers(r"mlp_extractor\.value_net")
    if "action_net.weight" not in state or not pi:
        raise ExportError("not a stable-baselines3 MLP policy (no mlp_extractor.policy_net / "
                          "action_net weights)")
    arch = tuple(int(shape[0]) for shape in pi)
    if tuple(int(shape[0]) for shape in vf) != arch:
        raise ExportError(f"policy network {arch} and value network "
                          f"{tuple(s[0] for s in vf)} differ; train.py uses the same sizes")
    return int(pi[0][1]), arch, int(state["action_net.weight"].shape[0]), "log_std" in state


def _gym_spaces(space: ActionSpace):
    import gymnasium as gym

    from deepracer_sim.sim.observation import OBS_DIM, observation_bounds

    low, high = observation_bounds()
    obs = gym.spaces.Box(low, high, (OBS_DIM,), np.float32)
    act = (gym.spaces.Box(-1.0, 1.0, (2,), np.float32) if space.continuous
           else gym.spaces.Discrete(len(space)))
    return obs, act


def build_policy(space: ActionSpace, net_arch: tuple[int, ...]):
    """A fresh stable-baselines3 ``ActorCriticPolicy`` as ``train.py`` builds it (CPU)."""
    from stable_baselines3.common.policies import ActorCriticPolicy

    obs, act = _gym_spaces(space)
    # ortho_init=False: the weights are loaded right after, no need for the (slow) QR init
    return ActorCriticPolicy(obs, act, lambda _: 0.0, ortho_init=False,
                             net_arch={"pi": list(net_arch), "vf": list(net_arch)})


def policy_from_state_dict(state: dict, space: ActionSpace,
                           source: str = "checkpoint"):
    """A policy with the weights of ``state`` (checked against ``space`` and the observation).

    Raises:
        ExportError: a network that does not fit the action space or the observation.
    """
    from deepracer_sim.sim.observation import OBS_DIM

    try:
        obs_dim, arch, n_out, continuous = policy_architecture(state)
    except ExportError as exc:
        raise ExportError(f"{source}: {exc}") from None
    want = 2 if space.continuous else len(space)
    if continuous != space.continuous or n_out != want:
        raise ExportError(f"{source}: the network has {n_out} "
                          f"{'continuous' if continuous else 'discrete'} outputs but the action "
                          f"space has {want} ({'continuous' if space.continuous else 'discrete'});"
                          " the model_metadata.json does not belong to these weights")
    if obs_dim != OBS_DIM:
        raise ExportError(f"{source}: the network reads {obs_dim} inputs, this simulator's "
                          f"observation has {OBS_DIM}: it was trained by another version")
    policy = build_policy(space, arch)
    policy.load_state_dict(state, strict=True)
    policy.set_training_mode(False)
    return policy


def load_policy_weights(path: str | os.PathLike, space: ActionSpace):
    """Load a ``.pt`` state dict (``torch.load(weights_only=True)``: no code runs) into a
    fresh policy."""
    torch = _torch()
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors of many kinds
        raise ExportError(f"{path}: cannot be loaded as plain weights ({exc})") from None
    return policy_from_state_dict(state, space, str(path))


def checkpoint_state(path: str | os.PathLike) -> tuple[dict, dict | None]:
    """(policy state dict, optimizer state dict) of a stable-baselines3 checkpoint zip, read
    with ``torch.load(weights_only=True)`` only (the pickled ``data`` member is not read).

    Raises:
        ExportError: not a zip, unexpected members, or no policy weights.
    """
    from stable_baselines3.common.save_util import load_from_zip_file

    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ExportError(f"{path}: not a stable-baselines3 checkpoint zip ({exc})") from None
    extra = sorted(set(names) - SB3_MEMBERS)
    if extra:
        raise ExportError(f"{path}: unexpected members {extra} in a stable-baselines3 "
                          "checkpoint")
    try:
        _, params, _ = load_from_zip_file(path, load_data=False, device="cpu")
    except Exception as exc:
        raise ExportError(f"{path}: cannot read the weights ({exc})") from None
    if "policy" not in params:
        raise ExportError(f"{path}: no policy weights (policy.pth) in the checkpoint")
    return params["policy"], params.get("policy.optimizer")


class _OnnxPolicy:
    """Builds the torch module exported to ONNX (the policy tower and its head)."""

    @staticmethod
    def module(policy, continuous: bool):
        torch = _torch()

        class PolicyNetwork(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.policy_net = policy.mlp_extractor.policy_net
                self.action_net = policy.action_net
                if continuous:
                    self.log_std = policy.log_std

            def forward(self, observation):
                out = self.action_net(self.policy_net(observation))
                if continuous:
                    return out, self.log_std.expand_as(out)
                return torch.softmax(out, dim=-1)

        return PolicyNetwork().eval()


def export_onnx(policy, space: ActionSpace, path: Path) -> None:
    """Write the policy network as ONNX (inputs/outputs: :func:`network_description`).

    Raises:
        ImportError: the ``onnx`` package (which torch's exporter needs) is not installed.
    """
    import warnings

    torch = _torch()
    from deepracer_sim.sim.observation import OBS_DIM

    module = _OnnxPolicy.module(policy, space.continuous)
    outputs = [ONNX_MEAN, ONNX_LOG_STD] if space.continuous else [ONNX_PROBABILITIES]
    dummy = torch.zeros(1, OBS_DIM, dtype=torch.float32)
    axes = {name: {0: "batch"} for name in [ONNX_INPUT, *outputs]}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(module, (dummy,), str(path), input_names=[ONNX_INPUT],
                              output_names=outputs, dynamic_axes=axes,
                              opset_version=ONNX_OPSET, dynamo=False)
        except Exception as exc:
            if "onnx" in str(exc).lower() and "not installed" in str(exc).lower():
                raise ImportError(str(exc)) from None
            raise


def observation_features() -> list[str]:
    """Names of the observation vector's entries (:mod:`deepracer_sim.observation`)."""
    from deepracer_sim.sim.observation import LOOKAHEAD

    names = ["speed / 4 m/s", "steering angle / 30 deg (+ = left)",
             "lateral offset from the centre line / (track width / 2) (+ = left)",
             "sin(yaw - centre-line direction)", "cos(yaw - centre-line direction)"]
    for d in LOOKAHEAD.tolist():
        names += [f"centre line {d:g} m ahead: forward / 3 m (car frame)",
                  f"centre line {d:g} m ahead: left / 3 m (car frame)"]
    return names


def network_description(space: ActionSpace, net_arch: tuple[int, ...]) -> dict:
    """The ``model/policy_network.json`` document (ONNX input/output names and shapes)."""
    from deepracer_sim.sim.observation import OBS_DIM, observation_bounds

    low, high = observation_bounds()
    if space.continuous:
        outputs = [
            {"name": ONNX_MEAN, "shape": ["batch", 2], "dtype": "float32",
             "meaning": "mean action [steering, speed] in [-1, 1] units; clip to [-1, 1], then "
                        "scale (high - low) / 2 * (a + 1) + low with model_metadata.json's "
                        "steering_angle and speed (spec §4.1); evaluation drives the mean"},
            {"name": ONNX_LOG_STD, "shape": ["batch", 2], "dtype": "float32",
             "meaning": "log standard deviation of the Gaussian training samples from"},
        ]
    else:
        outputs = [{"name": ONNX_PROBABILITIES, "shape": ["batch", len(space)],
                    "dtype": "float32",
                    "meaning": "probability of each model_metadata.json action_space entry, in "
                               "list order (softmax); evaluation drives the most likely one"}]
    return {
        "format": "deepracer-sim policy network (stable-baselines3 PPO MlpPolicy, PyTorch)",
        "net_arch": list(net_arch),
        "activation": "tanh",
        "value_net_arch": list(net_arch),
        "onnx": {
            "opset": ONNX_OPSET,
            "inputs": [{"name": ONNX_INPUT, "shape": ["batch", OBS_DIM], "dtype": "float32",
                        "features": observation_features(),
                        "low": low.tolist(), "high": high.tolist()}],
            "outputs": outputs,
        },
        "files": {
            "<N>_Step-<S>.ckpt.zip": "stable-baselines3 checkpoint (policy + optimizer); "
                                     "train.py --clone starts from it. PPO.load unpickles its "
                                     "'data' member: load only files you trust",
            "<N>_Step-<S>.ckpt.pt": "policy state_dict: torch.load(path, weights_only=True)",
            "model_<N>.onnx": "the policy network of checkpoint N (inputs/outputs above)",
        },
        "cloud": "The network sees deepracer-sim's feature vector, not DeepRacer's 120x160 "
                 "camera image: DeepRacer's simapp and the physical car cannot load these "
                 "weights. The reward function, action space, hyperparameters and track "
                 "transfer unchanged.",
    }


# --------------------------------------------------------------------------------------------
# training_params.yaml

def _yaml_quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def dump_training_params(params: dict[str, str], comments: list[str] = ()) -> str:
    """The YAML text as DRfC writes it (``yaml.dump(default_style="'", explicit_start=True)``:
    ``---`` header, sorted keys, keys and values single-quoted), comments after the header."""
    lines = ["---", *(f"# {c}" for c in comments)]
    lines += [f"{_yaml_quote(k)}: {_yaml_quote(params[k])}" for k in sorted(params)]
    return "\n".join(lines) + "\n"


_YAML_KEY = r"(?:'(?:[^']|'')*'|\"(?:[^\"\\]|\\.)*\"|[A-Za-z_][A-Za-z0-9_]*)"
_YAML_STR = r"(?:'(?:[^']|'')*'|\"(?:[^\"\\]|\\.)*\")"
_YAML_LINE = re.compile(rf"^(?P<key>{_YAML_KEY})\s*:(?:\s+(?P<value>.*?))?\s*$")
_YAML_ITEM = re.compile(rf"^\s*-\s+(?P<value>{_YAML_STR})\s*(?:#.*)?$")


def _yaml_unquote(text: str) -> str:
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    if text.startswith('"'):
        return json.loads(text) if "\\" in text else text[1:-1]
    return text


def parse_training_params(text: str) -> tuple[dict[str, object], list[str]]:
    """Parse a flat ``training_params.yaml`` whose values are quoted strings (or lists of
    them, DRfC's OBJECT_POSITIONS).

    Returns:
        (params, problems): every line that is not ``---``, a comment, ``KEY: 'value'`` or a
        list item is a problem ("line N: ...").
    """
    params: dict[str, object] = {}
    problems: list[str] = []
    started = False
    last_key: str | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not started:
            if stripped != "---":
                problems.append(f"line {n}: the file must start with the '---' document header "
                                f"(found {stripped[:40]!r})")
            started = True
            if stripped == "---":
                continue
        item = _YAML_ITEM.match(line)
        if item and last_key is not None and isinstance(params.get(last_key), list):
            params[last_key].append(_yaml_unquote(item.group("value")))
            continue
        m = _YAML_LINE.match(line)
        if not m:
            problems.append(f"line {n}: not a 'KEY': 'value' line: {stripped[:60]!r}")
            continue
        key = _yaml_unquote(m.group("key"))
        value = (m.group("value") or "").strip()
        if key in params:
            problems.append(f"line {n}: {key} is given twice")
        if not value:
            params[key] = []
            last_key = key
            continue
        vm = re.fullmatch(rf"(?P<v>{_YAML_STR})\s*(?:#.*)?", value)
        if not vm:
            problems.append(f"line {n}: {key}: {value[:40]} is not a quoted string (write "
                            f"{_yaml_quote(value)})")
            params[key] = value
        else:
            params[key] = _yaml_unquote(vm.group("v"))
        last_key = key
    if not started:
        problems.append("the file is empty (it needs the '---' header and the training keys)")
    return params, problems


# --------------------------------------------------------------------------------------------
# track naming

@dataclass
class TrackNaming:
    """How the run's track is named in the cloud.

    Attributes:
        local_name: the track name the run used (its file stem).
        official: whether that is an official DeepRacer track.
        world_name: training_params.yaml WORLD_NAME (DeepRacer-on-AWS's track id for tracks
            driven both ways: no ``_cw``/``_ccw`` suffix).
        clockwise: the direction driven (None for an open track); with
            ``two_direction`` it is training_params.yaml's TRACK_DIRECTION_CLOCKWISE.
        drfc_world: deepracer-for-cloud's DR_WORLD_NAME (the route file trained on).
        notes: remarks for the yaml comments and the printed summary.
    """

    local_name: str
    official: bool
    world_name: str
    two_direction: bool
    clockwise: bool | None
    drfc_world: str
    reverse: bool
    notes: list[str] = field(default_factory=list)


def _file_direction(track_path: str | None) -> str | None:
    """"ccw"/"cw"/"open" from a track file's centre line (shoelace sign), None if unreadable."""
    if not track_path:
        return None
    try:
        wp = np.load(track_path, allow_pickle=False)
    except (OSError, ValueError):
        return None
    if wp.ndim != 2 or wp.shape[1] != 6 or len(wp) < 3:
        return None
    if not np.array_equal(wp[0], wp[-1]):
        return "open"
    x, y = wp[:, 0], wp[:, 1]
    area = float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))
    return "ccw" if area > 0 else "cw"


def track_naming(config: dict) -> TrackNaming:
    """Name the run's track for the cloud (see :class:`TrackNaming`)."""
    name = str(config.get("track") or "")
    reverse = bool(config.get("reverse_direction", False))
    base = re.sub(r"_(cw|ccw)$", "", name)
    suffix = name[len(base) + 1:] if base != name else ""
    official = name in OFFICIAL_TRACKS or (bool(suffix) and base in TWO_DIRECTION_TRACKS)
    direction = suffix or OFFICIAL_TRACKS.get(name) or _file_direction(config.get("track_path"))
    clockwise = None if direction in (None, "open") else (direction == "cw") != reverse
    two_direction = official and base in TWO_DIRECTION_TRACKS and clockwise is not None
    naming = TrackNaming(name, official, base if two_direction else name, two_direction,
                         clockwise, name, reverse)
    if not official:
        naming.notes.append(
            f"WORLD_NAME {name!r} is not an official DeepRacer track (the run used a local "
            "track file): pick an official track in the cloud, or train locally on one of the "
            "simapp's route files (bundle/routes/<name>.npy) to carry the track over")
    elif two_direction:
        naming.notes.append(
            f"WORLD_NAME {base!r} with TRACK_DIRECTION_CLOCKWISE "
            f"{'true' if clockwise else 'false'}: the simapp drives {base}"
            f"_{'cw' if clockwise else 'ccw'}; DeepRacer-on-AWS's importer compares this value "
            "with a YAML boolean, so check the direction after importing")
    elif reverse:
        naming.notes.append(
            f"{name} was driven against its waypoint order (REVERSE_DIR 'true'); "
            "DeepRacer-on-AWS drives this track one way only")
    return naming


# --------------------------------------------------------------------------------------------
# export

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


def _looks_like_export(path: Path) -> bool:
    return (path / "model_metadata.json").exists() or (path / "model").is_dir()


@contextmanager
def _atomic_folder(dst: Path, force: bool) -> Iterator[Path]:
    """Yield a temporary folder next to ``dst``; on success it replaces ``dst`` by renames."""
    parent = dst.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".partial", dir=parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if dst.exists():
            if any(dst.iterdir()):
                if not force:
                    raise ExportError(f"{dst} is not empty; give --force to replace it")
                trash = parent / f".{dst.name}.{os.getpid()}.{time.time_ns()}.old"
                os.rename(dst, trash)
                try:
                    os.rename(tmp, dst)
                except OSError:
                    os.rename(trash, dst)
                    raise
                shutil.rmtree(trash, ignore_errors=True)
            else:
                dst.rmdir()
                os.rename(tmp, dst)
        else:
            os.rename(tmp, dst)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _check_destination(run_dir: Path, out: Path, force: bool) -> None:
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
        if not _looks_like_export(out):
            raise ExportError(f"--out {out} is not empty and is not an earlier export (no "
                              "model_metadata.json or model/); --force only replaces an export: "
                              "choose another folder or empty it yourself")


def _iteration_log(run_dir: Path) -> dict[str, dict]:
    """Per-checkpoint summaries of ``metrics/iterations.jsonl`` (empty if absent)."""
    path = run_dir / "metrics" / "iterations.jsonl"
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


def _ckpt_stem(run_name: str) -> str:
    """``3_Step-4096.zip`` -> ``3_Step-4096.ckpt``."""
    stem = run_name[:-len(SB3_SUFFIX)] if run_name.endswith(SB3_SUFFIX) else run_name
    name = f"{stem}.ckpt"
    if not CHECKPOINT_NAME.match(name):
        raise ExportError(f"checkpoint {run_name!r} is not named <iteration>_Step-<steps>.zip")
    return name


def _entry(run_name: str, info: dict, log: dict[str, dict]) -> dict:
    """A ``deepracer_checkpoints.json`` entry (name, avg_eval_metric, time_stamp)."""
    found = None
    for key in ("best_checkpoint", "last_checkpoint"):
        e = info.get(key)
        if isinstance(e, dict) and e.get("name") == run_name:
            found = e
    metric = found.get("avg_eval_metric") if found else log.get(run_name, {}).get("eval_progress")
    stamp = found.get("time_stamp") if found else None
    return {"name": _ckpt_stem(run_name),
            "avg_eval_metric": metric if isinstance(metric, (int, float)) else None,
            "time_stamp": stamp if isinstance(stamp, (int, float)) else None}


def _tar_add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mtime: float) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(mtime)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def export_run(run_dir: str | os.PathLike, out: str | os.PathLike, checkpoint: str = "best",
               force: bool = False) -> ExportResult:
    """Export a ``train.py`` run folder as a DeepRacer model folder (module docstring).

    Raises:
        ExportError: bad run folder, bad destination; FileNotFoundError: not a run folder or no
            such checkpoint; ActionSpaceError / HyperparameterError: broken run files.
    """
    from deepracer_sim.training.ppo import RunFolder

    run_dir = Path(run_dir)
    out = Path(out)
    run = RunFolder(run_dir)
    config = run.read_config()
    _check_destination(run_dir, out, force)
    space, version = read_model_metadata(_regular_file(run_dir, "model/model_metadata.json"))
    hp_path = _regular_file(run_dir, "ip/hyperparameters.json")
    hp = effective_hyperparameters(validate_hyperparameters(_read_json(hp_path), str(hp_path)))
    reward = _regular_file(run_dir, "reward_function.py").read_bytes()
    info = _read_json(_regular_file(run_dir, "model/deepracer_checkpoints.json",
                                    ": the run saved no checkpoint yet"))
    if not isinstance(info, dict):
        raise ExportError(f"{run.checkpoints_json}: expected a JSON object")
    chosen = run.checkpoint_name(str(checkpoint))
    log = _iteration_log(run_dir)
    if checkpoint in ("best", "last"):
        last_entry = info.get("last_checkpoint")
        best_entry = info.get("best_checkpoint") or last_entry
        if not all(isinstance(e, dict) and isinstance(e.get("name"), str)
                   for e in (best_entry, last_entry)):
            raise ExportError(f"{run.checkpoints_json}: no best_checkpoint/last_checkpoint "
                              "names; pick a checkpoint by iteration number")
        best_name, last_name = best_entry["name"], last_entry["name"]
        best, last = _entry(best_name, info, log), _entry(last_name, info, log)
        names = list(dict.fromkeys([chosen, best_name, last_name]))
    else:
        best = last = _entry(chosen, info, log)
        names = [chosen]
    net_arch = tuple(int(n) for n in config.get("net_arch") or ())

    # read and check every checkpoint before writing anything
    states = {}
    for name in names:
        path = _regular_file(run.model_dir, name, " (pruned? pick another --checkpoint)")
        state, _ = checkpoint_state(path)
        _, arch, _, _ = policy_architecture(state)
        if net_arch and arch != net_arch:
            raise ExportError(f"{path}: hidden layers {arch} differ from run_config.json's "
                              f"net_arch {list(net_arch)}")
        net_arch = arch
        states[name] = (path, policy_from_state_dict(state, space, str(path)))

    naming = track_naming(config)
    prefix = re.sub(r"[^A-Za-z0-9._-]", "-", out.resolve().name) or "model"
    meta_text = json.dumps(space.to_metadata(version), indent=4) + "\n"
    hp_text = json.dumps(hp, indent=2) + "\n"
    rr = config.get("round_robin_advance")
    rr = 0.05 if rr is None else float(rr)
    params = {
        "AWS_REGION": "us-east-1",
        "JOB_TYPE": "TRAINING",
        "METRICS_S3_BUCKET": "bucket",
        "METRICS_S3_OBJECT_KEY": f"{prefix}/metrics/TrainingMetrics.json",
        "MODEL_METADATA_FILE_S3_KEY": f"{prefix}/model/model_metadata.json",
        "REWARD_FILE_S3_KEY": f"{prefix}/reward_function.py",
        "SAGEMAKER_SHARED_S3_BUCKET": "bucket",
        "SAGEMAKER_SHARED_S3_PREFIX": prefix,
        "BODY_SHELL_TYPE": "deepracer",
        "CAR_COLOR": "Red",
        "CAR_NAME": "MyCar",
        "RACE_TYPE": "TIME_TRIAL",
        "WORLD_NAME": naming.world_name,
        "DISPLAY_NAME": "racer1",
        "RACER_NAME": "racer1",
        "ALTERNATE_DRIVING_DIRECTION": str(bool(config.get("alternate_direction"))).lower(),
        "CHANGE_START_POSITION": "true" if rr > 0 else "false",
        "ROUND_ROBIN_ADVANCE_DIST": repr(rr),
        "START_POSITION_OFFSET": "0.0",
        "ENABLE_DOMAIN_RANDOMIZATION": "false",
        "MIN_EVAL_TRIALS": "5",
        "BEST_MODEL_METRIC": "progress",
    }
    if naming.two_direction:
        params["TRACK_DIRECTION_CLOCKWISE"] = "true" if naming.clockwise else "false"
    elif naming.reverse:
        params["REVERSE_DIR"] = "true"
    comments = [f"written by deepracer-sim export from {run_dir.resolve()} "
                f"(checkpoint {_ckpt_stem(chosen)})", *naming.notes]

    result = ExportResult(out, _ckpt_stem(chosen), [_ckpt_stem(n) for n in names], False,
                          naming, {}, [], [])
    with _atomic_folder(out, force) as tmp:
        model = tmp / "model"
        model.mkdir()
        (tmp / "ip").mkdir()
        (tmp / "model_metadata.json").write_text(meta_text)
        (model / "model_metadata.json").write_text(meta_text)
        (tmp / "reward_function.py").write_bytes(reward)
        (tmp / "ip" / "hyperparameters.json").write_text(hp_text)
        (tmp / "training_params.yaml").write_text(dump_training_params(params, comments))
        onnx_files = {}
        torch = _torch()
        for name, (path, policy) in states.items():
            stem = _ckpt_stem(name)
            shutil.copyfile(path, model / (stem + SB3_SUFFIX))
            torch.save(policy.state_dict(), model / (stem + STATE_DICT_SUFFIX))
            onnx_path = model / f"model_{CHECKPOINT_NAME.match(stem).group(1)}.onnx"
            try:
                export_onnx(policy, space, onnx_path)
                onnx_files[name] = onnx_path
            except Exception as exc:  # ONNX is an extra: the export goes on without it
                onnx_path.unlink(missing_ok=True)
                note = (f"no ONNX export ({exc}): pip install onnx to get it; model.tar.gz "
                        "holds the .pt weights instead" if isinstance(exc, ImportError)
                        else f"no ONNX export: torch.onnx.export failed ({exc})")
                if note not in result.summary:
                    result.summary.append(note)
        result.onnx = bool(onnx_files)
        (model / ".coach_checkpoint").write_text(_ckpt_stem(chosen))
        (model / "deepracer_checkpoints.json").write_text(
            json.dumps({"best_checkpoint": best, "last_checkpoint": last}) + "\n")
        (model / "policy_network.json").write_text(
            json.dumps(network_description(space, net_arch), indent=2) + "\n")

        for sub in ("metrics", "training-simtrace"):
            if (run_dir / sub).is_dir() and not (run_dir / sub).is_symlink():
                result.copied_logs[sub] = _copy_tree(run_dir / sub, tmp / sub, result.skipped)
        for folder in sorted(run_dir.glob("evaluation-*")):
            if folder.is_dir() and not folder.is_symlink():
                result.copied_logs[folder.name] = _copy_tree(folder, tmp / folder.name,
                                                             result.skipped)
        metrics_file = tmp / "metrics" / "TrainingMetrics.json"
        if metrics_file.is_file() and not (tmp / "metrics" / "training").exists():
            # DeepRacer-on-AWS imports metrics/training/training-*.json (spec §6.2)
            (tmp / "metrics" / "training").mkdir()
            shutil.copyfile(metrics_file, tmp / "metrics" / "training" /
                            f"training-{time.strftime('%Y%m%d%H%M%S')}.json")

        now = time.time()
        with tarfile.open(tmp / "model.tar.gz", "w:gz") as tar:
            _tar_add_bytes(tar, "model_metadata.json", meta_text.encode(), now)
            if chosen in onnx_files:
                _tar_add_bytes(tar, "agent/model.onnx", onnx_files[chosen].read_bytes(), now)
            else:
                _tar_add_bytes(tar, "agent/model.pt",
                               (model / (_ckpt_stem(chosen) + STATE_DICT_SUFFIX)).read_bytes(),
                               now)

        drfc = tmp / "deepracer-for-cloud"
        (drfc / "custom_files").mkdir(parents=True)
        (drfc / "custom_files" / "reward_function.py").write_bytes(reward)
        (drfc / "custom_files" / "model_metadata.json").write_text(meta_text)
        (drfc / "custom_files" / "hyperparameters.json").write_text(hp_text)
        env = [f"# deepracer-for-cloud run.env fragment: deepracer-sim export of {run_dir.name}",
               "# copy custom_files/* to your DRfC custom_files (dr-upload-custom-files) and "
               "merge these lines into run.env"]
        if not naming.official:
            env.append(f"# {naming.local_name} is not an official DeepRacer track: set "
                       "DR_WORLD_NAME to one of the simapp's tracks")
        env += [f"DR_WORLD_NAME={naming.drfc_world}",
                f"DR_TRAIN_REVERSE_DIRECTION={naming.reverse}",
                f"DR_TRAIN_ALTERNATE_DRIVING_DIRECTION={bool(config.get('alternate_direction'))}",
                f"DR_TRAIN_CHANGE_START_POSITION={rr > 0}",
                f"DR_TRAIN_ROUND_ROBIN_ADVANCE_DIST={rr!r}",
                "DR_TRAIN_START_POSITION_OFFSET=0.0",
                "DR_TRAIN_MIN_EVAL_TRIALS=5",
                "DR_TRAIN_BEST_MODEL_METRIC=progress",
                "DR_RACE_TYPE=TIME_TRIAL"]
        (drfc / "run.env").write_text("\n".join(env) + "\n")

    result.summary = [
        f"exported {run_dir} -> {out}",
        f"checkpoint {result.checkpoint} (.coach_checkpoint, model.tar.gz); model/ holds "
        + ", ".join(result.checkpoints),
        f"track: WORLD_NAME {naming.world_name!r}"
        + (" (official)" if naming.official else " (NOT an official DeepRacer track)"),
        *naming.notes,
        *result.summary,
        *(f"copied {n} files of {k}/" for k, n in result.copied_logs.items()),
        *(f"skipped {p} (a link or special file)" for p in result.skipped),
        "transfers to the cloud unchanged: reward_function.py, the action space, the "
        "hyperparameters, the track choice",
        "does not transfer: the weights (the network reads a feature vector, not the camera); "
        + NOT_FOR_THE_CAR,
        f"check it: python -m deepracer_sim.export --check {out}",
    ]
    return result


# --------------------------------------------------------------------------------------------
# clone

@dataclass(frozen=True)
class CloneSource:
    """What ``train.py --clone DIR`` continues from.

    Attributes:
        path: the folder; kind: "run" (a train.py run folder) or "export".
        action_space, version: the folder's model_metadata.json (the action space is locked).
        checkpoint: the stable-baselines3 ``.zip`` training starts from
            (``PPO.set_parameters(exact_match=True)``, which reads weights only).
        net_arch: hidden layer sizes of the cloned policy (and value) network.
        hyperparameters: the folder's ip/hyperparameters.json, or None.
    """

    path: Path
    kind: str
    action_space: ActionSpace
    version: float
    checkpoint: Path
    net_arch: tuple[int, ...]
    hyperparameters: Path | None

    def same_action_space(self, other: ActionSpace) -> bool:
        """Whether ``other`` is this action space (same kind, same values in the same order)."""
        a, b = self.action_space, other
        return (a.continuous == b.continuous and a.actions.shape == b.actions.shape
                and bool(np.allclose(a.actions, b.actions, rtol=0.0, atol=1e-9)))


def clone_source(path: str | os.PathLike) -> CloneSource:
    """Read a run folder (``train.py --out``) or an exported folder for ``train.py --clone``.

    A run folder clones its best checkpoint; an export the checkpoint in
    ``model/.coach_checkpoint``.

    Raises:
        ExportError, ActionSpaceError: not such a folder, or broken files (the message names
            the file and the fix).
    """
    root = Path(path)
    if not root.is_dir():
        raise ExportError(f"--clone {root}: not a folder; give a train.py run folder or a "
                          "folder written by python -m deepracer_sim.export")
    config_path = root / "run_config.json"
    if config_path.exists():
        kind = "run"
        config = _read_json(_regular_file(root, "run_config.json"))
        if not isinstance(config, dict):
            raise ExportError(f"{config_path}: expected a JSON object")
        meta = _regular_file(root, "model/model_metadata.json")
        info_path = _regular_file(root, "model/deepracer_checkpoints.json",
                                  ": the run saved no checkpoint yet; clone another run")
        info = _read_json(info_path)
        entry = (info.get("best_checkpoint") or info.get("last_checkpoint")) \
            if isinstance(info, dict) else None
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ExportError(f"{info_path}: no best_checkpoint/last_checkpoint name")
        ckpt = _regular_file(root / "model", Path(entry["name"]).name,
                             " (named in deepracer_checkpoints.json)")
        want_arch = tuple(int(n) for n in config.get("net_arch") or ())
    else:
        kind = "export"
        if not (root / "model" / ".coach_checkpoint").exists():
            raise ExportError(f"--clone {root}: neither a run folder (no run_config.json) nor an "
                              "exported model folder (no model/.coach_checkpoint); export a run "
                              "with python -m deepracer_sim.export RUN_DIR --out DIR")
        meta = _regular_file(root, "model_metadata.json")
        name = _regular_file(root, "model/.coach_checkpoint").read_text().strip()
        if not CHECKPOINT_NAME.match(name):
            raise ExportError(f"{root / 'model' / '.coach_checkpoint'}: {name!r} is not "
                              "<iteration>_Step-<steps>.ckpt")
        ckpt = _regular_file(root / "model", name + SB3_SUFFIX,
                             f" (the stable-baselines3 checkpoint {name}{SB3_SUFFIX} that "
                             "train.py --clone starts from; re-export the run)")
        want_arch = ()
        desc_path = root / "model" / "policy_network.json"
        if desc_path.exists():
            desc = _read_json(_regular_file(root, "model/policy_network.json"))
            if isinstance(desc, dict) and isinstance(desc.get("net_arch"), list):
                want_arch = tuple(int(n) for n in desc["net_arch"])
        inner = root / "model" / "model_metadata.json"
        if inner.exists():
            inner_space, _ = read_model_metadata(_regular_file(root, "model/model_metadata.json"))
            outer_space, _ = read_model_metadata(meta)
            if not (inner_space.continuous == outer_space.continuous
                    and np.array_equal(inner_space.actions, outer_space.actions)):
                raise ExportError(f"{inner} and {meta} have different action spaces; make "
                                  "them the same file")
    space, version = read_model_metadata(meta)
    state, optimizer = checkpoint_state(ckpt)
    if optimizer is None:
        raise ExportError(f"{ckpt}: no optimizer state (policy.optimizer.pth); it is not a "
                          "train.py checkpoint")
    _, arch, _, _ = policy_architecture(state)
    if want_arch and want_arch != arch:
        raise ExportError(f"{ckpt}: hidden layers {list(arch)} differ from the folder's net_arch "
                          f"{list(want_arch)}")
    policy_from_state_dict(state, space, str(ckpt))  # checks outputs and observation size
    hp = root / "ip" / "hyperparameters.json"
    hp_path = _regular_file(root, "ip/hyperparameters.json") if hp.exists() else None
    return CloneSource(root, kind, space, version, ckpt, arch, hp_path)


# --------------------------------------------------------------------------------------------
# check

@dataclass
class Problem:
    """One finding of :func:`check_folder`: where, what, how to fix it."""

    where: str
    message: str
    fix: str
    level: str = "error"

    def __str__(self) -> str:
        return f"{self.level}: {self.where}: {self.message}\n    fix: {self.fix}"


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(float(value))


def check_metadata_dict(meta: object, where: str = "model_metadata.json") -> list[Problem]:
    """Problems of a ``model_metadata.json`` object (spec §4.1 schema, the import limits)."""
    out: list[Problem] = []

    def bad(msg: str, fix: str, level: str = "error") -> None:
        out.append(Problem(where, msg, fix, level))

    if not isinstance(meta, dict):
        bad("not a JSON object", 'write {"action_space": [...], "action_space_type": ...}')
        return out
    for key in meta:
        if key not in METADATA_KEYS:
            bad(f"unknown key {key!r}", f"remove it (DeepRacer's keys: {', '.join(METADATA_KEYS)})",
                "warning")
    kind = meta.get("action_space_type", "discrete")
    if "action_space_type" not in meta:
        bad("no action_space_type (read as 'discrete')", 'add "action_space_type": "discrete" '
            'or "continuous"', "warning")
    if not isinstance(kind, str) or kind.strip().lower() not in ("discrete", "continuous"):
        bad(f"action_space_type = {kind!r}", 'use "discrete" or "continuous"')
        kind = "discrete"
    kind = kind.strip().lower()
    algo = meta.get("training_algorithm", "clipped_ppo")
    if not isinstance(algo, str) or algo.strip().lower() not in ("clipped_ppo", "sac"):
        bad(f"training_algorithm = {algo!r}", 'use "clipped_ppo" (or "sac" for continuous)')
    elif algo.strip().lower() == "sac" and kind != "continuous":
        bad("training_algorithm 'sac' needs a continuous action space",
            'use "clipped_ppo", or make the action space continuous')
    space = meta.get("action_space")
    lim = (f"steering_angle within +-{MAX_STEERING_ANGLE:g} degrees, speed "
           f"{MIN_SPEED:g}-{MAX_SPEED:g} m/s")
    if space is None:
        bad("no action_space", "add the action_space the model was trained with")
    elif kind == "continuous":
        if not isinstance(space, dict):
            bad("a continuous action_space must be an object", 'write {"steering_angle": '
                '{"low": -30, "high": 30}, "speed": {"low": 0.5, "high": 4}}')
        else:
            for key, lo, hi in (("steering_angle", -MAX_STEERING_ANGLE, MAX_STEERING_ANGLE),
                                ("speed", MIN_SPEED, MAX_SPEED)):
                entry = space.get(key)
                if not isinstance(entry, dict) or not all(_number(entry.get(k))
                                                          for k in ("low", "high")):
                    bad(f"action_space.{key} must be {{\"low\": number, \"high\": number}}",
                        f"give numeric low and high ({lim})")
                    continue
                for k in ("low", "high"):
                    if not lo <= float(entry[k]) <= hi:
                        bad(f"action_space.{key}.{k} = {entry[k]} is outside [{lo:g}, {hi:g}]",
                            f"keep {lim}")
                if float(entry["low"]) > float(entry["high"]):
                    bad(f"action_space.{key}: low {entry['low']} > high {entry['high']}",
                        "swap low and high")
    elif not isinstance(space, list):
        bad("a discrete action_space must be a list of {steering_angle, speed} entries",
            'write [{"steering_angle": -30, "speed": 1}, ...] or set action_space_type '
            '"continuous"')
    else:
        if not MIN_DISCRETE_ACTIONS <= len(space) <= MAX_DISCRETE_ACTIONS:
            bad(f"{len(space)} discrete actions", f"give {MIN_DISCRETE_ACTIONS} to "
                f"{MAX_DISCRETE_ACTIONS} actions (DeepRacer's limit)")
        for i, entry in enumerate(space):
            w = f"action_space[{i}]"
            if not isinstance(entry, dict):
                bad(f"{w} is not an object", 'write {"steering_angle": deg, "speed": m/s}')
                continue
            for key, lo, hi in (("steering_angle", -MAX_STEERING_ANGLE, MAX_STEERING_ANGLE),
                                ("speed", MIN_SPEED, MAX_SPEED)):
                value = entry.get(key)
                if not _number(value):
                    bad(f"{w}.{key} = {value!r} is not a number", f"give a number ({lim})")
                elif not lo <= float(value) <= hi:
                    bad(f"{w}.{key} = {value} is outside [{lo:g}, {hi:g}]", f"keep {lim}")
            if "index" in entry and entry["index"] != i:
                bad(f"{w}.index = {entry['index']!r} but the policy output {i} selects it "
                    "(list position)", f"set index {i} or remove it", "warning")
    sensors = meta.get("sensor")
    if sensors is None:
        bad("no sensor (read by version)", 'add "sensor": ["FRONT_FACING_CAMERA"]', "warning")
    elif not isinstance(sensors, list) or not all(isinstance(s, str) for s in sensors):
        bad(f"sensor = {sensors!r} must be a list of names", 'e.g. ["FRONT_FACING_CAMERA"]')
    else:
        unknown = [s for s in sensors if s not in CAMERA_SENSORS + LIDAR_SENSORS]
        cams = [s for s in sensors if s in CAMERA_SENSORS]
        lidars = [s for s in sensors if s in LIDAR_SENSORS]
        if unknown:
            bad(f"unknown sensor {unknown}", f"use one of {', '.join(CAMERA_SENSORS)} (+ at "
                f"most one of {', '.join(LIDAR_SENSORS)})")
        if len(cams) != 1:
            bad(f"{len(cams)} cameras in sensor", "give exactly one camera, e.g. "
                "FRONT_FACING_CAMERA")
        if len(lidars) > 1:
            bad(f"{len(lidars)} lidars in sensor", "give at most one lidar")
    nn = meta.get("neural_network", NEURAL_NETWORKS[0])
    if nn not in NEURAL_NETWORKS:
        bad(f"neural_network = {nn!r}", f"use one of {', '.join(NEURAL_NETWORKS)}")
    if "version" not in meta:
        bad("no version (the simapp then runs its legacy 1.0/2.0 behaviour)",
            'add "version": "5" (or 6, as DeepRacer-on-AWS writes)', "warning")
    else:
        try:
            float(meta["version"])
            if isinstance(meta["version"], bool):
                raise TypeError
        except (TypeError, ValueError):
            bad(f"version = {meta['version']!r} is not a number", 'write e.g. "5" or 6')
    return out


_BAD = object()


def _json_for_check(path: Path, where: str) -> tuple[object, list[Problem]]:
    """(data or _BAD, problems) of a JSON file."""
    try:
        return json.loads(path.read_text(encoding="utf-8")), []
    except json.JSONDecodeError as exc:
        return _BAD, [Problem(where, f"line {exc.lineno}: invalid JSON: {exc.msg}",
                              "write valid JSON")]
    except UnicodeDecodeError:
        return _BAD, [Problem(where, "not UTF-8 text", "save it as UTF-8 JSON")]


def check_model_metadata(path: str | os.PathLike, where: str | None = None) -> list[Problem]:
    """Problems of a ``model_metadata.json`` file (:func:`check_metadata_dict`)."""
    meta, out = _json_for_check(Path(path), where or str(path))
    return out if meta is _BAD else check_metadata_dict(meta, where or str(path))


#: DeepRacer-on-AWS's create-model form ranges (PPO), checked as warnings.
_DROA_RANGES = {"num_epochs": (3, 10), "lr": (1e-8, 1e-3), "beta_entropy": (0.0, 1.0),
                "discount_factor": (0.0, 1.0), "num_episodes_between_training": (5, 100),
                "sac_alpha": (0.0, 1.0)}
_INT_KEYS = ("batch_size", "epsilon_steps", "num_episodes_between_training", "num_epochs",
             "stack_size", "term_cond_max_episodes")


def check_hyperparameters(path: str | os.PathLike, where: str | None = None) -> list[Problem]:
    """Problems of an ``ip/hyperparameters.json`` (spec §5 keys and types)."""
    where = where or str(path)
    hp, out = _json_for_check(Path(path), where)
    if hp is _BAD:
        return out
    if not isinstance(hp, dict):
        return [Problem(where, "not a JSON object", 'write {"batch_size": 64, ...}')]
    out = []
    known = (*DEEPRACER_DEFAULTS, "sac_alpha")
    for key, value in hp.items():
        if key not in known:
            out.append(Problem(where, f"unknown key {key!r}",
                               f"remove it (DeepRacer's keys: {', '.join(sorted(known))})"))
        elif key in ("exploration_type", "loss_type"):
            choices = (("categorical", "e-greedy") if key == "exploration_type"
                       else ("mean squared error", "huber"))
            if value not in choices:
                out.append(Problem(where, f"{key} = {value!r}", f"use one of {choices}"))
        elif not _number(value) or (key in _INT_KEYS and not float(value).is_integer()):
            out.append(Problem(where, f"{key} = {value!r} is not "
                               f"{'an integer' if key in _INT_KEYS else 'a number'}",
                               "write a JSON number"))
        elif key in _DROA_RANGES and not _DROA_RANGES[key][0] <= value <= _DROA_RANGES[key][1]:
            lo, hi = _DROA_RANGES[key]
            out.append(Problem(where, f"{key} = {value} is outside DeepRacer-on-AWS's form "
                               f"range [{lo:g}, {hi:g}]", "keep it in range to edit or clone "
                               "the model there", "warning"))
    if isinstance(hp.get("batch_size"), int) and hp["batch_size"] not in (32, 64, 128, 256, 512):
        out.append(Problem(where, f"batch_size = {hp['batch_size']} is not one of "
                           "DeepRacer-on-AWS's choices 32/64/128/256/512",
                           "pick one of those to edit or clone the model there", "warning"))
    return out


def check_metrics(path: str | os.PathLike, where: str | None = None) -> list[Problem]:
    """Problems of a TrainingMetrics / EvaluationMetrics JSON (spec §6.4)."""
    where = where or str(path)
    data, out = _json_for_check(Path(path), where)
    if data is _BAD:
        return out
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), list):
        return [Problem(where, 'not {"metrics": [...]}', "write the metrics as spec §6.4")]
    entries = data["metrics"]
    training = any(isinstance(e, dict) and "phase" in e for e in entries) \
        or "best_model_metric" in data
    keys = TRAINING_METRIC_KEYS if training else EVALUATION_METRIC_KEYS
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            out.append(Problem(where, f"metrics[{i}] is not an object", "write objects"))
            continue
        missing = [k for k in keys if k not in entry]
        wrong = [k for k in keys if k in entry and k not in ("phase", "episode_status")
                 and (not isinstance(entry[k], int) or isinstance(entry[k], bool))]
        if missing:
            out.append(Problem(where, f"metrics[{i}] lacks {missing}",
                               f"write every key: {', '.join(keys)}"))
        if wrong:
            out.append(Problem(where, f"metrics[{i}]: {wrong} are not integers",
                               "write integers (milliseconds, int(round(reward)), int(progress))"))
        if training and entry.get("phase", "training") not in ("training", "evaluation"):
            out.append(Problem(where, f"metrics[{i}].phase = {entry.get('phase')!r}",
                               'use "training" or "evaluation"'))
        if "episode_status" in entry and entry["episode_status"] not in EPISODE_STATUS_LABELS:
            out.append(Problem(where, f"metrics[{i}].episode_status = "
                               f"{entry['episode_status']!r}",
                               f"use one of {', '.join(EPISODE_STATUS_LABELS)}"))
        if len(out) >= 10:
            out.append(Problem(where, "more problems not listed", "fix the ones above first"))
            break
    return out


def _check_reward(path: Path, where: str) -> list[Problem]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [Problem(where, "not UTF-8 text", "save the file as UTF-8")]
    try:
        tree = ast.parse(text, filename=where)
    except SyntaxError as exc:
        return [Problem(where, f"line {exc.lineno}: syntax error: {exc.msg}",
                        "fix the Python syntax")]
    funcs = [n for n in tree.body if isinstance(n, ast.FunctionDef)
             and n.name == "reward_function"]
    out = []
    if not funcs:
        out.append(Problem(where, "no top-level def reward_function(params)",
                           "define reward_function(params) returning a float"))
    elif len(funcs[0].args.args) != 1:
        out.append(Problem(where, "reward_function must take exactly one argument (params)",
                           "write def reward_function(params):"))
    if len(text) > 140000:
        out.append(Problem(where, f"{len(text)} characters", "DeepRacer-on-AWS accepts at most "
                           "140000 characters: shorten it", "warning"))
    return out


def _checkpoint_files(model: Path, name: str) -> tuple[list[str], str | None]:
    """(files of checkpoint ``name``, its format "tf"/"sb3"/None)."""
    files = sorted(p.name for p in model.glob(name + ".*") if p.is_file())
    if all(name + s in files for s in TF_SUFFIXES):
        return files, "tf"
    if name + SB3_SUFFIX in files or name + STATE_DICT_SUFFIX in files:
        return files, "sb3"
    return files, None


def _member_name(member: tarfile.TarInfo) -> str:
    return member.name[2:] if member.name.startswith("./") else member.name


def _check_archive(path: Path, root_meta: object, where: str) -> list[Problem]:
    try:
        members = archive_members(path)
    except ExportError as exc:
        return [Problem(where, str(exc).split(": ", 1)[-1],
                        "rebuild model.tar.gz from plain files: model_metadata.json and "
                        "agent/<policy>")]
    names = [_member_name(m) for m in members if m.isfile()]
    out = []
    if "model_metadata.json" not in names:
        out.append(Problem(where, "no model_metadata.json at the archive root",
                           "add model_metadata.json at the root (the car reads it there)"))
    else:
        with tarfile.open(path, "r:*") as tar:
            member = next(m for m in members if m.isfile()
                          and _member_name(m) == "model_metadata.json")
            try:
                inner = json.loads(tar.extractfile(member).read().decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                inner = None
        if inner is None:
            out.append(Problem(where, "model_metadata.json inside is not valid JSON",
                               "put the folder's model_metadata.json in the archive"))
        elif isinstance(root_meta, dict) and inner.get("action_space") != root_meta.get(
                "action_space"):
            out.append(Problem(where, "its model_metadata.json has another action space than "
                               "the folder's", "rebuild the archive with the folder's file"))
    models = [n for n in names if n.startswith("agent/")]
    if len(models) != 1:
        out.append(Problem(where, f"{len(models)} policy files under agent/",
                           "put exactly one policy file under agent/"))
    pbs = [n for n in names if n.endswith(".pb")]
    if len(pbs) != 1:
        out.append(Problem(where, f"{NOT_FOR_THE_CAR} (no agent/model.pb)",
                           "use the archive for inspection only; train in the cloud for the car",
                           "warning"))
    return out


def check_folder(path: str | os.PathLike) -> list[Problem]:
    """Check a model folder against DeepRacer's import rules (spec §6.2) and the file
    schemas (spec §4-§6). Errors make an import fail; warnings are worth reading.

    Checks: required files and their names (root model_metadata.json, reward_function.py,
    training_params.yaml, ip/hyperparameters.json, model/.coach_checkpoint and its checkpoint
    files); the JSON schemas and action-space limits; deepracer_checkpoints.json; the YAML
    format; model.tar.gz (plain members only, metadata at the root); metrics; links; size.
    """
    root = Path(path)
    out: list[Problem] = []

    def need(rel: str, fix: str) -> Path | None:
        p = root / rel
        if p.is_symlink():
            out.append(Problem(rel, "is a symbolic link", "replace the link with the file"))
            return None
        if not p.is_file():
            out.append(Problem(rel, "missing (required)", fix))
            return None
        return p

    total = 0
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            p = Path(folder) / name
            if p.is_symlink():
                out.append(Problem(str(p.relative_to(root)), "is a symbolic link (it could point "
                                   "outside the folder; uploads do not keep links)",
                                   "replace it with the file itself"))
            elif p.is_file():
                total += p.stat().st_size
    if total > MAX_FOLDER_BYTES:
        out.append(Problem(".", f"{total / 2**20:.0f} MiB", "DeepRacer-on-AWS imports at most "
                           "1 GiB: drop old checkpoints or logs"))

    meta_path = need("model_metadata.json", "copy model/model_metadata.json to the folder root")
    root_meta = None
    if meta_path:
        root_meta, problems = _json_for_check(meta_path, "model_metadata.json")
        out += problems if root_meta is _BAD else check_metadata_dict(root_meta,
                                                                       "model_metadata.json")
    inner_meta = root / "model" / "model_metadata.json"
    if inner_meta.is_file() and not inner_meta.is_symlink():
        inner, problems = _json_for_check(inner_meta, "model/model_metadata.json")
        out += problems if inner is _BAD else check_metadata_dict(inner,
                                                                   "model/model_metadata.json")
        if isinstance(root_meta, dict) and isinstance(inner, dict) and any(
                root_meta.get(k) != inner.get(k)
                for k in ("action_space", "action_space_type", "training_algorithm")):
            out.append(Problem("model/model_metadata.json", "differs from the root "
                               "model_metadata.json", "make both the same file"))

    reward = need("reward_function.py", "add the reward function the model was trained with")
    if reward:
        out += _check_reward(reward, "reward_function.py")

    yaml_path = need("training_params.yaml", "add training_params.yaml (python -m "
                     "deepracer_sim.export writes one)")
    if yaml_path:
        params, problems = parse_training_params(yaml_path.read_text(encoding="utf-8",
                                                                     errors="replace"))
        out += [Problem("training_params.yaml", p, "write every value as a quoted string "
                        "under a '---' header, as DRfC's prepare-config.py does")
                for p in problems]
        for key in TRAINING_PARAMS_KEYS:
            if key not in params:
                out.append(Problem("training_params.yaml", f"no {key}",
                                   f"add '{key}': '...' (DRfC's key set, spec §6.2)",
                                   "error" if key == "WORLD_NAME" else "warning"))
        world = params.get("WORLD_NAME")
        if isinstance(world, str) and world and world not in OFFICIAL_TRACKS \
                and world not in TWO_DIRECTION_TRACKS:
            out.append(Problem("training_params.yaml", f"WORLD_NAME {world!r} is not an "
                               "official DeepRacer track", "set WORLD_NAME to an official "
                               "track id before importing", "warning"))
        tdc = params.get("TRACK_DIRECTION_CLOCKWISE")
        if tdc is not None and str(tdc).lower() not in ("true", "false"):
            out.append(Problem("training_params.yaml", f"TRACK_DIRECTION_CLOCKWISE = {tdc!r}",
                               "use 'true' or 'false'"))
        race = params.get("RACE_TYPE", "TIME_TRIAL")
        if race not in ("TIME_TRIAL", "OBJECT_AVOIDANCE", "HEAD_TO_BOT"):
            out.append(Problem("training_params.yaml", f"RACE_TYPE = {race!r}",
                               "use TIME_TRIAL, OBJECT_AVOIDANCE or HEAD_TO_BOT"))

    hp = root / "ip" / "hyperparameters.json"
    if not hp.exists() and (root / "hyperparameters.json").is_file():
        out.append(Problem("hyperparameters.json", "is at the folder root; the import reads "
                           "ip/hyperparameters.json", "move it to ip/hyperparameters.json"))
    elif need("ip/hyperparameters.json", "add ip/hyperparameters.json (DeepRacer's keys)"):
        out += check_hyperparameters(hp, "ip/hyperparameters.json")

    model = root / "model"
    coach = need("model/.coach_checkpoint", "write the checkpoint name, e.g. "
                 "'13_Step-25173.ckpt', to model/.coach_checkpoint")
    named: list[tuple[str, str]] = []
    if coach:
        lines = [ln.strip() for ln in coach.read_text(errors="replace").splitlines()
                 if ln.strip()]
        if len(lines) != 1:
            out.append(Problem("model/.coach_checkpoint", f"{len(lines)} lines",
                               "write exactly one line: <iteration>_Step-<steps>.ckpt"))
        if lines:
            named.append(("model/.coach_checkpoint", lines[0]))
    info_path = model / "deepracer_checkpoints.json"
    if info_path.exists():
        where = "model/deepracer_checkpoints.json"
        info, problems = _json_for_check(info_path, where)
        out += problems
        if info is not _BAD and not isinstance(info, dict):
            out.append(Problem(where, "not a JSON object",
                               'write {"best_checkpoint": {...}, "last_checkpoint": {...}}'))
        elif isinstance(info, dict):
            for key in ("best_checkpoint", "last_checkpoint"):
                entry = info.get(key)
                if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                    out.append(Problem(where, f"no {key}.name", f'add "{key}": {{"name": '
                                       '"<N>_Step-<S>.ckpt", "avg_eval_metric": ..., '
                                       '"time_stamp": ...}'))
                    continue
                named.append((f"{where} {key}", entry["name"]))
                metric = entry.get("avg_eval_metric")
                if metric is None:
                    out.append(Problem(where, f"{key}.avg_eval_metric is missing or null (the "
                                       "checkpoint was never evaluated)", "evaluate it or "
                                       "export another checkpoint", "warning"))
                elif not _number(metric):
                    out.append(Problem(where, f"{key}.avg_eval_metric = {metric!r} is not a "
                                       "number", "write the mean evaluation progress, %"))
    weighed: set[str] = set()
    for where, name in named:
        if not CHECKPOINT_NAME.match(name):
            out.append(Problem(where, f"{name!r} is not named <iteration>_Step-<steps>.ckpt",
                               "rename the checkpoint files and this entry, e.g. "
                               "13_Step-25173.ckpt"))
            continue
        files, fmt = _checkpoint_files(model, name)
        if fmt is None:
            out.append(Problem(where, f"names {name} but model/ has no checkpoint files for it "
                               f"(found {files or 'none'})",
                               f"add model/{name}.index/.data-00000-of-00001/.meta (DeepRacer) "
                               f"or model/{name}.zip/.pt (deepracer-sim)"))
        elif fmt == "sb3" and name not in weighed:
            weighed.add(name)
            if isinstance(root_meta, dict):
                out += _check_weights(model, name, root_meta)
    if weighed:
        out.append(Problem(
            "model/", "holds deepracer-sim (PyTorch) checkpoints, not TensorFlow ones: "
            "DeepRacer-on-AWS validates an import by loading the checkpoint in its simapp, so "
            "the imported model will not pass that validation or drive",
            "to race in the cloud, create a model there with this folder's reward_function.py, "
            "action space (model_metadata.json), hyperparameters and track, or train it in "
            "deepracer-for-cloud with deepracer-for-cloud/custom_files", "warning"))
    if model.is_dir():
        for p in sorted(model.iterdir()):
            m = re.match(r"^(.*\.ckpt)\.", p.name)
            if m and not CHECKPOINT_NAME.match(m.group(1)):
                out.append(Problem(f"model/{p.name}", "checkpoint file not named "
                                   "<iteration>_Step-<steps>.ckpt.*",
                                   "rename it, e.g. 13_Step-25173.ckpt.index"))

    tar_path = root / "model.tar.gz"
    if tar_path.is_file() and not tar_path.is_symlink():
        out += _check_archive(tar_path, root_meta, "model.tar.gz")
    elif not tar_path.exists():
        out.append(Problem("model.tar.gz", "missing (the classic console required it; "
                           "DeepRacer-on-AWS does not)", "add model.tar.gz for the classic "
                           "console's import", "warning"))

    for p in sorted(root.glob("metrics/**/*.json")):
        if p.is_file() and not p.is_symlink() and re.match(
                r"^(TrainingMetrics|EvaluationMetrics|training-|evaluation-)", p.name):
            out += check_metrics(p, str(p.relative_to(root)))
    return out


def _check_weights(model: Path, name: str, meta: dict) -> list[Problem]:
    """Whether our checkpoint's network fits the folder's action space."""
    where = f"model/{name}"
    try:
        space = _space_from_metadata(meta)
    except ActionSpaceError:
        return []  # reported by the schema check
    try:
        pt = model / (name + STATE_DICT_SUFFIX)
        if pt.is_file() and not pt.is_symlink():
            load_policy_weights(pt, space)
        else:
            state, _ = checkpoint_state(model / (name + SB3_SUFFIX))
            policy_from_state_dict(state, space, where)
    except ExportError as exc:
        return [Problem(where, str(exc), "export the checkpoint again with its own "
                        "model_metadata.json")]
    return []


def _space_from_metadata(meta: dict) -> ActionSpace:
    """The :class:`ActionSpace` of a metadata dict, without warnings."""
    import warnings

    from deepracer_sim.formats.model_metadata import action_space_from_metadata

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return action_space_from_metadata(meta)


def check_path(path: str | os.PathLike) -> list[Problem]:
    """:func:`check_folder` of a folder, or of a ``.tar.gz`` of one (extracted safely to a
    temporary folder first)."""
    path = Path(path)
    if path.is_file() and path.name.endswith((".tar.gz", ".tgz", ".tar")):
        with tempfile.TemporaryDirectory() as tmp:
            safe_extract(path, tmp)
            entries = [p for p in Path(tmp).iterdir()]
            root = entries[0] if len(entries) == 1 and entries[0].is_dir() else Path(tmp)
            return check_folder(root)
    if not path.is_dir():
        raise ExportError(f"--check {path}: not a folder")
    return check_folder(path)
