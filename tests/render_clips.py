"""Test clips for `livekey render`, made with PyAV in the test's folder: every frame shows its own
index as a bar code (8 black/white blocks) on the right half, beside a green screen on the left,
so a rendered file can be read back frame by frame."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

W, H, FPS = 160, 90, 30
GREEN = (40, 180, 60)  # RGB
BITS = 8
BLOCK_X0, BLOCK_W = 92, 8  # the bar code's blocks at W, clear of the screen's edge at W / 2
VFR_STEPS = (50, 33, 17)  # ms between frames of the variable-rate clip, in turn


def picture(index: int, w: int = W, h: int = H) -> np.ndarray:
    """The RGB frame showing ``index``."""
    img = np.full((h, w, 3), 90, np.uint8)
    img[:, : w // 2] = GREEN
    x0, bw = _blocks(w)
    for b in range(BITS):
        x = x0 + b * bw
        img[h // 6: h - h // 6, x: x + bw] = 255 if index >> b & 1 else 0
    return img


def _blocks(w: int) -> tuple[int, int]:
    """The bar code's first column and block width at frame width ``w``."""
    return BLOCK_X0 * w // W, BLOCK_W * w // W


def read_index(rgb: np.ndarray) -> int:
    """The index a (keyed) frame shows, read from the blocks' centres."""
    h = rgb.shape[0]
    x0, bw = _blocks(rgb.shape[1])
    value = 0
    for b in range(BITS):
        x = x0 + b * bw + bw // 2
        if rgb[h // 2, x, :3].mean() > 128:
            value |= 1 << b
    return value


def write_clip(path: Path, frames: int = 20, audio: bool = False, vfr: bool = False,
               size: tuple[int, int] = (W, H), fps: int = FPS, options: dict | None = None) -> list[float]:
    """A numbered H.264 clip (with a 440 Hz AAC track when ``audio``); returns the frame times (s).
    ``options``: the muxer's, e.g. ``{"movflags": "+faststart"}`` (the index first)."""
    w, h = size
    times = []
    with av.open(str(path), "w", options=options or {}) as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = w, h, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "12"}
        tb = Fraction(1, 1000) if vfr else Fraction(1, fps)
        video.codec_context.time_base = tb
        sound = out.add_stream("aac", rate=48000) if audio else None
        pts = 0
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(picture(i, w, h), format="rgb24")
            frame.pts = pts
            times.append(float(pts * tb))
            out.mux(video.encode(frame))
            pts += VFR_STEPS[i % len(VFR_STEPS)] if vfr else 1
        out.mux(video.encode(None))
        if sound is not None:
            _write_tone(out, sound, frames / fps)
    return times


def _write_tone(out: av.container.OutputContainer, sound, seconds: float) -> None:
    rate, step = 48000, 1024
    for start in range(0, int(rate * seconds), step):
        t = np.arange(start, start + step) / rate
        frame = av.AudioFrame.from_ndarray((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None],
                                           format="fltp", layout="mono")
        frame.sample_rate, frame.pts = rate, start
        out.mux(sound.encode(frame))
    out.mux(sound.encode(None))


def video_frames(path: Path, fmt: str = "rgb24", codec: str | None = None) -> list[tuple[float, np.ndarray]]:
    """(time in s, picture) of every frame of a file's first video stream, in presentation order.
    ``codec`` picks the decoder (``libvpx-vp9`` reads VP9's alpha)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if codec is None:
            frames = list(container.decode(stream))
        else:
            ctx = av.CodecContext.create(codec, "r")
            frames = [f for p in container.demux(stream) if p.size for f in ctx.decode(p)]
            frames += list(ctx.decode(None))
            for f, p in zip(frames, sorted(_pts(path)), strict=False):
                f.pts, f.time_base = p, stream.time_base
        return [(float(f.pts * stream.time_base), f.to_ndarray(format=fmt)) for f in frames]


def _pts(path: Path) -> list[int]:
    with av.open(str(path)) as container:
        return [p.pts for p in container.demux(video=0) if p.size]


def audio_packets(path: Path) -> list[bytes]:
    """The payload of every audio packet, in file order."""
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(audio=0) if p.size]


def damage_frame(path: Path, index: int) -> float:
    """Overwrite the middle of video frame ``index``'s packet with noise; returns that frame's time (s)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = sorted((p for p in container.demux(stream) if p.size), key=lambda p: p.pts)
        target = packets[index]
        pos, size, seconds = target.pos, target.size, float(target.pts * stream.time_base)
    data = bytearray(path.read_bytes())
    noise = np.random.default_rng(index).integers(0, 256, size // 2, dtype=np.uint8).tobytes()
    data[pos + size // 4: pos + size // 4 + len(noise)] = noise
    path.write_bytes(bytes(data))
    return seconds
