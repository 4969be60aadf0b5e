"""Light wrap: the new backdrop's light bleeding round the subject's edge in the composite.

A subject really standing in front of a bright window is rimmed by its light; one keyed over a
backdrop is not, and looks cut out. Light wrap blends the subject's edge, just inside it, towards
the backdrop's colour nearby: ``C = C + k (L - C)`` with ``L`` the backdrop's light around the
pixel (a blur of the backdrop where it shows) and ``k = strength * alpha * (share of backdrop
within radius)``. Pixels the backdrop fully shows (alpha 0) are not touched, so the backdrop
itself stays sharp. The blurs run at quarter size: light wrap is a soft effect.
"""

from __future__ import annotations

import cv2
import numba
import numpy as np

from livekey.engine.keying import JIT

_F0 = np.float32(0.0)
_F1 = np.float32(1.0)
_HALF = np.float32(0.5)
_K3 = np.ones((3, 3), np.uint8)


@numba.njit(parallel=True, **JIT)
def _wrap(out, alpha, active, near, light, strength, scale):
    """Blend ``out`` towards ``light`` by ``strength * alpha * near`` in the blocks marked in
    ``active``; ``near`` (h, w) and ``light`` (h, w, 3) are at 1/``scale`` size, sampled
    bilinearly as cv2.resize places them."""
    height, width = alpha.shape
    sh, sw = active.shape
    inv = np.float32(1.0 / scale)
    inv255 = np.float32(1.0 / 255.0)
    for j in numba.prange(sh):
        y_end = height if j == sh - 1 else scale * j + scale
        for bx in range(sw):
            if active[j, bx] == 0:
                continue
            x_end = width if bx == sw - 1 else scale * bx + scale
            for y in range(scale * j, y_end):
                sy = min(max((np.float32(y) + _HALF) * inv - _HALF, _F0), np.float32(sh - 1))
                y0 = min(int(sy), sh - 2) if sh > 1 else 0
                fy = sy - np.float32(y0) if sh > 1 else _F0
                y1 = y0 + 1 if sh > 1 else 0
                for x in range(scale * bx, x_end):
                    a = np.float32(alpha[y, x])
                    if a == _F0:
                        continue
                    sx = min(max((np.float32(x) + _HALF) * inv - _HALF, _F0), np.float32(sw - 1))
                    x0 = min(int(sx), sw - 2) if sw > 1 else 0
                    fx = sx - np.float32(x0) if sw > 1 else _F0
                    x1 = x0 + 1 if sw > 1 else 0
                    w00, w01 = (_F1 - fy) * (_F1 - fx), (_F1 - fy) * fx
                    w10, w11 = fy * (_F1 - fx), fy * fx
                    k = strength * a * inv255 * (w00 * near[y0, x0] + w01 * near[y0, x1] + w10 * near[y1, x0]
                                                 + w11 * near[y1, x1])
                    for c in range(3):
                        lt = (w00 * light[y0, x0, c] + w01 * light[y0, x1, c] + w10 * light[y1, x0, c]
                              + w11 * light[y1, x1, c])
                        v = np.float32(out[y, x, c])
                        out[y, x, c] = np.uint8(v + k * (lt - v) + _HALF)


class LightWrap:
    """Wrap the backdrop's light round the subject's edge of a composite, in place.

    ``strength`` 0..1 is how far an edge pixel with backdrop all round it moves towards the
    backdrop's colour; ``radius`` (pixels) how far the light reaches in. The quarter-size working
    images are kept from frame to frame.
    """

    SCALE = 4

    def __init__(self, strength: float, radius: float) -> None:
        self.strength = float(strength)
        self.radius = float(radius)
        self._size: tuple[int, int] | None = None

    def _allocate(self, size: tuple[int, int]) -> None:
        self._size = size
        w, h = size
        self._cover, self._active, self._mask = (np.empty((h, w), np.uint8) for _ in range(3))
        self._clear, self._near = np.empty((h, w), np.float32), np.empty((h, w), np.float32)
        self._back = np.empty((h, w, 3), np.uint8)
        self._lit, self._near3 = np.empty((h, w, 3), np.float32), np.empty((h, w, 3), np.float32)
        self._light = np.empty((h, w, 3), np.float32)

    def __call__(self, alpha: np.ndarray, backdrop: np.ndarray, out: np.ndarray) -> None:
        """``alpha`` (H, W) uint8 matte, ``backdrop`` and ``out`` (H, W, 3) BGR uint8; ``out`` is
        the composite of the keyed subject over ``backdrop`` and is changed in place."""
        if self.strength <= 0:
            return
        h, w = alpha.shape
        size = (max(1, w // self.SCALE), max(1, h // self.SCALE))
        if self._size != size:
            self._allocate(size)
        cover, clear, near, light = self._cover, self._clear, self._near, self._light
        cv2.resize(alpha, size, dst=cover, interpolation=cv2.INTER_AREA)  # 0 only where a block is all clear
        np.multiply(cover, np.float32(-1 / 255), out=clear)
        clear += 1
        # Plain sampling is enough for the backdrop: the blur below is wider than a sample.
        cv2.resize(backdrop, size, dst=self._back, interpolation=cv2.INTER_LINEAR)
        cv2.merge((clear, clear, clear), dst=self._lit)
        cv2.multiply(self._back, self._lit, dst=self._lit, dtype=cv2.CV_32F)
        sigma = max(self.radius / self.SCALE / 2, 0.5)
        cv2.GaussianBlur(clear, (0, 0), sigma, dst=near)
        cv2.GaussianBlur(self._lit, (0, 0), sigma, dst=light)
        cv2.merge((near, near, near), dst=self._near3)
        cv2.add(self._near3, 1e-3, dst=self._near3)
        cv2.divide(light, self._near3, dst=light)
        # Only blocks with backdrop light nearby change (the subject's inner edge): the rest of the
        # frame is not visited. Where ``near`` is 0 the light does not matter.
        cv2.compare(near, 1 / 512, cv2.CMP_GT, dst=self._mask)
        cv2.dilate(self._mask, _K3, dst=self._active)
        cv2.compare(cover, 0, cv2.CMP_GT, dst=self._mask)
        cv2.bitwise_and(self._active, self._mask, dst=self._active)
        _wrap(out, alpha, self._active, near, light, np.float32(self.strength), self.SCALE)


def warm_up() -> None:
    """Compile (or load from the cache) the kernel on a tiny frame."""
    alpha = np.full((8, 8), 200, np.uint8)
    frame = np.zeros((8, 8, 3), np.uint8)
    LightWrap(0.5, 4)(alpha, frame, frame.copy())
