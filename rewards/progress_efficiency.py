"""Progress-per-step efficiency (lap-completion pace) with a finishing bonus.

Pays for covering the lap in as few steps as possible:

* any wheel off the track (``all_wheels_on_track`` is False) -> MIN_REWARD (1e-3)
* otherwise the pace progress / steps (percent of the lap per step), scaled so
  that TARGET_STEPS steps per lap (225 steps, about 15 s at 15 steps per
  second, i.e. 100 / 225 % per step) earns 1.0:
      pace_reward = (progress / steps) / (100 / TARGET_STEPS)
  capped at PACE_CAP to tame noisy values in the first few steps; progress
  below 0 counts as 0 and steps below 1 count as 1 (the first call sees
  steps == 2.0), so there is no division by zero and no negative reward.
* when the lap is complete (progress >= 100) a bonus is added:
      COMPLETION_BONUS * min(TARGET_STEPS / steps, BONUS_RATIO_CAP)
  so a lap in TARGET_STEPS steps earns COMPLETION_BONUS and a lap in half the
  steps earns twice that.

The result is never below MIN_REWARD and never above
PACE_CAP + COMPLETION_BONUS * BONUS_RATIO_CAP (403 with the defaults).

Params keys read: ``all_wheels_on_track``, ``progress``, ``steps``.

Tunable constants: TARGET_STEPS (steps for a lap that earns 1.0 per step),
PACE_CAP, COMPLETION_BONUS, BONUS_RATIO_CAP, MIN_REWARD.
"""

import math

TARGET_STEPS = 225.0
PACE_CAP = 3.0
COMPLETION_BONUS = 100.0
BONUS_RATIO_CAP = 4.0
MIN_REWARD = 1e-3


def reward_function(params):
    if not params["all_wheels_on_track"]:
        return float(MIN_REWARD)

    progress = float(params["progress"])
    steps = max(float(params["steps"]), 1.0)

    pace = max(progress, 0.0) / steps
    pace_reward = min(pace / (100.0 / TARGET_STEPS), PACE_CAP)
    reward = pace_reward

    if progress >= 100.0:
        reward += COMPLETION_BONUS * min(TARGET_STEPS / steps, BONUS_RATIO_CAP)

    if not math.isfinite(reward):
        reward = MIN_REWARD
    return float(max(reward, MIN_REWARD))
