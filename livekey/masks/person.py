"""The ``person`` layer: the subject cut out by a person-segmentation model, no screen needed.

Per frame: the model gives a person probability for a square crop around the person (followed
from frame to frame, :mod:`~livekey.masks.person_crop`) or for the whole frame (256x144 for 16:9,
256x256 otherwise); on a fixed low-resolution canvas of the frame a motion-gated running average
steadies it where the picture is still (so a still edge does not flicker, and a moving one does not
trail), and a guided filter scales it up against the full-resolution frame so its edge follows the
picture's edges.

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
from livekey.masks.layer import Binding, LayerType, MaskLayer, register
from livekey.masks.merge import feather_invert
from livekey.masks.person_crop import CropTracker, bounding_box
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
        mask_field("crop", "bool", True, "Follow the person with a square crop run on the square model, so a "
                   "subject that fills little of the frame gets more of the model's pixels (false: the whole "
                   "frame only)."),
        mask_field("smooth", "float", 0.6, "Temporal smoothing: how much of the previous mask a still pixel "
                   "keeps (moving pixels keep none, so edges do not trail).", "", 0.0, 0.95),
        mask_field("guided", "bool", True, "Scale the mask up with a guided filter on the frame, so its edges "
                   "follow the picture's edges (false: plain bilinear)."),
        mask_field("still", "bool", False, "One still image, no frame budget: the model also on the mirrored "
                   "picture (averaged), the crop set at once, and a colour-guided scale-up; several times the "
                   "cost, no temporal smoothing (livekey key turns it on)."),
    )
    add_plain = (("Person (model), key kept inside it", "intersect"), ("Person (model), added to the key", "add"))
    spec_help = "person (the person model: no screen needed; person@intersect or person@add with a screen)"

    def validate(self, layer: MaskLayer) -> None:
        for model in ("landscape", "square") if layer.model == "auto" else (layer.model,):
            person_model.load(model, layer.runtime)

    def describe(self, layer: MaskLayer) -> str:
        return "Person (model)"

    def bind(self, layer: MaskLayer, width: int, height: int, key_matte: np.ndarray,
             final: bool) -> Binding:
        if layer.still:  # built on this module's ModelInput, so imported here
            from livekey.masks.person_still import StillPersonBinding

            return StillPersonBinding(layer, width, height)
        return PersonBinding(layer, width, height)


CANVAS = 512  # the long side of the grid the mask is smoothed on, in pixels
REFRESH = 15  # frames between whole-frame runs while a crop is followed (a second person, a lost one)


def fit(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """``src`` (BGR, any size) scaled into ``dst``: for a big reduction, sampled to twice the size
    first and then averaged 2x2 (a tenth of the cost of one area-averaging resize from 1080p,
    within about one level of it)."""
    h, w = dst.shape[:2]
    if src.shape[1] > 2 * w and src.shape[0] > 2 * h:
        src = cv2.resize(src, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR)
    return cv2.resize(src, (w, h), dst=dst, interpolation=cv2.INTER_AREA)


class ModelInput:
    """One model on the runtime, with its input buffers: ``run(bgr)`` scales a BGR picture to the
    model's size and returns the person probability there."""

    def __init__(self, model: str, runtime: str) -> None:
        self.runtime = person_model.load(model, runtime)
        _, w, h = person_model.MODELS[model]
        self.small = np.empty((h, w, 3), np.uint8)
        self.rgb = np.empty((h, w, 3), np.float32)

    def run(self, bgr: np.ndarray) -> np.ndarray:
        fit(bgr, self.small)
        cv2.cvtColor(self.small, cv2.COLOR_BGR2RGB, dst=self.small)
        np.multiply(self.small, np.float32(1 / 255), out=self.rgb)
        return self.runtime.run(self.rgb)


class PersonBinding:
    """A person layer at one frame size: the models, the crop it follows, and the canvas (a fixed
    grid of at most :data:`CANVAS` px a side) on which each frame's probability is smoothed."""

    def __init__(self, layer: MaskLayer, width: int, height: int) -> None:
        self.layer = layer
        self.model = person_model.choose_model(layer.model, width, height)
        self.whole = ModelInput(self.model, layer.runtime)
        self.square = ModelInput("square", layer.runtime) if layer.crop else None
        scale = min(1.0, CANVAS / max(width, height))
        cw, ch = max(8, round(width * scale)), max(8, round(height * scale))
        self.to_frame = (width / cw, height / ch)
        self.tracker = CropTracker(cw, ch)
        self.canvas = np.empty((ch, cw, 3), np.uint8)
        self.luma = np.empty((ch, cw), np.float32)  # the frame's luma 0..1 on the canvas
        self.prev_luma = np.zeros((ch, cw), np.float32)
        self.new = np.zeros((ch, cw), np.float32)  # this frame's probability
        self.prob = np.zeros((ch, cw), np.float32)  # smoothed over time
        self.keep = np.empty((ch, cw), np.float32)
        self.small_mask = np.empty((ch, cw), np.uint8)
        self.count = 0
        self._upsampler = FusedGuidedUpsampler()
        self._raw = np.empty((height, width), np.uint8)
        self._buf = np.empty((height, width), np.uint8)

    def infer(self, frame: np.ndarray) -> np.ndarray:
        """This frame's person probability on the canvas, in :attr:`new`: from the square crop
        around the person when there is one, else from the whole frame."""
        fit(frame, self.canvas)
        cv2.cvtColor(self.canvas, cv2.COLOR_BGR2GRAY, dst=self.small_mask)
        np.multiply(self.small_mask, np.float32(1 / 255), out=self.luma)
        crop = self.tracker.crop
        if crop is None or self.count % REFRESH == 0:
            # The canvas is the frame already scaled down (at least the model's size): one resize less.
            whole = self.whole.run(self.canvas)
            cv2.resize(whole, self.new.shape[::-1], dst=self.new, interpolation=cv2.INTER_LINEAR)
            if self.square is not None:
                self.tracker.update(bounding_box(self.new), whole=True)
                crop = self.tracker.crop
        self.count += 1
        if crop is not None:
            self._crop_probability(frame, crop)
        return self.new

    def _crop_probability(self, frame: np.ndarray, crop: tuple[int, int, int, int]) -> None:
        x0, y0, x1, y1 = crop
        sx, sy = self.to_frame
        part = frame[round(y0 * sy):round(y1 * sy), round(x0 * sx):round(x1 * sx)]
        prob = self.square.run(part)
        self.new.fill(0.0)
        self.new[y0:y1, x0:x1] = cv2.resize(prob, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        box = bounding_box(prob)
        if box is not None:  # model pixels -> canvas pixels
            k = (x1 - x0) / prob.shape[1]
            box = (x0 + box[0] * k, y0 + box[1] * k, x0 + box[2] * k, y0 + box[3] * k)
        self.tracker.update(box)

    def smooth(self, new: np.ndarray) -> np.ndarray:
        """Fold the new probability into :attr:`prob`: a still pixel keeps ``smooth`` of the previous
        one, a moving pixel (its luma changed) none."""
        smooth = self.layer.smooth
        if self.count <= 1 or smooth <= 0:
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
        return self.prob

    def upscale(self, frame: np.ndarray) -> np.ndarray:
        """:attr:`prob` scaled up to the frame (guided by it, or bilinear), as uint8 levels."""
        cv2.convertScaleAbs(self.prob, dst=self.small_mask, alpha=255.0)  # rounds, saturates
        if self.layer.guided:  # the guide: the frame's luma on the canvas
            return self._upsampler(self.small_mask, self.luma, frame, self._raw)
        return cv2.resize(self.small_mask, self._raw.shape[::-1], dst=self._raw, interpolation=cv2.INTER_LINEAR)

    def mask(self, frame: np.ndarray, fg: np.ndarray) -> np.ndarray:
        self.smooth(self.infer(frame))
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


def check_turned_on(was_on: bool, now_on: bool, stack: MaskStack) -> None:
    """Turning the ``person`` setting on (``was_on`` false, ``now_on`` true) over ``stack`` with no model
    installed raises the one-line install step now, for the window or the control API to show, instead
    of ending the run when the keyer meets it on the next frame."""
    if now_on and not was_on:
        with_person(stack, True).validate()


def for_stills(stack: MaskStack) -> MaskStack:
    """``stack`` with its person layers in still mode (``still=true``): for a command that keys one
    still image, which can afford several model passes; the live path never gets it."""
    for i, layer in enumerate(stack):
        if layer.type == "person" and not layer.still:
            stack = stack.set(i, layer.replace(still=True))
    return stack
