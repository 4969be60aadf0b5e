"""Finding the screen in a picture: its colour (auto key) and its light at every pixel.

:func:`detect_key_color` picks green or blue and the exact shade from the frame itself.
:func:`estimate_screen` builds a per-pixel screen image (an "auto plate") from the pixels that
are clearly screen, filling in behind the subject from the surrounding light, so the key
follows uneven light, falloff and the subject's shadow without a clean plate.
"""

from __future__ import annotations

import math

import cv2
import numba
import numpy as np

from livekey.engine.keying import JIT
from livekey.errors import LivekeyError
from livekey.media.images import fit_cover, read_image

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


@numba.njit(parallel=True, **JIT)
def _block_means(frame, small):
    """The mean colour of each of the (sh, sw) blocks ``small`` has, tiling ``frame`` whole (what
    ``cv2.resize`` with ``INTER_AREA`` gives at an integer ratio, at a third of its cost)."""
    h, w = frame.shape[0], frame.shape[1]
    sh, sw = small.shape[0], small.shape[1]
    frame2 = frame.reshape((h, w * 3))
    for j in numba.prange(sh):
        y0, y1 = j * h // sh, (j + 1) * h // sh
        rows = np.zeros(w * 3, np.float32)  # the block row's column sums: a loop that vectorises
        for y in range(y0, y1):
            src = frame2[y]
            for i in range(w * 3):
                rows[i] += np.float32(src[i])
        for x in range(sw):
            x0, x1 = x * w // sw, (x + 1) * w // sw
            b = g = r = np.float32(0.0)
            for xx in range(x0, x1):
                b += rows[3 * xx]
                g += rows[3 * xx + 1]
                r += rows[3 * xx + 2]
            inv = np.float32(1.0) / np.float32((y1 - y0) * (x1 - x0))
            small[j, x, 0], small[j, x, 1], small[j, x, 2] = b * inv, g * inv, r * inv


@numba.njit(**JIT)
def _screen_weights(small, kx, ky, cos_screen, cos_pure, min_sat, min_pure_sat, screen4, pure4):
    """Which pixels of the small image are screen: within the hue (``cos_screen``, the cosine of
    the angle to the key's chroma ``(kx, ky)``) and at least ``min_sat`` saturated; and which are
    the key's colour unmixed (``cos_pure``, ``min_pure_sat``). Each as (B w, G w, R w, w)."""
    half_root3 = np.float32(np.sqrt(3.0) / 2.0)
    k_len = math.sqrt(kx * kx + ky * ky) + np.float32(1e-3)
    for j in range(small.shape[0]):
        for x in range(small.shape[1]):
            b, g, r = small[j, x, 0], small[j, x, 1], small[j, x, 2]
            cx, cy = r - (g + b) * np.float32(0.5), half_root3 * (g - b)
            cos_t = (cx * kx + cy * ky) / ((math.sqrt(cx * cx + cy * cy) + np.float32(1e-3)) * k_len)
            vmax, vmin = max(max(b, g), r), min(min(b, g), r)
            sat = (vmax - vmin) / max(vmax, np.float32(1.0))
            lit = vmax > np.float32(20.0)
            ws = np.float32(cos_t > cos_screen and sat > min_sat and lit)
            wp = np.float32(cos_t > cos_pure and sat > min_pure_sat and lit)
            screen4[j, x, 0], screen4[j, x, 1], screen4[j, x, 2], screen4[j, x, 3] = b * ws, g * ws, r * ws, ws
            pure4[j, x, 0], pure4[j, x, 1], pure4[j, x, 2], pure4[j, x, 3] = b * wp, g * wp, r * wp, wp


@numba.njit(**JIT)
def _take_nearest(small, screen4, near, pure, wide, filled, missing):
    """Each pixel's screen: its own colour where it is screen (``screen4``), else the first of the
    blurred estimates (near screen, pure screen beside the subject, wider screen) that holds
    enough screen (a weight above 0.05). Returns how many pixels none of them reached (1 in
    ``missing``)."""
    n = 0
    for j in range(small.shape[0]):
        for x in range(small.shape[1]):
            missing[j, x] = 0
            if screen4[j, x, 3] > 0:
                for c in range(3):
                    filled[j, x, c] = small[j, x, c]
            elif near[j, x, 3] > np.float32(0.05):
                for c in range(3):
                    filled[j, x, c] = near[j, x, c] / near[j, x, 3]
            elif pure[j, x, 3] > np.float32(0.05):
                for c in range(3):
                    filled[j, x, c] = pure[j, x, c] / pure[j, x, 3]
            elif wide[j, x, 3] > np.float32(0.05):
                for c in range(3):
                    filled[j, x, c] = wide[j, x, c] / wide[j, x, 3]
            else:
                missing[j, x] = 1
                n += 1
    return n


@numba.njit(**JIT)
def _pull_level(level, up):
    """One level of the push-pull fill, in place in ``up``: the level's own screen colour where
    it holds a quarter of a pixel's worth of screen or more, the coarser fill ``up`` where it holds
    none, blended between."""
    for j in range(level.shape[0]):
        for x in range(level.shape[1]):
            w = level[j, x, 3]
            trust = min(w * np.float32(4.0), np.float32(1.0))
            if trust > 0:
                inv = np.float32(1.0) / w
                for c in range(3):
                    up[j, x, c] += trust * (level[j, x, c] * inv - up[j, x, c])


def _push_pull(weighted: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Fill everywhere from the weighted colours (B w, G w, R w, w) around (normalised convolution
    over an image pyramid: near screen decides first, far screen fills the big holes)."""
    levels = [weighted]
    while min(levels[-1].shape[:2]) > 4:
        levels.append(cv2.pyrDown(levels[-1]))
    top = levels[-1].reshape(-1, 4).sum(axis=0)
    fill = np.empty(levels[-1].shape[:2] + (3,), np.float32)
    fill[:] = top[:3] / top[3] if top[3] > 1e-6 else fallback
    for level in reversed(levels):
        fill = cv2.resize(fill, (level.shape[1], level.shape[0]), interpolation=cv2.INTER_LINEAR)
        _pull_level(level, fill)
    return fill


def _small_screen(small: np.ndarray, key_bgr: tuple[int, int, int], hue_tolerance: float) -> np.ndarray:
    """The screen estimate of a small float32 image (see :func:`estimate_screen`), float32."""
    key = np.asarray(key_bgr, np.float32)
    kx, ky = (float(v) for v in opponent_chroma(key))
    key_sat = float((key.max() - key.min()) / max(key.max(), 1))
    sh, sw = small.shape[:2]
    screen4, pure4 = np.empty((sh, sw, 4), np.float32), np.empty((sh, sw, 4), np.float32)
    _screen_weights(small, np.float32(kx), np.float32(ky), np.float32(np.cos(np.radians(hue_tolerance))),
                    np.float32(np.cos(np.radians(PURE_HUE))), np.float32(SCREEN_SAT_RATIO * key_sat),
                    np.float32(PURE_SAT_RATIO * key_sat), screen4, pure4)
    # Erode the screen mask so mixed edge pixels do not darken the estimate.
    cv2.erode(screen4, np.ones((3, 3), np.uint8), dst=screen4)
    screen4[..., :3] = small * screen4[..., 3:]
    # Near the screen: normalised convolution at small radii, nearest first. Where no eroded screen
    # is near (a narrow gap beside the subject, often in its own shadow), screen right next to it
    # counts, if its colour is the key's, unmixed: light and shadow change only its brightness.
    near = cv2.GaussianBlur(screen4, (0, 0), 1.5)
    pure = cv2.GaussianBlur(pure4, (0, 0), 1.5)
    wide = cv2.GaussianBlur(screen4, (0, 0), 4.0)
    filled = np.empty((sh, sw, 3), np.float32)
    missing = np.empty((sh, sw), np.uint8)
    if _take_nearest(small, screen4, near, pure, wide, filled, missing):
        # Far from any screen (inside a large subject): the cheap pyramid fill.
        far = _push_pull(screen4, key)
        np.copyto(filled, far, where=missing[..., None].astype(bool))
    return cv2.GaussianBlur(filled, (0, 0), 1.0)


def _small_size(h: int, w: int, scale: int) -> tuple[int, int]:
    return max(1, min(h, max(4, h // scale))), max(1, min(w, max(4, w // scale)))


def estimate_screen(frame: np.ndarray, key_bgr: tuple[int, int, int], hue_tolerance: float = 25.0,
                    out: np.ndarray | None = None, scale: int = 8) -> np.ndarray:
    """Per-pixel screen colour (H, W, 3) uint8 estimated from the frame.

    Pixels within ``hue_tolerance`` degrees of the key's hue and at least ``SCREEN_SAT_RATIO``
    as saturated as the key are screen; everywhere else (the subject, its soft edges) the screen
    light is filled in from the screen around it (normalised convolution near the screen, a
    push-pull pyramid far from it), at 1/``scale`` size. Falls back to the flat key colour when
    the frame has no screen pixel at all. About 4 ms at 1080p.
    """
    h, w = frame.shape[:2]
    small = np.empty(_small_size(h, w, scale) + (3,), np.float32)
    _block_means(frame, small)
    filled = _small_screen(small, key_bgr, hue_tolerance)
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
    small = np.empty(_small_size(h, w, scale) + (3,), np.float32)
    _block_means(frame, small)
    auto = _small_screen(small, key_bgr, hue_tolerance)
    base = np.empty_like(small)
    _block_means(plate, base)
    gain = cv2.GaussianBlur(auto, (0, 0), 1.0) / np.maximum(cv2.GaussianBlur(base, (0, 0), 1.0), 4.0)
    if out is None or out.shape != (h, w, 3):
        out = np.empty((h, w, 3), np.uint8)
    # The gain map at full width, then each row interpolated between two of its rows as it is used.
    wide = cv2.resize(np.clip(gain, 0.2, 3.0), (w, gain.shape[0]), interpolation=cv2.INTER_LINEAR)
    _scale_by(plate, wide, *_row_taps(h, gain.shape[0]), out)
    return out


def _row_taps(height: int, rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each of ``height`` output rows, the two of ``rows`` that linear interpolation reads and
    the second one's weight (pixel centres aligned, as ``cv2.resize``)."""
    pos = np.clip((np.arange(height, dtype=np.float32) + 0.5) * (rows / height) - 0.5, 0, rows - 1)
    first = np.floor(pos).astype(np.int64)
    return first, np.minimum(first + 1, rows - 1), (pos - first).astype(np.float32)


@numba.njit(parallel=True, **JIT)
def _scale_by(image, wide, y0, y1, fy, out):
    """``out = image * gain``, with the gain of each row interpolated between rows ``y0`` and ``y1``
    (weight ``fy``) of ``wide``, the gain map at full width; rounded and clipped to uint8."""
    h, w = image.shape[0], image.shape[1]
    image2, wide2, out2 = image.reshape((h, w * 3)), wide.reshape((wide.shape[0], w * 3)), out.reshape((h, w * 3))
    for y in numba.prange(h):
        top, bottom, t = wide2[y0[y]], wide2[y1[y]], fy[y]
        src, dst = image2[y], out2[y]
        for i in range(w * 3):
            v = np.float32(src[i]) * (top[i] + t * (bottom[i] - top[i])) + np.float32(0.5)
            dst[i] = np.uint8(min(max(v, np.float32(0.0)), np.float32(255.0)))


# The screen estimate refined where the screen was seen (see SeenScreen): from 4 x 4 blocks the key
# had clear, whose colour is within this many levels of the estimate, this many blocks around a
# block where the key reached this alpha level (or one beside it).
_SEEN_DEV = np.float32(15.0)
SEEN_RADIUS = 2
SUBJECT_LEVEL = 32
_K3 = np.ones((3, 3), np.uint8)


@numba.njit(parallel=True, **JIT)
def _clear_blocks(frame, alpha, colour, clear, subject):
    """Each 4 x 4 block's mean colour, 1 in ``clear`` where the matte is 0 throughout and 1 in
    ``subject`` where it reaches ``SUBJECT_LEVEL``."""
    sh, sw = clear.shape
    w = frame.shape[1]
    frame2 = frame.reshape((frame.shape[0], w * 3))
    inv16 = np.float32(1.0 / 16.0)
    for j in numba.prange(sh):
        rows = np.zeros(w * 3, np.float32)  # the block row's column sums: a loop that vectorises
        top = np.zeros(w, np.uint8)
        for y in range(4 * j, 4 * j + 4):
            src, al = frame2[y], alpha[y]
            for i in range(w * 3):
                rows[i] += np.float32(src[i])
            for x in range(w):
                top[x] = max(top[x], al[x])
        for x in range(sw):
            b = g = r = np.float32(0.0)
            most = np.uint8(0)
            for xx in range(4 * x, 4 * x + 4):
                b += rows[3 * xx]
                g += rows[3 * xx + 1]
                r += rows[3 * xx + 2]
                most = max(most, top[xx])
            colour[j, x, 0], colour[j, x, 1], colour[j, x, 2] = b * inv16, g * inv16, r * inv16
            clear[j, x] = np.uint8(most == 0)
            subject[j, x] = np.uint8(most >= SUBJECT_LEVEL)


@numba.njit(inline="always", **JIT)
def _block_mean(image, j, x):
    """The mean colour of 4 x 4 block (j, x) of an (H, W, 3) uint8 image."""
    b = g = r = np.float32(0.0)
    for y in range(4 * j, 4 * j + 4):
        for xx in range(4 * x, 4 * x + 4):
            b += np.float32(image[y, xx, 0])
            g += np.float32(image[y, xx, 1])
            r += np.float32(image[y, xx, 2])
    inv16 = np.float32(1.0 / 16.0)
    return b * inv16, g * inv16, r * inv16


@numba.njit(parallel=True, **JIT)
def _seen_colour(seen, beside, seen_clear, estimate, base, colour, based, count, counted):
    """For each block ``beside`` the subject, the colour ``seen`` of the ``seen_clear`` blocks within
    ``SEEN_RADIUS`` that lie within ``_SEEN_DEV`` of the ``estimate`` over this block (a block the
    subject has moved into since, or across a steep shadow's edge, does not count), summed into
    ``colour``, with ``base``'s colour over the same blocks (the plate; without one, left 0) summed
    into ``based`` and their number into ``count`` (1 in ``counted`` where any was). Other blocks
    get 0: screen away from the subject keys out whatever the estimate, and faint leaks there must
    not grow."""
    sh, sw = beside.shape
    flat = base.shape[0] == 0
    for j in numba.prange(sh):
        for x in range(sw):
            counted[j, x] = 0
            count[j, x] = np.float32(0.0)
            for k in range(3):
                colour[j, x, k] = based[j, x, k] = np.float32(0.0)
            if beside[j, x] == 0:
                continue
            j0, j1 = max(0, j - SEEN_RADIUS), min(sh, j + SEEN_RADIUS + 1)
            x0, x1 = max(0, x - SEEN_RADIUS), min(sw, x + SEEN_RADIUS + 1)
            if not seen_clear[j0:j1, x0:x1].any():  # deep inside the subject
                continue
            eb, eg, er = _block_mean(estimate, j, x)
            n = np.float32(0.0)
            sb = sg = sr = pb = pg = pr = np.float32(0.0)
            for jj in range(j0, j1):
                for xx in range(x0, x1):
                    if seen_clear[jj, xx] == 0:
                        continue
                    b, g, r = seen[jj, xx, 0], seen[jj, xx, 1], seen[jj, xx, 2]
                    if abs(b - eb) >= _SEEN_DEV or abs(g - eg) >= _SEEN_DEV or abs(r - er) >= _SEEN_DEV:
                        continue
                    sb, sg, sr, n = sb + b, sg + g, sr + r, n + np.float32(1.0)
                    if not flat:
                        qb, qg, qr = _block_mean(base, jj, xx)
                        pb, pg, pr = pb + qb, pg + qg, pr + qr
            counted[j, x] = np.uint8(n > 0)
            colour[j, x, 0], colour[j, x, 1], colour[j, x, 2] = sb, sg, sr
            based[j, x, 0], based[j, x, 1], based[j, x, 2] = pb, pg, pr
            count[j, x] = n


@numba.njit(parallel=True, **JIT)
def _blend_blocks(estimate, base, colour, based, count, touched, out):
    """Where any clear block was counted (``count``), ``out``: the estimate moved, as far as the
    count reaches 1, to what was seen around: the mean colour (``colour / count``), or with a
    ``base`` image (a plate) the base's own pixel times the light seen (``colour / based``); the
    sums bilinear between block centres, over the blocks ``touched`` (a counted block within 1).
    Elsewhere ``out`` is left as it is (the estimate)."""
    sh, sw = count.shape
    flat = base.shape[0] == 0
    one, zero = np.float32(1.0), np.float32(0.0)
    for j in numba.prange(sh):
        for x in range(sw):
            if touched[j, x] == 0:
                continue
            for y in range(4 * j, 4 * j + 4):
                fy = min(max((np.float32(y) - np.float32(1.5)) * np.float32(0.25), zero), np.float32(sh - 1))
                j0 = int(fy)
                j1 = min(j0 + 1, sh - 1)
                ty = fy - np.float32(j0)
                for xp in range(4 * x, 4 * x + 4):
                    fx = min(max((np.float32(xp) - np.float32(1.5)) * np.float32(0.25), zero), np.float32(sw - 1))
                    x0 = int(fx)
                    x1 = min(x0 + 1, sw - 1)
                    tx = fx - np.float32(x0)
                    w00, w01 = (one - ty) * (one - tx), (one - ty) * tx
                    w10, w11 = ty * (one - tx), ty * tx
                    n = w00 * count[j0, x0] + w01 * count[j0, x1] + w10 * count[j1, x0] + w11 * count[j1, x1]
                    if n <= zero:
                        continue
                    share = min(n, one)
                    for k in range(3):
                        seen = w00 * colour[j0, x0, k] + w01 * colour[j0, x1, k] + w10 * colour[j1, x0, k] \
                            + w11 * colour[j1, x1, k]
                        e = np.float32(estimate[y, xp, k])
                        if flat:
                            target = seen / n
                        else:
                            under = w00 * based[j0, x0, k] + w01 * based[j0, x1, k] + w10 * based[j1, x0, k] \
                                + w11 * based[j1, x1, k]
                            target = np.float32(base[y, xp, k]) * seen / max(under, one)
                        v = e + share * (target - e) + np.float32(0.5)
                        out[y, xp, k] = np.uint8(min(max(v, zero), np.float32(255.0)))


_NO_BASE = np.empty((0, 0, 3), np.uint8)


class SeenScreen:
    """The screen estimate made exact beside the subject, where the screen was just seen.

    :func:`estimate_screen` works at 1/8 size and fills in behind the subject from the screen
    around it, so at the subject's edge and among its hair it is several levels off (at 640 x 360,
    7 levels of luma on average in the edge band), mostly too dark: a faint strand in front of a
    screen estimated too dark keys as screen. One frame's key says where the screen was seen:
    :meth:`collect` reads each 4 x 4 block's colour and whether the key had it clear (alpha 0
    throughout) off a frame. :meth:`apply` then moves the next estimate, on the blocks where the
    key reached ``SUBJECT_LEVEL`` and the blocks beside them, to the mean colour of the clear
    blocks within ``SEEN_RADIUS`` whose 8 neighbours were clear too (so no edge pixel counts),
    bilinear between block centres. It ignores a block more than 15 levels from the estimate
    there (the subject moved into it since, or a steep shadow's edge lies between) and leaves the
    estimate as it is everywhere else: screen away from the subject keys out whatever the
    estimate, and a faint leak there must not grow.
    """

    def __init__(self) -> None:
        self._colour: np.ndarray | None = None  # each 4 x 4 block's colour, and what the key had there
        self._clear: np.ndarray | None = None
        self._subject: np.ndarray | None = None
        self.ready = False

    def collect(self, frame: np.ndarray, alpha: np.ndarray) -> None:
        """Read each block's colour, and whether it is clear screen or subject, off ``frame`` and the
        key's matte of it."""
        h, w = alpha.shape
        sh, sw = h // 4, w // 4
        if sh < 1 or sw < 1:
            return
        if self._clear is None or self._clear.shape != (sh, sw):
            self._colour = np.empty((sh, sw, 3), np.float32)
            self._clear = np.empty((sh, sw), np.uint8)
            self._seen_clear = np.empty((sh, sw), np.uint8)
            self._subject = np.empty((sh, sw), np.uint8)
            self._beside = np.empty((sh, sw), np.uint8)
            self._counted = np.empty((sh, sw), np.uint8)
            self._touched = np.empty((sh, sw), np.uint8)
            self._sums = (np.empty((sh, sw, 3), np.float32), np.empty((sh, sw, 3), np.float32),
                          np.empty((sh, sw), np.float32))  # seen colour, the plate's, and how many blocks
        _clear_blocks(frame, alpha, self._colour, self._clear, self._subject)
        self.ready = True

    def apply(self, estimate: np.ndarray, out: np.ndarray, plate: np.ndarray | None = None) -> bool:
        """Write the refined ``estimate`` to ``out`` (both (H, W, 3) uint8); False (nothing written)
        when nothing was collected for this frame size. With the clean ``plate`` the estimate is the
        plate relit, and where the screen was seen it becomes the plate times the light seen there,
        so the plate's wrinkles and seams stay."""
        h, w = estimate.shape[:2]
        if not self.ready or self._clear.shape != (h // 4, w // 4):
            return False
        self.ready = False
        cv2.erode(self._clear, _K3, dst=self._seen_clear)
        cv2.dilate(self._subject, _K3, dst=self._beside)
        base = _NO_BASE if plate is None else plate
        _seen_colour(self._colour, self._beside, self._seen_clear, estimate, base, *self._sums, self._counted)
        cv2.dilate(self._counted, _K3, dst=self._touched)
        if out is not estimate:
            np.copyto(out, estimate)
        _blend_blocks(estimate, base, *self._sums, self._touched, out)
        return True


def warm_up(plate: bool = True) -> None:
    """Compile (or load from Numba's cache) the screen kernels before capture starts, the far-fill
    too (a small frame keys its whole middle as subject): they run only on some frames, and one
    compiled on the first of them would drop frames. With ``plate``, the plate relight too."""
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:] = (62, 177, 48)
    frame[8:40, 12:52] = 128  # a grey subject, wider than the near fills reach at 1/8 size
    key = (62, 177, 48)
    out = np.empty_like(frame)
    estimate_screen(frame, key, out=out, scale=2)
    if plate:
        relight_plate(frame, np.full_like(frame, 180), key, out=out, scale=2)
    seen = SeenScreen()
    alpha = np.zeros(frame.shape[:2], np.uint8)
    alpha[8:40, 12:52] = 255
    seen.collect(frame, alpha)
    seen.apply(frame, out, np.full_like(frame, 180) if plate else None)
