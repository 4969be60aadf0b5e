"""Sources and backdrops: the demo scene, files, images, a camera that drops out, and bad input."""

import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from livekey.config.settings import Settings
from livekey.engine.keyer import Keyer
from livekey.errors import LivekeyError
from livekey.media import backdrops, sources


def write_video(path: Path, frames: int = 12, size: tuple[int, int] = (160, 96), fps: int = 30) -> Path:
    demo = sources.DemoSource(*size, fps, paced=False)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(demo.render(i * 5), format="bgr24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def test_demo_source_mode_motion_and_keyable():
    src = sources.open_source("demo:320x180@25", paced=False)
    assert src.size == (320, 180) and src.fps == 25 and src.info == "demo 320x180 @ 25 fps"
    first, t0 = src.read()
    for _ in range(20):
        frame, t1 = src.read()
    assert first.shape == (180, 320, 3) and first.dtype == np.uint8 and t1 > t0
    assert np.abs(frame.astype(int) - first).mean() > 2  # the subject moved
    b, g, r = first[5:30, 5:60].reshape(-1, 3).mean(axis=0)
    assert g > r + 60 and g > b + 60  # a green screen
    alpha, _ = Keyer(Settings()).matte(first)
    opaque = (alpha > 240).mean()
    assert 0.15 < opaque < 0.7  # a subject, keyed out of its screen
    assert ((alpha > 15) & (alpha < 240)).mean() > 0.002  # with soft edges


@pytest.mark.parametrize("spec", ["demo:320x", "demo:10x10@30", "demo:320x180@0", "demo:big"])
def test_bad_demo_modes(spec):
    with pytest.raises(LivekeyError, match="demo"):
        sources.open_source(spec)


def test_missing_and_folder_sources(tmp_path):
    with pytest.raises(LivekeyError, match="does not exist"):
        sources.open_source(str(tmp_path / "nope.mp4"))
    with pytest.raises(LivekeyError, match="folder"):
        sources.open_source(str(tmp_path))


@pytest.mark.skipif(Path("/dev/video0").exists(), reason="this machine has a camera")
def test_no_camera_names_demo():
    with pytest.raises(LivekeyError, match="--source demo"):
        sources.open_source(None)


def test_corrupt_video_is_a_clear_error(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    with pytest.raises(LivekeyError, match="not a video OpenCV can decode"):
        sources.open_source(str(bad))


def test_video_file_ends_or_loops(tmp_path):
    path = write_video(tmp_path / "clip.mp4", frames=12)
    once = sources.open_source(str(path), paced=False, loop=False)
    assert once.size == (160, 96) and not once.live
    got = []
    while (item := once.read()) is not None:
        got.append(item[0])
    assert len(got) == 12 and "ended after 12 frames" in once.ended
    looped = sources.open_source(str(path), paced=False)
    frames = [looped.read()[0] for _ in range(30)]
    assert np.array_equal(frames[0], frames[12]) and np.array_equal(frames[5], frames[17])


def test_truncated_video_still_plays_what_is_there(tmp_path):
    path = write_video(tmp_path / "clip.mp4", frames=30)
    cut = tmp_path / "cut.mkv"
    with av.open(str(path)) as src, av.open(str(cut), "w") as dst:  # remux to a streamable container
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(video=0):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    whole = cut.read_bytes()
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    src = sources.open_source(str(cut), paced=False, loop=False)
    count = 0
    while src.read() is not None:
        count += 1
    assert 5 <= count < 30 and src.ended


def test_image_source_gives_fresh_copies(tmp_path):
    path = tmp_path / "still.png"
    cv2.imwrite(str(path), sources.DemoSource(64, 48, paced=False).render(0))
    src = sources.open_source(str(path), paced=False)
    a, _ = src.read()
    a[:] = 0
    b, _ = src.read()
    assert b.any() and src.size == (64, 48)


class FlakyCapture:
    """Device boundary: a capture that delivers ``frames`` frames, then fails like an unplugged camera."""

    def __init__(self, frames: int) -> None:
        self.frames, self.props = frames, {}

    def isOpened(self):
        return True

    def set(self, prop, value):
        self.props[prop] = value
        return True

    def get(self, prop):
        return self.props.get(prop, 0)

    def read(self):
        time.sleep(1 / 120)  # a camera blocks until its next frame
        if self.frames <= 0:
            return False, None
        self.frames -= 1
        w, h = int(self.props[cv2.CAP_PROP_FRAME_WIDTH]), int(self.props[cv2.CAP_PROP_FRAME_HEIGHT])
        return True, np.full((h, w, 3), 100 + self.frames, np.uint8)

    def release(self):
        pass


class Closed(FlakyCapture):
    def isOpened(self):
        return False


def test_camera_that_disappears_repeats_last_frame_and_reopens():
    opens = iter([FlakyCapture(3), Closed(0), FlakyCapture(2)])
    notices = []
    cam = sources.CameraSource(0, 64, 48, 120.0, opener=lambda dev: next(opens, Closed(0)), notice=notices.append)
    assert cam.size == (64, 48) and "MJPG (granted" in cam.info
    frames = [cam.read()[0] for _ in range(3)]
    assert {int(f[0, 0, 0]) for f in frames} <= {102, 101, 100}  # newest first: one may be skipped
    held = []
    for _ in range(400):  # 1/120 s each: long enough for two backoff retries
        frame, _ = cam.read()
        held.append(int(frame[0, 0, 0]))
        if held[-1] != 100:
            break
    assert held[0] == 100 and held[-1] == 101  # the last frame, then the reopened camera's
    assert any("stopped delivering" in n for n in notices) and any("is back" in n for n in notices)
    cam.close()


def test_camera_asks_mjpg_before_size():
    order = []

    class Recording(FlakyCapture):
        def set(self, prop, value):
            order.append(prop)
            return super().set(prop, value)

    cam = sources.CameraSource("/dev/video9", 1920, 1080, 30, opener=lambda dev: Recording(1))
    assert order.index(cv2.CAP_PROP_FOURCC) < order.index(cv2.CAP_PROP_FRAME_WIDTH)
    assert cv2.CAP_PROP_BUFFERSIZE in order and "1920x1080" in cam.info
    cam.close()


# --- backdrops ---------------------------------------------------------------
def test_default_and_image_backdrops_cover_the_frame(tmp_path):
    raw = np.zeros((90, 160, 3), np.uint8)
    default = backdrops.open_backdrop(None)
    assert default.frame(raw, None).shape == (90, 160, 3)
    tall = np.zeros((400, 100, 3), np.uint8)
    tall[:, :, 2] = 200
    path = tmp_path / "tall.png"
    cv2.imwrite(str(path), tall)
    back = backdrops.open_backdrop(str(path)).frame(raw, None)
    assert back.shape == (90, 160, 3) and (back[..., 2] == 200).all()


def test_colour_and_transparent_backdrops():
    raw = np.zeros((20, 30, 3), np.uint8)
    assert (backdrops.open_backdrop("#102030").frame(raw, None) == (0x30, 0x20, 0x10)).all()
    assert (backdrops.open_backdrop("white").frame(raw, None) == 255).all()
    t = backdrops.open_backdrop("transparent")
    assert t.transparent and t.frame(raw, None) is None


@pytest.mark.parametrize("spec, message", [("#zz0000", "not a file, colour"), ("mauve", "not a file, colour"),
                                           ("missing/back.png", "check the path")])
def test_bad_backdrop_specs(spec, message):
    with pytest.raises(LivekeyError, match=message):
        backdrops.open_backdrop(spec)


def test_unreadable_backdrop_files(tmp_path):
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    with pytest.raises(LivekeyError, match="not an image"):
        backdrops.open_backdrop(str(fake))
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 3000)
    with pytest.raises(LivekeyError, match="not an image or video"):
        backdrops.open_backdrop(str(junk))


def test_blur_backdrop_leaves_no_subject_halo():
    raw = np.zeros((160, 160, 3), np.uint8)
    raw[:] = (40, 170, 60)
    raw[60:100, 60:100] = (0, 0, 255)  # a red subject
    alpha = np.zeros((160, 160), np.uint8)
    alpha[60:100, 60:100] = 255
    blur = backdrops.open_backdrop("blur")
    masked = blur.frame(raw, alpha)
    plain = backdrops.BlurBackdrop().frame(raw, None)
    ring = masked[50:58, 60:100].astype(int)
    assert masked.shape == raw.shape
    assert np.abs(ring - (40, 170, 60)).max() < 12  # background colour right next to the subject
    assert plain[50:58, 60:100, 2].mean() > ring[..., 2].mean() + 20  # the unmasked blur bleeds red


def test_video_backdrop_advances_and_loops(tmp_path):
    path = write_video(tmp_path / "back.mp4", frames=4, fps=240)
    back = backdrops.open_backdrop(str(path))
    raw = np.zeros((48, 80, 3), np.uint8)
    seen = set()
    import time
    for _ in range(40):
        seen.add(back.frame(raw, None).tobytes())
        time.sleep(1 / 200)
    back.close()
    assert 3 <= len(seen) <= 5  # the four frames of the loop (and not a new picture every call)


def test_default_backdrop_without_the_assets_folder_is_generated(monkeypatch, tmp_path):
    monkeypatch.setattr(backdrops, "DEFAULT_BACKDROP", tmp_path / "missing.jpg")
    bd = backdrops.open_backdrop(None)
    assert bd.info == "default (generated)"
    frame = np.zeros((90, 160, 3), np.uint8)
    assert bd.frame(frame, None).shape == (90, 160, 3)


def test_default_backdrop_is_the_repository_image():
    """In a checkout the default backdrop is assets/backdrop.jpg, not the generator's stand-in
    (a module move once made it look for livekey/assets/ and fall back silently)."""
    from livekey.media.backdrops import DEFAULT_BACKDROP, open_backdrop

    root = Path(__file__).resolve().parents[1]
    assert DEFAULT_BACKDROP == root / "assets" / "backdrop.jpg"
    assert open_backdrop(None).info.startswith("image")
