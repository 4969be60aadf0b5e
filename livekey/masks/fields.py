"""The fields of mask layers: what every layer has (:data:`COMMON_FIELDS`), and :class:`Field`,
a :class:`~livekey.config.settings.Setting` with the kinds only masks need."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from livekey.config.settings import Setting
from livekey.errors import LivekeyError
from livekey.media import files

MODES = ("add", "subtract", "intersect", "replace")
SHAPES = ("rect", "ellipse", "poly")
# Normalised coordinates may reach past the frame so a shape can run off an edge.
COORD_MIN, COORD_MAX = -1.0, 2.0


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


def mask_field(name: str, kind: str, default: Any, help: str, unit: str = "", lo: float | None = None,
       hi: float | None = None, choices: tuple[str, ...] = ()) -> Field:
    return Field(name, kind, default, help, "mask", unit, lo, hi, choices)


COMMON_FIELDS: tuple[Field, ...] = (
    mask_field("enabled", "bool", True, "Whether the layer takes part."),
    mask_field("mode", "choice", "intersect", "How the mask merges into the matte so far: add (union), subtract "
       "(hold-out), intersect, replace.", choices=MODES),
    mask_field("opacity", "float", 1.0, "Strength of the layer: 0 leaves the matte as it was.", "", 0.0, 1.0),
    mask_field("invert", "bool", False, "Use 255 - mask (the outside of a shape, the dark of an image)."),
    mask_field("feather", "float", 0.0, "Soft edge: Gaussian blur of the mask, sigma = feather / 2.", "px", 0.0, 200.0),
)
