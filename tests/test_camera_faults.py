"""Camera faults through the real CameraSource and Pipeline, faked only at the device boundary
(cv2.VideoCapture): unplug, open-but-no-frames, a hanging read, and a replug at another mode.
The outputs must keep the frame rate through each fault, and the notices must tell the truth."""

import threading
import time

import cv2
import numpy as np
import pytest

from livekey.config.settings import Settings
from livekey.media.backdrops import open_backdrop
from livekey.media.sources import CameraSource, open_source
from livekey.runtime.pipeline import Pipeline

FPS = 30


class Device:
    """The camera's physical state, which the test changes: plugged, delivering, hanging, its mode."""

    def __init__(self) -> None:
        self.plugged = True
        self.delivers = True
        self.hang = 0.0  # the next read blocks this long
        self.mode = (160, 96)
        self.opens = 0
        self.count = 0


class FakeCapture:
    """What cv2.VideoCapture(device, backend) returns: a V4L2 capture of ``DEVICE``."""

    device: Device

    def __init__(self, index, backend=None) -> None:
        self.opened = self.device.plugged
        self.device.opens += 1
        self.mode = self.device.mode  # the mode is fixed at open, as a driver's is

    def isOpened(self) -> bool:
        return self.opened

    def set(self, prop, value) -> bool:
        return True

    def get(self, prop) -> float:
        return {cv2.CAP_PROP_FRAME_WIDTH: self.mode[0], cv2.CAP_PROP_FRAME_HEIGHT: self.mode[1],
                cv2.CAP_PROP_FPS: FPS, cv2.CAP_PROP_FOURCC: cv2.VideoWriter_fourcc(*"MJPG")}.get(prop, 0.0)

    def read(self):
        dev = self.device
        if dev.hang:
            hang, dev.hang = dev.hang, 0.0
            time.sleep(hang)
        time.sleep(1 / FPS)
        if not (self.opened and dev.plugged and dev.delivers):
            return False, None
        dev.count += 1
        frame = np.full((self.mode[1], self.mode[0], 3), (50, 170 + dev.count % 20, 40), np.uint8)  # a green screen
        frame[self.mode[1] // 3:, self.mode[0] // 3:self.mode[0] // 2] = (90, 80, 160)  # and a subject
        return True, frame

    def release(self) -> None:
        self.opened = False


@pytest.fixture
def device(monkeypatch):
    dev = Device()
    FakeCapture.device = dev
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    return dev


def unplug(dev: Device, seconds: float) -> None:
    dev.plugged = False
    time.sleep(seconds)
    dev.plugged = True


def silent(dev: Device, seconds: float) -> None:
    dev.delivers = False
    time.sleep(seconds)
    dev.delivers = True


def hang(dev: Device, seconds: float) -> None:
    dev.hang = seconds
    time.sleep(seconds)


def replug_other_mode(dev: Device, seconds: float) -> None:
    dev.plugged = False
    dev.mode = (320, 240)
    time.sleep(seconds)
    dev.plugged = True


@pytest.mark.parametrize("fault", [unplug, silent, hang, replug_other_mode])
def test_outputs_keep_the_frame_rate_through_a_camera_fault(device, fault):
    notices: list[str] = []
    source = open_source("/dev/null:160x96@30")  # a device node that exists; the capture is the fake
    assert isinstance(source, CameraSource)
    source._notice = notices.append
    pipeline = Pipeline(source, Settings(key_color="green"), open_backdrop("#204060"))
    times: list[float] = []
    sizes: set[tuple[int, int]] = set()

    def seen(output) -> None:
        times.append(time.monotonic())
        sizes.add(output.composite.shape[1::-1])

    pipeline.subscribe(seen)
    pipeline.start()
    try:
        deadline = time.monotonic() + 60
        while len(times) < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        t0 = time.monotonic()
        time.sleep(0.5)
        outage = 3.0
        fault(device, outage)
        back = time.monotonic()
        while device.count == 0 or time.monotonic() < back + 1.5:
            time.sleep(0.05)
        t1 = time.monotonic()
    finally:
        pipeline.stop()
    assert not pipeline.failures, pipeline.failures
    window = [t for t in times if t0 <= t <= t1]
    gaps = np.diff(window)
    # Through the fault the outputs go on at the frame rate: no gap near the outage's length
    # (a hanging read froze every output for 3 s before), and most frames of the window made it.
    assert gaps.max() < 0.6, gaps.max()
    assert len(window) >= 0.6 * FPS * (t1 - t0), (len(window), t1 - t0)
    assert sizes == {(160, 96)}  # a camera back at another mode is scaled to the size first granted
    if fault is not hang:
        said = [n for n in notices if "is back after" in n]
        assert len(said) == 1, notices
        seconds = float(said[0].split("after ")[1].split(" s")[0])
        assert outage - 0.5 <= seconds <= outage + 1.2, notices  # the whole outage, honestly
        assert sum("stopped delivering" in n for n in notices) == 1, notices  # said once, not every retry
    else:
        assert any("delivered nothing" in n for n in notices), notices


def test_backoff_doubles_on_every_kind_of_failure_and_a_returning_camera_is_used_at_once(device):
    notices: list[str] = []
    cam = CameraSource(0, 160, 96, FPS, notice=notices.append)
    stop = threading.Event()

    def consume() -> None:
        while not stop.is_set():
            cam.read()

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    try:
        time.sleep(0.3)
        device.delivers = False  # opens, but no frames: reopened with backoff, not every 0.27 s
        opens_before = device.opens
        time.sleep(3.0)
        attempts = device.opens - opens_before
        assert 2 <= attempts <= 6, attempts  # 0.1 + 0.2 + 0.4 + 0.8 + 1.0 ... s apart
        device.delivers = True
        returned = time.monotonic()
        count = device.count
        while device.count == count and time.monotonic() < returned + 5:
            time.sleep(0.01)
        assert time.monotonic() - returned <= CameraSource.BACKOFF_MAX + 0.5  # used within the longest backoff
    finally:
        stop.set()
        cam.close()
