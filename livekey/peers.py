"""Other keyers' maths, re-implemented in NumPy from their published descriptions, for comparison.

* OBS Studio's Chroma Key v2 filter: the distance of a pixel's (Cr, Cb) from the key colour's,
  averaged over a 3x3 neighbourhood (the shader's four bilinear taps weighted 2 plus the centre,
  over 9), ``alpha = saturate((d - similarity) / smoothness) ** 1.5`` and spill handled by
  desaturating toward Rec.709 luma by ``1 - saturate((d - similarity) / spill) ** 1.5``.
  Settings are in OBS's units divided by 1000 (its defaults: similarity 400, smoothness 80,
  spill 100).
* ffmpeg's ``chromakey`` filter: the frame in 4:2:0 YUV (BT.601 video range, as swscale
  converts RGB), the key colour's (U, V) by the filter's own full-range formula; per pixel the
  distance ``sqrt((du^2 + dv^2) / (2 * 255^2))`` averaged over the 3 x 3 chroma samples around it,
  ``alpha = clip((d - similarity) / blend, 0, 1)`` (a hard ``d > similarity`` when blend is under
  0.0001), stored in 8 bits; the colour is left as it is (no despill).
* The naive OpenCV recipe: ``cv2.inRange`` on HSV with fixed bounds, no spill handling.

Both return (alpha float32 in 0..1, composite uint8) over a given backdrop.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np

# OBS's colour-space rows (BT.709, video range) for Cb and Cr with their offsets.
_CB = np.array([-0.100644, -0.338572, 0.439216, 0.501961], np.float32)  # applied to R, G, B, 1
_CR = np.array([0.439216, -0.398942, -0.040274, 0.501961], np.float32)
_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


def _cbcr(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cb = rgb @ _CB[:3] + _CB[3]
    cr = rgb @ _CR[:3] + _CR[3]
    return cb, cr


def obs_chroma_distance(frame: np.ndarray, key_bgr: tuple[int, int, int]) -> np.ndarray:
    """OBS's box-filtered chroma distance of every pixel from the key colour (float32)."""
    rgb = frame[..., ::-1].astype(np.float32) / 255.0
    kcb, kcr = _cbcr(np.asarray(key_bgr[::-1], np.float32) / 255.0)
    pad = cv2.copyMakeBorder(rgb, 1, 1, 1, 1, cv2.BORDER_REPLICATE)
    h, w = frame.shape[:2]

    def tap(dx0: int, dy0: int, dx1: int, dy1: int) -> np.ndarray:
        # A bilinear sample half-way between two pixels is their mean.
        a = pad[1 + dy0:1 + dy0 + h, 1 + dx0:1 + dx0 + w]
        b = pad[1 + dy1:1 + dy1 + h, 1 + dx1:1 + dx1 + w]
        cb, cr = _cbcr((a + b) * 0.5)
        return np.hypot(cr - kcr, cb - kcb)

    # Taps at (-1, -0.5), (+1, +0.5), (-0.5, +1), (+0.5, -1) pixels.
    dist = tap(-1, 0, -1, -1) + tap(1, 0, 1, 1) + tap(0, 1, -1, 1) + tap(0, -1, 1, -1)
    cb, cr = _cbcr(rgb)
    return (dist * 2.0 + np.hypot(cr - kcr, cb - kcb)) / 9.0


def obs_chroma_key(frame: np.ndarray, backdrop: np.ndarray, key_bgr: tuple[int, int, int],
                   similarity: float = 0.4, smoothness: float = 0.08, spill: float = 0.1,
                   dist: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """OBS Chroma Key v2 over ``backdrop``. ``dist`` may be passed in to save recomputing it."""
    if dist is None:
        dist = obs_chroma_distance(frame, key_bgr)
    base = dist - similarity
    alpha = np.clip(base / smoothness, 0, 1) ** 1.5
    spill_val = (np.clip(base / spill, 0, 1) ** 1.5)[..., None]
    rgb = frame[..., ::-1].astype(np.float32)
    desat = (rgb @ _LUMA)[..., None]
    rgb = desat + (rgb - desat) * spill_val
    a = alpha[..., None]
    out = rgb[..., ::-1] * a + backdrop.astype(np.float32) * (1 - a)
    return alpha.astype(np.float32), np.clip(out + 0.5, 0, 255).astype(np.uint8)


OBS_GRID = {
    "similarity": (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5),
    "smoothness": (0.01, 0.03, 0.06, 0.1, 0.15, 0.22, 0.3),
    "spill": (0.03, 0.08, 0.15, 0.3, 0.5),
}


def obs_best(frame: np.ndarray, backdrop: np.ndarray, key_colors: list[tuple[int, int, int]],
             objective) -> tuple[dict, np.ndarray, np.ndarray]:
    """Grid-search OBS's settings (and key colour) for the lowest ``objective(alpha, composite)``.

    Returns (settings, alpha, composite) of the best combination.
    """
    best = (np.inf, None, None, None)
    for key in key_colors:
        dist = obs_chroma_distance(frame, key)
        for sim, smooth, spill in itertools.product(*OBS_GRID.values()):
            alpha, comp = obs_chroma_key(frame, backdrop, key, sim, smooth, spill, dist=dist)
            score = objective(alpha, comp)
            if score < best[0]:
                settings = {"key_bgr": key, "similarity": sim, "smoothness": smooth, "spill": spill}
                best = (score, settings, alpha, comp)
    return best[1], best[2], best[3]


# ffmpeg's rows for the frame (BT.601, video range) and for the key colour (full range), on B, G, R.
_FF_U = np.array([0.439216, -0.290992, -0.148223], np.float32)
_FF_V = np.array([-0.071427, -0.367788, 0.439216], np.float32)
_FF_KEY_U = np.array([0.5, -0.33126, -0.16874], np.float32)
_FF_KEY_V = np.array([-0.08131, -0.41869, 0.5], np.float32)


def ffmpeg_chroma_distance(frame: np.ndarray, key_bgr: tuple[int, int, int]) -> np.ndarray:
    """ffmpeg chromakey's distance (0..1) of every pixel of a BGR frame from the key colour."""
    h, w = frame.shape[:2]
    bgr = frame.astype(np.float32)
    # 4:2:0: each chroma sample is the mean of a 2 x 2 block (odd sizes padded by repetition).
    pad = cv2.copyMakeBorder(bgr, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
    small = cv2.resize(pad, (pad.shape[1] // 2, pad.shape[0] // 2), interpolation=cv2.INTER_AREA)
    key = np.asarray(key_bgr, np.float32)
    du = small @ _FF_U + 128.0 - (key @ _FF_KEY_U + 128.0)
    dv = small @ _FF_V + 128.0 - (key @ _FF_KEY_V + 128.0)
    d = np.sqrt((du * du + dv * dv) / (255.0 * 255.0 * 2))
    d = cv2.blur(d, (3, 3), borderType=cv2.BORDER_REPLICATE)  # the 3 x 3 chroma neighbourhood, edge-clamped
    return np.repeat(np.repeat(d, 2, axis=0), 2, axis=1)[:h, :w]


def ffmpeg_alpha(dist: np.ndarray, similarity: float, blend: float) -> np.ndarray:
    """ffmpeg chromakey's 8-bit alpha (as float32 0..1) from its distance."""
    if blend > 0.0001:
        return np.floor(np.clip((dist - similarity) / blend, 0, 1) * 255.0) / 255.0
    return (dist > similarity).astype(np.float32)


def ffmpeg_chromakey(frame: np.ndarray, backdrop: np.ndarray, key_bgr: tuple[int, int, int],
                     similarity: float = 0.01, blend: float = 0.0,
                     dist: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """ffmpeg's ``chromakey=color:similarity:blend`` over ``backdrop`` (its defaults 0.01 and 0)."""
    if dist is None:
        dist = ffmpeg_chroma_distance(frame, key_bgr)
    alpha = ffmpeg_alpha(dist, similarity, blend).astype(np.float32)
    a = alpha[..., None]
    out = frame.astype(np.float32) * a + backdrop.astype(np.float32) * (1 - a)
    return alpha, np.clip(out + 0.5, 0, 255).astype(np.uint8)


HSV_RANGES = {"green": ((35, 40, 40), (85, 255, 255)), "blue": ((95, 40, 40), (130, 255, 255))}


def hsv_in_range(frame: np.ndarray, backdrop: np.ndarray, screen: str = "green",
                 bounds: tuple[tuple[int, int, int], tuple[int, int, int]] | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The tutorial recipe: a hard ``cv2.inRange`` mask on HSV (the screen's fixed bounds, or
    ``bounds`` = (low, high) HSV in OpenCV's units), composited with no despill."""
    lo, hi = bounds or HSV_RANGES[screen]
    mask = cv2.inRange(cv2.cvtColor(frame, cv2.COLOR_BGR2HSV), lo, hi)
    alpha = (255 - mask).astype(np.float32) / 255.0
    a = alpha[..., None]
    out = frame.astype(np.float32) * a + backdrop.astype(np.float32) * (1 - a)
    return alpha, np.clip(out + 0.5, 0, 255).astype(np.uint8)
