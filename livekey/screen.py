"""Finding the screen in a picture: its colour (auto key) and its light at every pixel.

:func:`detect_key_color` picks green or blue and the exact shade from the frame itself.
:func:`estimate_screen` builds a per-pixel screen image (an "auto plate") from the pixels that
are clearly screen, filling in behind the subject from the surrounding light, so the key
follows uneven light, falloff and the subject's shadow without a clean plate.
"""

from __future__ import annotations

import cv2
import numpy as np

from livekey.errors import LivekeyError
from livekey.images import fit_cover, read_image

# OpenCV hue units (0..179): green and blue screen families.
_FAMILIES = {"green": (35, 95), "blue": (95, 135)}
_MIN_SCREEN_SHARE = 0.08


def _small(frame: np.ndarray, width: int) -> np.ndarray:
    h, w = frame.shape[:2]
    if w <= width:
        return frame
    return cv2.resize(frame, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)


def detect_key_color(frame: np.ndarray) -> tuple[int, int, int]:
    """The screen colour (B, G, R) of a green- or blue-screen frame.

    Takes the larger family of saturated green or blue pixels, its dominant hue, and the
    median colour of the brighter half of the pixels of that hue (the lit screen, not its
    shadows). Raises LivekeyError when neither family covers enough of the frame.
    """
    small = _small(frame, 320)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    hue, sat, val = hsv[..., 0], hsv[..., 1], hsv[..., 2]
    vivid = (sat > 70) & (val > 40)
    counts = {name: int(np.count_nonzero(vivid & (hue >= lo) & (hue < hi)))
              for name, (lo, hi) in _FAMILIES.items()}
    family = max(counts, key=counts.get)
    if counts[family] < _MIN_SCREEN_SHARE * hue.size:
        raise LivekeyError("no green or blue screen found in the picture; "
                           "give the screen colour with --key-color '#RRGGBB'")
    lo, hi = _FAMILIES[family]
    hist = np.bincount(hue[vivid & (hue >= lo) & (hue < hi)], minlength=180).astype(np.float32)
    hist = np.convolve(hist, np.ones(5, np.float32), mode="same")
    peak = int(np.argmax(hist))
    near = vivid & (np.abs(hue.astype(np.int16) - peak) <= 8)
    pixels = small[near]
    bright = pixels[val[near] >= np.median(val[near])]
    return tuple(int(v) for v in np.median(bright, axis=0))


def estimate_screen(frame: np.ndarray, key_bgr: tuple[int, int, int], hue_tolerance: float = 25.0,
                    out: np.ndarray | None = None, scale: int = 8) -> np.ndarray:
    """Per-pixel screen colour (H, W, 3) uint8 estimated from the frame.

    Pixels within ``hue_tolerance`` degrees of the key's hue and at least half as saturated
    as the key are screen; everywhere else (the subject, its soft edges) the screen light is
    filled in by normalised convolution from the screen around it, at 1/``scale`` size.
    Falls back to the flat key colour where no screen pixel is near.
    """
    h, w = frame.shape[:2]
    sw, sh = max(4, w // scale), max(4, h // scale)
    small = cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
    key = np.asarray(key_bgr, np.float32)

    def chroma(img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        b, g, r = img[..., 0], img[..., 1], img[..., 2]
        return r - (g + b) / 2, np.float32(np.sqrt(3) / 2) * (g - b)

    x, y = chroma(small)
    kx, ky = chroma(key)
    k_len = float(np.hypot(kx, ky)) + 1e-3
    length = np.hypot(x, y) + 1e-3
    cos_t = (x * kx + y * ky) / (length * k_len)
    vmax = small.max(axis=2)
    sat = (vmax - small.min(axis=2)) / np.maximum(vmax, 1)
    key_sat = float((key.max() - key.min()) / max(key.max(), 1))
    screen = (cos_t > np.cos(np.radians(hue_tolerance))) & (sat > 0.5 * key_sat) & (vmax > 20)
    # Erode the screen mask so mixed edge pixels do not darken the estimate.
    weight = cv2.erode(screen.astype(np.float32), np.ones((3, 3), np.uint8))

    filled = np.empty_like(small)
    total = np.zeros((sh, sw), np.float32)
    acc = np.zeros_like(small)
    # Normalised convolution at growing radii: near screen decides first, far screen fills holes.
    for sigma in (1.5, 4.0, 12.0, 40.0):
        wb = cv2.GaussianBlur(weight, (0, 0), sigma)
        cb = cv2.GaussianBlur(small * weight[..., None], (0, 0), sigma)
        take = (total < 0.5) & (wb > 0.05)
        acc[take] = cb[take] / wb[take][:, None]
        total[take] = 1.0
    filled[:] = np.where(total[..., None] > 0, acc, key)
    filled[weight > 0] = small[weight > 0]
    filled = cv2.GaussianBlur(filled, (0, 0), 1.0)
    if out is None or out.shape != (h, w, 3):
        out = np.empty((h, w, 3), np.uint8)
    cv2.resize(np.clip(filled + 0.5, 0, 255).astype(np.uint8), (w, h), dst=out, interpolation=cv2.INTER_LINEAR)
    return out


def load_plate(path: str, size: tuple[int, int]) -> np.ndarray:
    """A clean plate image read from ``path`` and fitted to ``size`` = (width, height): (H, W, 3) uint8.

    A plate of another aspect ratio is scaled to cover and centre-cropped, like a backdrop.
    """
    plate = read_image(path, "clean plate")
    w, h = size
    return np.ascontiguousarray(fit_cover(plate, w, h))


def relight_plate(frame: np.ndarray, plate: np.ndarray, key_bgr: tuple[int, int, int],
                  hue_tolerance: float = 25.0, out: np.ndarray | None = None, scale: int = 8) -> np.ndarray:
    """The plate relit by the frame's own light: ``plate * auto / blur(plate)`` at 1/``scale`` size.

    Keeps the plate's fine detail (wrinkles, seams) and follows what the light does now: the
    subject's shadow and any change since calibration, so the shadow is keyed out with the screen.
    """
    h, w = frame.shape[:2]
    sw, sh = max(4, w // scale), max(4, h // scale)
    auto = estimate_screen(cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_AREA), key_bgr, hue_tolerance,
                           scale=1).astype(np.float32)
    base = cv2.resize(plate, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
    gain = cv2.GaussianBlur(auto, (0, 0), 1.0) / np.maximum(cv2.GaussianBlur(base, (0, 0), 1.0), 4.0)
    gain = cv2.resize(np.clip(gain, 0.2, 3.0), (w, h), interpolation=cv2.INTER_LINEAR)
    if out is None or out.shape != (h, w, 3):
        out = np.empty((h, w, 3), np.uint8)
    np.clip(plate * gain + 0.5, 0, 255, out=gain)
    out[:] = gain
    return out
