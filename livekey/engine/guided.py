"""Guided upsampling in one full-resolution pass: a low-resolution mask scaled up to the frame so its
edges follow the frame's own edges (the fast guided filter, He and Sun 2015).

The per-window linear fit ``q = a I + b`` of the mask against the luma is made at the mask's
resolution from a guide the caller already has (a few small box filters); ``a`` and ``b`` are
scaled up bilinearly, and one parallel kernel reads each full-resolution pixel's BGR, takes its
luma and writes the mask. :class:`~livekey.engine.matte.GuidedUpsampler` does the same from the
frame alone in about ten OpenCV passes.
"""

from __future__ import annotations

import cv2
import numba
import numpy as np

from livekey.engine.keying import JIT

# OpenCV's BGR2GRAY weights, over 255 so the luma is 0..1.
_WB, _WG, _WR = np.float32(0.114 / 255), np.float32(0.587 / 255), np.float32(0.299 / 255)


@numba.njit(**JIT)
def _guided_row(src, a, b, out):
    for x in range(out.shape[0]):
        luma = src[3 * x] * _WB + src[3 * x + 1] * _WG + src[3 * x + 2] * _WR
        q = (a[x] * luma + b[x]) * np.float32(255.0) + np.float32(0.5)
        out[x] = np.uint8(min(max(q, np.float32(0.0)), np.float32(255.0)))


@numba.njit(parallel=True, **JIT)
def guided_apply(frame, a, b, out):
    """``out`` (H, W) uint8 = 255 (a I + b), with ``a``, ``b`` (H, W) float32 and I the luma 0..1 of
    ``frame`` (H, W, 3) BGR."""
    h, w = out.shape
    f2 = frame.reshape((h, w * 3))
    for y in numba.prange(h):
        _guided_row(f2[y], a[y], b[y], out[y])


class FusedGuidedUpsampler:
    """``up(mask, guide, frame, out)``: ``mask`` (h, w) uint8 and ``guide`` (h, w) float32 luma 0..1 at
    low resolution, ``frame`` (H, W, 3) BGR; writes ``out`` (H, W) uint8. ``radius`` is in
    low-resolution pixels; ``eps`` (luma variance) sets how strong an edge must be to be followed.
    Buffers are kept per size; nothing full-size is allocated per call."""

    def __init__(self, radius: int = 2, eps: float = 1e-3) -> None:
        self.ksize = (2 * radius + 1, 2 * radius + 1)
        self.eps = np.float32(eps)
        self._size: tuple[int, int] | None = None

    def _prepare(self, height: int, width: int) -> None:
        self.big_a = np.empty((height, width), np.float32)
        self.big_b = np.empty((height, width), np.float32)
        self._size = (height, width)

    def __call__(self, mask: np.ndarray, guide: np.ndarray, frame: np.ndarray, out: np.ndarray) -> np.ndarray:
        height, width = out.shape
        if self._size != (height, width):
            self._prepare(height, width)
        p = mask.astype(np.float32) * np.float32(1 / 255)
        box = lambda img: cv2.boxFilter(img, -1, self.ksize)  # noqa: E731
        mean_i, mean_p = box(guide), box(p)
        var_i = box(guide * guide) - mean_i * mean_i
        a = (box(guide * p) - mean_i * mean_p) / (var_i + self.eps)
        b = mean_p - a * mean_i
        cv2.resize(box(a), (width, height), dst=self.big_a, interpolation=cv2.INTER_LINEAR)
        cv2.resize(box(b), (width, height), dst=self.big_b, interpolation=cv2.INTER_LINEAR)
        guided_apply(frame, self.big_a, self.big_b, out)
        return out
