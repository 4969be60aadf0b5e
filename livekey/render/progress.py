"""Progress of a render on stderr: a tqdm bar on a terminal, plain periodic lines otherwise, or none.

A render calls ``update(done)`` with the frames done so far (any thread-free, cheap call: the
reporters throttle themselves). One clip gets one bar; a batch gets a line per clip plus the
total (:class:`BatchProgress`), fed from the workers through a queue.
"""

from __future__ import annotations

import sys
import time
from typing import Protocol, TextIO

from tqdm import tqdm

LINE_SECONDS = 5.0  # how often a plain line is printed when stderr is not a terminal
PLAIN_FORMAT = "{desc}: {n_fmt}/{total_fmt} frames {percentage:3.0f}% {rate_fmt} {remaining} left"
PLAIN_FORMAT_OPEN = "{desc}: {n_fmt} frames {rate_fmt}"  # total unknown


class Reporter(Protocol):
    def update(self, done: int) -> None: ...

    def close(self) -> None: ...


class Quiet:
    """No progress (``--quiet``)."""

    def update(self, done: int) -> None:
        pass

    def close(self) -> None:
        pass


class Bar:
    """A tqdm bar: frames done of total, fps, time left."""

    def __init__(self, label: str, total: int | None, position: int = 0, file: TextIO | None = None,
                 unit: str = "frame") -> None:
        self._bar = tqdm(total=total, desc=label, unit=unit, position=position, leave=True,
                         file=file or sys.stderr, dynamic_ncols=True, smoothing=0.1)

    def update(self, done: int) -> None:
        if done > self._bar.n:
            self._bar.update(done - self._bar.n)

    def set_total(self, total: int | None) -> None:
        self._bar.total = total
        self._bar.refresh()

    def close(self) -> None:
        self._bar.close()


class Lines:
    """A plain line every ``every`` seconds (logs, CI, a pipe), worded as tqdm's meter."""

    def __init__(self, label: str, total: int | None, file: TextIO | None = None,
                 every: float = LINE_SECONDS, unit: str = "frame") -> None:
        self.label, self.total, self.unit = label, total, unit
        self.file = file or sys.stderr
        self.every = every
        self.started = time.monotonic()
        self._next = self.started + every
        self.done = 0

    def update(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self.every
            print(self.line(now), file=self.file, flush=True)

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self.started
        fmt = PLAIN_FORMAT if self.total else PLAIN_FORMAT_OPEN
        return "livekey: " + tqdm.format_meter(self.done, self.total, elapsed, prefix=self.label,
                                               unit=self.unit, bar_format=fmt)

    def close(self) -> None:
        pass


def reporter(label: str, total: int | None, quiet: bool = False, file: TextIO | None = None) -> Reporter:
    """The reporter for stderr as it is: a bar on a terminal, lines otherwise, none when quiet."""
    file = file or sys.stderr
    if quiet:
        return Quiet()
    if file.isatty():
        return Bar(label, total, file=file)
    return Lines(label, total, file=file)


def summary(frames: int, seconds: float) -> str:
    """``120 frames in 2.9 s (41.4 fps)``: the figures of the final line."""
    fps = frames / seconds if seconds > 0 else 0.0
    return f"{frames} frames in {seconds:.1f} s ({fps:.1f} fps)"


class BatchProgress:
    """Progress of a batch: one bar (or plain line) per clip plus the total, fed with
    ``update(clip, done, total)`` from the workers' messages."""

    def __init__(self, labels: list[str], totals: list[int | None], quiet: bool = False,
                 file: TextIO | None = None) -> None:
        self.file = file or sys.stderr
        self.quiet = quiet
        self.tty = self.file.isatty()
        self.totals = list(totals)
        self.done = [0] * len(labels)
        grand = sum(t for t in totals if t) or None
        if quiet:
            self.clips: list[Reporter] = [Quiet() for _ in labels]
            self.total: Reporter = Quiet()
        elif self.tty:
            self.total = Bar("total", grand, position=0, file=self.file)
            self.clips = [Bar(label, t, position=i + 1, file=self.file) for i, (label, t)
                          in enumerate(zip(labels, totals, strict=True))]
        else:
            self.total = Lines("total", grand, file=self.file)
            self.clips = [Lines(label, t, file=self.file) for label, t in zip(labels, totals, strict=True)]
            self._next = time.monotonic() + LINE_SECONDS

    def update(self, clip: int, done: int) -> None:
        self.done[clip] = done
        if self.quiet:
            return
        if self.tty:
            self.clips[clip].update(done)
            self.total.update(sum(self.done))
            return
        for c, d in zip(self.clips, self.done, strict=True):
            c.done = d  # type: ignore[attr-defined]
        self.total.done = sum(self.done)  # type: ignore[attr-defined]
        now = time.monotonic()
        if now >= self._next:  # every clip's line and the total's, together
            self._next = now + LINE_SECONDS
            for r in self.clips + [self.total]:
                print(r.line(now), file=self.file, flush=True)  # type: ignore[attr-defined]

    def close(self) -> None:
        for r in [self.total] + self.clips:
            r.close()
