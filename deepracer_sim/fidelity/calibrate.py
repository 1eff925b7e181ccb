"""Fit each simulator generation's car and replay estimator to real sim-traces, split by run.

``deepracer-sim calibrate [--logs DIR] [--physics v4|v5|v6] [--stride N] [--report]``

Data (``../shared/real-logs``; :data:`RUNS`): every sim-trace folder or file is one run (one
simulator process: a deepracer-for-cloud worker, a console training job, an evaluation). Each
generation's runs are split by run into the runs the fit uses and the runs held out; the split
and why: ``docs/fidelity.md``. Each run is replayed as :mod:`deepracer_sim.fidelity.replay` does
(its windows, estimator and errors), with the simulator's own car kernel.

The fit (least squares, scipy, soft-L1 loss with a 10 cm scale) minimises, over every fit run's
15-step windows (every ``stride``-th), the position error of the reference point at horizons
1..15 (m) and 0.2 m/rad times the heading error; free: the :class:`~deepracer_sim.sim.car.
CarParams` fields and estimator gains of :data:`FREE`. It is not convex: it starts from the
shipped values (:data:`~deepracer_sim.sim.car.CAR_PARAMS`, :data:`~.replay.ESTIMATORS`). Then
every run's 1/5/15-step errors are printed with its role, with the median over the held-out runs
of each run's 15-step median and 90th percentile, and the car's vehicle figures (top speed, ramp
from rest, steady turns, lateral-acceleration envelope). The printed values go by hand into
``sim/car.py`` (``CAR_V4`` ...), ``fidelity/replay.py`` (``ESTIMATORS``) and ``docs/fidelity.md``.

scipy is needed here only (the simulator does not import this module).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from deepracer_sim.errors import FidelityError
from deepracer_sim.fidelity import replay as fidelity
from deepracer_sim.fidelity.replay import ESTIMATORS, Estimator
from deepracer_sim.sim.car import CAR_PARAMS, CarParams
from deepracer_sim.sim.envelope import car_envelope, ramp, steady_turn, time_to_speed, top_speed

#: Default log folder: ../shared/real-logs next to the repository.
LOGS = Path(__file__).resolve().parents[3] / "shared" / "real-logs"
_HS = "highspeed-logguru/"
_V4 = "sample-drfc-3-logs/"
_V6 = "sample-droa-solution-logs/sim-trace/"
#: Per generation: (run label, path under the log folder, role "fit" or "held").
RUNS = {
    "v4": (
        ("red_star_pro w1 (v4.0)",
         _HS + "v4.0_red_star_pro_deepracer-0_robomaker.1.ynytdrw16nuhl8y1.csv.gz", "fit"),
        ("drfc-3 worker 0", _V4 + "0", "fit"),
        ("drfc-3 worker 1", _V4 + "1", "fit"),
        ("drfc-3 worker 2", _V4 + "2", "held"),
        ("drfc-3 eval 201503", _V4 + "evaluation-20220709201503", "held"),
        ("drfc-3 eval 201704", _V4 + "evaluation-20220709201704", "held"),
        ("drfc-3 eval 201920", _V4 + "evaluation-20220709201920", "held"),
        ("august_open console (v3.0)",
         _HS + "v3.0_2022_august_open_training-20220803091627-BxX14SAlTzypcxJR.csv.gz", "held"),
    ),
    "v5": (
        ("FS_June2020 w1", _HS + "v5.0_FS_June2020_deepracer-0_robomaker.1.qwctpyyzmr74z3u1"
         ".csv.gz", "fit"),
        ("FS_June2020 w3", _HS + "v5.0_FS_June2020_deepracer-0_robomaker.3.kngqw8no1z62pkyo"
         ".csv.gz", "fit"),
        ("FS_June2020 w4", _HS + "v5.0_FS_June2020_deepracer-0_robomaker.4.4fswvtmen73c861v"
         ".csv.gz", "fit"),
        ("june_pro w1", _HS + "v5.0_2022_june_pro_deepracer-0_robomaker.1.ms8k1onrrixaxt7g"
         ".csv.gz", "fit"),
        ("champ w1 74she", _HS + "v5.0_2022_reinvent_champ_deepracer-0_robomaker.1."
         "74she0uhr3drkcy4.csv.gz", "fit"),
        ("champ w1 mh77", _HS + "v5.0_2022_reinvent_champ_deepracer-0_robomaker.1."
         "mh77xxe01xgkyky7.csv.gz", "fit"),
        ("champ w2 fqjs", _HS + "v5.0_2022_reinvent_champ_deepracer-0_robomaker.2."
         "fqjslgl03wfq10av.csv.gz", "fit"),
        ("FS_June2020 w2", _HS + "v5.0_FS_June2020_deepracer-0_robomaker.2.439iylb5afjhz7nl"
         ".csv.gz", "held"),
        ("champ w2 pleai", _HS + "v5.0_2022_reinvent_champ_deepracer-0_robomaker.2."
         "pleai77ybzcn6yor.csv.gz", "held"),
        ("champ w3 j5u1", _HS + "v5.0_2022_reinvent_champ_deepracer-0_robomaker.3."
         "j5u195tk4t2e1lwa.csv.gz", "held"),
        ("champ w4 q21u", _HS + "v5.0_2022_reinvent_champ_deepracer-0_robomaker.4."
         "q21uw5u7jh904ky1.csv.gz", "held"),
        ("champ console 0130", _HS + "v5.0_2022_reinvent_champ_training-20230130130241-"
         "O-uWGmcTSAyrIj9X.csv.gz", "held"),
        ("champ console 0131", _HS + "v5.0_2022_reinvent_champ_training-20230131114214-"
         "30Ieq368TqS-fa6Q.csv.gz", "held"),
    ),
    # the evaluation run (1.2k windows) is fitted, the small training run held out: the other
    # way round the fit overfits the small run (docs/fidelity.md)
    "v6": (
        ("droa training", _V6 + "training", "held"),
        ("droa evaluation", _V6 + "evaluation", "fit"),
    ),
}
#: The low-speed folder of a generation whose "every 5th episode held out" figure
#: (``deepracer-sim fidelity DIR --episodes held-out``) compares with the earlier cars.
EPISODE_SPLIT = {"v4": "sample-drfc-3-logs", "v6": "sample-droa-solution-logs"}
_CAR = ("mu_x", "mu_y", "slip_x", "slip_y", "wheel_radius", "steer_tau", "steer_offset",
        "yaw_inertia")
_GAINS = ("gain_yaw_rate", "gain_velocity", "gain_steer")
#: Fitted values per generation: CarParams fields and estimator gains (v6: mu_y stays the
#: URDF's 0.5, which its data below 2.5 m/s do not identify).
FREE = {"v4": _CAR + _GAINS, "v5": _CAR + _GAINS,
        "v6": tuple(p for p in _CAR if p != "mu_y") + _GAINS}
#: Every ``STRIDE``-th fit window is used.
STRIDE = {"v4": 4, "v5": 3, "v6": 1}
BOUNDS = {"mu_x": (0.05, 5.0), "mu_y": (0.05, 5.0), "slip_x": (0.005, 2.0),
          "slip_y": (0.005, 2.0), "wheel_radius": (0.030, 0.040), "steer_tau": (0.0, 1.0),
          "steer_offset": (-0.1, 0.1), "yaw_inertia": (0.02, 0.3), "gain_yaw_rate": (0.0, 1.0),
          "gain_velocity": (0.0, 1.0), "gain_steer": (0.0, 1.0)}
HEADING_WEIGHT = 0.2  # m per rad
LOSS_SCALE = 0.1  # m


@dataclass
class Run:
    """One run: its label, role ("fit" / "held"), log and 15-step window starts."""

    label: str
    role: str
    log: fidelity.ReplayLog
    starts: np.ndarray


def load_runs(physics: str, logs: Path = LOGS) -> list[Run]:
    """The runs of a generation (:data:`RUNS`).

    Raises:
        FidelityError: a run's folder or file is missing.
    """
    out = []
    for label, rel, role in RUNS[physics]:
        path = logs / rel
        if not path.exists():
            raise FidelityError(f"{path} not found (run {label!r} of {physics}); give --logs "
                                "the folder holding highspeed-logguru/, sample-drfc-3-logs/ and "
                                "sample-droa-solution-logs/")
        log = fidelity.load_log(path)
        out.append(Run(label, role, log, fidelity.window_starts(log)))
    return out


def _split(values: dict) -> tuple[CarParams, Estimator]:
    car = CarParams(**{f.name: float(values[f.name]) for f in fields(CarParams)})
    return car, Estimator(values["timing"], *(float(values[g]) for g in _GAINS))


def residuals(runs: list[Run], car: CarParams, est: Estimator, stride: int = 1) -> np.ndarray:
    """The fit's residuals: position errors (m) and HEADING_WEIGHT x heading errors of every
    ``stride``-th window of ``runs`` at horizons 1..15."""
    out = []
    for run in runs:
        pos, head = fidelity.prediction_errors(run.log, run.starts[::stride], car, est)
        out += [pos.ravel(), HEADING_WEIGHT * head.ravel()]
    return np.concatenate(out)


def fit_cost(runs: list[Run], car: CarParams, est: Estimator, stride: int = 1) -> float:
    """Mean soft-L1 loss the fit minimises: 2 (sqrt(1 + (r / LOSS_SCALE)^2) - 1) per residual."""
    r = residuals(runs, car, est, stride) / LOSS_SCALE
    return float(np.mean(2.0 * (np.sqrt(1.0 + r * r) - 1.0)))


def fit(runs: list[Run], free, start: dict, stride: int):
    """Least-squares fit of the ``free`` values from ``start`` (CarParams fields, estimator
    gains and ``timing``); returns (values, scipy result)."""
    from scipy.optimize import least_squares

    free = list(free)

    def values_of(q):
        v = dict(start)
        v.update(zip(free, (float(x) for x in q), strict=True))
        return v

    def fun(q):
        return residuals(runs, *_split(values_of(q)), stride)

    lo = [BOUNDS[k][0] for k in free]
    hi = [BOUNDS[k][1] for k in free]
    x0 = np.clip([start[k] for k in free], lo, hi)
    res = least_squares(fun, x0, bounds=(lo, hi), loss="soft_l1", f_scale=LOSS_SCALE,
                        diff_step=1e-3, x_scale="jac")
    return values_of(res.x), res


def run_table(runs: list[Run], car: CarParams, est: Estimator) -> list[dict]:
    """Per run: label, role, windows and the 1/5/15-step error summary."""
    rows = []
    for run in runs:
        s = fidelity.error_summary(*fidelity.prediction_errors(run.log, run.starts, car, est))
        rows.append({"run": run.label, "role": run.role, "windows": len(run.starts), **s})
    return rows


def over_runs(rows: list[dict], role: str = "held") -> dict:
    """The median over the runs of ``role`` of each run's 15-step median and p90, cm."""
    sel = [r for r in rows if r["role"] == role]
    return {"runs": len(sel),
            "median_cm": float(np.median([r["15"]["median_cm"] for r in sel])),
            "p90_cm": float(np.median([r["15"]["p90_cm"] for r in sel]))}


def vehicle_figures(car: CarParams) -> dict:
    """Top speeds (m/s), the ramp from rest, steady turns at (5, 15, 30) deg x (1, 2, 3) m/s
    and the lateral-acceleration envelope of ``car`` (:mod:`deepracer_sim.sim.envelope`)."""
    _, accel = ramp(car, 4.0, 30)
    env = car_envelope(car)
    turns = {}
    for deg in (5, 15, 30):
        for cmd in (1.0, 2.0, 3.0):
            t = steady_turn(car, deg, cmd)
            turns[f"{deg} deg / {cmd:g} m/s"] = (
                {"speed": round(t.speed, 3), "radius": round(t.radius, 3),
                 "a_lat": round(t.a_lat, 3)} if t.settled
                else {"speed": None, "radius": None, "a_lat": None})  # a spin: no steady turn
    speeds = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.3, 3.5)
    return {"top_speed_cmd4": round(top_speed(car, 4.0), 4),
            "top_speed_cmd2": round(top_speed(car, 2.0), 4),
            "accel_first_step": round(float(accel[0]), 3),
            "seconds_0_to_3": round(time_to_speed(car, 3.0), 3),
            "steady_turns": turns,
            "a_lat_max": {f"{v:g}": round(float(np.interp(v, env.v, env.a_lat_max)), 2)
                          for v in speeds}}


def _fmt(e: dict) -> str:
    return f"{e['median_cm']:5.1f} / {e['p90_cm']:5.1f} cm {e['median_heading_deg']:4.1f} deg"


def _print_report(physics: str, rows: list[dict], car: CarParams, logs: Path,
                  est: Estimator) -> dict:
    for r in rows:
        print(f"  {r['run']:28} {r['role']:4} {r['windows']:5d} windows  "
              + "  ".join(f"{h:>2}: {_fmt(r[h])}" for h in ("1", "5", "15")))
    held = over_runs(rows)
    print(f"  held-out runs ({held['runs']}): median over runs of the 15-step median "
          f"{held['median_cm']:.1f} cm, of the p90 {held['p90_cm']:.1f} cm")
    out: dict = {"runs": rows, "held_over_runs": held}
    if physics in EPISODE_SPLIT and (logs / EPISODE_SPLIT[physics]).is_dir():
        log = fidelity.load_log(logs / EPISODE_SPLIT[physics])
        starts = fidelity.window_starts(log, episodes="held-out")
        e = fidelity.error_summary(*fidelity.prediction_errors(log, starts, car, est))
        out["episode_split_held_out"] = e
        print(f"  {EPISODE_SPLIT[physics]}, every 5th episode ({len(starts)} windows), "
              f"15 steps: {_fmt(e['15'])}")
    figures = vehicle_figures(car)
    out["vehicle"] = figures
    print(f"  top speed {figures['top_speed_cmd4']} m/s at command 4, "
          f"{figures['top_speed_cmd2']} at 2; first step from rest {figures['accel_first_step']}"
          f" m/s^2, 0-3 m/s in {figures['seconds_0_to_3']} s")
    print("  steady turns (radius m, a_lat m/s^2): " + "; ".join(
        f"{k} R {t['radius']} a {t['a_lat']}" for k, t in figures["steady_turns"].items()))
    print("  a_lat_max (m/s^2) at v (m/s): " + ", ".join(
        f"{v} {a}" for v, a in figures["a_lat_max"].items()))
    return out


def calibrate(physics: str, logs: Path = LOGS, stride: int | None = None,
              report_only: bool = False) -> dict:
    """Fit ``physics``'s car and estimator on its fit runs (or, ``report_only``, keep the
    shipped values) and print the report (module docstring); returns its figures.

    Raises:
        FidelityError: a run is missing.
    """
    t0 = time.perf_counter()
    runs = load_runs(physics, logs)
    car, est = CAR_PARAMS[physics], ESTIMATORS[physics]
    print(f"{physics}: {sum(len(r.starts) for r in runs)} windows in {len(runs)} runs")
    values = {**asdict(car), **asdict(est)}
    if not report_only:
        stride = stride or STRIDE[physics]
        values, res = fit([r for r in runs if r.role == "fit"], FREE[physics], values, stride)
        car, est = _split(values)
        print(f"  fit: {res.nfev} evaluations, window stride {stride}, cost {res.cost:.1f}")
        print("  " + ", ".join(f"{k}={values[k]:.4g}" for k in FREE[physics]))
    out = _print_report(physics, run_table(runs, car, est), car, logs, est)
    out["values"] = {k: values[k] for k in (*FREE[physics], "timing")}
    print(f"  ({time.perf_counter() - t0:.0f} s)")
    return out
