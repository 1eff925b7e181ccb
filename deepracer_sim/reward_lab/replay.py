"""``deepracer-sim reward replay``: re-score logged driving with another reward function.

Reads the sim-trace CSVs of a local run folder or of logs downloaded from the cloud (spec §7;
:func:`deepracer_sim.formats.simtrace.find_simtrace_files`), rebuilds the params dict of every
step whose reward DeepRacer computed (every row but ``prepare``), calls the new reward function
on it, and reports per episode and per track section how the new reward would have paid that same
driving, next to the logged reward.

The params dict of a row: ``x``, ``y``, ``heading``, ``speed`` (``throttle``),
``steering_angle`` (``steer``), ``steps``, ``progress`` and ``all_wheels_on_track`` are the
logged values, ``is_offtrack`` is ``episode_status == "off_track"``, and the geometry keys
(``distance_from_center``, ``is_left_of_center``, ``track_width``, ``closest_waypoints``,
``projection_distance``, ``waypoints`` ...) are computed by :func:`deepracer_sim.reward_params`
at the logged reference point; the pose given to it is nudged by ulps until its ``x``/``y``
equal the logged ones bit for bit, so on a run of this simulator every key equals what the
reward function saw during training, and replaying the reward function that produced a run
reproduces its logged rewards exactly. The sim-trace has no direction column: each episode's
direction is the one whose nearer waypoint matches the logged ``closest_waypoint`` on more rows
(ties: the one the car's heading follows).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from deepracer_sim.errors import ReplayError
from deepracer_sim.formats.run_folder import SIMTRACE_SUFFIX, RunFolder
from deepracer_sim.formats.simtrace import SimtraceError, find_simtrace_files, read_simtrace
from deepracer_sim.reward import RewardCaller, RewardFunctionError, make_reward_caller
from deepracer_sim.sim.params import reward_params
from deepracer_sim.track import Track, TrackError
from deepracer_sim.track.lookup import track_for_logs

#: Statuses of rows whose reward DeepRacer did not compute.
NOT_CALLED = ("prepare", "pause", "park")
#: Default number of track sections.
DEFAULT_SECTIONS = 10


@dataclass
class EpisodeResult:
    source: str
    episode: int
    steps: int  # rows whose reward was computed
    status: str
    progress: float
    reversed: bool
    logged: float
    new: float


@dataclass
class SectionResult:
    index: int
    start: float  # m along the centre line (row order) from waypoint 0
    end: float
    first_waypoint: int
    last_waypoint: int
    steps: int
    logged: float
    new: float


@dataclass
class ReplayReport:
    reward_file: str
    track: str
    files: list[Path]
    logged: np.ndarray  # per replayed row
    new: np.ndarray  # NaN where the new function failed
    episode: np.ndarray
    section: np.ndarray
    episodes: list[EpisodeResult] = field(default_factory=list)
    sections: list[SectionResult] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    skipped: int = 0  # rows not replayed (prepare etc.)
    waypoint_matches: int = 0  # rows whose recomputed closest waypoint equals the logged one

    @property
    def identical(self) -> int:
        """Rows whose new reward equals the logged one exactly."""
        return int(np.sum(self.new == self.logged))

    @property
    def max_abs_diff(self) -> float:
        ok = np.isfinite(self.new)
        return float(np.max(np.abs(self.new[ok] - self.logged[ok]))) if ok.any() else math.nan

    @property
    def correlation(self) -> float:
        ok = np.isfinite(self.new)
        a, b = self.logged[ok], self.new[ok]
        if len(a) < 2 or np.std(a) == 0 or np.std(b) == 0:
            return math.nan
        return float(np.corrcoef(a, b)[0, 1])

    def to_dict(self) -> dict:
        return {
            "reward_file": self.reward_file, "track": self.track,
            "files": [str(f) for f in self.files], "rows": len(self.logged),
            "skipped_rows": self.skipped, "errors": self.errors,
            "first_error": self.first_error, "identical_rows": self.identical,
            "closest_waypoint_matches": self.waypoint_matches,
            "logged_total": float(np.sum(self.logged)),
            "new_total": float(np.nansum(self.new)),
            "max_abs_diff": self.max_abs_diff, "correlation": self.correlation,
            "episodes": [vars(e) for e in self.episodes],
            "sections": [vars(s) for s in self.sections],
        }

    def format(self, max_episodes: int = 40) -> str:
        n = len(self.logged)
        lines = [f"replay {self.reward_file} on {len(self.files)} sim-trace file(s), track "
                 f"{self.track}: {n} steps in {len(self.episodes)} episodes "
                 f"({self.skipped} prepare rows skipped)"]
        lines.append(f"  total reward: logged {np.sum(self.logged):.6g}, new "
                     f"{np.nansum(self.new):.6g}; identical on {self.identical}/{n} steps "
                     f"(max |diff| {self.max_abs_diff:.3g}); correlation per step "
                     f"{self.correlation:.3f}")
        lines.append(f"  geometry check: the recomputed closest_waypoint equals the logged one "
                     f"on {self.waypoint_matches}/{n} steps (a low share means a wrong track)")
        if self.errors:
            lines.append(f"  the new reward function failed on {self.errors} steps; first: "
                         f"{self.first_error}")
        lines.append("")
        lines.append(f"{'episode':>8} {'dir':>4} {'steps':>6} {'status':<13} {'progress':>8} "
                     f"{'logged':>10} {'new':>10} {'logged/step':>11} {'new/step':>9}")
        shown = self.episodes if len(self.episodes) <= max_episodes else (
            self.episodes[:max_episodes // 2] + self.episodes[-max_episodes // 2:])
        for k, e in enumerate(shown):
            if len(self.episodes) > max_episodes and k == max_episodes // 2:
                lines.append(f"{'...':>8} ({len(self.episodes) - max_episodes} more episodes)")
            per = max(e.steps, 1)
            lines.append(f"{e.episode:>8} {'rev' if e.reversed else 'fwd':>4} {e.steps:>6} "
                         f"{e.status:<13} {e.progress:>7.1f}% {e.logged:>10.4g} {e.new:>10.4g} "
                         f"{e.logged / per:>11.4g} {e.new / per:>9.4g}")
        lines.append("")
        tot_l = float(np.sum(self.logged)) or 1.0
        tot_n = float(np.nansum(self.new)) or 1.0
        lines.append(f"{'section':>7} {'metres':>13} {'waypoints':>11} {'steps':>6} "
                     f"{'logged/step':>11} {'new/step':>9} {'logged %':>8} {'new %':>6}")
        for s in self.sections:
            per = max(s.steps, 1)
            lines.append(f"{s.index:>7} {s.start:>6.1f}-{s.end:<6.1f} "
                         f"{s.first_waypoint:>5}-{s.last_waypoint:<5} {s.steps:>6} "
                         f"{s.logged / per:>11.4g} {s.new / per:>9.4g} "
                         f"{100 * s.logged / tot_l:>7.1f}% {100 * s.new / tot_n:>5.1f}%")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------


def _find_run_config(source: Path) -> dict | None:
    """The ``run_config.json`` of the logs' folder or of one of the 3 folders above it."""
    folder = source if source.is_dir() else source.parent
    for d in [folder, *folder.parents][:4]:
        cfg = RunFolder(d).config
        if cfg.is_file():
            try:
                return json.loads(cfg.read_text())
            except (OSError, json.JSONDecodeError):
                return None
    return None


def logs_track(track: str | os.PathLike | Track | None, source: Path,
               tables: list[tuple[Path, dict]]) -> Track:
    """The track of the logs: :func:`deepracer_sim.track.lookup.track_for_logs` with ``track``,
    the run folder's ``run_config.json``, the logged ``track_len`` (first row) and the logged
    X, Y and ``closest_waypoint`` of every table.

    Raises:
        TrackError: an explicit ``track`` that is not found or not valid.
        ReplayError: no track can be determined.
    """
    first = tables[0][1]
    track_len = float(first["track_len"][0]) if "track_len" in first else None
    positions = np.concatenate([np.stack([c["X"], c["Y"]], 1) for _, c in tables])
    closest = np.concatenate([c["closest_waypoint"] for _, c in tables])
    try:
        found = track_for_logs(track, config=_find_run_config(source), track_len=track_len,
                               positions=positions, closest_waypoint=closest)
    except TrackError as exc:
        if track is not None:
            raise
        raise ReplayError(f"{source}: {exc}") from None
    assert found is not None  # required=True: None is never returned
    return found


def _exact_pose(track: Track, x: float, y: float, heading: float, reversed: bool,
                **kwargs) -> tuple[dict, bool]:
    """``reward_params`` at a pose nudged by ulps until its ``x``/``y`` equal (x, y) exactly
    (the reference point is rebuilt from the car origin, which rounds)."""
    qx, qy = x, y
    for _ in range(8):
        p = reward_params(track, qx, qy, heading, reversed=reversed, **kwargs)
        if p["x"] == x and p["y"] == y:
            return p, True
        if p["x"] != x:
            qx = math.nextafter(qx, math.inf if p["x"] < x else -math.inf)
        if p["y"] != y:
            qy = math.nextafter(qy, math.inf if p["y"] < y else -math.inf)
    return p, False


def params_at(track: Track, x: float, y: float, heading: float, *, speed: float,
              steering: float, steps: float, progress: float, all_wheels: bool,
              offtrack: bool, reversed: bool) -> dict:
    """The params dict of a logged step (see the module docstring).

    The geometry keys depend only on the reference point; the heading changes only the wheel
    positions, whose results (``all_wheels_on_track``, ``is_offtrack``) come from the log. When
    no pose with the logged heading rebuilds the reference point exactly (about 2 % of rows),
    the axis-aligned headings 0, 180, 90, -90 are tried, whose sine or cosine is exact.
    """
    kwargs = {"speed": speed, "steering_angle": steering, "steps": steps}
    params, exact = _exact_pose(track, x, y, heading, reversed, **kwargs)
    if not exact:
        for h in (0.0, 180.0, 90.0, -90.0):
            p, exact = _exact_pose(track, x, y, h, reversed, **kwargs)
            if exact:
                params = p
                break
    params.update(x=x, y=y, heading=heading, progress=progress,
                  all_wheels_on_track=all_wheels, is_offtrack=offtrack)
    return params


def _nearer_waypoint(track: Track, params: dict, reversed: bool) -> int:
    prev, nxt = params["closest_waypoints"]
    centre = track.centre_line(reversed)
    x, y = params["x"], params["y"]
    d_prev = math.hypot(x - centre[prev, 0], y - centre[prev, 1])
    d_next = math.hypot(x - centre[nxt, 0], y - centre[nxt, 1])
    return nxt if d_next < d_prev else prev


def _episode_direction(track: Track, rows: list[dict]) -> bool:
    """True when the episode drove against the row order (see the module docstring)."""
    if not track.is_loop:
        return False
    votes = [0, 0]
    heading_votes = [0, 0]
    step = max(1, len(rows) // 12)
    for row in rows[::step]:
        for d in (0, 1):
            p = reward_params(track, row["X"], row["Y"], row["yaw"], reversed=bool(d))
            if _nearer_waypoint(track, p, bool(d)) == row["closest_waypoint"]:
                votes[d] += 1
            prev, nxt = p["closest_waypoints"]
            centre = track.centre_line(bool(d))
            tx, ty = centre[nxt] - centre[prev]
            yaw = math.radians(row["yaw"])
            if tx * math.cos(yaw) + ty * math.sin(yaw) > 0:
                heading_votes[d] += 1
    if votes[0] != votes[1]:
        return votes[1] > votes[0]
    return heading_votes[1] > heading_votes[0]


def _files(source: Path, kind: str) -> list[Path]:
    if source.is_file():
        return [source]
    if not source.is_dir():
        raise ReplayError(f"{source} does not exist: give a run folder, a folder of downloaded "
                          "logs, or a sim-trace CSV file")
    files = find_simtrace_files(source, kind)
    if not files:
        raise ReplayError(f"no {kind}-simtrace/*{SIMTRACE_SUFFIX} files under {source} (for "
                          "evaluation logs pass --kind evaluation)")
    return files


@dataclass
class _Tally:
    """What the replay collects, row by row and episode by episode."""

    track: Track
    caller: RewardCaller
    sections: int
    logged: list[float] = field(default_factory=list)
    new: list[float] = field(default_factory=list)
    episode_ids: list[int] = field(default_factory=list)
    section_ids: list[int] = field(default_factory=list)
    episodes: list[EpisodeResult] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    skipped: int = 0
    matches: int = 0

    def row(self, cols: dict, i: int, rev: bool) -> tuple[float, float]:
        """Replay row ``i`` (driven against the row order: ``rev``); (logged, new) reward,
        new = nan where the function failed."""
        trk, length, n_sec = self.track, self.track.length, self.sections
        status = str(cols["episode_status"][i])
        params = params_at(
            trk, float(cols["X"][i]), float(cols["Y"][i]), float(cols["yaw"][i]),
            speed=float(cols["throttle"][i]), steering=float(cols["steer"][i]),
            steps=float(cols["steps"][i]), progress=float(cols["progress"][i]),
            all_wheels=bool(cols["all_wheels_on_track"][i]),
            offtrack=status == "off_track", reversed=rev)
        if _nearer_waypoint(trk, params, rev) == int(cols["closest_waypoint"][i]):
            self.matches += 1
        forward = params["projection_distance"]
        if rev:
            forward = (length - forward) % length
        try:
            value = self.caller(params)
        except RewardFunctionError as exc:
            self.errors += 1
            if self.first_error is None:
                self.first_error = str(exc).splitlines()[0]
            value = math.nan
        old = float(cols["reward"][i])
        self.logged.append(old)
        self.new.append(value)
        self.episode_ids.append(int(cols["episode"][i]))
        self.section_ids.append(min(int(forward / length * n_sec), n_sec - 1))
        return old, value

    def episode(self, label: str, cols: dict, idx: np.ndarray) -> None:
        """Replay the rows ``idx`` of one episode."""
        rows = [{k: cols[k][i] for k in ("X", "Y", "yaw", "closest_waypoint")}
                for i in idx if cols["episode_status"][i] not in NOT_CALLED]
        rev = _episode_direction(self.track, rows) if rows else False
        ep_logged = ep_new = 0.0
        count = 0
        for i in idx.tolist():
            if str(cols["episode_status"][i]) in NOT_CALLED:
                self.skipped += 1
                continue
            old, value = self.row(cols, i, rev)
            ep_logged += old
            ep_new += 0.0 if math.isnan(value) else value
            count += 1
        last = idx[-1]
        self.episodes.append(EpisodeResult(
            label, int(cols["episode"][last]), count, str(cols["episode_status"][last]),
            float(cols["progress"][last]), rev, ep_logged, ep_new))

    def section_results(self) -> list[SectionResult]:
        """Steps and reward totals of each of the equal-length track sections."""
        length, n_sec, cum = self.track.length, self.sections, self.track.arrays.cum[0]
        logged = np.asarray(self.logged, dtype=np.float64)
        new = np.asarray(self.new, dtype=np.float64)
        sec = np.asarray(self.section_ids, dtype=np.int64)
        results = []
        for k in range(n_sec):
            lo, hi = k * length / n_sec, (k + 1) * length / n_sec
            wps = np.flatnonzero((cum >= lo) & (cum < hi))
            first = int(wps[0]) if len(wps) else int(np.searchsorted(cum, lo))
            last = int(wps[-1]) if len(wps) else first
            sel = sec == k
            results.append(SectionResult(k, lo, hi, first, last, int(sel.sum()),
                                         float(logged[sel].sum()), float(np.nansum(new[sel]))))
        return results


def replay(reward: str | os.PathLike | RewardCaller, source: str | os.PathLike, *,
           track: str | os.PathLike | Track | None = None, kind: str = "training",
           sections: int = DEFAULT_SECTIONS) -> ReplayReport:
    """Re-score the logged steps with a reward function (see the module docstring).

    Args:
        reward: reward file path (or a :class:`RewardCaller`).
        source: a run folder, a folder of downloaded logs, or one sim-trace CSV.
        track: the track (default: :func:`logs_track`).
        kind: "training" or "evaluation" sim-traces.
        sections: number of equal-length track sections in the report.

    Raises:
        ReplayError, SimtraceError, TrackError, RewardFunctionError: unusable inputs.
    """
    caller = reward if isinstance(reward, RewardCaller) else make_reward_caller(reward)
    source = Path(source)
    tables = []
    for f in _files(source, kind):
        cols = read_simtrace(f)
        if len(cols.get("episode", ())) == 0:
            continue
        tables.append((f, cols))
    if not tables:
        raise SimtraceError(f"{source}: the sim-trace files have no rows")
    tally = _Tally(logs_track(track, source, tables), caller, max(1, int(sections)))
    for f, cols in tables:
        label = str(f.relative_to(source)) if source.is_dir() else f.name
        ep_col = cols["episode"]
        order = np.argsort(ep_col, kind="stable")
        bounds = np.flatnonzero(np.diff(ep_col[order])) + 1
        for idx in np.split(order, bounds):
            tally.episode(label, cols, idx)
    return ReplayReport(str(getattr(caller, "source", None) or caller.where), tally.track.name,
                        [f for f, _ in tables], np.asarray(tally.logged, dtype=np.float64),
                        np.asarray(tally.new, dtype=np.float64),
                        np.asarray(tally.episode_ids, dtype=np.int64),
                        np.asarray(tally.section_ids, dtype=np.int64), tally.episodes,
                        tally.section_results(), tally.errors, tally.first_error,
                        tally.skipped, tally.matches)
