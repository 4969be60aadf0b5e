"""Still images in and out, with errors a user can act on, and fitting a backdrop to a frame."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from livekey.errors import LivekeyError

# The still image files livekey reads (as sources, backdrops, masks, plates): the one list.
IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".webp", ".jpg", ".jpeg", ".bmp")
IMAGE_FILTER = "Images (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ")"  # for file dialogs
ALPHA_FORMATS = (".png", ".webp", ".tif", ".tiff")


def check_file(path: str | Path, what: str) -> Path:
    """``path`` as a Path, or a LivekeyError when it does not exist or is a folder."""
    path = Path(path)
    if not path.exists():
        raise LivekeyError(f"{what} {path} does not exist; check the path")
    if path.is_dir():
        raise LivekeyError(f"{what} {path} is a folder, not a file")
    return path


def read_image(path: str | Path, what: str = "input", keep_alpha: bool = False) -> np.ndarray:
    """Read an image as BGR uint8 (BGRA when ``keep_alpha`` and the file has alpha)."""
    path = check_file(path, what)
    try:
        data = np.fromfile(path, np.uint8)
    except OSError as err:
        raise LivekeyError(f"cannot read {what} {path}: {err.strerror or err}") from None
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise LivekeyError(f"{what} {path} is not an image OpenCV can read (PNG, JPEG, WebP, TIFF, BMP ...)")
    if img.dtype == np.uint16:
        img = (img >> 8).astype(np.uint8)
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4 and not keep_alpha:
        img = np.ascontiguousarray(img[..., :3])
    return np.ascontiguousarray(img)


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
