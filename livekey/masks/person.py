"""The ``person`` layer: the subject cut out by a person-segmentation model, no screen needed.

Per frame: the frame is scaled down to the model's input (256x144 for 16:9, 256x256 otherwise),
the model gives a person probability there, a motion-gated running average steadies it where the
picture is still (so a still edge does not flicker, and a moving one does not trail), and a guided
filter scales it up against the full-resolution frame so its edge follows the picture's edges.

Alone (the ``person`` setting, mode ``replace``) it is the whole matte; in a stack with a
green-screen key, ``intersect`` keeps the key only inside the person (green things in the room
stay keyed out) and ``add`` lets the person mask rescue the subject where the screen ends.
"""

from __future__ import annotations

import cv2
import numpy as np

from livekey.engine.guided import FusedGuidedUpsampler
from livekey.masks import person_model
from livekey.masks.fields import mask_field
from livekey.masks.layer import LayerType, MaskLayer, register
from livekey.masks.merge import feather_invert
from livekey.masks.stack import MaskStack

# Luma change (0..1, at the model's size) below which a pixel counts as still, and the span above
# it over which the temporal average fades out: camera noise is far below the first after the
# downscale averages 25-60 pixels, a moving edge far above the sum.
STILL = 2.0 / 255.0
MOVING = 10.0 / 255.0


@register
class PersonLayer(LayerType):
    name = "person"
    help = "The subject cut out by a person-segmentation model (MediaPipe selfie segmentation), no screen needed."
    mode = "replace"
    fields = (
        mask_field("model", "choice", "auto", "Which model: landscape (256x144, for 16:9), square (256x256) "
                   "or auto (landscape for wide frames).", choices=("auto", "landscape", "square")),
        mask_field("runtime", "choice", "auto", "What runs the model: litert (pip install 'livekey[person]', "
                   "about twice as fast), opencv (OpenCV's DNN module) or auto (litert when installed).",
                   choices=("auto", "litert", "opencv")),
        mask_field("smooth", "float", 0.6, "Temporal smoothing: how much of the previous mask a still pixel "
                   "keeps (moving pixels keep none, so edges do not trail).", "", 0.0, 0.95),
        mask_field("guided", "bool", True, "Scale the mask up with a guided filter on the frame, so its edges "
                   "follow the picture's edges (false: plain bilinear)."),
    )
    spec_help = "person (the person model: no screen needed; person@intersect or person@add with a screen)"

    def validate(self, layer: MaskLayer) -> None:
        for model in ("landscape", "square") if layer.model == "auto" else (layer.model,):
            person_model.load(model, layer.runtime)

    def describe(self, layer: MaskLayer) -> str:
        return "Person (model)"

    def bind(self, layer: MaskLayer, width: int, height: int, key_matte: np.ndarray,
             final: bool) -> PersonBinding:
        return PersonBinding(layer, width, height)


class PersonBinding:
    """A person layer at one frame size: the loaded model and the buffers of every step."""

    def __init__(self, layer: MaskLayer, width: int, height: int) -> None:
        self.layer = layer
        self.model = person_model.choose_model(layer.model, width, height)
        self.runtime = person_model.load(self.model, layer.runtime)
        _, w, h = person_model.MODELS[self.model]
        # Scaled to twice the model's size by sampling, then averaged 2x2: a tenth of the cost of one
        # area-averaging resize from 1080p, within about 1 level of it.
        self.mid = np.empty((2 * h, 2 * w, 3), np.uint8) if width > 2 * w and height > 2 * h else None
        self.small = np.empty((h, w, 3), np.uint8)
        self.rgb = np.empty((h, w, 3), np.float32)
        self.prob = np.zeros((h, w), np.float32)  # the smoothed probability, 0..1
        self.luma = np.zeros((h, w), np.float32)
        self.prev_luma = np.zeros((h, w), np.float32)
        self.keep = np.empty((h, w), np.float32)
        self.small_mask = np.empty((h, w), np.uint8)
        self.first = True
        self._upsampler = FusedGuidedUpsampler()
        self._raw = np.empty((height, width), np.uint8)
        self._buf = np.empty((height, width), np.uint8)

    def downscale(self, frame: np.ndarray) -> None:
        """``frame`` at the model's input size, as RGB 0..1 in :attr:`rgb`."""
        if self.mid is not None:
            cv2.resize(frame, self.mid.shape[1::-1], dst=self.mid, interpolation=cv2.INTER_LINEAR)
            frame = self.mid
        cv2.resize(frame, self.small.shape[1::-1], dst=self.small, interpolation=cv2.INTER_AREA)
        cv2.cvtColor(self.small, cv2.COLOR_BGR2RGB, dst=self.small)
        np.multiply(self.small, np.float32(1 / 255), out=self.rgb)
        cv2.cvtColor(self.rgb, cv2.COLOR_RGB2GRAY, dst=self.luma)

    def smooth(self, new: np.ndarray) -> np.ndarray:
        """Fold the model's new probability into :attr:`prob`: a still pixel keeps ``smooth`` of the
        previous one, a moving pixel (its luma changed) none."""
        smooth = self.layer.smooth
        if self.first or smooth <= 0:
            np.copyto(self.prob, new)
        else:
            cv2.absdiff(self.luma, self.prev_luma, dst=self.keep)
            cv2.blur(self.keep, (3, 3), dst=self.keep)
            cv2.subtract(self.keep, STILL, dst=self.keep)
            cv2.multiply(self.keep, -smooth / MOVING, dst=self.keep)
            cv2.add(self.keep, smooth, dst=self.keep)
            np.clip(self.keep, 0.0, smooth, out=self.keep)
            # prob = new + keep (prob - new)
            cv2.subtract(self.prob, new, dst=self.prob)
            cv2.multiply(self.prob, self.keep, dst=self.prob)
            cv2.add(self.prob, new, dst=self.prob)
        np.copyto(self.prev_luma, self.luma)
        self.first = False
        return self.prob

    def upscale(self, frame: np.ndarray) -> np.ndarray:
        """:attr:`prob` scaled up to the frame (guided by it, or bilinear), as uint8 levels."""
        cv2.convertScaleAbs(self.prob, dst=self.small_mask, alpha=255.0)  # rounds, saturates
        if self.layer.guided:  # the guide: the frame's luma at the model's size
            return self._upsampler(self.small_mask, self.luma, frame, self._raw)
        return cv2.resize(self.small_mask, self._raw.shape[::-1], dst=self._raw, interpolation=cv2.INTER_LINEAR)

    def mask(self, frame: np.ndarray, fg: np.ndarray) -> np.ndarray:
        self.downscale(frame)
        self.smooth(self.runtime.run(self.rgb))
        layer = self.layer
        return feather_invert(self.upscale(frame), layer.feather, layer.invert, self._buf)


def with_person(stack: MaskStack, on: bool) -> MaskStack:
    """The stack the keyer runs for the ``person`` setting: ``stack`` with a person layer on top
    (mode ``replace``: the model alone, no screen) when ``on`` and the stack has none of its own. A
    stack that holds a person layer (``person@intersect``, ``person@add``) already says how the
    model's mask and the key combine, so it is used as it is."""
    if not on or any(layer.type == "person" for layer in stack):
        return stack
    return stack.add(MaskLayer("person"))
