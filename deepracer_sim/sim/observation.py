"""The policy's observation: a float32 feature vector of what the car can know.

DeepRacer's own policy sees a 120x160 grey camera image (spec §8); rendering a camera is what
makes the real simulator slow, so the local policy sees the same situation as numbers instead.
The vector (``OBS_DIM`` = 19 float32 values), with its bounds (values are clipped to them):

====  ==========================================================  ===========
idx   feature                                                     bounds
====  ==========================================================  ===========
0     actual speed / 4 m/s                                        [0, 1.5]
1     actual steering angle / 30 degrees (+ = left)               [-1.5, 1.5]
2     lateral offset of the reference point from the centre       [-3, 3]
      line / (local track_width / 2), + = left of travel
3, 4  sin, cos of (car yaw - centre-line direction)               [-1, 1]
5-18  the centre line 0.3, 0.6, 1.0, 1.5, 2.0, 2.5, 3.0 m ahead      [-1.5, 1.5]
      of the reference point's projection, as (forward, left)
      coordinates in the car frame from the reference point, / 3 m
====  ==========================================================  ===========

The reference point is the params' ``x``/``y`` point, 0.14 m ahead of the car origin.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

#: Look-ahead distances along the centre line, m.
LOOKAHEAD = np.array([0.3, 0.6, 1.0, 1.5, 2.0, 2.5, 3.0])
LOOKAHEAD_SCALE = 3.0
OBS_DIM = 5 + 2 * LOOKAHEAD.shape[0]


def observation_bounds() -> tuple[np.ndarray, np.ndarray]:
    """(low, high) float32 arrays of shape (OBS_DIM,)."""
    low = np.full(OBS_DIM, -1.5, dtype=np.float32)
    high = np.full(OBS_DIM, 1.5, dtype=np.float32)
    low[0] = 0.0
    low[2], high[2] = -3.0, 3.0
    low[3:5], high[3:5] = -1.0, 1.0
    return low, high


_LOW, _HIGH = observation_bounds()


@njit(cache=True, inline="always")
def point_along(line: np.ndarray, cum: np.ndarray, is_loop: bool, dist: float):
    """(x, y) at distance ``dist`` (m) along a polyline with cumulative lengths ``cum``.

    Loops wrap around; open lines clamp to their ends.
    """
    length = cum[-1]
    if is_loop:
        dist = dist % length
    elif dist <= 0.0:
        return line[0, 0], line[0, 1]
    elif dist >= length:
        return line[-1, 0], line[-1, 1]
    j = np.searchsorted(cum, dist, side="right") - 1
    if j >= line.shape[0] - 1:
        j = line.shape[0] - 2
    seg = cum[j + 1] - cum[j]
    t = (dist - cum[j]) / seg if seg > 0.0 else 0.0
    return (line[j, 0] + t * (line[j + 1, 0] - line[j, 0]),
            line[j, 1] + t * (line[j + 1, 1] - line[j, 1]))


@njit(cache=True)
def write_observation(out: np.ndarray, line: np.ndarray, cum: np.ndarray, is_loop: bool,
                      seg: int, measure: float, ref_x: float, ref_y: float, yaw: float,
                      speed: float, steering: float, offset: float, half_width: float) -> None:
    """Fill ``out`` (OBS_DIM,) float32 with the features of the module docstring.

    Args:
        line, cum: centre line (N, 2) in driving order and its cumulative lengths (N,).
        seg, measure: projected segment index and distance along the line of the reference point.
        offset: signed distance of the reference point from the centre line (+ = left), m.
    """
    dx = line[seg + 1, 0] - line[seg, 0]
    dy = line[seg + 1, 1] - line[seg, 1]
    norm = math.hypot(dx, dy)
    if norm > 0.0:
        dx /= norm
        dy /= norm
    else:
        dx, dy = 1.0, 0.0
    c = math.cos(yaw)
    s = math.sin(yaw)
    out[0] = speed / 4.0
    out[1] = steering / (math.pi / 6.0)
    out[2] = offset / half_width if half_width > 0.0 else 0.0
    out[3] = s * dx - c * dy  # sin(yaw - direction)
    out[4] = c * dx + s * dy  # cos(yaw - direction)
    # walk forward along the centre line from the projected segment
    n = line.shape[0]
    length = cum[n - 1]
    j = seg
    base = 0.0  # cum offset after wrapping past the end of a loop
    for k in range(LOOKAHEAD.shape[0]):
        target = measure + LOOKAHEAD[k]
        while target > base + cum[j + 1]:
            if j + 2 < n:
                j += 1
            elif is_loop:
                j = 0
                base += length
            else:
                break
        seg_len = cum[j + 1] - cum[j]
        t = (target - base - cum[j]) / seg_len if seg_len > 0.0 else 0.0
        t = min(max(t, 0.0), 1.0)
        px = line[j, 0] + t * (line[j + 1, 0] - line[j, 0])
        py = line[j, 1] + t * (line[j + 1, 1] - line[j, 1])
        rx = px - ref_x
        ry = py - ref_y
        out[5 + 2 * k] = (c * rx + s * ry) / LOOKAHEAD_SCALE
        out[6 + 2 * k] = (-s * rx + c * ry) / LOOKAHEAD_SCALE
    for k in range(OBS_DIM):
        out[k] = min(max(out[k], _LOW[k]), _HIGH[k])
