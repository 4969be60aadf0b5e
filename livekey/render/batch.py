"""A batch of clips over a local process pool: each clip keyed whole in one process (so temporal
state runs through it), ``jobs`` at once, a failed clip not stopping the others.

Each worker process gets ``cores // jobs`` Numba threads (its own main thread is the only one
that runs the parallel kernels); the decoder and x264 keep their own thread choice, as their
frame threads are a pipeline that overlaps the key rather than competing with it. Progress and messages come back
through a queue to this process, which draws a line per clip plus the total. Ctrl-C sets an
event the workers check after every frame, so each keeps what it keyed as a partial file.
"""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
import signal
import sys
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from livekey.errors import LivekeyError
from livekey.render.job import RenderResult, RenderSpec, render_clip
from livekey.render.media import Clip
from livekey.render.progress import BatchProgress, summary

# Set in each worker by _init_worker.
_queue: multiprocessing.Queue | None = None
_stop: threading.Event | None = None


class _QueueReporter:
    """A worker's progress, sent to the parent about every 0.2 s."""

    def __init__(self, clip: int) -> None:
        self.clip = clip
        self.sent = 0.0

    def update(self, done: int) -> None:
        now = time.monotonic()
        if now - self.sent >= 0.2:
            self.sent = now
            _queue.put(("done", self.clip, done))

    def close(self) -> None:
        pass


def _init_worker(queue: multiprocessing.Queue, stop, threads: int) -> None:
    global _queue, _stop
    _queue, _stop = queue, stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent turns Ctrl-C into the stop event
    import numba

    from livekey.runtime.startup import start_up

    start_up()  # the thread policy before Numba's threads start

    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))


def _work(clip: int, spec: RenderSpec) -> RenderResult:
    def say(text: str) -> None:
        _queue.put(("say", clip, text))

    def reporter(total):
        return _QueueReporter(clip)

    if _stop is not None and _stop.is_set():  # queued to this worker before Ctrl-C: do not start it
        return RenderResult(spec.input, spec.output, "interrupted", message=f"{spec.input}: not started")
    try:
        result = render_clip(spec, progress=reporter, say=say, stop=_stop)
    except LivekeyError as err:
        result = RenderResult(spec.input, spec.output, "failed", message=str(err))
    except Exception as err:  # a bug or an unforeseen file: this clip fails, the batch goes on
        result = RenderResult(spec.input, spec.output, "failed", message=f"{type(err).__name__}: {err}")
    _queue.put(("done", clip, result.frames))
    return result


def _totals(specs: list[RenderSpec]) -> list[int | None]:
    """Each clip's frame count for the progress lines (None when the file does not say or fails to open:
    the worker reports the failure)."""
    totals: list[int | None] = []
    for spec in specs:
        try:
            clip = Clip(spec.input)
        except LivekeyError:
            totals.append(None)
            continue
        try:
            totals.append(clip.expected_frames(spec.window))
        finally:
            clip.close()
    return totals


def render_batch(specs: list[RenderSpec], jobs: int, quiet: bool = False) -> list[RenderResult]:
    """Render every clip, ``jobs`` at once; every clip's result, in the order given."""
    from livekey.render.command import print_result

    jobs = max(1, min(jobs, len(specs)))
    threads = max(1, (os.cpu_count() or 1) // jobs)
    ctx = multiprocessing.get_context("spawn")  # no fork of a process whose Numba threads may be running
    queue, stop = ctx.Queue(), ctx.Event()
    bars = BatchProgress([Path(s.input).name for s in specs], _totals(specs), quiet=quiet)
    listener = threading.Thread(target=_listen, args=(queue, bars), daemon=True)
    listener.start()
    started = time.monotonic()
    results: list[RenderResult | None] = [None] * len(specs)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_init_worker,
                             initargs=(queue, stop, threads)) as pool:
        futures = [pool.submit(_work, i, spec) for i, spec in enumerate(specs)]
        try:
            _collect(futures, specs, results, bars, print_result)
        except KeyboardInterrupt:
            stop.set()  # the running clips keep what they keyed; the waiting ones are not started
            for f in futures:
                f.cancel()
            _collect(futures, specs, results, bars, print_result)
    queue.put(None)
    listener.join(2)
    bars.close()
    done = [r for r in results if r is not None]
    frames = sum(r.frames for r in done)
    failed = sum(not r.ok for r in done)
    print(f"livekey: {len(specs)} clips: {len(specs) - failed} done, {failed} not; "
          f"{summary(frames, time.monotonic() - started)}", file=sys.stderr, flush=True)
    return done


def _collect(futures: list[Future], specs: list[RenderSpec], results: list, bars: BatchProgress,
             print_result) -> None:
    """Wait for the clips still out, filling ``results`` and printing each clip's line as it ends."""
    index = {future: i for i, future in enumerate(futures) if results[i] is None}
    for future in as_completed(index):
        i, spec = index[future], specs[index[future]]
        if future.cancelled():
            results[i] = RenderResult(spec.input, spec.output, "interrupted", message=f"{spec.input}: not started")
            continue
        try:
            results[i] = future.result()
        except BrokenProcessPool as err:
            results[i] = RenderResult(spec.input, spec.output, "failed", message=f"{spec.input}: the worker "
                                      f"process died ({err}); nothing written")
        _write_line(bars, results[i], print_result)


def _write_line(bars: BatchProgress, result: RenderResult, print_result) -> None:
    if bars.tty and not bars.quiet:
        from tqdm import tqdm

        with tqdm.external_write_mode(file=bars.file):
            print_result(result)
    else:
        print_result(result)


def _listen(queue: multiprocessing.Queue, bars: BatchProgress) -> None:
    """Progress and messages from the workers, until None."""
    while True:
        try:
            item = queue.get(timeout=1)
        except queue_module.Empty:
            continue
        except (EOFError, OSError):
            return
        if item is None:
            return
        kind, clip, value = item
        if kind == "done":
            bars.update(clip, value)
        elif kind == "say":
            print(f"livekey: {value}", file=bars.file, flush=True)
