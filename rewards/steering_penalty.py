"""Centre-line reward with a steering penalty (AWS example "prevent zig-zag").

Pays for staying close to the centre line, in three bands measured as a
fraction of the local track width (1.0 / 0.5 / 0.1 / 1e-3 at
<= 0.10 / <= 0.25 / <= 0.50 / beyond 0.50 of track_width), then multiplies the
result by STEERING_PENALTY (0.8) when the commanded steering angle is sharper
than ABS_STEERING_THRESHOLD degrees either way, which discourages weaving.
The result never drops below MIN_REWARD (1e-3), so the outermost band with a
sharp steering angle still pays 1e-3 rather than 8e-4.

Params keys read: ``distance_from_center``, ``track_width``, ``steering_angle``.

Tunable constants: ABS_STEERING_THRESHOLD (degrees), STEERING_PENALTY (factor),
the band edges MARKER_1..3 (fractions of track_width), the band rewards
REWARD_1..3 and MIN_REWARD.
"""

ABS_STEERING_THRESHOLD = 15.0
STEERING_PENALTY = 0.8

MARKER_1 = 0.10
MARKER_2 = 0.25
MARKER_3 = 0.50

REWARD_1 = 1.0
REWARD_2 = 0.5
REWARD_3 = 0.1
MIN_REWARD = 1e-3


def reward_function(params):
    distance_from_center = params["distance_from_center"]
    track_width = params["track_width"]
    abs_steering = abs(params["steering_angle"])

    if distance_from_center <= MARKER_1 * track_width:
        reward = REWARD_1
    elif distance_from_center <= MARKER_2 * track_width:
        reward = REWARD_2
    elif distance_from_center <= MARKER_3 * track_width:
        reward = REWARD_3
    else:
        reward = MIN_REWARD

    if abs_steering > ABS_STEERING_THRESHOLD:
        reward *= STEERING_PENALTY

    return float(max(reward, MIN_REWARD))
