"""The mask stack on frames: :class:`MaskStage`, the keyer's matte stage, binds each enabled layer
to the frame size (static masks rasterised once, cached) and merges the masks in order."""

from __future__ import annotations

import functools

import numpy as np

from livekey.masks import diff
from livekey.masks.layer import LAYER_TYPES, Binding, MaskLayer
from livekey.masks.merge import combine, feather_invert, restore_colour
from livekey.masks.stack import MaskStack, is_plain_key


@functools.lru_cache(maxsize=32)
def static_mask(layer: MaskLayer, width: int, height: int) -> np.ndarray:
    """A static layer's (shape, image) mask at ``width`` x ``height`` with feather and invert applied
    (read-only, cached: rasterised once per layer and size, not per frame)."""
    mask = LAYER_TYPES[layer.type].rasterise(layer, width, height)
    mask = feather_invert(mask, layer.feather, layer.invert, mask)
    mask.flags.writeable = False
    return mask


class _Step:
    """One enabled layer, bound to a frame size: ``mask(frame, fg)`` returns its uint8 mask."""

    def __init__(self, layer: MaskLayer, width: int, height: int, key_matte: np.ndarray, final: bool):
        self.layer, self.mode, self.opacity = layer, layer.mode, layer.opacity
        self._static: np.ndarray | None = None
        self._binding: Binding | None = None
        if layer.static:
            self._static = static_mask(layer, width, height)
            if self.mode == "subtract":  # min(a, 255 - m): fold the complement in once, not per frame
                self._static, self.mode = 255 - self._static, "intersect"
        else:
            self._binding = LAYER_TYPES[layer.type].bind(layer, width, height, key_matte, final)

    def mask(self, frame: np.ndarray, fg: np.ndarray) -> np.ndarray:
        if self._static is not None:
            return self._static
        return self._binding.mask(frame, fg)


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
        self._start_at_key = bool(layers) and layers[0].type == "key" and is_plain_key(layers[0])
        if self._start_at_key:
            layers = layers[1:]
        # Only a layer whose mask becomes the final matte outright may rewrite edge colours.
        last_replace = max((i for i, layer in enumerate(layers) if layer.mode == "replace"), default=-1)
        self._steps = [_Step(layer, width, height, self._key_matte, i == last_replace)
                       for i, layer in enumerate(layers)]
        self._uses_key = self.stack.uses_key
        # Layers that can raise the matte above the key's leave colour to restore afterwards.
        self._raises = self._uses_key and any(layer.mode in ("add", "replace") for layer in layers
                                              if not LAYER_TYPES[layer.type].own_colour)
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
    diff.warm_up()
    restore_colour(frame, mask, mask, frame.copy())
