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
# A pixel is screen only when at least this share as saturated as the key colour: light and
# shadow scale a screen's colour but keep its saturation; anything in front of it lowers it.
SCREEN_SAT_RATIO = 0.6
# Screen beside the subject: within this many degrees of the key's hue and this share of its saturation.
PURE_HUE, PURE_SAT_RATIO = 15.0, 0.75


def _small(frame: np.ndarray, width: int) -> np.ndarray:
    h, w = frame.shape[:2]
    if w <= width:
        return frame
    return cv2.resize(frame, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)


def opponent_chroma(bgr) -> tuple:
    """The chroma vector (x, y) of BGR colours in the opponent plane the key works in:
    ``x = R - (G + B) / 2``, ``y = sqrt(3)/2 (G - B)``. Takes an (..., 3) array or one colour."""
    bgr = np.asarray(bgr, np.float32)
    b, g, r = bgr[..., 0], bgr[..., 1], bgr[..., 2]
    return r - (g + b) / 2, np.float32(np.sqrt(3) / 2) * (g - b)


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


def _push_pull(weighted: np.ndarray, weight: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Fill where ``weight`` is 0 from the weighted colours around it (normalised convolution
    over an image pyramid: near screen decides first, far screen fills the big holes)."""
    levels = [(weighted, weight)]
    while min(levels[-1][1].shape) > 4:
        c, w = levels[-1]
        levels.append((cv2.pyrDown(c), cv2.pyrDown(w)))
    c, w = levels[-1]
    total = w.sum()
    fill = np.empty_like(c)
    fill[:] = c.reshape(-1, 3).sum(axis=0) / total if total > 1e-6 else fallback
    for c, w in reversed(levels):
        up = cv2.resize(fill, (w.shape[1], w.shape[0]), interpolation=cv2.INTER_LINEAR)
        own = c / np.maximum(w, 1e-6)[..., None]
        trust = np.clip(w * 4.0, 0.0, 1.0)[..., None]  # a quarter of a pixel's worth of screen is enough
        fill = own * trust + up * (1.0 - trust)
    return fill


def estimate_screen(frame: np.ndarray, key_bgr: tuple[int, int, int], hue_tolerance: float = 25.0,
                    out: np.ndarray | None = None, scale: int = 8) -> np.ndarray:
    """Per-pixel screen colour (H, W, 3) uint8 estimated from the frame.

    Pixels within ``hue_tolerance`` degrees of the key's hue and at least half as saturated
    as the key are screen; everywhere else (the subject, its soft edges) the screen light is
    filled in from the screen around it (normalised convolution near the screen, a push-pull
    pyramid far from it), at 1/``scale`` size. Falls back to the flat key colour when the frame
    has no screen pixel at all. About 5 ms at 1080p.
    """
    h, w = frame.shape[:2]
    sw, sh = max(4, w // scale), max(4, h // scale)
    small = cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
    key = np.asarray(key_bgr, np.float32)

    x, y = opponent_chroma(small)
    kx, ky = opponent_chroma(key)
    k_len = float(np.hypot(kx, ky)) + 1e-3
    length = np.hypot(x, y) + 1e-3
    cos_t = (x * kx + y * ky) / (length * k_len)
    b, g, r = small[..., 0], small[..., 1], small[..., 2]
    vmax = np.maximum(np.maximum(b, g), r)  # faster than reducing over the 3-wide axis
    sat = (vmax - np.minimum(np.minimum(b, g), r)) / np.maximum(vmax, 1)
    key_sat = float((key.max() - key.min()) / max(key.max(), 1))
    screen = (cos_t > np.cos(np.radians(hue_tolerance))) & (sat > SCREEN_SAT_RATIO * key_sat) & (vmax > 20)
    # Erode the screen mask so mixed edge pixels do not darken the estimate.
    weight = cv2.erode(screen.astype(np.float32), np.ones((3, 3), np.uint8))
    weighted = small * weight[..., None]
    # Where no eroded screen is near (a narrow gap beside the subject, often in its own shadow),
    # screen right next to it counts, if its colour is the key's, unmixed: close in hue, nearly as
    # saturated. Light and shadow change only its brightness.
    pure = ((cos_t > np.cos(np.radians(PURE_HUE))) & (sat > PURE_SAT_RATIO * key_sat) & (vmax > 20)).astype(np.float32)
    passes = ((weight, weighted, 1.5), (pure, small * pure[..., None], 1.5), (weight, weighted, 4.0))
    # Near the screen: normalised convolution at small radii, nearest first.
    filled = np.zeros_like(small)
    done = np.zeros((sh, sw), bool)
    for wgt, wtd, sigma in passes:
        wb = cv2.GaussianBlur(wgt, (0, 0), sigma)
        cb = cv2.GaussianBlur(wtd, (0, 0), sigma)
        take = ~done & (wb > 0.05)
        filled[take] = cb[take] / wb[take][:, None]
        done |= take
    # Far from any screen (inside a large subject): the cheap pyramid fill.
    if not done.all():
        far = _push_pull(weighted, weight, key)
        filled[~done] = far[~done]
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
