"""The merge maths of the mask stack, plain functions over uint8 arrays: merge a mask into the
matte with a mode and opacity, feather and invert a mask, and give the camera's colour back where
the masks raised the matte above the key's."""

from __future__ import annotations

import cv2
import numba
import numpy as np

from livekey.engine.keying import JIT


def combine(alpha: np.ndarray, mask: np.ndarray, mode: str, opacity: float, scratch: np.ndarray) -> None:
    """Merge ``mask`` into ``alpha`` in place (both (H, W) uint8) with ``mode`` and ``opacity`` 0..1.

    ``scratch`` is a preallocated (H, W) uint8 buffer; nothing is allocated.
    """
    full = opacity >= 1.0
    dst = alpha if full else scratch  # cv2's element-wise ops may write in place
    if mode == "add":
        cv2.max(alpha, mask, dst=dst)
    elif mode == "intersect":
        cv2.min(alpha, mask, dst=dst)
    elif mode == "subtract":
        cv2.bitwise_not(mask, dst=scratch)
        cv2.min(alpha, scratch, dst=dst)
    elif mode == "replace":
        np.copyto(dst, mask)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    if not full and opacity > 0.0:
        cv2.addWeighted(alpha, 1.0 - opacity, scratch, opacity, 0.0, dst=alpha)


def feather_invert(mask: np.ndarray, feather: float, invert: bool, out: np.ndarray) -> np.ndarray:
    """``out`` = the mask blurred by a Gaussian of sigma ``feather / 2`` px, then inverted if asked."""
    if feather > 0:
        cv2.GaussianBlur(mask, (0, 0), feather / 2.0, dst=out, borderType=cv2.BORDER_REPLICATE)
    elif out is not mask:
        np.copyto(out, mask)
    if invert:
        cv2.bitwise_not(out, dst=out)
    return out


@numba.njit(**JIT)
def _restore_row(src, key, al, fg):
    for x in range(al.shape[0]):
        k = np.float32(key[x])
        t = max(np.float32(al[x]) - k, np.float32(0.0)) / max(np.float32(255.0) - k, np.float32(1.0))
        for c in range(3):
            i = 3 * x + c
            f = np.float32(fg[i])
            fg[i] = np.uint8(f + (np.float32(src[i]) - f) * t + np.float32(0.5))


@numba.njit(parallel=True, **JIT)
def restore_colour(frame, key_alpha, alpha, fg):
    """Where the mask stack raised the matte above the key's (a core matte, a rescue mask), move
    ``fg`` from the key's colour towards the camera's, fully where alpha reaches 255:
    ``fg += (I - fg) (a - a_key) / (255 - a_key)``. The key's colour there is black or un-mixed
    against a screen the masks say is not there."""
    h, w = alpha.shape
    f2, g2 = frame.reshape((h, w * 3)), fg.reshape((h, w * 3))
    for y in numba.prange(h):
        _restore_row(f2[y], key_alpha[y], alpha[y], g2[y])
