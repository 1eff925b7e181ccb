"""What the car can do (``deepracer_sim.sim.envelope``): steady turns against the real logs'
circles and the friction limit, ramps, and the racing line's envelope read from the car itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from deepracer_sim.constants import GRAVITY
from deepracer_sim.sim.car import CAR_PARAMS, CAR_V4, CAR_V5
from deepracer_sim.sim.envelope import (
    car_envelope,
    ramp,
    steady_turn,
    time_to_speed,
    top_speed,
)


@pytest.mark.parametrize(("gen", "steer", "cmd", "measured"), [
    ("v5", 30, 1.0, 0.70), ("v5", 30, 2.0, 1.70), ("v5", 5, 4.0, 6.01), ("v5", 10, 2.5, 2.80),
    ("v6", 25, 1.0, 0.67), ("v6", 15, 1.5, 1.21), ("v6", 10, 2.0, 1.72)])
def test_steady_radius_against_the_logs_circles(gen, steer, cmd, measured):
    # circles fitted to streaks of >= 14 equal commands in the real logs from their 9th step on
    # (docs/fidelity.md); the v5/v6 hinges settle within a step or three, so these are steady
    # turns; the model turns 5-15 % tighter
    t = steady_turn(CAR_PARAMS[gen], steer, cmd)
    assert t.settled
    assert t.radius == pytest.approx(measured, rel=0.16)


def test_steady_turn_figures_of_the_docs():
    # docs/fidelity.md's table (radius m, lateral acceleration m/s^2) for v5
    for (steer, cmd), (radius, a_lat) in {(5, 1.0): (2.907, 0.363), (15, 2.0): (1.921, 2.174),
                                          (30, 3.0): (2.543, 3.811)}.items():
        t = steady_turn(CAR_V5, steer, cmd)
        assert (t.radius, t.a_lat) == pytest.approx((radius, a_lat), abs=2e-3)
    # v4 at full lock from 3 m/s spins: no settled turn
    assert not steady_turn(CAR_V4, 30, 3.0).settled


@pytest.mark.parametrize("gen", ["v4", "v5", "v6"])
def test_envelope_is_the_cars_own(gen):
    car = CAR_PARAMS[gen]
    env = car_envelope(car)
    assert env.v[0] == 0.0 and env.v[-1] == pytest.approx(car.top_speed(4.0), abs=1e-12)
    # the lateral envelope: within the friction box's corner, and rising with speed to 3 m/s
    bound = GRAVITY * math.hypot(car.mu_x, car.mu_y)
    assert np.all(env.a_lat_max <= bound)
    i1, i3 = np.searchsorted(env.v, [1.0, 3.0])
    assert 0.0 < env.a_lat_max[i1] < env.a_lat_max[i3]
    assert np.allclose(env.max_curvature[1:] * env.v[1:] ** 2, env.a_lat_max[1:])
    # every settled steady turn lies inside it
    for steer in (10, 20, 30):
        for cmd in (1.0, 2.0):
            t = steady_turn(car, steer, cmd)
            if t.settled:
                assert t.a_lat <= np.interp(t.speed, env.v, env.a_lat_max) * 1.02
    # straight line: the traction-limited ramp from rest, nothing left at the top speed, and
    # braking towards the 0.1 m/s command's rim speed V: mu_x g z / sqrt(1 + z^2), z = (v - V)
    # / slip_x (v5 at 2 m/s: z = 7.2, 3.34 m/s^2; v4's soft slip_x: z = 3.1, 3.58 m/s^2)
    _, a = ramp(car, 4.0, 1)
    assert env.a_long_max[0] == pytest.approx(a[0], rel=0.02)
    assert env.a_long_max[-1] == 0.0
    i2 = np.searchsorted(env.v, 2.0)
    z = (2.0 - car.top_speed(0.1)) / car.slip_x
    assert env.a_brake_max[i2] == pytest.approx(car.mu_x * GRAVITY * z / math.hypot(1.0, z),
                                                rel=0.02)


def test_steer_for_inverts_the_steady_turns():
    env = car_envelope(CAR_V5)
    for steer, cmd in ((8, 1.0), (20, 2.0), (12, 3.0)):
        t = steady_turn(CAR_V5, steer, cmd)
        k = 1.0 / t.radius
        # the table is interpolated on a 1 degree, 0.05 m/s grid
        assert env.steer_for(k, t.speed) == pytest.approx(steer, abs=0.5)
        assert env.steer_for(-k, t.speed) == pytest.approx(-steer, abs=0.5)
    # a curvature no steady turn reaches: the largest steering of the table
    assert env.steer_for(50.0, 2.0) == 30.0
    assert env.steer_for(0.0, 2.0) == 0.0


def test_ramp_figures():
    # v5: 0 to 3 m/s in 0.90 s (mean 3.35 m/s^2, the real v5 ramps 3.28-3.55), 3.600 m/s at
    # command 4 and 2 * 0.036 / 0.035 = 2.057 m/s at command 2
    assert time_to_speed(CAR_V5, 3.0) == pytest.approx(0.895, abs=0.01)
    assert top_speed(CAR_V5, 4.0) == pytest.approx(3.600, abs=1e-3)
    assert top_speed(CAR_V5, 2.0) == pytest.approx(2.0571, abs=1e-3)
