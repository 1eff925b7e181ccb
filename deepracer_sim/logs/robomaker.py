"""A robomaker-style text log (``SIM_TRACE_LOG`` lines) written on demand from a run's CSVs."""

from __future__ import annotations

import json
from pathlib import Path

from deepracer_sim.errors import RunFolderError
from deepracer_sim.formats.files import atomic_write_text
from deepracer_sim.formats.run_folder import TRAINING_SIMTRACE_DIR
from deepracer_sim.formats.simtrace import SIMTRACE_COLUMNS
from deepracer_sim.logs.reader import read_run


# ------------------------------------------------------------------------------------------
# robomaker-style text log, on demand
# ------------------------------------------------------------------------------------------
def _fmt_trace_line(row: dict) -> str:
    """One SIM_TRACE_LOG line in the simapp's ``sim_trace_log`` format."""
    # %d,%d,%.4f,%.4f,%.4f,%.2f,%.2f,%s,%.4f,%s,%s,%.4f,%d,%.2f,%s,%s,%.2f,%d,%.4f
    return (f"SIM_TRACE_LOG:{int(row['episode'])},{int(row['steps'])},{row['X']:.4f},"
            f"{row['Y']:.4f},{row['yaw']:.4f},{row['steer']:.2f},{row['throttle']:.2f},"
            f"{row['action']},{row['reward']:.4f},{row['done']},{row['all_wheels_on_track']},"
            f"{row['progress']:.4f},{int(row['closest_waypoint'])},{row['track_len']:.2f},"
            f"{row['tstamp']},{row['episode_status']},{row.get('pause_duration', 0.0):.2f},"
            f"{int(row.get('obstacle_crash_counter', 0))},{row.get('wall_clock', 0.0):.4f}")


def write_robomaker_log(run_dir: str | Path, out: str | Path) -> Path:
    """Write a robomaker-style text log of a run's training trace (``SIM_TRACE_LOG:`` lines,
    the hyperparameters block with ``num_episodes_between_training`` = the run's episodes per
    iteration, the action space, sensor and WORLD_NAME lines) for text-log tools such as
    deepracer-utils' ``SimulationLogsIO``.

    Raises:
        RunFolderError: no training trace in ``run_dir``.
    """
    logs = read_run(run_dir)
    if logs.training is None or not len(logs.training):
        raise RunFolderError(f"{run_dir}: no {TRAINING_SIMTRACE_DIR} files")
    cols = logs.training.columns
    ep = logs.training.episodes
    per_iteration = int(ep["episode"][ep["iteration"] == 0].max()) + 1 \
        if (ep["iteration"] == 0).any() else 1
    hp = dict(logs.hyperparameters or {})
    hp["num_episodes_between_training"] = per_iteration
    meta = logs.model_metadata or {}
    lines = ["Using the following hyper-parameters", json.dumps(hp, indent=2, sort_keys=True)]
    space = meta.get("action_space")
    if isinstance(space, list):
        lines.append(f"Loaded action space from file: {space}")
    sensors = meta.get("sensor", ["FRONT_FACING_CAMERA"])
    lines.append(f"Sensor list {sensors}, network "
                 f"{meta.get('neural_network', 'DEEP_CONVOLUTIONAL_NETWORK_SHALLOW')}, "
                 f"simapp_version {float(meta.get('version', 6))}, training_algorithm "
                 f"{meta.get('training_algorithm', 'clipped_ppo')}")
    world = (logs.run_config or {}).get("track")
    if world:
        lines.append(f" * /WORLD_NAME: {world}")
    names = [c for c in SIMTRACE_COLUMNS if c in cols]
    for k in range(len(cols["episode"])):
        row = {name: cols[name][k] for name in names}
        row["done"] = bool(row["done"])
        row["all_wheels_on_track"] = bool(row["all_wheels_on_track"])
        lines.append(_fmt_trace_line(row))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, "\n".join(lines) + "\n")
    return out
