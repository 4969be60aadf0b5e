"""The ``segment`` layer: a person-segmentation ONNX model run with OpenCV's DNN module at a
reduced size, its mask scaled up to the frame (guided by the frame's edges)."""

from __future__ import annotations

import cv2
import numpy as np

from livekey.engine.matte import GuidedUpsampler
from livekey.errors import LivekeyError
from livekey.masks.fields import mask_field
from livekey.masks.layer import LayerType, MaskLayer, register
from livekey.masks.merge import feather_invert
from livekey.media import files

MODEL_FILTER = "ONNX models (*.onnx)"


@register
class SegmentLayer(LayerType):
    name = "segment"
    help = "A person-segmentation ONNX model (OpenCV DNN) at a reduced size."
    mode = "intersect"
    fields = (
        mask_field("model", "path", "model.onnx", "The ONNX model: 1x3xHxW image in, a person mask out."),
        mask_field("size", "size", "256x256", "The model's input size; the frame is scaled to it."),
        mask_field("scale", "float", 1.0 / 255.0, "Input pixel scale (after subtracting mean).", "", 0.0, 1.0),
        mask_field("mean", "float", 0.0, "Subtracted from every input channel, in 0..255 levels.", "", 0.0, 255.0),
        mask_field("rgb", "bool", True, "Feed RGB (true) or BGR (false) channel order."),
        mask_field("channel", "int", -1, "Output channel holding the person (-1 = last).", "", -1.0, 15.0),
        mask_field("activation", "choice", "none", "Apply to the output: none (already 0..1) or sigmoid "
                   "(logits).", choices=("none", "sigmoid")),
        mask_field("every", "int", 1, "Run the model every N frames, reusing the mask in between.", "frames",
                   1.0, 30.0),
        mask_field("guided", "bool", True, "Scale the model's mask up with a guided filter on the frame, so its "
                   "edges follow the picture's edges (false: plain bilinear)."),
    )
    main = "model"
    spec_help = "segment:MODEL.onnx (person segmentation)"
    add_from_file = ("Object mask (segmentation model)\u2026", "model", "Person-segmentation ONNX model",
                     MODEL_FILTER)

    def validate(self, layer: MaskLayer) -> None:
        load_net(layer.model)

    def describe(self, layer: MaskLayer) -> str:
        return f"Segmentation {layer.model.rsplit('/', 1)[-1]}"

    def bind(self, layer: MaskLayer, width: int, height: int, key_matte: np.ndarray,
             final: bool) -> SegmentBinding:
        return SegmentBinding(layer, width, height)


class SegmentBinding:
    """A segment layer at one frame size: the net, and the last mask (reused between model runs)."""

    def __init__(self, layer: MaskLayer, width: int, height: int) -> None:
        self.layer = layer
        self._buf = np.empty((height, width), np.uint8)
        self._count = 0
        self._net = load_net(layer.model)
        self._upsampler = GuidedUpsampler()
        self._raw = np.empty((height, width), np.uint8)

    def mask(self, frame: np.ndarray, fg: np.ndarray) -> np.ndarray:
        layer = self.layer
        if self._count % layer.every == 0:
            segment_mask(self._net, frame, layer, self._raw, self._upsampler)
        self._count += 1
        return feather_invert(self._raw, layer.feather, layer.invert, self._buf)


def load_net(path: str) -> cv2.dnn.Net:
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
