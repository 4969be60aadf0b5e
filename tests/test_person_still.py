"""Person mode on still images (``still=true``, what ``livekey key`` runs): the model on the picture
and its mirror image, the crop and its tiles, the colour-guided scale-up; and the live path left
as it was (one model run a frame, the live binding).

The real model runs (CI installs it); the pictures are livekey's drawn person (see test_person.py).
"""

import cv2
import numpy as np
import pytest

from livekey.cli import main
from livekey.config.settings import Settings
from livekey.engine.guided import FusedGuidedUpsampler
from livekey.engine.guided_colour import colour_upsample
from livekey.engine.keyer import Keyer
from livekey.masks import LAYER_TYPES, MaskLayer, MaskStack, parse_mask_spec, person, person_still
from tests.test_person import H, W, inside_outside, small_person_picture


class Counted:
    """A model input that counts its runs and keeps the pictures it was given (the real model runs)."""

    def __init__(self, model: person.ModelInput) -> None:
        self.model, self.seen = model, []

    def run(self, bgr: np.ndarray) -> np.ndarray:
        self.seen.append(bgr.copy())
        return self.model.run(bgr)


@pytest.fixture(scope="module")
def small():
    return small_person_picture()


def test_mirror_averaging_is_mirror_symmetric(small):
    frame, _ = small
    model = person.ModelInput("square", "auto")
    a = person_still.mirrored(model, frame)
    b = person_still.mirrored(model, cv2.flip(frame, 1))
    # Averaged with its mirror run, the result for the mirror image is the mirror of the result
    # (within float rounding); one run alone is not (the model is not symmetric).
    assert np.abs(a[:, ::-1] - b).max() < 1e-4
    single = model.run(frame).copy()
    assert np.abs(single[:, ::-1] - model.run(cv2.flip(frame, 1))).max() > 0.05


def test_the_still_mode_runs_the_model_on_crop_mirror_and_tiles(small):
    frame, alpha = small
    bound = LAYER_TYPES["person"].bind(MaskLayer("person", still=True), W, H, np.zeros((H, W), np.uint8), True)
    assert isinstance(bound, person_still.StillPersonBinding)
    bound.whole, bound.square = Counted(bound.whole), Counted(bound.square)
    mask = bound.mask(frame, frame)
    assert len(bound.whole.seen) == 2  # the frame and its mirror
    assert np.array_equal(bound.whole.seen[1], cv2.flip(bound.whole.seen[0], 1))
    assert len(bound.square.seen) == 2 + 4 * 2  # the square, then 2x2 tiles, each mirrored too
    x0, y0, x1, y1 = bound.crop
    side = x1 - x0
    assert bound.square.seen[0].shape[:2] == (side, side)
    assert all(s.shape[:2] == (round(side * 2 / 3),) * 2 for s in bound.square.seen[2:])
    ys, xs = np.nonzero(alpha >= 0.5)
    assert x0 <= xs.min() and x1 >= xs.max() and y0 <= ys.min()
    inside, outside = inside_outside(alpha)
    assert mask[inside].mean() > 0.6 * 255 and mask[outside].mean() < 0.15 * 255
    # A second call gives the same mask: no temporal state on a still.
    assert np.array_equal(bound.mask(frame, frame), mask)


def test_the_still_mode_without_a_crop_and_on_a_big_frame(small):
    frame, alpha = small
    size = (1920, 1080)  # the crop is then wider than the fitting grid: fitted smaller, applied full size
    big, big_alpha = cv2.resize(frame, size), cv2.resize(alpha, size)
    inside, outside = inside_outside(big_alpha)
    # The whole frame alone finds this small drawn person less surely (about 0.43 inside).
    for layer, found in ((MaskLayer("person", still=True), 0.6), (MaskLayer("person", still=True, crop=False), 0.35)):
        bound = person_still.StillPersonBinding(layer, *size)
        mask = bound.mask(big, big)
        assert mask.shape == (1080, 1920)
        assert mask[inside].mean() > found * 255 and mask[outside].mean() < 0.15 * 255
        assert bound.probability(big).shape[1] < 1920 and (bound.crop is None) == (not layer.crop)
    assert bound.crop is None  # crop=false: the whole frame only
    full = person_still.StillPersonBinding(MaskLayer("person", still=True), *size)
    full.mask(big, big)
    assert full.crop[2] - full.crop[0] > person_still.GRID


def test_the_colour_guide_follows_an_edge_the_luma_cannot_see():
    # Left half orange, right half a grey of the same luma; the mask's edge blurred across 24 px.
    h, w, edge = 64, 128, 64
    frame = np.empty((h, w, 3), np.uint8)
    frame[:, :edge] = (0, 128, 255)  # BGR orange
    luma = int(round(0.114 * 0 + 0.587 * 128 + 0.299 * 255))
    frame[:, edge:] = luma
    assert abs(int(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)[0, 0]) - luma) <= 1
    soft = np.clip((edge + 12 - np.arange(w, dtype=np.float32)) / 24, 0, 1)  # 1 on the left
    mask = np.tile(soft, (h, 1))
    small = cv2.resize(mask, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    guide = cv2.resize(frame, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    colour = colour_upsample(small, guide, frame, np.empty((h, w), np.uint8), radius=4, eps=1e-3)
    grey_luma = cv2.cvtColor(guide, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255
    grey = FusedGuidedUpsampler(radius=4)(np.round(small * 255).astype(np.uint8), grey_luma, frame,
                                          np.empty((h, w), np.uint8))
    row_c, row_g = colour[h // 2].astype(int), grey[h // 2].astype(int)
    # The colour guide puts a step into the mask at the colour boundary (a jump of about 90 levels
    # between two neighbouring pixels); the luma guide sees no boundary and leaves the even ramp
    # (about 10 levels a pixel).
    assert row_c[edge - 1] - row_c[edge] > 60 and row_g[edge - 1] - row_g[edge] < 15
    assert row_c[:edge].min() > row_c[edge:].max()


def test_for_stills_sets_still_on_person_layers_only():
    stack = MaskStack((MaskLayer("key"), *parse_mask_spec("person@intersect"), MaskLayer("person", still=True)))
    still = person.for_stills(stack)
    assert [layer.type for layer in still] == [layer.type for layer in stack]
    assert [getattr(layer, "still", None) for layer in still] == [None, True, True]
    assert still[1].mode == "intersect" and still[0] == stack[0]
    assert person.for_stills(still) == still
    assert person.for_stills(MaskStack()) == MaskStack()


def test_key_runs_the_still_mode(small, tmp_path, capsys):
    frame, _ = small
    src, out = tmp_path / "photo.png", tmp_path / "out.png"
    cv2.imwrite(str(src), frame)
    assert main(["key", str(src), "--person", "-o", str(out)]) == 0
    written = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)[..., 3]
    image = cv2.imread(str(src))
    still = person_still.StillPersonBinding(MaskLayer("person", still=True), W, H).mask(image, image)
    live = person.PersonBinding(MaskLayer("person"), W, H).mask(image, image)
    assert np.abs(written.astype(int) - still).max() <= 1
    assert np.abs(written.astype(int) - live).mean() > 1  # and the two modes do differ here
    assert "no colour key" in capsys.readouterr().out


def test_the_live_path_runs_the_model_once_a_frame(small):
    frame, _ = small
    keyer = Keyer(Settings(person=True))
    assert not any(getattr(layer, "still", False) for layer in keyer.stack)
    live = person.PersonBinding(MaskLayer("person"), W, H)
    runs = {"whole": Counted(live.whole), "square": Counted(live.square)}
    live.whole, live.square = runs["whole"], runs["square"]
    for _ in range(3):
        expected = live.mask(frame, frame).copy()
        assert np.array_equal(keyer.matte(frame)[0], expected)  # the keyer runs the live binding
    # The first frame finds the person on the whole frame and runs the crop; then the crop alone.
    assert len(runs["whole"].seen) == 1 and len(runs["square"].seen) == 3
