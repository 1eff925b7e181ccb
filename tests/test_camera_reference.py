"""The fast camera renderer against the exact reference (``camera_reference.py``: 640x480 ray
casting, then PIL's downscale, Y and truncation as the simapp does) at poses on the three
tracks with their own look. docs/camera.md has the figures these tolerances come from."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import camera_reference as ref  # a test helper beside this file (tests/ is on sys.path)
import numpy as np
import pytest

from deepracer_sim.sim import camera as c

TRACKS = ("reInvent2019_wide", "reinvent_base", "2022_reinvent_champ_cw")


def poses_for(track, which=range(6)):
    """(label, (x, y, yaw)) along the centre line: behind the start, lateral offsets, yaw
    errors up to 1.2 rad (looking across the field at the walls)."""
    wp = track.waypoints
    n = len(wp) - 1
    table = ((0.0, 0.0, 0.0), (0.15, 0.2, 0.0), (0.33, -0.25, 0.35), (0.5, 0.0, -0.5),
             (0.7, 0.1, 1.2), (0.85, -0.1, 0.0))
    out = []
    for k in which:
        frac, lat, dyaw = table[k]
        i = int(frac * n)
        d = wp[i + 1, :2] - wp[i, :2]
        yaw = math.atan2(d[1], d[0])
        back = 0.6 if frac == 0.0 else 0.0
        x = wp[i, 0] - math.sin(yaw) * lat - math.cos(yaw) * back
        y = wp[i, 1] + math.cos(yaw) * lat - math.sin(yaw) * back
        out.append((f"s={frac:.2f} lat={lat:+.2f} dyaw={dyaw:+.2f}", (x, y, yaw + dyaw)))
    return out


def fast_render(scene, pose, objects=None):
    params = c.nominal_params(scene, 1, grain=False)
    objs = np.zeros((1, 0, c.N_OBJ_COLS)) if objects is None else objects[None]
    out = np.zeros((1, c.IMAGE_HEIGHT, c.IMAGE_WIDTH), np.uint8)
    c.render_batch(*scene.arrays, np.array([pose], dtype=np.float64), params,
                   c.mount_table()[None], np.zeros(1, np.int64), objs,
                   np.zeros((1, objs.shape[1], 4), np.int64), np.ones(1, np.uint64),
                   np.zeros(1, np.int64), out)
    return out[0], params[0]


def difference(scene, pose, msaa=2, objects=None):
    """fast - exact, (120, 160) int."""
    fast, params = fast_render(scene, pose, objects)
    exact = ref.reference_render(scene, pose, params, objects=objects, msaa=msaa)
    return fast.astype(int) - exact.astype(int)


@pytest.mark.parametrize("name", TRACKS)
def test_fast_render_matches_the_exact_reference(shared_dir, name) -> None:
    scene = c.build_scene(str(shared_dir / "tracks" / f"{name}.npy"))
    # two poses per track: one along the road, one looking across the field at the walls
    d = np.concatenate([difference(scene, pose).ravel()
                        for _, pose in poses_for(scene.track, (1, 4))])
    assert np.abs(d).mean() < 0.8
    assert (np.abs(d) > 8).mean() < 0.012
    assert abs(d.mean()) < 0.6


def test_a_box_matches_the_reference() -> None:
    x = np.arange(0.0, 30.0 + 1e-9, 0.5)
    hw = 0.5334
    straight = np.stack([x, 0 * x, x, 0 * x + hw, x, 0 * x - hw], axis=1)
    scene = c.build_scene(straight, replace(c.TRACKGEN_STYLE, start_line=False))
    box = c.box_object(2.0 + c.CAMERA_X + 1.0, 0.0, 0.0, scene=scene)  # 1 m ahead of the lens
    d = difference(scene, (2.0, 0.0, 0.0), objects=box[None])
    assert np.abs(d).mean() < 0.8


def test_boxes_across_and_behind_the_lens_plane_match_the_reference() -> None:
    """A box beside the car that straddles the lens plane (0.15 m behind it to 0.25 m ahead,
    0.1-0.4 m to the left) and a box 1 m behind the car: the renderer clips the first at the lens
    plane for its screen rectangle and skips the second; the frame is still the exact one."""
    x = np.arange(0.0, 30.0 + 1e-9, 0.5)
    hw = 0.5334
    straight = np.stack([x, 0 * x, x, 0 * x + hw, x, 0 * x - hw], axis=1)
    scene = c.build_scene(straight, replace(c.TRACKGEN_STYLE, start_line=False))
    lens = 2.0 + c.CAMERA_X
    boxes = np.stack([c.box_object(lens + 0.05, 0.25, 0.0, scene=scene),
                      c.box_object(1.0, 0.0, 0.0, scene=scene)])
    d = difference(scene, (2.0, 0.0, 0.0), objects=boxes)
    assert np.abs(d).mean() < 0.8
    seen = fast_render(scene, (2.0, 0.0, 0.0), boxes)[0] != fast_render(scene, (2.0, 0.0, 0.0))[0]
    assert seen.sum() > 500 and np.nonzero(seen)[1].max() < c.IMAGE_WIDTH // 2
    rects = np.zeros((1, 2, 4), np.int64)  # what the render leaves in its scratch
    c.render_batch(*scene.arrays, np.array([(2.0, 0.0, 0.0)]),
                   c.nominal_params(scene, 1, grain=False), c.mount_table()[None],
                   np.zeros(1, np.int64), boxes[None], rects, np.ones(1, np.uint64),
                   np.zeros(1, np.int64), np.zeros((1, c.IMAGE_HEIGHT, c.IMAGE_WIDTH), np.uint8))
    rect = rects[0]
    assert rect[1, 0] > rect[1, 1]  # the box behind is not tested
    assert rect[0, 1] < c.IMAGE_WIDTH // 2  # the box beside: the left part of the frame only


if __name__ == "__main__":  # the figures of docs/camera.md: python tests/test_camera_reference.py
    from deepracer_sim.track import load_track

    shared = Path(__file__).resolve().parents[2] / "shared" / "tracks"
    for msaa in (1, 2, 3):
        rows = []
        for name in TRACKS:
            scene = c.build_scene(load_track(str(shared / f"{name}.npy")))
            for label, pose in poses_for(scene.track):
                d = difference(scene, pose, msaa)
                rows.append(d.ravel())
                print(f"msaa {msaa} {name:24s} {label:30s} mean|d| {np.abs(d).mean():5.3f} "
                      f"max {np.abs(d).max():3d} >8 {100 * (np.abs(d) > 8).mean():5.2f}% "
                      f"bias {d.mean():+.3f}", flush=True)
        d = np.concatenate(rows)
        print(f"ALL msaa {msaa}: mean|d| {np.abs(d).mean():.3f} max {np.abs(d).max()} >8 "
              f"{100 * (np.abs(d) > 8).mean():.3f}% >2 {100 * (np.abs(d) > 2).mean():.2f}% "
              f"bias {d.mean():+.3f}", flush=True)
