"""The render's reading and writing threads: order kept, errors raised on the caller's thread,
a stop that leaves nothing running, and the real writers' errors reaching the caller."""

from __future__ import annotations

import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from livekey.render import outputs
from livekey.render.overlap import ReadAhead, WriteBehind


def test_read_ahead_hands_over_every_item_in_order_from_another_thread():
    made_on = []

    def items():
        for i in range(50):
            made_on.append(threading.get_ident())
            yield i

    reader = ReadAhead(items(), depth=2)
    assert list(reader) == list(range(50))
    reader.close()
    assert set(made_on) == {made_on[0]} and made_on[0] != threading.get_ident()


def test_read_ahead_raises_the_readers_error_after_the_items_before_it():
    def items():
        yield 1
        yield 2
        raise ValueError("damaged at 0.4 s")

    got = []
    with pytest.raises(ValueError, match="damaged at 0.4 s"):
        for item in ReadAhead(items()):
            got.append(item)
    assert got == [1, 2]


def test_read_ahead_close_stops_the_reader_and_runs_its_cleanup():
    closed = threading.Event()

    def items():
        try:
            i = 0
            while True:  # endless: only close() ends it
                yield i
                i += 1
        finally:
            closed.set()

    reader = ReadAhead(items(), depth=2)
    first = next(iter(reader))
    reader.close()
    assert first == 0 and closed.is_set()
    assert not any(t.name == "livekey-read" for t in threading.enumerate())


def test_write_behind_runs_calls_in_order_on_one_other_thread():
    done, threads = [], set()

    def call(i):
        time.sleep(0.001 * (i % 3))  # uneven call times: the order must not depend on them
        threads.add(threading.get_ident())
        done.append(i)

    behind = WriteBehind(depth=2)
    for i in range(30):
        behind.submit(call, i)
    behind.drain()
    behind.close()
    assert done == list(range(30))
    assert len(threads) == 1 and threading.get_ident() not in threads


def test_write_behind_holds_at_most_depth_calls_waiting():
    release, started = threading.Event(), threading.Event()

    def blocked():
        started.set()
        release.wait(5)

    behind = WriteBehind(depth=2)
    behind.submit(blocked)
    started.wait(5)
    behind.submit(lambda: None)  # one running, one waiting: the caller is not held yet
    timer = threading.Timer(0.3, release.set)
    timer.start()
    t0 = time.monotonic()
    behind.submit(lambda: None)  # a third must wait for the first to finish
    assert time.monotonic() - t0 >= 0.2
    behind.drain()
    behind.close()


def test_write_behind_raises_an_error_at_the_next_submit_or_drain_and_close_does_not():
    behind = WriteBehind(depth=1)

    def fail():
        raise OSError("No space left on device")

    behind.submit(fail)
    with pytest.raises(OSError, match="No space left"):
        behind.submit(lambda: None)
    behind.submit(fail)
    with pytest.raises(OSError):
        behind.drain()
    behind.submit(fail)
    behind.close()  # abandoning: no error, and the thread is done


def _writer(tmp_path: Path, layout: str = "bgr") -> outputs.VideoWriter:
    kind = outputs.VIDEO_KINDS["h264" if layout == "bgr" else "qtrle"]
    suffix = ".mp4" if layout == "bgr" else ".mov"
    return outputs.VideoWriter(tmp_path / f"out{suffix}", kind, (64, 48), Fraction(1, 30), Fraction(30),
                               layout, outputs.Encoding())


def test_the_writer_copies_the_frame_so_the_caller_may_reuse_its_array(tmp_path):
    import av

    writer = _writer(tmp_path, "bgra")
    image = np.zeros((48, 64, 4), np.uint8)
    for i in range(6):
        image[:] = (40 * i, 0, 0, 255)  # the same array, new contents, as the compositor does
        writer.write(image, i)
    writer.finish()
    path = writer.commit()
    with av.open(str(path)) as clip:
        blues = [int(f.to_ndarray(format="bgra")[0, 0, 0]) for f in clip.decode(video=0)]
    assert blues == [40 * i for i in range(6)]


def test_an_error_on_the_writing_thread_reaches_the_caller_and_abandon_removes_the_file(tmp_path):
    writer = _writer(tmp_path, "bgra")
    writer.write(np.zeros((48, 64, 4), np.uint8), 0)
    writer.write(np.zeros((48, 64), np.uint8), 1)  # not BGRA: the writing thread's frame fails
    with pytest.raises(ValueError):
        writer.finish()
    writer.abandon()
    assert list(tmp_path.iterdir()) == []
