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

_JIT = dict(nogil=True, fastmath=True, cache=True, error_model="numpy", boundscheck=False)
_F0 = np.float32(0.0)
_HALF = np.float32(0.5)


@numba.njit(**_JIT)
def _wrap_row(out, alpha, near, light, strength):
    inv255 = np.float32(1.0 / 255.0)
    for x in range(alpha.shape[0]):
        k = strength * np.float32(alpha[x]) * inv255 * near[x]
        i = 3 * x
        for c in range(3):
            v = np.float32(out[i + c])
            out[i + c] = np.uint8(v + k * (np.float32(light[i + c]) - v) + _HALF)


@numba.njit(parallel=True, **_JIT)
def _wrap(out, alpha, near, light, strength):
    h, w = alpha.shape
    out2, light2 = out.reshape((h, w * 3)), light.reshape((h, w * 3))
    for y in numba.prange(h):
        _wrap_row(out2[y], alpha[y], near[y], light2[y], strength)


class LightWrap:
    """Wrap the backdrop's light round the subject's edge of a composite, in place.

    ``strength`` 0..1 is how far an edge pixel with backdrop all round it moves towards the
    backdrop's colour; ``radius`` (pixels) how far the light reaches in. Buffers are kept.
    """

    SCALE = 4

    def __init__(self, strength: float, radius: float) -> None:
        self.strength = float(strength)
        self.radius = float(radius)
        self._shape: tuple[int, int] | None = None

    def _allocate(self, h: int, w: int) -> None:
        self._shape = (h, w)
        self._near = np.empty((h, w), np.float32)
        self._light = np.empty((h, w, 3), np.uint8)

    def __call__(self, alpha: np.ndarray, backdrop: np.ndarray, out: np.ndarray) -> None:
        """``alpha`` (H, W) uint8 matte, ``backdrop`` and ``out`` (H, W, 3) BGR uint8; ``out`` is
        the composite of the keyed subject over ``backdrop`` and is changed in place."""
        if self.strength <= 0:
            return
        h, w = alpha.shape
        if self._shape != (h, w):
            self._allocate(h, w)
        size = (max(1, w // self.SCALE), max(1, h // self.SCALE))
        # Plain sampling is enough on the way down: the blur below is wider than a sample.
        clear = cv2.resize(alpha, size, interpolation=cv2.INTER_LINEAR).astype(np.float32)
        cv2.subtract(1.0, clear * (1 / 255), dst=clear)
        back = cv2.resize(backdrop, size, interpolation=cv2.INTER_LINEAR).astype(np.float32)
        sigma = max(self.radius / self.SCALE / 2, 0.5)
        near = cv2.GaussianBlur(clear, (0, 0), sigma)
        light = cv2.GaussianBlur(cv2.multiply(back, cv2.merge((clear, clear, clear))), (0, 0), sigma)
        cv2.divide(light, cv2.merge((near, near, near)) + 1e-3, dst=light)
        # Where no backdrop shows nearby ``near`` is 0 and the light does not matter.
        cv2.resize(near, (w, h), dst=self._near, interpolation=cv2.INTER_LINEAR)
        cv2.resize(light.astype(np.uint8), (w, h), dst=self._light, interpolation=cv2.INTER_LINEAR)
        _wrap(out, alpha, self._near, self._light, np.float32(self.strength))


def warm_up() -> None:
    """Compile (or load from the cache) the kernel on a tiny frame."""
    alpha = np.full((8, 8), 200, np.uint8)
    frame = np.zeros((8, 8, 3), np.uint8)
    LightWrap(0.5, 4)(alpha, frame, frame.copy())
