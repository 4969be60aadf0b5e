"""The recording sink: the composite written to a video file with PyAV, fragmented so a file cut
off by a crash still plays."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from livekey.errors import LivekeyError
from livekey.media import recording_outcome
from livekey.media.sinks.base import Sink, flatten, register

if TYPE_CHECKING:
    import argparse

    from livekey.runtime.frames import Output


# suffix -> (codec, pixel format without alpha, pixel format with alpha or None, container options).
# Every container reaches the disk at least every half second, so kill -9 loses at most about that:
# MP4/MOV close a fragment at each keyframe (one a second, see gop_size) and at least every 0.5 s;
# Matroska/WebM close a cluster at the first keyframe after half a second; flush_packets writes each
# packet through to the file instead of collecting 256 KiB first (a still source's WebM was 0 bytes
# after 7 s without it).
_FLUSH = {"flush_packets": "1"}
_FRAGMENTED = {"movflags": "frag_keyframe+empty_moov+default_base_moof", "frag_duration": "500000"} | _FLUSH
_CLUSTERED = {"cluster_time_limit": "500", "cluster_size_limit": "4194304"} | _FLUSH
FORMATS = {
    ".mp4": ("libx264", "yuv420p", None, _FRAGMENTED),
    ".mkv": ("libx264", "yuv420p", None, _CLUSTERED),
    # QuickTime Animation: lossless RGBA that editors read, about 2 ms a 720p frame; ProRes 4444
    # (prores_ks) took about 50 ms a frame here, and a 30 fps recording lost every fourth frame.
    ".mov": ("libx264", "yuv420p", ("qtrle", "argb"), _FRAGMENTED),
    ".webm": ("libvpx-vp9", "yuv420p", ("libvpx-vp9", "yuva420p"), _CLUSTERED),
}


@register
class Recorder(Sink):
    """Writes the composite to a video file with PyAV.

    ``.mp4``/``.mkv``: H.264. ``.mov``: QuickTime Animation (lossless RGBA) when ``alpha``, else
    H.264.
    ``.webm``: VP9, with alpha when ``alpha``. MP4 and MOV are fragmented (a keyframe every
    second starts a fragment), and Matroska/WebM are written cluster by cluster, so a file cut
    off by a crash or ``kill -9`` still plays up to about the last second.
    """

    kind = "record"
    queue_frames = 30
    name = "recording"

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--record", metavar="PATH", help="record the composite: .mp4/.mkv (H.264), .mov "
                            "(QuickTime Animation, lossless, with alpha when --backdrop transparent), .webm (VP9, "
                            "alpha too)")

    @classmethod
    def target(cls, args: argparse.Namespace) -> str | None:
        return args.record

    @classmethod
    def open(cls, target: str | None, width: int, height: int, fps: float, alpha: bool) -> Recorder:
        return cls(target, width, height, fps, alpha=alpha)

    def summary(self) -> str:
        if getattr(self, "removed", False):  # set on close by recording_outcome.settle
            return f"recording {self.path} holds no frame; removed it"
        return f"recorded {self.frames} frames to {self.path}"

    def __init__(self, path: str | Path, width: int, height: int, fps: float, alpha: bool = False) -> None:
        import av

        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in FORMATS:
            raise LivekeyError(f"cannot record to {self.path.name}: use .mp4 (H.264), .mkv, .mov "
                               f"(lossless with alpha) or .webm (VP9 with alpha)")
        codec, pix_fmt, with_alpha, options = FORMATS[suffix]
        if alpha:
            if with_alpha is None:
                raise LivekeyError(f"{suffix} cannot hold transparency; record to .mov or .webm, "
                                   f"or choose a backdrop")
            codec, pix_fmt = with_alpha
        self.alpha = alpha
        if not self.path.parent.exists():
            raise LivekeyError(f"cannot write recording {self.path}: folder {self.path.parent} does not exist")
        # 4:2:0 needs even sizes: drop a last odd row/column rather than fail.
        self.size = (width - width % 2, height - height % 2)
        self.fps = fps
        rate = Fraction(fps).limit_denominator(1001)
        try:
            with open(self.path, "wb"):  # PyAV opens the file lazily: find out now, not mid-run
                pass
            self._container = av.open(str(self.path), mode="w", options=dict(options))
        except (OSError, av.error.FFmpegError) as err:
            reason = getattr(err, "strerror", None) or str(err)
            raise LivekeyError(f"cannot write recording {self.path}: {reason}") from None
        stream = self._container.add_stream(codec, rate=rate)
        stream.width, stream.height = self.size
        stream.pix_fmt = pix_fmt
        stream.codec_context.time_base = 1 / rate
        # A keyframe (and a fragment) every second; WebM starts a cluster only at a keyframe, so twice
        # a second there, or kill -9 could take up to a second and a frame.
        stream.codec_context.gop_size = max(1, round(fps / 2 if suffix == ".webm" else fps))
        if codec == "libx264":
            # ultrafast: ~8 ms a 1080p frame on one core here, where veryfast takes ~20 ms.
            # zerolatency: no lookahead, so a frame is in the file (and a fragment) as soon as it is written.
            stream.options = {"preset": "ultrafast", "tune": "zerolatency", "crf": "21"}
        elif codec == "libvpx-vp9":
            # lag-in-frames 0: each frame leaves the encoder at once (libvpx holds 25 by default), so it
            # reaches the file with its cluster instead of a second later.
            stream.options = {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "crf": "32", "b": "0",
                              "lag-in-frames": "0"}
        self._stream = stream
        self._i420 = pix_fmt == "yuv420p"
        self._yuv: np.ndarray | None = None
        self._t0: float | None = None
        self._last_pts = -1
        self.frames = 0  # frames in the file (after a failure: counted back from it on close)
        self.failed = False
        self.info = f"recording {self.path} ({codec} {pix_fmt}, {self.size[0]}x{self.size[1]} @ {fps:g} fps)"

    def write(self, output: Output) -> None:
        import av

        image, alpha = output.composite, output.alpha
        w, h = self.size
        if image.shape[1::-1] != self.size:  # an odd size (crop a row/column) or a new source (scale)
            fits = image.shape[1] - w in (0, 1) and image.shape[0] - h in (0, 1)
            image = image[:h, :w] if fits else cv2.resize(image, self.size, interpolation=cv2.INTER_AREA)
            alpha = alpha[:h, :w] if fits else cv2.resize(alpha, self.size, interpolation=cv2.INTER_AREA)
        if self._i420:
            if self._yuv is None or self._yuv.shape != (h * 3 // 2, w):
                self._yuv = np.empty((h * 3 // 2, w), np.uint8)  # one buffer: no 3 MB allocation a 1080p frame
            cv2.cvtColor(flatten(image, alpha), cv2.COLOR_BGR2YUV_I420, dst=self._yuv)
            frame = av.VideoFrame.from_ndarray(self._yuv, format="yuv420p")  # copies into the frame's planes
        else:
            fmt = "bgra" if image.shape[2] == 4 else "bgr24"
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=fmt)
        # Timestamps follow the capture clock, so dropped frames keep the recording in real time.
        if self._t0 is None:
            self._t0 = output.captured_at
        pts = max(self._last_pts + 1, round((output.captured_at - self._t0) * self.fps))
        frame.pts, self._last_pts = pts, pts
        self.failed = True  # until the frame is in: a write that raises leaves it set
        for packet in self._stream.encode(frame):
            self._container.mux(packet)
            self.frames += 1  # frames that reached the container, not frames handed in
        self.failed = False

    def close(self) -> None:
        try:
            for packet in self._stream.encode(None):
                self._container.mux(packet)
                self.frames += 1
        finally:
            try:
                self._container.close()
            finally:
                recording_outcome.settle(self)
