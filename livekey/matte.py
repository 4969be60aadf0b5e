"""Matte operations: plain functions over a uint8 matte (H, W), changing it in place.

* :func:`clip_levels`: clip black / clip white (a lookup table);
* :func:`grow`: grow or shrink by a fraction of a pixel too;
* :func:`soften`: Gaussian blur of the matte;
* :func:`fill_holes`: close small holes and gaps in solid regions;
* :func:`refine_edges`: re-estimate alpha in the edge band from the full-resolution luma. Webcams
  send colour at half resolution (4:2:0), so a chroma key smears every edge by a pixel and loses
  hair finer than that; luma is sent at full resolution and carries the true edge position.
* :class:`Stabilizer`: temporal stability; a pixel whose picture did not change keeps part of
  the previous matte, a pixel whose picture changed keeps none (no trails).

Buffers live in small workspace objects, so nothing allocates per frame after the first.
"""

from __future__ import annotations

import math

import cv2
import numba
import numpy as np

from livekey import keying
from livekey.keying import LUMA_BGR

_JIT = dict(nogil=True, fastmath=True, cache=True, error_model="numpy", boundscheck=False)
_F0 = np.float32(0.0)
_F1 = np.float32(1.0)


def levels_table(black: float, white: float) -> np.ndarray:
    """The 256-entry lookup table of clip black / clip white (both 0..1, black < white)."""
    x = np.arange(256, dtype=np.float32) / 255.0
    return np.clip((x - black) / (white - black) * 255.0 + 0.5, 0, 255).astype(np.uint8)


def clip_levels(alpha: np.ndarray, table: np.ndarray) -> None:
    """Apply a :func:`levels_table` to the matte in place."""
    cv2.LUT(alpha, table, dst=alpha)


def grow(alpha: np.ndarray, pixels: float, work: np.ndarray) -> None:
    """Grow (``pixels`` > 0) or shrink (< 0) the matte; the fraction blends one more 3x3 step.

    ``work`` is a scratch matte of the same shape.
    """
    if pixels == 0:
        return
    op = cv2.dilate if pixels > 0 else cv2.erode
    kernel = np.ones((3, 3), np.uint8)
    steps = abs(pixels)
    whole, frac = int(math.floor(steps)), steps - math.floor(steps)
    for _ in range(whole):
        op(alpha, kernel, dst=work)
        alpha[:] = work
    if frac > 1e-3:
        op(alpha, kernel, dst=work)
        cv2.addWeighted(alpha, 1.0 - frac, work, frac, 0.0, dst=alpha)


def soften(alpha: np.ndarray, radius: float) -> None:
    """Gaussian blur of the matte with sigma ``radius`` / 2 pixels, in place."""
    if radius > 0:
        cv2.GaussianBlur(alpha, (0, 0), radius / 2.0, dst=alpha)


def fill_holes(alpha: np.ndarray, size: int, work: np.ndarray) -> None:
    """Close holes and gaps up to ``size`` pixels inside solid foreground (morphological closing)."""
    if size <= 0:
        return
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size | 1, size | 1))
    cv2.morphologyEx(alpha, cv2.MORPH_CLOSE, kernel, dst=work)
    # Only fully closed pixels are filled: edges keep their soft values.
    np.copyto(alpha, work, where=work == 255)


@numba.njit(inline="always", **_JIT)
def _luma(b, g, r):
    return np.float32(LUMA_BGR[0]) * b + np.float32(LUMA_BGR[1]) * g + np.float32(LUMA_BGR[2]) * r


@numba.njit(**_JIT)
def _alpha_block_row(al, lo, hi, asum):
    """Accumulate one matte row into its row of 4-pixel blocks: alpha min, max and sum (flat
    views; the block width is a constant so the loop vectorises)."""
    for j in range(lo.shape[0]):
        x = 4 * j
        a0, a1, a2, a3 = al[x], al[x + 1], al[x + 2], al[x + 3]
        lo[j] = min(min(min(a0, a1), min(a2, a3)), lo[j])
        hi[j] = max(max(max(a0, a1), max(a2, a3)), hi[j])
        asum[j] += np.float32(a0) + np.float32(a1) + np.float32(a2) + np.float32(a3)


@numba.njit(**_JIT)
def _luma_block_row(src, ysum):
    """Accumulate one pixel row's luma into its row of 4-pixel blocks."""
    for j in range(ysum.shape[0]):
        i = 12 * j
        b = np.float32(src[i]) + np.float32(src[i + 3]) + np.float32(src[i + 6]) + np.float32(src[i + 9])
        g = np.float32(src[i + 1]) + np.float32(src[i + 4]) + np.float32(src[i + 7]) + np.float32(src[i + 10])
        r = np.float32(src[i + 2]) + np.float32(src[i + 5]) + np.float32(src[i + 8]) + np.float32(src[i + 11])
        ysum[j] += _luma(b, g, r)


@numba.njit(parallel=True, **_JIT)
def _luma_block_stats(frame, alpha, gate, lo, hi, asum, ysum, num, den, band):
    """Per 4 x 4 block, one pass: alpha min and max; for solid blocks (mean alpha >= 250) the mean
    luma of the two middle rows into ``num`` and 1 into ``den`` (0 and 0 elsewhere); 1 into
    ``band`` where the block may hold a pixel to refine. The three have a zero first row and
    column so the running sums that follow make them summed-area tables."""
    h, w = alpha.shape
    sh, sw = lo.shape
    frame2 = frame.reshape((h, w * 3))
    solid_sum = np.float32(249.5 * 16)
    inv = np.float32(1.0 / 8)
    for j in numba.prange(sh):
        lo[j, :] = 255
        hi[j, :] = 0
        asum[j, :] = _F0
        ysum[j, :] = _F0
        for y in range(4 * j, 4 * j + 4):
            _alpha_block_row(alpha[y], lo[j], hi[j], asum[j])
        _luma_block_row(frame2[4 * j + 1], ysum[j])
        _luma_block_row(frame2[4 * j + 2], ysum[j])
        for x in range(sw):
            s = np.float32(asum[j, x] >= solid_sum)
            num[j + 1, x + 1] = s * ysum[j, x] * inv
            den[j + 1, x + 1] = s
            band[j + 1, x + 1] = np.float32(hi[j, x] > gate) * np.float32(lo[j, x] < np.uint8(253))
    num[0, :] = 0.0
    den[0, :] = 0.0
    band[0, :] = 0.0
    num[:, 0] = 0.0
    den[:, 0] = 0.0
    band[:, 0] = 0.0


@numba.njit(parallel=True, **_JIT)
def _summed_area(num, den, band):
    """Turn the three tables (first row and column zero) into summed-area tables in place."""
    n_rows, n_cols = num.shape
    for y in numba.prange(1, n_rows):
        for x in range(1, n_cols):
            num[y, x] += num[y, x - 1]
            den[y, x] += den[y, x - 1]
            band[y, x] += band[y, x - 1]
    for y in range(2, n_rows):
        for x in range(n_cols):
            num[y, x] += num[y - 1, x]
            den[y, x] += den[y - 1, x]
            band[y, x] += band[y - 1, x]


@numba.njit(inline="always", **_JIT)
def _box(t, y0, x0, y1, x1):
    return t[y1, x1] - t[y0, x1] - t[y1, x0] + t[y0, x0]


@numba.njit(parallel=True, **_JIT)
def _foreground_luma(num, den, band, radii, yf, cover):
    """Foreground luma at the blocks in or next to the edge band: the mean luma of the solid
    blocks within the smallest of ``radii`` (in blocks) that holds any; ``cover`` 0 where none
    does."""
    sh, sw = yf.shape
    for j in numba.prange(sh):
        for x in range(sw):
            cover[j, x] = 0
            yf[j, x] = _F0
            if _box(band, max(0, j - 1), max(0, x - 1), min(sh, j + 2), min(sw, x + 2)) < 0.5:
                continue
            for k in range(radii.shape[0]):
                r = radii[k]
                y0, y1 = max(0, j - r), min(sh, j + r + 1)
                x0, x1 = max(0, x - r), min(sw, x + r + 1)
                n = _box(den, y0, x0, y1, x1)
                if n > 0.5:
                    yf[j, x] = np.float32(_box(num, y0, x0, y1, x1) / n)
                    cover[j, x] = 1
                    break


@numba.njit(inline="always", **_JIT)
def _refine_pixel(src, scr, i, yf, a_key, lo, inv_span, black, gate):
    y = _luma(np.float32(src[i]), np.float32(src[i + 1]), np.float32(src[i + 2]))
    ys = _luma(np.float32(scr[i]), np.float32(scr[i + 1]), np.float32(scr[i + 2]))
    d = yf - ys
    ad = abs(d)
    a_luma = min(max((y - ys) / max(ad, _F1) * (_F1 if d >= _F0 else -_F1), _F0), _F1)
    # Clip black on the luma estimate: sensor noise alone must not make the screen visible.
    a_luma = max(a_luma - black, _F0) / (_F1 - black)
    # Trust luma only where foreground and screen differ enough in brightness; pixels the key
    # left solid or at the gate or below stay as keyed.
    w = (min(max((ad - lo) * inv_span, _F0), _F1) * np.float32(a_key > gate)
         * np.float32(a_key < np.uint8(253)))
    a0 = np.float32(a_key) * np.float32(1.0 / 255.0)
    a = w * a_luma + (_F1 - w) * a0
    return np.uint8(a * np.float32(255.0) + np.float32(0.5))


# Bilinear weights of a pixel at offset p (0..3) in its 4-pixel block towards the block before
# (p < 2) or after (p >= 2), as cv2.resize INTER_LINEAR places them: (p + 0.5) / 4 - 0.5.
_NEAR_W = np.array([0.625, 0.875, 0.875, 0.625], np.float32)
_NEAR_D = np.array([-1, -1, 1, 1], np.int64)


@numba.njit(parallel=True, **_JIT)
def _refine_blocks(frame, screen, alpha, lo, hi, yf, cover, near_w, near_d, lo_d, inv_span, black, gate,
                   recover, p, fg):
    """The luma alpha over the blocks of the edge band only; the foreground luma bilinear between
    block centres over the covered blocks. With ``recover``, a pixel whose alpha changed gets its
    colour un-mixed and despilled again with the new alpha (``p`` the key's parameter vector)."""
    h, w = alpha.shape
    sh, sw = lo.shape
    q = keying.unpack(p)
    inv255 = np.float32(1.0 / 255.0)
    frame2, screen2 = frame.reshape((h, w * 3)), screen.reshape((h, w * 3))
    for j in numba.prange(sh):
        y_end = h if j == sh - 1 else 4 * j + 4
        for jx in range(sw):
            if cover[j, jx] == 0 or hi[j, jx] <= gate or lo[j, jx] >= 253:
                continue
            x_end = w if jx == sw - 1 else 4 * jx + 4
            for y in range(4 * j, y_end):
                pr = min(y - 4 * j, 3)
                jn = min(max(j + near_d[pr], 0), sh - 1)
                wy = near_w[pr]
                src, scr = frame2[y], screen2[y]
                for x in range(4 * jx, x_end):
                    pc = min(x - 4 * jx, 3)
                    xn = min(max(jx + near_d[pc], 0), sw - 1)
                    wx = near_w[pc]
                    w00 = wy * wx * np.float32(cover[j, jx])
                    w01 = wy * (_F1 - wx) * np.float32(cover[j, xn])
                    w10 = (_F1 - wy) * wx * np.float32(cover[jn, jx])
                    w11 = (_F1 - wy) * (_F1 - wx) * np.float32(cover[jn, xn])
                    f = (w00 * yf[j, jx] + w01 * yf[j, xn] + w10 * yf[jn, jx] + w11 * yf[jn, xn]) \
                        / (w00 + w01 + w10 + w11)
                    old = alpha[y, x]
                    i = 3 * x
                    new = _refine_pixel(src, scr, i, f, old, lo_d, inv_span, black, gate)
                    alpha[y, x] = new
                    if recover and new != old:
                        fb, fg_, fr = keying.recover_pixel(
                            np.float32(src[i]), np.float32(src[i + 1]), np.float32(src[i + 2]),
                            np.float32(scr[i]), np.float32(scr[i + 1]), np.float32(scr[i + 2]),
                            np.float32(new) * inv255, q)
                        fg[y, x, 0] = np.uint8(fb)
                        fg[y, x, 1] = np.uint8(fg_)
                        fg[y, x, 2] = np.uint8(fr)


_NO_PARAMS = np.zeros(keying.N_PARAMS, np.float32)
_NO_FG = np.zeros((1, 1, 3), np.uint8)


class EdgeRefiner:
    """Edge refinement by luma: in the edge band (pixels the key left soft),
    ``alpha = (Y - Y_screen) / (Y_fg - Y_screen)`` where the foreground's luma ``Y_fg`` is spread
    outwards from nearby solid 4 x 4 blocks (mean alpha >= 250) at quarter size: the mean over the
    solid blocks within 2, 5 or 12 blocks, the nearest that holds any (summed-area table, O(N)),
    bilinear between block centres. Blended with the key's alpha by how much the two lumas differ
    (12..40 levels), so a subject as bright as the screen keeps the colour key. Pixels the key left
    at ``gate``/255 or below stay as keyed: luma alone must not raise the screen's shadows and JPEG
    ringing into leaks. One pass of block statistics, then only the band's blocks are visited.

    Given the key's foreground ``fg`` and parameter vector ``params``, the pixels whose alpha
    changed get their colour recovered with the new alpha (what :func:`keying.recover_foreground`
    does over the whole frame), so a key whose only matte operation is this one needs no
    full-frame pass after it.

    ``radius`` is kept for the setting's sake: every soft pixel is in the band whatever its width,
    so it does not change the result."""

    LOW, HIGH = 12.0, 40.0
    SCALE = 4
    RADII = np.array([2, 5, 12], np.int64)  # in blocks; near solid decides first

    def __init__(self, radius: int = 4, black: float = 0.25, gate: int = 20) -> None:
        self.radius = radius
        self.gate = gate
        self.black = black
        self._shape: tuple[int, int] | None = None

    def _allocate(self, h: int, w: int) -> None:
        self._shape = (h, w)
        sh, sw = h // self.SCALE, w // self.SCALE
        self._lo = np.empty((sh, sw), np.uint8)
        self._hi = np.empty((sh, sw), np.uint8)
        self._asum = np.empty((sh, sw), np.float32)
        self._ysum = np.empty((sh, sw), np.float32)
        self._num = np.empty((sh + 1, sw + 1), np.float64)
        self._den = np.empty((sh + 1, sw + 1), np.float64)
        self._band = np.empty((sh + 1, sw + 1), np.float64)
        self._yf = np.empty((sh, sw), np.float32)
        self._cover = np.empty((sh, sw), np.uint8)

    def __call__(self, frame: np.ndarray, screen: np.ndarray, alpha: np.ndarray,
                 fg: np.ndarray | None = None, params: np.ndarray | None = None) -> None:
        h, w = alpha.shape
        if h < self.SCALE or w < self.SCALE:
            return
        if self._shape != (h, w):
            self._allocate(h, w)
        gate = np.uint8(self.gate)
        _luma_block_stats(frame, alpha, gate, self._lo, self._hi, self._asum, self._ysum, self._num, self._den,
                          self._band)
        _summed_area(self._num, self._den, self._band)
        _foreground_luma(self._num, self._den, self._band, self.RADII, self._yf, self._cover)
        recover = fg is not None and params is not None
        _refine_blocks(frame, screen, alpha, self._lo, self._hi, self._yf, self._cover, _NEAR_W, _NEAR_D,
                       np.float32(self.LOW), np.float32(1.0 / (self.HIGH - self.LOW)), np.float32(self.black),
                       gate, recover, params if recover else _NO_PARAMS, fg if recover else _NO_FG)


@numba.njit(**_JIT)
def _stabilize_row(al, prev, diff, strength, lo, inv_span):
    for xx in range(al.shape[0]):
        still = _F1 - min(max((np.float32(diff[xx]) - lo) * inv_span, _F0), _F1)
        k = strength * still
        a = np.float32(al[xx]) + k * (np.float32(prev[xx]) - np.float32(al[xx]))
        al[xx] = np.uint8(a + np.float32(0.5))
        prev[xx] = al[xx]


@numba.njit(parallel=True, **_JIT)
def _stabilize(alpha, prev, diff, strength, lo, inv_span):
    for yy in numba.prange(alpha.shape[0]):
        _stabilize_row(alpha[yy], prev[yy], diff[yy], strength, lo, inv_span)


class Stabilizer:
    """Temporal stability: ``alpha = alpha + k (previous - alpha)`` with ``k = strength`` where the
    frame's luma did not change (3x3 mean change <= 3 levels, i.e. noise) and 0 where it changed by
    10 levels or more, so still edges stop flickering while moving edges follow at once."""

    LOW, HIGH = 3.0, 10.0

    def __init__(self, strength: float) -> None:
        self.strength = strength
        self._prev: np.ndarray | None = None
        self._luma: np.ndarray | None = None
        self._luma_prev: np.ndarray | None = None
        self._diff: np.ndarray | None = None

    def reset(self) -> None:
        self._prev = None

    def __call__(self, frame: np.ndarray, alpha: np.ndarray) -> None:
        h, w = alpha.shape
        if self._prev is None or self._prev.shape != (h, w):
            self._prev = alpha.copy()
            self._luma_prev = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            self._luma = np.empty_like(self._luma_prev)
            self._diff = np.empty_like(self._luma_prev)
            return
        cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY, dst=self._luma)
        cv2.absdiff(self._luma, self._luma_prev, dst=self._diff)
        cv2.blur(self._diff, (3, 3), dst=self._diff)
        _stabilize(alpha, self._prev, self._diff, np.float32(self.strength), np.float32(self.LOW),
                   np.float32(1.0 / (self.HIGH - self.LOW)))
        self._luma, self._luma_prev = self._luma_prev, self._luma


def status_view(alpha: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Three flat colours: solid foreground white, pure screen black, in-between (alpha 3..252) red."""
    if out is None:
        out = np.empty(alpha.shape + (3,), np.uint8)
    out[:] = (0, 0, 220)
    out[alpha >= 253] = 255
    out[alpha <= 2] = 0
    return out


@numba.njit(**_JIT)
def _block_row(al, src, lo, hi, col):
    """Accumulate one pixel row into its row of 4-pixel blocks: alpha min/max and the colour sum
    (flat views; the block width is a constant so the loop vectorises)."""
    for j in range(lo.shape[0]):
        x = 4 * j
        lo[j] = min(min(min(al[x], al[x + 1]), min(al[x + 2], al[x + 3])), lo[j])
        hi[j] = max(max(max(al[x], al[x + 1]), max(al[x + 2], al[x + 3])), hi[j])
        i = 3 * x
        for c in range(3):
            col[3 * j + c] += (np.float32(src[i + c]) + np.float32(src[i + 3 + c]) + np.float32(src[i + 6 + c])
                               + np.float32(src[i + 9 + c]))


@numba.njit(parallel=True, **_JIT)
def _block_stats(alpha, fg, a_lo, a_hi, f_small, col):
    """Per 4 x 4 block: alpha min and max, and the mean colour, in one pass."""
    scale = 4
    h, w = alpha.shape
    sh, sw = a_lo.shape
    fg2 = fg.reshape((h, w * 3))
    inv = np.float32(1.0 / (scale * scale))
    for j in numba.prange(sh):
        a_lo[j, :] = 255
        a_hi[j, :] = 0
        col[j, :] = _F0
        for y in range(j * scale, (j + 1) * scale):
            _block_row(alpha[y], fg2[y], a_lo[j], a_hi[j], col[j])
        for x in range(sw):
            for c in range(3):
                f_small[j, x, c] = np.uint8(col[j, 3 * x + c] * inv + np.float32(0.5))


@numba.njit(parallel=True, **_JIT)
def _spread_small(a_lo, a_hi, f_small, radius, acc, acc2, est, ok):
    """Normalised box filter of the solid blocks' colour at small size, then ``est`` (the spread
    colour) and ``ok`` (the block's class). ``acc`` and ``acc2`` are (h, 4 w) float32 scratch:
    per block the solid-weighted colour and the solid count, as flat rows so the loops vectorise."""
    sh, sw = a_lo.shape
    for y in numba.prange(sh):
        for x in range(sw):
            solid = np.float32(a_lo[y, x] >= 250)
            acc[y, 4 * x] = solid * np.float32(f_small[y, x, 0])
            acc[y, 4 * x + 1] = solid * np.float32(f_small[y, x, 1])
            acc[y, 4 * x + 2] = solid * np.float32(f_small[y, x, 2])
            acc[y, 4 * x + 3] = solid
    for y in numba.prange(sh):  # vertical window sums, row by row
        for i in range(4 * sw):
            acc2[y, i] = _F0
        for t in range(max(0, y - radius), min(sh, y + radius + 1)):
            for i in range(4 * sw):
                acc2[y, i] += acc[t, i]
    for y in numba.prange(sh):  # horizontal window sums, then the normalised colour
        for x in range(sw):
            b = g = r = n = _F0
            for t in range(max(0, x - radius), min(sw, x + radius + 1)):
                b += acc2[y, 4 * t]
                g += acc2[y, 4 * t + 1]
                r += acc2[y, 4 * t + 2]
                n += acc2[y, 4 * t + 3]
            inv = _F1 / max(n, np.float32(1e-3))
            est[y, x, 0] = np.uint8(min(b * inv + np.float32(0.5), np.float32(255.0)))
            est[y, x, 1] = np.uint8(min(g * inv + np.float32(0.5), np.float32(255.0)))
            est[y, x, 2] = np.uint8(min(r * inv + np.float32(0.5), np.float32(255.0)))
            # 0: nothing to do (far from solid, all screen, or all 255); 1: near solid, every
            # visible pixel takes the spread colour; 2: a solid block, only its soft pixels do.
            near = n > np.float32(0.5)
            lo, hi = a_lo[y, x], a_hi[y, x]
            ok[y, x] = 0 if (not near or hi == 0 or lo == 255) else (2 if lo >= 250 else 1)


@numba.njit(parallel=True, **_JIT)
def _spread(alpha, fg, est, ok, scale):
    """Write the spread colour into the edge band, visiting only the blocks ``ok`` marks."""
    h, w = alpha.shape
    sh, sw = ok.shape
    for j in numba.prange(sh):
        y1 = h if j == sh - 1 else (j + 1) * scale
        for jx in range(sw):
            o = ok[j, jx]
            if o == 0:
                continue
            x1 = w if jx == sw - 1 else (jx + 1) * scale
            for y in range(j * scale, y1):
                for x in range(jx * scale, x1):
                    a = alpha[y, x]
                    if a > 0 and (a < 255 or o == 1):
                        fg[y, x, 0] = est[j, jx, 0]
                        fg[y, x, 1] = est[j, jx, 1]
                        fg[y, x, 2] = est[j, jx, 2]


class ForegroundEstimator:
    """Edge colour from the solid foreground nearby, not from the edge pixel itself.

    A webcam sends colour at half resolution (4:2:0) and JPEG smears it further, so the colour of
    an edge pixel is mixed with the screen's and un-mixing cannot undo that. Here the colour of
    solid blocks (alpha >= 250 over a whole 4 x 4 block) is spread outwards by
    normalised convolution, ``F = box(F w) / box(w)`` (the idea of blur-fusion foreground
    estimation, Forte and Pitie 2021), at quarter size; the other visible pixels within
    ``radius`` blocks of solid (the edge band) take that colour. Only the band's blocks are
    visited at full size, so the cost is one pass of block statistics plus the band.
    """

    SCALE = 4

    def __init__(self, radius: int = 1) -> None:
        self.radius = radius
        self._shape: tuple[int, int] | None = None

    def __call__(self, alpha: np.ndarray, fg: np.ndarray) -> None:
        h, w = alpha.shape
        s = self.SCALE
        if h < s or w < s:
            return
        sw, sh = w // s, h // s
        if self._shape != (h, w):
            self._shape = (h, w)
            self._lo = np.empty((sh, sw), np.uint8)
            self._hi = np.empty((sh, sw), np.uint8)
            self._col = np.empty((sh, 3 * sw), np.float32)
            self._f = np.empty((sh, sw, 3), np.uint8)
            self._acc = np.empty((sh, 4 * sw), np.float32)
            self._acc2 = np.empty((sh, 4 * sw), np.float32)
            self._est = np.empty((sh, sw, 3), np.uint8)
            self._ok = np.empty((sh, sw), np.uint8)
        _block_stats(alpha, fg, self._lo, self._hi, self._f, self._col)
        _spread_small(self._lo, self._hi, self._f, self.radius, self._acc, self._acc2, self._est, self._ok)
        _spread(alpha, fg, self._est, self._ok, s)


class GuidedUpsampler:
    """Upscale a low-resolution mask to the frame so its edges follow the frame's own edges.

    The fast guided filter (He and Sun, 2015): per-window linear coefficients ``q = a I + b``
    of the mask against the luma ``I`` are fitted at the mask's resolution, smoothed, scaled up
    and applied to the full-resolution luma. Costs a few full-size passes, so it suits a mask
    made every few frames (a segmentation model), not the per-frame key. Buffers are kept.

    ``radius`` is in low-resolution pixels; ``eps`` (luma variance, 0..1 units squared) sets how
    strong an edge must be to be followed.
    """

    def __init__(self, radius: int = 2, eps: float = 1e-3) -> None:
        self.ksize = (2 * radius + 1, 2 * radius + 1)
        self.eps = eps
        self._full: dict[str, np.ndarray] = {}

    def _buffer(self, name: str, shape: tuple[int, ...], dtype) -> np.ndarray:
        buf = self._full.get(name)
        if buf is None or buf.shape != shape:
            buf = self._full[name] = np.empty(shape, dtype)
        return buf

    def __call__(self, mask: np.ndarray, frame: np.ndarray, out: np.ndarray) -> np.ndarray:
        """``mask`` (h, w) uint8 at low resolution, ``frame`` (H, W, 3) BGR; writes ``out`` (H, W) uint8."""
        h, w = mask.shape
        height, width = out.shape
        luma = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY, dst=self._buffer("luma", (height, width), np.uint8))
        guide = cv2.resize(luma, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) * (1 / 255)
        p = mask.astype(np.float32) * (1 / 255)
        box = lambda img: cv2.boxFilter(img, -1, self.ksize)  # noqa: E731
        mean_i, mean_p = box(guide), box(p)
        var_i = box(guide * guide) - mean_i * mean_i
        a = (box(guide * p) - mean_i * mean_p) / (var_i + self.eps)
        b = mean_p - a * mean_i
        big_a = cv2.resize(box(a), (width, height), dst=self._buffer("a", (height, width), np.float32),
                           interpolation=cv2.INTER_LINEAR)
        big_b = cv2.resize(box(b), (width, height), dst=self._buffer("b", (height, width), np.float32),
                           interpolation=cv2.INTER_LINEAR)
        # q = a * I + b, with I the full-resolution luma in 0..1, written straight to uint8 levels.
        cv2.multiply(big_a, luma, dst=big_a, dtype=cv2.CV_32F)
        cv2.scaleAdd(big_b, 255.0, big_a, dst=big_a)
        np.clip(big_a, 0, 255, out=big_a)
        np.add(big_a, 0.5, out=big_a)
        out[:] = big_a  # the cast truncates; the 0.5 above rounds
        return out
