"""Tests for ``deepracer_sim.track``: loading, name lookup, validation and track properties.

Oracles: the official AWS route files in ``../shared/tracks`` with the statistics printed in
``../shared/tracks/README.md`` (e.g. reinvent_base: 119 rows, 17.709 m, 0.762 m, CCW; spec §9),
shapely (the simapp's own geometry library, spec §1.2) and the table in ``tracks/README.md``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import LinearRing, LineString, Polygon

from deepracer_sim.track import (
    DEFAULT_TRACK,
    PROJECT_TRACKS_DIR,
    TRACKS_PATH_ENV,
    Track,
    TrackError,
    load_track,
    resolve_track_path,
    search_dirs,
    track_from_array,
    validate_waypoints,
)

REPO = Path(__file__).resolve().parents[1]
PROJECT_TRACKS = ["dr_sim_default", "dr_sim_speedway", "dr_sim_twister"]


@pytest.fixture(scope="module")
def official(shared_dir):
    """Load an official track from ../shared/tracks by file stem."""
    folder = shared_dir / "tracks"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")

    def load(stem: str) -> Track:
        return load_track(folder / f"{stem}.npy")

    return load


@pytest.fixture(autouse=True)
def _no_env_tracks_path(monkeypatch):
    """Each test starts without DEEPRACER_TRACKS_PATH unless it sets it itself."""
    monkeypatch.delenv(TRACKS_PATH_ENV, raising=False)


def ring_track(n: int = 40, radius: float = 3.0, half_width: float = 0.4,
               cx: float = 0.0, cy: float = 0.0) -> np.ndarray:
    """A circular CCW loop: inner border (left of CCW travel) at radius - hw, outer at radius + hw.

    Closed: the last row repeats the first exactly.
    """
    ang = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    ang = np.append(ang, 0.0)
    c, s = np.cos(ang), np.sin(ang)
    wp = np.column_stack([
        cx + radius * c, cy + radius * s,
        cx + (radius - half_width) * c, cy + (radius - half_width) * s,
        cx + (radius + half_width) * c, cy + (radius + half_width) * s,
    ])
    wp[-1] = wp[0]
    return wp


# --- loading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PROJECT_TRACKS)
def test_load_project_track_by_name(name):
    t = load_track(name)
    assert t.name == name
    assert t.path == (PROJECT_TRACKS_DIR / f"{name}.npy").resolve()
    assert t.path.parent == (REPO / "tracks").resolve()
    raw = np.load(REPO / "tracks" / f"{name}.npy")
    assert t.waypoints.shape == raw.shape
    assert t.waypoints.dtype == np.float64
    np.testing.assert_array_equal(t.waypoints, raw)
    assert t.num_waypoints == raw.shape[0]
    assert t.is_loop
    # waypoints are read-only
    assert not t.waypoints.flags.writeable
    with pytest.raises(ValueError):
        t.waypoints[0, 0] = 1.0


def test_default_track_name_is_a_project_track():
    assert DEFAULT_TRACK == "dr_sim_default"
    assert load_track().name == "dr_sim_default"


@pytest.mark.shared_data
def test_load_official_reinvent_base_by_path(official, shared_dir):
    t = official("reinvent_base")
    # shared/tracks/README.md: reinvent_base 119 rows, loop, CCW, L_center 17.709, w_mean 0.762
    assert t.name == "reinvent_base"
    assert t.path == (shared_dir / "tracks" / "reinvent_base.npy").resolve()
    assert t.num_waypoints == 119
    assert t.is_loop
    assert t.is_ccw
    assert t.length == pytest.approx(17.709, abs=5e-4)
    assert t.width == pytest.approx(0.762, abs=5e-4)
    assert len(t.waypoint_list()) == 119  # spec §1.3: len(waypoints) == N rows


@pytest.mark.shared_data
def test_load_official_by_str_path_and_relative_path(shared_dir, monkeypatch):
    path = shared_dir / "tracks" / "reinvent_base.npy"
    if not path.is_file():
        pytest.skip("reinvent_base.npy missing")
    by_str = load_track(str(path))
    monkeypatch.chdir(shared_dir)
    by_rel = load_track("tracks/reinvent_base.npy")  # contains a separator -> path
    assert by_str.sha256 == by_rel.sha256
    assert by_rel.num_waypoints == 119


@pytest.mark.shared_data
def test_cw_and_open_official_tracks(official):
    spain = official("Spain_track")
    # README: Spain_track 259 rows, CW, 59.998 m, w_mean 0.913
    assert spain.num_waypoints == 259
    assert not spain.is_ccw
    assert spain.length == pytest.approx(59.998, abs=5e-4)
    assert spain.width == pytest.approx(0.913, abs=5e-4)
    straight = official("Straight_track")
    # README: Straight_track 22 rows, open, 5.707 m, 0.610 m; open tracks count as CCW (spec §1.2)
    assert straight.num_waypoints == 22
    assert not straight.is_loop
    assert straight.is_ccw
    assert straight.length == pytest.approx(5.707, abs=5e-4)
    assert straight.width == pytest.approx(0.610, abs=5e-4)


# --- name lookup -----------------------------------------------------------------------------


def test_name_lookup_through_env_path(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    extra = tmp_path / "extra"
    extra.mkdir()
    wp = ring_track()
    np.save(extra / "my_ring.npy", wp)
    monkeypatch.setenv(TRACKS_PATH_ENV, os.pathsep.join([str(empty), str(extra)]))
    from deepracer_sim.track.lookup import cache_dir

    assert search_dirs() == [PROJECT_TRACKS_DIR, empty, extra, cache_dir()]
    assert resolve_track_path("my_ring") == extra / "my_ring.npy"
    t = load_track("my_ring")
    assert t.name == "my_ring"
    assert t.path == (extra / "my_ring.npy").resolve()
    np.testing.assert_array_equal(t.waypoints, wp)
    # circumference of the 40-gon of radius 3: 40 * 2 * 3 * sin(pi / 40)
    assert t.length == pytest.approx(40 * 2 * 3 * np.sin(np.pi / 40), rel=1e-12)
    assert t.width == pytest.approx(0.8, abs=1e-12)


def test_project_tracks_folder_wins_over_env_path(tmp_path, monkeypatch):
    np.save(tmp_path / "dr_sim_default.npy", ring_track())
    monkeypatch.setenv(TRACKS_PATH_ENV, str(tmp_path))
    t = load_track("dr_sim_default")
    assert t.path == (PROJECT_TRACKS_DIR / "dr_sim_default.npy").resolve()
    assert t.num_waypoints == 117  # tracks/README.md, not the 41-row ring


def test_first_env_folder_wins(tmp_path, monkeypatch):
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    np.save(a / "dup_name.npy", ring_track(n=30))
    np.save(b / "dup_name.npy", ring_track(n=50))
    monkeypatch.setenv(TRACKS_PATH_ENV, os.pathsep.join([str(a), str(b)]))
    assert load_track("dup_name").num_waypoints == 31


def test_unknown_name_error_lists_search_places(tmp_path, monkeypatch):
    monkeypatch.setenv(TRACKS_PATH_ENV, str(tmp_path))
    with pytest.raises(TrackError) as excinfo:
        load_track("no_such_track_xyz")
    msg = str(excinfo.value)
    assert "no_such_track_xyz" in msg
    assert str(PROJECT_TRACKS_DIR) in msg
    assert str(tmp_path) in msg
    assert "bundle/routes" in msg
    assert TRACKS_PATH_ENV in msg
    for name in PROJECT_TRACKS:  # the available names are listed
        assert name in msg


def test_missing_path_error(tmp_path):
    missing = tmp_path / "nowhere" / "missing_track.npy"
    with pytest.raises(TrackError, match="does not exist") as excinfo:
        load_track(missing)
    assert str(missing) in str(excinfo.value)
    assert "bundle/routes" in str(excinfo.value)
    with pytest.raises(TrackError):
        load_track(str(tmp_path / "missing_track.npy"))


# --- validation ------------------------------------------------------------------------------


def _error(wp, source="bad_track.npy") -> str:
    with pytest.raises(TrackError) as excinfo:
        validate_waypoints(wp, source)
    msg = str(excinfo.value)
    assert source in msg
    return msg


def test_validate_accepts_and_returns_float64():
    wp = ring_track()
    out = validate_waypoints(wp, "x")
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, wp)
    # integer coordinates are accepted and converted
    square = np.array([[0, 0, 1, 1, -1, -1], [10, 0, 9, 1, 11, -1], [10, 10, 9, 9, 11, 11],
                       [0, 10, 1, 9, -1, 11], [0, 0, 1, 1, -1, -1]])
    out = validate_waypoints(square, "sq")
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, square.astype(float))


def test_validate_not_an_array():
    msg = _error(ring_track().tolist())
    assert "numpy array" in msg


@pytest.mark.parametrize("shape", [(10, 5), (10, 7), (60,), (10, 6, 1), (0,)])
def test_validate_wrong_shape(shape):
    msg = _error(np.zeros(shape))
    assert "shape" in msg
    assert "(N, 6)" in msg


def test_validate_wrong_dtype_strings_and_objects():
    strings = ring_track().astype(str)
    assert "dtype" in _error(strings)
    objects = ring_track().astype(object)
    assert "dtype" in _error(objects)
    booleans = np.ones((5, 6), dtype=bool)
    assert "dtype" in _error(booleans)


@pytest.mark.parametrize(("row", "col", "value"), [(3, 4, np.nan), (0, 1, np.inf),
                                                    (12, 0, -np.inf), (40, 5, np.nan)])
def test_validate_non_finite_names_row_and_column(row, col, value):
    wp = ring_track()
    wp[row, col] = value
    msg = _error(wp)
    assert f"row {row} column {col}" in msg
    assert "finite" in msg


def test_validate_first_non_finite_is_reported():
    wp = ring_track()
    wp[7, 2] = np.nan
    wp[20, 0] = np.inf
    assert "row 7 column 2" in _error(wp)


def test_validate_fewer_than_three_distinct_points():
    wp = ring_track()
    same = np.repeat(wp[:1], 10, axis=0)
    assert "only 1 distinct" in _error(same)
    two = np.vstack([wp[0], wp[5], wp[0], wp[5], wp[0]])
    assert "only 2 distinct" in _error(two)
    assert "only 0 distinct" in _error(np.zeros((0, 6)))


def test_validate_zero_width():
    wp = ring_track()
    wp[5, 2:4] = wp[5, 4:6]  # inner == outer at row 5
    msg = _error(wp)
    assert "width" in msg
    assert "row 5" in msg


def test_validate_border_crossing_centre_line():
    wp = ring_track()
    # swap inner and outer on rows 10..12: those inner points are now right of the CCW travel
    wp[10:13, 2:4], wp[10:13, 4:6] = wp[10:13, 4:6].copy(), wp[10:13, 2:4].copy()
    msg = _error(wp)
    # the centre segment from row 9 to row 10 is the first the swapped inner border crosses
    assert "between rows 9 and 10" in msg
    assert "crosses the centre line" in msg


@pytest.mark.shared_data
def test_validate_border_crossing_on_official_track(official):
    wp = np.array(official("reinvent_base").waypoints)
    wp[50:53, 2:4], wp[50:53, 4:6] = wp[50:53, 4:6].copy(), wp[50:53, 2:4].copy()
    msg = _error(wp, "reinvent_swapped.npy")
    assert "between rows 49 and 50" in msg


@pytest.mark.shared_data
def test_validate_accepts_every_official_track(shared_dir):
    # Tokyo_Training_track's border rows are not perpendicular to the centre line (its
    # (inner+outer)/2 is up to 0.43 m off the centre, shared/tracks/README.md), yet no border
    # crosses the centre line, and the simapp drives it.
    files = sorted((shared_dir / "tracks").glob("*.npy"))
    assert len(files) == 117
    for f in files:
        validate_waypoints(np.load(f), f.name)


@pytest.mark.shared_data
def test_validate_accepts_all_official_border_orientations(official):
    # CW tracks keep the geometric inner border in columns 2:4 (shared/tracks/README.md), so it
    # lies right of travel: the side check must be per track, not "inner = left".
    for stem in ("Spain_track", "reInvent2019_track_cw", "reinvent_base", "Straight_track"):
        validate_waypoints(np.array(official(stem).waypoints), stem)


def test_load_track_reports_invalid_file_contents(tmp_path):
    wp = ring_track()
    wp[2, 3] = np.nan
    path = tmp_path / "nan_track.npy"
    np.save(path, wp)
    with pytest.raises(TrackError) as excinfo:
        load_track(path)
    msg = str(excinfo.value)
    assert str(path.resolve()) in msg
    assert "row 2 column 3" in msg


def test_load_track_wrong_shape_file(tmp_path):
    path = tmp_path / "five_cols.npy"
    np.save(path, np.zeros((10, 5)))
    with pytest.raises(TrackError, match=r"shape \(10, 5\)") as excinfo:
        load_track(path)
    assert "five_cols.npy" in str(excinfo.value)


@pytest.mark.parametrize("content", [b"this is not a numpy file\n", b"", b"\x93NUMPY\x01\x00garb"])
def test_load_track_garbage_file_is_a_track_error(tmp_path, content):
    path = tmp_path / "garbage.npy"
    path.write_bytes(content)
    with pytest.raises(TrackError) as excinfo:
        load_track(path)
    err = excinfo.value
    assert "garbage.npy" in str(err)
    assert "cannot be read" in str(err)
    # no chained numpy traceback
    assert err.__cause__ is None
    assert err.__suppress_context__


def test_load_track_pickled_object_array_is_a_track_error(tmp_path):
    path = tmp_path / "objects.npy"
    np.save(path, ring_track().astype(object), allow_pickle=True)
    with pytest.raises(TrackError) as excinfo:
        load_track(path)
    assert "objects.npy" in str(excinfo.value)


def test_track_from_array_validates_and_names():
    t = track_from_array(ring_track(), "ring")
    assert t.name == "ring"
    assert t.path is None
    wp = ring_track()
    wp[0, 0] = np.nan
    with pytest.raises(TrackError, match="track 'bad'"):
        track_from_array(wp, "bad")


def test_track_error_is_value_error():
    assert issubclass(TrackError, ValueError)


# --- the project's tracks --------------------------------------------------------------------


@pytest.mark.parametrize("name", PROJECT_TRACKS)
def test_project_tracks_are_realistic(name):
    t = load_track(name)
    wp = t.waypoints
    centre, inner, outer = wp[:, 0:2], wp[:, 2:4], wp[:, 4:6]
    assert t.is_loop
    np.testing.assert_array_equal(wp[0], wp[-1])
    assert 15.0 <= t.length <= 60.0
    assert 0.76 <= t.width <= 1.07
    assert t.is_ccw  # tracks/README.md: all run counter-clockwise
    assert LinearRing(centre).is_ccw
    inner_len = LinearRing(inner).length
    outer_len = LinearRing(outer).length
    assert inner_len < LinearRing(centre).length < outer_len
    # README claims: (inner + outer) / 2 == centre, constant width, ~0.2 m spacing
    np.testing.assert_allclose((inner + outer) / 2, centre, atol=1e-9)
    w = np.hypot(*(outer - inner).T)
    assert np.ptp(w) < 1e-9
    spacing = np.hypot(*np.diff(centre, axis=0).T)
    assert 0.15 < spacing.min() <= spacing.max() < 0.25
    # a valid road polygon (no self-intersections) whose area is close to length x width
    road = Polygon(outer, [inner])
    assert road.is_valid
    assert road.area == pytest.approx(t.length * t.width, rel=0.01)


def _readme_table() -> dict[str, dict[str, str]]:
    text = (REPO / "tracks" / "README.md").read_text(encoding="utf-8")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("|")]
    header_idx = next(i for i, ln in enumerate(lines) if "| name |" in ln and "waypoints" in ln)
    header = [c.strip() for c in lines[header_idx].strip("|").split("|")]
    rows = {}
    for ln in lines[header_idx + 2:]:
        cells = [c.strip() for c in ln.strip("|").split("|")]
        if len(cells) != len(header) or not cells[0].startswith("`"):
            break
        row = dict(zip(header, cells, strict=True))
        rows[row["name"].strip("`")] = row
    return rows


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def _min_circumradius(centre: np.ndarray) -> float:
    """Smallest circumradius of consecutive waypoint triples around the loop.

    Three points on a circular arc of radius R have circumradius exactly R; triples on a straight
    have an infinite one, so the minimum is the tightest arc's radius.
    """
    c = np.vstack([centre[:-1], centre[1:3]])  # wrap around the closing row
    a, b, d = c[:-2], c[1:-1], c[2:]
    ab = np.hypot(*(b - a).T)
    bd = np.hypot(*(d - b).T)
    ad = np.hypot(*(d - a).T)
    cross = np.abs((b - a)[:, 0] * (d - a)[:, 1] - (b - a)[:, 1] * (d - a)[:, 0])
    with np.errstate(divide="ignore"):
        r = ab * bd * ad / (2 * cross)
    return float(r.min())


def test_readme_table_lists_exactly_the_track_files():
    table = _readme_table()
    files = sorted(p.stem for p in (REPO / "tracks").glob("*.npy"))
    assert sorted(table) == files
    assert sorted(table) == sorted(PROJECT_TRACKS)


@pytest.mark.parametrize("name", PROJECT_TRACKS)
def test_readme_table_matches_file(name):
    row = _readme_table()[name]
    wp = np.load(REPO / "tracks" / f"{name}.npy")
    centre = wp[:, 0:2]
    ring = LinearRing(centre)
    assert int(row["waypoints"]) == wp.shape[0]
    length_txt = row["length (m)"]
    assert float(length_txt) == pytest.approx(ring.length, abs=0.5 * 10 ** -_decimals(length_txt))
    width_txt = row["width (m)"]
    width = float(np.mean(np.hypot(*(wp[:, 4:6] - wp[:, 2:4]).T)))
    assert float(width_txt) == pytest.approx(width, abs=0.5 * 10 ** -_decimals(width_txt) + 1e-12)
    assert row["direction"] == ("CCW" if ring.is_ccw else "CW")
    radius_txt = row["min radius (m)"]
    assert float(radius_txt) == pytest.approx(_min_circumradius(centre),
                                               abs=0.5 * 10 ** -_decimals(radius_txt))
    # the Track object agrees with the table too
    t = load_track(name)
    assert t.num_waypoints == int(row["waypoints"])
    assert t.length == pytest.approx(float(length_txt), abs=0.5 * 10 ** -_decimals(length_txt))


# --- geometry properties against shapely ------------------------------------------------------

OFFICIAL_SAMPLE = ["reinvent_base", "Spain_track", "reInvent2019_track", "reInvent2019_track_cw",
                   "2022_summit_speedway", "Albert", "Aragon", "caecer_loop", "AWS_track",
                   "Bowtie_track"]


@pytest.mark.shared_data
@pytest.mark.parametrize("stem", OFFICIAL_SAMPLE)
def test_length_and_direction_match_shapely(official, stem):
    t = official(stem)
    centre = t.waypoints[:, 0:2]
    ring = LinearRing(centre)
    assert t.length == pytest.approx(ring.length, rel=1e-12)
    # the reversed direction has the same length (arrays.info[3])
    assert t.arrays.info[3] == pytest.approx(ring.length, rel=1e-12)
    assert t.is_ccw == ring.is_ccw


@pytest.mark.shared_data
def test_open_track_length_matches_shapely_linestring(official):
    t = official("Straight_track")
    assert t.length == pytest.approx(LineString(t.waypoints[:, 0:2]).length, rel=1e-12)


@pytest.mark.shared_data
@pytest.mark.parametrize("stem", ["reinvent_base", "Spain_track", "Straight_track"])
def test_width_is_mean_row_width(official, stem):
    t = official(stem)
    wp = t.waypoints
    expected = sum(np.hypot(o[0] - i[0], o[1] - i[1]) for i, o in zip(wp[:, 2:4], wp[:, 4:6],
                                                                        strict=True)) / len(wp)
    assert t.width == pytest.approx(expected, rel=1e-12)


@pytest.mark.shared_data
@pytest.mark.parametrize("stem", ["reinvent_base", "Spain_track", "Straight_track"])
def test_waypoint_list_and_centre_line(official, stem):
    t = official(stem)
    fwd = t.waypoint_list()
    geom = LinearRing(t.waypoints[:, 0:2]) if t.is_loop else LineString(t.waypoints[:, 0:2])
    # spec §1.3: waypoints = list(center_line.coords), closing duplicate included
    assert fwd == [tuple(p) for p in geom.coords]
    assert all(type(x) is float and type(y) is float for x, y in fwd)
    assert t.waypoint_list(True) == list(reversed(fwd))
    assert t.waypoint_list(False) == fwd
    np.testing.assert_array_equal(t.centre_line(), t.waypoints[:, 0:2])
    np.testing.assert_array_equal(t.centre_line(True), t.waypoints[::-1, 0:2])


def test_sha256_and_cache(tmp_path):
    wp = ring_track()
    path = tmp_path / "hashme.npy"
    np.save(path, wp)
    t = load_track(path)
    assert t.sha256 == hashlib.sha256(wp.astype(np.float64).tobytes()).hexdigest()
    assert load_track(path) is t  # cached per file (load_track docstring)
