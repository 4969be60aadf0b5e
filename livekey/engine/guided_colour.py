"""Guided upsampling with a colour guide, for still images (He, Sun and Tang 2013, section 3.5; the
fast variant of He and Sun 2015).

The grey guide of :mod:`livekey.engine.guided` fits the mask against luma alone, so it cannot
follow an edge between two colours of about the same brightness (a light-grey shirt before an
orange sky). With the frame's three channels as the guide, each window's fit ``q = a . I + b``
solves a 3x3 system: several times the cost, which a still image can afford and the live path
does not pay. The fit is made on a low-resolution grid; ``a`` and ``b`` are scaled up and applied
to the full-resolution frame.
"""

from __future__ import annotations

import cv2
import numpy as np


def colour_fit(mask: np.ndarray, guide: np.ndarray, radius: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """The guided filter's coefficients: ``mask`` (h, w) float32 0..1 and ``guide`` (h, w, 3) float32
    BGR 0..1 on the same grid; ``radius`` in grid pixels, ``eps`` a colour variance (how strong an
    edge must be to be followed). Returns ``a`` (h, w, 3) and ``b`` (h, w), window-averaged."""
    ksize = (2 * radius + 1, 2 * radius + 1)

    def box(img: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(img, -1, ksize)

    mean_i, mean_p = box(guide), box(mask)
    cov_ip = box(guide * mask[..., None]) - mean_i * mean_p[..., None]
    var = np.empty(guide.shape[:2] + (3, 3), np.float32)
    for i in range(3):
        for j in range(i, 3):
            var[..., i, j] = var[..., j, i] = box(guide[..., i] * guide[..., j]) - mean_i[..., i] * mean_i[..., j]
    var += np.float32(eps) * np.eye(3, dtype=np.float32)
    a = np.linalg.solve(var, cov_ip[..., None])[..., 0].astype(np.float32)
    b = mean_p - np.einsum("hwc,hwc->hw", a, mean_i)
    return box(a), box(b)


def colour_apply(frame: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out`` (H, W) uint8 = 255 (a . I + b) with ``a``, ``b`` scaled up bilinearly from their grid
    and I the (H, W, 3) BGR ``frame`` in 0..1; one channel at a time, so the peak is a few
    full-size float planes."""
    size = out.shape[::-1]
    q = cv2.resize(b, size, interpolation=cv2.INTER_LINEAR)
    for c, channel in enumerate(cv2.split(frame)):
        coef = cv2.resize(np.ascontiguousarray(a[..., c]), size, interpolation=cv2.INTER_LINEAR)
        q += coef * channel.astype(np.float32) * np.float32(1 / 255)
    np.clip(q * np.float32(255) + np.float32(0.5), 0, 255, out=q)
    np.copyto(out, q, casting="unsafe")
    return out


def colour_upsample(mask: np.ndarray, guide: np.ndarray, frame: np.ndarray, out: np.ndarray,
                    radius: int = 8, eps: float = 1e-3) -> np.ndarray:
    """``mask`` (h, w) float32 0..1 scaled up to ``out`` (H, W) uint8, its edges following the colour
    edges of ``frame`` (H, W, 3) BGR; ``guide`` is the frame on the mask's grid (h, w, 3) uint8."""
    a, b = colour_fit(mask, guide.astype(np.float32) * np.float32(1 / 255), radius, eps)
    return colour_apply(frame, a, b, out)
