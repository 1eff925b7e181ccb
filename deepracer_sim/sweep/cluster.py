"""Ray itself: starting an embedded local Ray or joining a cluster, shipping a trial's input
files to its node, and bringing its run folder back.

* **Local** (no ``--address``): ``ray.init`` starts Ray inside the command with one CPU slot
  per worker; its worker processes inherit :data:`~deepracer_sim.sweep.trial.THREAD_ENV` (one
  numba / torch / BLAS thread per trial). No dashboard unless asked for (it needs
  ``ray[default]``: ``pip install "deepracer-sim[dashboard]"``).
* **A cluster** (``--address auto`` or ``HOST:PORT`` of a running ``ray start --head``): the
  command is the driver and joins the cluster; trials get the same environment through the job's
  runtime environment. The spec's input files (reward functions, model_metadata.json,
  hyperparameters.json, track ``.npy`` files, held-out ones included) are read on the driver and
  sent with the trials (:func:`ship_inputs`); a trial whose node lacks such a path writes the sent
  bytes into its scratch folder and uses that copy (:func:`localize`). A ``clone`` folder is not
  sent: it must be on storage every node mounts. Run folders are either written in place
  (``--shared-out``: ``--out`` is on storage every node mounts at the same path), or written in the
  node's temp folder and collected when the trial ends: a Ray task pinned to that node returns the
  folder as ``.tar.gz`` bytes, which the driver unpacks beside ``<out>/<trial>`` and renames into
  place (:func:`collect_run_folder`).
* **Ray Client** (``ray://HOST:PORT``) is refused with what to use instead: Tune would run the
  sweep's driver loop on the cluster's head, where the table and the collection of run folders
  cannot reach this machine.

``ray`` is imported inside the functions that use it: importing it takes 1.5-4 s, and every
``deepracer-sim`` command loads this module through the command line.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import shutil
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from deepracer_sim.errors import SweepError
from deepracer_sim.formats.run_folder import SWEEP_INCOMING_PREFIX
from deepracer_sim.sweep.spec import HOLDOUT_KEY, TrainOptions, TrialSpec
from deepracer_sim.sweep.trial import THREAD_ENV
from deepracer_sim.track.lookup import looks_like_path

#: Quiet Ray: no usage report, no Tune result files per trial, Tune's plain output mode.
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",
           "RAY_AIR_NEW_OUTPUT": "0"}
#: Object store of the embedded Ray (trials exchange only metrics and folder archives).
OBJECT_STORE_BYTES = 128 * 1024 * 1024
RAY_CLIENT_HELP = (
    "Ray Client addresses (ray://) are not supported: the sweep's driver must run where it can "
    "write --out and draw the table. On a machine of the cluster run the same command with "
    "--address auto; from elsewhere submit it as a Ray job: ray job submit --address "
    "http://HEAD:8265 --working-dir . -- deepracer-sim sweep SPEC.yaml --address auto --out "
    "DIR (with --shared-out when DIR is on storage every node mounts)")


def check_address(address: str | None) -> None:
    """Refuse what :func:`init_ray` cannot use.

    Raises:
        SweepError: a ``ray://`` address (the message says what to use instead) or an empty
            one.
    """
    if address is None:
        return
    if address.startswith("ray://"):
        raise SweepError(f"--address {address}: {RAY_CLIENT_HELP}")
    if not address.strip():
        raise SweepError("--address: give auto or HOST:PORT of a running Ray cluster")


def check_dashboard() -> None:
    """Raises SweepError, saying what to install, when Ray's dashboard packages are missing."""
    try:
        importlib.import_module("ray.dashboard.optional_deps")
    except ImportError as exc:
        raise SweepError(f"--dashboard needs Ray's dashboard packages ({exc}): pip install "
                         "\"deepracer-sim[dashboard]\" (= ray[default]); without --dashboard "
                         "the sweep runs and its table shows the progress") from None


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block (Ray's local processes inherit them)."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def init_ray(workers: int | None, address: str | None, dashboard: bool) -> tuple[float, str]:
    """Start an embedded Ray with ``workers`` CPU slots (default: the machine's cores), or
    join the cluster at ``address``.

    Returns:
        (seconds it took, the dashboard's URL or "").

    Raises:
        SweepError: a bad address, missing dashboard packages, or no cluster at ``address``.
    """
    import ray  # see the module docstring

    check_address(address)
    if dashboard and address is None:
        check_dashboard()
    os.environ.update({k: v for k, v in RAY_ENV.items() if k not in os.environ})
    t0 = time.perf_counter()
    try:
        if address is None:
            with _environment(THREAD_ENV):
                context = ray.init(num_cpus=workers or os.cpu_count(),
                                   include_dashboard=dashboard, log_to_driver=False,
                                   logging_level=logging.ERROR,
                                   object_store_memory=OBJECT_STORE_BYTES)
        else:
            context = ray.init(address=address, log_to_driver=False,
                               logging_level=logging.ERROR,
                               runtime_env={"env_vars": dict(THREAD_ENV)})
    except ConnectionError as exc:
        raise SweepError(f"--address {address}: no Ray cluster there ({exc}); start one with "
                         "ray start --head, or leave --address out for a local Ray") from None
    url = getattr(context, "dashboard_url", "") or ""
    return time.perf_counter() - t0, (f"http://{url}" if url and "://" not in url else url)


# ---------------------------------------------------------------------------------------------
def _parts(key: str, value: Any) -> list[str]:
    """The file-or-name parts of a setting: each track of a ``track`` list ("a,b") or of
    ``holdout_tracks``, else the value itself."""
    if key == HOLDOUT_KEY and isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    if isinstance(value, str):
        return value.split(",") if key == "track" else [value]
    return []


def _input_paths(params: dict[str, Any], options: TrainOptions) -> list[str]:
    """The file paths among a trial's settings (path options, tracks given as paths, held-out
    tracks given as paths)."""
    out = []
    for key, value in params.items():
        opt = options.options.get(key)
        if opt is None and key != HOLDOUT_KEY:
            continue
        for part in _parts(key, value):
            if ((opt is not None and opt.kind == "path") or looks_like_path(part)) \
                    and Path(part).is_file():
                out.append(part)
    return out


def ship_inputs(trials: list[TrialSpec], options: TrainOptions) -> dict[str, bytes]:
    """The bytes of every input file of ``trials``, by path (sent to the cluster's nodes)."""
    return {path: Path(path).read_bytes()
            for t in trials for path in _input_paths(t.params, options)}


def localize(params: dict[str, Any], options: TrainOptions, inputs: dict[str, bytes],
             folder: Path) -> dict[str, Any]:
    """``params`` with each input path this node lacks replaced by a copy of the sent bytes,
    written into ``folder`` under its own file name (in a numbered sub-folder); a path inside
    a track list or ``holdout_tracks`` is replaced in place."""
    keys = [k for k in params if k in options.options or k == HOLDOUT_KEY]
    missing = sorted({p for k in keys for p in _parts(k, params[k])
                      if p in inputs and not Path(p).exists()})
    local: dict[str, str] = {}
    for k, path in enumerate(missing):
        copy = Path(folder) / f"input-{k}" / Path(path).name
        copy.parent.mkdir(parents=True, exist_ok=True)
        copy.write_bytes(inputs[path])
        local[path] = str(copy)
    out = dict(params)
    for key in keys:
        value = params[key]
        if key == HOLDOUT_KEY and isinstance(value, list):
            out[key] = [local.get(v, v) for v in value]
        elif isinstance(value, str) and any(p in local for p in _parts(key, value)):
            out[key] = ",".join(local.get(p, p) for p in _parts(key, value))
    return out


# ---------------------------------------------------------------------------------------------
def pack_folder(path: str) -> bytes:
    """A folder as ``.tar.gz`` bytes (runs as a Ray task on the trial's node)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        tar.add(path, arcname=".")
    return buf.getvalue()


def remove_folder(path: str) -> None:
    """Delete a folder (runs as a Ray task on the trial's node)."""
    shutil.rmtree(path, ignore_errors=True)


def collect_run_folder(node_id: str, remote_dir: str, dest: Path) -> None:
    """Bring the run folder ``remote_dir`` of node ``node_id`` to ``dest``: unpacked into
    ``<dest's folder>/.incoming-<name>`` first, then renamed into place; the node's copy is
    deleted afterwards."""
    import ray  # see the module docstring
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    pin = NodeAffinitySchedulingStrategy(node_id=node_id, soft=False)
    data = ray.get(ray.remote(num_cpus=0)(pack_folder)
                   .options(scheduling_strategy=pin).remote(remote_dir))
    incoming = dest.parent / f"{SWEEP_INCOMING_PREFIX}{dest.name}"
    shutil.rmtree(incoming, ignore_errors=True)
    incoming.mkdir(parents=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(incoming, filter="data")
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(incoming, dest)
    ray.remote(num_cpus=0)(remove_folder).options(scheduling_strategy=pin).remote(remote_dir)
