"""Heading reward (AWS example "follow the direction of the track").

Pays for pointing the car along the centre line:

* any wheel off the track (``all_wheels_on_track`` is False) -> MIN_REWARD (1e-3)
* otherwise 1.0, multiplied by HEADING_PENALTY (0.5) when the car's heading
  differs from the track direction by more than DIRECTION_THRESHOLD degrees.

The track direction is the angle (math.atan2, in degrees) of the segment from
waypoints[closest_waypoints[0]] to waypoints[closest_waypoints[1]]. Some tracks
repeat a waypoint (and on a loop the last waypoint equals the first), which
would give a zero-length segment; in that case the next waypoints further
ahead are used until one differs. If no usable segment exists the heading
penalty is skipped. The difference is wrapped into [0, 180] degrees, so
headings of 179 and -179 are 2 degrees apart.

Params keys read: ``all_wheels_on_track``, ``heading``, ``waypoints``,
``closest_waypoints``.

Tunable constants: DIRECTION_THRESHOLD (degrees), HEADING_PENALTY (factor),
MIN_REWARD.
"""

import math

DIRECTION_THRESHOLD = 10.0
HEADING_PENALTY = 0.5
MIN_REWARD = 1e-3


def _track_direction(waypoints, closest_waypoints):
    """Direction in degrees of the first non-degenerate segment ahead, or None."""
    count = len(waypoints)
    if count < 2:
        return None
    prev_index = int(closest_waypoints[0]) % count
    next_index = int(closest_waypoints[1]) % count
    prev_point = waypoints[prev_index]
    for _ in range(count):
        next_point = waypoints[next_index]
        dx = next_point[0] - prev_point[0]
        dy = next_point[1] - prev_point[1]
        if dx != 0 or dy != 0:
            return math.degrees(math.atan2(dy, dx))
        next_index = (next_index + 1) % count
    return None


def reward_function(params):
    if not params["all_wheels_on_track"]:
        return float(MIN_REWARD)

    reward = 1.0
    track_direction = _track_direction(params["waypoints"], params["closest_waypoints"])
    if track_direction is not None:
        direction_diff = abs(track_direction - float(params["heading"])) % 360.0
        if direction_diff > 180.0:
            direction_diff = 360.0 - direction_diff
        if direction_diff > DIRECTION_THRESHOLD:
            reward *= HEADING_PENALTY

    return float(max(reward, MIN_REWARD))
