"""The ``shape`` layer: a rectangle, ellipse or polygon in normalised frame coordinates (0..1, so a
shape survives a resolution change), rasterised once per size; and the editing the control window
does on it (click to place, drag a handle or the whole shape)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from livekey.errors import LivekeyError
from livekey.masks.fields import COORD_MAX, COORD_MIN, SHAPES, mask_field
from livekey.masks.layer import LayerType, MaskLayer, register

SHAPE_NAMES = {"rect": "rectangle", "ellipse": "ellipse", "poly": "polygon"}
SHIFT = 4  # fixed-point bits for sub-pixel shape vertices


@register
class ShapeLayer(LayerType):
    name = "shape"
    help = "A rectangle, ellipse or polygon in normalised frame coordinates."
    mode = "intersect"
    fields = (
        mask_field("shape", "choice", "rect", "rect: x0,y0,x1,y1; ellipse: cx,cy,rx,ry; poly: x1,y1,x2,y2,... "
                   "(at least 3 points).", choices=SHAPES),
        mask_field("points", "points", (0.0, 0.0, 1.0, 1.0), "The shape's numbers, as fractions of the frame's "
                   "width (x) and height (y)."),
    )
    main = "points"
    spec_help = ("garbage:rect:X0,Y0,X1,Y1 | garbage:ellipse:CX,CY,RX,RY | garbage:poly:X1,Y1,X2,Y2,X3,Y3,... "
                 "(outside the shape is screen; coordinates are fractions of the frame, 0..1); "
                 "core:rect|ellipse|poly:... (inside the shape is solid)")
    static = True

    def check(self, values: dict[str, Any]) -> None:
        _check_points(values["shape"], values["points"])

    def spec_values(self, spec_kind: str, args: list[str]) -> dict[str, Any]:
        if len(args) != 2 or args[0] not in SHAPES:
            raise LivekeyError(f"expected {spec_kind}:rect|ellipse|poly:NUMBERS, e.g. {spec_kind}:rect:0.1,0,0.9,1")
        return {"shape": args[0], "points": self.field("points").parse(args[1])}

    def describe(self, layer: MaskLayer) -> str:
        role = {"intersect": "Garbage", "add": "Core"}.get(layer.mode, "Shape")
        return f"{role} {SHAPE_NAMES[layer.shape]}"

    def rasterise(self, layer: MaskLayer, width: int, height: int) -> np.ndarray:
        return rasterise_shape(layer.shape, layer.points, width, height)


def _check_points(shape: str, points: tuple[float, ...]) -> None:
    n = len(points)
    if shape in ("rect", "ellipse") and n != 4:
        what = "x0,y0,x1,y1" if shape == "rect" else "cx,cy,rx,ry"
        raise LivekeyError(f"a {shape} takes 4 numbers ({what}), got {n}")
    if shape == "poly" and (n < 6 or n % 2):
        raise LivekeyError(f"a poly takes x,y pairs for at least 3 points, got {n} numbers")
    if shape == "ellipse" and (points[2] <= 0 or points[3] <= 0):
        raise LivekeyError("an ellipse's radii rx, ry must be above 0")


def rasterise_shape(shape: str, points: Sequence[float], width: int, height: int) -> np.ndarray:
    """Fill a normalised shape into a new (height, width) uint8 mask: 255 inside, edge pixels
    partly covered in proportion (drawn supersampled, then area-averaged)."""
    ss = 4 if width * height <= 2_100_000 else 2  # 4x at up to 1080p; a 4K canvas at 4x is 133 MB
    canvas = np.zeros((height * ss, width * ss), np.uint8)
    one = 1 << SHIFT
    scale = np.array([width, height], np.float64) * ss * one

    def fixed(xy: np.ndarray) -> np.ndarray:
        # fillPoly fills pixels whose centres are on or inside the outline: move the outline half a
        # (supersampled) pixel so a pixel counts when its centre is inside the true shape.
        return np.round(xy * scale - 0.5 * one).astype(np.int32)

    pts = np.asarray(points, np.float64)
    if shape == "rect":
        x0, y0, x1, y1 = pts
        poly = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        cv2.fillPoly(canvas, [fixed(poly)], 255, cv2.LINE_8, SHIFT)
    elif shape == "ellipse":
        centre = tuple(int(v) for v in fixed(pts[:2]))
        axes = tuple(int(v) for v in np.round(pts[2:] * scale))
        cv2.ellipse(canvas, centre, axes, 0, 0, 360, 255, -1, cv2.LINE_8, SHIFT)
    elif shape == "poly":
        cv2.fillPoly(canvas, [fixed(pts.reshape(-1, 2))], 255, cv2.LINE_8, SHIFT)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return cv2.resize(canvas, (width, height), interpolation=cv2.INTER_AREA)


# --- editing shapes (for the control window: click to place, drag to move) ----------
def shape_handles(layer: MaskLayer) -> list[tuple[float, float]]:
    """The draggable points of a shape layer in normalised frame coordinates: a rect's two
    corners, an ellipse's centre and its (cx + rx, cy + ry) corner, a polygon's vertices."""
    p = layer.points
    if layer.shape == "ellipse":
        return [(p[0], p[1]), (p[0] + p[2], p[1] + p[3])]
    return [(p[i], p[i + 1]) for i in range(0, len(p), 2)]


def hit_handle(layer: MaskLayer, x: float, y: float, radius: float) -> int | None:
    """Index of the handle nearest to (x, y) within ``radius`` (all normalised), or None."""
    best, best_d = None, radius
    for i, (hx, hy) in enumerate(shape_handles(layer)):
        d = math.hypot(hx - x, hy - y)
        if d <= best_d:
            best, best_d = i, d
    return best


def move_handle(layer: MaskLayer, index: int, x: float, y: float) -> MaskLayer:
    """The layer with handle ``index`` dragged to (x, y); for an ellipse, handle 0 moves the
    whole ellipse and handle 1 sets its radii."""
    p = list(layer.points)
    x, y = min(max(x, COORD_MIN), COORD_MAX), min(max(y, COORD_MIN), COORD_MAX)
    if layer.shape == "ellipse":
        if index == 0:
            p[0], p[1] = x, y
        else:
            p[2], p[3] = max(abs(x - p[0]), 1e-3), max(abs(y - p[1]), 1e-3)
    else:
        p[2 * index], p[2 * index + 1] = x, y
    return layer.replace(points=tuple(p))


def move_shape(layer: MaskLayer, dx: float, dy: float) -> MaskLayer:
    """The shape moved by (dx, dy) (normalised), kept within the coordinate range."""
    p = list(layer.points)
    count = 1 if layer.shape == "ellipse" else len(p) // 2  # an ellipse's radii do not move
    xs, ys = p[0:2 * count:2], p[1:2 * count:2]
    dx = min(max(dx, COORD_MIN - min(xs)), COORD_MAX - max(xs))
    dy = min(max(dy, COORD_MIN - min(ys)), COORD_MAX - max(ys))
    for i in range(count):
        p[2 * i] += dx
        p[2 * i + 1] += dy
    return layer.replace(points=tuple(p))


def polygon_from_clicks(clicks: Sequence[tuple[float, float]], mode: str = "intersect") -> MaskLayer:
    """A polygon shape layer from points clicked on the preview (normalised, at least 3)."""
    return MaskLayer("shape", shape="poly", mode=mode, points=tuple(v for xy in clicks for v in xy))
