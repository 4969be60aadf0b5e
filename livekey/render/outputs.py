"""What a render writes: the output kinds, chosen by the file name and flags, as a registry.

A video kind (:class:`VideoKind`) names an encoder, the file extensions it is written to, and
its pixel formats for a composite, a transparent result and a matte. :func:`choose` picks the
first kind in :data:`VIDEO_KINDS` that takes the extension (and alpha, when the result has it),
or the one ``--codec`` names. A name holding ``%d``/``%05d`` is a PNG sequence instead.

Every writer takes BGR, straight-alpha BGRA or grayscale (the matte) uint8 frames with a
presentation timestamp in the input's time base, writes under a temporary name in the output's
folder, and :meth:`~Writer.commit` renames it when complete, so a cut-off render never leaves
a file that looks finished.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from livekey.errors import LivekeyError
from livekey.render.overlap import WriteBehind

PART = ".livekey-part"  # the temporary name's mark: `.keyed.mp4.livekey-part`
PARTIAL = ".partial"  # what an interrupted render keeps: `keyed.partial.mp4`


@dataclass(frozen=True)
class Encoding:
    """The encoder settings a user gives (``--crf``, ``--preset``, ``--codec``), and the threads."""

    crf: int = 18  # H.264 constant rate factor 0..51; 18 with veryfast is ffmpeg users' usual choice
    preset: str = "veryfast"  # x264 preset
    codec: str | None = None  # a VIDEO_KINDS name, or None to choose by the extension
    threads: int = 0  # encoder threads; 0 = the encoder's own choice (all cores)


@dataclass(frozen=True)
class VideoKind:
    """One encoder and what it can hold."""

    name: str
    encoder: str  # FFmpeg encoder name
    suffixes: tuple[str, ...]
    pix_fmt: str  # for a composite
    alpha_pix_fmt: str | None  # for straight-alpha output; None: cannot hold alpha
    matte_pix_fmt: str  # for --matte-only
    options: Callable[[Encoding], dict[str, str]] = field(default=lambda enc: {})
    describe: str = ""


def _x264(enc: Encoding) -> dict[str, str]:
    return {"preset": enc.preset, "crf": str(enc.crf)}


def _vp9(enc: Encoding) -> dict[str, str]:
    # Constant quality (b=0 with crf); row-mt and cpu-used 4 keep it within a few times H.264's time.
    return {"crf": "30", "b": "0", "row-mt": "1", "cpu-used": "4", "deadline": "good"}


def _prores(enc: Encoding) -> dict[str, str]:
    return {"profile": "4", "vendor": "apl0"}  # 4 = 4444; apl0 so editors take it as Apple's


# Order matters: the first kind taking an extension (and alpha, when needed) is the default.
VIDEO_KINDS: dict[str, VideoKind] = {k.name: k for k in (
    VideoKind("h264", "libx264", (".mp4", ".mkv", ".mov"), "yuv420p", None, "yuv420p", _x264,
              "H.264"),
    VideoKind("vp9", "libvpx-vp9", (".webm", ".mkv"), "yuv420p", "yuva420p", "yuv420p", _vp9,
              "VP9"),
    # QuickTime Animation: lossless RGB(A) that editors read, a few ms a frame.
    VideoKind("qtrle", "qtrle", (".mov",), "rgb24", "argb", "gray", describe="QuickTime Animation"),
    VideoKind("prores", "prores_ks", (".mov",), "yuv444p10le", "yuva444p10le", "yuv444p10le", _prores,
              "ProRes 4444"),
)}
CONTAINERS = {".mp4": "mp4", ".mkv": "matroska", ".mov": "mov", ".webm": "webm"}
# When an audio stream cannot be copied into the container, it is encoded as this.
AUDIO_FALLBACK = {".webm": ("libopus", 48000)}
DEFAULT_AUDIO = ("aac", None)  # None: keep the input's sample rate


def is_sequence(path: str | Path) -> bool:
    """True for an image-sequence pattern such as ``frames/%05d.png``."""
    return re.search(r"%0?\d*d", Path(path).name) is not None


def choose(path: str | Path, alpha: bool, matte: bool, codec: str | None) -> VideoKind | None:
    """The video kind for ``path``; None for an image sequence. LivekeyError naming the choices
    when the extension or codec cannot hold what is asked."""
    if is_sequence(path):
        if Path(path).suffix.lower() != ".png":
            raise LivekeyError(f"image sequences are written as PNG: give a pattern like frames/%05d.png, "
                               f"not {Path(path).name}")
        return None
    suffix = Path(path).suffix.lower()
    if suffix not in CONTAINERS:
        raise LivekeyError(f"cannot render to {Path(path).name}: use .mp4 or .mkv (H.264), .mov (H.264, or "
                           f"QuickTime Animation / ProRes 4444 with alpha), .webm (VP9 with alpha), "
                           f"or a PNG sequence such as frames/%05d.png")
    if codec is not None:
        kind = VIDEO_KINDS.get(codec)
        if kind is None or suffix not in kind.suffixes:
            takes = ", ".join(k.name for k in VIDEO_KINDS.values() if suffix in k.suffixes)
            raise LivekeyError(f"--codec {codec} cannot be written to {suffix}; {suffix} takes {takes}")
        if alpha and not matte and kind.alpha_pix_fmt is None:
            raise LivekeyError(f"--codec {codec} cannot hold transparency; choose a backdrop, or a codec "
                               f"with alpha ({', '.join(_alpha_kinds())})")
        return kind
    for kind in VIDEO_KINDS.values():
        if suffix in kind.suffixes and (matte or not alpha or kind.alpha_pix_fmt is not None):
            return kind
    raise LivekeyError(f"{suffix} cannot hold transparency; render to .mov (QuickTime Animation, or --codec "
                       f"prores), .webm (VP9) or a PNG sequence (frames/%05d.png), or choose a backdrop")


def _alpha_kinds() -> list[str]:
    return [k.name for k in VIDEO_KINDS.values() if k.alpha_pix_fmt]


def part_path(path: Path) -> Path:
    """The temporary name a render writes to, in the same folder (hidden, marked unfinished)."""
    return path.with_name(f".{path.name}{PART}")


def partial_path(path: Path) -> Path:
    """Where an interrupted render keeps what it wrote: ``keyed.partial.mp4``, ``frames.partial/``."""
    return path.with_name(f"{path.stem}{PARTIAL}{path.suffix}")


class VideoWriter:
    """A video file written with PyAV: one video stream, plus the audio streams mapped in."""

    def __init__(self, path: Path, kind: VideoKind, size: tuple[int, int], time_base: Fraction,
                 rate: Fraction | None, layout: str, enc: Encoding) -> None:
        """``layout``: ``bgr`` (composite), ``bgra`` (straight alpha) or ``gray`` (matte)."""
        self.path, self.kind, self.layout = path, kind, layout
        self.part = part_path(path)
        self.format = CONTAINERS[path.suffix.lower()]
        try:
            self.container = av.open(str(self.part), mode="w", format=self.format)
        except (OSError, av.error.FFmpegError) as err:
            raise LivekeyError(f"cannot write {path}: {getattr(err, 'strerror', None) or err}") from None
        pix_fmt = {"bgr": kind.pix_fmt, "bgra": kind.alpha_pix_fmt, "gray": kind.matte_pix_fmt}[layout]
        stream = self.container.add_stream(kind.encoder, rate=rate)
        # 4:2:0 needs even sizes: drop a last odd row/column rather than fail.
        even = pix_fmt.startswith("yuv") and "444" not in pix_fmt
        self.size = (size[0] - size[0] % 2, size[1] - size[1] % 2) if even else size
        stream.width, stream.height = self.size
        stream.pix_fmt = pix_fmt
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        if rate:
            stream.codec_context.framerate = rate
        stream.codec_context.thread_count = enc.threads
        stream.options = kind.options(enc)
        self.stream = stream
        self.av_format = {"bgr": "bgr24", "bgra": "bgra", "gray": "gray"}[layout]
        self._i420 = layout == "bgr" and pix_fmt == "yuv420p"
        self._behind = WriteBehind()  # encode and mux beside the key
        self.frames = 0

    def add_audio(self, template: av.audio.stream.AudioStream, copy: bool) -> av.stream.Stream:
        """An output stream for ``template``: a packet copy, or an encoder (see AUDIO_FALLBACK)."""
        if copy:
            return self.container.add_stream_from_template(template)
        codec, rate = AUDIO_FALLBACK.get(self.path.suffix.lower(), DEFAULT_AUDIO)
        stream = self.container.add_stream(codec, rate=rate or template.rate)
        stream.layout = template.layout.name if template.layout.name in ("mono", "stereo") else "stereo"
        return stream

    def write(self, image: np.ndarray, pts: int) -> None:
        """Queue ``image`` for the encoder; it is converted (or copied) first, so the caller may
        reuse its array at once."""
        w, h = self.size
        if image.shape[1::-1] != self.size:
            image = image[:h, :w]
        if self._i420:  # OpenCV's BT.601 conversion as the recorder's, ~3x faster than the encoder's swscale
            data = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)  # a new array, the encoder's own
        else:
            data = np.array(image, order="C")  # a copy: the compositor writes the next frame into image
        self._behind.submit(self._encode, data, pts)
        self.frames += 1

    def _encode(self, data: np.ndarray, pts: int) -> None:
        """On the writing thread: one frame into the encoder, its packets into the file."""
        if self._i420:
            frame = av.VideoFrame.from_ndarray(data, format="yuv420p")
        else:  # the array is this frame's alone: wrapped, not copied again (from_ndarray's copy is slow)
            frame = av.VideoFrame.from_numpy_buffer(data, format=self.av_format)
        frame.pts = pts
        self.container.mux(self.stream.encode(frame))

    def later(self, fn: Callable[..., object], *args: object) -> None:
        """Run ``fn(*args)`` on the writing thread, after the frames and calls queued before it
        (audio packets are muxed there, in order with the video)."""
        self._behind.submit(fn, *args)

    def mux(self, packet: av.Packet) -> None:
        """Write a packet now; on the writing thread only (see :meth:`later`)."""
        self.container.mux(packet)

    def finish(self) -> None:
        """Encode what is queued, flush the encoder and close the file (still under the temporary name)."""
        try:
            self._behind.drain()
            self.container.mux(self.stream.encode(None))
        finally:
            self._behind.close()
            self.container.close()

    def abandon(self) -> None:
        """Close without flushing and remove the temporary file."""
        self._behind.close()  # the writing thread is done with the file before it is closed
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - a half-written file is removed either way
            pass
        self.part.unlink(missing_ok=True)

    def commit(self, target: Path | None = None) -> Path:
        """Rename the finished file to its name (or ``target``), replacing what is there."""
        target = target or self.path
        os.replace(self.part, target)
        return target


class SequenceWriter:
    """A PNG per frame (straight RGBA, BGR or grayscale as given), numbered from 1 as ffmpeg does,
    into a temporary folder beside the target folder, moved in when complete."""

    def __init__(self, pattern: Path) -> None:
        self.path = pattern
        self.folder = pattern.parent.resolve()  # resolved: `-o %05d.png` writes to the current folder
        self.part = self.folder.with_name(f".{self.folder.name or 'frames'}{PART}")
        shutil.rmtree(self.part, ignore_errors=True)  # a previous cut-off render's leftovers
        self.part.mkdir(parents=True)
        self._behind = WriteBehind()
        self.frames = 0
        self.size: tuple[int, int] | None = None

    def write(self, image: np.ndarray, pts: int) -> None:
        """Queue ``image`` (copied: the caller may reuse its array) to be written as the next file."""
        self.frames += 1
        self._behind.submit(self._save, self.path.name % self.frames, image.copy())

    def _save(self, name: str, image: np.ndarray) -> None:
        """On the writing thread: PNG compression, the slow part, beside the key."""
        if not cv2.imwrite(str(self.part / name), image):
            raise LivekeyError(f"cannot write {self.folder / name}")

    def finish(self) -> None:
        """Write what is queued."""
        try:
            self._behind.drain()
        finally:
            self._behind.close()

    def abandon(self) -> None:
        self._behind.close()
        shutil.rmtree(self.part, ignore_errors=True)

    def commit(self, target: Path | None = None) -> Path:
        """Move the frames into the target folder, or rename them to ``target`` (an interrupted
        render's folder, replacing an earlier one)."""
        if target is not None:
            shutil.rmtree(target, ignore_errors=True)
            os.replace(self.part, target)
            return target
        if not self.folder.exists():
            os.replace(self.part, self.folder)
            return self.folder
        for old in sequence_files(self.folder / self.path.name):  # --overwrite: no earlier frame stays
            old.unlink()
        for item in sorted(self.part.iterdir()):
            os.replace(item, self.folder / item.name)
        self.part.rmdir()
        return self.folder

    def existing(self) -> list[Path]:
        """Files in the target folder this pattern would write."""
        return sequence_files(self.path)


def sequence_files(pattern: Path) -> list[Path]:
    """The files in ``pattern``'s folder that match the numbered pattern."""
    if not pattern.parent.is_dir():
        return []
    regex = re.compile(re.sub(r"%0?(\d*)d", r"\\d+", re.escape(pattern.name).replace("\\%", "%")) + "$")
    return [p for p in pattern.parent.iterdir() if regex.match(p.name)]
