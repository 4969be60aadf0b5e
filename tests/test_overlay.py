"""Alpha in and out: overlay over the composite, compositing over RGBA backdrops, premultiplied scaling."""

import numpy as np
import pytest

from livekey.engine import overlay


def straight_over(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """Porter-Duff over of straight-alpha BGRA floats (0..255), the reference."""
    at, ab = top[..., 3:] / 255, bottom[..., 3:] / 255
    ar = at + ab * (1 - at)
    colour = (top[..., :3] * at + bottom[..., :3] * ab * (1 - at)) / np.maximum(ar, 1e-9)
    return np.concatenate([np.where(ar > 0, colour, 0), ar * 255], axis=2)


@pytest.fixture
def images():
    rng = np.random.default_rng(5)
    top = rng.integers(0, 256, (6, 7, 4), dtype=np.uint8)
    top[0, :, 3], top[1, :, 3] = 0, 255
    bottom = rng.integers(0, 256, (6, 7, 4), dtype=np.uint8)
    return top, bottom


def test_overlay_on_a_bgr_frame(images):
    top, bottom = images
    out = np.ascontiguousarray(bottom[..., :3])
    expected = top[..., :3] * (top[..., 3:] / 255) + out * (1 - top[..., 3:] / 255)
    overlay.overlay_rgba(out, top)
    assert np.abs(out - expected).max() <= 0.51
    assert np.array_equal(out[0], bottom[0, :, :3]) and np.array_equal(out[1], top[1, :, :3])


def test_overlay_on_a_bgra_frame_unions_alpha(images):
    top, bottom = images
    out = bottom.copy()
    overlay.overlay_rgba(out, top)
    expected = straight_over(top.astype(float), bottom.astype(float))
    visible = expected[..., 3] >= 8  # colour of nearly transparent pixels is ill-defined after rounding
    assert np.abs(out[..., 3] - expected[..., 3]).max() <= 0.51
    assert np.abs(out[visible][:, :3] - expected[visible][:, :3]).max() <= 1.0


def test_composite_over_rgba_backdrop(images):
    top, bottom = images
    fg, alpha = np.ascontiguousarray(top[..., :3]), np.ascontiguousarray(top[..., 3])
    bottom[2, :, 3] = 0  # a transparent row of backdrop: only the subject remains there
    out = overlay.composite_over_rgba(fg, alpha, bottom)
    assert np.array_equal(out[2, :, 3], alpha[2])
    expected = straight_over(top.astype(float), bottom.astype(float))
    assert np.abs(out[..., 3] - expected[..., 3]).max() <= 0.51


def test_bad_arrays_are_refused(images):
    top, bottom = images
    with pytest.raises(ValueError, match="overlay"):
        overlay.overlay_rgba(np.zeros((6, 7, 3), np.uint8), top[:3])


def test_fit_overlay_has_no_dark_fringe():
    """Opaque red next to transparent black: a straight-alpha resize would darken the edge."""
    img = np.zeros((40, 40, 4), np.uint8)
    img[:, :20] = (0, 0, 255, 255)
    small = overlay.fit_overlay(img, 15, 15)
    edge = (small[..., 3] > 20) & (small[..., 3] < 235)
    assert edge.any() and small[edge][:, 2].min() >= 250 and small[edge][:, :2].max() <= 3
