"""Matte operations, edge refinement and temporal stability."""

import cv2
import numpy as np
import pytest

from livekey import matte, quality, synthetic
from livekey.keyer import Keyer
from livekey.settings import Settings


def _disc(size=41, radius=10):
    yy, xx = np.mgrid[0:size, 0:size]
    return np.where((yy - size // 2) ** 2 + (xx - size // 2) ** 2 <= radius**2, 255, 0).astype(np.uint8)


def test_clip_levels():
    a = np.array([[0, 20, 128, 240, 255]], np.uint8)
    matte.clip_levels(a, matte.levels_table(0.1, 0.9))
    assert a[0, 0] == 0 and a[0, 1] == 0 and a[0, 3] == 255 and 120 < a[0, 2] < 136


def test_grow_and_shrink_are_sub_pixel():
    base = _disc()
    areas = []
    for px in (-1.0, -0.5, 0.0, 0.5, 1.0):
        a = base.copy()
        matte.grow(a, px, np.empty_like(a))
        areas.append(a.astype(float).sum())
    assert all(x < y for x, y in zip(areas, areas[1:], strict=False)), areas


def test_fill_holes_closes_small_holes_only():
    a = np.full((40, 40), 255, np.uint8)
    a[10:13, 10:13] = 0  # a 3 px hole
    a[:, 30:] = 0  # the screen beside the subject stays
    matte.fill_holes(a, 7, np.empty_like(a))
    assert a[10:13, 10:13].min() == 255 and a[:, 32:].max() == 0


def test_soften_blurs_the_edge():
    a = _disc()
    matte.soften(a, 3.0)
    assert ((a > 0) & (a < 255)).sum() > 40


def test_status_view_three_colours():
    v = matte.status_view(np.array([[0, 128, 255]], np.uint8))
    assert v[0, 0].tolist() == [0, 0, 0] and v[0, 2].tolist() == [255, 255, 255] and v[0, 1].tolist() == [0, 0, 220]


@pytest.mark.parametrize("scene", ["portrait", "blue", "teal"])
def test_edge_refinement_improves_edge_alpha(scene):
    f = synthetic.scene(scene, 320, 180)
    band = quality.Regions.of(f.alpha).edge
    errors = []
    for refine in (False, True):
        a = Keyer(Settings(refine=refine)).matte(f.image)[0].astype(np.float32) / 255
        errors.append(np.abs(a - f.alpha)[band].mean())
    assert errors[1] < 0.9 * errors[0], errors


def test_matte_settings_run_staged_path():
    f = synthetic.scene("portrait", 160, 90)
    k = Keyer(Settings(grow=-2.0))
    shrunk = k.matte(f.image)[0].astype(int).sum()
    plain = Keyer().matte(f.image)[0].astype(int).sum()
    assert len(k.stages) == 3 and shrunk < plain  # grow, recover colour, edge colour


def test_temporal_stability_halves_still_flicker_without_trails():
    r = quality.temporal_report("portrait")
    assert r["stabilised_dt_still"] <= 0.5 * r["frame_by_frame_dt_still"], r
    assert r["stabilised_moving_edge_mae"] <= r["frame_by_frame_moving_edge_mae"] + 0.005, r


def test_edge_colour_comes_from_the_solid_foreground_nearby():
    alpha = np.zeros((40, 40), np.uint8)
    alpha[:, :16] = 255
    alpha[:, 16:20] = 128  # the soft edge
    fg = np.zeros((40, 40, 3), np.uint8)
    fg[:, :16] = (30, 60, 200)  # the subject's colour
    fg[:, 16:20] = (40, 160, 90)  # its edge, smeared with the green screen
    before = fg.copy()
    matte.ForegroundEstimator(radius=1)(alpha, fg)
    assert np.abs(fg[:, 16:20].astype(int) - (30, 60, 200)).max() <= 2, fg[0, 12:24]
    assert (fg[:, :16] == before[:, :16]).all()  # solid interior kept
    assert (fg[:, 20:] == before[:, 20:]).all()  # transparent pixels kept


def test_edge_colour_leaves_pixels_far_from_solid_as_they_are():
    alpha = np.full((40, 40), 115, np.uint8)  # a pane of glass: soft everywhere, nothing solid
    fg = np.random.default_rng(0).integers(0, 255, (40, 40, 3), dtype=np.uint8)
    before = fg.copy()
    matte.ForegroundEstimator()(alpha, fg)
    assert (fg == before).all()


@pytest.mark.parametrize("scene", ["olive", "blue", "teal"])
def test_edge_colour_lowers_edge_error(scene):
    f = synthetic.scene(scene, 640, 360)
    back = synthetic.backdrop(640, 360)
    truth = synthetic.truth_composite(f, back)
    regions = quality.Regions.of(f.alpha)
    plain = quality.score(*quality.livekey_key(f.image, back, Settings(edge_color=False)), truth, regions)
    edged = quality.score(*quality.livekey_key(f.image, back, Settings(edge_color=True)), truth, regions)
    assert edged.edge < 0.95 * plain.edge, (plain, edged)


def test_edge_refinement_does_not_raise_leaks():
    f = synthetic.scene("blond", 320, 180)
    clear = quality.Regions.of(f.alpha).clear
    a = Keyer(Settings(refine=True)).matte(f.image)[0]
    b = Keyer(Settings()).matte(f.image)[0]
    assert (a[clear] > 25).mean() <= (b[clear] > 25).mean() + 0.001


def test_guided_upsample_puts_the_mask_edge_on_the_picture_edge():
    from livekey.matte import GuidedUpsampler

    frame = np.zeros((96, 128, 3), np.uint8)
    frame[:, 53:] = 200  # the picture's edge at x = 53
    small = np.zeros((24, 32), np.uint8)
    small[:, 14:] = 255  # a coarse mask whose edge lands at x = 56 when scaled up
    small = cv2.GaussianBlur(small, (0, 0), 1.0)
    out = np.empty((96, 128), np.uint8)
    GuidedUpsampler()(small, frame, out)
    row = out[48].astype(int)
    assert row[:53].max() < 10 and row[53:].min() > 150  # one step, on the picture's edge
    bilinear = cv2.resize(small, (128, 96), interpolation=cv2.INTER_LINEAR)[48].astype(int)
    assert ((bilinear > 10) & (bilinear < 150)).sum() >= 6  # where plain scaling leaves a soft ramp


def test_segment_layer_is_guided_by_default():
    from livekey.masks import MaskLayer

    assert MaskLayer("segment", model="m.onnx").guided is True


def test_edge_refinement_recovers_the_colour_of_the_pixels_it_changed():
    """Refinement alone recovers colour in its band: the same foreground as a full-frame recovery."""
    from livekey import keying

    f = synthetic.scene("portrait", 320, 180)
    k = Keyer(Settings())
    k.matte(f.image)  # settles the key colour and the screen
    h, w = f.alpha.shape
    alpha, fg = np.empty((h, w), np.uint8), np.empty((h, w, 3), np.uint8)
    keying.key_frame(f.image, k.screen, k.params, alpha, fg)
    keyed = alpha.copy()
    matte.EdgeRefiner()(f.image, k.screen, alpha, fg, k.params)
    full_alpha, full_fg = keyed.copy(), np.empty_like(fg)
    matte.EdgeRefiner()(f.image, k.screen, full_alpha)
    keying.recover_foreground(f.image, k.screen, full_alpha, k.params, full_fg)
    assert (alpha != keyed).sum() > 100  # the refinement changed the edge
    assert (alpha == full_alpha).all()
    assert np.abs(fg.astype(int) - full_fg).max() <= 1
