"""Alpha in and out: a foreground overlay above the composite, and compositing over RGBA backdrops.

All images are straight (not premultiplied) alpha, BGR(A) uint8, as PNG files hold them.

* :func:`overlay_rgba` puts an RGBA overlay (a logo, a lower third, a desk in front of the
  presenter) over the composite: ``C = O a_o + C (1 - a_o)`` on a BGR frame; on a BGRA frame
  the Porter-Duff *over*, below.
* :func:`composite_over_rgba` blends the keyed foreground over an RGBA backdrop. The result's
  alpha is the union of the two, ``a = a_f + a_b (1 - a_f)``, and its colour
  ``(F a_f + B a_b (1 - a_f)) / a``: where the backdrop is transparent only the subject remains,
  so a partly transparent backdrop yields an RGBA output (PNG, QuickTime Animation, VP9 alpha).
* :func:`fit_overlay` scales an RGBA image to the frame in premultiplied space, so transparent
  pixels' (meaningless) colour does not bleed into the visible edge as a dark or coloured fringe.
"""

from __future__ import annotations

import numba
import numpy as np

from livekey.engine.keying import JIT
from livekey.media.images import fit_cover

_F1 = np.float32(1.0)
_HALF = np.float32(0.5)
_INV255 = np.float32(1.0 / 255.0)


@numba.njit(**JIT)
def _over_bgr_row(ov, dst):
    for x in range(dst.shape[0] // 3):
        a = np.float32(ov[4 * x + 3]) * _INV255
        for c in range(3):
            dst[3 * x + c] = np.uint8(np.float32(ov[4 * x + c]) * a + np.float32(dst[3 * x + c]) * (_F1 - a) + _HALF)


@numba.njit(**JIT)
def _over_bgra_row(top, top_alpha, bottom, dst):
    for x in range(top_alpha.shape[0]):
        at = np.float32(top_alpha[x]) * _INV255
        ab = np.float32(bottom[4 * x + 3]) * _INV255 * (_F1 - at)
        ar = at + ab
        inv = _F1 / max(ar, _INV255 * _HALF)
        for c in range(3):
            v = (np.float32(top[3 * x + c]) * at + np.float32(bottom[4 * x + c]) * ab) * inv
            dst[4 * x + c] = np.uint8(min(v, np.float32(255.0)) + _HALF)
        dst[4 * x + 3] = np.uint8(ar * np.float32(255.0) + _HALF)


@numba.njit(parallel=True, **JIT)
def _over_bgr(overlay, out):
    h, w = out.shape[0], out.shape[1]
    ov2, out2 = overlay.reshape((h, w * 4)), out.reshape((h, w * 3))
    for y in numba.prange(h):
        _over_bgr_row(ov2[y], out2[y])


@numba.njit(parallel=True, **JIT)
def _over_bgra(top, top_alpha, bottom, out):
    h, w = top_alpha.shape
    t2, b2, o2 = top.reshape((h, w * 3)), bottom.reshape((h, w * 4)), out.reshape((h, w * 4))
    for y in numba.prange(h):
        _over_bgra_row(t2[y], top_alpha[y], b2[y], o2[y])


def _check(name: str, arr: np.ndarray, shape: tuple[int, ...]) -> None:
    if arr.shape != shape or arr.dtype != np.uint8 or not arr.flags.c_contiguous:
        raise ValueError(f"{name}: expected contiguous uint8 {shape}, got {arr.dtype} {arr.shape}")


def overlay_rgba(out: np.ndarray, overlay: np.ndarray) -> np.ndarray:
    """Put the straight-alpha ``overlay`` (H, W, 4) over ``out`` in place and return ``out``.

    ``out`` is a BGR (H, W, 3) frame, or a straight-alpha BGRA (H, W, 4) one (alpha = union).
    """
    h, w = out.shape[:2]
    _check("overlay", overlay, (h, w, 4))
    if out.shape[2] == 3:
        _check("out", out, (h, w, 3))
        _over_bgr(overlay, out)
    else:
        _check("out", out, (h, w, 4))
        _over_bgra(np.ascontiguousarray(overlay[..., :3]), np.ascontiguousarray(overlay[..., 3]), out, out)
    return out


def composite_over_rgba(fg: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray,
                        out: np.ndarray | None = None) -> np.ndarray:
    """Blend the straight-alpha foreground ``fg`` (H, W, 3) with ``alpha`` (H, W) over the BGRA
    ``backdrop`` (H, W, 4) into ``out`` (H, W, 4); result alpha is the union of both."""
    h, w = alpha.shape
    if out is None:
        out = np.empty((h, w, 4), np.uint8)
    _check("fg", fg, (h, w, 3))
    _check("alpha", alpha, (h, w))
    _check("backdrop", backdrop, (h, w, 4))
    _check("out", out, (h, w, 4))
    _over_bgra(fg, alpha, backdrop, out)
    return out


def fit_overlay(bgra: np.ndarray, width: int, height: int) -> np.ndarray:
    """Scale a straight-alpha BGRA image to cover ``width`` x ``height`` (centre crop), resampling
    premultiplied colour so edges keep their colour. Returns a new straight-alpha BGRA image."""
    if bgra.shape[:2] == (height, width):
        return np.ascontiguousarray(bgra)
    a = bgra[..., 3:4].astype(np.float32) / 255.0
    premult = np.concatenate([bgra[..., :3].astype(np.float32) * a, a * 255.0], axis=2)
    scaled = fit_cover(premult, width, height)
    alpha = scaled[..., 3:4]
    colour = scaled[..., :3] * 255.0 / np.maximum(alpha, 1e-3)
    out = np.concatenate([colour, alpha], axis=2)
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def warm_up() -> None:
    """Compile (or load from the cache) the overlay kernels before capture starts."""
    frame = np.zeros((2, 3, 3), np.uint8)
    bgra = np.zeros((2, 3, 4), np.uint8)
    overlay_rgba(frame, bgra)
    overlay_rgba(bgra.copy(), bgra)
