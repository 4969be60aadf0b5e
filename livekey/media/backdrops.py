"""What the keyed subject is composited over.

:func:`open_backdrop` turns a spec into a :class:`Backdrop`: an image path (scaled to cover),
a video path (looped at its own rate), a colour (``#RRGGBB`` or a name), ``blur`` (the camera's
own picture blurred behind the sharp subject, the "blur my background" of video calls),
``transparent`` (no backdrop: outputs are BGRA), or ``default`` (the bundled image).

``frame(raw, alpha)`` returns an (H, W, 3) BGR uint8 array at ``raw``'s size, or None when
transparent. The array is read by the keyer only and may be reused on the next call.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from livekey.errors import LivekeyError
from livekey.media import files
from livekey.media.images import IMAGE_SUFFIXES, fit_cover, read_image

ASSETS = Path(__file__).resolve().parents[2] / "assets"  # the repository's assets/ folder
DEFAULT_BACKDROP = ASSETS / "backdrop.jpg"
COLOR_NAMES = {  # BGR
    "black": (0, 0, 0), "white": (255, 255, 255), "grey": (128, 128, 128), "gray": (128, 128, 128),
    "red": (40, 40, 220), "green": (60, 170, 40), "blue": (200, 90, 30), "navy": (90, 40, 20),
    "teal": (128, 128, 0), "purple": (128, 40, 110), "orange": (0, 140, 255), "yellow": (0, 220, 240),
}
# Layer types whose matte sees the real background (not a green screen): only behind those is
# the camera's own background worth blurring; behind a green screen blur shows blurred green.
BLUR_MATTES = ("diff", "segment", "person")
BLUR_NOTE = ("blur shows the camera's own background blurred: behind a green screen that is blurred green; "
             "it suits a matte from a difference key or a segmentation model (Masks)")


def blur_suits(stack) -> bool:
    """Whether ``stack`` (a MaskStack) keys with a layer that sees a real background, so ``blur`` makes sense."""
    return any(layer.enabled and layer.type in BLUR_MATTES for layer in stack)


class Backdrop:
    """Base of every backdrop."""

    transparent = False
    info = ""
    spec = ""  # what open_backdrop was given

    def frame(self, raw: np.ndarray, alpha: np.ndarray | None) -> np.ndarray | None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _Sized(Backdrop):
    """A backdrop that is one fixed picture, fitted to the frame size once and cached."""

    def __init__(self, image: np.ndarray, info: str) -> None:
        self.image, self.info = image, info
        self._fitted: np.ndarray | None = None

    def frame(self, raw: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
        h, w = raw.shape[:2]
        if self._fitted is None or self._fitted.shape[:2] != (h, w):
            self._fitted = np.ascontiguousarray(fit_cover(self.image, w, h))
        return self._fitted


def image_backdrop(path: str, keep_alpha: bool = False) -> Backdrop:
    image = read_image(path, "backdrop", keep_alpha=keep_alpha)
    return _Sized(image, f"image {path}")


def color_backdrop(bgr: tuple[int, int, int], name: str) -> Backdrop:
    return _Sized(np.full((16, 16, 3), bgr, np.uint8), f"colour {name}")


class TransparentBackdrop(Backdrop):
    transparent = True
    info = "transparent (BGRA output)"

    def frame(self, raw: np.ndarray, alpha: np.ndarray | None) -> None:
        return None


class BlurBackdrop(Backdrop):
    """The camera's own picture, blurred, with the subject masked out so it leaves no halo.

    Works at 1/``shrink`` size (a wide blur costs little there), weighting by the previous
    frame's background share ``1 - alpha`` and dividing it back out (a normalised blur).
    """

    info = "blur of the camera's background"

    def __init__(self, shrink: int = 8, sigma: float = 3.0) -> None:
        self.shrink, self.sigma = shrink, sigma
        self._out: np.ndarray | None = None

    def frame(self, raw: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
        h, w = raw.shape[:2]
        sw, sh = max(1, w // self.shrink), max(1, h // self.shrink)
        small = cv2.resize(raw, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32)
        if alpha is not None and alpha.shape == (h, w):
            weight = 1.0 - cv2.resize(alpha, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
            weight = np.maximum(weight, 1e-3)
            num = cv2.GaussianBlur(small * weight[..., None], (0, 0), self.sigma)
            den = cv2.GaussianBlur(weight, (0, 0), self.sigma)
            small = num / den[..., None]
        else:
            small = cv2.GaussianBlur(small, (0, 0), self.sigma)
        small = np.clip(small + 0.5, 0, 255).astype(np.uint8)
        if self._out is None or self._out.shape[:2] != (h, w):
            self._out = np.empty((h, w, 3), np.uint8)
        cv2.resize(small, (w, h), dst=self._out, interpolation=cv2.INTER_LINEAR)
        return self._out


class VideoBackdrop(Backdrop):
    """A video, looped, advancing at its own frame rate whatever the camera's rate."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._cap = cv2.VideoCapture(path)
        ok, first = self._cap.read() if self._cap.isOpened() else (False, None)
        if not ok:
            self._cap.release()
            raise LivekeyError(f"backdrop {path} is not an image or video OpenCV can read; "
                               f"give a PNG/JPEG, a video, a colour (#RRGGBB), blur or transparent")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.period = 1.0 / (fps if 1 <= fps <= 240 else 30.0)
        self.info = f"video {path} (looped)"
        self._current = first
        self._fitted: np.ndarray | None = None
        self._due: float | None = None

    def _advance(self) -> bool:
        ok, frame = self._cap.read()
        if not ok:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._cap.read()
        if ok:  # a damaged loop point keeps the last good frame
            self._current = frame
        return ok

    def _step(self) -> bool:
        """Advance to the video frame due now by the wall clock (skipping ahead when the camera's
        frames come slower); returns whether the picture changed."""
        now = time.monotonic()
        if self._due is None:
            self._due = now + self.period
            return False
        if now < self._due:
            return False
        self._due = max(self._due + self.period, now - self.period)
        return self._advance()

    def frame(self, raw: np.ndarray, alpha: np.ndarray | None) -> np.ndarray:
        h, w = raw.shape[:2]
        changed = self._step() | (self._fitted is None or self._fitted.shape[:2] != (h, w))
        if changed:
            if self._fitted is None or self._fitted.shape[:2] != (h, w):
                self._fitted = np.empty((h, w, 3), np.uint8)
            fit_cover(self._current, w, h, out=self._fitted)
        return self._fitted

    def close(self) -> None:
        self._cap.release()


def parse_color(spec: str) -> tuple[int, int, int] | None:
    """``#RRGGBB`` or a colour name -> BGR, else None."""
    text = spec.strip().lower()
    if text in COLOR_NAMES:
        return COLOR_NAMES[text]
    if text.startswith("#") and len(text) == 7:
        try:
            rgb = int(text[1:], 16)
        except ValueError:
            return None
        return (rgb & 255, (rgb >> 8) & 255, rgb >> 16)
    return None


def open_backdrop(spec: str | None, keep_alpha: bool = False) -> Backdrop:
    """Open a backdrop from its spec (see the module docstring); None means the bundled default.
    ``keep_alpha``: an RGBA image stays BGRA (for ``livekey key``; the live pipeline takes BGR).
    The backdrop keeps its ``spec``, so a window can show what another part switched to."""
    spec = (spec or "default").strip()
    backdrop = _open(spec, keep_alpha)
    backdrop.spec = spec
    return backdrop


def _open(spec: str, keep_alpha: bool) -> Backdrop:
    if spec == "default":
        if DEFAULT_BACKDROP.exists():
            return image_backdrop(str(DEFAULT_BACKDROP))
        # Installed without the repository's assets/: the bundled image is this generator's output.
        from livekey.media.synthetic import backdrop as generated

        return _Sized(generated(1920, 1080, seed=7), "default (generated)")
    if spec == "transparent":
        return TransparentBackdrop()
    if spec == "blur":
        return BlurBackdrop()
    bgr = parse_color(spec)
    if bgr is not None:
        return color_backdrop(bgr, spec)
    path = Path(spec)
    if not files.exists(spec):
        looks_like_path = not spec.startswith("#") and any(c in spec for c in "./\\")
        if len(spec) > 255:
            files.regular_file(spec, "backdrop")  # says the path is too long
        hint = "check the path" if looks_like_path else "colours: #RRGGBB or " + ", ".join(COLOR_NAMES)
        raise LivekeyError(f"backdrop {files.shorten(spec)} is not a file, colour, blur, transparent or default; "
                           f"{hint}")
    files.regular_file(spec, "backdrop")  # no folder, FIFO or device: a capture would block on it
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return image_backdrop(spec, keep_alpha)
    return VideoBackdrop(spec)
