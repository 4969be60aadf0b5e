"""Calibration from the control window: a countdown to step out of frame, then frames of the
empty screen collected from the running pipeline and :func:`livekey.calibration.calibrate_frames`
run on a worker thread, so the picture never stops."""

from __future__ import annotations

import math
import threading
import time
from typing import TYPE_CHECKING

from PyQt5.QtCore import QObject, QTimer, pyqtSignal

from livekey.config.calibration import calibrate_frames
from livekey.errors import LivekeyError

if TYPE_CHECKING:
    from livekey.runtime.frames import Output
    from livekey.runtime.pipeline import Pipeline

COUNTDOWN_S = 5
FRAMES = 30  # averaged into the plate; as many as `livekey calibrate` takes by default
COLLECT_TIMEOUT_S = 10.0
POLL_MS = 50


class Calibrator(QObject):
    """Runs one calibration at a time: :meth:`start`, then ``status`` messages while it counts
    down and collects, and ``succeeded(Calibration)`` or ``failed(message)`` at the end."""

    status = pyqtSignal(str)
    succeeded = pyqtSignal(object)
    failed = pyqtSignal(str)

    def __init__(self, pipeline: Pipeline, countdown_s: float = COUNTDOWN_S, frames: int = FRAMES,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pipeline = pipeline
        self.countdown_s = countdown_s
        self.frames = frames
        self.running = False
        self._left = 0
        self._collected: list = []
        self._collect_started = 0.0
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._check)

    def start(self) -> None:
        if self.running:
            return
        self.running = True
        self._left = math.ceil(self.countdown_s)
        if self._left <= 0:
            self._collect()
        else:
            self._announce()
            self._timer.start(1000)

    def cancel(self) -> None:
        if not self.running:
            return
        self._stop_collecting()
        self.running = False
        self.status.emit("calibration cancelled")

    def _announce(self) -> None:
        self.status.emit(f"calibrating in {self._left} s: step out of frame")

    def _tick(self) -> None:
        self._left -= 1
        if self._left > 0:
            self._announce()
        else:
            self._timer.stop()
            self._collect()

    def _collect(self) -> None:
        self.status.emit(f"calibrating: collecting {self.frames} frames of the empty screen\u2026")
        self._collected = []
        self._collect_started = time.monotonic()
        self.pipeline.subscribe(self._take)
        self._poll.start()

    def _take(self, output: Output) -> None:
        """On the pipeline's thread: keep the raw frame (the receiver owns it)."""
        if len(self._collected) < self.frames:
            self._collected.append(output.raw)

    def _stop_collecting(self) -> None:
        self._timer.stop()
        self._poll.stop()
        self.pipeline.unsubscribe(self._take)

    def _check(self) -> None:
        if len(self._collected) >= self.frames:
            self._stop_collecting()
            frames, self._collected = self._collected[:self.frames], []
            self.status.emit("calibrating: measuring the screen\u2026")
            threading.Thread(target=self._measure, args=(frames,), name="livekey-calibrate", daemon=True).start()
        elif time.monotonic() - self._collect_started > COLLECT_TIMEOUT_S:
            self._stop_collecting()
            self.running = False
            self.failed.emit(f"calibration: the source gave {len(self._collected)} of {self.frames} frames in "
                             f"{COLLECT_TIMEOUT_S:.0f} s; check that the camera is running")

    def _measure(self, frames: list) -> None:
        """On a worker thread; the signals are delivered to the GUI thread."""
        try:
            result = calibrate_frames(frames)
        except LivekeyError as err:
            self.running = False
            self.failed.emit(str(err))
            return
        self.running = False
        self.succeeded.emit(result)
