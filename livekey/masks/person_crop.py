"""Where the person model looks: a square crop around the person, followed from frame to frame.

The whole-frame model sees a 16:9 frame at 256x144: a subject standing in a wide shot is 30-40 of
its pixels wide, and every edge error is a few frame pixels. Run on a square around the subject,
the square model gives it up to twice the pixels. :class:`CropTracker` keeps that square in the
coordinates of the layer's canvas (a fixed low-resolution grid of the frame): it is set from a
whole-frame run, moved only when the subject nears its edge or shrinks well inside it (a crop that
moved every frame would make the mask shimmer), and dropped when the subject is lost or too wide
for a square, so the whole frame is used again.
"""

from __future__ import annotations

import numpy as np

MARGIN = 1.15  # the square's side over the subject's longer side
NEAR_EDGE = 0.04  # of the side: a subject this close to an edge the frame does not end at moves the square
SHRUNK = 0.6  # a subject smaller than this share of the square gets a smaller square
MIN_SIDE = 32  # canvas pixels


def bounding_box(prob: np.ndarray, threshold: float = 0.5) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1), end-exclusive, of the pixels at or above ``threshold``; None if there are none."""
    rows = np.flatnonzero((prob >= threshold).any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero((prob >= threshold).any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


class CropTracker:
    """The square crop (x0, y0, x1, y1) in a ``width`` x ``height`` canvas, or None for the whole frame."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.crop: tuple[int, int, int, int] | None = None

    def update(self, box: tuple[float, float, float, float] | None, whole: bool = False) -> None:
        """Follow the subject's box (canvas coordinates): keep, move or drop the square. ``whole``: the
        box is from a whole-frame run, coarser than the crop's own, so it moves the square only when
        it leaves it (a second person, a subject lost to a fast move); its looser outline would
        otherwise set the square back every time and the mask would jump."""
        if whole and self.crop is not None and box is not None and self._holds(box):
            return
        if box is None:
            self.crop = None
            return
        x0, y0, x1, y1 = box
        limit = min(self.width, self.height)
        if max(x1 - x0, y1 - y0) > limit:  # wider than a square the frame can hold: the whole frame
            self.crop = None
            return
        if self.crop is not None and not self._should_move(box):
            return
        side = int(round(min(max(MIN_SIDE, MARGIN * max(x1 - x0, y1 - y0)), limit)))
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        left = int(round(min(max(cx - side / 2, 0), self.width - side)))
        top = int(round(min(max(cy - side / 2, 0), self.height - side)))
        self.crop = (left, top, left + side, top + side)

    def _holds(self, box: tuple[float, float, float, float]) -> bool:
        cx0, cy0, cx1, cy1 = self.crop
        gap = NEAR_EDGE * (cx1 - cx0)
        return box[0] >= cx0 - gap and box[1] >= cy0 - gap and box[2] <= cx1 + gap and box[3] <= cy1 + gap

    def _should_move(self, box: tuple[float, float, float, float]) -> bool:
        cx0, cy0, cx1, cy1 = self.crop
        side = cx1 - cx0
        gap = NEAR_EDGE * side
        near = ((box[0] < cx0 + gap and cx0 > 0) or (box[1] < cy0 + gap and cy0 > 0)
                or (box[2] > cx1 - gap and cx1 < self.width) or (box[3] > cy1 - gap and cy1 < self.height))
        shrunk = MARGIN * max(box[2] - box[0], box[3] - box[1]) < SHRUNK * side
        return near or shrunk
