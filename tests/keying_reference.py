"""Plain NumPy version of the maths in :mod:`livekey.keying`, for tests and for reading.

Slow and allocating; never on the per-frame path. Every function mirrors a kernel of the same
name and takes the same parameter vector, so the two can be compared pixel for pixel.
"""

from __future__ import annotations

import numpy as np

from livekey.engine import keying as k


def _key(frame: np.ndarray, screen: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return alpha (H, W) float in 0..1 quantised to 1/255 and the despilled, rounded colour (H, W, 3)."""
    f = frame.astype(np.float64)
    s = screen.astype(np.float64)
    b, g, r = f[..., 0], f[..., 1], f[..., 2]
    sb, sg, sr = s[..., 0], s[..., 1], s[..., 2]
    x, y = r - (g + b) / 2, np.sqrt(3) / 2 * (g - b)
    sx, sy = sr - (sg + sb) / 2, np.sqrt(3) / 2 * (sg - sb)
    ss = sx * sx + sy * sy + 1e-3
    dot = x * sx + y * sy
    amount = dot / ss
    cos_t = dot / np.sqrt((x * x + y * y) * ss + 1e-3)
    hue_gate = np.clip((cos_t - p[k.P_COS_OUT]) * p[k.P_INV_COS_RANGE], 0, 1)
    vmax, vmin = f.max(axis=2), f.min(axis=2)
    sat = (vmax - vmin) / np.maximum(vmax, 1)
    sat_gate = np.clip((sat - p[k.P_SAT_FLOOR]) / k.SAT_RAMP, 0, 1)
    val_gate = np.clip((vmax - p[k.P_VAL_FLOOR]) / (k.VAL_RAMP * 255), 0, 1)
    ramp = np.clip((amount - p[k.P_LOW]) * p[k.P_INV_RANGE], 0, 1)
    alpha = np.floor((1 - hue_gate * sat_gate * val_gate * ramp) * 255 + 0.5) / 255
    m = ((1 - alpha) * p[k.P_UNMIX])[..., None]
    fg = np.clip((f - m * s) / np.maximum(1 - m, 1 / 255), 0, 255)

    spill = fg @ p[k.P_SPILL_B:k.P_SPILL_R + 1]
    a1 = fg @ p[k.P_O1_B:k.P_O1_R + 1]
    a2 = fg @ p[k.P_O2_B:k.P_O2_R + 1]
    limit = p[k.P_W1] * a1 + p[k.P_W2] * a2 + p[k.P_WMAX] * np.maximum(a1, a2)
    removed = np.maximum(spill - limit, 0)
    fg = fg + removed[..., None] * np.asarray(p[k.P_NET_B:k.P_NET_R + 1], np.float64)
    fg = np.floor(np.minimum(fg, 255) + 0.5)
    return alpha, fg


def key_frame(frame: np.ndarray, screen: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(alpha uint8 (H, W), foreground uint8 (H, W, 3), black where alpha is 0)."""
    alpha, fg = _key(frame, screen, p)
    fg[alpha <= 0] = 0
    return np.floor(alpha * 255 + 0.5).astype(np.uint8), fg.astype(np.uint8)


def to_bgra(fg: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return np.dstack([fg, alpha])


def key_composite(frame: np.ndarray, screen: np.ndarray, backdrop: np.ndarray,
                  p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(alpha uint8, composite uint8) of the fused path."""
    alpha, fg = _key(frame, screen, p)
    a = alpha[..., None]
    out = np.floor(fg * a + backdrop.astype(np.float64) * (1 - a) + 0.5)
    return np.floor(alpha * 255 + 0.5).astype(np.uint8), out.astype(np.uint8)


def composite(fg: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray) -> np.ndarray:
    a = alpha.astype(np.float64)[..., None] / 255
    return np.floor(fg * a + backdrop.astype(np.float64) * (1 - a) + 0.5).astype(np.uint8)
