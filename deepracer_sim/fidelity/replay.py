"""How closely our car follows the real simulator: replay real sim-traces and measure.

``deepracer-sim fidelity LOG_DIR [--track NAME|PATH] [--version 4|6] [--json]``

Every sim-trace under ``LOG_DIR`` (training and evaluation, any layout
:func:`~deepracer_sim.formats.simtrace.find_simtrace_files` handles) is replayed: from each
logged state the car is driven with the logged actions, and its pose after 1, 5 and 15 steps is
compared with the logged pose. Printed: the median and 90th percentile of the position error
of the reference point (params ``x``/``y``, cm) and the median absolute heading error (degrees),
for our model (:func:`~deepracer_sim.sim.car.dynamics_for_version`) and for the plain kinematic
bicycle (:data:`~deepracer_sim.sim.car.KINEMATIC`) side by side. ``--json`` prints
``{"horizons": {"1": H, "5": H, "15": H}}`` with ``H = {"model": E, "kinematic": E}`` and
``E = {"median_cm": float, "p90_cm": float, "median_heading_deg": float}``.

Timing (spec §2.1): row k's pose is the pose before action k; the car moves under action k
between rows k and k+1. A prediction from row k applies the actions of rows k..k+h-1 and is
compared with row k+h. A window (k, 15 steps) is used when rows k..k+14 are RUN rows
(``in_progress``) of one run (a run starts after the PREPARE row or a ``pause``), no logged step
in it lasts outside 0.005..0.2 s, row k+15 is a real pose of the same episode (``in_progress``,
``off_track`` or ``lap_complete``) and row k is at least one driven step into its run (the
starting state needs one). All horizons use the same windows.

Step duration: the logged ``tstamp`` of row k is the simulation time *after* action k's motion,
so the motion of step k lasts ``tstamp[k] - tstamp[k-1]``: either the real step time or jitter
that is not motion, depending on the logs; :data:`ESTIMATORS` holds the better choice per
version (``--timing`` overrides it; the measured comparison: ``docs/fidelity.md``).

Starting state: the pose (x, y, yaw) is logged; the car's speed and steering are not. They are
estimated by running the model through the run's earlier rows from rest (the car is held in the
PREPARE step and after a pause): at each row the model drives one step from the logged pose under
the logged action, and its steering is corrected by ``steer_gain`` times the steering that would
explain the logged yaw change the model missed (an observer). Speed is not corrected: per-step
logged distances are too noisy (the fit preferred no correction). The kinematic bicycle needs no
state (it follows each command at once).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

from deepracer_sim.constants import (
    MAX_SPEED,
    MAX_STEERING_ANGLE,
    MIN_SPEED,
    REFERENCE_POINT_X,
    STEP_DT,
    WHEELBASE,
)
from deepracer_sim.errors import FidelityError
from deepracer_sim.formats.simtrace import find_simtrace_files, read_simtrace
from deepracer_sim.sim.car import (
    D_YAW_GAIN,
    KINEMATIC,
    Dynamics,
    advance_car_dt,
    dynamics_for_version,
)

#: Horizons (steps) reported.
HORIZONS = (1, 5, 15)
#: Logged step durations outside this range (s) are hiccups: no window crosses one.
MIN_STEP_S, MAX_STEP_S = 0.005, 0.2
#: Every ``HOLDOUT_EVERY``-th episode (index 0, 5, 10... in load order) is held out of the fit.
HOLDOUT_EVERY = 5
_RUN_STATUS = "in_progress"
_POSE_STATUSES = ("in_progress", "off_track", "lap_complete")
_RESTART_STATUSES = ("prepare", "pause")


@dataclass(frozen=True)
class Estimator:
    """How a replay times steps and estimates the starting state (see the module docstring).

    Attributes:
        timing: ``"fixed"`` (every step 1/15 s) or ``"logged"`` (``tstamp`` differences).
        steer_gain: observer gain on the steering (0: the steering follows the commands only).
    """

    timing: str
    steer_gain: float


#: Per physics version, fitted with the car by ``deepracer-sim calibrate`` (same data as
#: :data:`~deepracer_sim.sim.car.DYNAMICS_V4` / ``DYNAMICS_V5``): version 4 with fixed steps
#: and an observer gain, version 6 with the logged step times and no observer (the fits and
#: their errors: ``docs/fidelity.md``).
ESTIMATORS = {4: Estimator(timing="fixed", steer_gain=0.33),
              6: Estimator(timing="logged", steer_gain=0.0)}


def estimator_for_version(version: float) -> Estimator:
    """The :data:`ESTIMATORS` entry of a physics version (< 5: 4, else 6)."""
    return ESTIMATORS[4 if float(version) < 5.0 else 6]


@dataclass
class ReplayLog:
    """The rows of every sim-trace in a folder, in file order, as flat arrays.

    Attributes:
        ox, oy, yaw: car origin (m) and yaw (rad) of each row (``X``/``Y`` are the reference
            point 0.14 m ahead of the origin).
        rx, ry: the logged reference point.
        steer, speed: the action, clipped as the simapp drives (rad, m/s).
        dur: logged duration of the row's step, s (``tstamp[k] - tstamp[k-1]``; NaN on an
            episode's first row).
        episode: episode index (load order) of each row.
        run_start: index of the first RUN row of the row's run, -1 on PREPARE/pause rows.
        act_ok: the row is a RUN row whose step can be replayed.
        pose_ok: the row's pose is a real pose (RUN row, or the terminal off_track/lap_complete).
        episodes: (kind, file, episode number) per episode index.
        track_len: logged track length, m (NaN if the files disagree).
    """

    ox: np.ndarray
    oy: np.ndarray
    yaw: np.ndarray
    rx: np.ndarray
    ry: np.ndarray
    steer: np.ndarray
    speed: np.ndarray
    dur: np.ndarray
    episode: np.ndarray
    run_start: np.ndarray
    act_ok: np.ndarray
    pose_ok: np.ndarray
    episodes: list
    track_len: float

    def __len__(self) -> int:
        return len(self.ox)


def load_log(log_dir: str | Path) -> ReplayLog:
    """Read every training and evaluation sim-trace under ``log_dir``.

    Raises:
        FidelityError: no sim-trace found.
    """
    files = [(kind, f) for kind in ("training", "evaluation")
             for f in find_simtrace_files(log_dir, kind)]
    if not files:
        raise FidelityError(f"{log_dir}: no training-simtrace/ or evaluation-simtrace/ "
                            "*-iteration.csv files found")
    parts: dict[str, list] = {k: [] for k in ("ox", "oy", "yaw", "rx", "ry", "steer", "speed",
                                              "dur", "episode", "run_start", "act_ok",
                                              "pose_ok")}
    episodes: list = []
    lengths: set = set()
    base = 0
    for kind, path in files:
        cols = read_simtrace(path)
        lengths.update(np.round(cols["track_len"], 3).tolist())
        ep_col = cols["episode"]
        # episodes in order of first appearance (rows of one episode are contiguous)
        cuts = np.flatnonzero(np.diff(ep_col)) + 1
        for rows in np.split(np.arange(len(ep_col)), cuts):
            if len(rows) == 0:
                continue
            n = len(rows)
            yaw = np.radians(cols["yaw"][rows])
            rx, ry = cols["X"][rows], cols["Y"][rows]
            status = cols["episode_status"][rows]
            t = cols["tstamp"][rows]
            dur = np.concatenate([[np.nan], np.diff(t)])
            run = status == _RUN_STATUS
            run_start = np.full(n, -1, dtype=np.int64)
            current = -1
            for j in range(n):
                if status[j] in _RESTART_STATUSES:
                    current = -1
                elif current < 0:
                    current = j
                run_start[j] = current if current < 0 else base + current
            parts["ox"].append(rx - REFERENCE_POINT_X * np.cos(yaw))
            parts["oy"].append(ry - REFERENCE_POINT_X * np.sin(yaw))
            parts["yaw"].append(yaw)
            parts["rx"].append(rx)
            parts["ry"].append(ry)
            parts["steer"].append(np.radians(np.clip(cols["steer"][rows], -MAX_STEERING_ANGLE,
                                                     MAX_STEERING_ANGLE)))
            parts["speed"].append(np.clip(cols["throttle"][rows], MIN_SPEED, MAX_SPEED))
            parts["dur"].append(dur)
            parts["episode"].append(np.full(n, len(episodes), dtype=np.int64))
            parts["run_start"].append(run_start)
            parts["act_ok"].append(run & (run_start >= 0) & (dur > MIN_STEP_S)
                                   & (dur < MAX_STEP_S))
            parts["pose_ok"].append(np.isin(status, _POSE_STATUSES) & (run_start >= 0))
            episodes.append((kind, str(path), int(ep_col[rows[0]])))
            base += n
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    track_len = lengths.pop() if len(lengths) == 1 else math.nan
    return ReplayLog(episodes=episodes, track_len=track_len, **arrays)


def detect_version(log_dir: str | Path) -> float | None:
    """The physics version of a log folder: ``model_metadata.json``'s ``version``, else the
    ``simapp_version N`` the simapp logs (it is the model metadata's version), else None."""
    for meta in sorted(Path(log_dir).rglob("model_metadata.json")):
        try:
            return float(json.loads(meta.read_text())["version"])
        except (ValueError, KeyError, TypeError, OSError):
            continue
    for log in sorted(Path(log_dir).rglob("*.log")):
        try:
            m = re.search(r"simapp_version (\d+(?:\.\d+)?)", log.read_text(errors="replace"))
        except OSError:
            continue
        if m:
            return float(m.group(1))
    return None


def episode_masks(log: ReplayLog) -> tuple[np.ndarray, np.ndarray]:
    """(fit, held_out) boolean masks over episode indices: every :data:`HOLDOUT_EVERY`-th
    episode in load order is held out."""
    held = np.arange(len(log.episodes)) % HOLDOUT_EVERY == 0
    return ~held, held


def window_starts(log: ReplayLog, horizon: int = max(HORIZONS),
                  episodes: str = "all") -> np.ndarray:
    """Start rows of the replay windows (module docstring) of ``episodes`` ("all", "fit" or
    "held-out")."""
    n = len(log)
    if n <= horizon:
        return np.zeros(0, dtype=np.int64)
    ks = np.arange(n - horizon)
    ok = (log.run_start[ks] >= 0) & (ks > log.run_start[ks]) & log.pose_ok[ks]
    end = ks + horizon
    ok &= (log.episode[end] == log.episode[ks]) & log.pose_ok[end]
    ok &= log.run_start[end - 1] == log.run_start[ks]
    # all actions k..k+horizon-1 replayable: a running count of bad rows
    bad = np.concatenate([[0], np.cumsum(~log.act_ok)])
    ok &= bad[end] - bad[ks] == 0
    if episodes != "all":
        fit, held = episode_masks(log)
        keep = {"fit": fit, "held-out": held}[episodes]
        ok &= keep[log.episode[ks]]
    return ks[ok]


@njit(cache=True)
def _estimate(run_start, act_ok, pose_ok, ox, oy, yaw, steer, speed, dur, dyn, fixed,
              steer_gain):
    n = len(ox)
    out = np.zeros((n, 2))
    pose = np.zeros(5)
    v = 0.0
    d = 0.0
    for j in range(n):
        if run_start[j] < 0:
            continue
        if run_start[j] == j:  # held in PREPARE / the pause: at rest
            v = 0.0
            d = 0.0
        out[j, 0] = v
        out[j, 1] = d
        dt = STEP_DT if (fixed or not act_ok[j]) else dur[j]
        pose[0] = ox[j]
        pose[1] = oy[j]
        pose[2] = yaw[j]
        pose[3] = v
        pose[4] = d
        advance_car_dt(pose, steer[j], speed[j], dyn, dt)
        v = pose[3]
        d = pose[4]
        if steer_gain > 0.0 and j + 1 < n and run_start[j + 1] == run_start[j] and pose_ok[j + 1]:
            miss = yaw[j + 1] - pose[2]
            miss = (miss + math.pi) % (2.0 * math.pi) - math.pi
            dist = max(math.hypot(ox[j + 1] - ox[j], oy[j + 1] - oy[j]), 0.03)
            d += steer_gain * miss * WHEELBASE / (dyn[D_YAW_GAIN] * dist)
            d = min(max(d, -0.6), 0.6)
    return out


@njit(cache=True)
def _predict(starts, horizon, ox, oy, yaw, steer, speed, dur, state, dyn, fixed):
    out = np.zeros((len(starts), horizon, 3))
    pose = np.zeros(5)
    for i in range(len(starts)):
        k = starts[i]
        pose[0] = ox[k]
        pose[1] = oy[k]
        pose[2] = yaw[k]
        pose[3] = state[k, 0]
        pose[4] = state[k, 1]
        for h in range(horizon):
            advance_car_dt(pose, steer[k + h], speed[k + h], dyn, STEP_DT if fixed else dur[k + h])
            out[i, h, 0] = pose[0] + REFERENCE_POINT_X * math.cos(pose[2])
            out[i, h, 1] = pose[1] + REFERENCE_POINT_X * math.sin(pose[2])
            out[i, h, 2] = pose[2]
    return out


def estimate_states(log: ReplayLog, dyn: Dynamics, estimator: Estimator) -> np.ndarray:
    """(len(log), 2) estimated [speed, steering] before each row's action."""
    return _estimate(log.run_start, log.act_ok, log.pose_ok, log.ox, log.oy, log.yaw, log.steer,
                     log.speed, log.dur, dyn.as_array(), estimator.timing == "fixed",
                     float(estimator.steer_gain))


def prediction_errors(log: ReplayLog, starts: np.ndarray, dyn: Dynamics, estimator: Estimator,
                      horizon: int = max(HORIZONS)) -> tuple[np.ndarray, np.ndarray]:
    """Errors of the predictions from ``starts``: (position error (n, horizon) m of the
    reference point, signed heading error (n, horizon) rad); column h-1 is horizon h."""
    state = estimate_states(log, dyn, estimator)
    pred = _predict(np.asarray(starts, dtype=np.int64), horizon, log.ox, log.oy, log.yaw,
                    log.steer, log.speed, log.dur, state, dyn.as_array(),
                    estimator.timing == "fixed")
    rows = np.asarray(starts)[:, None] + np.arange(1, horizon + 1)[None, :]
    pos = np.hypot(pred[:, :, 0] - log.rx[rows], pred[:, :, 1] - log.ry[rows])
    head = (pred[:, :, 2] - log.yaw[rows] + math.pi) % (2.0 * math.pi) - math.pi
    return pos, head


def error_summary(pos: np.ndarray, head: np.ndarray, horizons=HORIZONS) -> dict:
    """{str(h): E} with E = {"median_cm", "p90_cm", "median_heading_deg"}."""
    out = {}
    for h in horizons:
        d = pos[:, h - 1] * 100.0
        out[str(h)] = {"median_cm": float(np.median(d)),
                       "p90_cm": float(np.quantile(d, 0.9)),
                       "median_heading_deg": float(np.degrees(np.median(np.abs(head[:, h - 1]))))}
    return out


def compare(log: ReplayLog, version: float, timing: str | None = None, episodes: str = "all",
            dyn: Dynamics | None = None) -> dict:
    """``{"horizons": {"1": H, ...}}`` (module docstring) for our model of ``version`` (or
    ``dyn``) and the kinematic bicycle.

    Raises:
        FidelityError: no replay window in the log.
    """
    est = estimator_for_version(version)
    if timing is not None:
        est = Estimator(timing=timing, steer_gain=est.steer_gain)
    starts = window_starts(log, max(HORIZONS), episodes)
    if len(starts) == 0:
        raise FidelityError(f"no {max(HORIZONS)}-step replay window in the log ({episodes} "
                            "episodes)")
    model = error_summary(*prediction_errors(log, starts, dyn or dynamics_for_version(version),
                                             est))
    kin = error_summary(*prediction_errors(log, starts, KINEMATIC, est))
    return {"horizons": {h: {"model": model[h], "kinematic": kin[h]} for h in model}}
