"""The records check (``deepracer-sim raceline --records``): our flying-lap rules bound beside the
fastest laps real racers drove (``../shared/docs/leaderboard-records.csv``).

The issue's goal: for every leaderboard launched from November 2022 on, bound <= record <= 1.10
x bound (a real car cannot beat the physics; the best of thousands of racers comes close to it).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepracer_sim.cli import main as cli_main
from deepracer_sim.errors import RecordsError, TrackError
from deepracer_sim.raceline import check_records, read_records
from deepracer_sim.track.lookup import TRACKS_PATH_ENV

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
RECORDS = SHARED / "docs" / "leaderboard-records.csv"
HEADER = ("leaderboard,launched,track,timing,participants,best_lap_s,best_avg_lap_s,"
          "best_total_s,physics_era")


@pytest.fixture
def shared_tracks(monkeypatch):
    """Find the records' tracks by name, as ``--track NAME`` does, in ../shared/tracks."""
    if not (SHARED / "tracks").is_dir():
        pytest.skip(f"{SHARED / 'tracks'} not found")
    monkeypatch.setenv(TRACKS_PATH_ENV, str(SHARED / "tracks"))


@pytest.mark.shared_data
def test_records_from_november_2022_are_near_the_bound(shared_tracks, capsys):
    records = [r for r in read_records(RECORDS) if r.launched >= "2022-11-01"]
    assert len(records) == 7 and {r.physics for r in records} == {"v5"}
    assert cli_main(["raceline", "--records", str(RECORDS), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["leaderboard"] for r in rows] == [r.leaderboard for r in read_records(RECORDS)]
    for row in rows:
        assert set(row) == {"leaderboard", "track", "physics", "record", "bound", "ratio"}
        assert row["ratio"] == pytest.approx(row["record"] / row["bound"], abs=1e-4)
    late = {r.leaderboard for r in records}
    for row in rows:
        if row["leaderboard"] in late:
            assert row["bound"] <= row["record"] <= 1.10 * row["bound"], row


def _csv(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "records.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n")
    return path


def test_read_records_and_its_errors(tmp_path):
    path = _csv(tmp_path, "Test race,2024-05-01,dr_sim_default,BEST_LAP_TIME,10,9.5,9.6,29,v6")
    (rec,) = read_records(path)
    assert (rec.leaderboard, rec.track, rec.physics, rec.best_lap) == \
        ("Test race", "dr_sim_default", "v6", 9.5)
    bad_era = _csv(tmp_path, "R,2024-05-01,dr_sim_default,BEST_LAP_TIME,10,9.5,9.6,29,v9")
    with pytest.raises(RecordsError, match=r"line 2: physics_era 'v9'"):
        read_records(bad_era)
    bad_lap = _csv(tmp_path, "R,2024-05-01,dr_sim_default,BEST_LAP_TIME,10,fast,9.6,29,v5")
    with pytest.raises(RecordsError, match="best_lap_s 'fast'"):
        read_records(bad_lap)
    missing = tmp_path / "missing.csv"
    missing.write_text("leaderboard,track\nR,dr_sim_default\n")
    with pytest.raises(RecordsError, match="missing column"):
        read_records(missing)
    with pytest.raises(RecordsError, match="cannot read"):
        read_records(tmp_path / "nope.csv")


def test_check_records_on_the_projects_track(tmp_path, capsys):
    # dr_sim_default under v6: the bound is the flying rules bound, the ratio record / bound
    path = _csv(tmp_path, "Fast race,2024-05-01,dr_sim_default,BEST_LAP_TIME,10,9.5,9.6,29,v6")
    (row,) = check_records(read_records(path))
    assert row["physics"] == "v6" and 3.0 < row["bound"] < 9.5
    assert row["ratio"] == pytest.approx(9.5 / row["bound"], abs=1e-4)
    # the table names the row; --physics overrides the row's era
    assert cli_main(["raceline", "--records", str(path), "--physics", "v4"]) == 0
    out = capsys.readouterr().out
    assert "| Fast race | `dr_sim_default` | v4 | 9.500 |" in out
    # an unknown track is named
    unknown = _csv(tmp_path, "R,2024-05-01,no_such_track,BEST_LAP_TIME,10,9.5,9.6,29,v5")
    with pytest.raises(TrackError, match="no_such_track"):
        check_records(read_records(unknown))
    assert cli_main(["raceline", "--records", str(unknown)]) == 2
    assert "no_such_track" in capsys.readouterr().err
    assert cli_main(["raceline", "dr_sim_default", "--records", str(path)]) == 2
