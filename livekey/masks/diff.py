"""The ``diff`` layer: a difference key against a clean plate of any static background (no green
screen needed), with soft edges from the local foreground colour and their colour un-mixed from
the plate."""

from __future__ import annotations

import functools
import math

import cv2
import numba
import numpy as np

from livekey.engine.keying import JIT, unmix_pixel
from livekey.masks.fields import mask_field
from livekey.masks.layer import LayerType, MaskLayer, register
from livekey.masks.merge import feather_invert
from livekey.media.images import IMAGE_FILTER, read_image

NOISE_REFRESH = 15  # frames between estimates of the camera noise for the difference key


@register
class DiffLayer(LayerType):
    name = "diff"
    help = "A difference key against a clean plate of any static background."
    mode = "replace"
    fields = (
        mask_field("plate", "path", "plate.png", "The clean plate: the empty background, same framing."),
        mask_field("threshold", "float", 15.0, "Colour distance to the plate at or below which a pixel is "
                   "background.", "levels", 0.0, 255.0),
        mask_field("softness", "float", 15.0, "Distance beyond the threshold from which a pixel is surely "
                   "foreground; between the two, alpha is the pixel's share of the nearby foreground colour.",
                   "levels", 1.0, 255.0),
        mask_field("noise", "float", 2.5, "Raise the threshold to this many times the frame's median distance "
                   "to the plate (camera noise); 0 turns it off.", "", 0.0, 10.0),
        mask_field("luma_weight", "float", 0.15, "Weight of brightness changes (I = s P) against colour changes "
                   "(lower ignores shadows and exposure drift).", "", 0.0, 1.0),
        mask_field("unmix", "bool", True, "Recover edge colours by removing the plate's share from soft pixels."),
    )
    main = "plate"
    spec_help = "diff:PLATE.png (difference key against a clean plate: no green screen needed)"
    own_colour = True  # un-mixes its own edges
    add_from_file = ("Difference key (plate file)\u2026", "plate", "Clean plate of the empty background",
                     IMAGE_FILTER)

    def validate(self, layer: MaskLayer) -> None:
        _load_plate(layer.plate)

    def describe(self, layer: MaskLayer) -> str:
        return f"Difference key {layer.plate.rsplit('/', 1)[-1]}"

    def bind(self, layer: MaskLayer, width: int, height: int, key_matte: np.ndarray, final: bool) -> DiffBinding:
        return DiffBinding(layer, width, height, unmix=layer.unmix and final)


class DiffBinding:
    """A diff layer at one frame size: its plate scaled, and the buffers of the per-frame key."""

    def __init__(self, layer: MaskLayer, width: int, height: int, unmix: bool) -> None:
        self.layer = layer
        self._buf = np.empty((height, width), np.uint8)
        self._count = 0
        self._noise = 0.0
        self._unmix = unmix
        self._plate = plate_at(layer.plate, width, height)
        self._dist = np.empty((height, width), np.uint8)
        hh, hw = (height + 1) // 2, (width + 1) // 2
        self._half_masked = np.empty((hh, hw, 3), np.uint8)
        self._half_sure = np.empty((hh, hw), np.uint8)
        self._num = np.empty((hh, hw, 3), np.float32)
        self._den = np.empty((hh, hw), np.float32)
        self._half_fg, self._half_state = np.empty((hh, hw, 3), np.uint8), np.empty((hh, hw), np.uint8)
        self._fg_mean, self._state = np.empty((height, width, 3), np.uint8), np.empty((height, width), np.uint8)
        # The neighbourhood the foreground colour is taken from: about 7 px at 360 lines, scaled,
        # counted in half-resolution pixels.
        self._window = 2 * max(1, round(1.5 * height / 360)) + 1

    def mask(self, frame: np.ndarray, fg: np.ndarray) -> np.ndarray:
        layer = self.layer
        if layer.noise and self._count % NOISE_REFRESH == 0:
            self._noise = plate_noise(frame, self._plate, layer.luma_weight) * layer.noise
        self._count += 1
        low = max(layer.threshold, self._noise)
        high = low + layer.softness
        difference_key(frame, self._plate, layer.luma_weight, 0.0, 255.0, self._dist)  # distance in levels
        sure_samples(frame, self._dist, np.float32(high), self._half_masked, self._half_sure)
        k = self._window
        cv2.boxFilter(self._half_masked, cv2.CV_32F, (k, k), dst=self._num, normalize=False)
        cv2.boxFilter(self._half_sure, cv2.CV_32F, (k, k), dst=self._den, normalize=False)
        foreground_mean(self._num, self._den, 255.0 * k * k - 0.5, self._half_fg, self._half_state)
        size = (frame.shape[1], frame.shape[0])
        cv2.resize(self._half_fg, size, dst=self._fg_mean, interpolation=cv2.INTER_NEAREST)
        cv2.resize(self._half_state, size, dst=self._state, interpolation=cv2.INTER_NEAREST)
        project_alpha(frame, self._plate, self._dist, self._fg_mean, self._state, low, high, self._buf)
        if self._unmix:
            unmix_plate(frame, self._plate, self._buf, fg)
        return feather_invert(self._buf, layer.feather, layer.invert, self._buf)


@functools.lru_cache(maxsize=4)
def _load_plate(path: str) -> np.ndarray:
    return read_image(path, "clean plate", keep_alpha=False)


@functools.lru_cache(maxsize=8)
def plate_at(path: str, width: int, height: int) -> np.ndarray:
    """The clean plate scaled to the frame size (cached)."""
    plate = _load_plate(path)
    if plate.shape[:2] != (height, width):
        plate = cv2.resize(plate, (width, height), interpolation=cv2.INTER_AREA)
    plate.flags.writeable = False
    return plate


MIN_SEPARATION = 20.0  # levels between foreground and plate below which alpha is not projected


@numba.njit(inline="always", **JIT)
def _distance(b, g, r, pb, pg, pr, wl):
    # Split I - P into a change of brightness along P (a shadow, exposure drift: I = s P) and
    # the rest (a different colour), so the brightness part can weigh less.
    pp = pb * pb + pg * pg + pr * pr + np.float32(1.0)
    s = (b * pb + g * pg + r * pr) / pp
    rb, rg, rr = b - s * pb, g - s * pg, r - s * pr
    k = np.float32(1.0) - s
    return math.sqrt(rb * rb + rg * rg + rr * rr + wl * k * k * pp)


@numba.njit(**JIT)
def _diff_row(src, plate, wl, low, inv_soft, out):
    for x in range(out.shape[0]):
        i = 3 * x
        d = _distance(np.float32(src[i]), np.float32(src[i + 1]), np.float32(src[i + 2]),
                      np.float32(plate[i]), np.float32(plate[i + 1]), np.float32(plate[i + 2]), wl)
        a = min(max((d - low) * inv_soft, np.float32(0.0)), np.float32(1.0))
        out[x] = np.uint8(a * np.float32(255.0) + np.float32(0.5))


@numba.njit(parallel=True, **JIT)
def difference_key(frame, plate, luma_weight, low, softness, out):
    """Alpha from the distance of ``frame`` to ``plate`` (both (H, W, 3) BGR uint8):
    0 at or below ``low`` levels, rising linearly to 255 at ``low + softness``. Writes ``out`` (H, W).

    The distance is ``sqrt(|I - s P|^2 + luma_weight |(1 - s) P|^2)`` with ``s = I.P / P.P``: the
    colour change plus a weighted brightness change, so shadows on the background stay background."""
    h, w = out.shape
    wl, lo, inv = np.float32(luma_weight), np.float32(low), np.float32(1.0 / max(softness, 1e-3))
    f2, p2 = frame.reshape((h, w * 3)), plate.reshape((h, w * 3))
    for y in numba.prange(h):
        _diff_row(f2[y], p2[y], wl, lo, inv, out[y])


@numba.njit(parallel=True, **JIT)
def sure_samples(frame, dist, high, colour_out, sure_out):
    """Every other pixel both ways: ``sure_out`` 255 where ``dist`` >= ``high`` (sure foreground),
    else 0, and ``colour_out`` the pixel's colour there, else black. Outputs are (H+1)//2 x (W+1)//2."""
    hh, hw = sure_out.shape
    for y in numba.prange(hh):
        for x in range(hw):
            sure = dist[2 * y, 2 * x] >= high
            sure_out[y, x] = np.uint8(255 if sure else 0)
            for c in range(3):
                colour_out[y, x, c] = frame[2 * y, 2 * x, c] if sure else np.uint8(0)


@numba.njit(parallel=True, **JIT)
def foreground_mean(num, den, full, fg_out, state_out):
    """The local foreground colour ``num / count`` (``den`` = 255 x count) into ``fg_out`` (h, w, 3)
    uint8, and ``state_out`` (h, w): 0 no sure foreground near, 1 some, 2 only sure foreground."""
    h, w = den.shape
    for y in numba.prange(h):
        for x in range(w):
            n = den[y, x] * np.float32(1.0 / 255.0)
            inv = np.float32(1.0) / max(n, np.float32(1e-3))
            for c in range(3):
                fg_out[y, x, c] = np.uint8(min(num[y, x, c] * inv, np.float32(255.0)) + np.float32(0.5))
            state_out[y, x] = np.uint8(2 if den[y, x] >= full else (1 if n >= np.float32(0.5) else 0))


@numba.njit(**JIT)
def _project_row(src, plate, dist, fgm, state, lo, inv_ramp, out):
    for x in range(out.shape[0]):
        i = 3 * x
        pb, pg, pr = np.float32(plate[i]), np.float32(plate[i + 1]), np.float32(plate[i + 2])
        # F: the mean of the sure-foreground neighbours; alpha = projection of I - P on F - P.
        fpb, fpg, fpr = np.float32(fgm[i]) - pb, np.float32(fgm[i + 1]) - pg, np.float32(fgm[i + 2]) - pr
        ipb, ipg, ipr = np.float32(src[i]) - pb, np.float32(src[i + 1]) - pg, np.float32(src[i + 2]) - pr
        sep = fpb * fpb + fpg * fpg + fpr * fpr
        proj = min(max((ipb * fpb + ipg * fpg + ipr * fpr) / max(sep, np.float32(1.0)), np.float32(0.0)),
                   np.float32(1.0))
        d = np.float32(dist[x])
        ramp = min(max((d - lo) * inv_ramp, np.float32(0.0)), np.float32(1.0))
        st = state[x]
        # The projection needs foreground nearby that differs clearly from the plate.
        usable = (st > 0) & (sep >= np.float32(MIN_SEPARATION * MIN_SEPARATION))
        a = proj if usable else ramp
        a = np.float32(1.0) if st == 2 else a  # inside the sure foreground
        a = np.float32(0.0) if d <= lo else a
        out[x] = np.uint8(a * np.float32(255.0) + np.float32(0.5))


@numba.njit(parallel=True, **JIT)
def project_alpha(frame, plate, dist, fg_mean, state, low, high, out):
    """Soft alpha from the difference key: where ``dist`` (levels) is above ``low``, alpha is the
    share of the local foreground colour ``F = fg_mean`` in the pixel, ``(I - P).(F - P) / |F - P|^2``
    (the mixing model ``I = a F + (1 - a) P``); a linear ramp from ``low`` to ``high`` where no
    usable ``F`` is near (``state`` 0); 255 where the neighbourhood is all sure foreground (``state`` 2)."""
    h, w = out.shape
    lo, inv = np.float32(low), np.float32(1.0 / max(high - low, 1e-3))
    f2, p2, m2 = frame.reshape((h, w * 3)), plate.reshape((h, w * 3)), fg_mean.reshape((h, w * 3))
    for y in numba.prange(h):
        _project_row(f2[y], p2[y], dist[y], m2[y], state[y], lo, inv, out[y])


@numba.njit(**JIT)
def _unmix_row(src, plate, mask, fg):
    inv255 = np.float32(1.0 / 255.0)
    half = np.float32(0.5)
    for x in range(mask.shape[0]):
        m = np.float32(mask[x]) * inv255
        soft = (m > np.float32(0.0)) & (m < np.float32(1.0))
        i = 3 * x
        fb, fg_, fr = unmix_pixel(np.float32(src[i]), np.float32(src[i + 1]), np.float32(src[i + 2]),
                                  np.float32(plate[i]), np.float32(plate[i + 1]), np.float32(plate[i + 2]),
                                  m, np.float32(1.0))
        fg[i] = np.uint8(fb + half) if soft else fg[i]
        fg[i + 1] = np.uint8(fg_ + half) if soft else fg[i + 1]
        fg[i + 2] = np.uint8(fr + half) if soft else fg[i + 2]


@numba.njit(parallel=True, **JIT)
def unmix_plate(frame, plate, mask, fg):
    """Where ``mask`` is soft (0 < m < 255), set ``fg`` to ``(I - (1 - m) P) / m``: the edge colour with
    the plate's share removed. Elsewhere ``fg`` is left as it was."""
    h, w = mask.shape
    f2, p2, g2 = frame.reshape((h, w * 3)), plate.reshape((h, w * 3)), fg.reshape((h, w * 3))
    for y in numba.prange(h):
        _unmix_row(f2[y], p2[y], mask[y], g2[y])


def plate_noise(frame: np.ndarray, plate: np.ndarray, luma_weight: float, step: int = 16) -> float:
    """Median colour distance of ``frame`` to ``plate`` on a sparse grid: the camera noise level
    when most of the frame is background (levels)."""
    f = np.ascontiguousarray(frame[::step, ::step])
    d = np.empty(f.shape[:2], np.uint8)
    difference_key(f, np.ascontiguousarray(plate[::step, ::step]), luma_weight, 0.0, 255.0, d)
    return float(np.median(d))


def warm_up() -> None:
    """Compile (or load from the cache) the difference key's kernels before capture starts."""
    frame = np.zeros((4, 5, 3), np.uint8)
    mask = np.empty((4, 5), np.uint8)
    difference_key(frame, frame, 0.5, 10.0, 20.0, mask)
    unmix_plate(frame, frame, mask, frame.copy())
    sure_samples(frame, mask, np.float32(1.0), np.empty((2, 3, 3), np.uint8), np.empty((2, 3), np.uint8))
    foreground_mean(np.zeros((2, 3, 3), np.float32), np.zeros((2, 3), np.float32), 10.0,
                    np.empty((2, 3, 3), np.uint8), np.empty((2, 3), np.uint8))
    project_alpha(frame, frame, mask, frame, mask, 1.0, 2.0, mask)
