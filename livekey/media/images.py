"""Still images in and out, with errors a user can act on, and fitting a backdrop to a frame."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from livekey.errors import LivekeyError
from livekey.media import files

# The still image files livekey reads (as sources, backdrops, masks, plates): the one list.
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".webp", ".jpg", ".jpeg", ".bmp")
IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ")"  # for file dialogs
ALPHA_FORMATS = (".png", ".webp", ".tif", ".tiff")


def check_file(path: str | Path, what: str) -> Path:
    """``path`` as a Path, or a LivekeyError when it is missing, a folder, a FIFO or a device."""
    return files.regular_file(path, what)


def read_image(path: str | Path, what: str = "input", keep_alpha: bool = False) -> np.ndarray:
    """Read an image as BGR uint8 (BGRA when ``keep_alpha`` and the file has alpha).

    The file comes through the guarded door (:func:`livekey.media.files.read_image_bytes`: a regular
    file whose header says a sane pixel count); 16-bit and float samples are converted to 8 bits."""
    data, _ = files.read_image_bytes(path, what)
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # our one line says it
    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        img = None
    finally:
        cv2.utils.logging.setLogLevel(level)
    if img is None:
        raise LivekeyError(f"{what} {files.display(path)} is damaged or not an image OpenCV can read "
                           f"(PNG, JPEG, WebP, TIFF, BMP); re-save it as PNG")
    img = to_uint8(img, what, path)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4 and not keep_alpha:
        img = np.ascontiguousarray(img[..., :3])
    return np.ascontiguousarray(img)


def read_overlay(path: str | Path) -> np.ndarray:
    """An RGBA overlay image (BGRA uint8), refusing one without transparency."""
    top = read_image(path, "overlay", keep_alpha=True)
    if top.shape[2] != 4:
        raise LivekeyError(f"overlay {path} has no alpha channel; use a PNG with transparency")
    return top


def to_uint8(img: np.ndarray, what: str, path: str | Path) -> np.ndarray:
    """8-bit samples from any depth OpenCV decodes: 16-bit shifted, float (0..1 light) scaled with
    NaN as 0; 1, 3 or 4 channels, else a LivekeyError (never a silently black picture)."""
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 3 and img.shape[2] not in (3, 4) or img.ndim not in (2, 3) or img.size == 0:
        raise LivekeyError(f"{what} {files.display(path)} has {img.shape[2] if img.ndim == 3 else 0} channels; "
                           f"livekey reads grey, BGR or BGRA images: re-save it as an 8-bit PNG")
    if img.dtype == np.uint8:
        return img
    if img.dtype == np.uint16:
        return (img >> 8).astype(np.uint8)
    if img.dtype in (np.float32, np.float64, np.float16):
        finite = np.nan_to_num(img, copy=False, nan=0.0, posinf=1.0, neginf=0.0)  # in place: ours
        # Float images hold light as 0..1; one with larger values is taken as 0..255 levels.
        scale = 255.0 if float(finite.max(initial=0.0)) <= 1.0 else 1.0
        finite *= scale
        finite += 0.5
        return np.clip(finite, 0, 255, out=finite).astype(np.uint8)
    raise LivekeyError(f"{what} {files.display(path)} has {img.dtype} samples; re-save it as an 8- or 16-bit PNG")


def write_image(path: str | Path, image: np.ndarray) -> None:
    """Write ``image`` (BGR or BGRA uint8); the format follows the file extension."""
    path = Path(path)
    if image.shape[2] == 4 and path.suffix.lower() not in ALPHA_FORMATS:
        raise LivekeyError(f"{path.suffix or 'that file type'} cannot hold transparency; "
                           f"write a .png (or give --backdrop for a composite)")
    if not path.parent.exists():
        raise LivekeyError(f"cannot write {path}: folder {path.parent} does not exist")
    try:
        ok, buf = cv2.imencode(path.suffix or ".png", image)
    except cv2.error:
        ok = False
    if not ok:
        raise LivekeyError(f"cannot write {path}: unknown image format {path.suffix!r}; use .png or .jpg")
    try:
        buf.tofile(path)
    except OSError as err:
        raise LivekeyError(f"cannot write {path}: {err.strerror or err}") from None


def fit_cover(image: np.ndarray, width: int, height: int, out: np.ndarray | None = None) -> np.ndarray:
    """Scale ``image`` to cover ``width`` x ``height`` keeping its aspect, centre-cropping the rest."""
    h, w = image.shape[:2]
    if (w, h) == (width, height):
        if out is None:
            return image
        out[:] = image
        return out
    scale = max(width / w, height / h)
    sw, sh = max(width, round(w * scale)), max(height, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(image, (sw, sh), interpolation=interp)
    x0, y0 = (sw - width) // 2, (sh - height) // 2
    crop = scaled[y0:y0 + height, x0:x0 + width]
    if out is None:
        return np.ascontiguousarray(crop)
    out[:] = crop
    return out
