"""DeepRacer's TensorFlow checkpoint ``<N>_Step-<S>.ckpt``: its writer, reader and validator, no
TensorFlow needed.

A checkpoint is three files sharing the prefix (cloud-model-format.md §2.3): ``.index`` and
``.data-00000-of-00001`` (the V2 tensor bundle, :mod:`~deepracer_sim.formats.tf_bundle`; what
every loader reads) and ``.meta`` (:func:`~deepracer_sim.formats.tf_graph.meta_graph`; read by
none). The simapp restores it into the graph it builds from ``model_metadata.json``
(``savers.py::GlobalVariableSaver.restore``): every variable of
:meth:`~deepracer_sim.formats.tf_variables.ModelSpec.variables` must be present, by exact name,
with its shape; extra tensors (optimizer slots, ``global_step``) are ignored. An import whose
checkpoint fails this is rejected by DeepRacer-on-AWS's validation (exit code 400, §3).

* :func:`write_checkpoint` / :func:`write_model_files`: the files ``deepracer-sim export``
  writes (index and data byte-identical to TensorFlow's ``Saver`` for the same weights);
* :func:`read_checkpoint` (strict: raises :class:`~deepracer_sim.errors.TensorFlowFileError`)
  and :func:`infer_model_spec` (which network a cloud checkpoint holds, from its index);
* :func:`check_checkpoint`: every problem, the report mode of ``export --check``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from deepracer_sim.errors import NetworkError, TensorFlowFileError
from deepracer_sim.formats import tf_bundle
from deepracer_sim.formats.checkpoints import checkpoint_iteration
from deepracer_sim.formats.problems import WARNING, Problem, raise_errors
from deepracer_sim.formats.run_folder import TF_META_SUFFIX, frozen_graph_name
from deepracer_sim.formats.tf_graph import write_frozen_graph, write_meta_graph
from deepracer_sim.formats.tf_variables import (
    NETWORKS,
    SCOPE,
    TF_CAMERA_SENSORS,
    ModelSpec,
    validate_variables,
)


def write_checkpoint(prefix: str | os.PathLike, variables: Mapping[str, np.ndarray],
                     spec: ModelSpec, meta: bool = True) -> list[Path]:
    """Write the checkpoint the simapp restores: ``prefix.index``, ``prefix.data-00000-of-00001``
    and, with ``meta``, ``prefix.meta``.

    Args:
        prefix: e.g. ``model/3_Step-4096.ckpt``.
        variables: TF-layout float32 arrays named as :meth:`ModelSpec.variables`
            (:func:`deepracer_sim.training.tf_weights.sb3_to_tf_variables` makes them).
        spec: the network and action head.

    Returns:
        the files written.

    Raises:
        NetworkError: variables that do not fit ``spec``.
    """
    variables = validate_variables(variables, spec)
    paths = tf_bundle.write_bundle(prefix, variables)
    if meta:
        paths.append(write_meta_graph(str(prefix) + TF_META_SUFFIX, spec))
    return paths


def write_model_files(model_dir: str | os.PathLike, name: str,
                      variables: Mapping[str, np.ndarray], spec: ModelSpec,
                      frozen_graph: bool = True) -> dict[str, Path]:
    """Write one DeepRacer checkpoint into ``model_dir``: ``<name>.index``,
    ``<name>.data-00000-of-00001``, ``<name>.meta`` and, with ``frozen_graph``,
    ``model_<N>.pb``.

    Args:
        name: ``<N>_Step-<S>.ckpt``.

    Returns:
        {"index", "data", "meta"[, "pb"]} -> path.

    Raises:
        CheckpointError: a name that is not ``<N>_Step-<S>.ckpt``; NetworkError: variables
            that do not fit ``spec``.
    """
    model_dir = Path(model_dir)
    iteration = checkpoint_iteration(name)
    index, data, meta = write_checkpoint(model_dir / name, variables, spec)
    out = {"index": index, "data": data, "meta": meta}
    if frozen_graph:
        out["pb"] = write_frozen_graph(model_dir / frozen_graph_name(iteration), variables, spec)
    return out


def _head(entries: Mapping[str, tf_bundle.BundleEntry], index: Path) -> tuple[bool, int]:
    """(continuous, number of outputs) of a checkpoint's policy head."""
    head = f"{SCOPE}/network_1/ppo_head_0"
    if f"{head}/policy_mean/kernel" in entries:
        return True, 2
    bias = entries.get(f"{head}/policy_fc/bias")
    if bias is None or len(bias.shape) != 1:
        raise TensorFlowFileError(f"{index}: no {head}/policy_fc or policy_mean variables: not "
                                  "a ClippedPPO policy (SAC models are not supported)")
    return False, int(bias.shape[0])


def infer_model_spec(prefix: str | os.PathLike,
                     max_index_bytes: int = tf_bundle.MAX_INDEX_BYTES) -> ModelSpec:
    """Which network, sensor and head a DeepRacer checkpoint holds, from its index alone.

    Raises:
        TensorFlowFileError: not a DeepRacer ClippedPPO single-camera checkpoint of a supported
            network, or an unreadable index.
    """
    entries = tf_bundle.read_bundle_index(prefix, max_index_bytes)
    index = tf_bundle.bundle_paths(prefix)[0]
    sensor = next((s for s in TF_CAMERA_SENSORS
                   if f"{SCOPE}/network_1/{s}/Conv2d_0/kernel" in entries), None)
    if sensor is None:
        raise TensorFlowFileError(
            f"{index}: no {SCOPE}/network_1/<camera>/Conv2d_0/kernel: not a DeepRacer "
            "ClippedPPO camera checkpoint (SAC models, lidar or stereo sensors are not "
            "supported)")
    continuous, n = _head(entries, index)
    convs = []
    for i in range(0, 20, 2):
        e = entries.get(f"{SCOPE}/network_1/{sensor}/Conv2d_{i}/kernel")
        if e is None or len(e.shape) != 4:
            break
        convs.append((e.shape[3], e.shape[0]))
    for spec in NETWORKS.values():
        if [(f, k) for f, k, _ in spec.convs] == convs:
            try:
                return ModelSpec(spec, n, continuous, sensor)
            except NetworkError as exc:
                raise TensorFlowFileError(f"{index}: {exc}") from None
    raise TensorFlowFileError(f"{index}: convolutions {convs} (filters, kernel) match none of "
                              f"{sorted(NETWORKS)} (DEEP_CONVOLUTIONAL_NETWORK_DEEP is not "
                              "supported)")


def check_checkpoint(prefix: str | os.PathLike, spec: ModelSpec, folder: str = "",
                     max_index_bytes: int = tf_bundle.MAX_INDEX_BYTES) -> list[Problem]:
    """Every problem that stops the simapp restoring checkpoint ``prefix`` into ``spec``'s
    graph (an unreadable index, a missing variable, a wrong shape or dtype, a data file too
    short: errors), and the tensors the loader ignores (warnings). Reads the index only, plus
    the data file's size.

    Args:
        folder: prefixed to the file names in each :class:`Problem` (e.g. ``"model/"``).
    """
    index, data = tf_bundle.bundle_paths(prefix)
    where = folder + index.name
    try:
        entries = tf_bundle.read_bundle_index(prefix, max_index_bytes)
    except TensorFlowFileError as exc:
        return [Problem(where, str(exc).removeprefix(f"{index}: "), "copy the checkpoint's "
                        ".index file again (all <name>.ckpt.* files come together)")]
    out = []
    data_size = data.stat().st_size if data.is_file() and not data.is_symlink() else None
    if data_size is None:
        out.append(Problem(folder + data.name, "missing (or a link)", "copy the checkpoint's "
                           ".data-00000-of-00001 file next to its .index"))
    want = spec.variables()
    for name, shape in want.items():
        e = entries.get(name)
        if e is None:
            out.append(Problem(where, f"no variable {name}", "the simapp restores every "
                               "variable of its graph by name: export the checkpoint from a "
                               f"{spec.network.name} model with this action space", field=name))
            continue
        if e.dtype_name != "DT_FLOAT":
            out.append(Problem(where, f"{name} is {e.dtype_name}, not DT_FLOAT",
                               "write the weights as float32", field=name))
        if e.shape != shape:
            out.append(Problem(where, f"{name} has shape {list(e.shape)}, the simapp's graph "
                               f"has {list(shape)}", "the checkpoint belongs to another network "
                               "or action space: match model_metadata.json's neural_network "
                               "and action_space to it", field=name))
        if data_size is not None and e.offset + e.size > data_size:
            out.append(Problem(folder + data.name, f"{name} lies past the end of the file "
                               f"({e.offset + e.size:,} > {data_size:,} bytes)",
                               "the data file is truncated: copy it again", field=name))
    extra = [name for name in entries if name not in want]
    if extra:
        out.append(Problem(where, f"{len(extra)} tensors the simapp ignores ({extra[0]}"
                           + (", ..." if len(extra) > 1 else "") + ")", "nothing to do "
                           "(optimizer slots and global_step are not restored)", WARNING))
    return out


def read_checkpoint(prefix: str | os.PathLike, spec: ModelSpec | None = None,
                    max_index_bytes: int = tf_bundle.MAX_INDEX_BYTES,
                    max_data_bytes: int = tf_bundle.MAX_DATA_BYTES
                    ) -> tuple[dict[str, np.ndarray], ModelSpec]:
    """Read a DeepRacer checkpoint's network variables (TF layout, float32), without
    TensorFlow; extra tensors are ignored, as the simapp does.

    Args:
        prefix: ``.../<N>_Step-<S>.ckpt`` (its ``.index`` and ``.data-00000-of-00001``).
        spec: the expected model (from ``model_metadata.json``); default: inferred from the
            index (:func:`infer_model_spec`).
        max_index_bytes, max_data_bytes: file size limits, checked before reading.

    Returns:
        (name -> array in :meth:`ModelSpec.variables` order, the spec).

    Raises:
        TensorFlowFileError: a missing, oversized or corrupt file, a missing variable or a wrong
            shape/dtype (the message names the file, each variable and the fix).
    """
    if spec is None:
        spec = infer_model_spec(prefix, max_index_bytes)
    raise_errors(check_checkpoint(prefix, spec, max_index_bytes=max_index_bytes),
                 TensorFlowFileError,
                 str(tf_bundle.bundle_paths(prefix)[0]))
    arrays = tf_bundle.read_bundle(prefix, list(spec.variables()), max_index_bytes,
                                   max_data_bytes)
    return {k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()}, spec
