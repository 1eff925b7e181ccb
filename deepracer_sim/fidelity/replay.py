"""How closely our car follows the real simulator: replay real sim-traces and measure.

``deepracer-sim fidelity LOG [--track NAME|PATH] [--physics v4|v5|v6] [--json]``

Every sim-trace under the folder ``LOG`` (training and evaluation, any layout
:func:`~deepracer_sim.formats.simtrace.find_simtrace_files` handles), or the one sim-trace file
``LOG`` (``.csv`` or ``.csv.gz``: one run), is replayed: from each logged state the car is
driven with the logged actions, and its pose after 1, 5 and 15 steps is compared with the
logged pose. Printed: the median and 90th percentile of the position error of the reference
point (params ``x``/``y``, cm) and the median absolute heading error (degrees), for our car of
the generation (:mod:`deepracer_sim.sim.car`) and for the plain kinematic bicycle (speed and
steering follow each command at once, no slip) side by side. ``--json`` prints
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
generation (``--timing`` overrides it; the measured comparison: ``docs/fidelity.md``).

Starting state: the pose (x, y, yaw) is logged; the car's velocities and hinge angle are not.
They are estimated by running the car through the run's earlier rows from rest (the car is held
in the PREPARE step and after a pause): at each row the car drives one step from the logged pose
under the logged action, and an observer corrects its state by what the next logged pose shows
it missed: the yaw rate by ``gain_yaw_rate`` times the yaw miss per second, the forward and
lateral velocities by ``gain_velocity`` times the position miss (car frame) per second, the
hinge by ``gain_steer`` times the steering that would explain the yaw miss
(:class:`Estimator`). The kinematic bicycle needs no state.
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
    REAR_AXLE_X,
    REFERENCE_POINT_X,
    STEP_DT,
    WHEELBASE,
)
from deepracer_sim.errors import FidelityError
from deepracer_sim.formats.simtrace import find_simtrace_files, read_simtrace
from deepracer_sim.sim.car import (
    N_STATE,
    S_DELTA,
    S_V,
    S_VY,
    S_X,
    S_Y,
    S_YAW,
    S_YAW_RATE,
    CarParams,
    advance_car_dt,
    car_params,
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
#: The observer's clamps of the estimated state: forward speed (m/s), lateral speed (m/s), yaw
#: rate (rad/s), hinge angle (rad).
_CLAMP_V = (-1.0, 5.0)
_CLAMP_VY = 3.0
_CLAMP_YAW_RATE = 10.0
_CLAMP_DELTA = 0.6


@dataclass(frozen=True)
class Estimator:
    """How a replay times steps and estimates the starting state (see the module docstring).

    Attributes:
        timing: ``"fixed"`` (every step 1/15 s) or ``"logged"`` (``tstamp`` differences).
        gain_yaw_rate: yaw-rate correction per rad/s of yaw-rate miss over the last step.
        gain_velocity: velocity correction per m/s of the last step's position miss (car frame,
            forward and lateral alike).
        gain_steer: hinge correction as a fraction of the steering that explains the yaw miss,
            ``gain * yaw miss * WHEELBASE / distance``.
    """

    timing: str
    gain_yaw_rate: float = 0.0
    gain_velocity: float = 0.0
    gain_steer: float = 0.0

    def gains(self) -> np.ndarray:
        """(3,) float64 [gain_yaw_rate, gain_velocity, gain_steer] for the kernel."""
        return np.array([self.gain_yaw_rate, self.gain_velocity, self.gain_steer])


#: Per generation, fitted with the car by ``deepracer-sim calibrate`` (``docs/fidelity.md``):
#: v4 and v5 with fixed 1/15 s steps (their logged ``tstamp`` jitter is not motion), v6 with the
#: logged step times.
ESTIMATORS = {
    "v4": Estimator("fixed", gain_yaw_rate=0.2889, gain_velocity=0.06862, gain_steer=0.4057),
    "v5": Estimator("fixed", gain_yaw_rate=0.7667, gain_velocity=0.2818, gain_steer=0.0),
    "v6": Estimator("logged", gain_yaw_rate=0.008691, gain_velocity=0.2551, gain_steer=0.0),
}


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
    """Read every training and evaluation sim-trace under the folder ``log_dir``, or the one
    sim-trace file ``log_dir`` (``.csv`` or ``.csv.gz``, read as training rows: one run).

    Raises:
        FidelityError: no sim-trace found.
    """
    if Path(log_dir).is_file():
        files = [("training", Path(log_dir))]
    else:
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
    ``simapp_version N`` the simapp logs (it is the model metadata's version), else None. Of a
    sim-trace file: its entry's ``physics`` in a ``manifest.json`` beside it, else a file name
    that starts with ``v<version>_`` (the shared high-speed logs), else None."""
    path = Path(log_dir)
    if path.is_file():
        return _file_version(path)
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


def _file_version(path: Path) -> float | None:
    manifest = path.parent / "manifest.json"
    try:
        entries = json.loads(manifest.read_text()) if manifest.is_file() else []
        for entry in entries:
            if entry.get("file") == path.name:
                return float(entry["physics"])
    except (ValueError, KeyError, TypeError, AttributeError, OSError):
        pass
    m = re.match(r"v(\d+(?:\.\d+)?)_", path.name)
    return float(m.group(1)) if m else None


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
def _estimate(run_start, act_ok, pose_ok, ox, oy, yaw, steer, speed, dur, params, fixed,
              gains):
    n = len(ox)
    out = np.zeros((n, N_STATE))
    st = np.zeros(N_STATE)
    u = 0.0
    w = 0.0
    r = 0.0
    d = 0.0
    g_r, g_v, g_d = gains[0], gains[1], gains[2]
    for j in range(n):
        if run_start[j] < 0:
            continue
        if run_start[j] == j:  # held in PREPARE / the pause: at rest
            u = 0.0
            w = 0.0
            r = 0.0
            d = 0.0
        out[j, S_X] = ox[j]
        out[j, S_Y] = oy[j]
        out[j, S_YAW] = yaw[j]
        out[j, S_V] = u
        out[j, S_VY] = w
        out[j, S_YAW_RATE] = r
        out[j, S_DELTA] = d
        st[:] = out[j]
        dt = STEP_DT if (fixed or not act_ok[j]) else dur[j]
        advance_car_dt(st, steer[j], speed[j], params, dt)
        u, w, r, d = st[S_V], st[S_VY], st[S_YAW_RATE], st[S_DELTA]
        if j + 1 < n and run_start[j + 1] == run_start[j] and pose_ok[j + 1] and act_ok[j]:
            miss = yaw[j + 1] - st[S_YAW]
            miss = (miss + math.pi) % (2.0 * math.pi) - math.pi
            ex = ox[j + 1] - st[S_X]
            ey = oy[j + 1] - st[S_Y]
            c = math.cos(yaw[j + 1])
            s = math.sin(yaw[j + 1])
            r += g_r * miss / dt
            u += g_v * (c * ex + s * ey) / dt
            w += g_v * (c * ey - s * ex) / dt
            if g_d > 0.0:
                dist = max(math.hypot(ox[j + 1] - ox[j], oy[j + 1] - oy[j]), 0.03)
                d += g_d * miss * WHEELBASE / dist
                d = min(max(d, -_CLAMP_DELTA), _CLAMP_DELTA)
            u = min(max(u, _CLAMP_V[0]), _CLAMP_V[1])
            w = min(max(w, -_CLAMP_VY), _CLAMP_VY)
            r = min(max(r, -_CLAMP_YAW_RATE), _CLAMP_YAW_RATE)
    return out


@njit(cache=True)
def _predict(starts, horizon, steer, speed, dur, state, params, fixed):
    out = np.zeros((len(starts), horizon, 3))
    st = np.zeros(N_STATE)
    for i in range(len(starts)):
        k = starts[i]
        st[:] = state[k]
        for h in range(horizon):
            advance_car_dt(st, steer[k + h], speed[k + h], params,
                           STEP_DT if fixed else dur[k + h])
            out[i, h, 0] = st[S_X] + REFERENCE_POINT_X * math.cos(st[S_YAW])
            out[i, h, 1] = st[S_Y] + REFERENCE_POINT_X * math.sin(st[S_YAW])
            out[i, h, 2] = st[S_YAW]
    return out


@njit(cache=True)
def _predict_kinematic(starts, horizon, ox, oy, yaw, steer, speed, dur, fixed):
    """The plain kinematic bicycle: the rear axle drives ``speed * dt`` on a circle of radius
    ``WHEELBASE / tan(steer)`` (a straight line when the steering is 0)."""
    out = np.zeros((len(starts), horizon, 3))
    for i in range(len(starts)):
        k = starts[i]
        psi = yaw[k]
        xr = ox[k] + REAR_AXLE_X * math.cos(psi)
        yr = oy[k] + REAR_AXLE_X * math.sin(psi)
        for h in range(horizon):
            dist = speed[k + h] * (STEP_DT if fixed else dur[k + h])
            curv = math.tan(steer[k + h]) / WHEELBASE
            if abs(curv * dist) < 1e-9:
                xr += dist * math.cos(psi)
                yr += dist * math.sin(psi)
            else:
                psi1 = psi + curv * dist
                xr += (math.sin(psi1) - math.sin(psi)) / curv
                yr += (math.cos(psi) - math.cos(psi1)) / curv
                psi = psi1
            ahead = REFERENCE_POINT_X - REAR_AXLE_X
            out[i, h, 0] = xr + ahead * math.cos(psi)
            out[i, h, 1] = yr + ahead * math.sin(psi)
            out[i, h, 2] = psi
    return out


def estimate_states(log: ReplayLog, car: CarParams, estimator: Estimator) -> np.ndarray:
    """(len(log), N_STATE) estimated car state before each row's action (zeros on rows outside
    a run)."""
    return _estimate(log.run_start, log.act_ok, log.pose_ok, log.ox, log.oy, log.yaw, log.steer,
                     log.speed, log.dur, car.as_array(), estimator.timing == "fixed",
                     estimator.gains())


def _errors(log: ReplayLog, starts: np.ndarray, pred: np.ndarray, horizon: int):
    rows = np.asarray(starts)[:, None] + np.arange(1, horizon + 1)[None, :]
    pos = np.hypot(pred[:, :, 0] - log.rx[rows], pred[:, :, 1] - log.ry[rows])
    head = (pred[:, :, 2] - log.yaw[rows] + math.pi) % (2.0 * math.pi) - math.pi
    return pos, head


def prediction_errors(log: ReplayLog, starts: np.ndarray, car: CarParams, estimator: Estimator,
                      horizon: int = max(HORIZONS)) -> tuple[np.ndarray, np.ndarray]:
    """Errors of the car's predictions from ``starts``: (position error (n, horizon) m of the
    reference point, signed heading error (n, horizon) rad); column h-1 is horizon h."""
    state = estimate_states(log, car, estimator)
    pred = _predict(np.asarray(starts, dtype=np.int64), horizon, log.steer, log.speed, log.dur,
                    state, car.as_array(), estimator.timing == "fixed")
    return _errors(log, starts, pred, horizon)


def kinematic_errors(log: ReplayLog, starts: np.ndarray, timing: str,
                     horizon: int = max(HORIZONS)) -> tuple[np.ndarray, np.ndarray]:
    """:func:`prediction_errors` of the plain kinematic bicycle (``timing`` as
    :class:`Estimator`'s)."""
    pred = _predict_kinematic(np.asarray(starts, dtype=np.int64), horizon, log.ox, log.oy,
                              log.yaw, log.steer, log.speed, log.dur, timing == "fixed")
    return _errors(log, starts, pred, horizon)


def error_summary(pos: np.ndarray, head: np.ndarray, horizons=HORIZONS) -> dict:
    """{str(h): E} with E = {"median_cm", "p90_cm", "median_heading_deg"}."""
    out = {}
    for h in horizons:
        d = pos[:, h - 1] * 100.0
        out[str(h)] = {"median_cm": float(np.median(d)),
                       "p90_cm": float(np.quantile(d, 0.9)),
                       "median_heading_deg": float(np.degrees(np.median(np.abs(head[:, h - 1]))))}
    return out


def compare(log: ReplayLog, physics: str, timing: str | None = None, episodes: str = "all",
            car: CarParams | None = None) -> dict:
    """``{"horizons": {"1": H, ...}}`` (module docstring) for the car of ``physics`` (or
    ``car``, replayed with the estimator of ``physics``) and the kinematic bicycle.

    Raises:
        UsageError: an unknown ``physics``.
        FidelityError: no replay window in the log.
    """
    own = car_params(physics)
    model_car = car if car is not None else own
    est = ESTIMATORS[physics]
    if timing is not None:
        est = Estimator(timing, est.gain_yaw_rate, est.gain_velocity, est.gain_steer)
    starts = window_starts(log, max(HORIZONS), episodes)
    if len(starts) == 0:
        raise FidelityError(f"no {max(HORIZONS)}-step replay window in the log ({episodes} "
                            "episodes)")
    model = error_summary(*prediction_errors(log, starts, model_car, est))
    kin = error_summary(*kinematic_errors(log, starts, est.timing))
    return {"horizons": {h: {"model": model[h], "kinematic": kin[h]} for h in model}}
