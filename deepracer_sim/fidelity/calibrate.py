"""Fit the car's dynamics to the real simulator's sim-traces (re-runnable; needs scipy).

``deepracer-sim calibrate [--logs DIR] [--version 4|6] [--folds] [--ablation]``

Data (``../shared/real-logs``, spec §3.2): ``sample-drfc-3-logs`` for version 4 (the
effort-controlled car) and ``sample-droa-solution-logs`` for version 6 (the "kinematics" car used
for every version >= 5). Each folder is replayed as :mod:`deepracer_sim.fidelity.replay` does:
windows of 15 logged steps, the starting speed/steering estimated from the run's earlier rows,
the car driven by :func:`~deepracer_sim.sim.car.advance_car_dt` (the simulator's own kernel)
under the logged actions.

Fit: least squares (``scipy.optimize.least_squares``, soft-L1 loss with a 10 cm scale, so a few
wild windows do not steer the fit) over the multi-step predictions: for every window and every
horizon 1..15 the position error of the reference point (m) and 0.2 m/rad times the heading error.
Every fifth episode (:func:`~deepracer_sim.fidelity.replay.episode_masks`) is held out of the
fit; the figures reported for it are out-of-sample. Both step timings (fixed 1/15 s, logged
``tstamp`` differences) are fitted; the one with the lower 15-step median on the fitted episodes
is kept.

Free parameters per version (``FREE``): the :class:`~deepracer_sim.sim.car.Dynamics` fields the
data identify, plus the observer's steering gain. For version 6 (about 1,400 windows, one track,
one policy) the acceleration limit, the lateral-acceleration cap and the steering offset are not
identified (``--ablation`` shows them buying nothing on the held-out episodes) and stay at none.

``--folds`` refits with each of the five episode folds held out in turn and prints the spread of
every parameter (how far to trust it) and each fold's held-out error. ``--ablation`` refits
reduced models. The fitted values are then copied by hand into :mod:`deepracer_sim.sim.car`
(``DYNAMICS_V4``, ``DYNAMICS_V5``) and :mod:`deepracer_sim.fidelity.replay` (``ESTIMATORS``),
the printed errors into ``docs/fidelity.md``.

scipy is needed here only (the simulator does not import this module); tested with scipy 1.17.1.
"""

from __future__ import annotations

import math
import time
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from deepracer_sim.fidelity import replay as fidelity
from deepracer_sim.fidelity.replay import Estimator
from deepracer_sim.sim.car import KINEMATIC, Dynamics

#: Default log folder: ../shared/real-logs next to the repository.
LOGS = Path(__file__).resolve().parents[3] / "shared" / "real-logs"
SAMPLES = {4: "sample-drfc-3-logs", 6: "sample-droa-solution-logs"}
#: Fitted parameters per version: Dynamics fields and the observer gain "steer_gain".
FREE = {
    4: ("speed_tau", "max_accel", "steer_tau", "yaw_gain", "speed_gain", "steer_offset",
        "max_lat_accel", "steer_gain"),
    6: ("speed_tau", "steer_tau", "yaw_gain", "speed_gain", "steer_gain"),
}
#: Starting point of the fit per version (a rough hand fit; the optimum does not depend on it).
START = {
    4: Dynamics(speed_tau=0.15, max_accel=4.0, steer_tau=0.4, yaw_gain=0.7, speed_gain=1.0,
                steer_offset=0.0, max_lat_accel=4.0),
    6: Dynamics(speed_tau=0.05, max_accel=math.inf, steer_tau=0.2, yaw_gain=0.7, speed_gain=1.0),
}
START_GAIN = 0.2
BOUNDS = {"speed_tau": (0.0, 2.0), "max_accel": (0.5, 50.0), "steer_tau": (0.0, 2.0),
          "yaw_gain": (0.1, 2.0), "speed_gain": (0.5, 1.5), "steer_offset": (-0.2, 0.2),
          "max_lat_accel": (0.5, 50.0), "steer_gain": (0.0, 1.0)}
#: Reduced models for --ablation: (label, parameters held at their plain value).
ABLATIONS = {
    4: (("no steering offset", ("steer_offset",)),
        ("no lateral-acceleration cap", ("max_lat_accel",)),
        ("no observer (steering from the commands only)", ("steer_gain",)),
        ("speed and steering lags only (gain 1, no cap/offset/observer)",
         ("yaw_gain", "speed_gain", "steer_offset", "max_lat_accel", "steer_gain"))),
    6: (("no observer", ("steer_gain",)),
        ("speed and steering lags only (gain 1)", ("yaw_gain", "speed_gain", "steer_gain"))),
}
#: Extra parameters for --ablation (version 6): (label, parameter, start value).
EXTRAS = {6: (("+ acceleration limit", "max_accel", 10.0),
              ("+ lateral-acceleration cap", "max_lat_accel", 6.0),
              ("+ steering offset", "steer_offset", 0.0))}
HEADING_WEIGHT = 0.2  # m per rad
LOSS_SCALE = 0.1  # m
PLAIN = {"speed_tau": 0.0, "max_accel": math.inf, "steer_tau": 0.0, "yaw_gain": 1.0,
         "speed_gain": 1.0, "steer_offset": 0.0, "max_lat_accel": math.inf, "steer_gain": 0.0}


def _split(values: dict) -> tuple[Dynamics, float]:
    dyn = Dynamics(**{f.name: values[f.name] for f in fields(Dynamics)})
    return dyn, values["steer_gain"]


def residuals(log, starts, dyn: Dynamics, estimator: Estimator) -> np.ndarray:
    """The fit's residuals: position errors (m) and HEADING_WEIGHT x heading errors of every
    window and horizon 1..15."""
    pos, head = fidelity.prediction_errors(log, starts, dyn, estimator)
    return np.concatenate([pos.ravel(), HEADING_WEIGHT * head.ravel()])


def fit_cost(log, starts, dyn: Dynamics, estimator: Estimator) -> float:
    """Mean soft-L1 loss the fit minimises: 2 (sqrt(1 + (r / LOSS_SCALE)^2) - 1) per residual."""
    r = residuals(log, starts, dyn, estimator) / LOSS_SCALE
    return float(np.mean(2.0 * (np.sqrt(1.0 + r * r) - 1.0)))


def fit(log, starts, free, start: dict, timing: str):
    """Least-squares fit of the ``free`` parameters from ``start``; returns (values, result)."""
    from scipy.optimize import least_squares

    free = list(free)

    def values_of(q):
        v = dict(start)
        v.update(zip(free, q, strict=True))
        return v

    def fun(q):
        dyn, gain = _split(values_of(q))
        return residuals(log, starts, dyn, Estimator(timing, gain))

    lo = [BOUNDS[p][0] for p in free]
    hi = [BOUNDS[p][1] for p in free]
    x0 = np.clip([start[p] for p in free], lo, hi)
    res = least_squares(fun, x0, bounds=(lo, hi), loss="soft_l1", f_scale=LOSS_SCALE,
                        diff_step=1e-3, x_scale="jac")
    return {k: float(x) for k, x in values_of(res.x).items()}, res


def evaluate(log, starts, values: dict, timing: str) -> dict:
    """{"model": summary, "kinematic": summary} at the fidelity horizons."""
    dyn, gain = _split(values)
    est = Estimator(timing, gain)
    return {"model": fidelity.error_summary(*fidelity.prediction_errors(log, starts, dyn, est)),
            "kinematic": fidelity.error_summary(
                *fidelity.prediction_errors(log, starts, KINEMATIC, est))}


def _fmt(e: dict) -> str:
    return (f"{e['median_cm']:5.1f} / {e['p90_cm']:5.1f} cm {e['median_heading_deg']:4.1f} deg")


def _print_eval(label: str, ev: dict) -> None:
    for h in (str(x) for x in fidelity.HORIZONS):
        print(f"    {label:9} h={h:>2}: model {_fmt(ev['model'][h])}   "
              f"kinematic {_fmt(ev['kinematic'][h])}")


def _values_line(values: dict, free) -> str:
    return ", ".join(f"{p}={float(values[p]):.4g}" for p in free)


def fold_starts(log, starts, fold: int):
    """(fit, held) starts with episode fold ``fold`` (index % 5 == fold) held out."""
    held = (log.episode[starts] % fidelity.HOLDOUT_EVERY) == fold
    return starts[~held], starts[held]


def calibrate(version: int, logs: Path, stride: int | None, folds: bool, ablation: bool) -> dict:
    folder = logs / SAMPLES[version]
    t0 = time.perf_counter()
    log = fidelity.load_log(folder)
    starts = fidelity.window_starts(log)
    fit_s, held_s = fold_starts(log, starts, 0)
    stride = stride or (3 if len(fit_s) > 5000 else 1)
    print(f"version {version}: {folder}")
    print(f"  {len(log)} rows, {len(log.episodes)} episodes, {len(starts)} windows "
          f"({len(fit_s)} fitted (every {stride}th used), {len(held_s)} held out)")
    start = {f.name: getattr(START[version], f.name) for f in fields(Dynamics)}
    start["steer_gain"] = START_GAIN
    fits = []
    for timing in ("fixed", "logged"):
        values, res = fit(log, fit_s[::stride], FREE[version], start, timing)
        ev_fit = evaluate(log, fit_s, values, timing)
        print(f"  timing {timing}: {_values_line(values, FREE[version])} "
              f"({res.nfev} evaluations)")
        _print_eval("fitted", ev_fit)
        fits.append((timing, values, ev_fit))
    # the lower 15-step median on the fitted episodes (the first of equals)
    timing, values, ev_fit = min(fits, key=lambda f: f[2]["model"]["15"]["median_cm"])
    ev_held = evaluate(log, held_s, values, timing)
    print(f"  chosen timing: {timing}")
    _print_eval("held-out", ev_held)
    kinds = np.array([log.episodes[e][0] for e in log.episode[held_s]])
    for kind in ("training", "evaluation"):
        sel = held_s[kinds == kind]
        if len(sel):
            e = evaluate(log, sel, values, timing)["model"]["15"]
            print(f"    held-out {kind} episodes only ({len(sel)} windows): 15 steps {_fmt(e)}")
    open_loop = evaluate(log, held_s, dict(values, steer_gain=0.0), timing)
    print("  held-out without the observer (steering from the commands only):")
    _print_eval("held-out", open_loop)
    out = {"version": version, "timing": timing, "values": values, "fitted": ev_fit,
           "held_out": ev_held}
    if folds:
        print("  fold stability (each fifth of the episodes held out in turn):")
        table = []
        pooled = []
        for fold in range(fidelity.HOLDOUT_EVERY):
            f_fit, f_held = fold_starts(log, starts, fold)
            v, _ = fit(log, f_fit[::stride], FREE[version], values, timing)
            dyn, gain = _split(v)
            pooled.append(fidelity.prediction_errors(log, f_held, dyn, Estimator(timing, gain)))
            e = fidelity.error_summary(*pooled[-1])["15"]
            table.append(v)
            print(f"    fold {fold}: {_values_line(v, FREE[version])}; held-out 15 steps "
                  f"{_fmt(e)} ({len(f_held)} windows)")
        for p in FREE[version]:
            xs = np.array([v[p] for v in table])
            print(f"    {p:14} mean {xs.mean():.4g}  min {xs.min():.4g}  max {xs.max():.4g}")
        cv = fidelity.error_summary(np.concatenate([a for a, _ in pooled]),
                                    np.concatenate([b for _, b in pooled]))
        print("  5-fold cross-validated (every window predicted by the fit without its fold):")
        for h, e in cv.items():
            print(f"    h={h:>2}: model {_fmt(e)}")
    if ablation:
        print("  ablation (held-out, 15 steps):")
        for label, plain in ABLATIONS.get(version, ()):
            s = dict(values)
            s.update({p: PLAIN[p] for p in plain})
            free = [p for p in FREE[version] if p not in plain]
            v, _ = fit(log, fit_s[::stride], free, s, timing)
            print(f"    {label:60} {_fmt(evaluate(log, held_s, v, timing)['model']['15'])}")
        for label, p, x in EXTRAS.get(version, ()):
            s = dict(values, **{p: x})
            v, _ = fit(log, fit_s[::stride], [*FREE[version], p], s, timing)
            print(f"    {label:60} {_fmt(evaluate(log, held_s, v, timing)['model']['15'])}"
                  f"  ({p}={v[p]:.4g})")
    dyn, gain = _split(values)
    name = "DYNAMICS_V4" if version < 5 else "DYNAMICS_V5"
    print(f"  -> car.py: {name} = {replace(dyn)}")
    print(f"  -> fidelity.py: ESTIMATORS[{version}] = Estimator(timing={timing!r}, "
          f"steer_gain={gain:.4g})")
    print(f"  ({time.perf_counter() - t0:.0f} s)")
    return out
