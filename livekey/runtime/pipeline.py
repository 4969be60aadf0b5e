"""The real-time pipeline: capture, key, composite, and hand each frame to the sinks.

Threads and hand-offs::

    capture thread --[latest-frame slot]--> processing thread --[queue per sink]--> sink threads
    (source.read)      newer replaces older     (key + composite,       newest kept     (recorder,
                       unread frame: a drop      one thread in Numba)                    virtual camera)

* The **capture thread** only reads the source and puts the frame in a one-frame slot. If the
  previous frame was not taken yet, it is replaced and counted as dropped: the newest frame is
  never the one lost, and capture never waits on processing. A source that is not live
  (``--as-fast-as-possible``) waits for the slot instead, so nothing is dropped.
* The **processing thread** owns the :class:`~livekey.keyer.Keyer`. It keys the frame and blends
  it over the backdrop in one fused Numba pass (or keys to BGRA for a transparent backdrop).
  It is the only thread that runs ``parallel=True`` kernels, so Numba's threading layer is never
  entered from two threads at once. It is also the compositor: it builds the :class:`Output`,
  calls the subscribers (the preview) and queues the output for each sink. The output's arrays
  come from a :class:`FramePool` and are reused once no receiver holds them, so a running
  pipeline stops allocating frames.
* Each **sink thread** writes to one sink from a small queue (``sink.queue_frames``, oldest
  dropped and counted when full), so a slow encoder or virtual camera never stalls capture, and
  pyvirtualcam's ``send`` is always called from the same thread.

Every frame carries its capture time; latency is measured from capture to the end of each sink's
``write`` (to the hand-off when there are no sinks). Settings, backdrop and source are swapped as
whole references and picked up at a frame boundary, so no frame mixes two settings.
"""

from __future__ import annotations

import collections
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from livekey.config.settings import Settings
from livekey.engine.keyer import Keyer
from livekey.runtime import quick_start, startup
from livekey.runtime.frames import FramePool, Output

if TYPE_CHECKING:
    from livekey.masks import MaskStack
    from livekey.media.backdrops import Backdrop
    from livekey.media.sinks import Sink
    from livekey.media.sources import Source

JOIN_TIMEOUT = 1.0  # seconds each thread gets to finish on stop()


class LatencyHistogram:
    """Constant-memory latency record: 0.1 ms bins up to 2 s (longer ones land in the last bin)."""

    BIN_MS = 0.1

    def __init__(self, max_ms: float = 2000.0) -> None:
        self.counts = np.zeros(int(max_ms / self.BIN_MS) + 1, np.int64)
        self._lock = threading.Lock()

    def add(self, ms: float) -> None:
        i = min(len(self.counts) - 1, max(0, int(ms / self.BIN_MS)))
        with self._lock:
            self.counts[i] += 1

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def percentile(self, q: float) -> float | None:
        """The ``q``-th percentile (0..100) in ms, to the bin's upper edge; None when empty."""
        with self._lock:
            cum = np.cumsum(self.counts)
        if cum[-1] == 0:
            return None
        i = int(np.searchsorted(cum, q / 100 * cum[-1]))
        return round((i + 1) * self.BIN_MS, 1)


class _SinkWorker:
    """One sink on its own thread, fed from a bounded queue."""

    def __init__(self, sink: Sink, latency: LatencyHistogram, on_error: Callable[[str], None]) -> None:
        self.sink = sink
        self.dropped = 0
        self.written = 0
        self._queue: collections.deque[Output] = collections.deque(maxlen=max(1, getattr(sink, "queue_frames", 1)))
        self._cond = threading.Condition()
        self._closing = False
        self._abandon = False
        self._latency = latency
        self._on_error = on_error
        self.failed = False
        self.thread = threading.Thread(target=self._run, name=f"livekey-sink-{type(sink).__name__}", daemon=True)
        self.thread.start()

    def put(self, output: Output) -> None:
        with self._cond:
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1
            self._queue.append(output)
            self._cond.notify()

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._queue and not self._closing:
                        self._cond.wait()
                    if not self._queue:
                        return  # closing and drained: everything queued was written
                    output = self._queue.popleft()
                if self.failed or self._abandon:
                    continue
                try:
                    self.sink.write(output)
                except Exception as err:  # a full disk or a vanished device: stop this sink, not the run
                    self.failed = True
                    self._on_error(f"{getattr(self.sink, 'name', type(self.sink).__name__)} stopped: {err}")
                    continue
                self.written += 1
                self._latency.add((time.monotonic() - output.captured_at) * 1000)
        finally:
            try:
                self.sink.close()
            except Exception as err:
                self._on_error(f"closing {getattr(self.sink, 'name', 'sink')} failed: {err}")

    def close(self, timeout: float) -> None:
        """Write what is queued, within ``timeout``; past it, skip the rest and close the sink anyway."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self.thread.join(timeout)
        if self.thread.is_alive():
            self._abandon = True
            self.thread.join(JOIN_TIMEOUT)  # one frame in flight, then close (the file stays playable)


class Pipeline:
    """Capture -> key -> composite -> sinks, on threads. See the module docstring."""

    def __init__(self, source: Source, settings: Settings, backdrop: Backdrop, sinks: Sequence[Sink] = (),
                 masks: MaskStack | None = None, overlay: np.ndarray | None = None) -> None:
        self._source = source
        self._overlay: tuple[np.ndarray, dict] | None = None
        self.set_overlay(overlay)
        self._next_source: Source | None = None
        self._settings = settings
        self._backdrop = backdrop
        self._next_backdrop: Backdrop | None = None
        self._frozen = False  # freeze frame: key the held frame again and again while the camera runs on
        self._held: np.ndarray | None = None
        self._keyer = Keyer(settings, mask_stack=masks)
        self._pool = FramePool()  # only the processing thread takes from it
        self._latency = LatencyHistogram()
        self._process_ms = LatencyHistogram()
        self._workers: list[_SinkWorker] = []
        self._pending_sinks = list(sinks)
        self._subscribers: list[Callable[[Output], None]] = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._slot: tuple[np.ndarray, float, int] | None = None
        self._source_done = False
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._stopped = False
        self._threads: list[threading.Thread] = []
        self.frames_in = 0
        self.frames_out = 0
        self.dropped = 0
        self._t_first: float | None = None
        self._t_last: float | None = None
        self._cpu_first = self._cpu_last = None  # os.times() at the first capture and the last output
        self.ended = ""  # why the run ended on its own (source end, error), for the user
        self.messages: list[str] = []  # warnings raised on the threads, for the user
        self.failures: list[str] = []  # what failed (processing, the source, a sink): a non-zero exit
        self.on_message: Callable[[str], None] = lambda text: print(f"livekey: {text}", file=sys.stderr)
        self.quick_start = False  # see start()
        self._compile: quick_start.BackgroundCompile | None = None

    # --- control -----------------------------------------------------------
    def start(self) -> None:
        """Warm up Numba (compile or load from cache) and start the threads. With
        :attr:`quick_start` (and no mask stack), start on the plain path while the full one compiles
        in a child process (:mod:`livekey.runtime.quick_start`)."""
        outputs = ("rgba",) if self._backdrop.transparent else ("composite",)
        if self.quick_start and not self._keyer.masks.active:
            startup.warm_up(quick_start.plain(self._settings), None, outputs)
            self._keyer.update(quick_start.plain(self._settings))
            self._compile = quick_start.BackgroundCompile(self._settings, outputs, self._compiled)
        else:
            startup.warm_up(self._settings, self._keyer.masks, outputs, live=True)
        for sink in self._pending_sinks:
            self._workers.append(_SinkWorker(sink, self._latency, self._failure))
        self._pending_sinks = []
        for name, target in (("capture", self._capture_loop), ("process", self._process_loop)):
            thread = threading.Thread(target=target, name=f"livekey-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def request_stop(self) -> None:
        """Ask the pipeline to stop without waiting (safe from a signal handler); then call stop()."""
        self._stop.set()
        self._finished.set()

    def stop(self) -> None:
        """Stop capture, finish the queued frames, close the sinks (recording finalized), release the source."""
        if self._stopped:
            return
        self._stopped = True
        self._stop.set()
        if self._compile is not None:
            self._compile.stop()
        with self._cond:
            self._cond.notify_all()
        deadline = time.monotonic() + JOIN_TIMEOUT
        for thread in self._threads:
            if thread is not threading.current_thread():  # stop() from a subscriber: do not join itself
                thread.join(max(0.05, deadline - time.monotonic()))
        for worker in self._workers:
            worker.close(max(0.2, deadline - time.monotonic()))
        for sink in self._pending_sinks:  # never started: nothing was written, close them all the same
            sink.close()
        self._pending_sinks = []
        if not any(t.is_alive() for t in self._threads[:1]):
            self._source.close()  # only once the capture thread is out of read()
        self._backdrop.close()
        self._finished.set()

    def wait(self, timeout: float | None = None) -> bool:
        """True once the pipeline has stopped or ended (source end, stop(), request_stop())."""
        return self._finished.wait(timeout)

    def update_settings(self, settings: Settings) -> None:
        """Use ``settings`` from the next frame on (whole; thread-safe); on the plain path (a quick
        start's compile still going) their plain form until it is done."""
        with self._lock:
            self._settings = settings
            self._keyer.update(quick_start.plain(settings) if self._compile is not None else settings)

    def _compiled(self, ok: bool, seconds: float) -> None:
        """A quick start's compile ended (on its watcher thread): the real settings from the next frame."""
        with self._lock:
            self._compile = None
            if ok:
                self._keyer.update(self._settings)
        self.on_message(f"kernels compiled in {seconds:.0f} s: the full key from now on" if ok else
                        "the background compile failed: the plain key stays on (run again to compile it)")

    @property
    def settings(self) -> Settings:
        return self._settings

    def set_overlay(self, overlay: np.ndarray | None) -> None:
        """Put a straight-alpha BGRA image (a logo, a lower third) over every composite from the
        next frame on, scaled to cover the frame; None removes it."""
        self._overlay = None if overlay is None else (overlay, {})  # the image and its fits by size

    def update_masks(self, masks: MaskStack) -> None:
        """Use the mask stack ``masks`` from the next frame on (thread-safe)."""
        self._keyer.update_masks(masks)

    def set_source(self, source: Source) -> None:
        """Switch to ``source`` at the next frame; the old one is closed by the capture thread."""
        self._next_source = source

    def set_backdrop(self, backdrop: Backdrop) -> None:
        """Composite over ``backdrop`` from the next frame on."""
        self._next_backdrop = backdrop

    def set_frozen(self, on: bool) -> None:
        """Freeze frame: from the next frame on, key the frame captured then over and over (live
        settings still apply to it), until unfrozen."""
        self._frozen = bool(on)

    @property
    def frozen(self) -> bool:
        return self._frozen

    @property
    def sinks(self) -> list[Sink]:
        """The sinks being fed now (a snapshot)."""
        return [worker.sink for worker in self._workers] + list(self._pending_sinks)

    def add_sink(self, sink: Sink) -> None:
        worker = _SinkWorker(sink, self._latency, self._failure)
        with self._lock:
            self._workers = self._workers + [worker]

    def remove_sink(self, sink: Sink) -> None:
        """Stop feeding ``sink``, let it finish what is queued, and close it."""
        with self._lock:
            gone = [w for w in self._workers if w.sink is sink]
            self._workers = [w for w in self._workers if w.sink is not sink]
        for worker in gone:
            worker.close(JOIN_TIMEOUT)

    def subscribe(self, callback: Callable[[Output], None]) -> None:
        """Call ``callback(output)`` for every frame, on the processing thread; it must return fast."""
        with self._lock:
            self._subscribers = self._subscribers + [callback]

    def unsubscribe(self, callback: Callable[[Output], None]) -> None:
        with self._lock:
            self._subscribers = [c for c in self._subscribers if c is not callback]

    @property
    def started(self) -> bool:
        """Whether start() has been called."""
        return bool(self._threads)

    @property
    def source_info(self) -> str:
        return self._source.info

    @property
    def backdrop(self) -> Backdrop:
        """The backdrop composited from the next frame on (one set_backdrop() gave, once it is asked)."""
        return self._next_backdrop or self._backdrop

    @property
    def keyer(self) -> Keyer:
        """The keyer (owned by the processing thread: read its attributes, do not call it)."""
        return self._keyer

    def cpu_share(self) -> float | None:
        """The whole process's CPU time (user + system, every thread: capture, keying, sinks) over the
        wall time from the first capture to the last output, in cores (1.0: one core busy)."""
        first, last = self._cpu_first, self._cpu_last
        if first is None or last is None or last.elapsed <= first.elapsed:
            return None
        busy = (last.user + last.system) - (first.user + first.system)
        return round(busy / (last.elapsed - first.elapsed), 3)

    def stats(self) -> dict:
        """Counters and rates so far; latency is capture to sink write, in ms."""
        import numba

        span = (self._t_last - self._t_first) if self._t_first is not None and self._t_last else 0.0
        try:
            layer = numba.threading_layer()
        except ValueError:
            layer = None
        return {
            "frames_in": self.frames_in,
            "frames_out": self.frames_out,
            "dropped": self.dropped,
            "sink_dropped": {getattr(w.sink, "name", type(w.sink).__name__): w.dropped for w in self._workers},
            "fps": round(self.frames_out / span, 2) if span > 0 else 0.0,
            "fps_in": round(self.frames_in / span, 2) if span > 0 else 0.0,
            "fps_out": round(self.frames_out / span, 2) if span > 0 else 0.0,
            "latency_ms_p50": self._latency.percentile(50),
            "latency_ms_p99": self._latency.percentile(99),
            "process_ms_p50": self._process_ms.percentile(50),
            "process_ms_p99": self._process_ms.percentile(99),
            "cpu_share": self.cpu_share(),
            "numba_threads": numba.get_num_threads(),
            "threading_layer": layer,
            "source_info": self.source_info,
        }

    # --- threads -----------------------------------------------------------
    def _message(self, text: str) -> None:
        self.messages.append(text)
        self.on_message(text)

    def _failure(self, text: str) -> None:
        self.failures.append(text)
        self._message(text)

    def _capture_loop(self) -> None:
        index = 0
        try:
            while not self._stop.is_set():
                if self._next_source is not None:
                    old, self._source, self._next_source = self._source, self._next_source, None
                    old.close()
                source = self._source
                got = source.read()
                if got is None:
                    self.ended = getattr(source, "ended", "") or "the source ended"
                    if getattr(source, "damaged", False):
                        self.failures.append(self.ended)
                    break
                frame, captured_at = got
                if self._frozen:  # still read the source, so it never backs up, but key the held frame
                    self._held = frame.copy() if self._held is None else self._held
                    frame = self._held
                else:
                    self._held = None
                with self._cond:
                    if not source.live:  # as fast as possible: wait for the processing thread
                        while self._slot is not None and not self._stop.is_set():
                            self._cond.wait(0.1)
                    elif self._slot is not None:
                        self.dropped += 1
                    self._slot = (frame, captured_at, index)
                    self.frames_in += 1
                    if self._t_first is None:
                        self._t_first, self._cpu_first = captured_at, os.times()
                    self._cond.notify_all()
                index += 1
        except Exception as err:  # a source failing mid-run ends the run with a message, not a traceback
            self.ended = f"the source failed: {err}"
            self.failures.append(self.ended)
        finally:
            with self._cond:
                self._source_done = True
                self._cond.notify_all()

    def _process_loop(self) -> None:
        prev_alpha: np.ndarray | None = None
        try:
            while True:
                with self._cond:
                    while self._slot is None and not self._source_done and not self._stop.is_set():
                        self._cond.wait(0.1)
                    if self._slot is None or self._stop.is_set():
                        break
                    frame, captured_at, index = self._slot
                    self._slot = None
                    self._cond.notify_all()
                t0 = time.monotonic()
                if self._next_backdrop is not None:
                    old, self._backdrop, self._next_backdrop = self._backdrop, self._next_backdrop, None
                    old.close()
                output = self._process(frame, captured_at, index, prev_alpha)
                prev_alpha = output.alpha
                now = time.monotonic()
                self._process_ms.add((now - t0) * 1000)
                for callback in self._subscribers:
                    try:
                        callback(output)
                    except Exception as err:
                        self._message(f"a frame subscriber failed: {err}")
                workers = self._workers
                for worker in workers:
                    worker.put(output)
                if not workers:
                    self._latency.add((now - captured_at) * 1000)
                self.frames_out += 1
                self._t_last, self._cpu_last = now, os.times()
        except Exception as err:
            self.ended = f"processing failed: {type(err).__name__}: {err}"
            self.failures.append(self.ended)
        finally:
            self._finished.set()

    def _process(self, frame: np.ndarray, captured_at: float, index: int,
                 prev_alpha: np.ndarray | None) -> Output:
        backdrop = self._backdrop
        h, w = frame.shape[:2]
        take = self._pool.take
        if backdrop.transparent:
            alpha = take((h, w))
            composite = self._keyer.rgba(frame, out=take((h, w, 4)), alpha_out=alpha)
        else:
            back = backdrop.frame(frame, prev_alpha)
            alpha, composite = self._keyer.composite(frame, back, out=take((h, w, 3)), alpha_out=take((h, w)))
        if self._overlay is not None:
            from livekey.engine import overlay

            image, fits = self._overlay
            if (w, h) not in fits:  # fitted once per frame size, not per frame
                fits[(w, h)] = overlay.fit_overlay(image, w, h)
            overlay.overlay_rgba(composite, fits[(w, h)])
        return Output(index, captured_at, frame, alpha, composite, self._keyer.settings)
