"""Helpers for racers' own unit tests of their reward files (pytest or any test runner).

:func:`make_params` builds the complete params dict DeepRacer's simapp would pass with the car at
a chosen pose, computed by the simulator's own geometry (:func:`deepracer_sim.reward_params`),
so a test can say "on the centre line at waypoint 40, heading along the track, 2 m/s" and get
every one of the 26 keys right, including ``closest_waypoints``, ``distance_from_center``,
``is_left_of_center``, ``track_width``, ``all_wheels_on_track`` and ``progress``::

    from deepracer_sim.testing import load_reward, make_params

    reward_function = load_reward("rewards/center.py")

    def test_centre_pays_more_than_the_edge():
        centre = make_params("dr_sim_default", waypoint=10)
        edge = make_params("dr_sim_default", waypoint=10, offset=0.3)   # 0.3 m left of centre
        assert reward_function(centre) > reward_function(edge)

Positions are given along the track (``waypoint=`` index or ``distance=`` metres from waypoint 0
of the driving direction) plus a sideways ``offset`` in metres (+ = left of the driving
direction), or as absolute ``x``/``y``. The heading defaults to the direction of the track at
that point, turned by ``heading_offset`` degrees (+ = to the left). Any key can be overridden
afterwards (``make_params(..., is_crashed=True)``); unknown keys raise ``TypeError`` so a typo
such as ``distance_from_centre`` does not pass silently.
"""

from __future__ import annotations

import math
import os

import numpy as np

from deepracer_sim.reward import RewardFn, load_reward_function
from deepracer_sim.sim.params import PARAM_KEYS, reward_params
from deepracer_sim.track import DEFAULT_TRACK, Track, load_track

__all__ = ["load_reward", "make_params", "track_direction"]


def _track(track: str | os.PathLike | Track) -> Track:
    return track if isinstance(track, Track) else load_track(track)


def load_reward(path: str | os.PathLike) -> RewardFn:
    """The ``reward_function`` of a reward file (the file is imported as the simapp does).

    Raises:
        RewardFunctionError: missing file, syntax error, no ``reward_function``.
    """
    return load_reward_function(path)


def _station(track: Track, distance: float, reversed_direction: bool):
    """(point (2,), unit tangent (2,)) at ``distance`` m along the driving direction's centre
    line from its waypoint 0 (wrapped on a loop, clipped on an open track)."""
    centre = track.centre_line(reversed_direction)
    cum = track.arrays.cum[1 if reversed_direction else 0]
    length = cum[-1]
    s = distance % length if track.is_loop else min(max(distance, 0.0), length)
    seg = int(np.searchsorted(cum, s, side="right") - 1)
    seg = min(max(seg, 0), len(centre) - 2)
    # the tangent of the first non-degenerate segment at or after seg (duplicate waypoints)
    k = seg
    for _ in range(len(centre)):
        d = centre[k + 1] - centre[k]
        if math.hypot(d[0], d[1]) > 0.0:
            break
        k = (k + 1) % (len(centre) - 1)
    seg_len = cum[seg + 1] - cum[seg]
    t = (s - cum[seg]) / seg_len if seg_len > 0 else 0.0
    point = centre[seg] + t * (centre[seg + 1] - centre[seg])
    return point, d / math.hypot(d[0], d[1])


def track_direction(track: str | os.PathLike | Track, *, waypoint: int | None = None,
                    distance: float | None = None, reversed: bool = False) -> float:
    """The driving direction of the centre line at a waypoint or distance, degrees CCW from +x
    (the ``heading`` of a car aligned with the track there)."""
    t = _track(track)
    s = _distance(t, waypoint, distance, reversed)
    _, tangent = _station(t, s, reversed)
    return math.degrees(math.atan2(tangent[1], tangent[0]))


def _distance(track: Track, waypoint: int | None, distance: float | None,
              reversed_direction: bool) -> float:
    if waypoint is not None and distance is not None:
        raise TypeError("give waypoint= or distance=, not both")
    if waypoint is not None:
        n = track.num_waypoints
        if not -n <= waypoint < n:
            raise IndexError(f"waypoint {waypoint} out of range: {track.name} has {n} waypoints "
                             f"(0..{n - 1})")
        return float(track.arrays.cum[1 if reversed_direction else 0][waypoint % n])
    return float(distance or 0.0)


def make_params(track: str | os.PathLike | Track = DEFAULT_TRACK, *,
                waypoint: int | None = None, distance: float | None = None,
                offset: float = 0.0, x: float | None = None, y: float | None = None,
                heading: float | None = None, heading_offset: float = 0.0,
                speed: float = 1.0, steering_angle: float = 0.0, steps: float = 2.0,
                progress: float | None = None, reversed: bool = False,
                **overrides) -> dict:
    """The params dict DeepRacer passes to ``reward_function`` with the car at a pose.

    Args:
        track: a track name (as ``--track``), a ``.npy`` path, or a loaded Track.
        waypoint: put the car's reference point (params ``x``/``y``, 0.14 m ahead of the car
            centre) on the centre line at this waypoint index of ``params['waypoints']``
            (of the driving direction; negative indices count from the end).
        distance: or this many metres along the centre line from waypoint 0 (wraps on a loop).
            Neither given: waypoint 0.
        offset: then move it sideways by this many metres, + = left of the driving direction
            (so ``is_left_of_center`` is True and ``distance_from_center`` is about ``|offset|``
            on a straight).
        x, y: or give the reference point directly (both; ``waypoint``/``distance``/``offset``
            are then not allowed).
        heading: car heading in degrees CCW from +x; default: the track direction at that point
            plus ``heading_offset`` (+ = turned left).
        speed, steering_angle: the commanded action (m/s, degrees, + = left).
        steps: the step counter (2.0 is the first call of an episode).
        progress: percent of the lap done since the episode's start; the start point is put
            that far behind the car and the key is set to exactly this value. Default: the
            episode started at waypoint 0 of the driving direction.
        reversed: drive against the track's row order (params ``is_reversed``; ``waypoints``
            are then the reversed list and waypoint indices refer to it).
        **overrides: any params keys to set afterwards, e.g. ``is_crashed=True``.

    Returns:
        a new dict with all 26 keys (mutating it changes nothing else).

    Raises:
        TypeError: an unknown override key or conflicting position arguments.
        IndexError: waypoint out of range.
        TrackError: unknown track.
    """
    unknown = sorted(set(overrides) - set(PARAM_KEYS))
    if unknown:
        raise TypeError(f"make_params: unknown params key(s) {unknown}; DeepRacer's keys are: "
                        f"{', '.join(PARAM_KEYS)}")
    t = _track(track)
    if (x is None) != (y is None):
        raise TypeError("make_params: give both x and y, or neither")
    if x is not None and y is not None:
        if waypoint is not None or distance is not None or offset:
            raise TypeError("make_params: give x/y or waypoint/distance/offset, not both")
        px, py = float(x), float(y)
        if heading is None:
            # the direction of the centre line at the point's projection
            probe = reward_params(t, px, py, 0.0, reversed=reversed)
            s = probe["projection_distance"]
            _, tangent = _station(t, s, reversed)
            heading = math.degrees(math.atan2(tangent[1], tangent[0])) + heading_offset
        s_along = None
    else:
        s_along = _distance(t, waypoint, distance, reversed)
        point, tangent = _station(t, s_along, reversed)
        normal = np.array([-tangent[1], tangent[0]])  # left of travel
        px, py = (point + float(offset) * normal).tolist()
        if heading is None:
            heading = math.degrees(math.atan2(tangent[1], tangent[0])) + heading_offset
    heading = (float(heading) + 180.0) % 360.0 - 180.0
    if heading == -180.0:
        heading = 180.0
    start_distance = 0.0
    if progress is not None:
        here = s_along if s_along is not None else reward_params(
            t, px, py, heading, reversed=reversed)["projection_distance"]
        start_distance = (here - float(progress) / 100.0 * t.length) % t.length
    params = reward_params(t, px, py, heading, speed=speed, steering_angle=steering_angle,
                           steps=steps, start_distance=start_distance,
                           prev_progress=float(progress) if progress is not None else 0.0,
                           reversed=reversed)
    if progress is not None:
        params["progress"] = float(progress)
    params.update(overrides)
    return params
