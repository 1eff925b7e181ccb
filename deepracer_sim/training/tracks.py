"""Training on several tracks: which tracks a run trains on and how the run folder records them.

``deepracer-sim train --track A,B,C`` trains one policy on the three tracks at once: car ``i``
of the ``--n-envs`` cars drives track ``i % 3`` for the whole run (round robin over the tracks
per car, as deepracer-for-cloud's multi-config training gives each RoboMaker worker its own
track: :mod:`deepracer_sim.envs.multitrack`). The first track is the run's track: the
in-training evaluation (and so the best checkpoint) drives it, ``run_config.json``'s ``track``
names it, and ``evaluate``, ``analyze`` and ``export`` default to it, as deepracer-for-cloud's
worker 1 (``run.env``) is the track its evaluation and its exported ``training_params.yaml``
use. ``run_config.json`` lists all of them under ``training_tracks`` (name, file, SHA-256).
"""

from __future__ import annotations

from deepracer_sim.track import Track, load_track
from deepracer_sim.training.config import TrainConfig


def training_track_names(cfg: TrainConfig) -> list[str]:
    """The names or paths of the run's training tracks, ``cfg.track`` first."""
    return list(cfg.tracks) if len(cfg.tracks) > 1 else [cfg.track]


def training_tracks(cfg: TrainConfig, first: Track) -> list[Track]:
    """The run's training tracks, loaded (``first`` is ``cfg.track``, already loaded).

    Raises:
        TrackError: a track that cannot be found or read.
    """
    return [first, *(load_track(t) for t in training_track_names(cfg)[1:])]


def tracks_config(cfg: TrainConfig, first: Track) -> dict:
    """``run_config.json``'s ``training_tracks`` entry (several tracks), else ``{}``: a list
    of ``{"track", "track_path", "track_sha256"}``, in car order (car ``i`` drove entry
    ``i % len``)."""
    if len(cfg.tracks) <= 1:
        return {}
    return {"training_tracks": [
        {"track": t.name, "track_path": str(t.path) if t.path else None,
         "track_sha256": t.sha256} for t in training_tracks(cfg, first)]}
