"""Tests of the camera renderer (``deepracer_sim.sim.camera``): geometry worked by hand,
determinism, batching, domain randomisation."""

import math
from dataclasses import replace

import numpy as np
import pytest

from deepracer_sim.errors import CameraError
from deepracer_sim.sim import camera as c
from deepracer_sim.sim import camera_scene as cs


def straight_track(length=30.0, half_width=0.5334, step=0.5):
    """An open straight track along +x: centre y = 0, inner (left) y = +hw, outer y = -hw."""
    x = np.arange(0.0, length + 1e-9, step)
    return np.stack([x, 0 * x, x, 0 * x + half_width, x, 0 * x - half_width], axis=1)


def render(scene, poses, params=None, objects=None):
    poses = np.atleast_2d(np.asarray(poses, dtype=np.float64))
    n = len(poses)
    params = c.nominal_params(scene, n, grain=False) if params is None else params
    objects = np.zeros((n, 0, c.N_OBJ_COLS)) if objects is None else objects
    out = np.zeros((n, c.IMAGE_HEIGHT, c.IMAGE_WIDTH), np.uint8)
    c.render_batch(*scene.arrays, poses, params, c.mount_table()[None], np.zeros(n, np.int64),
                   objects, np.zeros((n, objects.shape[1], 4), np.int64), np.ones(n, np.uint64),
                   np.arange(n, dtype=np.int64), out)
    return out


@pytest.fixture(scope="module")
def straight():
    # the trackgen box: wall 1 m high, 0.762 m beyond the road's bounding box
    return c.build_scene(straight_track(), replace(c.TRACKGEN_STYLE, start_line=False))


@pytest.fixture(scope="module")
def tracks(shared_dir):
    return shared_dir / "tracks"

def test_camera_mount_from_urdf():
    # lens (0.14529, 0.13033) m from base_link; ground contacts 0.003 m (rear, x -0.081663) and
    # -0.000992 m (front, x 0.082311) above base_link => nose up atan(0.003992 / 0.163974)
    assert c.camera_mount()[0] == pytest.approx(0.14208, abs=2e-5)
    assert pytest.approx(0.13281, abs=2e-5) == c.CAMERA_HEIGHT
    assert math.degrees(c.CAMERA_PITCH) == pytest.approx(15.0 - 1.3946, abs=1e-3)
    assert pytest.approx(80 / math.tan(0.565)) == c.FOCAL_PX


def test_shape_dtype_and_buffer_reuse(tracks):
    cam = c.CameraRenderer(str(tracks / "reInvent2019_wide.npy"), n=3)
    wp = cam.scene.track.waypoints
    poses = np.array([[*wp[i, :2], 0.3 * i] for i in range(3)])
    frames = cam.render(poses)
    assert frames.shape == (3, 120, 160) and frames.dtype == np.uint8
    assert cam.render(poses) is frames
    with pytest.raises(CameraError, match="shape"):
        cam.render(poses[:2])


def test_horizon_row_and_far_wall(straight):
    # a horizontal ray: y_c = -tan(pitch) => v = 60 - 126.196 * tan(13.606 deg) = 60 - 30.54
    f, h, p = c.FOCAL_PX, c.CAMERA_HEIGHT, c.CAMERA_PITCH
    assert 60 - f * math.tan(p) == pytest.approx(29.457, abs=0.002)
    # car at x = 2 facing +x: the far wall (x = 30.762) is D = 28.620 m from the lens; a ray
    # alpha below the horizontal reaches row v = 60 + f tan(alpha - pitch)
    D = 30.0 + 0.762 - (2.0 + c.CAMERA_X)
    assert pytest.approx(28.620, abs=1e-3) == D
    v_base = 60 + f * math.tan(math.atan(h / D) - p)  # 30.08: the wall's foot
    v_top = 60 + f * math.tan(-math.atan((1.0 - h) / D) - p)  # 25.38: its top edge
    assert v_base == pytest.approx(30.08, abs=0.01) and v_top == pytest.approx(25.38, abs=0.01)
    img = render(straight, [2.0, 0.0, 0.0])[0].astype(float)
    prm = c.nominal_params(straight, 1, grain=False)[0]
    sky, wall = prm[cs.CP_SKY], prm[cs.CP_WALL0 + 1]  # wall 1: x = x1
    col = img[:, 80]
    assert np.all(col[:24] == int(sky))
    assert np.all(np.abs(col[27:29] - wall) <= 1)
    # below the foot: road and centre-line dashes (blended far away) up to the track's end
    assert np.all(col[31:] >= int(prm[cs.CP_ROAD])) and np.all(col[31:] <= prm[cs.CP_CENTRE])
    # sub-pixel position of the top edge: where the column crosses the sky/wall midpoint
    mid = 0.5 * (sky + wall)
    j = int(np.argmax(col < mid))
    v_meas = j - 1 + 0.5 + (mid - col[j - 1]) / (col[j] - col[j - 1])
    assert v_meas == pytest.approx(v_top, abs=0.3)


def test_border_lines_where_worked_by_hand(straight):
    # ground point (X ahead of the lens, Y left) -> column u = 80 - f Y / (X cos p + h sin p),
    # row v = 60 + f (h cos p - X sin p) / (X cos p + h sin p). Take row 45 (pixel centre 45.5):
    # X = h (cos p - k sin p) / (sin p + k cos p) with k = (45.5 - 60) / f.
    f, h, p = c.FOCAL_PX, c.CAMERA_HEIGHT, c.CAMERA_PITCH
    k = (45.5 - 60) / f
    X = h * (math.cos(p) - k * math.sin(p)) / (math.sin(p) + k * math.cos(p))
    assert pytest.approx(1.0737, abs=1e-4) == X  # (0.99897 / 0.12356) h
    depth = X * math.cos(p) + h * math.sin(p)

    def column(y):
        return 80 - f * y / depth  # continuous column (pixel u spans [u, u + 1))

    img = render(straight, [2.0, 0.0, 0.0])[0].astype(float)
    prof = img[45]
    params = c.nominal_params(straight, 1, grain=False)[0]
    road, border, field = params[cs.CP_ROAD], params[cs.CP_BORDER], params[cs.CP_FIELD]
    # left road edge (y = +0.5334): field -> border; inner edge of the line (y = 0.4572)
    edges = ((0.5334, field, border, "left"), (0.4572, border, road, "left"),
             (-0.4572, road, border, "right"), (-0.5334, border, field, "right"))
    for y_edge, lo, hi, side in edges:
        u_true = column(y_edge)
        mid = 0.5 * (lo + hi)
        # first crossing of the mid level near the predicted column
        u0 = int(u_true) - 3
        seg = prof[u0:u0 + 7]
        above = (seg > mid) if hi > lo else (seg < mid)
        j = int(np.argmax(above))
        # linear interpolation between pixel centres j-1 and j
        a, b = seg[j - 1], seg[j]
        frac = (mid - a) / (b - a)
        u_meas = u0 + j - 1 + 0.5 + frac
        assert u_meas == pytest.approx(u_true, abs=0.35), (side, y_edge, u_true, u_meas)
    # centre line (1" wide, here between dashes or on one): the road between lines is pure road
    assert prof[int(column(0.3))] == pytest.approx(road, abs=1)


def test_determinism_and_batch_equals_single(tracks):
    scene = c.build_scene(str(tracks / "2022_reinvent_champ_cw.npy"))
    wp = scene.track.waypoints
    poses = np.array([[*wp[i, :2], math.atan2(wp[i + 1, 1] - wp[i, 1], wp[i + 1, 0] - wp[i, 0])
                       + 0.1 * i] for i in (0, 10, 40, 90)])
    params = c.nominal_params(scene, 4)
    batch = render(scene, poses, params)
    again = render(scene, poses, params)
    assert np.array_equal(batch, again)
    for i in range(4):
        single = render(scene, poses[i:i + 1], params[i:i + 1])[0]
        assert np.array_equal(single, batch[i])


def test_parallel_kernel_equals_serial(tracks):
    track = str(tracks / "reInvent2019_wide.npy")
    dr = c.DomainRandomization(enabled=True)
    serial = c.CameraRenderer(track, 5, dr, seed=9)
    para = c.CameraRenderer(track, 5, dr, seed=9, parallel=True)
    wp = serial.scene.track.waypoints
    poses = np.array([[*wp[10 * i, :2], 0.5 * i] for i in range(5)])
    for _ in range(2):  # the noise generators advance identically
        assert np.array_equal(serial.render(poses), para.render(poses))


def test_dr_off_reproducible_and_on_changes_within_bounds(tracks):
    track = str(tracks / "reInvent2019_wide.npy")
    wp = np.load(track)
    pose = np.array([[*wp[30, :2], math.atan2(wp[31, 1] - wp[30, 1], wp[31, 0] - wp[30, 0])]])
    off_a = c.CameraRenderer(track, 1, c.DomainRandomization(enabled=False), seed=1).render(pose)
    off_b = c.CameraRenderer(track, 1, c.DomainRandomization(enabled=False), seed=2).render(pose)
    assert np.array_equal(off_a, off_b)
    # gain only: every grey scales by the same factor g in [0.9, 1.1] (lines clip at 255)
    dr = c.DomainRandomization(enabled=True, simapp_lights=False, gain_range=(0.9, 1.1),
                               region_jitter=0.0, height_jitter=0.0, pitch_jitter_deg=0.0,
                               roll_jitter_deg=0.0, yaw_jitter_deg=0.0, grain_range=(1.0, 1.0),
                               noise_std_range=(0.0, 0.0))
    cam = c.CameraRenderer(track, 1, dr, seed=3)
    on = cam.render(pose).copy()
    nominal = c.nominal_params(cam.scene, 1)[0]
    g = cam.randomizer.params[0, cs.CP_ROAD] / nominal[cs.CP_ROAD]
    assert 0.9 <= g <= 1.1 and abs(g - 1) > 1e-3
    road = (off_a[0] > 60) & (off_a[0] < 110)  # road pixels (road grey ~85, grain +-4)
    ratio = on[0][road].astype(float) / off_a[0][road]
    assert np.median(ratio) == pytest.approx(g, abs=0.02)
    # everything on: same seed -> same frames; new episode -> new look; bounded noise
    full = c.DomainRandomization(enabled=True)
    a = c.CameraRenderer(track, 2, full, seed=5)
    b = c.CameraRenderer(track, 2, full, seed=5)
    fa = a.render(np.repeat(pose, 2, 0)).copy()
    assert np.array_equal(fa, b.render(np.repeat(pose, 2, 0)))
    assert not np.array_equal(fa[0], fa[1])  # cars draw from their own generators
    a.reset([0])
    fa2 = a.render(np.repeat(pose, 2, 0))
    assert not np.array_equal(fa2[0], fa[0])
    # the simapp's light randomisation can only dim (each light's colour <= its default)
    # or tint; the sky is unlit
    for i in range(2):
        p = a.randomizer.params[i]
        assert 0.0 <= p[cs.CP_ROAD] <= 255 and 0 <= p[cs.CP_NOISE] <= 4.0
        assert abs(p[cs.CP_PITCH] - c.CAMERA_PITCH) <= math.radians(1.5) + 1e-12


def test_frame_to_rgb():
    frame = np.arange(120 * 160, dtype=np.uint32).reshape(120, 160).astype(np.uint8)
    rgb = c.frame_to_rgb(frame, 2)
    assert rgb.shape == (240, 320, 3) and rgb.dtype == np.uint8
    assert np.array_equal(rgb[::2, ::2, 1], frame)
