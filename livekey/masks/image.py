"""The ``image`` layer: a grayscale image, or the alpha channel of a PNG, stretched to the frame
(read and scaled once per size)."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from livekey.errors import LivekeyError
from livekey.masks.fields import mask_field
from livekey.masks.layer import LayerType, MaskLayer, register
from livekey.media.images import IMAGE_FILTER, read_image


@register
class ImageLayer(LayerType):
    name = "image"
    help = "A grayscale image or a PNG's alpha channel, stretched to the frame."
    mode = "intersect"
    fields = (
        mask_field("path", "path", "mask.png", "The mask image (white = solid)."),
        mask_field("channel", "choice", "auto", "Which part is the mask: alpha, luma, or auto (alpha when the "
                   "file has one).", choices=("auto", "alpha", "luma")),
    )
    main = "path"
    spec_help = "image:FILE.png (grayscale or alpha mask, white keeps)"
    static = True
    add_from_file = ("Image file\u2026", "path", "Mask image (white = solid)", IMAGE_FILTER)

    def validate(self, layer: MaskLayer) -> None:
        load_mask_image(layer.path, layer.channel)

    def describe(self, layer: MaskLayer) -> str:
        return f"Image {layer.path.rsplit('/', 1)[-1]}"

    def rasterise(self, layer: MaskLayer, width: int, height: int) -> np.ndarray:
        return cv2.resize(load_mask_image(layer.path, layer.channel), (width, height), interpolation=cv2.INTER_AREA)


@functools.lru_cache(maxsize=8)
def load_mask_image(path: str, channel: str) -> np.ndarray:
    img = read_image(path, "mask image", keep_alpha=True)
    has_alpha = img.shape[2] == 4
    if channel == "alpha" and not has_alpha:
        raise LivekeyError(f"mask image {path} has no alpha channel; use channel=luma or a PNG with alpha")
    if has_alpha and channel != "luma":
        return np.ascontiguousarray(img[..., 3])
    return cv2.cvtColor(img[..., :3], cv2.COLOR_BGR2GRAY)
