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
#: Radius of the wheels' collision mesh, m (``meshes/deepracer/left_rear_wheel.STL`` extents
#: +-0.0359/+-0.036; cloud-model-format §6.1): how high the body rests.
TYRE_RADIUS = 0.036
#: Heights above the car origin: the chassis (``base_link -> chassis`` z), the rear wheel joints
#: and the front steering hinges (their z in the chassis frame, + CHASSIS_Z), m.
CHASSIS_Z = 0.023249
REAR_AXLE_Z = CHASSIS_Z + 0.01575
FRONT_AXLE_Z = CHASSIS_Z + 0.011759

# --- the camera (cloud-model-format §6.1, spec §3.1, §8) ----------------------------------
#: Gazebo's render size (``racecar.gazebo`` camera ``<image>``), pixels (width, height).
CAMERA_RENDER_SIZE = (640, 480)
#: The observation's size after ``Image.resize((160, 120), resample=BILINEAR)``
#: (``environments/constants.py::TRAINING_IMAGE_SIZE``), pixels (width, height); the array is
#: (120, 160, 1) uint8.
CAMERA_IMAGE_SIZE = (160, 120)
#: ``horizontal_fov`` of the camera sensor (``racecar.gazebo``), rad (64.7 degrees).
CAMERA_HORIZONTAL_FOV_RAD = 1.13
#: rl_coach ``ObservationRGBToYFilter`` weights of R, G, B (then ``astype(uint8)`` truncates).
CAMERA_Y_WEIGHTS = (0.2989, 0.587, 0.114)
#: ``chassis -> zed_camera_link`` origin (x, y, z), m, and its pitch (rpy 0 0.2618 0: 15 degrees
#: down), rad (``deepracer_single_cam.urdf``).
CAMERA_ZED_XYZ = (0.091711, 0.0, 0.080023)
CAMERA_ZED_PITCH_RAD = 0.2618
#: ``zed_camera_link -> camera_link`` origin (x, y, z), m (the lens).
CAMERA_LENS_XYZ = (0.044755, 0.0, 0.04)
#: The world's lights (every ``bundle/worlds/*.world`` checked, cloud-model-format §6.2):
#: ambient grey, the directional sun's diffuse colour and direction, the point light's diffuse
#: colour, position (m) and attenuation (constant, linear 1/m, quadratic 1/m^2).
WORLD_AMBIENT = 0.5
SUN_DIFFUSE = (1.0, 1.0, 0.8)
SUN_DIRECTION = (-0.5, 0.1, -0.9)
POINT_LIGHT_DIFFUSE = (0.225, 0.225, 0.225)
POINT_LIGHT_POSITION = (0.0, 0.0, 15.0)
POINT_LIGHT_ATTENUATION = (0.4, 0.01, 0.0)
#: The simapp's default obstacle (``bundle/models/box_obstacle/model.sdf``, ``OBSTACLE_TYPE``):
#: a box of (length, width, height), m, albedo (r, g, b) in 0-1.
BOX_OBSTACLE_SIZE = (0.4, 0.3, 0.25)
BOX_OBSTACLE_ALBEDO = (0.482, 0.38, 0.309)

# --- drive train and tyres (``../shared/docs/racing-speed-physics.md`` §2-§4; the same URDF in
# simapp v3.0.3, v5.3.3 and 01f5f015: bundle/urdf/deepracer/deepracer_single_cam.urdf and
# racecar.gazebo) ------------------------------------------------------------------------------
#: Total mass of the URDF links, kg (chassis 5.0, four wheels 0.34055, two hinges 0.1, cameras).
CAR_MASS = 6.564
#: Yaw moment of inertia of the URDF links about ``base_link``, kg m^2 (derived, §2).
CAR_YAW_INERTIA = 0.080
#: Gravity of Gazebo's default world (the DeepRacer worlds set none), m/s^2.
GRAVITY = 9.8
#: Radius the simapp turns a speed command into a wheel angular velocity with, m: the wheels
#: are driven at ``speed / 0.035`` rad/s (``agent_ctrl/utils.py::get_wheel_radius``, version >= 3).
CMD_WHEEL_RADIUS = 0.035
#: Wheel joint velocity limit, rad/s (URDF ``<limit effort="10" velocity="100"/>``); Gazebo cuts
#: the drive torque above it (gazebo-classic ``Joint::CheckAndTruncateForce``).
WHEEL_SPEED_LIMIT = 100.0
#: Radius of the wheels' collision mesh, m (``meshes/deepracer/*_wheel.STL``, rear 0.0360,
#: front 0.0362): the ground speed is ~1.03 x the command below the wheel-speed limit.
TYRE_RADIUS = 0.036
#: Toe of the front wheels: the yaw of the wheel joints in their hinge frames, rad, + = left
#: (URDF ``left_front_wheel_joint`` ``rpy="0 0 0.0022537"``, ``right_front_wheel_joint``
#: ``rpy="0 0 0.0065592"``).
FRONT_LEFT_TOE = 0.0022537
FRONT_RIGHT_TOE = 0.0065592
#: Tyre friction coefficient (``racecar.gazebo`` wheels ``mu1 = mu2 = 0.5``; the track models
#: set none, and ODE takes the smaller of the two surfaces').
TYRE_MU = 0.5

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

# --- objects: boxes and bot cars (spec §1.3; aws-deepracer-community/deepracer-simapp @ 01f5f015,
# paths under bundle/markov/) ----------------------------------------------------------------
#: A box's crash rectangle, m: ``BOX_OBSTACLE_DIMENSION = (0.4, 0.5)`` (track_geom/constants.py:60)
#: read by ``get_object_bounding_rect`` as [0] width (across the lane), [1] length (along it).
BOX_CRASH_LENGTH = 0.5
BOX_CRASH_WIDTH = 0.4
#: The box model's footprint, m (bundle/models/box_obstacle/model.sdf: 0.4 x 0.3 x 0.25): what a
#: lidar sees.
BOX_LENGTH = 0.4
BOX_WIDTH = 0.3
#: Pose height of a box (``OBSTACLE_Z``) and of a bot car (``BOT_CAR_Z``), m
#: (agent_ctrl/constants.py): the camera frustum test uses it.
BOX_Z = 0.1
BOT_Z = 0.0
#: Most objects per car: DeepRacer-on-AWS allows 1-6 boxes (``validation.ts``); deepracer-for-cloud
#: head-to-bot runs use up to 6 bot cars (console races had 3-6).
MAX_OBJECTS = 12
#: ``CLOSEST_OBJ_GAP``: an object closer than this along the centre line to a training start
#: point moves the car to the other lane, m (agent_ctrl/constants.py).
CLOSEST_OBJ_GAP = 1.0
#: ``RESET_BEHIND_DIST``: a race reset near a box puts the car this far behind it along the
#: centre line, on the other lane, m (agent_ctrl/constants.py; rollout_agent_ctrl.py:440-470).
RESET_BEHIND_DIST = 1.0
#: World-parameter defaults of the simapp's controllers (obstacles_agent_ctrl.py:43-60,
#: bot_cars_agent_ctrl.py:65-78).
DEFAULT_BOT_CAR_SPEED = 0.2  # BOT_CAR_SPEED, m/s
DEFAULT_LOWER_LANE_CHANGE_TIME = 3.0  # LOWER_LANE_CHANGE_TIME, s
DEFAULT_UPPER_LANE_CHANGE_TIME = 5.0  # UPPER_LANE_CHANGE_TIME, s
DEFAULT_LANE_CHANGE_DISTANCE = 1.0  # LANE_CHANGE_DISTANCE, m along the centre line
DEFAULT_BOT_PENALTY_SECONDS = 2.0  # PENALTY_SECONDS: bots wait this long after hitting the car
DEFAULT_MIN_DISTANCE_BETWEEN = 2.0  # MIN_DISTANCE_BETWEEN_OBSTACLES / _BOT_CARS
#: DeepRacer-on-AWS's default object-avoidance training layout: 3 boxes at 15 / 30 / 45 % of the
#: lap, inside / outside / inside (aws-solutions/deepracer-on-aws @ 61af778
#: apps/website/src/constants/tracks.ts:22-25; lane 1 inside, -1 outside).
DROA_DEFAULT_OBJECT_POSITIONS = ((0.15, 1), (0.30, -1), (0.45, 1))
#: The camera the simapp's ``object_in_camera`` frustum models (cameras/frustum.py:41-63):
#: offset from the car origin (physics version >= 3; before: 0.2, 0.164), pitch down (rad), near
#: and far planes (m), horizontal field of view (rad), image height / width.
CAMERA_OFFSET_X = 0.14529379
CAMERA_OFFSET_Z = 0.13032555
CAMERA_OFFSET_X_V2 = 0.2
CAMERA_OFFSET_Z_V2 = 0.164
CAMERA_PITCH = 0.2618
CAMERA_NEAR = 0.2
CAMERA_FAR = 300.0
CAMERA_HFOV = 1.13
CAMERA_VIEW_RATIO = 480.0 / 640.0
# --- the camera network's input (spec §8, cloud-model-format.md §2.1) ----------------------
#: One camera frame as the policy network sees it, (height, width, channels): the simapp
#: downscales Gazebo's 640x480 image to ``TRAINING_IMAGE_SIZE`` (160, 120)
#: (``environments/constants.py``), converts it to grey (``ObservationRGBToYFilter``) and
#: stacks 1 frame (``sagemaker_graph_manager.py``): uint8 (120, 160, 1).
CAMERA_IMAGE_SHAPE = (120, 160, 1)
