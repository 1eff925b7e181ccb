"""Speed incentive with a centre-line term.

Pays for driving fast while staying on the track:

* any wheel off the track (``all_wheels_on_track`` is False) -> MIN_REWARD (1e-3)
* otherwise MIN_REWARD
  + SPEED_WEIGHT * (speed / MAX_SPEED) ** 2
  + CENTER_WEIGHT * (1 - distance_from_center / (track_width / 2)), the last
  term clipped to [0, CENTER_WEIGHT].

With everything else fixed, a higher speed always pays strictly more per step
on track (up to MAX_SPEED; speeds above it are treated as MAX_SPEED and
negative speeds as 0), and the speed term outweighs the centre term
(SPEED_WEIGHT > CENTER_WEIGHT), so the car is pushed to go fast first and to
keep near the centre second. The squared speed ratio makes the last bits of
speed worth the most.

Params keys read: ``all_wheels_on_track``, ``speed``, ``distance_from_center``,
``track_width``.

Tunable constants: MAX_SPEED (m/s; set it to the top speed of your action
space), SPEED_WEIGHT, CENTER_WEIGHT, MIN_REWARD.
"""

import math

MAX_SPEED = 4.0
SPEED_WEIGHT = 1.0
CENTER_WEIGHT = 0.5
MIN_REWARD = 1e-3


def reward_function(params):
    if not params["all_wheels_on_track"]:
        return float(MIN_REWARD)

    speed = min(max(float(params["speed"]), 0.0), MAX_SPEED)
    speed_term = SPEED_WEIGHT * (speed / MAX_SPEED) ** 2

    half_width = 0.5 * float(params["track_width"])
    if half_width > 0.0:
        closeness = 1.0 - float(params["distance_from_center"]) / half_width
        center_term = CENTER_WEIGHT * min(max(closeness, 0.0), 1.0)
    else:
        center_term = 0.0

    reward = MIN_REWARD + speed_term + center_term
    if not math.isfinite(reward):
        reward = MIN_REWARD
    return float(max(reward, MIN_REWARD))
