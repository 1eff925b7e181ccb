"""The catalog of the official DeepRacer tracks (the simapp's ``bundle/routes/*.npy``, spec §9):
simapp name, console display name, length, width, direction, file checksum.

``deepracer-sim tracks list`` prints it and shows where each track is found locally;
``deepracer-sim tracks get NAME...`` downloads tracks (:mod:`deepracer_sim.track.download`).
The rows (:mod:`deepracer_sim.track._catalog_data`) are generated once by
``tools/make_track_catalog.py`` from the simapp's files.
"""

from __future__ import annotations

import difflib
from typing import NamedTuple

from deepracer_sim.track import _catalog_data as track_catalog


class OfficialTrack(NamedTuple):
    """One row of the catalog (values measured from the simapp's file)."""

    name: str
    display_name: str
    waypoints: int
    is_loop: bool
    direction: str
    length: float
    width: float
    size: int
    sha256: str


#: The official tracks by simapp name, in catalog order.
CATALOG: dict[str, OfficialTrack] = {
    row[0]: OfficialTrack(*row) for row in track_catalog.ROWS
}


def lookup(name: str) -> OfficialTrack:
    """The catalog entry of a simapp name (``NAME`` or ``NAME.npy``, case-insensitive).

    Raises:
        KeyError: not in the catalog; the message lists close names and display-name matches.
    """
    key = name[:-4] if name.endswith(".npy") else name
    if key in CATALOG:
        return CATALOG[key]
    folded = {k.lower(): k for k in CATALOG}
    if key.lower() in folded:
        return CATALOG[folded[key.lower()]]
    by_display = [t.name for t in CATALOG.values() if t.display_name.lower() == key.lower()]
    if by_display:
        hint = f"{name!r} is the display name of: {', '.join(by_display)}"
    else:
        close = difflib.get_close_matches(key, list(CATALOG), n=5, cutoff=0.6)
        hint = f"did you mean: {', '.join(close)}?" if close else \
            "run `deepracer-sim tracks list` for the names"
    raise KeyError(f"{name!r} is not an official DeepRacer track name; {hint}")
