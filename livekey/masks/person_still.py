"""The person layer on one still image (the ``still`` field; ``livekey key`` sets it): no frame budget,
so it spends more model passes and a costlier scale-up than the live path.

- **Mirror averaging** (test-time augmentation): each model runs on the picture and on its mirror
  image, and the two probabilities are averaged (the second mirrored back). The model is not
  exactly symmetric; averaging takes out part of its error where the two disagree.
- **The crop at once, at two scales**: the whole frame finds the person, the square model runs on a
  square around it (the live layer's :class:`~livekey.masks.person_crop.CropTracker`, so the same
  rules decide when there is no usable square) and on 2x2 overlapping tiles of it at 1.5 times the
  resolution; the two are averaged on a grid that holds the square at up to twice the model's
  resolution.
- **A colour-guided scale-up** at full resolution (:mod:`livekey.engine.guided_colour`): the mask's
  edge follows colour edges the luma-guided live scale-up cannot see.

No temporal state: the same picture gives the same mask every time it is keyed. Measured on real
photos in ``docs/person.md`` (Quality), against the alternatives that did not pay there.
"""

from __future__ import annotations

import cv2
import numpy as np

from livekey.engine.guided_colour import colour_upsample
from livekey.masks import person_model
from livekey.masks.layer import MaskLayer
from livekey.masks.merge import feather_invert
from livekey.masks.person import ModelInput
from livekey.masks.person_crop import CropTracker, bounding_box

GRID = 512  # px: the most the model's square (or the whole frame) spans on the fitting grid
RADIUS = 4  # the colour-guided fit's window radius, in grid pixels
EPS = 1e-3  # its regularisation (a colour variance, BGR in 0..1)
# The side of each of the 2x2 tiles over the square's: the model at 1.5 times the resolution, and
# each tile still sees most of the person (at half the side, tiles lose the context and the mask).
TILE = 2 / 3


def mirrored(model: ModelInput, bgr: np.ndarray) -> np.ndarray:
    """``model`` on ``bgr`` averaged with its run on the mirror image (mirrored back): the person
    probability at the model's size."""
    p = np.array(model.run(bgr), np.float32)
    q = model.run(cv2.flip(bgr, 1))
    return (p + q[:, ::-1]) * np.float32(0.5)


class StillPersonBinding:
    """A person layer keying still images of one size: every call a fresh, full-effort mask."""

    def __init__(self, layer: MaskLayer, width: int, height: int) -> None:
        self.layer = layer
        self.whole = ModelInput(person_model.choose_model(layer.model, width, height), layer.runtime)
        self.square = ModelInput("square", layer.runtime) if layer.crop else None
        self.crop: tuple[int, int, int, int] | None = None  # the last square, frame pixels
        self._raw = np.empty((height, width), np.uint8)
        self._buf = np.empty((height, width), np.uint8)

    def find_crop(self, frame: np.ndarray) -> np.ndarray:
        """The whole frame's probability (model size); sets :attr:`crop` (None: the whole frame)."""
        whole = mirrored(self.whole, frame)
        h, w = frame.shape[:2]
        box = bounding_box(whole)
        self.crop = None
        if self.square is not None and box is not None:
            sx, sy = w / whole.shape[1], h / whole.shape[0]
            tracker = CropTracker(w, h)
            tracker.update((box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy), whole=True)
            self.crop = tracker.crop
        return whole

    def probability(self, frame: np.ndarray) -> np.ndarray:
        """The person probability on the fitting grid (float32 0..1): the square model's on the crop
        (zero outside it), or the whole frame's."""
        whole = self.find_crop(frame)
        h, w = frame.shape[:2]
        side = max(w, h) if self.crop is None else self.crop[2] - self.crop[0]
        g = min(1.0, GRID / side)
        size = (max(8, round(w * g)), max(8, round(h * g)))
        if self.crop is None:
            return cv2.resize(whole, size, interpolation=cv2.INTER_LINEAR)
        gs = min(round(side * g), *size)  # the square on the grid, kept inside it
        gx, gy = min(round(self.crop[0] * g), size[0] - gs), min(round(self.crop[1] * g), size[1] - gs)
        prob = np.zeros(size[::-1], np.float32)
        prob[gy:gy + gs, gx:gx + gs] = self.square_probability(frame, gs)
        return prob

    def square_probability(self, frame: np.ndarray, size: int) -> np.ndarray:
        """The square model on :attr:`crop`, (size, size) float32: the mean of its run on the whole
        square and of its runs on 2x2 overlapping tiles (:data:`TILE`) at 1.5 times the resolution."""
        x0, y0, x1, _ = self.crop
        side, tile, small = x1 - x0, round(TILE * (x1 - x0)), round(TILE * size)
        whole = cv2.resize(mirrored(self.square, frame[y0:y0 + side, x0:x1]), (size, size))
        tiles, count = np.zeros_like(whole), np.zeros_like(whole)
        for fx, fy in ((0, 0), (1, 0), (0, 1), (1, 1)):  # the corners: every pixel in one tile or more
            tx, ty = x0 + fx * (side - tile), y0 + fy * (side - tile)
            gx, gy = fx * (size - small), fy * (size - small)
            part = mirrored(self.square, frame[ty:ty + tile, tx:tx + tile])
            tiles[gy:gy + small, gx:gx + small] += cv2.resize(part, (small, small), interpolation=cv2.INTER_LINEAR)
            count[gy:gy + small, gx:gx + small] += 1.0
        return (whole + tiles / count) * np.float32(0.5)

    def mask(self, frame: np.ndarray, fg: np.ndarray) -> np.ndarray:
        prob = self.probability(frame)
        guide = cv2.resize(frame, prob.shape[::-1], interpolation=cv2.INTER_AREA)
        colour_upsample(prob, guide, frame, self._raw, RADIUS, EPS)
        return feather_invert(self._raw, self.layer.feather, self.layer.invert, self._buf)
