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
Every layer type is one class in one module of this folder (``key``, ``shape``, ``image``,
``diff``, ``segment``), registered in :data:`~livekey.masks.layer.LAYER_TYPES`; the TOML profile
(``[[mask]]`` tables), the ``--mask`` spec parser and the control window derive from it. This
module holds the stack; :mod:`livekey.masks.stage` runs it on frames.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livekey.errors import LivekeyError
from livekey.masks.layer import LAYER_TYPES, MaskLayer

KEY_LAYER = MaskLayer("key")


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
        return any(layer.enabled for layer in self.layers if layer.type != "key") or not is_plain_key(
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
            if layer.enabled:
                LAYER_TYPES[layer.type].validate(layer)


def is_plain_key(layer: MaskLayer) -> bool:
    return layer.mode == "replace" and layer.opacity >= 1.0 and not layer.invert and layer.feather == 0
