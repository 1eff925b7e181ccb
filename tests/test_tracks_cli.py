"""Official tracks by name: ``deepracer-sim tracks list|get|show``.

The catalog is checked against the official files in ../shared/tracks (their SHA-256, computed
here with hashlib) and the README table (lengths, widths, directions, display names, spec §9).
Downloads go to a local HTTP server on 127.0.0.1 that serves those files, so the real download
path runs: success, cache reuse, a corrupted file (checksum mismatch: nothing cached), a missing
file (HTTP 404) and an unreachable server (offline: fails at once).
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from deepracer_sim.cli import main as cli_main
from deepracer_sim.errors import TrackDownloadError, TrackOfflineError
from deepracer_sim.track import PROJECT_TRACKS_DIR, TRACKS_PATH_ENV, load_track, search_dirs
from deepracer_sim.track import download as tracks
from deepracer_sim.track.catalog import CATALOG, lookup
from deepracer_sim.track.download import download
from deepracer_sim.track.lookup import cache_dir


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own empty user cache and no DEEPRACER_TRACKS_PATH."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.delenv(TRACKS_PATH_ENV, raising=False)
    monkeypatch.delenv(tracks.BASE_URL_ENV, raising=False)


@pytest.fixture(scope="module")
def official(shared_dir) -> Path:
    folder = shared_dir / "tracks"
    if not (folder / "reinvent_base.npy").is_file():
        pytest.skip(f"{folder} has no official tracks")
    return folder


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def serve():
    """serve(folder) -> base URL of an HTTP server on 127.0.0.1 serving that folder."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_Quiet, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------------------------
# catalog


@pytest.mark.shared_data
def test_catalog_matches_the_official_files(official):
    files = sorted(p.stem for p in official.glob("*.npy"))
    assert len(CATALOG) == 117 == len(files)
    assert sorted(CATALOG) == files
    for name, entry in CATALOG.items():
        data = (official / f"{name}.npy").read_bytes()
        assert entry.sha256 == hashlib.sha256(data).hexdigest(), name
        assert entry.size == len(data)


def test_catalog_values_from_the_readme():
    # README table: reinvent_base 119 rows, CCW, 17.709 m, 0.762 m wide, "re:Invent 2018"
    t = CATALOG["reinvent_base"]
    assert (t.display_name, t.waypoints, t.direction, t.is_loop) == (
        "re:Invent 2018", 119, "CCW", True)
    assert t.length == pytest.approx(17.709, abs=5e-4)
    assert t.width == pytest.approx(0.762, abs=5e-4)
    # reInvent2019_wide_cw: 57 rows, CW, 16.598 m, 1.060 m, "A to Z Speedway"
    t = CATALOG["reInvent2019_wide_cw"]
    assert (t.display_name, t.waypoints, t.direction) == ("A to Z Speedway", 57, "CW")
    assert t.length == pytest.approx(16.598, abs=5e-4)
    assert t.width == pytest.approx(1.060, abs=5e-4)
    # the only open track
    assert [n for n, t in CATALOG.items() if not t.is_loop] == ["Straight_track"]
    assert CATALOG["Straight_track"].direction == "open"


@pytest.mark.shared_data
def test_catalog_lengths_agree_with_the_loader(official):
    for name in ("reinvent_base", "Spain_track", "2022_summit_speedway_cw"):
        track = load_track(official / f"{name}.npy")
        assert CATALOG[name].length == pytest.approx(track.length, abs=1e-4)
        assert CATALOG[name].direction == ("CCW" if track.is_ccw else "CW")


def test_lookup():
    assert lookup("reinvent_base").name == "reinvent_base"
    assert lookup("REINVENT_BASE.npy").name == "reinvent_base"
    with pytest.raises(KeyError, match="reInvent2019_track, reInvent2019_track_ccw"):
        lookup("Smile Speedway")  # a display name: the error lists its files
    with pytest.raises(KeyError, match="reinvent_base"):
        lookup("reinvent_bsae")  # a typo: close names are suggested


def test_list_cli(capsys, tmp_path):
    assert cli_main(["tracks", "list"]) == 0
    out = capsys.readouterr().out
    assert "reinvent_base" in out and "re:Invent 2018" in out and "17.709" in out
    assert "117 tracks, 0 present locally" in out
    # a cached file shows up with --local
    cache_dir().mkdir(parents=True)
    (cache_dir() / "Oval_track.npy").write_bytes(b"x")
    assert cli_main(["tracks", "list", "--local"]) == 0
    out = capsys.readouterr().out
    assert "Oval_track" in out and str(cache_dir()) in out and "reinvent_base " not in out


# --------------------------------------------------------------------------------------------
# cache folder and the --track lookup


def test_cache_dir_from_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c" / "deepracer-sim" / "tracks"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "deepracer-sim" / "tracks"


def test_search_dirs_order(tmp_path, monkeypatch):
    monkeypatch.setenv(TRACKS_PATH_ENV, os.pathsep.join([str(tmp_path / "a"),
                                                         str(tmp_path / "b")]))
    assert search_dirs() == [PROJECT_TRACKS_DIR, tmp_path / "a", tmp_path / "b", cache_dir()]


# --------------------------------------------------------------------------------------------
# download


@pytest.mark.shared_data
def test_get_downloads_verifies_and_track_finds_it(official, serve, capsys):
    url = serve(official)
    with pytest.raises(Exception):  # not cached yet  # noqa: B017
        load_track("reinvent_base")
    assert cli_main(["tracks", "get", "reinvent_base", "Oval_track", "--url", url]) == 0
    out = capsys.readouterr().out
    assert out.count("downloaded") == 2 and "SHA-256 verified" in out
    cached = cache_dir() / "reinvent_base.npy"
    assert cached.read_bytes() == (official / "reinvent_base.npy").read_bytes()
    # --track NAME now finds it in the cache
    track = load_track("reinvent_base")
    assert track.path == cached.resolve()
    assert track.num_waypoints == 119
    # a second get reuses the verified copy
    assert cli_main(["tracks", "get", "reinvent_base", "--url", url]) == 0
    assert "already cached" in capsys.readouterr().out
    assert sorted(p.name for p in cache_dir().iterdir()) == ["Oval_track.npy",
                                                            "reinvent_base.npy"]


@pytest.mark.shared_data
def test_base_url_from_environment(official, serve, monkeypatch):
    monkeypatch.setenv(tracks.BASE_URL_ENV, serve(official).rstrip("/"))
    result = download("Bowtie_track")
    assert result.fetched and result.path == cache_dir() / "Bowtie_track.npy"


@pytest.mark.shared_data
def test_corrupted_download_is_rejected_and_nothing_cached(official, serve, tmp_path,
                                                           capsys):
    bad = tmp_path / "bad"
    bad.mkdir()
    data = bytearray((official / "reinvent_base.npy").read_bytes())
    data[-1] ^= 0x01  # flip one bit of the last coordinate
    (bad / "reinvent_base.npy").write_bytes(bytes(data))
    url = serve(bad)
    with pytest.raises(TrackDownloadError, match="checksum mismatch") as excinfo:
        download("reinvent_base", url=url)
    assert CATALOG["reinvent_base"].sha256 in str(excinfo.value)
    assert hashlib.sha256(bytes(data)).hexdigest() in str(excinfo.value)
    assert not cache_dir().exists() or list(cache_dir().iterdir()) == []
    assert cli_main(["tracks", "get", "reinvent_base", "--url", url]) == 1
    assert "checksum mismatch" in capsys.readouterr().err
    assert not cache_dir().exists() or list(cache_dir().iterdir()) == []


@pytest.mark.shared_data
def test_corrupted_download_keeps_a_good_cached_copy(official, serve, tmp_path):
    download("reinvent_base", url=serve(official))
    good = (cache_dir() / "reinvent_base.npy").read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "reinvent_base.npy").write_bytes(good[:-8])
    with pytest.raises(TrackDownloadError, match="checksum mismatch"):
        download("reinvent_base", url=serve(bad), force=True)
    assert (cache_dir() / "reinvent_base.npy").read_bytes() == good
    assert sorted(p.name for p in cache_dir().iterdir()) == ["reinvent_base.npy"]


def test_missing_file_is_an_http_error(serve, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TrackDownloadError, match="HTTP 404"):
        download("reinvent_base", url=serve(empty))
    assert not cache_dir().exists() or list(cache_dir().iterdir()) == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_offline_fails_at_once(capsys):
    url = f"http://127.0.0.1:{_closed_port()}/"
    t0 = time.monotonic()
    with pytest.raises(TrackOfflineError, match="cannot reach"):
        download("reinvent_base", url=url)
    # the CLI stops at the first unreachable download instead of trying every name
    assert cli_main(["tracks", "get", "reinvent_base", "Oval_track", "Bowtie_track", "--url",
                        url]) == 1
    err = capsys.readouterr().err
    assert time.monotonic() - t0 < 10.0
    assert err.count("cannot reach") == 1 and "offline" in err
    assert not cache_dir().exists() or list(cache_dir().iterdir()) == []


@pytest.mark.shared_data
def test_get_unknown_name(capsys):
    assert cli_main(["tracks", "get", "no_such_track"]) == 2
    assert "not an official DeepRacer track name" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# show


def test_show_draws_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    out = tmp_path / "track.png"
    assert cli_main(["tracks", "show", "dr_sim_default", "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    png = imread(out)
    assert png.shape[0] > 300 and png.shape[1] > 300
    assert "dr_sim_default" in capsys.readouterr().out


def test_show_unknown_official_track_suggests_get(capsys, tmp_path):
    assert cli_main(["tracks", "show", "reinvent_base", "--out", str(tmp_path / "x.png")]) == 2
    assert "deepracer-sim tracks get reinvent_base" in capsys.readouterr().err
