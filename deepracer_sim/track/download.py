"""Downloading official tracks into the user cache, verified by the catalog's SHA-256.

Environment: ``XDG_CACHE_HOME`` (the cache is ``$XDG_CACHE_HOME/deepracer-sim/tracks``, default
``~/.cache/deepracer-sim/tracks``); ``DEEPRACER_TRACKS_URL`` replaces the download base URL
(a folder URL holding ``NAME.npy`` files, e.g. a mirror).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from deepracer_sim.errors import TrackDownloadError, TrackOfflineError
from deepracer_sim.track import _catalog_data as track_catalog
from deepracer_sim.track.catalog import lookup
from deepracer_sim.track.lookup import cache_dir

#: Where ``get`` downloads from: the simapp's route files at the pinned commit.
DEFAULT_BASE_URL = (f"https://raw.githubusercontent.com/{track_catalog.SIMAPP_REPO}/"
                    f"{track_catalog.SIMAPP_COMMIT}/bundle/routes/")


#: Environment variable that replaces :data:`DEFAULT_BASE_URL`.
BASE_URL_ENV = "DEEPRACER_TRACKS_URL"


#: Seconds to wait for the server before giving up.
DOWNLOAD_TIMEOUT = 20.0


#: Largest file accepted (the biggest official track is ~20 KB).
MAX_DOWNLOAD_BYTES = 10 * 1024 * 1024


def base_url() -> str:
    """The download base URL (``DEEPRACER_TRACKS_URL`` or :data:`DEFAULT_BASE_URL`)."""
    url = os.environ.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL
    return url if url.endswith("/") else url + "/"


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Downloaded:
    """The result of :func:`download` for one track."""

    name: str
    path: Path
    fetched: bool  # False: a verified copy was already cached


def download(name: str, *, dest: Path | None = None, url: str | None = None,
             force: bool = False, timeout: float = DOWNLOAD_TIMEOUT) -> Downloaded:
    """Download one official track into the cache, verified by its catalog SHA-256.

    The file is written to a temporary name in ``dest`` and renamed only after its checksum
    matches, so a failed or corrupted download leaves nothing behind.

    Args:
        name: simapp name (see :func:`lookup`).
        dest: target folder (default :func:`cache_dir`).
        url: base URL (default :func:`base_url`).
        force: download even if a verified copy is cached.
        timeout: seconds to wait for the server.

    Raises:
        KeyError: unknown name.
        TrackOfflineError: offline / unreachable server.
        TrackDownloadError: HTTP error, oversized file, checksum mismatch.
    """
    entry = lookup(name)
    dest = Path(dest) if dest is not None else cache_dir()
    target = dest / f"{entry.name}.npy"
    if not force and target.is_file() and file_sha256(target) == entry.sha256:
        return Downloaded(entry.name, target, False)
    source = (url or base_url())
    source = (source if source.endswith("/") else source + "/") + f"{entry.name}.npy"
    try:
        with urllib.request.urlopen(source, timeout=timeout) as response:
            data = response.read(MAX_DOWNLOAD_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise TrackDownloadError(f"{entry.name}: {source} answered HTTP {exc.code} "
                                 f"{exc.reason}; nothing was cached") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise TrackOfflineError(
            f"{entry.name}: cannot reach {source} ({reason}). Are you offline? Downloading "
            f"needs internet access; alternatively copy {entry.name}.npy from the simapp "
            f"repository ({track_catalog.SIMAPP_REPO}, bundle/routes/) into {dest} or a folder "
            "listed in DEEPRACER_TRACKS_PATH; nothing was cached"
        ) from None
    if len(data) > MAX_DOWNLOAD_BYTES:
        raise TrackDownloadError(f"{entry.name}: {source} sent more than "
                                 f"{MAX_DOWNLOAD_BYTES} bytes; nothing was cached")
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.sha256:
        raise TrackDownloadError(
            f"{entry.name}: checksum mismatch for {source}: got SHA-256 {digest} "
            f"({len(data)} bytes), the catalog expects {entry.sha256} ({entry.size} bytes). "
            "The file is corrupted or not the pinned version; nothing was cached"
        )
    dest.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{entry.name}.", suffix=".part", dir=dest)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Downloaded(entry.name, target, True)
