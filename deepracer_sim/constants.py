"""DeepRacer constants, each with its source.

"Spec §N" refers to ``../shared/docs/deepracer-interface.md`` (the DeepRacer contract read from
the simapp's code, aws-deepracer-community/deepracer-simapp @ 01f5f015, and from real logs).
Units: metres, seconds of simulated time, degrees unless a name says ``_RAD``.
"""

from __future__ import annotations

# --- timing (spec §2.1) -------------------------------------------------------------------
#: Agent step rate: the Gazebo camera (15 Hz) paces the simapp's step loop.
STEP_RATE_HZ = 15.0
#: Simulated seconds per step.
STEP_DT = 1.0 / STEP_RATE_HZ

# --- car geometry (spec §3.1, bundle/urdf/deepracer/deepracer_single_cam.urdf) -------------
#: Rear axle x in the car frame (car origin = Gazebo ``base_link``), m.
REAR_AXLE_X = -0.081663
#: Front axle x (steering hinges = front wheel centres), m.
FRONT_AXLE_X = 0.082311
#: Wheelbase, m (front axle x - rear axle x = 0.163974).
WHEELBASE = FRONT_AXLE_X - REAR_AXLE_X
#: Half track width of the rear wheels, m (rear track 0.16210).
REAR_HALF_TRACK = 0.08105
#: Half track width of the front wheels, m (front track 0.159202).
FRONT_HALF_TRACK = 0.079601
#: Wheel centres (x, y) in the car frame: left rear, left front, right rear, right front, as
#: the simapp's ``LINK_NAMES`` order (``environments/constants.py``).
WHEEL_POSITIONS = (
    (REAR_AXLE_X, REAR_HALF_TRACK),
    (FRONT_AXLE_X, FRONT_HALF_TRACK),
    (REAR_AXLE_X, -REAR_HALF_TRACK),
    (FRONT_AXLE_X, -FRONT_HALF_TRACK),
)
#: The point params ``x``/``y`` report: car origin + 0.14 m forward
#: (``RELATIVE_POSITION_OF_FRONT_OF_CAR``, spec §1.2).
REFERENCE_POINT_X = 0.14
#: Collision footprint (width, length), m, centred on the car origin (``BOT_CAR_DIMENSION``).
CAR_WIDTH = 0.1961
CAR_LENGTH = 0.32352

# --- action limits (spec §3.1, agent_ctrl/constants.py) ------------------------------------
#: Steering limit, degrees: the simapp's clip, and DeepRacer-on-AWS's ``DiscreteSteeringAngle``
#: [-30, 30] (``source/libs/model/src/main/smithy/types/model.smithy``).
MAX_STEERING_ANGLE = 30.0
#: The simapp's speed clip when driving (``MIN_SPEED``, ``MAX_SPEED``), m/s; also
#: DeepRacer-on-AWS's ``DiscreteSpeed`` range [0.1, 4.0] (model.smithy).
MIN_SPEED = 0.1
MAX_SPEED = 4.0
#: DeepRacer-on-AWS's ``ContinuousSpeedValue`` minimum (model.smithy: [0.5, 4.0]), m/s: the
#: lowest ``speed.low`` of a continuous action space.
MIN_CONTINUOUS_SPEED = 0.5
#: DeepRacer-on-AWS discrete action-count limits (spec §3.2).
MIN_DISCRETE_ACTIONS = 2
MAX_DISCRETE_ACTIONS = 30
#: DeepRacer-on-AWS's longest reward function, characters (model.smithy ``RewardFunctionCode``
#: @length(max: 140000)).
MAX_REWARD_FUNCTION_CHARS = 140_000

# --- episode rules (spec §2) ---------------------------------------------------------------
#: ``NUMBER_OF_REVERSE_COUNTS``: consecutive RUN steps with decreasing progress => reversed.
REVERSE_STEPS = 15
#: ``NUM_STEPS_TO_CHECK_STUCK``: consecutive RUN steps without motion => immobilized.
IMMOBILIZED_STEPS = 15
#: Car-origin displacement per step at or below which the car counts as not moving, m.
IMMOBILIZED_DISTANCE = 0.0003
#: ``ROUND_ROBIN_ADVANCE_DIST``: start-point advance per training episode, fraction of a lap.
ROUND_ROBIN_ADVANCE = 0.05
#: Reward limits the simapp enforces (``rollout_agent_ctrl._judge_action_at_run_phase``).
REWARD_MIN = -1e5
REWARD_MAX = 1e5

#: Episode status codes as written in sim-traces (spec §7).
STATUS_CODES = (
    "prepare",
    "in_progress",
    "lap_complete",
    "off_track",
    "reversed",
    "immobilized",
    "time_up",
    "crashed",
)
#: ``episode_status`` labels of TrainingMetrics / EvaluationMetrics JSON (the simapp's
#: ``EpisodeStatus`` values, ``EPISODE_STATUS_LABEL_MAP``).
STATUS_LABELS = {
    "prepare": "Prepare",
    "in_progress": "In progress",
    "lap_complete": "Lap complete",
    "off_track": "Off track",
    "crashed": "Crashed",
    "reversed": "Reversed",
    "immobilized": "Immobilized",
    "time_up": "Time Up",
    "pause": "Pause",
    "park": "Park",
}

# --- the camera network's input (spec §8, cloud-model-format.md §2.1) ----------------------
#: One camera frame as the policy network sees it, (height, width, channels): the simapp
#: downscales Gazebo's 640x480 image to ``TRAINING_IMAGE_SIZE`` (160, 120)
#: (``environments/constants.py``), converts it to grey (``ObservationRGBToYFilter``) and
#: stacks 1 frame (``sagemaker_graph_manager.py``): uint8 (120, 160, 1).
CAMERA_IMAGE_SHAPE = (120, 160, 1)
