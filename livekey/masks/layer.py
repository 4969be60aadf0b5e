"""Mask layers: :class:`LayerType` (what a kind of layer is, one subclass per kind, each in its own
module under ``livekey/masks/``), the registry :data:`LAYER_TYPES`, and :class:`MaskLayer` (one
immutable, validated layer of a type).

A layer type declares its fields, checks them together, opens its files, and either rasterises a
mask once per frame size (``static``) or binds per-frame state to a size (:meth:`LayerType.bind`).
The TOML profile, the ``--mask`` parser and the control window's mask panel are built from the
registry, so a new kind of layer is one module and one line in ``livekey/masks/__init__.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Protocol

import numpy as np

from livekey.config.settings import FrozenValues
from livekey.errors import LivekeyError
from livekey.masks.fields import COMMON_FIELDS, Field
from livekey.media import files


class Binding(Protocol):
    """A per-frame layer bound to one frame size: ``mask(frame, fg)`` returns its (H, W) uint8 mask
    (feather and invert applied) and may rewrite ``fg``'s edge colours."""

    def mask(self, frame: np.ndarray, fg: np.ndarray) -> np.ndarray: ...


class LayerType:
    """A kind of mask layer. Subclasses set the class attributes and override what they need."""

    name: ClassVar[str]
    help: ClassVar[str]
    mode: ClassVar[str]  # the default merge mode
    fields: ClassVar[tuple[Field, ...]] = ()  # its own fields, after :data:`COMMON_FIELDS`
    # The field a spec's first argument fills, e.g. the plate in ``diff:plate.png``.
    main: ClassVar[str | None] = None
    # How ``--mask`` writes it, for the option's help.
    spec_help: ClassVar[str] = ""
    # True when the mask does not depend on the frame: rasterised once per size by :meth:`rasterise`.
    static: ClassVar[bool] = False
    # True when the layer sets the foreground colour itself where it raises the matte (the stack
    # then does not give the camera's colour back there).
    own_colour: ClassVar[bool] = False
    # The control window's Add menu entry for a layer made from a file: (title, field, caption,
    # file filter); None when the type is added otherwise (drawn, or always present).
    add_from_file: ClassVar[tuple[str, str, str, str] | None] = None
    # The Add menu's entries for a layer made from nothing: (title, mode) each.
    add_plain: ClassVar[tuple[tuple[str, str], ...]] = ()

    @property
    def all_fields(self) -> tuple[Field, ...]:
        return COMMON_FIELDS + self.fields

    def field(self, name: str) -> Field:
        for f in self.all_fields:
            if f.name == name:
                return f
        known = ", ".join(f.name for f in self.all_fields)
        raise LivekeyError(f"{self.name} mask has no field {name!r}; fields: {known}")

    def check(self, values: dict[str, Any]) -> None:
        """Check the fields together (each was checked alone), raising a LivekeyError."""

    def spec_values(self, spec_kind: str, args: list[str]) -> dict[str, Any]:
        """The fields a ``--mask`` spec's arguments (``args``, split on ``:``) give."""
        if self.main is not None:
            if not args or not ":".join(args):
                raise LivekeyError(f"expected {self.name}:{self.field(self.main).default.upper()}")
            return {self.main: ":".join(args)}
        if args:
            raise LivekeyError(f"{self.name} takes no arguments, only options (e.g. {self.name}:feather=2)")
        return {}

    def validate(self, layer: MaskLayer) -> None:
        """Open the files ``layer`` names, raising a LivekeyError for one that cannot be used."""

    def describe(self, layer: MaskLayer) -> str:
        """What the layer is, for the mask panel's list."""
        return self.name

    def rasterise(self, layer: MaskLayer, width: int, height: int) -> np.ndarray:
        """A static layer's mask at the size, before feather and invert (a new array)."""
        raise ValueError(f"{self.name} layers are computed per frame")

    def bind(self, layer: MaskLayer, width: int, height: int, key_matte: np.ndarray, final: bool) -> Binding:
        """A per-frame layer's state at one frame size. ``key_matte`` holds the colour key's matte of
        each frame; ``final`` is True when this layer's mask becomes the final matte outright (the
        last full ``replace``), so it may rewrite edge colours."""
        raise ValueError(f"{self.name} layers are rasterised once per size")


LAYER_TYPES: dict[str, LayerType] = {}


def register(cls: type[LayerType]) -> type[LayerType]:
    """Class decorator: add a layer type to :data:`LAYER_TYPES` under its name."""
    if cls.name in LAYER_TYPES:
        raise ValueError(f"mask layer type {cls.name!r} is registered twice")
    LAYER_TYPES[cls.name] = cls()
    return cls


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
        ltype.check(merged)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "_values", merged)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MaskLayer) and (self.type, self._values) == (other.type, other._values)

    def __hash__(self) -> int:
        return hash((self.type, tuple(self._values.items())))

    def __reduce__(self) -> tuple:
        """Pickled as its type and values, rebuilt (and checked) by the constructor."""
        return (MaskLayer, (self.type, self._values))

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
        return LAYER_TYPES[self.type].static

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
