"""Export a training run as a DeepRacer model folder, check such a folder, clone from one.

    deepracer-sim export RUN_DIR --out DIR [--checkpoint best|last|N] [--force]
    deepracer-sim export --check DIR
    deepracer-sim train --clone DIR ...

The public surface; each job is a module:

* :mod:`~deepracer_sim.export.write`: :func:`export_run` (gather -> write -> archive), the
  folder layout, :class:`ExportResult`;
* :mod:`~deepracer_sim.export.gather`: reading and checking the run before anything is written;
* :mod:`~deepracer_sim.export.check`: :func:`check_path` / :func:`check_folder`, each file handed
  to its validator in :mod:`deepracer_sim.formats` (:class:`Problem`);
* :mod:`~deepracer_sim.export.clone`: :func:`clone_source`, :class:`CloneSource`;
* :mod:`~deepracer_sim.export.policy`: the network as ONNX and ``policy_network.json``;
* :mod:`~deepracer_sim.export.naming`: :class:`TrackNaming` (WORLD_NAME and direction);
* :mod:`~deepracer_sim.export.safe_io`: regular files only, safe archive extraction, size limit.
"""

from __future__ import annotations

from deepracer_sim.errors import CheckpointError, ExportError
from deepracer_sim.export.check import check_folder, check_path
from deepracer_sim.export.clone import CloneSource, clone_source
from deepracer_sim.export.naming import TrackNaming, track_naming
from deepracer_sim.export.safe_io import archive_members, safe_extract
from deepracer_sim.export.write import ExportResult, export_run
from deepracer_sim.formats.problems import Problem

__all__ = [
    "CheckpointError",
    "CloneSource",
    "ExportError",
    "ExportResult",
    "Problem",
    "TrackNaming",
    "archive_members",
    "check_folder",
    "check_path",
    "clone_source",
    "export_run",
    "safe_extract",
    "track_naming",
]
