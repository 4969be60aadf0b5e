"""Decode ahead of the key and encode behind it, each on a thread of its own.

A render keys on the calling thread, the only one that runs Numba's parallel kernels. Decoding
(with the conversion to BGR) and encoding (with the muxing) run beside it: PyAV releases the GIL
while FFmpeg decodes, converts, encodes and writes, so on two cores the three stages overlap
instead of taking turns, and the key never waits for x264 to take a frame. Both hand-overs hold
a few frames only, so memory stays flat and an error or a stop is seen within a few frames.
Either side's errors are raised again on the calling thread, in order.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Generic, TypeVar

T = TypeVar("T")

READ_AHEAD = 3  # decoded frames waiting for the key (about 6 MB each at 1080p)
WRITE_BEHIND = 3  # frames and packets waiting for the encoder and the muxer


class _Raised:
    """An exception the reading thread met, carried to the consumer."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = object()


class ReadAhead(Generic[T]):
    """Runs ``items`` (an iterator, typically a generator that demuxes and decodes) on its own
    thread, up to ``depth`` items ahead of the consumer. Iterate it once; :meth:`close` stops the
    thread and waits for it, so nothing it reads (an open container) is closed under it."""

    def __init__(self, items: Iterator[T], depth: int = READ_AHEAD, name: str = "livekey-read") -> None:
        self._items = items
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        """Hand ``item`` over; False once asked to stop (the consumer no longer takes items)."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._items:
                if not self._put(item):
                    return
            self._put(_END)
        except BaseException as err:  # noqa: BLE001 - every error goes to the consumer, raised there
            self._put(_Raised(err))
        finally:
            close = getattr(self._items, "close", None)
            if close is not None:
                close()  # a generator left mid-way runs its finally blocks here, on its own thread

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Raised):
                raise item.error
            yield item

    def close(self) -> None:
        """Stop reading and wait for the thread to end (at most the item under way)."""
        self._stop.set()
        while self._thread.is_alive():
            try:  # make room, should the thread be waiting to hand an item over
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join()


class WriteBehind:
    """Runs calls in the order given on one thread of its own, at most ``depth`` waiting. A call's
    error is raised on the caller's thread at a later :meth:`submit` or at :meth:`drain`."""

    def __init__(self, depth: int = WRITE_BEHIND, name: str = "livekey-write") -> None:
        self.depth = max(1, depth)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._pending: deque[Future] = deque()

    def submit(self, fn: Callable[..., object], *args: object) -> None:
        """Queue ``fn(*args)`` after everything queued before; waits while ``depth`` are waiting."""
        self._wait(self.depth - 1)
        self._pending.append(self._pool.submit(fn, *args))

    def drain(self) -> None:
        """Wait for every queued call; raise the first error one of them met."""
        self._wait(0)

    def _wait(self, keep: int) -> None:
        while len(self._pending) > keep:
            self._pending.popleft().result()

    def close(self) -> None:
        """Drop the calls not started, wait for the one under way, ignore their errors: for
        abandoning a file (nothing may close it while the thread still writes to it)."""
        for future in self._pending:
            future.cancel()
        self._pending.clear()
        self._pool.shutdown(wait=True)
