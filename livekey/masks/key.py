"""The ``key`` layer: the colour key's own matte, as a layer of the stack (always exactly one)."""

from __future__ import annotations

import numpy as np

from livekey.masks.layer import LayerType, MaskLayer, register
from livekey.masks.merge import feather_invert


class _KeyBinding:
    def __init__(self, layer: MaskLayer, width: int, height: int, key_matte: np.ndarray) -> None:
        self.layer, self._key = layer, key_matte
        self._buf = np.empty((height, width), np.uint8)

    def mask(self, frame: np.ndarray, fg: np.ndarray) -> np.ndarray:
        return feather_invert(self._key, self.layer.feather, self.layer.invert, self._buf)


@register
class KeyLayer(LayerType):
    name = "key"
    help = "The colour key's own matte."
    mode = "replace"
    spec_help = "key (the colour key itself, to give it options)"
    own_colour = True  # its colour is the key's

    def describe(self, layer: MaskLayer) -> str:
        return "Colour key"

    def bind(self, layer: MaskLayer, width: int, height: int, key_matte: np.ndarray, final: bool) -> _KeyBinding:
        return _KeyBinding(layer, width, height, key_matte)
