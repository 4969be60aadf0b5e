"""Where frames come from: a camera, a video file, an image, or the built-in ``demo`` scene.

:func:`open_source` turns a spec into a :class:`Source`; ``read()`` blocks until the next frame
and returns ``(frame, captured_at)`` (BGR uint8, ``time.monotonic()`` seconds) or None at the
end. Each returned frame is a new array the caller owns. A *live* source delivers at its own
rate whether or not anyone keeps up (cameras, paced files, demo); a source that is not live
(``--as-fast-as-possible``) waits for the pipeline instead of being dropped.

Specs: ``0`` or ``/dev/video0`` (optionally ``0:1280x720@30``), ``clip.mp4``, ``photo.jpg``,
``demo`` or ``demo:1920x1080@30``.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from pathlib import Path

import cv2
import numpy as np

from livekey.errors import LivekeyError
from livekey.media import files, synthetic
from livekey.media.images import IMAGE_SUFFIXES, read_image

_MODE = re.compile(r"^(?:(\d+)x(\d+))?(?:@(\d+(?:\.\d+)?))?$")
CAMERA_DEFAULT = (1280, 720, 30.0)
DEMO_DEFAULT = (1280, 720, 30.0)
SKIP_LIMIT = 8  # reads tried past a damaged packet before the rest of the file counts as lost


def parse_mode(text: str, default: tuple[int, int, float], what: str) -> tuple[int, int, float]:
    """``WxH@FPS`` (either part optional) -> (width, height, fps)."""
    match = _MODE.match(text.strip())
    if not match or not text.strip():
        raise LivekeyError(f"{what}: {text!r} is not a mode like 1920x1080@30")
    w, h, fps = match.groups()
    width, height = (int(w), int(h)) if w else default[:2]
    rate = float(fps) if fps else default[2]
    if width < 16 or height < 16 or width > 8192 or height > 8192 or not 1 <= rate <= 240:
        raise LivekeyError(f"{what}: {text!r} is out of range (16..8192 pixels a side, 1..240 fps)")
    return width, height, rate


class Source:
    """Base of every frame source."""

    info: str = ""
    size: tuple[int, int] = (0, 0)  # (width, height)
    fps: float = 30.0
    live: bool = True

    def read(self) -> tuple[np.ndarray, float] | None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class _Pacer:
    """Sleeps so frames leave at ``fps`` like a camera's; a late reader skips ahead, never bunches."""

    def __init__(self, fps: float, enabled: bool = True) -> None:
        self.period = 1.0 / fps
        self.enabled = enabled
        self.next = None

    def wait(self) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self.next is None:
            self.next = now
        elif self.next > now:
            time.sleep(self.next - now)
        else:  # behind: the camera would have delivered on its own clock
            self.next += ((now - self.next) // self.period) * self.period
        self.next += self.period


class DemoSource(Source):
    """A synthetic green-screen scene with a subject swaying and bobbing, at any size and rate.

    The scene's layers (soft edges, fine strands, spill, shadow, uneven light) are built once
    at a small size, scaled up, and padded; a frame is then a window into the padded layers
    (the subject's integer shift costs nothing), two cv2 blends and a noise tile: a few ms at 1080p.
    """

    SWAY = 0.08  # of the width, each way
    BOB = 0.02  # of the height

    def __init__(self, width: int = 1280, height: int = 720, fps: float = 30.0, paced: bool = True,
                 scene: str = "portrait", seed: int = 0) -> None:
        self.size, self.fps, self.live = (width, height), fps, paced
        self.info = f"demo {width}x{height} @ {fps:g} fps"
        self._pacer = _Pacer(fps, paced)
        scale = min(1.0, 640 / width)
        small = synthetic.build_layers(scene, max(16, round(width * scale)), max(16, round(height * scale)), seed)

        def up(img: np.ndarray) -> np.ndarray:
            return cv2.resize(img, (width, height), interpolation=cv2.INTER_LINEAR)

        alpha, shadow = up(small.alpha), up(small.shadow)
        subject = (up(small.fg) + up(small.spill)) * alpha[..., None]
        keep = (shadow * (1 - alpha))[..., None]  # how much screen light each pixel still shows
        self.ax, self.ay = max(1, int(width * self.SWAY)), max(1, int(height * self.BOB))
        # Edges replicate into the padding, so the body cut by the frame's bottom stays cut as it bobs.
        pad = dict(top=self.ay, bottom=self.ay, left=self.ax, right=self.ax, borderType=cv2.BORDER_REPLICATE)
        self._subject = cv2.copyMakeBorder(np.clip(subject + 0.5, 0, 255).astype(np.uint8), **pad)
        self._keep = cv2.copyMakeBorder(np.clip(np.repeat(keep, 3, axis=2) * 255 + 0.5, 0, 255).astype(np.uint8),
                                        **pad)
        self._screen = np.clip(up(small.screen) + 0.5, 0, 255).astype(np.uint8)
        rng = np.random.default_rng(seed)
        # Sensor noise: a tile a little larger than the frame, read at a random offset each frame.
        noise = rng.normal(0, 2.5, (height + 16, width + 16, 3))
        self._noise_up = np.clip(noise, 0, 255).astype(np.uint8)
        self._noise_down = np.clip(-noise, 0, 255).astype(np.uint8)
        self._rng = rng
        self._index = 0

    def offset(self, index: int) -> tuple[int, int]:
        """The window origin in the padded layers for frame ``index`` (the subject's motion)."""
        t = index / self.fps
        ox = self.ax + round(self.ax * np.sin(2 * np.pi * t / 4.0))
        oy = self.ay + round(self.ay * np.sin(2 * np.pi * t / 1.7))
        return ox, oy

    def render(self, index: int) -> np.ndarray:
        w, h = self.size
        ox, oy = self.offset(index)
        out = cv2.multiply(self._screen, self._keep[oy:oy + h, ox:ox + w], scale=1 / 255)
        cv2.add(out, self._subject[oy:oy + h, ox:ox + w], dst=out)
        nx, ny = (int(v) for v in self._rng.integers(0, 16, 2))
        cv2.add(out, self._noise_up[ny:ny + h, nx:nx + w], dst=out)
        cv2.subtract(out, self._noise_down[ny:ny + h, nx:nx + w], dst=out)
        return out

    def read(self) -> tuple[np.ndarray, float] | None:
        self._pacer.wait()
        frame = self.render(self._index)
        self._index += 1
        return frame, time.monotonic()


class ImageSource(Source):
    """One still image delivered as a stream at ``fps``."""

    def __init__(self, path: str, fps: float = 30.0, paced: bool = True) -> None:
        self._image = read_image(path, "source")
        h, w = self._image.shape[:2]
        self.size, self.fps, self.live = (w, h), fps, paced
        self.info = f"image {path}: {w}x{h} @ {fps:g} fps"
        self._pacer = _Pacer(fps, paced)

    def read(self) -> tuple[np.ndarray, float] | None:
        self._pacer.wait()
        return self._image.copy(), time.monotonic()


class VideoFileSource(Source):
    """A video file, looped, delivered at its own frame rate (or as fast as possible)."""

    def __init__(self, path: str, paced: bool = True, loop: bool = True) -> None:
        self.path = path
        self._cap = cv2.VideoCapture(path)
        ok, first = self._cap.read() if self._cap.isOpened() else (False, None)
        if not ok:
            self._cap.release()
            raise LivekeyError(f"source {path} is not a video OpenCV can decode (corrupt, or an unknown format)")
        self._first: np.ndarray | None = first
        h, w = first.shape[:2]
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if 1 <= fps <= 240 else 30.0
        self.size, self.live, self.loop = (w, h), paced, loop
        self.info = f"file {path}: {w}x{h} @ {self.fps:g} fps" + (", looped" if loop else "")
        self._pacer = _Pacer(self.fps, paced)
        self.frames_read = 0
        self.ended = ""  # why the source stopped, for the user
        self.damaged = False  # stopped on damage (a non-zero exit), not at the end
        count = self._cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.expected = int(count) if 0 < count < 1e9 else None  # frames the container says it holds
        self._in_pass = 0  # frames read since the start of this pass through the file
        self._said: set[int] = set()  # damage points already reported (a loop meets them again)

    def _where(self) -> str:
        return f"frame {self._in_pass} ({self._in_pass / self.fps:.2f} s)"

    def _notice(self, text: str) -> None:
        print(f"livekey: {text}", file=sys.stderr)

    def _next(self) -> np.ndarray | None:
        if self._first is not None:
            frame, self._first = self._first, None
            return frame
        ok, frame = self._cap.read()
        if ok:
            return frame
        at_end = self.expected is None or self._in_pass >= self.expected - 1
        if not at_end:  # a damaged stretch: the decoder may pick up again a few packets on
            for skipped in range(1, SKIP_LIMIT + 1):
                ok, frame = self._cap.read()
                if ok:
                    self._report(f"source {self.path} is damaged at {self._where()}: skipped {skipped} frame(s)")
                    self._in_pass += skipped
                    return frame
        damage = "" if at_end else f"source {self.path} is damaged at {self._where()} of {self.expected}"
        if not self.loop:
            self.damaged = bool(damage)
            self.ended = (f"{damage}: stopped after {self.frames_read} frames" if damage
                          else f"source {self.path} ended after {self.frames_read} frames")
            return None
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        if damage:
            self._report(f"{damage}: looped back to the start")
        self._in_pass = 0
        ok, frame = self._cap.read()
        if not ok:  # rewinding did not help: the file is damaged past this point
            self.damaged = True
            self.ended = f"source {self.path} stopped decoding after {self.frames_read} frames (damaged file)"
            return None
        return frame

    def _report(self, text: str) -> None:
        if self._in_pass not in self._said:  # once a damage point, not on every loop
            self._said.add(self._in_pass)
            self._notice(text)

    def read(self) -> tuple[np.ndarray, float] | None:
        frame = self._next()
        if frame is None:
            return None
        if frame.shape[1::-1] != self.size:  # a damaged stream can change size: keep the promised one
            frame = cv2.resize(frame, self.size)
        self.frames_read += 1
        self._in_pass += 1
        self._pacer.wait()
        return frame, time.monotonic()

    def close(self) -> None:
        self._cap.release()


def _open_capture(device: int | str) -> cv2.VideoCapture:
    backend = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
    return cv2.VideoCapture(device, backend)


def _fourcc_text(value: float) -> str:
    code = int(value)
    text = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return text if text.isprintable() and text.strip() else "?"


class CameraSource(Source):
    """A camera through OpenCV: asks for MJPG at the requested mode, reports what was granted.

    A reader thread owns the capture; :meth:`read` hands out its newest frame at the camera's rate.
    When no new frame comes within :attr:`stall_after` seconds (a hanging read, an unplugged or
    silent camera), the last frame goes out again at the camera's rate, so the preview, virtual
    camera and recording never freeze, and a notice says so once. Every failure (cannot open,
    opens but delivers nothing) is retried with exponential backoff from 0.1 s up to
    :data:`BACKOFF_MAX`; a camera whose device node comes back is retried at once. Frames keep
    the size first granted (a camera replugged at another mode is scaled to it).
    """

    BACKOFF_START, BACKOFF_MAX = 0.1, 1.0  # seconds between reopen attempts

    def __init__(self, device: int | str, width: int, height: int, fps: float,
                 opener=_open_capture, notice=None) -> None:
        self.device, self.requested = device, (width, height, fps)
        self._opener = opener
        self._notice = notice or (lambda text: print(f"livekey: {text}", file=sys.stderr))
        self.size = (0, 0)
        cap = self._open()
        if cap is None:
            name = f"camera {device}"
            raise LivekeyError(f"no camera at {name!r} (cannot open it); check the cable and permissions, "
                               f"list cameras with `livekey devices`, or try `--source demo`")
        self.live = True
        self.stall_after = max(0.25, 3.0 / self.fps)
        self._cond = threading.Condition()
        self._newest: np.ndarray | None = None  # a frame read() has not handed out yet
        self._last: np.ndarray | None = None
        self._stalled_since: float | None = None
        self._next_due: float | None = None
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read_loop, args=(cap,), name="livekey-camera", daemon=True)
        self._reader.start()

    def _open(self) -> cv2.VideoCapture | None:
        cap = self._opener(self.device)
        if cap is None or not cap.isOpened():
            if cap is not None:
                cap.release()
            return None
        w, h, fps = self.requested
        # The FOURCC must be set before the size: many UVC drivers only offer large modes in MJPG.
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, w)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, h)
        cap.set(cv2.CAP_PROP_FPS, fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # the newest frame, not one queued a while ago
        gw, gh = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if self.size == (0, 0):  # the first open sets the size the outputs keep
            gfps = cap.get(cv2.CAP_PROP_FPS) or fps
            self.size, self.fps = (gw or w, gh or h), gfps if gfps > 0 else fps
            fourcc = _fourcc_text(cap.get(cv2.CAP_PROP_FOURCC))
            self.info = (f"camera {self.device}: {self.size[0]}x{self.size[1]} @ {self.fps:g} fps {fourcc} "
                         f"(granted; asked {w}x{h} @ {fps:g})")
        elif (gw, gh) != self.size and gw and gh:
            self._notice(f"camera {self.device} came back at {gw}x{gh}; scaled to {self.size[0]}x{self.size[1]}")
        return cap

    def _node_present(self) -> bool | None:
        """Whether the camera's device node exists (None when there is no node to look at)."""
        if isinstance(self.device, str) and self.device.startswith("/dev/"):
            return files.exists(self.device)
        if isinstance(self.device, int) and sys.platform.startswith("linux"):
            return files.exists(f"/dev/video{self.device}")
        return None

    def _read_loop(self, cap) -> None:
        """The reader thread: read, hand over, and on any failure reopen with backoff."""
        backoff, down_since, retry_at, node_was = self.BACKOFF_START, None, 0.0, self._node_present()
        while not self._stop.is_set():
            if cap is None:
                node = self._node_present()
                came_back = node and not node_was
                node_was = node
                if time.monotonic() < retry_at and not came_back:
                    self._stop.wait(0.02)
                    continue
                cap = self._guarded(self._open)
            ok, frame = self._guarded(cap.read) or (False, None) if cap is not None else (False, None)
            if ok and frame is not None:
                if down_since is not None:
                    self._notice(f"camera {self.device} is back after {time.monotonic() - down_since:.1f} s")
                    down_since, backoff = None, self.BACKOFF_START
                if frame.shape[1::-1] != self.size:
                    frame = cv2.resize(frame, self.size)
                with self._cond:
                    self._newest = frame
                    self._cond.notify_all()
                continue
            # Cannot open, or opened and delivered nothing: the same fault, the same backoff.
            if cap is not None:
                cap.release()
                cap = None
            now = time.monotonic()
            if down_since is None:
                down_since = now
                self._notice(f"camera {self.device} stopped delivering; repeating the last frame and reopening")
            retry_at = now + backoff
            backoff = min(backoff * 2, self.BACKOFF_MAX)
        if cap is not None:
            cap.release()

    def _guarded(self, call):
        """``call()``, or None when the driver raised: a failure like any other, never a dead reader."""
        try:
            return call()
        except Exception as err:  # noqa: BLE001 - drivers and backends raise anything
            self._notice(f"camera {self.device}: {type(err).__name__}: {files.clip(str(err))}")
            return None

    def read(self) -> tuple[np.ndarray, float] | None:
        """The newest frame; when none comes within ``stall_after`` s, the last one again, at the camera's rate."""
        now = time.monotonic()
        period = 1.0 / self.fps
        wait = self.stall_after if self._stalled_since is None else max(0.0, (self._next_due or now) - now)
        with self._cond:
            if self._newest is None:
                self._cond.wait_for(lambda: self._newest is not None or self._stop.is_set(), wait)
            frame, self._newest = self._newest, None
        now = time.monotonic()
        if frame is not None:
            if self._stalled_since is not None:
                self._stalled_since = None
            self._last = frame
            return frame, now
        if self._stalled_since is None:
            self._stalled_since = now
            self._notice(f"camera {self.device} delivered nothing for {self.stall_after:.2f} s; repeating the "
                         f"last frame at {self.fps:g} fps")
        self._next_due = now + period
        last = self._last if self._last is not None else np.zeros((self.size[1], self.size[0], 3), np.uint8)
        return last.copy(), now

    def close(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        self._reader.join(1.0)  # a read hanging in the driver is left to finish on its own (daemon thread)


def open_source(spec: str | None, paced: bool = True, loop: bool = True) -> Source:
    """Open a source from its spec (see the module docstring). ``paced=False``: as fast as possible."""
    spec = (spec or "0").strip()
    if spec == "demo" or spec.startswith("demo:"):
        w, h, fps = parse_mode(spec[5:], DEMO_DEFAULT, "demo source") if ":" in spec else DEMO_DEFAULT
        return DemoSource(w, h, fps, paced=paced)
    device, _, mode = spec.partition(":") if not files.exists(spec) else (spec, "", "")
    if device.isdigit() or device.startswith("/dev/"):
        w, h, fps = parse_mode(mode, CAMERA_DEFAULT, f"camera {device}") if mode else CAMERA_DEFAULT
        if device.startswith("/dev/") and not Path(device).exists():
            raise LivekeyError(f"no camera at {device}; list cameras with `livekey devices`, or try `--source demo`")
        if device.isdigit() and sys.platform.startswith("linux") and not Path(f"/dev/video{device}").exists():
            raise LivekeyError(f"no camera {device} on this machine (no /dev/video{device}); "
                               f"try `--source demo` for the built-in demo scene, or `--source FILE`")
        return CameraSource(int(device) if device.isdigit() else device, w, h, fps)
    if not files.exists(spec) and len(spec) < 256:
        raise LivekeyError(f"source {files.display(spec)} does not exist; give a camera (0), a video or image file, "
                           f"or demo")
    path = files.regular_file(spec, "source")  # no folder, FIFO or device: a capture would block on it
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(spec, paced=paced)
    return VideoFileSource(spec, paced=paced, loop=loop)


def list_devices(max_index: int = 10) -> list[dict]:
    """Cameras OpenCV can open: [{"device", "mode", "modes"}]. Modes come from v4l2-ctl when installed."""
    if sys.platform.startswith("linux"):
        candidates: list[int | str] = sorted(str(p) for p in Path("/dev").glob("video*"))
    else:
        candidates = list(range(max_index))
    found = []
    for device in candidates:
        cap = _open_capture(device)
        if not cap.isOpened():
            cap.release()
            continue
        mode = (f"{int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))}x{int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))} "
                f"@ {cap.get(cv2.CAP_PROP_FPS):g} fps {_fourcc_text(cap.get(cv2.CAP_PROP_FOURCC))}")
        cap.release()
        found.append({"device": device, "mode": mode, "modes": _v4l2_modes(device)})
    return found


def _v4l2_modes(device: int | str) -> list[str]:
    import shutil
    import subprocess

    if not isinstance(device, str) or not shutil.which("v4l2-ctl"):
        return []
    try:
        text = subprocess.run(["v4l2-ctl", "-d", device, "--list-formats-ext"], capture_output=True,
                              text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    modes, fmt = [], ""
    for line in text.splitlines():
        line = line.strip()
        if m := re.search(r"'(\w+)'", line):
            fmt = m.group(1)
        elif m := re.search(r"Size: Discrete (\d+x\d+)", line):
            modes.append(f"{fmt} {m.group(1)}")
    return modes
