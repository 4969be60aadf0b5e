"""The input side of a render: opening a clip with PyAV, the part to key, and which audio can be copied."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from livekey.errors import LivekeyError

# Files `livekey key` sends to `livekey render` rather than reading them as a still.
VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v", ".mxf", ".mts", ".ts", ".flv", ".wmv", ".mpg")


def parse_time(text: str, flag: str) -> float:
    """Seconds from ``12.5``, ``1:02.5`` or ``1:00:02.5``; LivekeyError naming ``flag`` otherwise."""
    if not re.fullmatch(r"\d+(\.\d*)?(:\d+(\.\d*)?){0,2}|\d*\.\d+", text.strip()):
        raise LivekeyError(f"{flag} {text!r} is not a time; give seconds (12.5) or [HH:]MM:SS(.ms)")
    seconds = 0.0
    for part in text.strip().split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


@dataclass(frozen=True)
class Window:
    """The part of a clip to key: frames from ``start`` (s) before ``end`` (s), at most ``frames``."""

    start: float = 0.0
    end: float | None = None
    frames: int | None = None

    def validate(self) -> None:
        if self.end is not None and self.end <= self.start:
            raise LivekeyError(f"--end {self.end:g} s is not after --start {self.start:g} s")
        if self.frames is not None and self.frames < 1:
            raise LivekeyError("--frames must be at least 1")

    @property
    def whole(self) -> bool:
        return self.start == 0 and self.end is None and self.frames is None


class Clip:
    """An input file opened for decoding: its video stream and audio streams."""

    def __init__(self, path: str | Path, threads: int = 0) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise LivekeyError(f"input {self.path} does not exist; check the path")
        if self.path.is_dir():
            raise LivekeyError(f"input {self.path} is a folder; give a video file")
        try:
            self.container = av.open(str(self.path))
        except (av.error.FFmpegError, OSError) as err:
            raise LivekeyError(f"input {self.path} is not a video PyAV can open ({_reason(err)}); "
                               f"is it damaged or cut off?") from None
        if not self.container.streams.video:
            self.container.close()
            raise LivekeyError(f"input {self.path} has no video stream")
        self.video = self.container.streams.video[0]
        self.video.thread_type = "AUTO"  # frame threads: decode runs beside the key
        self.video.codec_context.thread_count = threads
        self.audio = list(self.container.streams.audio)
        self.time_base: Fraction = self.video.time_base or Fraction(1, 90000)
        self.rate: Fraction | None = self.video.average_rate or self.video.guessed_rate
        self.size = (self.video.codec_context.width, self.video.codec_context.height)

    @property
    def duration(self) -> float | None:
        """The video stream's length in seconds, when the file says."""
        if self.video.duration:
            return float(self.video.duration * self.time_base)
        if self.container.duration:
            return self.container.duration / av.time_base
        return None

    def expected_frames(self, window: Window) -> int | None:
        """How many frames the window holds, for the progress bar (an estimate for variable rates)."""
        total = self.video.frames or None
        if total is None and self.duration and self.rate:
            total = round(self.duration * float(self.rate))
        if total is None or not self.rate:
            return window.frames
        end = min(self.duration or 1e18, window.end or 1e18)
        if window.start or window.end is not None:
            total = max(0, round((end - window.start) * float(self.rate)))
        return min(total, window.frames) if window.frames else total

    def seek(self, seconds: float) -> None:
        """Seek to the keyframe at or before ``seconds`` (frames before it are then skipped)."""
        if seconds > 0:
            self.container.seek(int(seconds / self.time_base), stream=self.video, backward=True)

    def close(self) -> None:
        self.container.close()


def _reason(err: Exception) -> str:
    return getattr(err, "strerror", None) or str(err) or type(err).__name__


def muxer_takes(format_name: str, stream: av.audio.stream.AudioStream) -> bool:
    """Whether FFmpeg's ``format_name`` muxer accepts ``stream``'s codec unchanged: asked of the
    muxer itself, by writing a header into memory."""
    buf = io.BytesIO()
    try:
        with av.open(buf, mode="w", format=format_name) as probe:
            probe.add_stream_from_template(stream)
            probe.start_encoding()
    except (av.error.FFmpegError, ValueError):
        return False
    return True
