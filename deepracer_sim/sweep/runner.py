"""Run a sweep on Ray Tune: the trials of a spec, one per CPU slot, resumable.

* **Ray Tune's ``Tuner`` with a function trainable** runs every kind of sweep: a grid and a
  seeded random search as ``tune.grid_search`` over the trial list, Optuna as
  ``OptunaSearch`` (TPE, seeded). Each trial asks for one CPU and at most ``workers`` run at
  once; Ray decides where and when (nothing here schedules). A worker process runs its slot's
  next trial (``reuse_actors``), so the imports and the numba kernels are loaded once per
  worker, not once per trial.
* **Resume is the sweep folder's, not Tune's** (:mod:`deepracer_sim.sweep.folder`): a trial is
  finished iff its run folder holds the completion marker; a restart with the same ``--out``
  runs only the trials without one, each in its own folder (deleted first). Tune's own
  experiment state lives in a temporary folder and is never restored: it is snapshotted every
  few seconds, so after a SIGKILL it may call a finished trial unfinished and run it again.
* **Early stopping** (``search.early_stopping: asha``): Ray Tune's ``ASHAScheduler`` decides on
  the metric each trial reports after every iteration. Its STOP is not carried out by Tune
  (Tune would end the trial's worker thread inside ``tune.report``, and reset or kill the
  worker, before the run folder is finished): :class:`CleanStopASHA` writes the decision on a
  small Ray actor (:func:`stop_board`) and lets the trial go on; the trial reads it when its
  report returns (reports are synchronous: the decision is made before that) and stops through
  training's own stop rule after that iteration, so that it ends as a finished trial with its
  best checkpoint evaluated and its marker noting :data:`EARLY_STOP`.
* **Optuna resume**: the finished trials are told to the new search (their settings and
  metric), the unfinished ones are tried first under their old names, new trials are numbered
  after the highest number used, and the sampler's seed moves on by the number of trials
  already named (a seeded sampler would otherwise propose its first points again).

``ray`` is imported inside the functions that use it (see :mod:`.cluster`).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from deepracer_sim.errors import DeepRacerSimError, SweepError
from deepracer_sim.formats.run_folder import SWEEP_TRIAL_ERROR
from deepracer_sim.sweep.cluster import (
    check_address,
    check_dashboard,
    collect_run_folder,
    init_ray,
    localize,
    ship_inputs,
)
from deepracer_sim.sweep.folder import (
    check_sweep_folder,
    read_trials,
    record_trials,
    run_folders,
    sweep_lock,
    trial_lock,
    write_results,
    write_trials,
)
from deepracer_sim.sweep.spec import SweepSpec, TrialSpec, planned_trials, trial_name
from deepracer_sim.sweep.table import SweepTable
from deepracer_sim.sweep.trial import (
    TrialFactory,
    Work,
    is_finished,
    read_marker,
    run_trial,
    train_and_evaluate,
)
from deepracer_sim.track.lookup import resolve_track_path


@dataclass
class SweepResult:
    """What :func:`run_sweep` did: the trials finished before it started (``skipped``), those
    it finished, those that failed (``errored``) or did not end (``unfinished``: interrupted),
    its wall time and Ray's start-up time (s), the dashboard's URL."""

    out: Path
    total: int
    skipped: list[str] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)
    errored: list[str] = field(default_factory=list)
    unfinished: list[str] = field(default_factory=list)
    wall_time: float = 0.0
    ray_init_s: float = 0.0
    interrupted: bool = False
    dashboard_url: str = ""


@dataclass
class TrialContext:
    """What every trial gets from the driver (through Tune's object store, once): the sweep
    folder, whether run folders are collected from the nodes, the sweep's id and spec
    fingerprint, the config factory, the input files (cluster only) and the trial's work
    (:func:`~deepracer_sim.sweep.trial.train_and_evaluate`, a fake in tests)."""

    out: str
    collect: bool
    sweep_id: str
    fingerprint: str
    factory: TrialFactory
    inputs: dict[str, bytes] = field(default_factory=dict)
    work: Work = train_and_evaluate
    board: Any = None


#: The stop reason of a trial stopped early by ASHA (its marker's ``stop_reason``).
EARLY_STOP = "stopped early by ASHA"


def stop_board():
    """A Ray actor holding the names of the trials ASHA stopped (no CPU of its own)."""
    import ray  # see the module docstring

    @ray.remote(num_cpus=0)
    class StopBoard:
        def __init__(self) -> None:
            self.names: set[str] = set()

        def stop(self, name: str) -> None:
            self.names.add(name)

        def stopped(self, name: str) -> bool:
            return name in self.names

    return StopBoard.remote()


def clean_stop_asha(spec: SweepSpec, board: Any):
    """Ray Tune's ASHA on the search's metric, its time the trial's iterations (its reports),
    whose STOP decisions go to ``board`` and end the trial from inside (module docstring)."""
    import ray  # see the module docstring
    from ray.tune.schedulers import ASHAScheduler, TrialScheduler

    s = spec.search
    if s is None or s.early_stopping is None:
        raise ValueError("clean_stop_asha needs a search with early_stopping")

    class CleanStopASHA(ASHAScheduler):
        def on_trial_result(self, tune_controller, trial, result):
            decision = super().on_trial_result(tune_controller, trial, result)
            if decision == TrialScheduler.STOP:
                ray.get(board.stop.remote(str(trial)))
                return TrialScheduler.CONTINUE
            return decision

    # the metric and mode come from the TuneConfig (Tune refuses them in both places)
    return CleanStopASHA(time_attr="training_iteration", max_t=1 << 20,
                         grace_period=s.early_stopping.grace_period,
                         reduction_factor=s.early_stopping.reduction_factor)


def trainable(config: dict[str, Any], context: TrialContext | None = None) -> None:
    """Ray Tune's function trainable: one trial, in a Ray worker process."""
    import ray  # see the module docstring
    from ray import tune

    if context is None:
        raise ValueError("trainable needs the sweep's TrialContext")
    name = tune.get_context().get_trial_name()
    params = config["trial"]["params"] if "trial" in config else dict(config)
    out = Path(context.out)
    run_dir = out / name
    lock_folder = out
    if context.collect:
        lock_folder = Path(tempfile.gettempdir()) / "deepracer-sweep" / context.sweep_id
        run_dir = lock_folder / name
    node_id = ray.get_runtime_context().get_node_id()

    def report(metrics: dict[str, Any]) -> str | None:
        tune.report({**metrics, "node_id": node_id, "run_dir": str(run_dir)})
        if context.board is not None and ray.get(context.board.stopped.remote(name)):
            return EARLY_STOP
        return None

    with trial_lock(lock_folder, name), tempfile.TemporaryDirectory() as scratch:
        if is_finished(run_dir):  # finished by the worker of a killed sweep meanwhile
            return
        local = localize(params, context.factory.options, context.inputs, Path(scratch))
        run_trial(context.factory, local, run_dir, report,
                  marker_extra={"name": name, "params": params, "spec": context.fingerprint},
                  work=context.work)


def validate_trials(trials: list[TrialSpec], factory: TrialFactory) -> None:
    """Build every distinct trial's config on the driver, so that a bad input stops the sweep
    in seconds, naming the trial, instead of failing in every worker.

    Raises:
        SweepError: naming the trial and the train command's own error message.
    """
    seen: set[str] = set()
    with tempfile.TemporaryDirectory() as scratch:
        for t in trials:
            key = json.dumps(t.params, sort_keys=True, default=str)
            if key in seen:
                continue
            seen.add(key)
            try:
                cfg = factory.config(t.params, Path(scratch) / "run", Path(scratch))
                resolve_track_path(cfg.track)
            except DeepRacerSimError as exc:
                raise SweepError(f"trial {t.name}: {exc}") from None


# ---------------------------------------------------------------------------------------------
def _make_callback(out: Path, collect: bool, table: SweepTable, result: SweepResult):
    from ray.tune import Callback  # see the module docstring

    class SweepCallback(Callback):
        """Keeps the table and the result, and collects run folders from cluster nodes."""

        def __init__(self) -> None:
            self.last: dict[str, dict[str, Any]] = {}
            self.t0: dict[str, float] = {}

        def on_trial_start(self, iteration, trials, trial, **info) -> None:
            self.t0[str(trial)] = time.time()
            table.update(str(trial), "started", state="RUNNING")

        def on_trial_result(self, iteration, trials, trial, result, **info) -> None:
            name = str(trial)
            self.last[name] = dict(result)
            table.update(name, None, wall=time.time() - self.t0.get(name, time.time()),
                         **{k: result.get(k) for k in ("steps", "eval_progress",
                                                       "best_eval_progress", "best_lap_time")})

        def on_trial_complete(self, iteration, trials, trial, **info) -> None:
            name = str(trial)
            last = self.last.get(name, {})
            if collect and "node_id" in last:
                try:
                    collect_run_folder(last["node_id"], last["run_dir"], out / name)
                except Exception as exc:  # the trial stays unfinished: a rerun trains it again
                    result.errored.append(name)
                    table.update(name, f"ERROR collecting its run folder: {exc}", state="ERROR")
                    return
            if is_finished(out / name):
                result.finished.append(name)
                marker = read_marker(out / name)
                note = marker.get("stop_reason")
                table.update(name, f"finished ({note})" if note else "finished",
                             state="FINISHED", **_marker_row(marker))
            else:
                result.unfinished.append(name)
                table.update(name, "ended without its marker", state="UNFINISHED")

        def on_trial_error(self, iteration, trials, trial, **info) -> None:
            name = str(trial)
            result.errored.append(name)
            text = ""
            if trial.error_file and Path(trial.error_file).is_file():
                text = Path(trial.error_file).read_text()
            where = ""
            if text and (out / name).is_dir():
                (out / name / SWEEP_TRIAL_ERROR).write_text(text)
                where = f" (traceback: {out / name / SWEEP_TRIAL_ERROR})"
            table.update(name, f"ERROR {error_line(text)}{where}", state="ERROR")

    return SweepCallback()


def error_line(traceback: str) -> str:
    """The last ``SomeError: message`` line of a traceback, without the module path (the
    project's errors name the file, the field and the fix)."""
    found = ""
    for line in traceback.splitlines():
        m = re.match(r"^([A-Za-z_][\w.]*(?:Error|Exception|Interrupt)): (.*)$", line.strip())
        if m:
            found = f"{m.group(1).rsplit('.', 1)[-1]}: {m.group(2)}"
    return found or (traceback.strip().splitlines() or [""])[-1]


def _marker_row(marker: dict[str, Any]) -> dict[str, Any]:
    final = marker.get("final") or {}
    ev = marker.get("evaluation") or {}
    return {"steps": marker.get("steps"), "eval_progress": ev.get("mean_progress"),
            "best_eval_progress": final.get("best_eval_progress"),
            "best_lap_time": final.get("best_lap_time"), "wall": marker.get("wall_time")}


def _optuna(spec: SweepSpec, out: Path, table: SweepTable):
    """An OptunaSearch told about the finished trials in ``out``, and the trial namer."""
    import optuna  # see the module docstring
    from ray.tune.search.optuna import OptunaSearch

    s = spec.search
    if s is None:
        raise ValueError("_optuna needs a spec with a search section")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    known = read_trials(out)
    unfinished = {n: p for n, p in known.items() if not is_finished(out / n)}
    searcher = OptunaSearch(space=_optuna_space(spec), metric=s.metric, mode=s.mode,
                            seed=s.seed + len(known),
                            points_to_evaluate=[{k: p[k] for k in s.space}
                                                for p in unfinished.values()] or None)
    for run in run_folders(out):
        if is_finished(run):
            marker = read_marker(run)
            value = (marker.get("final") or {}).get(s.metric)
            if value is not None:
                searcher.add_evaluated_point({k: marker["params"][k] for k in s.space},
                                             float(value))
    rerun = {json.dumps({k: p[k] for k in s.space}, sort_keys=True): n
             for n, p in unfinished.items()}
    numbers = [int(n.split("-", 1)[0]) for n in [*known, *(p.name for p in run_folders(out))]
               if n.split("-", 1)[0].isdigit()]
    counter = iter(range(max(numbers, default=-1) + 1, 1 << 30))
    width = max(3, len(str(s.samples - 1)))

    def name_of(trial) -> str:
        if getattr(trial, "sweep_name", None) is None:
            point = {k: trial.config[k] for k in s.space}
            name = rerun.pop(json.dumps(point, sort_keys=True), None) \
                or trial_name(next(counter), point, width)
            trial.sweep_name = name
            known[name] = dict(trial.config)
            write_trials(out, known)
            table.update(name, None, state="PENDING")
        return trial.sweep_name

    return searcher, name_of


def _optuna_space(spec: SweepSpec) -> dict[str, Any]:
    from optuna.distributions import (  # see the module docstring
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if spec.search is None:
        raise ValueError("_optuna_space needs a spec with a search section")
    space: dict[str, Any] = {}
    for key, dist in spec.search.space.items():
        if dist.kind in ("uniform", "loguniform"):
            low, high = dist.args
            space[key] = FloatDistribution(low, high, log=dist.kind == "loguniform")
        elif dist.kind == "randint":
            space[key] = IntDistribution(*dist.args)
        else:
            space[key] = CategoricalDistribution(list(dist.args))
    return space


# ---------------------------------------------------------------------------------------------
@dataclass
class Plan:
    """The trials of a sweep run: every name, the finished ones, those to run (None for
    optuna, whose trials are proposed while it runs) and how many the sweep has."""

    names: list[str]
    skipped: list[str]
    pending: list[TrialSpec] | None
    total: int


def plan_trials(spec: SweepSpec, out: Path) -> Plan:
    """Which trials of ``spec`` are finished in ``out`` and which are to run (recorded in
    ``trials.json``)."""
    planned = planned_trials(spec)
    if planned is None:  # optuna: the finished trials are the folders with a marker
        assert spec.search is not None
        done = [p.name for p in run_folders(out) if is_finished(p)]
        return Plan(done, done, None, spec.search.samples)
    record_trials(out, planned)
    done = [t.name for t in planned if is_finished(out / t.name)]
    pending = [t for t in planned if not is_finished(out / t.name)]
    return Plan([t.name for t in planned], done, pending, len(planned))


def run_sweep(spec: SweepSpec, factory: TrialFactory, out: Path, workers: int | None = None,
              address: str | None = None, shared_out: bool = False, dashboard: bool = False,
              stream: TextIO | None = None, work: Work = train_and_evaluate) -> SweepResult:
    """Run (or resume) the sweep of ``spec`` into ``out``.

    Args:
        spec: the parsed spec.
        factory: the train command's config factory.
        out: the sweep folder; finished trials in it are never run again or touched.
        workers: trials at once (default: the machine's cores, or the cluster's CPUs).
        address: None for an embedded local Ray; ``auto`` or ``HOST:PORT`` of a cluster.
        shared_out: ``out`` is on storage every cluster node mounts (no collection).
        dashboard: start Ray's dashboard (local Ray; needs ``ray[default]``).
        stream: where the table goes (default stdout).
        work: what a trial does with its config (tests pass a fake).

    Raises:
        SweepError: folder locked or of another spec, a trial's bad input, a ``ray://``
            address, missing dashboard packages, no cluster at ``address``.
    """
    started = time.time()
    check_address(address)
    if dashboard and address is None:
        check_dashboard()
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    with sweep_lock(out):
        check_sweep_folder(out, spec)
        plan = plan_trials(spec, out)
        if plan.pending:
            validate_trials(plan.pending, factory)
        result = SweepResult(out, plan.total, skipped=list(plan.skipped))
        budget = int(spec.fixed.get("timesteps", factory.options.defaults.get("timesteps", 0)))
        table = SweepTable(plan.names, budget, stream)
        for name in plan.skipped:
            table.update(name, None, state="FINISHED", **_marker_row(read_marker(out / name)))
        if plan.total - len(plan.skipped) > 0:
            _fit(spec, factory, out, plan, result, table,
                 _FitOptions(workers, address, shared_out, dashboard, work))
        for row in table.rows.values():
            if row["state"] in ("RUNNING", "PENDING"):
                row["state"] = "NOT FINISHED"
        table.close()
        write_results(out)
    result.interrupted = result.interrupted or bool(result.unfinished)
    result.wall_time = time.time() - started
    return result


@dataclass
class _FitOptions:
    workers: int | None
    address: str | None
    shared_out: bool
    dashboard: bool
    work: Work


def _fit(spec: SweepSpec, factory: TrialFactory, out: Path, plan: Plan, result: SweepResult,
         table: SweepTable, opts: _FitOptions) -> None:
    """Start (or join) Ray, run the remaining trials with a Tuner, and stop Ray again."""
    import ray  # see the module docstring
    from ray import tune

    owned = not ray.is_initialized()  # a Ray the caller started (tests, notebooks) is kept
    if owned:
        result.ray_init_s, result.dashboard_url = init_ray(opts.workers, opts.address,
                                                           opts.dashboard)
        if result.dashboard_url:
            print(f"Ray dashboard: {result.dashboard_url}", file=table.stream, flush=True)
    storage = tempfile.mkdtemp(prefix="deepracer-sweep-tune-")
    try:
        concurrency = opts.workers or int(ray.cluster_resources().get("CPU", 1))
        collect = opts.address is not None and not opts.shared_out
        inputs = ship_inputs(plan.pending or [], factory.options) if opts.address else {}
        asha = spec.search is not None and spec.search.early_stopping is not None
        board = stop_board() if asha else None
        context = TrialContext(str(out), collect, uuid.uuid4().hex[:12], spec.fingerprint(),
                               factory, inputs, opts.work, board)
        search_alg = None
        metric = spec.search.metric if spec.search is not None else None
        mode = spec.search.mode if spec.search is not None else None
        if plan.pending is not None:
            param_space: dict[str, Any] = {"trial": tune.grid_search(
                [{"name": t.name, "params": t.params} for t in plan.pending])}
            num_samples = 1

            def name_of(trial) -> str:
                return trial.config["trial"]["name"]
        else:
            assert spec.search is not None
            search_alg, name_of = _optuna(spec, out, table)
            param_space = dict(spec.fixed)
            num_samples = plan.total - len(plan.skipped)
        tuner = tune.Tuner(
            tune.with_resources(tune.with_parameters(trainable, context=context), {"cpu": 1}),
            param_space=param_space,
            tune_config=tune.TuneConfig(
                metric=metric, mode=mode, search_alg=search_alg, num_samples=num_samples,
                scheduler=clean_stop_asha(spec, board) if asha else None,
                max_concurrent_trials=concurrency, reuse_actors=True,
                trial_name_creator=name_of, trial_dirname_creator=name_of),
            run_config=tune.RunConfig(storage_path=storage, name="tune", verbose=0,
                                      log_to_file=False,
                                      callbacks=[_make_callback(out, collect, table, result)]))
        tune_log = logging.getLogger("ray.tune")
        level = tune_log.level
        tune_log.setLevel(logging.CRITICAL)  # trial errors: one line in the table, a file
        try:
            tuner.fit()
        except KeyboardInterrupt:
            result.interrupted = True
        finally:
            tune_log.setLevel(level)
    finally:
        if owned:
            ray.shutdown()
        shutil.rmtree(storage, ignore_errors=True)
    if plan.pending is not None:
        left = {t.name for t in plan.pending if not is_finished(out / t.name)}
        result.unfinished = sorted(left - set(result.errored))
