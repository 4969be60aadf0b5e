"""Masks beyond colour: the mask stack that turns the colour key's matte into the final matte.

A :class:`MaskStack` is an ordered tuple of :class:`MaskLayer` s. Each layer produces a mask
``m`` (uint8, 0 = screen, 255 = solid) at the frame size and merges it into the running matte
``a`` with its mode, then its opacity ``o`` blends the result with the matte before it:

* ``add``        ``a' = max(a, m)``      (union: a core matte, a rescue mask)
* ``subtract``   ``a' = min(a, 255 - m)`` (hold-out: everything the mask covers becomes screen)
* ``intersect``  ``a' = min(a, m)``      (a garbage matte, the key limited to a person mask)
* ``replace``    ``a' = m``
* then ``a = a + o (a' - a)``, rounded.

Before the mode, ``feather`` (pixels at the frame size) blurs the mask with a Gaussian of
sigma ``feather / 2`` and ``invert`` turns it into ``255 - m``.

How the stack composes: the matte starts empty (0, all screen) and the layers apply in order.
The colour key is itself a layer (type ``key``, mode ``replace``); a stack always holds
exactly one, first by default, so the default stack is just the key. Layer types:

* ``key``: the colour key's own matte.
* ``shape``: a rectangle, ellipse or polygon in normalised frame coordinates (0..1, so a shape
  survives a resolution change). A garbage matte is a shape in ``intersect`` mode (outside it
  everything is screen); a core matte is a shape in ``add`` mode (inside it everything is solid).
* ``image``: a grayscale image, or the alpha channel of a PNG, stretched to the frame.
* ``diff``: a difference key against a clean plate of any static background.
* ``segment``: a person-segmentation ONNX model run with OpenCV's DNN module at a reduced size.

Shapes, images and plates are rasterised/scaled once per layer and frame size (cached), so
their per-frame cost is the merge alone; ``diff`` and ``segment`` compute a mask per frame.
Every layer field is declared once in :data:`LAYER_TYPES`; the TOML profile (``[[mask]]``
tables), the ``--mask`` spec parser and the control window derive from it.
"""

from __future__ import annotations

import argparse
import functools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numba
import numpy as np

from livekey.config.settings import FrozenValues, Setting, read_toml
from livekey.engine import kernel_cache
from livekey.engine.keying import JIT, unmix_pixel
from livekey.engine.matte import GuidedUpsampler
from livekey.errors import LivekeyError
from livekey.masks import spec_checks
from livekey.media import files

MODES = ("add", "subtract", "intersect", "replace")
SHAPES = ("rect", "ellipse", "poly")
# Normalised coordinates may reach past the frame so a shape can run off an edge.
COORD_MIN, COORD_MAX = -1.0, 2.0


# --- field declarations ------------------------------------------------------
@dataclass(frozen=True)
class Field(Setting):
    """A layer field: a :class:`Setting` plus the kinds only masks need: ``path`` (a file),
    ``points`` (normalised x, y numbers) and ``size`` (``WIDTHxHEIGHT`` in pixels)."""

    def range_text(self) -> str:
        extra = {"path": "a file path", "points": f"comma-separated numbers in {COORD_MIN:g}..{COORD_MAX:g}",
                 "size": "WIDTHxHEIGHT in pixels, e.g. 256x256"}
        return extra.get(self.kind) or super().range_text()

    def parse(self, text: str) -> Any:
        return self.check(text) if self.kind in ("path", "points", "size") else super().parse(text)

    def check(self, value: Any) -> Any:
        bad = LivekeyError(f"{self.name}: {files.shorten(value)} is not allowed; expected {self.range_text()}")
        if self.kind == "path":
            if not isinstance(value, str) or not value.strip():
                raise bad
            return value
        if self.kind == "points":
            if isinstance(value, str):
                try:
                    value = [float(v) for v in value.split(",") if v.strip()]
                except ValueError:
                    raise bad from None
            if not isinstance(value, Sequence) or not value:
                raise bad
            if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in value):
                raise bad
            if any(not (COORD_MIN <= v <= COORD_MAX) or math.isnan(v) for v in value):
                raise bad
            return tuple(float(v) for v in value)
        if self.kind == "size":
            try:
                w, h = (int(v) for v in str(value).lower().split("x"))
            except ValueError:
                raise bad from None
            if not (8 <= w <= 4096 and 8 <= h <= 4096):
                raise bad
            return f"{w}x{h}"
        return super().check(value)


def _f(name: str, kind: str, default: Any, help: str, unit: str = "", lo: float | None = None,
       hi: float | None = None, choices: tuple[str, ...] = ()) -> Field:
    return Field(name, kind, default, help, "mask", unit, lo, hi, choices)


COMMON_FIELDS: tuple[Field, ...] = (
    _f("enabled", "bool", True, "Whether the layer takes part."),
    _f("mode", "choice", "intersect", "How the mask merges into the matte so far: add (union), subtract "
       "(hold-out), intersect, replace.", choices=MODES),
    _f("opacity", "float", 1.0, "Strength of the layer: 0 leaves the matte as it was.", "", 0.0, 1.0),
    _f("invert", "bool", False, "Use 255 - mask (the outside of a shape, the dark of an image)."),
    _f("feather", "float", 0.0, "Soft edge: Gaussian blur of the mask, sigma = feather / 2.", "px", 0.0, 200.0),
)


@dataclass(frozen=True)
class LayerType:
    """A kind of mask layer: its own fields (after :data:`COMMON_FIELDS`) and its default mode."""

    name: str
    help: str
    mode: str
    fields: tuple[Field, ...]
    # The field a spec's first argument fills, e.g. the plate in ``diff:plate.png``.
    main: str | None = None

    @property
    def all_fields(self) -> tuple[Field, ...]:
        return COMMON_FIELDS + self.fields

    def field(self, name: str) -> Field:
        for f in self.all_fields:
            if f.name == name:
                return f
        known = ", ".join(f.name for f in self.all_fields)
        raise LivekeyError(f"{self.name} mask has no field {name!r}; fields: {known}")


LAYER_TYPES: dict[str, LayerType] = {t.name: t for t in (
    LayerType("key", "The colour key's own matte.", "replace", ()),
    LayerType("shape", "A rectangle, ellipse or polygon in normalised frame coordinates.", "intersect", (
        _f("shape", "choice", "rect", "rect: x0,y0,x1,y1; ellipse: cx,cy,rx,ry; poly: x1,y1,x2,y2,... "
           "(at least 3 points).", choices=SHAPES),
        _f("points", "points", (0.0, 0.0, 1.0, 1.0), "The shape's numbers, as fractions of the frame's "
           "width (x) and height (y)."),
    ), main="points"),
    LayerType("image", "A grayscale image or a PNG's alpha channel, stretched to the frame.", "intersect", (
        _f("path", "path", "mask.png", "The mask image (white = solid)."),
        _f("channel", "choice", "auto", "Which part is the mask: alpha, luma, or auto (alpha when the file "
           "has one).", choices=("auto", "alpha", "luma")),
    ), main="path"),
    LayerType("diff", "A difference key against a clean plate of any static background.", "replace", (
        _f("plate", "path", "plate.png", "The clean plate: the empty background, same framing."),
        _f("threshold", "float", 15.0, "Colour distance to the plate at or below which a pixel is background.",
           "levels", 0.0, 255.0),
        _f("softness", "float", 15.0, "Distance beyond the threshold from which a pixel is surely foreground; "
           "between the two, alpha is the pixel's share of the nearby foreground colour.",
           "levels", 1.0, 255.0),
        _f("noise", "float", 2.5, "Raise the threshold to this many times the frame's median distance to "
           "the plate (camera noise); 0 turns it off.", "", 0.0, 10.0),
        _f("luma_weight", "float", 0.15, "Weight of brightness changes (I = s P) against colour changes (lower ignores "
           "shadows and exposure drift).", "", 0.0, 1.0),
        _f("unmix", "bool", True, "Recover edge colours by removing the plate's share from soft pixels."),
    ), main="plate"),
    LayerType("segment", "A person-segmentation ONNX model (OpenCV DNN) at a reduced size.", "intersect", (
        _f("model", "path", "model.onnx", "The ONNX model: 1x3xHxW image in, a person mask out."),
        _f("size", "size", "256x256", "The model's input size; the frame is scaled to it."),
        _f("scale", "float", 1.0 / 255.0, "Input pixel scale (after subtracting mean).", "", 0.0, 1.0),
        _f("mean", "float", 0.0, "Subtracted from every input channel, in 0..255 levels.", "", 0.0, 255.0),
        _f("rgb", "bool", True, "Feed RGB (true) or BGR (false) channel order."),
        _f("channel", "int", -1, "Output channel holding the person (-1 = last).", "", -1.0, 15.0),
        _f("activation", "choice", "none", "Apply to the output: none (already 0..1) or sigmoid (logits).",
           choices=("none", "sigmoid")),
        _f("every", "int", 1, "Run the model every N frames, reusing the mask in between.", "frames", 1.0, 30.0),
        _f("guided", "bool", True, "Scale the model's mask up with a guided filter on the frame, so its "
           "edges follow the picture's edges (false: plain bilinear)."),
    ), main="model"),
)}


# --- layers and stacks -------------------------------------------------------
class MaskLayer(FrozenValues):
    """One immutable, validated mask layer: ``MaskLayer("shape", shape="ellipse", points=(...))``."""

    __slots__ = ("type", "_values")

    def __init__(self, type: str, values: Mapping[str, Any] | None = None, /, **changes: Any) -> None:
        ltype = LAYER_TYPES.get(type)
        if ltype is None:
            raise LivekeyError(f"unknown mask type {type!r}; types: {', '.join(LAYER_TYPES)}")
        merged = {f.name: f.default for f in ltype.all_fields} | {"mode": ltype.mode}
        for source in (values or {}, changes):
            for name, value in source.items():
                merged[name] = ltype.field(name).check(value)
        if type == "shape":
            _check_points(merged["shape"], merged["points"])
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "_values", merged)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MaskLayer) and (self.type, self._values) == (other.type, other._values)

    def __hash__(self) -> int:
        return hash((self.type, tuple(self._values.items())))

    def __repr__(self) -> str:
        ltype = LAYER_TYPES[self.type]
        defaults = {f.name: f.default for f in ltype.all_fields} | {"mode": ltype.mode}
        changed = ", ".join(f"{k}={v!r}" for k, v in self._values.items() if v != defaults[k])
        return f"MaskLayer({self.type!r}{', ' if changed else ''}{changed})"

    @property
    def values(self) -> dict[str, Any]:
        return dict(self._values)

    def replace(self, **changes: Any) -> MaskLayer:
        return MaskLayer(self.type, self._values, **changes)

    @property
    def static(self) -> bool:
        """True when the mask does not depend on the frame (rasterised once per size)."""
        return self.type in ("shape", "image")

    def to_toml_dict(self) -> dict[str, Any]:
        return {"type": self.type} | {k: list(v) if isinstance(v, tuple) else v for k, v in self._values.items()}

    @classmethod
    def from_toml_dict(cls, data: Mapping[str, Any], base_dir: Path | None = None) -> MaskLayer:
        data = dict(data)
        kind = data.pop("type", None)
        if not isinstance(kind, str):
            raise LivekeyError(f"a [[mask]] table needs type = one of {', '.join(LAYER_TYPES)}")
        ltype = LAYER_TYPES.get(kind)
        if ltype is None:
            raise LivekeyError(f"unknown mask type {kind!r}; types: {', '.join(LAYER_TYPES)}")
        if base_dir is not None:  # relative files in a profile are relative to the profile
            for f in ltype.fields:
                value = data.get(f.name)
                if f.kind == "path" and isinstance(value, str) and value and not Path(value).is_absolute():
                    data[f.name] = files.inside(base_dir, value, f.name)
        try:
            return cls(kind, data)
        except LivekeyError as err:
            raise LivekeyError(f"{kind} mask: {err}") from None


def _check_points(shape: str, points: tuple[float, ...]) -> None:
    n = len(points)
    if shape in ("rect", "ellipse") and n != 4:
        what = "x0,y0,x1,y1" if shape == "rect" else "cx,cy,rx,ry"
        raise LivekeyError(f"a {shape} takes 4 numbers ({what}), got {n}")
    if shape == "poly" and (n < 6 or n % 2):
        raise LivekeyError(f"a poly takes x,y pairs for at least 3 points, got {n} numbers")
    if shape == "ellipse" and (points[2] <= 0 or points[3] <= 0):
        raise LivekeyError("an ellipse's radii rx, ry must be above 0")


KEY_LAYER = MaskLayer("key")


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


@dataclass(frozen=True)
class MaskStack:
    """An ordered, immutable stack of mask layers holding exactly one ``key`` layer.

    Editing methods return a new stack (the UI swaps the keyer's reference, as with settings).
    """

    layers: tuple[MaskLayer, ...] = (KEY_LAYER,)

    def __post_init__(self) -> None:
        layers = tuple(self.layers)
        keys = sum(1 for layer in layers if layer.type == "key")
        if keys > 1:
            raise LivekeyError("a mask stack holds one key layer; remove the extra ones")
        if keys == 0:
            layers = (KEY_LAYER,) + layers
        object.__setattr__(self, "layers", layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index: int) -> MaskLayer:
        return self.layers[index]

    def __iter__(self):
        return iter(self.layers)

    def _index(self, index: int) -> int:
        if not -len(self.layers) <= index < len(self.layers):
            raise LivekeyError(f"no mask layer {index}; the stack has {len(self.layers)} (0..{len(self.layers) - 1})")
        return index % len(self.layers)

    def add(self, layer: MaskLayer, index: int | None = None) -> MaskStack:
        """A stack with ``layer`` inserted at ``index`` (default: on top, applied last)."""
        layers = list(self.layers)
        layers.insert(len(layers) if index is None else index, layer)
        return MaskStack(tuple(layers))

    def remove(self, index: int) -> MaskStack:
        i = self._index(index)
        if self.layers[i].type == "key":
            raise LivekeyError("the key layer cannot be removed; disable it instead")
        return MaskStack(self.layers[:i] + self.layers[i + 1:])

    def move(self, index: int, to: int) -> MaskStack:
        layers = list(self.layers)
        layer = layers.pop(self._index(index))
        layers.insert(max(0, min(to, len(layers))), layer)
        return MaskStack(tuple(layers))

    def toggle(self, index: int) -> MaskStack:
        return self.set(index, self.layers[self._index(index)].replace(enabled=not self.layers[index].enabled))

    def set(self, index: int, layer: MaskLayer) -> MaskStack:
        i = self._index(index)
        return MaskStack(self.layers[:i] + (layer,) + self.layers[i + 1:])

    @property
    def key_index(self) -> int:
        return next(i for i, layer in enumerate(self.layers) if layer.type == "key")

    @property
    def active(self) -> bool:
        """False when the stack is just the plain key (the keyer then runs its fused kernel)."""
        return any(layer.enabled for layer in self.layers if layer.type != "key") or not _is_plain_key(
            self.layers[self.key_index]) or not self.layers[self.key_index].enabled

    @property
    def uses_key(self) -> bool:
        """False when the colour key's matte cannot reach the result (the key layer is disabled, or
        a full-strength ``replace`` layer comes after it): then no screen colour is needed."""
        k = self.key_index
        if not self.layers[k].enabled:
            return False
        return not any(layer.enabled and layer.mode == "replace" and layer.opacity >= 1.0
                       for layer in self.layers[k + 1:])

    def to_toml_list(self) -> list[dict[str, Any]]:
        return [layer.to_toml_dict() for layer in self.layers]

    @classmethod
    def from_toml_list(cls, items: Any, where: str = "profile", base_dir: Path | None = None) -> MaskStack:
        if not isinstance(items, list) or not all(isinstance(t, Mapping) for t in items):
            raise LivekeyError(f"{where}: mask must be an array of tables ([[mask]] sections)")
        layers = []
        for n, item in enumerate(items, 1):
            try:
                layers.append(MaskLayer.from_toml_dict(item, base_dir))
            except LivekeyError as err:
                raise LivekeyError(f"{where}: [[mask]] number {n}: {err}") from None
        try:
            return cls(tuple(layers))
        except LivekeyError as err:
            raise LivekeyError(f"{where}: {err}") from None

    def validate(self) -> None:
        """Open every file the layers name (images, plates, models), raising a LivekeyError for the
        first that cannot be used, so a bad file fails before capture starts."""
        for layer in self.layers:
            if layer.enabled and layer.type == "image":
                _load_mask_image(layer.path, layer.channel)
            elif layer.enabled and layer.type == "diff":
                _load_plate(layer.plate)
            elif layer.enabled and layer.type == "segment":
                _load_net(layer.model)


def _is_plain_key(layer: MaskLayer) -> bool:
    return layer.mode == "replace" and layer.opacity >= 1.0 and not layer.invert and layer.feather == 0


# --- the merge maths (plain functions over uint8 arrays) --------------------
def combine(alpha: np.ndarray, mask: np.ndarray, mode: str, opacity: float, scratch: np.ndarray) -> None:
    """Merge ``mask`` into ``alpha`` in place (both (H, W) uint8) with ``mode`` and ``opacity`` 0..1.

    ``scratch`` is a preallocated (H, W) uint8 buffer; nothing is allocated.
    """
    full = opacity >= 1.0
    dst = alpha if full else scratch  # cv2's element-wise ops may write in place
    if mode == "add":
        cv2.max(alpha, mask, dst=dst)
    elif mode == "intersect":
        cv2.min(alpha, mask, dst=dst)
    elif mode == "subtract":
        cv2.bitwise_not(mask, dst=scratch)
        cv2.min(alpha, scratch, dst=dst)
    elif mode == "replace":
        np.copyto(dst, mask)
    else:
        raise ValueError(f"unknown mode {mode!r}")
    if not full and opacity > 0.0:
        cv2.addWeighted(alpha, 1.0 - opacity, scratch, opacity, 0.0, dst=alpha)


def feather_invert(mask: np.ndarray, feather: float, invert: bool, out: np.ndarray) -> np.ndarray:
    """``out`` = the mask blurred by a Gaussian of sigma ``feather / 2`` px, then inverted if asked."""
    if feather > 0:
        cv2.GaussianBlur(mask, (0, 0), feather / 2.0, dst=out, borderType=cv2.BORDER_REPLICATE)
    elif out is not mask:
        np.copyto(out, mask)
    if invert:
        cv2.bitwise_not(out, dst=out)
    return out


# --- static masks, rasterised once per layer and size -----------------------
_SHIFT = 4  # fixed-point bits for sub-pixel shape vertices


@functools.lru_cache(maxsize=32)
def static_mask(layer: MaskLayer, width: int, height: int) -> np.ndarray:
    """A shape or image layer's mask at ``width`` x ``height`` with feather and invert applied
    (read-only, cached: rasterised once per layer and size, not per frame)."""
    if layer.type == "shape":
        mask = rasterise_shape(layer.shape, layer.points, width, height)
    elif layer.type == "image":
        mask = cv2.resize(_load_mask_image(layer.path, layer.channel), (width, height),
                          interpolation=cv2.INTER_AREA)
    else:
        raise ValueError(f"{layer.type} layers are computed per frame")
    mask = feather_invert(mask, layer.feather, layer.invert, mask)
    mask.flags.writeable = False
    return mask


def rasterise_shape(shape: str, points: Sequence[float], width: int, height: int) -> np.ndarray:
    """Fill a normalised shape into a new (height, width) uint8 mask: 255 inside, edge pixels
    partly covered in proportion (drawn supersampled, then area-averaged)."""
    ss = 4 if width * height <= 2_100_000 else 2  # 4x at up to 1080p; a 4K canvas at 4x is 133 MB
    canvas = np.zeros((height * ss, width * ss), np.uint8)
    one = 1 << _SHIFT
    scale = np.array([width, height], np.float64) * ss * one

    def fixed(xy: np.ndarray) -> np.ndarray:
        # fillPoly fills pixels whose centres are on or inside the outline: move the outline half a
        # (supersampled) pixel so a pixel counts when its centre is inside the true shape.
        return np.round(xy * scale - 0.5 * one).astype(np.int32)

    pts = np.asarray(points, np.float64)
    if shape == "rect":
        x0, y0, x1, y1 = pts
        poly = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])
        cv2.fillPoly(canvas, [fixed(poly)], 255, cv2.LINE_8, _SHIFT)
    elif shape == "ellipse":
        centre = tuple(int(v) for v in fixed(pts[:2]))
        axes = tuple(int(v) for v in np.round(pts[2:] * scale))
        cv2.ellipse(canvas, centre, axes, 0, 0, 360, 255, -1, cv2.LINE_8, _SHIFT)
    elif shape == "poly":
        cv2.fillPoly(canvas, [fixed(pts.reshape(-1, 2))], 255, cv2.LINE_8, _SHIFT)
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return cv2.resize(canvas, (width, height), interpolation=cv2.INTER_AREA)


def _read(path: str, what: str, keep_alpha: bool) -> np.ndarray:
    from livekey.media.images import read_image

    return read_image(path, what, keep_alpha=keep_alpha)


@functools.lru_cache(maxsize=8)
def _load_mask_image(path: str, channel: str) -> np.ndarray:
    img = _read(path, "mask image", keep_alpha=True)
    has_alpha = img.shape[2] == 4
    if channel == "alpha" and not has_alpha:
        raise LivekeyError(f"mask image {path} has no alpha channel; use channel=luma or a PNG with alpha")
    if has_alpha and channel != "luma":
        return np.ascontiguousarray(img[..., 3])
    return cv2.cvtColor(img[..., :3], cv2.COLOR_BGR2GRAY)


@functools.lru_cache(maxsize=4)
def _load_plate(path: str) -> np.ndarray:
    return _read(path, "clean plate", keep_alpha=False)


@functools.lru_cache(maxsize=8)
def plate_at(path: str, width: int, height: int) -> np.ndarray:
    """The clean plate scaled to the frame size (cached)."""
    plate = _load_plate(path)
    if plate.shape[:2] != (height, width):
        plate = cv2.resize(plate, (width, height), interpolation=cv2.INTER_AREA)
    plate.flags.writeable = False
    return plate


@functools.lru_cache(maxsize=4)
def _load_net(path: str) -> cv2.dnn.Net:
    # One net per model path; the keyer thread is its only user (cv2.dnn nets are not thread-safe).
    files.regular_file(path, "segment model")
    try:
        return cv2.dnn.readNetFromONNX(str(path))
    except cv2.error as err:
        raise LivekeyError(f"segment model {path} is not an ONNX model OpenCV can load "
                           f"({_cv_message(err)})") from None


def _cv_message(err: cv2.error) -> str:
    text = str(err).strip().splitlines()
    line = next((t for t in text if "error:" in t), text[-1] if text else "unknown error")
    return line.split("error:", 1)[-1].strip()


# --- per-frame masks ------------------------------------------------------------
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


@numba.njit(**JIT)
def _restore_row(src, key, al, fg):
    for x in range(al.shape[0]):
        k = np.float32(key[x])
        t = max(np.float32(al[x]) - k, np.float32(0.0)) / max(np.float32(255.0) - k, np.float32(1.0))
        for c in range(3):
            i = 3 * x + c
            f = np.float32(fg[i])
            fg[i] = np.uint8(f + (np.float32(src[i]) - f) * t + np.float32(0.5))


@numba.njit(parallel=True, **JIT)
def restore_colour(frame, key_alpha, alpha, fg):
    """Where the mask stack raised the matte above the key's (a core matte, a rescue mask), move
    ``fg`` from the key's colour towards the camera's, fully where alpha reaches 255:
    ``fg += (I - fg) (a - a_key) / (255 - a_key)``. The key's colour there is black or un-mixed
    against a screen the masks say is not there."""
    h, w = alpha.shape
    f2, g2 = frame.reshape((h, w * 3)), fg.reshape((h, w * 3))
    for y in numba.prange(h):
        _restore_row(f2[y], key_alpha[y], alpha[y], g2[y])


def plate_noise(frame: np.ndarray, plate: np.ndarray, luma_weight: float, step: int = 16) -> float:
    """Median colour distance of ``frame`` to ``plate`` on a sparse grid: the camera noise level
    when most of the frame is background (levels)."""
    f = np.ascontiguousarray(frame[::step, ::step])
    d = np.empty(f.shape[:2], np.uint8)
    difference_key(f, np.ascontiguousarray(plate[::step, ::step]), luma_weight, 0.0, 255.0, d)
    return float(np.median(d))


def segment_mask(net: cv2.dnn.Net, frame: np.ndarray, layer: MaskLayer, out: np.ndarray,
                 upsampler: GuidedUpsampler | None = None) -> np.ndarray:
    """Run a segmentation net on ``frame`` at the layer's input size and write the person mask,
    scaled up to the frame (guided by the frame when ``layer.guided``), into ``out`` (H, W) uint8."""
    w, h = (int(v) for v in layer.size.split("x"))
    blob = cv2.dnn.blobFromImage(frame, layer.scale, (w, h), (layer.mean,) * 3, swapRB=layer.rgb, crop=False)
    try:
        net.setInput(blob)
        result = np.asarray(net.forward(), np.float32)
    except cv2.error as err:
        raise LivekeyError(f"segment model {layer.model} failed on a {layer.size} input ({_cv_message(err)}); "
                           f"set size= to the model's input size") from None
    plane = _mask_plane(result, layer)
    if layer.activation == "sigmoid":
        plane = 1.0 / (1.0 + np.exp(-plane))
    small = np.clip(plane * 255.0 + 0.5, 0, 255).astype(np.uint8)
    if layer.guided:
        return (upsampler or GuidedUpsampler())(small, frame, out)
    cv2.resize(small, (out.shape[1], out.shape[0]), dst=out, interpolation=cv2.INTER_LINEAR)
    return out


def _mask_plane(result: np.ndarray, layer: MaskLayer) -> np.ndarray:
    """The (h, w) person plane of a model output shaped (1, C, h, w), (1, h, w, C), (1, h, w) or (h, w)."""
    r = result[0] if result.ndim == 4 or (result.ndim == 3 and result.shape[0] == 1) else result
    if r.ndim == 3:
        channels_last = r.shape[2] <= 16 < r.shape[0]
        planes = np.moveaxis(r, 2, 0) if channels_last else r
        if not -planes.shape[0] <= layer.channel < planes.shape[0]:
            raise LivekeyError(f"segment model {layer.model} has {planes.shape[0]} output channels; "
                               f"channel={layer.channel} does not exist")
        r = planes[layer.channel]
    if r.ndim != 2 or min(r.shape) < 2:
        raise LivekeyError(f"segment model {layer.model} output shape {result.shape} is not a mask "
                           f"(expected 1xCxHxW)")
    return r


# --- the stage the keyer runs ----------------------------------------------------
NOISE_REFRESH = 15  # frames between estimates of the camera noise for the difference key

class _Step:
    """One enabled layer, bound to a frame size: ``mask(frame, fg)`` returns its uint8 mask."""

    def __init__(self, layer: MaskLayer, width: int, height: int, key_matte: np.ndarray, apply_unmix: bool):
        self.layer, self.mode, self.opacity = layer, layer.mode, layer.opacity
        self._buf = np.empty((height, width), np.uint8)
        self._key = key_matte
        self._count = 0
        self._noise = 0.0
        self._unmix = apply_unmix
        if layer.static:
            self._static = static_mask(layer, width, height)
            if self.mode == "subtract":  # min(a, 255 - m): fold the complement in once, not per frame
                self._static, self.mode = 255 - self._static, "intersect"
        elif layer.type == "diff":
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
        elif layer.type == "segment":
            self._net = _load_net(layer.model)
            self._upsampler = GuidedUpsampler()
            self._raw = np.empty((height, width), np.uint8)

    def mask(self, frame: np.ndarray, fg: np.ndarray) -> np.ndarray:
        layer = self.layer
        if layer.static:
            return self._static
        if layer.type == "key":
            return feather_invert(self._key, layer.feather, layer.invert, self._buf)
        if layer.type == "diff":
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
        if self._count % layer.every == 0:
            segment_mask(self._net, frame, layer, self._raw, self._upsampler)
        self._count += 1
        return feather_invert(self._raw, layer.feather, layer.invert, self._buf)


class MaskStage:
    """The keyer's matte stage for a mask stack: ``stage(frame, alpha, fg)`` rewrites ``alpha``
    (and ``fg`` where the key is unused or a diff layer un-mixes edges) in place."""

    def __init__(self, stack: MaskStack) -> None:
        self.stack = stack
        self._size: tuple[int, int] | None = None
        self._steps: list[_Step] = []

    def _bind(self, width: int, height: int) -> None:
        layers = [layer for layer in self.stack if layer.enabled]
        self._key_matte = np.empty((height, width), np.uint8)
        self._scratch = np.empty((height, width), np.uint8)
        # The common case, the plain key first: the keyer's matte already is the state after it.
        self._start_at_key = bool(layers) and layers[0].type == "key" and _is_plain_key(layers[0])
        if self._start_at_key:
            layers = layers[1:]
        # Only a diff layer whose mask becomes the final matte outright may rewrite edge colours.
        last_replace = max((i for i, layer in enumerate(layers) if layer.mode == "replace"), default=-1)
        self._steps = [_Step(layer, width, height, self._key_matte,
                             layer.type == "diff" and layer.unmix and i == last_replace)
                       for i, layer in enumerate(layers)]
        self._uses_key = self.stack.uses_key
        # Layers that can raise the matte above the key's leave colour to restore afterwards.
        self._raises = self._uses_key and any(layer.mode in ("add", "replace")
                                              for layer in layers if layer.type not in ("key", "diff"))
        self._size = (width, height)

    def __call__(self, frame: np.ndarray, alpha: np.ndarray, fg: np.ndarray) -> None:
        h, w = alpha.shape
        if self._size != (w, h):
            self._bind(w, h)
        if not self._uses_key:
            np.copyto(fg, frame)  # no screen: the camera's colour is the foreground
        if not self._start_at_key or self._raises:
            np.copyto(self._key_matte, alpha)
        if not self._start_at_key:
            alpha.fill(0)
        for step in self._steps:
            combine(alpha, step.mask(frame, fg), step.mode, step.opacity, self._scratch)
        if self._raises:
            restore_colour(frame, self._key_matte, alpha, fg)


def warm_up() -> None:
    """Compile (or load from the cache) the mask kernels before capture starts."""
    frame = np.zeros((4, 5, 3), np.uint8)
    mask = np.empty((4, 5), np.uint8)
    difference_key(frame, frame, 0.5, 10.0, 20.0, mask)
    unmix_plate(frame, frame, mask, frame.copy())
    restore_colour(frame, mask, mask, frame.copy())
    sure_samples(frame, mask, np.float32(1.0), np.empty((2, 3, 3), np.uint8), np.empty((2, 3), np.uint8))
    foreground_mean(np.zeros((2, 3, 3), np.float32), np.zeros((2, 3), np.float32), 10.0,
                    np.empty((2, 3, 3), np.uint8), np.empty((2, 3), np.uint8))
    project_alpha(frame, frame, mask, frame, mask, 1.0, 2.0, mask)


# --- command line ----------------------------------------------------------------
SPEC_HELP = """\
A mask layer, applied in the order given after the colour key. SPEC is KIND:ARGS[:OPTION=VALUE...]:
garbage:rect:X0,Y0,X1,Y1 | garbage:ellipse:CX,CY,RX,RY | garbage:poly:X1,Y1,X2,Y2,X3,Y3,...
(outside the shape is screen; coordinates are fractions of the frame, 0..1);
core:rect|ellipse|poly:... (inside the shape is solid); image:FILE.png (grayscale or alpha mask,
white keeps); diff:PLATE.png (difference key against a clean plate: no green screen needed);
segment:MODEL.onnx (person segmentation); key (the colour key itself, to give it options).
A FILE.toml with [[mask]] tables, or a bare image file, also works.
OPTIONS: mode=add|subtract|intersect|replace, opacity=0..1, invert=true, feather=PX, enabled=false,
and each type's own fields ({fields}).
Shorthands: a trailing @MODE sets the mode, a leading ~ inverts. Repeat --mask for several layers.""".format(
    fields="; ".join(f"{t.name}: " + ", ".join(f.name for f in t.fields if f.name != t.main)
                     for t in LAYER_TYPES.values() if t.fields and t.name != "shape"))

_ALIASES = {"garbage": ("shape", "intersect"), "core": ("shape", "add")}
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp")


def parse_mask_spec(text: str) -> list[MaskLayer]:
    """Turn one ``--mask`` SPEC (see :data:`SPEC_HELP`) into layers: one, or a TOML file's stack."""
    try:
        spec_checks.check_spec_text(text)
        layers = _parse_spec(text)
        spec_checks.check_layers(layers)
        return layers
    except KeyError as err:  # a kind the parser did not expect (e.g. key@add@add)
        raise LivekeyError(f"--mask {files.shorten(text)}: unknown mask kind {files.shorten(err.args[0])}") from None
    except LivekeyError as err:
        raise LivekeyError(f"--mask {files.shorten(text)}: {err}") from None


def _parse_spec(text: str) -> list[MaskLayer]:
    spec = text.strip()
    kind = spec.split(":", 1)[0].lstrip("~").split("@", 1)[0]
    if kind not in LAYER_TYPES and kind not in _ALIASES:
        path = Path(spec)
        if path.suffix.lower() == ".toml":
            return list(load_stack_file(path).layers)
        if path.suffix.lower() in _IMAGE_SUFFIXES:
            return [MaskLayer("image", path=spec)]
        raise LivekeyError(f"unknown mask kind {kind!r}; use garbage, core, shape, image, diff, segment "
                           f"or key, a .toml file or an image file")
    invert = spec.startswith("~")
    spec = spec.lstrip("~")
    mode = None
    if "@" in spec.rsplit(":", 1)[-1]:
        spec, mode = spec.rsplit("@", 1)
        if mode not in MODES:
            raise LivekeyError(f"@{mode} is not a mode; use one of {', '.join('@' + m for m in MODES)}")
    parts = spec.split(":")
    kind, rest = parts[0], parts[1:]
    options: dict[str, str] = {}
    while rest and "=" in rest[-1] and "," not in rest[-1].split("=", 1)[0]:
        name, value = rest.pop().split("=", 1)
        options[name.strip()] = value.strip()
    values: dict[str, Any] = {}
    if kind in _ALIASES:
        kind, values["mode"] = _ALIASES[kind]
    ltype = LAYER_TYPES[kind]
    if kind == "shape":
        if len(rest) != 2 or rest[0] not in SHAPES:
            raise LivekeyError(f"expected {parts[0]}:rect|ellipse|poly:NUMBERS, e.g. {parts[0]}:rect:0.1,0,0.9,1")
        values["shape"] = rest[0]
        values["points"] = ltype.field("points").parse(rest[1])
    elif ltype.main is not None:
        if not rest or not ":".join(rest):
            raise LivekeyError(f"expected {kind}:{ltype.field(ltype.main).default.upper()}")
        values[ltype.main] = ":".join(rest)
    elif rest:
        raise LivekeyError(f"{kind} takes no arguments, only options (e.g. {kind}:feather=2)")
    for name, value in options.items():
        values[name] = ltype.field(name).parse(value)
    if mode is not None:
        values["mode"] = mode
    if invert:
        values["invert"] = not values.get("invert", False)
    return [MaskLayer(kind, values)]


def add_mask_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--mask SPEC`` (repeatable) to a subcommand."""
    parser.add_argument("--mask", action="append", default=[], metavar="SPEC", help=SPEC_HELP)


def stack_from_args(args: argparse.Namespace, base: MaskStack | None = None) -> MaskStack:
    """The profile's stack (or the default) with the ``--mask`` layers added on top, in order."""
    stack = base or MaskStack()
    for spec in getattr(args, "mask", None) or []:
        for layer in parse_mask_spec(spec):
            if layer.type == "key":  # options for the key layer: change it where it is
                stack = stack.set(stack.key_index, layer)
            else:
                stack = stack.add(layer)
    return stack


def load_stack_file(path: str | Path) -> MaskStack:
    """The ``[[mask]]`` tables of a TOML file (a profile or a masks-only file)."""
    data = read_toml(path, "mask file")
    if "mask" not in data:
        raise LivekeyError(f"mask file {path} has no [[mask]] tables")
    return MaskStack.from_toml_list(data["mask"], str(path), Path(path).parent)


def stack_summary(stack: MaskStack | Iterable[MaskLayer]) -> str:
    """One line per enabled layer, for status output."""
    return "; ".join(f"{layer.type}@{layer.mode}" for layer in stack if layer.enabled)


# Numba caches this folder's kernels apart from the engine's; they inline keying's helpers, so
# they are dropped too when the package's source changed (see :mod:`livekey.engine.kernel_cache`).
kernel_cache.keep_in_step(_diff_row, sets_warm=False)
