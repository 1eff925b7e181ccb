"""``track_for_logs``: the one matcher of a run's logs to a track (used by the analysis report
and the reward replay).

Oracles: rings built here whose lengths and waypoint numbers are known, and the real
deepracer-for-cloud logs in ``../shared/real-logs`` driven on ``reinvent_base``.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from deepracer_sim.errors import ReplayError, TrackError
from deepracer_sim.formats.simtrace import find_simtrace_files
from deepracer_sim.reward_lab.replay import replay
from deepracer_sim.track import TRACKS_PATH_ENV, load_track
from deepracer_sim.track.catalog import CATALOG
from deepracer_sim.track.lookup import track_for_logs, waypoint_agreement


@pytest.fixture(autouse=True)
def _only_project_tracks(monkeypatch, tmp_path):
    """No DEEPRACER_TRACKS_PATH and an empty download cache: only the project's tracks/."""
    monkeypatch.delenv(TRACKS_PATH_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def ring(n: int = 40, radius: float = 3.0, shift: int = 0) -> np.ndarray:
    """A closed CCW ring of ``n`` segments whose row 0 is ``shift`` segments round."""
    ang = 2 * np.pi * (np.arange(n + 1) + shift) / n
    c, s = np.cos(ang), np.sin(ang)
    wp = np.column_stack([radius * c, radius * s, (radius - 0.4) * c, (radius - 0.4) * s,
                          (radius + 0.4) * c, (radius + 0.4) * s])
    wp[-1] = wp[0]
    return wp


def driven(wp: np.ndarray, reverse: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Logged (X, Y) near each centre point and the closest_waypoint DeepRacer logs there
    (numbered in the reversed list when driven in the reversed direction)."""
    n = len(wp)
    positions = wp[:-1, 0:2] * 1.01
    index = np.arange(n - 1)
    return positions, (n - 1 - index if reverse else index)


@pytest.fixture
def folder(tmp_path) -> Path:
    d = tmp_path / "tracks"
    d.mkdir()
    np.save(d / "ring_a.npy", ring())
    np.save(d / "ring_b.npy", ring(shift=10))  # same length, other numbering
    np.save(d / "ring_a_reversed.npy", ring()[::-1].copy())
    np.save(d / "ring_big.npy", ring(radius=4.0))
    return d


def test_an_explicit_name_or_path(folder) -> None:
    assert track_for_logs("ring_b", extra_dirs=[folder]).name == "ring_b"
    assert track_for_logs(folder / "ring_big.npy").name == "ring_big"
    trk = load_track(folder / "ring_a.npy")
    assert track_for_logs(trk) is trk
    with pytest.raises(TrackError, match="no_such_ring"):
        track_for_logs("no_such_ring", extra_dirs=[folder])
    with pytest.raises(TrackError, match="does not exist"):  # no lookup by the file's stem
        track_for_logs(folder / "elsewhere" / "ring_a.npy", extra_dirs=[folder])


def test_run_config_then_world_name(folder) -> None:
    # a track_path recorded on another machine: its file name is looked up
    config = {"track_path": "/elsewhere/ring_b.npy", "track": "ring_a"}
    assert track_for_logs(config=config, extra_dirs=[folder]).name == "ring_b"
    config = {"track_path": "/elsewhere/gone.npy", "track": "ring_a"}
    assert track_for_logs(config=config, extra_dirs=[folder]).name == "ring_a"
    assert track_for_logs(config={}, world_name="ring_big", extra_dirs=[folder]).name == \
        "ring_big"


@pytest.mark.parametrize(("drawn", "reverse", "expected"), [
    ("ring_a", False, "ring_a"), ("ring_b", False, "ring_b"),
    # reversed-direction episodes number the reversed waypoint list: the reversed copy's rows
    ("ring_a", True, "ring_a_reversed"),
])
def test_by_length_and_waypoint_numbers(folder, drawn, reverse, expected) -> None:
    wp = np.load(folder / f"{drawn}.npy")
    positions, closest = driven(wp, reverse)
    length = load_track(folder / f"{drawn}.npy").length
    found = track_for_logs(track_len=length * 1.003, positions=positions,
                           closest_waypoint=closest, extra_dirs=[folder])
    assert found.name == expected


def test_waypoint_agreement_in_the_row_order_and_either_order() -> None:
    wp = ring()
    positions, closest = driven(wp)
    assert waypoint_agreement(wp[:, 0:2], positions, closest) == (1.0, 1.0)
    forward, either = waypoint_agreement(wp[:, 0:2], *driven(wp, reverse=True))
    assert forward < 0.2 and either == 1.0


def test_without_logged_rows_the_closest_length(folder) -> None:
    big = load_track(folder / "ring_big.npy").length
    assert track_for_logs(track_len=big * 0.995, extra_dirs=[folder]).name == "ring_big"


def test_nothing_fits(folder) -> None:
    assert track_for_logs(track_len=123.0, extra_dirs=[folder], required=False) is None
    assert track_for_logs(required=False) is None
    with pytest.raises(TrackError, match="cannot tell the track"):
        track_for_logs(track_len=None, extra_dirs=[folder])
    official = CATALOG["reinvent_base"]
    with pytest.raises(TrackError, match=r"track_len 17\.7") as excinfo:
        track_for_logs(track_len=official.length, extra_dirs=[folder])
    assert "reinvent_base" in str(excinfo.value) and "tracks get" in str(excinfo.value)
    positions, closest = driven(ring())
    wrong = np.roll(closest, 7)  # numbers no ring of that length explains
    assert track_for_logs(track_len=load_track(folder / "ring_a.npy").length,
                          positions=positions, closest_waypoint=wrong, extra_dirs=[folder],
                          required=False) is None


def _drfc_logs(shared_dir: Path, tmp_path: Path) -> Path:
    logs = shared_dir / "real-logs" / "sample-drfc-3-logs" / "0"
    if not logs.is_dir() or not (shared_dir / "tracks" / "reinvent_base.npy").is_file():
        pytest.skip("real logs or reinvent_base missing")
    single = tmp_path / "logs"
    (single / "training-simtrace").mkdir(parents=True)
    for f in sorted(find_simtrace_files(logs))[:2]:
        (single / "training-simtrace" / f.name).write_bytes(f.read_bytes())
    return single


@pytest.mark.shared_data
def test_replay_finds_the_track_of_cloud_logs(shared_dir, tmp_path, monkeypatch) -> None:
    """No run_config.json: reinvent_base by its length and waypoint numbers among the official
    tracks of DEEPRACER_TRACKS_PATH; without them a ReplayError names the official track."""
    single = _drfc_logs(shared_dir, tmp_path)
    reward = tmp_path / "progress.py"
    reward.write_text(textwrap.dedent("""
        def reward_function(params):
            return float(params["progress"])
        """))
    with pytest.raises(ReplayError, match="reinvent_base"):
        replay(reward, single)
    monkeypatch.setenv(TRACKS_PATH_ENV, str(shared_dir / "tracks"))
    report = replay(reward, single)
    assert report.track == "reinvent_base"
    assert report.waypoint_matches == len(report.logged) > 0
