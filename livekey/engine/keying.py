"""The keying kernels: HSV-style colour key, edge un-mixing, spill suppression, compositing.

All kernels are Numba ``parallel=True`` loops over rows that write into preallocated
outputs; nothing allocates per frame. Frames are BGR ``uint8`` arrays of shape (H, W, 3).

The key, per pixel (``I`` the pixel, ``S`` the screen colour at that pixel, or one
global screen colour):

* chroma vectors in the opponent plane ``x = R - (G + B) / 2``, ``y = sqrt(3)/2 (G - B)``
  (the circular form of HSV hue);
* *screen amount* ``r = <I, S> / <S, S>`` in that plane: 1 on the screen, 0 on a grey,
  linear in the mix of screen and a neutral foreground, so soft edges key in proportion;
* a hue gate (1 within ``hue_width / 2`` of the screen's hue, fading to 0 over
  ``hue_softness``), a saturation floor and a value floor (greys, whites and shadows are
  never keyed);
* ``alpha = 1 - gate * ramp(r; screen_low, screen_high)``.

The foreground colour is recovered by un-mixing, ``F = (I - (1 - a) S) / a``, then spill is
suppressed on the key channel. :mod:`livekey.keying_reference` holds the same maths in NumPy.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from livekey.config.settings import Settings

# Layout of the float32 parameter vector the kernels take. Everything a pixel needs is
# precomputed as weights: a branch on a parameter inside the pixel loop stops LLVM
# from vectorising it, which costs several times the whole frame budget.
(P_COS_OUT, P_INV_COS_RANGE, P_SAT_FLOOR, P_VAL_FLOOR, P_LOW, P_INV_RANGE, P_UNMIX,
 P_SPILL_B, P_SPILL_G, P_SPILL_R, P_O1_B, P_O1_G, P_O1_R, P_O2_B, P_O2_G, P_O2_R,
 P_W1, P_W2, P_WMAX, P_NET_B, P_NET_G, P_NET_R) = range(22)
N_PARAMS = 22

SPILL_METHODS = ("none", "limit", "average", "max")
# Soft shoulders on the floors, so a gradient through a floor does not band.
SAT_RAMP = 0.05
VAL_RAMP = 0.04
# Rec.709 luma weights by BGR index.
LUMA_BGR = (0.0722, 0.7152, 0.2126)


def screen_channels(key_bgr: tuple[int, int, int]) -> tuple[int, int, int]:
    """(spill channel, first other, second other) as BGR indices for a key colour.

    The spill channel is the key colour's dominant one; the "first other" is red for green
    and blue screens (green for a red screen), so ``spill_mix`` means the same on both.
    """
    ch = int(np.argmax(key_bgr))
    others = {1: (2, 0), 0: (2, 1), 2: (1, 0)}[ch]
    return ch, others[0], others[1]


def param_vector(settings: Settings, key_bgr: tuple[int, int, int]) -> np.ndarray:
    """Turn settings (and the key colour, which picks the spill channel) into the kernel vector."""
    half = math.radians(settings.hue_width) / 2.0
    outer = min(math.pi, half + math.radians(settings.hue_softness))
    ch, o1, o2 = screen_channels(key_bgr)
    v = np.zeros(N_PARAMS, np.float32)
    v[P_COS_OUT] = math.cos(outer)
    v[P_INV_COS_RANGE] = 1.0 / max(math.cos(half) - math.cos(outer), 1e-6)
    v[P_SAT_FLOOR] = settings.sat_floor
    v[P_VAL_FLOOR] = settings.val_floor * 255.0
    v[P_LOW] = settings.screen_low
    v[P_INV_RANGE] = 1.0 / (settings.screen_high - settings.screen_low)
    v[P_UNMIX] = 1.0 if settings.unmix else 0.0
    v[P_SPILL_B + ch] = 1.0
    v[P_O1_B + o1] = 1.0
    v[P_O2_B + o2] = 1.0
    method = settings.spill_method
    v[P_W1], v[P_W2], v[P_WMAX] = {
        "none": (0.0, 0.0, 0.0),
        "limit": (settings.spill_mix, 1.0 - settings.spill_mix, 0.0),
        "average": (0.5, 0.5, 0.0),
        "max": (0.0, 0.0, 1.0),
    }[method]
    # What each channel gains per level of spill found: the strength, less the spill itself on
    # the spill channel, plus its luma share on all three (spill_luma). One weight per channel:
    # spelt as strength and lift apart, LLVM no longer vectorises the pixel loop (2x the time).
    strength = 0.0 if method == "none" else settings.spill_strength
    lift = LUMA_BGR[ch] if settings.spill_luma else 0.0
    for c in range(3):
        v[P_NET_B + c] = strength * (lift - (1.0 if c == ch else 0.0))
    return v


def flat_screen(key_bgr: tuple[int, int, int], height: int, width: int,
                out: np.ndarray | None = None) -> np.ndarray:
    """A per-pixel screen image filled with one key colour (the no-clean-plate case)."""
    if out is None or out.shape != (height, width, 3):
        out = np.empty((height, width, 3), np.uint8)
    out[:] = np.asarray(key_bgr, np.uint8)
    return out


# What every livekey kernel compiles with: released GIL (the pipeline's threads key in parallel),
# fast maths, cached to disk (the first compile takes seconds), no bounds checks.
JIT = dict(nogil=True, fastmath=True, cache=True, error_model="numpy", boundscheck=False)
_F0 = np.float32(0.0)
_F1 = np.float32(1.0)
_HALF = np.float32(0.5)
_F255 = np.float32(255.0)


@numba.njit(**JIT)
def unpack(p):
    return (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13],
            p[14], p[15], p[16], p[17], p[18], p[19], p[20], p[21])


@numba.njit(inline="always", **JIT)
def _clamp01(v):
    return min(max(v, _F0), _F1)


@numba.njit(inline="always", **JIT)
def round_level(v):
    """``v`` (0 or more, float32) rounded to a whole number, as float32. ``math.floor`` on a float32
    is a call to ``floorf`` (or, multiplied by a float32, turns the pixel's maths to float64)."""
    return np.float32(np.int32(v + _HALF))


@numba.njit(inline="always", **JIT)
def blend_level(f, b, a):
    """One channel of the composite ``f a + b (1 - a)`` (``f``, ``b`` levels, ``a`` 0..1), rounded
    to a uint8 level: the one rounding every composite uses, so they agree to the level."""
    return np.uint8(f * a + b * (_F1 - a) + _HALF)


@numba.njit(inline="always", **JIT)
def key_alpha(b, g, r, sb, sg, sr, q):
    """One pixel's alpha in whole levels (0..255, float32): the pixel ``b, g, r`` keyed against
    the screen ``sb, sg, sr`` with the parameter tuple ``q``."""
    k = np.float32(0.8660254)
    x = r - _HALF * (g + b)
    y = k * (g - b)
    sx = sr - _HALF * (sg + sb)
    sy = k * (sg - sb)
    ss = sx * sx + sy * sy + np.float32(1e-3)
    dot = x * sx + y * sy
    amount = dot / ss
    cos_t = dot / math.sqrt((x * x + y * y) * ss + np.float32(1e-3))
    hue_gate = _clamp01((cos_t - q[P_COS_OUT]) * q[P_INV_COS_RANGE])
    vmax = max(b, max(g, r))
    vmin = min(b, min(g, r))
    sat = (vmax - vmin) / max(vmax, _F1)
    sat_gate = _clamp01((sat - q[P_SAT_FLOOR]) * np.float32(1.0 / SAT_RAMP))
    val_gate = _clamp01((vmax - q[P_VAL_FLOOR]) * np.float32(1.0 / (VAL_RAMP * 255.0)))
    ramp = _clamp01((amount - q[P_LOW]) * q[P_INV_RANGE])
    alpha = _F1 - hue_gate * sat_gate * val_gate * ramp
    # Quantised before the colour is un-mixed with it, so the colour and the composite agree with the uint8 matte.
    return round_level(alpha * _F255)


@numba.njit(inline="always", **JIT)
def screen_share(b, g, r, sb, sg, sr, q):
    """How much of the screen's chroma a pixel shows (0..1), whatever its hue: the key's alpha
    without its hue gate, turned round. A mix of the screen with a subject of another hue (red
    hair on green) leaves the hue band long before it stops showing the screen."""
    k = np.float32(0.8660254)
    x = r - _HALF * (g + b)
    y = k * (g - b)
    sx = sr - _HALF * (sg + sb)
    sy = k * (sg - sb)
    amount = (x * sx + y * sy) / (sx * sx + sy * sy + np.float32(1e-3))
    vmax = max(b, max(g, r))
    vmin = min(b, min(g, r))
    sat = (vmax - vmin) / max(vmax, _F1)
    sat_gate = _clamp01((sat - q[P_SAT_FLOOR]) * np.float32(1.0 / SAT_RAMP))
    val_gate = _clamp01((vmax - q[P_VAL_FLOOR]) * np.float32(1.0 / (VAL_RAMP * 255.0)))
    return sat_gate * val_gate * _clamp01((amount - q[P_LOW]) * q[P_INV_RANGE])


@numba.njit(inline="always", **JIT)
def unmix_pixel(b, g, r, sb, sg, sr, a, weight):
    """Remove ``weight`` (0 or 1) times the screen's share ``(1 - a) S`` from a pixel: the colour
    ``F = (I - (1 - a) S) / a`` clamped to 0..255. Where alpha is 0 the colour is moot."""
    m = (_F1 - a) * weight
    inv = _F1 / max(_F1 - m, np.float32(1.0 / 255.0))
    fb = min(max((b - m * sb) * inv, _F0), _F255)
    fg = min(max((g - m * sg) * inv, _F0), _F255)
    fr = min(max((r - m * sr) * inv, _F0), _F255)
    return fb, fg, fr


@numba.njit(inline="always", **JIT)
def despill_pixel(fb, fg, fr, q):
    """Spill suppression on the key channel; returns the colour rounded to whole levels."""
    spill = q[P_SPILL_B] * fb + q[P_SPILL_G] * fg + q[P_SPILL_R] * fr
    a1 = q[P_O1_B] * fb + q[P_O1_G] * fg + q[P_O1_R] * fr
    a2 = q[P_O2_B] * fb + q[P_O2_G] * fg + q[P_O2_R] * fr
    limit = q[P_W1] * a1 + q[P_W2] * a2 + q[P_WMAX] * max(a1, a2)
    removed = max(spill - limit, _F0)
    fb = round_level(min(fb + removed * q[P_NET_B], _F255))
    fg = round_level(min(fg + removed * q[P_NET_G], _F255))
    fr = round_level(min(fr + removed * q[P_NET_R], _F255))
    return fb, fg, fr


# Each kernel is a prange over rows calling a row function. The pixel loop lives in its own
# function over flat row views (``row[3 * x + c]``): written inline in the prange body, or
# indexing the 3-D arrays directly, LLVM refuses to vectorise it, at 10x the cost. Only scalars
# go into a pixel helper: one taking arrays is not inlined, and the call stops the loop vectorising.

# The key runs over a row in two passes: every pixel's alpha, then the colour (un-mix, despill,
# blend) in the runs of this many pixels that hold any alpha. Most of a frame is screen the key
# leaves clear, and the colour is about half the cost: on the bench's frames three runs in four
# are clear, and the key takes a sixth less time (longer runs skip less, shorter ones vectorise worse).
_RUN = 64


@numba.njit(**JIT)
def _alpha_row(src, scr, q, al):
    for xx in range(al.shape[0]):
        i = 3 * xx
        al[xx] = np.uint8(key_alpha(np.float32(src[i]), np.float32(src[i + 1]), np.float32(src[i + 2]),
                                    np.float32(scr[i]), np.float32(scr[i + 1]), np.float32(scr[i + 2]), q))


@numba.njit(inline="always", **JIT)
def _any_alpha(al):
    seen = np.uint8(0)
    for xx in range(al.shape[0]):
        seen |= al[xx]
    return seen != 0


@numba.njit(inline="always", **JIT)
def _copy_row(src, dst):
    """A plain loop: slice assignment costs several times as much in Numba."""
    for i in range(dst.shape[0]):
        dst[i] = src[i]


@numba.njit(inline="always", **JIT)
def _zero_row(dst):
    for i in range(dst.shape[0]):
        dst[i] = 0


@numba.njit(**JIT)
def key_row(src, scr, q, al, dst):
    """Key one row (flat BGR views ``src``, ``scr``): the matte into ``al``, the despilled
    foreground into ``dst`` (black where clear)."""
    _alpha_row(src, scr, q, al)
    w = al.shape[0]
    for x0 in range(0, w, _RUN):
        x1 = min(w, x0 + _RUN)
        if _any_alpha(al[x0:x1]):
            _recover_row(src[3 * x0:3 * x1], scr[3 * x0:3 * x1], al[x0:x1], q, dst[3 * x0:3 * x1])
        else:
            _zero_row(dst[3 * x0:3 * x1])


@numba.njit(**JIT)
def _bgra_row(src, al, dst):
    for xx in range(al.shape[0]):
        i, j = 3 * xx, 4 * xx
        dst[j] = src[i]
        dst[j + 1] = src[i + 1]
        dst[j + 2] = src[i + 2]
        dst[j + 3] = al[xx]


@numba.njit(inline="always", **JIT)
def _recover_composite_row(src, scr, bd, al, q, dst):
    """Un-mix and despill a row for its matte ``al`` and blend it over ``bd``."""
    inv255 = np.float32(1.0 / 255.0)
    for xx in range(al.shape[0]):
        i = 3 * xx
        a = np.float32(al[xx]) * inv255
        fb, fg, fr = recover_pixel(np.float32(src[i]), np.float32(src[i + 1]), np.float32(src[i + 2]),
                                   np.float32(scr[i]), np.float32(scr[i + 1]), np.float32(scr[i + 2]), a, q)
        dst[i] = blend_level(fb, np.float32(bd[i]), a)
        dst[i + 1] = blend_level(fg, np.float32(bd[i + 1]), a)
        dst[i + 2] = blend_level(fr, np.float32(bd[i + 2]), a)


@numba.njit(**JIT)
def _key_composite_row(src, scr, bd, q, al, dst):
    _alpha_row(src, scr, q, al)
    w = al.shape[0]
    for x0 in range(0, w, _RUN):
        x1 = min(w, x0 + _RUN)
        s0, s1 = 3 * x0, 3 * x1
        if _any_alpha(al[x0:x1]):
            _recover_composite_row(src[s0:s1], scr[s0:s1], bd[s0:s1], al[x0:x1], q, dst[s0:s1])
        else:
            _copy_row(bd[s0:s1], dst[s0:s1])


@numba.njit(inline="always", **JIT)
def recover_pixel(b, g, r, sb, sg, sr, a, q):
    """Un-mixed, despilled colour of one pixel for a given alpha (0..1), black where it is 0."""
    fb, fg, fr = unmix_pixel(b, g, r, sb, sg, sr, a, q[P_UNMIX])
    fb, fg, fr = despill_pixel(fb, fg, fr, q)
    visible = a > _F0
    return fb if visible else _F0, fg if visible else _F0, fr if visible else _F0


@numba.njit(inline="always", **JIT)
def _recover_row(src, scr, al, q, dst):
    inv255 = np.float32(1.0 / 255.0)
    for xx in range(al.shape[0]):
        i = 3 * xx
        fb, fg, fr = recover_pixel(np.float32(src[i]), np.float32(src[i + 1]), np.float32(src[i + 2]),
                                   np.float32(scr[i]), np.float32(scr[i + 1]), np.float32(scr[i + 2]),
                                   np.float32(al[xx]) * inv255, q)
        dst[i] = np.uint8(fb)
        dst[i + 1] = np.uint8(fg)
        dst[i + 2] = np.uint8(fr)


@numba.njit(**JIT)
def _composite_row(src, al, bd, dst):
    inv255 = np.float32(1.0 / 255.0)
    for xx in range(al.shape[0]):
        a = np.float32(al[xx]) * inv255
        i = 3 * xx
        dst[i] = blend_level(np.float32(src[i]), np.float32(bd[i]), a)
        dst[i + 1] = blend_level(np.float32(src[i + 1]), np.float32(bd[i + 1]), a)
        dst[i + 2] = blend_level(np.float32(src[i + 2]), np.float32(bd[i + 2]), a)


@numba.njit(parallel=True, **JIT)
def key_frame(frame, screen, p, alpha_out, fg_out):
    """Key ``frame`` (H, W, 3) against ``screen`` (H, W, 3), both BGR uint8.

    Writes the matte to ``alpha_out`` (H, W) uint8 and the despilled straight-alpha foreground
    colour to ``fg_out`` (H, W, 3) uint8 (black where alpha is 0).
    """
    q = unpack(p)
    h, w = alpha_out.shape
    frame2, screen2, fg2 = frame.reshape((h, w * 3)), screen.reshape((h, w * 3)), fg_out.reshape((h, w * 3))
    for yy in numba.prange(h):
        key_row(frame2[yy], screen2[yy], q, alpha_out[yy], fg2[yy])


@numba.njit(parallel=True, **JIT)
def to_bgra(fg, alpha, bgra_out):
    """Interleave a foreground (H, W, 3) and its matte (H, W) into straight-alpha BGRA (H, W, 4).

    RGBA output is ``key_frame`` then this: keying straight into 4-byte pixels does not
    vectorise (mixed 3- and 4-byte strides) and costs ten times as much.
    """
    h, w = alpha.shape
    fg2, out2 = fg.reshape((h, w * 3)), bgra_out.reshape((h, w * 4))
    for yy in numba.prange(h):
        _bgra_row(fg2[yy], alpha[yy], out2[yy])


@numba.njit(parallel=True, **JIT)
def key_composite(frame, screen, backdrop, p, alpha_out, out):
    """The fused per-frame path: key, un-mix, despill and blend over ``backdrop`` in one pass.

    Writes the matte to ``alpha_out`` (H, W) and the composite ``F a + B (1 - a)`` to ``out``.
    """
    q = unpack(p)
    h, w = alpha_out.shape
    frame2, screen2 = frame.reshape((h, w * 3)), screen.reshape((h, w * 3))
    back2, out2 = backdrop.reshape((h, w * 3)), out.reshape((h, w * 3))
    for yy in numba.prange(h):
        _key_composite_row(frame2[yy], screen2[yy], back2[yy], q, alpha_out[yy], out2[yy])


@numba.njit(parallel=True, **JIT)
def composite(fg, alpha, backdrop, out):
    """Blend a straight-alpha foreground over ``backdrop``: ``F a + B (1 - a)``, rounded."""
    h, w = alpha.shape
    fg2, back2, out2 = fg.reshape((h, w * 3)), backdrop.reshape((h, w * 3)), out.reshape((h, w * 3))
    for yy in numba.prange(h):
        _composite_row(fg2[yy], alpha[yy], back2[yy], out2[yy])


@numba.njit(parallel=True, **JIT)
def recover_foreground(frame, screen, alpha, p, fg_out):
    """Un-mix and despill ``frame`` with a given matte ``alpha`` (after matte operations changed it):
    ``F = (I - (1 - a) S) / a`` with the per-pixel ``screen``, written to ``fg_out`` (H, W, 3)."""
    q = unpack(p)
    h, w = alpha.shape
    frame2, screen2, fg2 = frame.reshape((h, w * 3)), screen.reshape((h, w * 3)), fg_out.reshape((h, w * 3))
    for yy in numba.prange(h):
        _recover_row(frame2[yy], screen2[yy], alpha[yy], q, fg2[yy])


def warm_up() -> None:
    """Compile (or load from the on-disk cache) every kernel on a tiny frame before capture starts."""
    frame = np.zeros((4, 5, 3), np.uint8)
    frame[..., 1] = 200
    key = (64, 177, 0)
    params = param_vector(Settings(), key)
    screen = flat_screen(key, 4, 5)
    alpha = np.empty((4, 5), np.uint8)
    fg = np.empty((4, 5, 3), np.uint8)
    out = np.empty((4, 5, 3), np.uint8)
    key_frame(frame, screen, params, alpha, fg)
    to_bgra(fg, alpha, np.empty((4, 5, 4), np.uint8))
    key_composite(frame, screen, frame, params, alpha, out)
    composite(fg, alpha, frame, out)
    recover_foreground(frame, screen, alpha, params, fg)
