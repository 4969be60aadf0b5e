"""Matte operations: plain functions over a uint8 matte (H, W), changing it in place.

* :func:`clip_levels`: clip black / clip white (a lookup table);
* :func:`grow`: grow or shrink by a fraction of a pixel too;
* :func:`soften`: Gaussian blur of the matte;
* :func:`fill_holes`: close small holes and gaps in solid regions;
* :class:`EdgeSolver`: alpha and colour of the edge band solved again against the solid
  foreground nearby and the screen. Webcams send colour at half resolution (4:2:0), so a chroma
  key smears every edge by a pixel and loses hair finer than that; luma is sent at full
  resolution and carries the true edge position;
* :class:`Stabilizer`: temporal stability; a pixel whose picture did not change keeps part of
  the previous matte, a pixel whose picture changed keeps none (no trails).

Buffers live in small workspace objects, so nothing allocates per frame after the first.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numba
import numpy as np

from livekey.engine import kernel_cache, keying
from livekey.engine.keying import JIT

# The edge solve's larger helpers are called, not inlined: Numba inlines an ``inline="always"``
# helper by copying its IR into every call site (its own inlined helpers again into each copy), and
# typed, fused and lowered the resulting prange body for 95 of the first run's 120 s of compile.
# Called, they compile once each (the solve: about 13 s of CPU). They allocate nothing, so they go
# without reference counting: with it, Numba's increfs of the records' arrays on every per-pixel call
# cost more than the call (every helper called: 2.2x the CPU a frame, 1.3x without). Small leaf
# helpers stay inlined, and so do the per-pixel helpers the block solve calls once each
# (``_mix_pixel``, ``_mix_colour``, ``_faint_pixel``, ``_solid_trust``, ``_unlike_solid_beside``):
# one copy each, and called they cost the quiet 1080p path about 1.45x (the records passed per
# pixel). ``_open_beside`` (the 5 x 5 look round a solid pixel of the band, a few pixels a block) is
# called: 1.3 s less for the solve's compile, which paces a first run (18.2 to 16.9 s), for 2% on
# the 1080p path (8.15 / 8.31 against 7.96 / 8.12 ms, within this machine's noise).
CALLED = dict(JIT, _nrt=False)

_F0 = np.float32(0.0)
_F1 = np.float32(1.0)
_HALF = np.float32(0.5)
# Chroma detail: a window of blocks counts as a two-colour edge from a squared luma-chroma
# correlation of 0.5 (none) to 0.9 (full); restored chroma may leave the window's range by 12 levels.
R2_LO, R2_INV = np.float32(0.5), np.float32(1.0 / 0.4)
_MARGIN = np.float32(12.0)
# The subject's shadow on the screen: no darker than this share of its light, and taken for screen
# where the two-colour fit gives the pixel an alpha below this (see EdgeSolver).
SHADOW = (0.4, 0.08)
# Far from the subject a pixel that is the screen's colour darkened (c S) within this many levels is
# its shadow, and from this many on it is not.
_FIT_LO, _FIT_HI = np.float32(10.0), np.float32(20.0)
# A pixel the key had solid is solved too (4:2:0 smears a thin strand into solid-looking pixels),
# as far as the solve finds it mixed (alpha 0.95: not at all, 0.70: fully), unless its colour is a
# plain solid 4 x 4 block's beside it (within 8 levels: kept, from 16 on: solved), so that a shirt
# next to a neck of another colour, whose foreground estimate mixes the two, stays solid. Only
# blocks off the band's ring vouch: in the ring a plain solid block may itself be a halo of strands
# over the screen, smooth after 4:2:0 and JPEG (a doll's red hair on green, a plush's fur), which
# would keep itself solid (on the real set that halo was most of livekey's too-opaque bias).
_SOLID_FROM, _SOLID_SPAN = np.float32(0.95), np.float32(0.25)
_SOLID_MATCH = np.float32(8.0)
# ... and only next to a pixel the key left short of solid: in full where one is in the 3 x 3 around,
# by _OPEN_FAR where one is only in the 5 x 5 (on the real set, 94% of the right openings and 44%
# of the holes; the rest of the holes lay farther in, in a ring block's solid material).
_OPEN_FAR = np.float32(0.5)
# ... or where the pixel itself shows the screen's chroma (``keying.screen_share``; from
# _SELF_OPEN_LO: partly, from _SELF_OPEN_HI: fully) however far in: the key's hue band keeps a halo
# of fine strands of another hue (red hair on green) solid many pixels deep.
_SELF_OPEN_LO, _SELF_OPEN_HI = np.float32(0.15), np.float32(0.35)
# ... and only where a mix fits it closely, the chroma counting in full (within 15 levels: fully,
# from 30 on: not at all): a grey stand beside a red shirt is not a mix of the shirt and the screen.
_STRICT_LO, _STRICT_HI = np.float32(15.0), np.float32(30.0)
# Strands the key leaves at its gate or below: 4:2:0 halves a thin strand's colour, not its luma.
# Beside solid foreground, a pixel whose luma lies a share of the way from the screen's around it to
# the foreground's nearby is taken for that share of a strand, less _STRAND_FLOOR (sensor noise, the
# screen's own unevenness), times _STRAND_GAIN. The screen's luma there is the mean of the pixels the
# key found clear on the second row of the 3 x 3 blocks around (at least _STRAND_MIN_CLEAR of their
# 12), bilinear between block centres; a luma step under _STRAND_MIN_STEP levels between screen and
# foreground tells nothing.
_STRAND_FLOOR, _STRAND_GAIN = np.float32(0.15), np.float32(2.0)
# Next to the band (its blocks and those beside them) a strand's sides overrule its own share only
# where they leave it less than this much of it: the edge of a shadow leaves it none, a strand's own
# blur or a fainter strand beside it most. Farther out the sides always do (a pair of dark pixels in
# a deep shadow, far from the subject, would otherwise be taken for a strand). Next to the band a
# pixel lighter than the screen (a foreground lighter than it) keeps its share whatever its sides:
# a shadow cannot lighten it, and its sides are most often the subject's own edge, whose outer row
# 4:2:0 paints with the screen's colour (a teal shirt on a blue screen, keyed clear there).
_STRAND_SIDE = np.float32(0.3)
_STRAND_MIN_STEP, _STRAND_MIN_CLEAR = np.float32(15.0), np.float32(3.0)
# Webcams send chroma per 2 x 2 cell (4:2:0), luma per pixel. The solve reads the pixel's chroma
# against its cell's alpha and adds the pixel's luma step from the cell's mean luma, divided by the
# luma step from screen to foreground; _CELL_EPS (levels squared) damps that where the step is small
# (a teal shirt on a blue screen), as the pixel's luma there is mostly noise. In pixels the key had
# solid the luma step may raise the alpha, not lower it: there a darker step is the subject's texture.
_CELL_EPS = np.float32(100.0)
# Strands are sought up to this many 4 x 4 blocks from the band: a stray hair the key lost along its
# whole length lies outside it.
_STRAND_REACH = 3
# A solid block (by the key) whose luma spans more than this many levels is no plain foreground: a
# fringe of fine strands with the screen between them, which 4:2:0 smears into solid-looking pixels.
# Its colour is a mix, so the foreground estimate does not take it (nor the test of a pixel against
# the solid blocks beside it). Only blocks near the band are looked at.
_PLAIN_SPAN = np.float32(40.0)
# The screen's light spilled on the subject's edge, as a share of the screen's own (0..0.3 in steps
# of 0.01), is the one that best fits the band's mixed 4 x 4 blocks (alpha from over 50 to under
# 200 in them) as alpha (F + spill S) + (1 - alpha) S; a block's squared misfit counts up to
# _SPILL_CAP (a thin object of another colour, glass, fits no mix). Fitted from _SPILL_MIN_BLOCKS
# blocks on, else none; fitted every _SPILL_EVERY frames and followed by _SPILL_FOLLOW of the way.
_SPILL_GRID = np.arange(31, dtype=np.float32) * np.float32(0.01)
_SPILL_CAP = np.float32(50.0)
_SPILL_MIN_BLOCKS = 50
_SPILL_FOLLOW = 0.25
_SPILL_EVERY = 4  # frames between fits: the light changes slowly
# The screen the solve reads beside the subject. The screen estimate is made at 1/8 size and filled
# in behind the subject, and there faint strands the key left clear and 4:2:0 tint it: its chroma
# too weak (the strands' grey), its luma a few levels off. Its chromaticity there is taken from the
# estimate farther than _FAR_CELLS 8 x 8 cells from any cell the key did not clear (the mean over a
# box of _FAR_BOX cells), at the estimate's own luma but never brighter than that far field's; then
# its luma is lifted to the clear pixels' luma where that is brighter (per 4 x 4 block, the mean
# offset over a box of _NEAR_BOX blocks; see _mean_offset). The key reads the estimate as it was.
# Fitted every _SHIFT_EVERY frames (1.0 ms at 1080p; the screen estimate is refreshed as often).
_FAR_CELLS, _FAR_BOX, _NEAR_BOX = 3.0, (13, 13), (7, 7)
_SHIFT_EVERY = 8


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


@numba.njit(**JIT)
def _stabilize_row(al, prev, diff, strength, lo, inv_span):
    for xx in range(al.shape[0]):
        still = _F1 - min(max((np.float32(diff[xx]) - lo) * inv_span, _F0), _F1)
        k = strength * still
        a = np.float32(al[xx]) + k * (np.float32(prev[xx]) - np.float32(al[xx]))
        al[xx] = np.uint8(a + np.float32(0.5))
        prev[xx] = al[xx]


@numba.njit(parallel=True, **JIT)
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


# Bilinear weights of a pixel at offset p (0..3) in its 4-pixel block towards the block before
# (p < 2) or after (p >= 2), as cv2.resize INTER_LINEAR places them: (p + 0.5) / 4 - 0.5.
_NEAR_W = np.array([0.625, 0.875, 0.875, 0.625], np.float32)
_NEAR_D = np.array([-1, -1, 1, 1], np.int64)
_K3 = np.ones((3, 3), np.uint8)
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
_K_REACH = np.ones((2 * _STRAND_REACH - 1, 2 * _STRAND_REACH - 1), np.uint8)


@numba.njit(**JIT)
def _alpha_block_row(al, lo, hi):
    """Accumulate one matte row into its row of 4-pixel blocks: alpha min and max (flat views;
    the block width is a constant so the loop vectorises)."""
    for j in range(lo.shape[0]):
        x = 4 * j
        a0, a1, a2, a3 = al[x], al[x + 1], al[x + 2], al[x + 3]
        lo[j] = min(min(min(a0, a1), min(a2, a3)), lo[j])
        hi[j] = max(max(max(a0, a1), max(a2, a3)), hi[j])


@numba.njit(inline="always", **JIT)
def _luma_if_clear(src, al, x):
    """(luma, 1) of pixel ``x`` of a flat BGR row if the matte row ``al`` has it clear, else (0, 0)."""
    clear = np.float32(al[x] == 0)
    i = 3 * x
    luma = _ycc(np.float32(src[i]), np.float32(src[i + 1]), np.float32(src[i + 2]))[0]
    return clear * luma, clear


@numba.njit(**JIT)
def _clear_luma_row(src, al, wanted, ysum, count):
    """One pixel row's luma (``_ycc``) summed into its row of 4-pixel blocks, and counted, over the
    pixels the key left clear (alpha 0), in the blocks ``wanted`` marks (0 in the others)."""
    for j in range(ysum.shape[0]):
        if wanted[j] == 0:
            ysum[j] = count[j] = _F0
            continue
        y0, n0 = _luma_if_clear(src, al, 4 * j)
        y1, n1 = _luma_if_clear(src, al, 4 * j + 1)
        y2, n2 = _luma_if_clear(src, al, 4 * j + 2)
        y3, n3 = _luma_if_clear(src, al, 4 * j + 3)
        ysum[j] = (y0 + y1) + (y2 + y3)
        count[j] = (n0 + n1) + (n2 + n3)


@numba.njit(parallel=True, **JIT)
def _solid_colour_rows(frame, alpha, plain, csum, sat, wanted, ysum, count):
    """The first pass of the summed-area table ``sat`` (rows + 1, columns + 1, 4; int32, exact) of
    the plain solid 4 x 4 blocks' (``plain``) colour sums and count, and in ``csum`` those blocks'
    colour sums (the others' are not written: nothing reads them). A block's colour is the sum over
    its second row (4 pixels): the table's mean over many blocks does not need all four. On the same
    row, the luma sum and count of the pixels the key left clear in the blocks ``wanted`` marks
    (``ysum``, ``count``: the screen's luma, for the strands)."""
    h, w = frame.shape[0], frame.shape[1]
    sh, sw = plain.shape
    frame2 = frame.reshape((h, w * 3))
    for j in numba.prange(sh):
        src = frame2[4 * j + 1]
        _clear_luma_row(src, alpha[4 * j + 1], wanted[j], ysum[j], count[j])
        b = g = r = n = 0  # the row's running sums: the summed-area table's first pass
        sat[j + 1, 0, :] = 0
        for x in range(sw):
            # Only plain solid blocks are summed (a fifth of them on the bench's frames): summing every
            # block, as this pass once did, took twice as long there.
            if plain[j, x] != 0:
                i = 12 * x
                cb = np.int32(src[i]) + np.int32(src[i + 3]) + np.int32(src[i + 6]) + np.int32(src[i + 9])
                cg = np.int32(src[i + 1]) + np.int32(src[i + 4]) + np.int32(src[i + 7]) + np.int32(src[i + 10])
                cr = np.int32(src[i + 2]) + np.int32(src[i + 5]) + np.int32(src[i + 8]) + np.int32(src[i + 11])
                csum[j, 3 * x], csum[j, 3 * x + 1], csum[j, 3 * x + 2] = np.float32(cb), np.float32(cg), np.float32(cr)
                b, g, r, n = b + cb, g + cg, r + cr, n + 1
            sat[j + 1, x + 1, 0] = b
            sat[j + 1, x + 1, 1] = g
            sat[j + 1, x + 1, 2] = r
            sat[j + 1, x + 1, 3] = n
    sat[0, :, :] = 0


@numba.njit(inline="always", **JIT)
def _block_ycc(image, j, x):
    """Mean Y, Cb, Cr (BT.601, no offsets) of 4 x 4 block (j, x) of a BGR image."""
    sy = scb = scr = _F0
    for y in range(4 * j, 4 * j + 4):
        for xx in range(4 * x, 4 * x + 4):
            yy, cb, cr = _ycc(np.float32(image[y, xx, 0]), np.float32(image[y, xx, 1]), np.float32(image[y, xx, 2]))
            sy += yy
            scb += cb
            scr += cr
    inv16 = np.float32(1.0 / 16)
    return sy * inv16, scb * inv16, scr * inv16


@numba.njit(parallel=True, **JIT)
def _plain_solid_blocks(frame, lo, wanted, plain):
    """1 in ``plain`` for the solid 4 x 4 blocks (``lo`` >= 250) that hold plain foreground: where
    ``wanted`` marks them, a luma span of at most ``_PLAIN_SPAN`` over the block's 16 pixels."""
    sh, sw = lo.shape
    for j in numba.prange(sh):
        for x in range(sw):
            solid = lo[j, x] >= 250
            if solid and wanted[j, x] != 0:
                y_min, y_max = np.float32(1e9), np.float32(-1e9)
                for y in range(4 * j, 4 * j + 4):
                    for xx in range(4 * x, 4 * x + 4):
                        v = _ycc(np.float32(frame[y, xx, 0]), np.float32(frame[y, xx, 1]),
                                 np.float32(frame[y, xx, 2]))[0]
                        y_min, y_max = min(y_min, v), max(y_max, v)
                solid = y_max - y_min <= _PLAIN_SPAN
            plain[j, x] = np.uint8(solid)


@numba.njit(parallel=True, **JIT)
def _spill_misfit(frame, screen, lo, hi, band, cover, fcol, grid, misfit, used):
    """For each spill share in ``grid``, the summed squared misfit (Y, Cb, Cr; capped at
    ``_SPILL_CAP``) of the band's mixed blocks' mean colour ``I`` as ``a (F + k S) + (1 - a) S``, ``a``
    the best for each block (``F``: the block's foreground estimate, ``S``: the screen's mean
    there): per row of blocks into ``misfit`` (rows, grid), and the blocks used into ``used``.
    Block means carry the colour 4:2:0 smears between neighbouring pixels."""
    sh, sw = lo.shape
    for j in numba.prange(sh):
        misfit[j, :] = _F0
        used[j] = 0
        for x in range(sw):
            if band[j, x] == 0 or cover[j, x] == 0 or lo[j, x] > 200 or hi[j, x] < 50:
                continue
            yi, bi, ri = _block_ycc(frame, j, x)
            ys, bs, rs = _block_ycc(screen, j, x)
            yf, bf, rf = _ycc(fcol[j, x, 0], fcol[j, x, 1], fcol[j, x, 2])
            ey, eb, er = yi - ys, bi - bs, ri - rs
            ee = ey * ey + eb * eb + er * er
            used[j] += 1
            for k in range(grid.shape[0]):
                keep = _F1 - grid[k]
                dy, db, dr = yf - keep * ys, bf - keep * bs, rf - keep * rs
                dd = max(dy * dy + db * db + dr * dr, _F1)
                ed = ey * dy + eb * db + er * dr
                misfit[j, k] += min(max(ee - ed * ed / dd, _F0), _SPILL_CAP)


@numba.njit(**JIT)
def _add_row(above, row):
    for c in range(row.shape[0]):
        row[c] += above[c]


@numba.njit(parallel=True, **JIT)
def _column_sums(sat2):
    """The summed-area table's second pass over (rows, columns) in chunks of columns."""
    rows, cols = sat2.shape
    chunk = 256
    for k in numba.prange((cols + chunk - 1) // chunk):
        c0, c1 = k * chunk, min(cols, (k + 1) * chunk)
        for y in range(1, rows):
            # Over two row views: indexing rows y and y - 1 of one array, LLVM cannot tell they do
            # not overlap and leaves the loop scalar (4x the time).
            _add_row(sat2[y - 1, c0:c1], sat2[y, c0:c1])


@numba.njit(parallel=True, **JIT)
def _alpha_blocks(alpha, gate, lo, hi, band):
    """Alpha min and max of every 4 x 4 block, and 1 in ``band`` where it holds a pixel to solve
    (above the gate, not solid)."""
    sh = lo.shape[0]
    for j in numba.prange(sh):
        lo[j, :] = 255
        hi[j, :] = 0
        for y in range(4 * j, 4 * j + 4):
            _alpha_block_row(alpha[y], lo[j], hi[j])
        for x in range(lo.shape[1]):
            band[j, x] = np.uint8(hi[j, x] > gate) * np.uint8(lo[j, x] < 253)


@numba.njit(parallel=True, **JIT)
def _luma_chroma_means(frame, near, ycc):
    """Mean Y, Cb, Cr (BT.601, no offsets) of each 4 x 4 block marked in ``near``."""
    sh, sw = near.shape
    for j in numba.prange(sh):
        for x in range(sw):
            if near[j, x] != 0:
                ycc[0, j, x], ycc[1, j, x], ycc[2, j, x] = _block_ycc(frame, j, x)


@numba.njit(parallel=True, **JIT)
def _chroma_slopes(near, ycc, eps, slope):
    """Per block marked in ``near``, from the means of its 3 x 3 blocks: the slopes of Cb and Cr
    against Y (least-squares lines, ``eps`` luma levels squared of regularisation, scaled down to
    none as the points stop lying on a line) in planes 0 and 1 of ``slope``, and the Cb and Cr
    range the restored chroma must stay in (low, high) in planes 2-3 and 4-5."""
    sh, sw = near.shape
    for j in numba.prange(sh):
        for x in range(sw):
            if near[j, x] == 0:
                continue
            n = my = mb = mr = yy = yb = yr = bb = rr = _F0
            lob = lor = np.float32(1e9)
            hib = hir = np.float32(-1e9)
            for jj in range(max(j - 1, 0), min(j + 2, sh)):
                for xx in range(max(x - 1, 0), min(x + 2, sw)):
                    vy, vb, vr = ycc[0, jj, xx], ycc[1, jj, xx], ycc[2, jj, xx]
                    lob, hib, lor, hir = min(lob, vb), max(hib, vb), min(lor, vr), max(hir, vr)
                    n += _F1
                    my += vy
                    mb += vb
                    mr += vr
                    yy += vy * vy
                    yb += vy * vb
                    yr += vy * vr
                    bb += vb * vb
                    rr += vr * vr
            inv = _F1 / n
            my, mb, mr = my * inv, mb * inv, mr * inv
            var = yy * inv - my * my
            cov_b, cov_r = yb * inv - my * mb, yr * inv - my * mr
            var_b, var_r = bb * inv - mb * mb, rr * inv - mr * mr
            # Only a straight line explains an edge between two colours; texture, noise or a third
            # colour in the window scatters the points, and its luma detail must not become colour.
            line_b = min(max((cov_b * cov_b / (var * var_b + np.float32(1e-3)) - R2_LO) * R2_INV, _F0), _F1)
            line_r = min(max((cov_r * cov_r / (var * var_r + np.float32(1e-3)) - R2_LO) * R2_INV, _F0), _F1)
            slope[0, j, x] = line_b * cov_b / (var + eps)
            slope[1, j, x] = line_r * cov_r / (var + eps)
            # A mix of the colours around lies between them: the restored chroma stays in their range.
            slope[2, j, x], slope[3, j, x] = lob - _MARGIN, hib + _MARGIN
            slope[4, j, x], slope[5, j, x] = lor - _MARGIN, hir + _MARGIN


@numba.njit(**JIT)
def _restore_row(src, ym, sb, sr, lob, hib, lor, hir, out):
    """One pixel row (flat BGR views ``src``, ``out``; the rest one value a pixel, its block's):
    the luma detail the block mean ``ym`` does not have, carried into Cb and Cr by the block's
    slopes and kept within the chroma range of the blocks around."""
    top = np.float32(255.0)
    for xx in range(out.shape[0] // 3):
        i = 3 * xx
        ib, ig, ir = np.float32(src[i]), np.float32(src[i + 1]), np.float32(src[i + 2])
        y, cb, cr = _ycc(ib, ig, ir)
        d = y - ym[xx]
        dcb = min(max(cb + d * sb[xx], lob[xx]), hib[xx]) - cb
        dcr = min(max(cr + d * sr[xx], lor[xx]), hir[xx]) - cr
        # Y kept, Cb and Cr moved: the BT.601 inverse of a chroma-only change.
        out[i] = np.uint8(min(max(ib + np.float32(1.773) * dcb + _HALF, _F0), top))
        out[i + 1] = np.uint8(min(max(ig - np.float32(0.344) * dcb - np.float32(0.714) * dcr + _HALF, _F0), top))
        out[i + 2] = np.uint8(min(max(ir + np.float32(1.403) * dcr + _HALF, _F0), top))


# The band's blocks of a block row are gathered side by side into a scratch line, with their
# parameters spread to one value a pixel, before they are restored and keyed: the band's runs are
# short, and a per-block load in the pixel loop keeps it from vectorising (5x the cost). Block
# rows are dealt round-robin to this many lines, so the threads share an uneven band.
_LINES = 16


@numba.njit(**JIT)
def _gather_blocks(src, blocks, n, tail, out):
    """Copy the 4-pixel blocks ``blocks[:n]`` of a flat BGR row ``src`` side by side into ``out``,
    then the row's last ``tail`` pixels (past its last whole block)."""
    for b in range(n):
        s, d = 12 * blocks[b], 12 * b
        for i in range(12):
            out[d + i] = src[s + i]
    s, d = src.shape[0] - 3 * tail, 12 * n
    for i in range(3 * tail):
        out[d + i] = src[s + i]


@numba.njit(**JIT)
def _scatter_blocks(line, blocks, n, tail, dst, width):
    """The inverse of :func:`_gather_blocks`, for rows of ``width`` values a pixel (3: BGR, 1: alpha)."""
    size = 4 * width
    for b in range(n):
        s, d = size * b, size * blocks[b]
        for i in range(size):
            dst[d + i] = line[s + i]
    s, d = size * n, dst.shape[0] - width * tail
    for i in range(width * tail):
        dst[d + i] = line[s + i]


@numba.njit(parallel=True, **JIT)
def _restore_and_key(frame, screen, band, ycc, slope, p, restored, alpha, fg, blocks, pixel_par, lines):
    """Give the pixels of the blocks in ``band`` back the chroma detail that 4:2:0 took from them
    (the luma detail their block mean does not have, carried into Cb and Cr by the block's slope)
    and key them again. The restored colour goes to ``restored`` for the solve. Scratch, a line
    each (``_LINES``): ``blocks`` (int64, W / 4), ``pixel_par`` (float32, 7 x W) and ``lines``
    (uint8, 13 W: source, screen, restored and foreground BGR, then alpha)."""
    h, w = alpha.shape
    sh, sw = band.shape
    q = keying.unpack(p)
    frame2, screen2 = frame.reshape((h, w * 3)), screen.reshape((h, w * 3))
    fg2, out2 = fg.reshape((h, w * 3)), restored.reshape((h, w * 3))
    row = 3 * w
    for c in numba.prange(blocks.shape[0]):
        idx, par, line = blocks[c], pixel_par[c], lines[c]
        src, scr, res, col = line[:row], line[row:2 * row], line[2 * row:3 * row], line[3 * row:4 * row]
        al = line[4 * row:]
        for j in range(c, sh, blocks.shape[0]):
            n = 0
            for x in range(sw):
                if band[j, x] != 0:
                    idx[n] = x
                    for i in range(4 * n, 4 * n + 4):
                        par[0, i] = ycc[0, j, x]
                        for k in range(6):
                            par[k + 1, i] = slope[k, j, x]
                    n += 1
            if n == 0:
                continue
            # The columns past the last whole block belong to it, and so do the rows past the last.
            tail = w - 4 * sw if band[j, sw - 1] != 0 else 0
            for i in range(4 * n, 4 * n + tail):
                for k in range(7):
                    par[k, i] = par[k, 4 * n - 1]
            m = 4 * n + tail
            for y in range(4 * j, h if j == sh - 1 else 4 * j + 4):
                _gather_blocks(frame2[y], idx, n, tail, src)
                _gather_blocks(screen2[y], idx, n, tail, scr)
                _restore_row(src[:3 * m], par[0, :m], par[1, :m], par[2, :m], par[3, :m], par[4, :m], par[5, :m],
                             par[6, :m], res[:3 * m])
                keying.key_row(res[:3 * m], scr[:3 * m], q, al[:m], col[:3 * m])
                _scatter_blocks(res, idx, n, tail, out2[y], 3)
                _scatter_blocks(col, idx, n, tail, fg2[y], 3)
                _scatter_blocks(al, idx, n, tail, alpha[y], 1)


@numba.njit(inline="always", **JIT)
def _box(sat, c, y0, x0, y1, x1):
    """Sum of plane ``c`` over blocks [y0, y1) x [x0, x1) from the summed-area table ``sat``."""
    return sat[y1, x1, c] - sat[y0, x1, c] - sat[y1, x0, c] + sat[y0, x0, c]


@numba.njit(parallel=True, **JIT)
def _foreground_colour(near, sat, radii, fcol, cover, ysum, count, luma, clear):
    """The foreground colour of each block next to the band (``near``): the mean over the solid
    blocks within the smallest of ``radii`` (in blocks) that holds any, from the summed-area table
    ``sat``. Blocks with none get ``cover`` 0, and their colour is left as it was: the solve does
    not read it. And the screen's luma there (``luma``): the mean over the clear pixels sampled in
    the 3 x 3 blocks around (``ysum``, ``count``), ``clear`` of them (0 away from the band)."""
    sh, sw = near.shape
    for j in numba.prange(sh):
        for x in range(sw):
            cover[j, x] = 0
            clear[j, x] = _F0
            if near[j, x] == 0:
                continue
            total = n_clear = _F0
            for jj in range(max(j - 1, 0), min(j + 2, sh)):
                for xx in range(max(x - 1, 0), min(x + 2, sw)):
                    total += ysum[jj, xx]
                    n_clear += count[jj, xx]
            clear[j, x] = n_clear
            luma[j, x] = total / max(n_clear, _F1)
            for k in range(radii.shape[0]):
                r = radii[k]
                y0, y1 = max(0, j - r), min(sh, j + r + 1)
                x0, x1 = max(0, x - r), min(sw, x + r + 1)
                n = _box(sat, 3, y0, x0, y1, x1)
                if n > 0:
                    inv = np.float32(0.25) / np.float32(n)  # a block's colour is a 4-pixel sum
                    for c in range(3):
                        fcol[j, x, c] = np.float32(_box(sat, c, y0, x0, y1, x1)) * inv
                    cover[j, x] = 1
                    break


@numba.njit(inline="always", **JIT)
def _ycc(b, g, r):
    """BT.601 luma and colour differences, without offsets."""
    y = np.float32(0.114) * b + np.float32(0.587) * g + np.float32(0.299) * r
    return y, np.float32(0.564) * (b - y), np.float32(0.713) * (r - y)


@numba.njit(**CALLED)
def _shadow_share(yi, bi, ri, ys, bs, rs, yf, bf, rf, lam, darkest, shadow_alpha):
    """The share of the screen's light a pixel gets (``darkest``..1), if it is screen in shadow.

    The pixel (Y, Cb, Cr without offsets, chroma weighted by ``lam``) is fitted as ``a F + b S``,
    two unknowns: a shadow scales the screen, ``I = c S``, so screen in shadow fits with ``a``
    near 0 and ``b = c`` below 1. Where ``a`` is 0 the share is ``c``, from ``shadow_alpha`` up it
    is 1 (a real mix keeps the screen estimate), linear between. F and S nearly parallel cannot be
    told apart: 1. A pixel no darker than the screen is not in shadow: 1. ``darkest`` 1: off."""
    if yi >= ys or darkest >= _F1:
        return _F1
    ff = yf * yf + lam * (bf * bf + rf * rf)
    ss = ys * ys + lam * (bs * bs + rs * rs)
    fs = yf * ys + lam * (bf * bs + rf * rs)
    det = ff * ss - fs * fs
    if det <= np.float32(0.01) * ff * ss or det <= _F0:
        return _F1
    fi = yf * yi + lam * (bf * bi + rf * ri)
    si = ys * yi + lam * (bs * bi + rs * ri)
    a = (ss * fi - fs * si) / det
    if a >= shadow_alpha:
        return _F1  # a real mix, as most pixels of the band are: the share's divisions are not needed
    b = (ff * si - fs * fi) / det
    c = min(max(b / max(_F1 - a, np.float32(0.05)), darkest), _F1)
    t = min(max((shadow_alpha - a) / shadow_alpha, _F0), _F1)
    return _F1 + t * (c - _F1)


@numba.njit(inline="always", **JIT)
def _bilinear(col, cov, j, jx, jn, xn, wy, wx):
    """The colours of the blocks ``cov`` marks among the four around a pixel, bilinearly weighted
    (not normalised), and the sum of their weights. Unmarked blocks' colours are not read: they
    may be stale memory."""
    b = g = r = s = _F0
    if cov[j, jx] != 0:
        w = wy * wx
        b, g, r, s = b + w * col[j, jx, 0], g + w * col[j, jx, 1], r + w * col[j, jx, 2], s + w
    if cov[j, xn] != 0:
        w = wy * (_F1 - wx)
        b, g, r, s = b + w * col[j, xn, 0], g + w * col[j, xn, 1], r + w * col[j, xn, 2], s + w
    if cov[jn, jx] != 0:
        w = (_F1 - wy) * wx
        b, g, r, s = b + w * col[jn, jx, 0], g + w * col[jn, jx, 1], r + w * col[jn, jx, 2], s + w
    if cov[jn, xn] != 0:
        w = (_F1 - wy) * (_F1 - wx)
        b, g, r, s = b + w * col[jn, xn, 0], g + w * col[jn, xn, 1], r + w * col[jn, xn, 2], s + w
    return b, g, r, s


@numba.njit(inline="always", **JIT)
def _bilinear_luma(luma, clear, j, jx, jn, xn, wy, wx):
    """The screen luma at a pixel from the blocks around it that saw enough clear pixels
    (``_STRAND_MIN_CLEAR``), bilinearly weighted and normalised; -1 where none did."""
    total = wsum = _F0
    if clear[j, jx] >= _STRAND_MIN_CLEAR:
        total, wsum = total + wy * wx * luma[j, jx], wsum + wy * wx
    if clear[j, xn] >= _STRAND_MIN_CLEAR:
        total, wsum = total + wy * (_F1 - wx) * luma[j, xn], wsum + wy * (_F1 - wx)
    if clear[jn, jx] >= _STRAND_MIN_CLEAR:
        total, wsum = total + (_F1 - wy) * wx * luma[jn, jx], wsum + (_F1 - wy) * wx
    if clear[jn, xn] >= _STRAND_MIN_CLEAR:
        total, wsum = total + (_F1 - wy) * (_F1 - wx) * luma[jn, xn], wsum + (_F1 - wy) * (_F1 - wx)
    return total / wsum if wsum > np.float32(0.25) else -_F1


@numba.njit(inline="always", **JIT)
def _luma_at(image2, y, x, h, w):
    yy, xx = min(max(y, 0), h - 1), 3 * min(max(x, 0), w - 1)
    return _ycc(np.float32(image2[yy, xx]), np.float32(image2[yy, xx + 1]), np.float32(image2[yy, xx + 2]))[0]


@numba.njit(**CALLED)
def _side_luma(image2, y, x, h, w, dark):
    """The screen's luma on both sides of a thin strand through pixel (y, x) of a flat BGR image:
    over the four directions through it, the darker of the two opposite neighbours, at its
    brightest (for a strand darker than the screen; else the lighter, at its darkest). Across a
    strand both sides are screen; at the edge of a patch of shadow one side is shadow too. And the
    luma along the strand: the darkest of the eight neighbours (the lightest), for a strand goes on
    past the pixel where a dip of sensor noise or JPEG is one pixel alone."""
    best = np.float32(-1.0) if dark else np.float32(1e9)
    along = np.float32(1e9) if dark else np.float32(-1.0)
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        a = _luma_at(image2, y - dy, x - dx, h, w)
        b = _luma_at(image2, y + dy, x + dx, h, w)
        best = max(best, min(a, b)) if dark else min(best, max(a, b))
        along = min(along, min(a, b)) if dark else max(along, max(a, b))
    return best, along


@numba.njit(inline="always", **JIT)
def _cell_luma(image2, y, x, h, w):
    """Mean luma (``_ycc``) of the 2 x 2 chroma cell (even-aligned, as 4:2:0 samples it) holding
    pixel (y, x) of a flat BGR image."""
    y0, x0 = y - y % 2, x - x % 2  # _luma_at clamps the odd row and column at the frame's edge
    total = _luma_at(image2, y0, x0, h, w) + _luma_at(image2, y0, x0 + 1, h, w)
    return (total + _luma_at(image2, y0 + 1, x0, h, w) + _luma_at(image2, y0 + 1, x0 + 1, h, w)) * np.float32(0.25)


@numba.njit(**CALLED)
def _screen_in_shadow(yi, bi, ri, ys, bs, rs, darkest):
    """How surely (0..1) a pixel (Y, Cb, Cr without offsets) is the screen ``S`` darkened by a
    shadow: fitted as ``c S``, 1 where the fit leaves at most ``_FIT_LO`` levels, 0 from
    ``_FIT_HI`` on, and 0 for ``c`` below ``darkest`` (a dark object). The chroma counts in full:
    a shadow scales it exactly, a mix with anything else turns it."""
    ss = ys * ys + bs * bs + rs * rs
    if ss <= _F1 or darkest >= _F1:
        return _F0
    c = (ys * yi + bs * bi + rs * ri) / ss
    if c < darkest or c > np.float32(1.2):
        return _F0
    ry, rb, rr = yi - c * ys, bi - c * bs, ri - c * rs
    res2 = ry * ry + rb * rb + rr * rr
    if res2 <= _FIT_LO * _FIT_LO:  # the ramp's ends without the square root (most pixels)
        return _F1
    if res2 >= _FIT_HI * _FIT_HI:
        return _F0
    return min(max((_FIT_HI - math.sqrt(res2)) / (_FIT_HI - _FIT_LO), _F0), _F1)


@numba.njit(inline="always", **JIT)
def _unlike_solid_beside(yi, bi, ri, plain, csum, j, jx, lam, ring):
    """0 where the pixel (Y, Cb, Cr, chroma weighted by ``lam``) has the colour of a plain solid block
    (``plain``) off the band's ring (``ring`` 0) among the 3 x 3 around block (j, jx) (``csum``: each
    block's 4-pixel colour sum), within ``_SOLID_MATCH`` levels, 1 from twice that on."""
    sh, sw = plain.shape
    best = np.float32(1e9)
    for jj in range(max(j - 1, 0), min(j + 2, sh)):
        for xx in range(max(jx - 1, 0), min(jx + 2, sw)):
            if plain[jj, xx] != 0 and ring[jj, xx] == 0:
                yc, bc, rc = _ycc(csum[jj, 3 * xx] * np.float32(0.25), csum[jj, 3 * xx + 1] * np.float32(0.25),
                                  csum[jj, 3 * xx + 2] * np.float32(0.25))
                qy, qb, qr = yi - yc, bi - bc, ri - rc
                best = min(best, qy * qy + lam * (qb * qb + qr * qr))
                if best <= _SOLID_MATCH * _SOLID_MATCH:
                    return _F0  # no block can make it less unlike: the rest are not read
    return min(max((math.sqrt(best) - _SOLID_MATCH) / _SOLID_MATCH, _F0), _F1)


@numba.njit(parallel=True, **JIT)
def _far_cells(hi, screen, clear8, samples):
    """On the grid of 8 x 8 cells: 255 in ``clear8`` where the key had all four 4 x 4 blocks of a
    cell clear (``hi`` 0), and the screen at the cell's centre in ``samples`` (the estimate is smooth
    at this scale: it is made at 1/8 size)."""
    ch, cw = clear8.shape
    for j in numba.prange(ch):
        for x in range(cw):
            clear = hi[2 * j, 2 * x] == 0 and hi[2 * j, 2 * x + 1] == 0
            clear = clear and hi[2 * j + 1, 2 * x] == 0 and hi[2 * j + 1, 2 * x + 1] == 0
            clear8[j, x] = 255 if clear else 0
            for c in range(3):
                samples[j, x, c] = np.float32(screen[8 * j + 4, 8 * x + 4, c])


@numba.njit(parallel=True, **JIT)
def _far_weights(samples, dist, far_cells, far, weighted):
    """1 in ``far`` for the cells more than ``far_cells`` from any the key did not clear (``dist``),
    and the screen's samples times that in ``weighted``."""
    ch, cw = dist.shape
    for j in numba.prange(ch):
        for x in range(cw):
            f = np.float32(dist[j, x] > far_cells)
            far[j, x] = f
            for c in range(3):
                weighted[j, x, c] = f * samples[j, x, c]


@numba.njit(parallel=True, **JIT)
def _chroma_shift(samples, far, far_sum, far_weight, shift):
    """Per cell, in ``shift`` (B, G, R and a luma lift, 0 here): the chroma shift (its luma 0) that
    gives the screen's sample the far field's chromaticity (``far_sum`` / ``far_weight``) at its own
    luma, capped at the far field's, where the cell is not far itself; 0 elsewhere."""
    ch, cw = far.shape
    for j in numba.prange(ch):
        for x in range(cw):
            db = dg = dr = _F0
            fw = far_weight[j, x]
            if far[j, x] == _F0 and fw > np.float32(0.01):
                eb, eg, er = samples[j, x, 0], samples[j, x, 1], samples[j, x, 2]
                fb, fg, fr = far_sum[j, x, 0] / fw, far_sum[j, x, 1] / fw, far_sum[j, x, 2] / fw
                k = min(_ycc(eb, eg, er)[0] / max(_ycc(fb, fg, fr)[0], _F1), _F1)
                db, dg, dr = k * fb - eb, k * fg - eg, k * fr - er
                yd = _ycc(db, dg, dr)[0]
                db, dg, dr = db - yd, dg - yd, dr - yd
            shift[j, x, 0], shift[j, x, 1], shift[j, x, 2], shift[j, x, 3] = db, dg, dr, _F0


@numba.njit(parallel=True, **JIT)
def _luma_offsets(ysum, count, screen, offset, weight):
    """Per 4 x 4 block: the clear pixels' luma (``ysum`` / ``count``, sampled on the block's second
    row) less the screen's there, times ``count``, in ``offset``; ``count`` in ``weight``."""
    sh, sw = ysum.shape
    h, w = screen.shape[0], screen.shape[1]
    screen2 = screen.reshape((h, w * 3))
    for j in numba.prange(sh):
        for x in range(sw):
            n = count[j, x]
            weight[j, x] = offset[j, x] = _F0
            if n > _F0:
                weight[j, x], offset[j, x] = n, ysum[j, x] - n * _luma_at(screen2, 4 * j + 1, 4 * x + 1, h, w)


@numba.njit(parallel=True, **JIT)
def _mean_offset(offset_sum, weight_sum, shift):
    """The clear pixels' mean luma offset (``offset_sum`` / ``weight_sum``) as the luma lift of
    ``shift`` (its last channel) where it is positive and enough clear pixels are near; 0 elsewhere.
    Only up: beside a moving shadow the screen seen darker than the estimate (which follows it every
    few frames) would turn the shadow into a mix of the hair and that screen, a ghost beside the hair."""
    sh, sw = weight_sum.shape
    for j in numba.prange(sh):
        for x in range(sw):
            w = weight_sum[j, x]
            shift[j, x, 3] = max(offset_sum[j, x] / w, _F0) if w > np.float32(0.2) else _F0


@numba.njit(inline="always", **JIT)
def _bilinear_shift(shift, j, jx, jn, xn, wy, wx):
    """The screen shift (B, G, R, luma lift) at a pixel, bilinear between the centres of the four
    blocks around it."""
    w00, w01, w10, w11 = wy * wx, wy * (_F1 - wx), (_F1 - wy) * wx, (_F1 - wy) * (_F1 - wx)
    b = w00 * shift[j, jx, 0] + w01 * shift[j, xn, 0] + w10 * shift[jn, jx, 0] + w11 * shift[jn, xn, 0]
    g = w00 * shift[j, jx, 1] + w01 * shift[j, xn, 1] + w10 * shift[jn, jx, 1] + w11 * shift[jn, xn, 1]
    r = w00 * shift[j, jx, 2] + w01 * shift[j, xn, 2] + w10 * shift[jn, jx, 2] + w11 * shift[jn, xn, 2]
    y = w00 * shift[j, jx, 3] + w01 * shift[j, xn, 3] + w10 * shift[jn, jx, 3] + w11 * shift[jn, xn, 3]
    return b, g, r, y


@numba.njit(inline="always", **JIT)
def _solve_screen(sb, sg, sr, shift, shifted, j, jx, jn, xn, wy, wx):
    """The screen the solve reads at a pixel: the key's (``sb, sg, sr``) moved by the bilinear
    ``shift`` (its colour, then its luma lift) where ``shifted``; as BGR and as (Y, Cb, Cr)."""
    if not shifted:
        ys, bs, rs = _ycc(sb, sg, sr)
        return sb, sg, sr, ys, bs, rs
    tb, tg, tr, ty = _bilinear_shift(shift, j, jx, jn, xn, wy, wx)
    sb, sg, sr = sb + tb, sg + tg, sr + tr
    ys, bs, rs = _ycc(sb, sg, sr)
    return sb, sg, sr, ys + ty, bs, rs


@numba.njit(inline="always", **JIT)
def _put_colour(dst, back, y, x, cb, cg, cr, a, blend):
    """Write a pixel's colour (whole levels, 0..255) to the foreground ``dst``, or with ``blend``
    its composite at alpha ``a`` (0..1) over ``back`` to the composite ``dst``."""
    if blend:
        dst[y, x, 0] = keying.blend_level(cb, np.float32(back[y, x, 0]), a)
        dst[y, x, 1] = keying.blend_level(cg, np.float32(back[y, x, 1]), a)
        dst[y, x, 2] = keying.blend_level(cr, np.float32(back[y, x, 2]), a)
    else:
        dst[y, x, 0], dst[y, x, 1], dst[y, x, 2] = np.uint8(cb), np.uint8(cg), np.uint8(cr)


# The records hold what the solve reads; the matte and foreground it writes are passed apart: inlined
# into the prange body, Numba 0.68 loses writes through a record's arrays.
class SolveParams(NamedTuple):
    """One call's parameters of the edge solve (:class:`EdgeSolver` states what each does)."""

    gate: np.uint8  # the key's level above which a pixel is solved
    faint: np.uint8  # the level from which a pixel is tested for shadow (``gate`` when the test is off)
    lam: np.float32  # the chroma's weight against the luma in the two-colour fit
    m0: np.float32  # levels squared: the solve is trusted by |F - S|^2 / (|F - S|^2 + m0)
    res_lo: np.float32  # the fit's residual (levels) up to which the mix is trusted fully...
    res_hi: np.float32  # ... and from which not at all
    darkest: np.float32  # the darkest share of the screen's light a shadow leaves (1: no shadow test)
    shadow_alpha: np.float32  # a fit of a F + b S with a below this is screen in shadow
    spill: np.float32  # the share of the screen's light the edge reflects
    solve: bool  # solve the alpha (else only the colour)
    recolour: bool  # the band's colour from the solid foreground nearby
    blend: bool  # ``fg`` holds the key's composite over ``back``
    strands: bool  # seek faint strands the key left out
    cells: bool  # read chroma per 2 x 2 cell, as 4:2:0 sends it
    shifted: bool  # the solve reads the screen moved by the blocks' ``shift``
    solid: bool  # pixels the key had solid may be solved lower (``_solid_trust``)


class SolveImages(NamedTuple):
    """The full-size pictures the solve reads, flat (H, W * 3)."""

    original: np.ndarray  # the key's input; the shadow test and the strands read it
    frame: np.ndarray  # what the solve reads (``original`` with its chroma detail restored, or itself)
    screen: np.ndarray  # the key's screen


class SolveBlocks(NamedTuple):
    """Per 4 x 4 block statistics (see :meth:`EdgeSolver._allocate`)."""

    lo: np.ndarray  # the key's alpha minimum
    hi: np.ndarray  # ... and maximum
    fcol: np.ndarray  # the foreground colour nearby (B, G, R)
    cover: np.ndarray  # 1 where ``fcol`` holds one
    csum: np.ndarray  # plain solid blocks' colour sums (4 pixels)
    luma: np.ndarray  # the screen's luma from the clear pixels around
    clear: np.ndarray  # how many clear pixels ``luma`` saw
    ring: np.ndarray  # the band's blocks and those beside them
    plain: np.ndarray  # plain solid blocks
    shift: np.ndarray  # the screen the solve reads: B, G, R shift and a luma lift


class PixelAt(NamedTuple):
    """Where a pixel lies: (y, x), its block (j, jx), the block its bilinear weights reach
    (jn, xn) and those weights (wy, wx) towards its own."""

    y: int
    x: int
    j: int
    jx: int
    jn: int
    xn: int
    wy: np.float32
    wx: np.float32


@numba.njit(inline="always", **JIT)
def _pixel_at(sh, sw, j, jx, y, x):
    """A pixel's place and bilinear weights (``_NEAR_W``, ``_NEAR_D``) among the blocks."""
    pr, pc = min(y - 4 * j, 3), min(x - 4 * jx, 3)
    jn = min(max(j + _NEAR_D[pr], 0), sh - 1)
    xn = min(max(jx + _NEAR_D[pc], 0), sw - 1)
    return PixelAt(y, x, j, jx, jn, xn, _NEAR_W[pr], _NEAR_W[pc])


@numba.njit(inline="always", **JIT)
def _foreground_at(bl, at):
    """The foreground colour nearby at a pixel: bilinear over the blocks that hold one."""
    fb, fgr, fr, wf = _bilinear(bl.fcol, bl.cover, at.j, at.jx, at.jn, at.xn, at.wy, at.wx)
    inv_w = _F1 / wf
    return fb * inv_w, fgr * inv_w, fr * inv_w


@numba.njit(inline="always", **JIT)
def _solve_screen_at(bl, sp, ub, ug, ur, at):
    return _solve_screen(ub, ug, ur, bl.shift, sp.shifted, at.j, at.jx, at.jn, at.xn, at.wy, at.wx)


@numba.njit(inline="always", **JIT)
def _pixel_bgr(rows, y, x):
    i = 3 * x
    return np.float32(rows[y, i]), np.float32(rows[y, i + 1]), np.float32(rows[y, i + 2])


@numba.njit(inline="always", **JIT)
def _skip_block(bl, sp, j, jx):
    """True for a block with nothing to solve, clear as shadow or seek strands in (most of them)."""
    seek = sp.strands and bl.cover[j, jx] != 0
    if bl.lo[j, jx] >= 253 and (bl.ring[j, jx] == 0 or bl.cover[j, jx] == 0):
        return True
    if bl.hi[j, jx] <= sp.faint and not seek:
        return True
    shadow_test = sp.darkest < _F1 and sp.solve
    return (bl.cover[j, jx] == 0 or bl.hi[j, jx] <= sp.gate) and not shadow_test and not seek


@numba.njit(**CALLED)
def _strand_level(im, bl, sp, at, yi, beside_band):
    """The alpha level (0..255) of a faint strand at a pixel of luma ``yi`` the key left at its
    gate or below, from its luma against the screen's around it and the foreground's nearby (see
    ``_STRAND_FLOOR``), and the foreground colour; level 0 where it is no strand."""
    fb, fgr, fr = _foreground_at(bl, at)
    y_screen = _bilinear_luma(bl.luma, bl.clear, at.j, at.jx, at.jn, at.xn, at.wy, at.wx)
    step = (_F1 - sp.spill) * y_screen - _ycc(fb, fgr, fr)[0]
    if y_screen < _F0 or abs(step) < _STRAND_MIN_STEP:
        return np.uint8(0), fb, fgr, fr
    share = (y_screen - yi) / step
    if share <= _STRAND_FLOOR + np.float32(0.5 / 255.0) / _STRAND_GAIN:
        return np.uint8(0), fb, fgr, fr
    h, w = im.original.shape[0], im.original.shape[1] // 3
    # A strand is thin: the pixels on both sides of it are screen, the edge of a patch of shadow has
    # shadow on one side. Next to the band the sides may be a little dark too (the strand's own blur,
    # a fainter strand beside it): there only sides nearly as dark as the pixel overrule its share.
    y_side, y_along = _side_luma(im.original, at.y, at.x, h, w, step > _F0)
    side_share = (y_side - yi) / step
    if not beside_band or (step > _F0 and side_share < _STRAND_SIDE * share):
        share = min(share, side_share)
    if (y_screen - y_along) / step <= _HALF * _STRAND_FLOOR:
        share = _F0  # one pixel alone: noise
    a_new = min(max((share - _STRAND_FLOOR) * _STRAND_GAIN, _F0), _F1)
    return np.uint8(a_new * np.float32(255.0) + _HALF), fb, fgr, fr


@numba.njit(inline="always", **JIT)
def _faint_pixel(im, bl, q, sp, at, a_key, seek, plain, beside_band, alpha, fg, back):
    """A pixel the key left at the gate or below, or with no foreground near: a faint strand
    (``_strand_level``) raises it; else, from ``faint`` up, the screen darkened by a shadow is
    cleared as far as it fits ``c S`` (``_screen_in_shadow``)."""
    y, x = at.y, at.x
    ib, ig, ir = _pixel_bgr(im.original, y, x)
    ub, ug, ur = _pixel_bgr(im.screen, y, x)
    yi, bi, ri = _ycc(ib, ig, ir)
    if seek and not plain:
        level, fb, fgr, fr = _strand_level(im, bl, sp, at, yi, beside_band)
        if level > a_key:
            alpha[y, x] = level
            a = np.float32(level) * np.float32(1.0 / 255.0)
            if sp.recolour:
                cb, cg, cr = keying.despill_pixel(fb, fgr, fr, q)
            else:
                cb, cg, cr = keying.recover_pixel(ib, ig, ir, ub, ug, ur, a, q)
            _put_colour(fg, back, y, x, cb, cg, cr, a, sp.blend)
            return
    if a_key <= sp.faint:
        return
    ys, bs, rs = _solve_screen_at(bl, sp, ub, ug, ur, at)[3:]
    t = _screen_in_shadow(yi, bi, ri, ys, bs, rs, sp.darkest)
    if t > _F0:
        a_old = np.float32(a_key) * np.float32(1.0 / 255.0)
        level = np.uint8(a_old * (_F1 - t) * np.float32(255.0) + _HALF)
        alpha[y, x] = level
        a = np.float32(level) * np.float32(1.0 / 255.0)
        cb = cg = cr = _F0  # the colour of a pixel cleared (most are) is black
        if level > 0:
            cb, cg, cr = keying.recover_pixel(ib, ig, ir, ub, ug, ur, a, q)
        _put_colour(fg, back, y, x, cb, cg, cr, a, sp.blend)


@numba.njit(inline="always", **JIT)
def _cell_alphas(a_s, dev, dy, den_safe, a_key):
    """The alpha of the pixel's luma (``a_s``) and of its chroma (``a_c``) read per 4:2:0 cell: the
    chroma against the cell's alpha, the pixel's luma step from the cell's mean (``dev``) in full
    over the luma step ``dy`` (damped by ``_CELL_EPS``); in a pixel the key had solid the step may
    raise the alpha, not lower it (a darker stripe of a shirt is texture, not a mix)."""
    a_c = a_s - dev * dy / den_safe
    a_cell = a_c + dev * dy / (dy * dy + _CELL_EPS)
    return (a_cell if a_key < 253 else max(a_s, a_cell)), a_c


@numba.njit(inline="always", **JIT)
def _solid_trust(im, bl, q, sp, y, x, j, jx, yi, bi, ri, a_s, ry, rb, rr):
    """How far (0..1) the solve may move a pixel the key had solid: as far as it finds it mixed
    (``_SOLID_FROM``), a mix fits it with the chroma in full (``_STRICT_LO``) and its colour is not
    a plain solid block's beside it (``_unlike_solid_beside``)."""
    trust = min(max((_SOLID_FROM - a_s) / _SOLID_SPAN, _F0), _F1)
    if trust > _F0:
        strict = math.sqrt(ry * ry + rb * rb + rr * rr)
        trust *= min(max((_STRICT_HI - strict) / (_STRICT_HI - _STRICT_LO), _F0), _F1)
    if trust > _F0:
        trust *= _unlike_solid_beside(yi, bi, ri, bl.plain, bl.csum, j, jx, sp.lam, bl.ring)
    if trust > _F0:
        trust *= _open_beside(im, q, y, x)
    return trust


@numba.njit(**CALLED)
def _open_beside(im, q, y, x):
    """1 where the key left a pixel of the 3 x 3 around pixel (y, x) short of solid, ``_OPEN_FAR``
    where only one of the 5 x 5 (4:2:0 smears a strand by a pixel, not more), 0 where none: a
    pixel inside solid material is not opened, whatever its block. The key's alpha is recomputed
    from the frame, as the solve changes the matte around it."""
    h, w = im.original.shape[0], im.original.shape[1] // 3
    ib, ig, ir = _pixel_bgr(im.original, y, x)
    sb, sg, sr = _pixel_bgr(im.screen, y, x)
    share = keying.screen_share(ib, ig, ir, sb, sg, sr, q)
    best = min(max((share - _SELF_OPEN_LO) * (_F1 / (_SELF_OPEN_HI - _SELF_OPEN_LO)), _F0), _F1)
    if best >= _F1:
        return best
    for dy in range(-2, 3):
        for dx in range(-2, 3):
            yy, xx = y + dy, x + dx
            if (dy == 0 and dx == 0) or yy < 0 or yy >= h or xx < 0 or xx >= w:
                continue
            ib, ig, ir = _pixel_bgr(im.original, yy, xx)
            sb, sg, sr = _pixel_bgr(im.screen, yy, xx)
            if keying.key_alpha(ib, ig, ir, sb, sg, sr, q) < np.float32(253.0):
                if abs(dy) <= 1 and abs(dx) <= 1:
                    return _F1
                best = max(best, _OPEN_FAR)
    return best


@numba.njit(inline="always", **JIT)
def _mix_pixel(im, bl, q, sp, at, a_key, src_rows, y_cell, alpha, fg, back):
    """A pixel of the band (above the gate, foreground near): solved as a mix of the foreground
    nearby (lit by the spill) and the screen (darkened where it fits a shadow), trusted by the
    step's size, the fit and, for a pixel the key had solid, ``_solid_trust``; then its colour."""
    y, x, lam = at.y, at.x, sp.lam
    ib, ig, ir = _pixel_bgr(src_rows, y, x)
    ub, ug, ur = _pixel_bgr(im.screen, y, x)
    yi, bi, ri = _ycc(ib, ig, ir)
    fb, fgr, fr = _foreground_at(bl, at)
    sb, sg, sr, ys, bs, rs = _solve_screen_at(bl, sp, ub, ug, ur, at)
    yf, bf, rf = _ycc(fb + sp.spill * sb, fgr + sp.spill * sg, fr + sp.spill * sr)
    c = _shadow_share(yi, bi, ri, ys, bs, rs, yf, bf, rf, lam, sp.darkest, sp.shadow_alpha)
    ys, bs, rs = c * ys, c * bs, c * rs
    dy, db, dr = yf - ys, bf - bs, rf - rs
    ey, eb, er = yi - ys, bi - bs, ri - rs
    den = dy * dy + lam * (db * db + dr * dr)
    den_safe = max(den, np.float32(1e-3))
    a_s = (dy * ey + lam * (db * eb + dr * er)) / den_safe
    a_c = a_s  # the alpha the pixel's chroma is read against
    if sp.cells:
        a_s, a_c = _cell_alphas(a_s, yi - y_cell, dy, den_safe, a_key)
    a_s, a_c = min(max(a_s, _F0), _F1), min(max(a_c, _F0), _F1)
    ry, rb, rr = ey - a_s * dy, eb - a_c * db, er - a_c * dr
    # A pixel a mix of F and S does not explain (a thin object of another colour, glass) keeps
    # the key's alpha and its own colour.
    res2 = ry * ry + lam * (rb * rb + rr * rr)
    fit = _F1  # the ramp's ends without the square root (most pixels fit)
    if res2 > sp.res_lo * sp.res_lo:
        fit = min(max((sp.res_hi - math.sqrt(res2)) * (_F1 / (sp.res_hi - sp.res_lo)), _F0), _F1)
    a_old = np.float32(a_key) * np.float32(1.0 / 255.0)
    a = a_old
    if sp.solve:
        trust = den / (den + sp.m0) * fit
        if a_key >= 253 and trust > _F0:
            trust *= _solid_trust(im, bl, q, sp, y, x, at.j, at.jx, yi, bi, ri, a_s, ry, rb, rr) if sp.solid else _F0
        level = np.uint8((a_old + trust * (a_s - a_old)) * np.float32(255.0) + _HALF)
        alpha[y, x] = level
        a = np.float32(level) * np.float32(1.0 / 255.0)  # the colour agrees with the uint8 matte
    if sp.recolour:
        _mix_colour(q, sp, y, x, fb, fgr, fr, ib, ig, ir, ub, ug, ur, a, a_old, fit, fg, back)
    elif a != a_old:
        cb, cg, cr = keying.recover_pixel(ib, ig, ir, ub, ug, ur, a, q)
        _put_colour(fg, back, y, x, cb, cg, cr, a, sp.blend)


@numba.njit(inline="always", **JIT)
def _mix_colour(q, sp, y, x, fb, fgr, fr, ib, ig, ir, ub, ug, ur, a, a_old, fit, fg, back):
    """A band pixel's colour: the foreground nearby despilled, as far as the mix fits (``fit``);
    the pixel's own keyed colour where it does not."""
    cb, cg, cr = keying.despill_pixel(fb, fgr, fr, q)
    if fit < _F1:
        if sp.blend:
            ob, og, orr = keying.recover_pixel(ib, ig, ir, ub, ug, ur, a_old, q)
        else:
            ob, og, orr = np.float32(fg[y, x, 0]), np.float32(fg[y, x, 1]), np.float32(fg[y, x, 2])
        cb, cg = keying.round_level(ob + fit * (cb - ob)), keying.round_level(og + fit * (cg - og))
        cr = keying.round_level(orr + fit * (cr - orr))
    if a == _F0:
        cb = cg = cr = _F0
    _put_colour(fg, back, y, x, cb, cg, cr, a, sp.blend)


@numba.njit(**CALLED)
def _block_cells(rows, j, jx, h, w):
    """The mean lumas of the four 2 x 2 chroma cells of block (j, jx)."""
    y0, x0 = 4 * j, 4 * jx
    return (_cell_luma(rows, y0, x0, h, w), _cell_luma(rows, y0, x0 + 2, h, w),
            _cell_luma(rows, y0 + 2, x0, h, w), _cell_luma(rows, y0 + 2, x0 + 2, h, w))


@numba.njit(**CALLED)
def _solve_block(im, bl, q, sp, j, jx, alpha, fg, back):
    """Every pixel of block (j, jx) (the last row and column of blocks reach the frame's edge):
    faint pixels to ``_faint_pixel``, the band's to ``_mix_pixel``."""
    h, w = alpha.shape
    sh, sw = bl.lo.shape
    seek = sp.strands and bl.cover[j, jx] != 0
    beside_band = bl.ring[j, jx] != 0
    # The block's own screen luma and step, for a quick first look at each faint pixel.
    y_block = bl.luma[j, jx]
    step_block = y_block - _ycc(bl.fcol[j, jx, 0], bl.fcol[j, jx, 1], bl.fcol[j, jx, 2])[0] if seek else _F1
    quick = seek and bl.clear[j, jx] >= _STRAND_MIN_CLEAR and abs(step_block) >= _F1
    # A block the key had solid is read as it came: restored chroma (a line through the window's
    # colours) is no help inside the subject, where more colours meet.
    src_rows = im.original if bl.lo[j, jx] >= 253 else im.frame
    cells_read = False
    c00 = c01 = c10 = c11 = _F0
    for y in range(4 * j, h if j == sh - 1 else 4 * j + 4):
        for x in range(4 * jx, w if jx == sw - 1 else 4 * jx + 4):
            a_key = alpha[y, x]
            if a_key <= sp.faint and not seek:
                continue
            # Plainly the screen (or a shadow) against the block's own step: no strand. Most faint
            # pixels are, and are left before anything else is read.
            plain = False
            if quick and a_key <= sp.gate:
                ob, og, orr = _pixel_bgr(im.original, y, x)
                y0 = _ycc(ob, og, orr)[0]
                plain = (y_block - y0) / step_block <= np.float32(0.5) * _STRAND_FLOOR
                if plain and a_key <= sp.faint:
                    continue
            at = _pixel_at(sh, sw, j, jx, y, x)
            if bl.cover[j, jx] == 0 or a_key <= sp.gate:
                _faint_pixel(im, bl, q, sp, at, a_key, seek, plain, beside_band, alpha, fg, back)
                continue
            y_cell = _F0
            if sp.cells:
                if y < 4 * j + 4 and x < 4 * jx + 4:
                    if not cells_read:
                        c00, c01, c10, c11 = _block_cells(src_rows, j, jx, h, w)
                        cells_read = True
                    left = x < 4 * jx + 2
                    y_cell = (c00 if left else c01) if y < 4 * j + 2 else (c10 if left else c11)
                else:  # the rows and columns past the frame's last whole block
                    y_cell = _cell_luma(src_rows, y, x, h, w)
            _mix_pixel(im, bl, q, sp, at, a_key, src_rows, y_cell, alpha, fg, back)


@numba.njit(parallel=True, **JIT)
def _solve_blocks(im, bl, p, sp, alpha, fg, back):
    """The solve over the band's blocks (see :class:`EdgeSolver`); ``p`` the key's parameters,
    ``sp`` the solve's (:class:`SolveParams`); ``alpha`` and ``fg`` solved in place. With
    ``sp.blend``, ``fg`` holds the key's composite over ``back``
    (:func:`livekey.keying.key_composite`), not its foreground, and a pixel whose alpha or colour
    changes is composited again."""
    q = keying.unpack(p)
    sh, sw = bl.lo.shape
    for j in numba.prange(sh):
        for jx in range(sw):
            if not _skip_block(bl, sp, j, jx):
                # One index type: the prange index is int64 when typed, uint64 in the parallel body.
                _solve_block(im, bl, q, sp, np.int64(j), jx, alpha, fg, back)


def _flat(image: np.ndarray) -> np.ndarray:
    """A (H, W, 3) image as a (H, W * 3) view."""
    return image.reshape((image.shape[0], -1))


def compile_solve() -> None:
    """Compile the edge solve's kernel for the argument types every :class:`EdgeSolver` call passes
    (they do not depend on the settings), without running it. A first run does this in a helper
    process, into Numba's cache, while it compiles the other kernels itself
    (:func:`livekey.engine.kernel_cache.compile_aside`)."""
    solver = EdgeSolver()
    solver._allocate(8, 8)
    pixels = np.zeros((8, 8, 3), np.uint8)
    images = SolveImages(_flat(pixels), _flat(pixels), _flat(pixels))
    args = (images, solver._stats, np.zeros(keying.N_PARAMS, np.float32), solver._params(False),
            np.zeros((8, 8), np.uint8), pixels, pixels)
    _solve_blocks.compile(tuple(numba.typeof(arg) for arg in args))


class EdgeSolver:
    """Edge alpha and colour from the solid foreground nearby and the screen behind.

    A chroma key sees an edge pixel's colour smeared with its neighbours' (webcams send colour at
    half resolution, 4:2:0, then JPEG), and assumes the foreground is grey. Here, in the edge band
    only, each pixel ``I`` is solved against a local model: the foreground colour ``F`` is the
    mean of the plain solid 4 x 4 blocks (all alpha >= 250, and near the band a luma span of at
    most 40 levels: a fringe of strands with the screen between them, which 4:2:0 made look solid,
    is a mix, not foreground) within 2, 5 or ``radius`` blocks, the nearest that holds any (a
    summed-area table, O(N)), bilinear between block centres; the screen ``S`` is the keyer's
    per-pixel screen, moved beside the subject with ``screen_shift`` (and ``strands``: it too reads
    the pixels the key left clear as screen) every ``_SHIFT_EVERY`` frames, per block: its
    chromaticity there is the far field's (the screen estimate away from the subject, at its own
    luma), and its luma is lifted to that of the clear pixels around where they are brighter, as
    strands the key left clear darken and grey the blocks the estimate is made from (the key reads
    the screen unmoved). The screen's light spills on the subject's edge and lights it: the edge
    is solved against ``F + spill S``, with ``spill`` (0..0.3) the share that best fits the band's
    mixed blocks (their means, which 4:2:0 does not smear) as such a mix, fitted every few frames
    and followed slowly (:attr:`spill`; none fits a subject without spill). Then

    ``alpha = <I - S, F - S> / |F - S|^2`` in Y, Cb, Cr with the chroma weighted by ``chroma``
    (luma arrives at full resolution, chroma at half), blended with the key's alpha by
    ``|F - S|^2 / (|F - S|^2 + m0)`` (``m0`` 25 levels squared: half at a step of 5 levels) so a
    foreground the colour of the screen keeps the key, and by how well the mix explains the pixel
    (the residual, ``residual`` levels from fully trusted to not at all), so a thin object of another
    colour keeps the key too. With ``cells`` (the default), chroma is read as 4:2:0 sends it, one
    per 2 x 2 cell: the pixel's chroma is read against its
    cell's alpha, and its luma step from the cell's mean luma moves it by that step over the luma
    step ``F - S`` (damped by ``_CELL_EPS`` where that is small), not diluted by the chroma's
    weight. In pixels the key had solid the luma step may raise the alpha, not lower it: a darker
    step there is the subject's texture (a striped shirt would be pitted); with ``restore`` the
    chroma is restored per pixel and read per pixel. Pixels the key had solid are solved as well, in
    the band's blocks and the blocks round it (4:2:0 smears a thin strand into solid-looking pixels,
    and a fringe of strands into a solid-looking patch), but only as far as the solve puts them
    below 0.95, the mix fits them with the chroma counted in full, and their colour is not that of a
    solid block beside them: a thin object with no solid block of its own (a stand, a cable) would
    otherwise be solved against the colour of something else nearby; and only beside a pixel the key
    left short of solid (``_OPEN_FAR``): inside solid material a two-colour fit that reads a mix is
    wrong, and it punched holes in real mesh and fur (``solid=False``: never).

    The subject's shadow darkens the screen right beside it, often more than the screen estimate
    (made at 1/8 size) follows, so the key sees a faint leak there. With ``shadow`` = (darkest,
    alpha) each pixel is also fitted as ``a F + b S``: one that fits with ``a`` below ``alpha`` is
    taken for screen darkened to ``b`` (no darker than ``darkest``), and solved against that
    screen; a real mix keeps the estimate. Where no solid foreground is near (beyond ``radius``),
    or the key is too faint to solve (``gate`` and below, above 2), nothing tells a dark mix from a
    shadow, and a pixel that fits ``c S`` (``c`` from ``darkest`` to 1.2, plain Y, Cb, Cr distance
    10 levels, fading to none at 20) is taken for the shadow and cleared: a subject's moving
    shadow, ahead of the screen estimate, would otherwise show as a ghost or its outline. ``None``
    keeps the shadow (a plate with the shadow kept).

    With ``recolour`` the band takes ``F`` despilled as its colour (blur-fusion foreground
    estimation, Forte and Pitie 2021, on the solid blocks' mean) as far as the mix of ``F`` and
    ``S`` explains the pixel (the same residual ramp), keeping its own keyed colour where it does
    not (a pale glass next to a purple sleeve); without it, a pixel whose alpha changed is un-mixed
    again. Pixels the key left at ``gate``/255 or below are not solved (only cleared as shadow), so
    sensor noise on the screen cannot become leaks; with ``strands``, those within a few blocks of
    the band beside solid foreground are tested for faint strands by their luma alone (4:2:0 halves
    a thin strand's colour, not its luma): the share of the way from the screen's luma around them
    (the pixels the key found clear nearby) to the foreground's (lit by the spill), less a floor for
    noise, doubled, where the pixels on both sides of them are screen (a patch of shadow is no
    strand; next to the band, sides a little dark, from the strand's own blur or a fainter strand
    beside it, do not count against it, and a pixel lighter than the screen, which no shadow makes,
    keeps its share: most often the outer row of a light subject, which 4:2:0 paints with the
    screen's colour). One pass of block statistics over the frame, then only the
    blocks of the band and round it are visited: 3.2-3.6 ms at 1080p on 2 cores (``livekey bench``,
    stage ``refine``).

    With ``restore`` (the ``chroma_detail`` setting) the blocks of the band and one block around
    them first get back the chroma detail 4:2:0 took: inside a few blocks an edge is a mix of two
    colours, so Cb and Cr are a straight line in Y; the line's slope, fitted through the 3 x 3 block
    means (``eps`` regularises flat blocks; a window whose points do not lie on a line, such as a
    striped shirt, gets none), carries each pixel's luma detail (its luma less its block's mean)
    into its chroma, kept within the window's chroma range. Those pixels are keyed again from the
    restored colour, which the solve then reads. About 1.25 ms more at 1080p.
    """

    SCALE = 4

    def __init__(self, solve: bool = True, recolour: bool = True, radius: int = 48, gate: int = 20,
                 chroma: float = 0.25, m0: float = 25.0, residual: tuple[float, float] = (20.0, 60.0),
                 restore: bool = False, eps: float = 25.0,
                 shadow: tuple[float, float] | None = SHADOW, strands: bool = True, cells: bool = True,
                 screen_shift: bool = True, solid: bool = True) -> None:
        self.solid = solid
        self.solve, self.recolour, self.gate, self.chroma, self.m0 = solve, recolour, gate, chroma, m0
        self.strands = strands and solve
        # The solve's own screen reads the pixels the key left clear as screen, as the strands do.
        self.screen_shift = screen_shift and self.strands
        self.cells = cells
        self.restore, self.eps = restore and solve, eps
        self.residual = residual
        self.shadow = shadow or (1.0, 1.0)  # darkest 1: no pixel is taken for shadow
        self.radii = np.array([2, 5, max(6, radius // self.SCALE)], np.int64)
        self.faint = 2  # from this alpha level up the shadow test runs (the solve from ``gate``)
        self.spill: float | None = None  # the screen's light the edge reflects, followed frame to frame
        self._frames = 0
        self._shape: tuple[int, int] | None = None

    def _allocate(self, h: int, w: int) -> None:
        self._shape = (h, w)
        sh, sw = h // self.SCALE, w // self.SCALE
        self._lo = np.empty((sh, sw), np.uint8)
        self._hi = np.empty((sh, sw), np.uint8)
        self._csum = np.empty((sh, 3 * sw), np.float32)
        self._sat = np.empty((sh + 1, sw + 1, 4), np.int32)  # exact to 8K: sums of 4-pixel sums
        self._band = np.empty((sh, sw), np.uint8)
        self._ring = np.empty((sh, sw), np.uint8)
        self._near = np.empty((sh, sw), np.uint8)
        self._plain = np.empty((sh, sw), np.uint8)
        self._misfit = np.empty((sh, _SPILL_GRID.size), np.float32)
        self._used = np.empty(sh, np.int64)
        self._fcol = np.empty((sh, sw, 3), np.float32)
        self._cover = np.empty((sh, sw), np.uint8)
        self._wide = np.empty((sh, sw), np.uint8)
        self._ysum, self._count = np.empty((sh, sw), np.float32), np.empty((sh, sw), np.float32)
        self._luma, self._clear = np.empty((sh, sw), np.float32), np.zeros((sh, sw), np.float32)
        self._shift = np.zeros((sh, sw, 4), np.float32)  # B, G, R and a luma lift per 4 x 4 block
        ch, cw = sh // 2, sw // 2
        self._cells = np.zeros((ch, cw, 4), np.float32)  # the chroma shift per 8 x 8 cell
        self._clear8, self._dist = np.empty((ch, cw), np.uint8), np.empty((ch, cw), np.float32)
        self._samples, self._far = np.empty((ch, cw, 3), np.float32), np.empty((ch, cw), np.float32)
        self._far_in, self._far_sum = np.empty((ch, cw, 3), np.float32), np.empty((ch, cw, 3), np.float32)
        self._far_weight = np.empty((ch, cw), np.float32)
        self._offset, self._offset_sum = np.empty((sh, sw), np.float32), np.empty((sh, sw), np.float32)
        self._weight, self._weight_sum = np.empty((sh, sw), np.float32), np.empty((sh, sw), np.float32)
        self._stats = SolveBlocks(self._lo, self._hi, self._fcol, self._cover, self._csum, self._luma, self._clear,
                                   self._ring, self._plain, self._shift)
        if self.restore:
            self._rband = np.empty((sh, sw), np.uint8)
            self._mband = np.empty((sh, sw), np.uint8)
            self._ycc = np.empty((3, sh, sw), np.float32)
            self._slope = np.empty((6, sh, sw), np.float32)
            self._restored = np.empty((h, w, 3), np.uint8)
            self._blocks = np.empty((_LINES, sw), np.int64)
            self._pixel_par = np.empty((_LINES, 7, w), np.float32)
            self._lines = np.empty((_LINES, 13 * w), np.uint8)

    def _follow_spill(self, frame: np.ndarray, screen: np.ndarray) -> None:
        """Fit this frame's spill (``_spill_misfit``) and move :attr:`spill` towards it."""
        _spill_misfit(frame, screen, self._lo, self._hi, self._band, self._cover, self._fcol, _SPILL_GRID,
                      self._misfit, self._used)
        fitted = float(_SPILL_GRID[np.argmin(self._misfit.sum(axis=0))])
        if self._used.sum() < _SPILL_MIN_BLOCKS:
            fitted = 0.0
        self.spill = fitted if self.spill is None else self.spill + _SPILL_FOLLOW * (fitted - self.spill)

    def _fit_screen_shift(self, screen: np.ndarray) -> None:
        """The per-block shift of the screen the solve reads (see ``_FAR_CELLS``), from the key's
        block maxima (``_hi``: 0 is clear) and the clear pixels' luma (``_ysum``, ``_count``)."""
        sh, sw = self._hi.shape
        if sh < 2 or sw < 2:
            self._shift.fill(0)
            return
        _far_cells(self._hi, screen, self._clear8, self._samples)
        cv2.distanceTransform(self._clear8, cv2.DIST_L2, 5, dst=self._dist)
        _far_weights(self._samples, self._dist, np.float32(_FAR_CELLS), self._far, self._far_in)
        cv2.blur(self._far_in, _FAR_BOX, dst=self._far_sum)
        cv2.blur(self._far, _FAR_BOX, dst=self._far_weight)
        _chroma_shift(self._samples, self._far, self._far_sum, self._far_weight, self._cells)
        cv2.resize(self._cells, (sw, sh), dst=self._shift, interpolation=cv2.INTER_LINEAR)
        _luma_offsets(self._ysum, self._count, screen, self._offset, self._weight)
        cv2.blur(self._offset, _NEAR_BOX, dst=self._offset_sum)
        cv2.blur(self._weight, _NEAR_BOX, dst=self._weight_sum)
        _mean_offset(self._offset_sum, self._weight_sum, self._shift)

    def _restore_chroma(self, frame: np.ndarray, screen: np.ndarray, alpha: np.ndarray, fg: np.ndarray,
                        params: np.ndarray) -> np.ndarray:
        """Restore the chroma detail of the blocks next to the edge (``_band`` from the key's matte)
        and key them again; returns the frame the solve reads (the restored colour there, stale
        elsewhere: the solve reads only there)."""
        cv2.dilate(self._band, _K3, dst=self._rband)
        cv2.dilate(self._rband, _K3, dst=self._mband)
        _luma_chroma_means(frame, self._mband, self._ycc)
        _chroma_slopes(self._rband, self._ycc, np.float32(self.eps), self._slope)
        _restore_and_key(frame, screen, self._rband, self._ycc, self._slope, params, self._restored, alpha, fg,
                         self._blocks, self._pixel_par, self._lines)
        return self._restored

    def _params(self, blend: bool) -> SolveParams:
        """This call's :class:`SolveParams` (the spill followed so far)."""
        shadow_test = self.shadow[0] < 1 and self.solve
        return SolveParams(np.uint8(self.gate), np.uint8(self.faint if shadow_test else self.gate),
                           np.float32(self.chroma), np.float32(self.m0), np.float32(self.residual[0]),
                           np.float32(self.residual[1]), np.float32(self.shadow[0]), np.float32(self.shadow[1]),
                           np.float32(self.spill or 0.0), self.solve, self.recolour, blend, self.strands,
                           self.cells and not self.restore, self.screen_shift, self.solid)

    @property
    def composites(self) -> bool:
        """Whether the solve can take the key's composite in place of its foreground (``backdrop``):
        not with ``restore``, which keys the band again into the foreground."""
        return not self.restore

    def __call__(self, frame: np.ndarray, screen: np.ndarray, alpha: np.ndarray, fg: np.ndarray,
                 params: np.ndarray, backdrop: np.ndarray | None = None) -> None:
        """Solve the edge band of ``alpha`` (H, W uint8) and ``fg`` (H, W, 3 uint8) in place, for
        the BGR ``frame`` keyed against ``screen`` with the kernel parameter vector ``params``.

        With ``backdrop`` (and :attr:`composites`), ``fg`` is the key's composite over it
        (:func:`livekey.keying.key_composite`) and the pixels the solve changes are composited
        again: the same picture as solving the foreground and compositing it, a pass less."""
        if backdrop is not None and not self.composites:
            raise ValueError("this solver restores chroma into the foreground: it cannot solve a composite")
        h, w = alpha.shape
        if h < self.SCALE or w < self.SCALE:
            return
        if self._shape != (h, w):
            self._allocate(h, w)
        gate = np.uint8(self.gate)
        _alpha_blocks(alpha, gate, self._lo, self._hi, self._band)
        solve_frame = frame
        if self.restore:
            solve_frame = self._restore_chroma(frame, screen, alpha, fg, params)
            _alpha_blocks(alpha, gate, self._lo, self._hi, self._band)  # the matte keyed again
        # The band and the blocks round it are solved (solid ones too: a fringe of strands the key saw
        # as solid), with the foreground estimated over a block more; strands are sought farther.
        cv2.dilate(self._band, _CROSS, dst=self._ring)
        cv2.dilate(self._ring, _K_REACH if self.strands else _K3, dst=self._near)
        # The screen's luma is read where strands are sought from the blocks round them.
        if self.strands:
            cv2.dilate(self._near, _K3, dst=self._wide)
        else:
            self._wide.fill(0)
        _plain_solid_blocks(frame, self._lo, self._near, self._plain)
        _solid_colour_rows(frame, alpha, self._plain, self._csum, self._sat, self._wide, self._ysum, self._count)
        _column_sums(self._sat.reshape((self._sat.shape[0], -1)))
        _foreground_colour(self._near, self._sat, self.radii, self._fcol, self._cover, self._ysum, self._count,
                           self._luma, self._clear)
        if self.screen_shift and self._frames % _SHIFT_EVERY == 0:
            self._fit_screen_shift(screen)
        if self.solve and (self.spill is None or self._frames % _SPILL_EVERY == 0):
            self._follow_spill(frame, screen)
        self._frames += 1
        images = SolveImages(_flat(frame), _flat(solve_frame), _flat(screen))
        kernel_cache.wait_for_aside()  # a first run's helper compiling the solve: load it, not compile it
        _solve_blocks(images, self._stats, params, self._params(backdrop is not None), alpha, fg,
                      fg if backdrop is None else backdrop)


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
