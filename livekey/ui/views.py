"""What the preview shows: plain functions from one pipeline Output to the displayed image.

No Qt here. Each view returns a C-contiguous uint8 array the window wraps in a QImage
without copying: (H, W) grey, (H, W, 3) BGR or (H, W, 4) BGRA. Also the geometry of the
preview (where the picture sits in the widget, widget point -> image pixel, high-DPI aware)
and the eyedropper's patch average.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from livekey.engine.status import (
    STATUS_BETWEEN_BGR,
    STATUS_SCREEN_BGR,
    STATUS_SCREEN_MAX,
    STATUS_SOLID_BGR,
    STATUS_SOLID_MIN,
    status_view,
)

if TYPE_CHECKING:
    from livekey.runtime.frames import Output

VIEW_MODES: tuple[str, ...] = ("composite", "raw", "matte", "status", "split")
VIEW_TITLES = {
    "composite": "Composite",
    "raw": "Raw camera",
    "matte": "Matte",
    "status": "Status",
    "split": "Split: raw | composite",
}
VIEW_HELP = {
    "composite": "the keyed picture over the backdrop, as the virtual camera and recorder get it",
    "raw": "the camera frame before keying",
    "matte": "alpha as grey: white is kept, black is keyed out",
    "status": "white = solid foreground, black = fully keyed screen, red = in between "
              "(where the key is unsure: fine at edges and hair, a problem inside the subject or on the screen)",
    "split": "raw camera left of the divider, composite right; drag the divider",
}

DIVIDER_BGR = (0, 215, 255)          # amber line between the halves of the split view
CHECKER_CELL = 16                    # px; the checkerboard behind a transparent composite


def checkerboard(height: int, width: int, cell: int = CHECKER_CELL) -> np.ndarray:
    """(H, W, 3) grey checkerboard, the usual backing for transparency."""
    yy, xx = np.indices((height, width))
    light = ((yy // cell + xx // cell) % 2).astype(bool)
    board = np.where(light, 204, 153).astype(np.uint8)
    return np.repeat(board[..., None], 3, axis=2)


def flatten_bgra(bgra: np.ndarray) -> np.ndarray:
    """A straight-alpha BGRA composite over a checkerboard, as (H, W, 3) BGR."""
    h, w = bgra.shape[:2]
    a = bgra[..., 3:4].astype(np.uint16)
    board = checkerboard(h, w).astype(np.uint16)
    return ((bgra[..., :3] * a + board * (255 - a) + 127) // 255).astype(np.uint8)


def composite_bgr(output: Output) -> np.ndarray:
    """The composite as BGR (a transparent-backdrop BGRA composite shown over a checkerboard)."""
    comp = output.composite
    return flatten_bgra(comp) if comp.ndim == 3 and comp.shape[2] == 4 else comp


def split_image(raw: np.ndarray, composite: np.ndarray, divider: float, line: int = 2) -> np.ndarray:
    """Raw camera left of ``divider`` (0..1 of the width), composite right, with a divider line."""
    h, w = raw.shape[:2]
    x = int(round(min(max(divider, 0.0), 1.0) * w))
    out = composite.copy()
    out[:, :x] = raw[:, :x]
    lo, hi = max(0, x - line // 2), min(w, x - line // 2 + line)
    out[:, lo:hi] = DIVIDER_BGR
    return out


def render_view(mode: str, output: Output, divider: float = 0.5) -> np.ndarray:
    """The image the preview shows for ``mode`` (one of :data:`VIEW_MODES`)."""
    if mode == "composite":
        return composite_bgr(output)
    if mode == "raw":
        return output.raw
    if mode == "matte":
        return output.alpha
    if mode == "status":
        return status_view(output.alpha)
    if mode == "split":
        return split_image(output.raw, composite_bgr(output), divider)
    raise ValueError(f"unknown view mode {mode!r}; expected one of {', '.join(VIEW_MODES)}")


# --- geometry ---------------------------------------------------------------
Rect = tuple[float, float, float, float]  # x, y, width, height in logical (device-independent) pixels


def display_rect(image_size: tuple[int, int], widget_size: tuple[float, float], device_pixel_ratio: float = 1.0,
                 actual_pixels: bool = False) -> Rect:
    """Where the picture sits in the widget, in logical pixels, centred with its aspect kept.

    Fit mode scales to fill the widget. Actual-pixels mode shows one image pixel per *physical*
    screen pixel, so on a 2x display the picture spans half as many logical pixels; it still
    shrinks to fit when the widget is too small.
    """
    iw, ih = image_size
    ww, wh = widget_size
    if iw <= 0 or ih <= 0 or ww <= 0 or wh <= 0:
        return (0.0, 0.0, 0.0, 0.0)
    scale = min(ww / iw, wh / ih)
    if actual_pixels:
        scale = min(scale, 1.0 / device_pixel_ratio)
    w, h = iw * scale, ih * scale
    return ((ww - w) / 2, (wh - h) / 2, w, h)


def widget_to_image(point: tuple[float, float], rect: Rect, image_size: tuple[int, int]
                    ) -> tuple[int, int] | None:
    """The image pixel (x, y) under a logical widget point, or None outside the picture."""
    x, y, w, h = rect
    iw, ih = image_size
    if w <= 0 or h <= 0:
        return None
    u, v = (point[0] - x) / w, (point[1] - y) / h
    if not (0.0 <= u < 1.0 and 0.0 <= v < 1.0):
        return None
    return min(int(u * iw), iw - 1), min(int(v * ih), ih - 1)


def patch_box(a: tuple[int, int], b: tuple[int, int] | None, image_size: tuple[int, int], radius: int = 4
              ) -> tuple[int, int, int, int]:
    """The eyedropper's box (x0, y0, x1, y1), end-exclusive and clipped to the image: the
    dragged box from ``a`` to ``b``, or a (2*radius+1)-pixel square around ``a`` for a click."""
    iw, ih = image_size
    if b is None or (abs(a[0] - b[0]) < 2 and abs(a[1] - b[1]) < 2):
        x0, y0, x1, y1 = a[0] - radius, a[1] - radius, a[0] + radius + 1, a[1] + radius + 1
    else:
        x0, x1 = sorted((a[0], b[0]))
        y0, y1 = sorted((a[1], b[1]))
        x1, y1 = x1 + 1, y1 + 1
    return max(0, x0), max(0, y0), min(iw, x1), min(ih, y1)


def patch_color(raw: np.ndarray, box: tuple[int, int, int, int]) -> str:
    """Mean colour of ``raw[y0:y1, x0:x1]`` (BGR uint8) as ``#rrggbb``."""
    x0, y0, x1, y1 = box
    patch = raw[y0:y1, x0:x1].reshape(-1, 3)
    if patch.size == 0:
        raise ValueError(f"empty eyedropper box {box}")
    b, g, r = (int(round(c)) for c in patch.mean(axis=0))
    return f"#{r:02x}{g:02x}{b:02x}"


def widget_to_normalised(point: tuple[float, float], rect: Rect) -> tuple[float, float] | None:
    """A logical widget point as fractions of the picture's width and height (0..1 inside it;
    outside the picture the numbers run past 0..1, as mask shapes may), or None with no picture."""
    x, y, w, h = rect
    if w <= 0 or h <= 0:
        return None
    return (point[0] - x) / w, (point[1] - y) / h


def normalised_to_widget(point: tuple[float, float], rect: Rect) -> tuple[float, float]:
    """The inverse of :func:`widget_to_normalised`."""
    x, y, w, h = rect
    return x + point[0] * w, y + point[1] * h


def box_points(shape: str, a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float, float, float]:
    """A rect's (x0, y0, x1, y1) or an ellipse's (cx, cy, rx, ry) from a box dragged from a to b (normalised)."""
    x0, x1 = sorted((a[0], b[0]))
    y0, y1 = sorted((a[1], b[1]))
    if shape == "ellipse":
        return (x0 + x1) / 2, (y0 + y1) / 2, max((x1 - x0) / 2, 1e-3), max((y1 - y0) / 2, 1e-3)
    return x0, y0, x1, y1


__all__ = ["STATUS_BETWEEN_BGR", "STATUS_SCREEN_BGR", "STATUS_SCREEN_MAX", "STATUS_SOLID_BGR", "STATUS_SOLID_MIN"]
