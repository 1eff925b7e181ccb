"""Centre-line reward (the classic AWS DeepRacer example).

Pays for staying close to the centre line, in three bands measured as a
fraction of the local track width:

* distance_from_center <= 0.10 * track_width  -> 1.0
* distance_from_center <= 0.25 * track_width  -> 0.5
* distance_from_center <= 0.50 * track_width  -> 0.1
* otherwise (likely off track)                -> 1e-3

Params keys read: ``distance_from_center``, ``track_width``.

Tunable constants: the band edges (MARKER_1..3, fractions of track_width),
the band rewards (REWARD_1..3) and MIN_REWARD, the floor that is returned
instead of zero (PPO learns poorly from exactly-zero rewards).
"""

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

    if distance_from_center <= MARKER_1 * track_width:
        reward = REWARD_1
    elif distance_from_center <= MARKER_2 * track_width:
        reward = REWARD_2
    elif distance_from_center <= MARKER_3 * track_width:
        reward = REWARD_3
    else:
        reward = MIN_REWARD

    return float(reward)
