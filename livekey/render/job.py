"""One clip: decode -> key -> encode, every frame in order, with the input's timestamps and audio.

The clip is demuxed with PyAV. Each video frame is keyed by one :class:`~livekey.engine.keyer.Keyer`
in presentation order, so temporal settings carry their state through the clip as they do live,
and encoded with its own presentation timestamp in the input's time base (a variable frame rate
stays as it was). Decoding runs a few frames ahead on a reading thread and encoding a few behind
on the writer's thread (:mod:`livekey.render.overlap`); the key stays on the calling thread.
Audio packets are muxed into the output unchanged when its container takes the
codec, else decoded and encoded again (said once). The file is written under a temporary name
and renamed when complete; Ctrl-C keeps what was keyed under a ``.partial`` name and says so.

A :class:`RenderSpec` is plain data (it crosses process and Ray boundaries); :func:`render_clip`
turns it into a :class:`RenderResult` and raises only :class:`~livekey.errors.LivekeyError`
for problems found before the first frame (a missing input, an output that exists).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from livekey.config.profile import Profile
from livekey.errors import LivekeyError
from livekey.render import outputs
from livekey.render.compose import Compositor
from livekey.render.media import Clip, Window, muxer_takes
from livekey.render.overlap import ReadAhead
from livekey.render.progress import Quiet, Reporter
from livekey.runtime.startup import start_up

Say = Callable[[str], None]


def say_stderr(text: str) -> None:
    print(f"livekey: {text}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class RenderSpec:
    """Everything one clip's render needs; plain, picklable data."""

    input: str
    output: str
    profile: Profile = field(default_factory=Profile)
    backdrop: str | None = None  # a backdrop spec as `run` takes it; "transparent" for alpha
    overlay: str | None = None  # an RGBA image put over the composite
    matte_only: bool = False  # write the matte (grayscale) instead of the composite
    encoding: outputs.Encoding = field(default_factory=outputs.Encoding)
    window: Window = field(default_factory=Window)
    audio: bool = True
    skip_damaged: bool = False
    overwrite: bool = False
    decode_threads: int = 0  # 0 = the decoder's choice


@dataclass
class RenderResult:
    """How one clip's render ended: ``done``, ``failed`` or ``interrupted``."""

    input: str
    output: str
    status: str
    frames: int = 0
    seconds: float = 0.0
    message: str = ""
    damaged: list[float] = field(default_factory=list)  # times (s) of skipped damaged frames

    @property
    def ok(self) -> bool:
        return self.status == "done"


class Damaged(Exception):
    """A damaged input frame (or a clip ending early) where --skip-damaged was not given."""


def check_output(spec: RenderSpec) -> None:
    """Refuse, before any work, an output that exists (without --overwrite), a missing folder,
    or the input itself."""
    out = Path(spec.output)
    if outputs.is_sequence(out):
        if not out.parent.parent.is_dir():
            raise LivekeyError(f"cannot write {out}: folder {out.parent.parent} does not exist")
        existing = outputs.sequence_files(out)
        if existing and not spec.overwrite:
            raise LivekeyError(f"{out.parent} already holds frames like {existing[0].name}; "
                               f"add --overwrite to replace them")
        return
    if not out.parent.is_dir():
        raise LivekeyError(f"cannot write {out}: folder {out.parent} does not exist")
    if out.exists() and Path(spec.input).exists() and out.resolve() == Path(spec.input).resolve():
        raise LivekeyError(f"output {out} is the input; give another name")
    if out.is_dir():
        raise LivekeyError(f"output {out} is a folder; give a file name, or several inputs for a batch")
    if out.exists() and not spec.overwrite:
        raise LivekeyError(f"{out} exists; add --overwrite to replace it")


class StopFlag(Protocol):
    """What asks a render to stop: a threading or multiprocessing Event."""

    def is_set(self) -> bool: ...


class Interrupted(Exception):
    """The stop flag was seen at a frame boundary."""


def render_clip(spec: RenderSpec, progress: Callable[[int | None], Reporter] | None = None,
                say: Say = say_stderr, stop: StopFlag | None = None) -> RenderResult:
    """Render one clip; ``progress(total)`` makes the reporter (none when not given). ``stop``,
    once set, ends the render after the frame under way and keeps the frames keyed so far
    (a signal handler sets it: a KeyboardInterrupt raised inside a mux could lose a packet
    the encoder had already handed over, and the frames after it would decode wrong)."""
    check_output(spec)
    spec.window.validate()
    start_up()  # as Pipeline.start does: the thread policy before the first kernel (once a process)
    job = _ClipRender(spec, say, stop)
    try:
        reporter = progress(job.total) if progress else Quiet()
        try:
            return job.run(reporter)
        finally:
            reporter.close()
    except BaseException:
        job.writer.abandon()  # whatever stopped it, no part file stays behind (a no-op once committed)
        raise
    finally:
        job.close()


class _ClipRender:
    """The state of one render: the open clip, the keyer, the writer and the audio map."""

    def __init__(self, spec: RenderSpec, say: Say, stop: StopFlag | None = None) -> None:
        self.spec, self.say, self.stop = spec, say, stop
        self.out = Path(spec.output)
        self.clip = Clip(spec.input, spec.decode_threads)
        self.writer: outputs.VideoWriter | outputs.SequenceWriter | None = None
        try:
            self.compose = Compositor(spec.profile, spec.backdrop, spec.overlay, spec.matte_only, self.clip.size)
            kind = outputs.choose(self.out, self.compose.layout == "bgra", spec.matte_only, spec.encoding.codec)
            if kind is None:
                self.writer = outputs.SequenceWriter(self.out)
            else:
                self.writer = outputs.VideoWriter(self.out, kind, self.clip.size, self.clip.time_base,
                                                  self.clip.rate, self.compose.layout, spec.encoding)
            self.audio = self._map_audio()
        except BaseException:
            if self.writer is not None:
                self.writer.abandon()
            self.close()
            raise
        self.total = self.clip.expected_frames(spec.window)
        tb = self.clip.time_base
        self.start_pts = round(spec.window.start / tb)  # output timestamps start from here
        self.end_pts = None if spec.window.end is None else round(spec.window.end / tb)
        self.frames = 0  # frames keyed (the calling thread's count)
        self.sent = 0  # frames handed to the key (the reading thread's count)
        self.seen = 0  # frames decoded, kept or not, damaged included
        self.last_time = 0.0  # the time of the last frame decoded (s)
        self.keyed_time = 0.0  # the time of the last frame keyed (s)
        self._to_bgr = VideoReformatter()
        self.last_pts: int | None = None
        self.result = RenderResult(spec.input, spec.output, "failed")

    # --- audio -----------------------------------------------------------------
    def _map_audio(self) -> dict[int, tuple[av.stream.Stream, bool]]:
        """Input audio stream index -> (output stream, copied?). Said when audio is not copied."""
        streams = self.clip.audio
        if not streams or not self.spec.audio:
            return {}
        if isinstance(self.writer, outputs.SequenceWriter):
            self.say(f"{self.clip.path.name}: the audio is not written to an image sequence")
            return {}
        mapped = {}
        for s in streams:
            copy = muxer_takes(self.writer.format, s)
            if not copy:
                out = self.writer.add_audio(s, copy=False)
                self.say(f"{self.clip.path.name}: audio stream {s.index} ({s.codec_context.name}) cannot be "
                         f"copied into {self.out.suffix}; encoding it as {out.codec_context.name}")
                mapped[s.index] = (out, False)
            else:
                mapped[s.index] = (self.writer.add_audio(s, copy=True), True)
        return mapped

    def _audio(self, packet: av.Packet, end_pts: int | None) -> None:
        """On the writing thread: one audio packet copied or encoded again; ``end_pts`` is the
        video's end (input time base) as it was known when the packet was read."""
        out, copied = self.audio[packet.stream.index]
        if copied:
            if packet.size == 0 or packet.pts is None:  # the demuxer's end-of-stream marker
                return
            offset = round(self.spec.window.start / packet.time_base)
            end = None if end_pts is None else round(end_pts * self.clip.time_base / packet.time_base)
            # From the start, keep everything (an AAC stream's priming packet has a negative time).
            if (offset and packet.pts < offset) or (end is not None and packet.pts >= end):
                return
            packet.pts -= offset
            if packet.dts is not None:
                packet.dts -= offset
            packet.stream = out
            self.writer.mux(packet)
            return
        for frame in packet.decode():
            t = frame.time or 0.0
            if t < self.spec.window.start or (self.spec.window.end is not None and t >= self.spec.window.end):
                continue
            frame.pts = None  # the encoder counts samples from the window's start
            self.writer.mux(out.encode(frame))

    # --- video (on the reading thread) ------------------------------------------
    def _read(self) -> Iterator[tuple]:
        """Demux and decode the window, on the reading thread. Yields ``("video", image, pts,
        seconds)`` for each frame to key (BGR; ``pts`` in the output's time) and ``("audio",
        packet, end_pts)`` for each audio packet to write."""
        self.clip.seek(self.spec.window.start)
        streams = [self.clip.video] + [s for s in self.clip.audio if s.index in self.audio]
        video_open = True
        for packet in self.clip.container.demux(streams):
            if packet.stream.type == "video":
                if video_open:
                    video_open = yield from self._decode(packet)
                    if not video_open and self.spec.window.frames is not None:
                        self.end_pts = self.last_pts + 1  # the audio ends with the last frame
                if not video_open and self._past_window(packet):
                    break
            elif packet.stream.index in self.audio:
                if not video_open and self._past_window(packet):
                    break
                yield ("audio", packet, self.end_pts)
        self._check_complete()

    def _decode(self, packet: av.Packet) -> Generator[tuple, None, bool]:
        """The packet's frames of the window, converted to BGR; returns False once the window is complete."""
        try:
            frames = packet.decode()
        except av.error.FFmpegError as err:
            self._damaged(self._packet_time(packet), str(err))
            return True
        for frame in frames:
            self.seen += 1
            pts = frame.pts if frame.pts is not None else self._next_pts()
            if pts < self.start_pts:
                continue
            if (self.end_pts is not None and pts >= self.end_pts) or self._full():
                return False
            self.last_time = float(pts * self.clip.time_base)
            if frame.is_corrupt:
                self._damaged(self.last_time, "the decoder marked the frame corrupt")
                continue
            if self.last_pts is not None and pts <= self.last_pts:
                pts = self.last_pts + 1  # a repeated timestamp (a damaged file): keep the order
            self.last_pts = pts
            self.sent += 1
            # One swscale context for the clip (a frame's own to_ndarray makes one per frame). PyAV
            # hands back the frame's rows with their padding (rows of 64-byte multiples since 18.1.1):
            # a frame of any other width is copied once into the contiguous rows the kernels take.
            image = np.ascontiguousarray(self._to_bgr.reformat(frame, format="bgr24").to_ndarray())
            yield ("video", image, pts - self.start_pts, self.last_time)
        return not self._full()

    def _full(self) -> bool:
        return self.spec.window.frames is not None and self.sent >= self.spec.window.frames

    def _next_pts(self) -> int:
        step = round(1 / (self.clip.rate or 30) / self.clip.time_base)
        return (self.last_pts if self.last_pts is not None else -step) + max(1, step)

    def _packet_time(self, packet: av.Packet) -> float:
        ts = packet.pts if packet.pts is not None else packet.dts
        return float(ts * packet.time_base) if ts is not None else self.last_time

    def _damaged(self, seconds: float, why: str) -> None:
        name = self.clip.path.name
        if not self.spec.skip_damaged:
            raise Damaged(f"{name}: damaged video at {seconds:.3f} s ({why}); nothing written "
                          f"(--skip-damaged skips damaged frames)")
        self.say(f"{name}: damaged video at {seconds:.3f} s ({why}); skipped")
        self.result.damaged.append(round(seconds, 3))

    # --- the whole clip --------------------------------------------------------
    def run(self, reporter: Reporter) -> RenderResult:
        self.reporter = reporter
        started = time.monotonic()
        result = self.result
        try:
            self._key_all()
            if self.frames == 0:
                part = "" if self.spec.window.whole else " in the part asked for"
                raise Damaged(f"{self.clip.path.name}: no frame to key{part}; nothing written")
            self.writer.finish()
            self.writer.commit()
            result.status = "done"
        except (Interrupted, KeyboardInterrupt):
            result.status = "interrupted"
            result.message = self._keep_partial()
        except Damaged as err:
            self.writer.abandon()
            result.message = str(err)
        except (av.error.FFmpegError, OSError, LivekeyError, ValueError) as err:
            self.writer.abandon()
            result.message = f"{self.clip.path.name}: {type(err).__name__}: {err}; nothing written"
        result.frames, result.seconds = self.frames, time.monotonic() - started
        return result

    def _key_all(self) -> None:
        """Key every frame the reading thread hands over and queue it for the writing thread."""
        reader = ReadAhead(self._read())
        try:
            for item in reader:
                if item[0] == "audio":
                    self.writer.later(self._audio, *item[1:])
                    continue
                _, image, pts, self.keyed_time = item
                self.writer.write(self.compose(image, self.keyed_time), pts)
                self.frames += 1
                self.reporter.update(self.frames)
                if self.stop is not None and self.stop.is_set():
                    raise Interrupted
        finally:
            reader.close()  # before anything closes the clip under it
        for out, copied in self.audio.values():
            if not copied:
                self.writer.later(lambda out=out: self.writer.mux(out.encode(None)))

    def _past_window(self, packet: av.Packet) -> bool:
        """After the video window closed: whether nothing more is needed (no audio, or the audio
        is past the window's end with a second's margin for the file's interleaving)."""
        if self.spec.window.whole:
            return False
        if not self.audio or self.end_pts is None:
            return True
        return self._packet_time(packet) > float(self.end_pts * self.clip.time_base) + 1.0

    def _check_complete(self) -> None:
        """A clip whose index promises more frames than were decoded ended early: damaged or cut off."""
        expected = self.clip.video.frames
        if self.spec.window.whole and expected and self.seen < expected:
            self._damaged(self.last_time, f"the clip ends early: {self.seen} of {expected} frames decoded")

    def _keep_partial(self) -> str:
        """Finish what was keyed under the partial name; say what was kept."""
        name = self.clip.path.name
        if self.frames == 0:
            self.writer.abandon()
            return f"{name}: interrupted before the first frame; nothing written"
        try:
            self.writer.finish()
            seq = isinstance(self.writer, outputs.SequenceWriter)
            kept = self.writer.commit(outputs.partial_path(self.writer.folder if seq else self.out))
        except (av.error.FFmpegError, OSError):
            self.writer.abandon()
            return f"{name}: interrupted after {self.frames} frames; the partial file could not be closed"
        return (f"{name}: interrupted after {self.frames} frames ({self.keyed_time:.1f} s of the clip); "
                f"they are in {kept}; {self.out} was not written")

    def close(self) -> None:
        self.clip.close()
        compose = getattr(self, "compose", None)  # None when opening the backdrop failed
        if compose is not None:
            compose.close()

