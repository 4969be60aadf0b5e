"""The virtual camera sink: the composite as a webcam other apps (OBS, Zoom, Meet) can pick, via
pyvirtualcam."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

import cv2

from livekey.errors import LivekeyError
from livekey.media.sinks.base import Sink, flatten, register

if TYPE_CHECKING:
    from livekey.runtime.frames import Output

VCAM_FIX = ("on Linux load the loopback driver: `sudo modprobe v4l2loopback devices=1 exclusive_caps=1`; "
            "on Windows and macOS install OBS Studio and start its virtual camera once")


@register
class VirtualCamera(Sink):
    """The composite as a webcam other apps can pick, via pyvirtualcam.

    Sends BGR when the backend accepts it (no conversion), else I420 converted with OpenCV.
    Raises LivekeyError naming the fix when no virtual camera backend is installed.
    """

    kind = "vcam"
    queue_frames = 1
    name = "virtual camera"
    optional = True

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--vcam", action=argparse.BooleanOptionalAction, default=False,
                            help="send the composite to a virtual camera (pyvirtualcam)")
        parser.add_argument("--vcam-device", help="which virtual camera device, e.g. /dev/video2")

    @classmethod
    def asked(cls, args: argparse.Namespace) -> bool:
        return bool(args.vcam)

    @classmethod
    def target(cls, args: argparse.Namespace) -> str | None:
        return args.vcam_device

    @classmethod
    def open(cls, target: str | None, width: int, height: int, fps: float, alpha: bool) -> VirtualCamera:
        return cls(width, height, fps, target)

    def __init__(self, width: int, height: int, fps: float, device: str | None = None) -> None:
        import pyvirtualcam
        from pyvirtualcam import PixelFormat

        self.size = (width, height)
        self._i420 = False
        errors = []
        for fmt in (PixelFormat.BGR, PixelFormat.I420):
            try:
                self._cam = pyvirtualcam.Camera(width, height, fps, fmt=fmt, device=device, print_fps=False)
            except (RuntimeError, ValueError) as err:
                errors.append(str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__)
                continue
            self._i420 = fmt == PixelFormat.I420
            self.info = f"virtual camera {self._cam.device} ({width}x{height} @ {fps:g} fps, {fmt.name})"
            return
        raise LivekeyError(f"no virtual camera available ({errors[-1]}); {VCAM_FIX}")

    def write(self, output: Output) -> None:
        frame = flatten(output.composite, output.alpha)
        if frame.shape[1::-1] != self.size:
            frame = cv2.resize(frame, self.size)
        if self._i420:
            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420)
        self._cam.send(frame)

    def close(self) -> None:
        self._cam.close()
