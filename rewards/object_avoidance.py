"""Object avoidance reward: keep your distance, drive in the free lane.

Plain DeepRacer code (``math`` only): it runs unchanged in the AWS DeepRacer console,
DeepRacer-on-AWS and deepracer-for-cloud.

* Off track or crashed -> MIN_REWARD.
* The next object ahead (``closest_objects[1]``), when it is closer than LOOK_AHEAD metres
  (straight-line distance): pay for being on the other side of the centre line from it (the
  free lane), the more the closer it is, and cut the reward when the car is on its side and
  within DANGER_DISTANCE of it.
* Otherwise pay for staying near the centre line (ready for either lane).
* A small bonus for speed, so that the car does not learn to crawl.

Params keys read: ``all_wheels_on_track``, ``is_offtrack``, ``is_crashed``, ``x``, ``y``,
``distance_from_center``, ``is_left_of_center``, ``track_width``,
``speed``, ``closest_objects``, ``objects_location``, ``objects_left_of_center`` (all of them
in DeepRacer's own validator's params too).

Tunable constants: LOOK_AHEAD (m), DANGER_DISTANCE (m), SPEED_WEIGHT, MIN_REWARD.
"""

import math

LOOK_AHEAD = 2.5
DANGER_DISTANCE = 0.8
SPEED_WEIGHT = 0.3
MIN_REWARD = 1e-3


def reward_function(params):
    if params["is_offtrack"] or params["is_crashed"]:
        return MIN_REWARD
    half_width = 0.5 * params["track_width"]
    offset = params["distance_from_center"] / half_width  # 0 centre, 1 border
    left = params["is_left_of_center"]
    reward = 1.0 - 0.5 * offset
    objects = params["objects_location"]
    if objects:
        nxt = params["closest_objects"][1]
        ox, oy = objects[nxt]
        gap = math.hypot(ox - params["x"], oy - params["y"])
        if gap < LOOK_AHEAD:
            same_side = params["objects_left_of_center"][nxt] == left
            weight = 1.0 - gap / LOOK_AHEAD  # 0 far away, 1 next to it
            if same_side:
                lane = 1.0 - offset  # on its side: better near the centre than in its lane
                if gap < DANGER_DISTANCE:
                    lane *= gap / DANGER_DISTANCE
            else:
                lane = 0.5 + 0.5 * min(offset / 0.5, 1.0)  # the free lane: a quarter width out
            reward = (1.0 - weight) * reward + weight * lane
    if not params["all_wheels_on_track"]:
        reward *= 0.5
    reward += SPEED_WEIGHT * params["speed"]
    return max(float(reward), MIN_REWARD)
