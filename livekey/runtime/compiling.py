"""The first run's compile, said honestly and stoppable at once.

On a first run (or after an update) Numba compiles the kernels the settings use before the first
frame. :func:`compile_kernels` runs that warm-up on a worker thread while the calling (main) thread
waits on it: the main thread stays in Python, so Ctrl-C and SIGTERM's handler run at once instead of
after the compiler's long calls into LLVM, and it keeps a progress line moving (kernels compiled,
seconds). Call it before any output file is opened, so an interrupted compile leaves none behind.
When the kernels are cached nothing is said (the warm-up loads them in a second or so). With a
core to spare, a helper process compiles the edge solve meanwhile
(:func:`livekey.engine.kernel_cache.compile_aside`): on 2 cores that takes a first ``livekey key``
from 34 to about 20 s.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

from numba.core import event

if TYPE_CHECKING:
    from livekey.config.settings import Settings
    from livekey.masks import MaskStack

# How often the progress line moves (s): in place on a terminal, a new line elsewhere (logs, pipes).
TTY_EVERY = 0.5
LOG_EVERY = 5.0


class CompileCounter(event.Listener):
    """Counts the kernels Numba finishes compiling (outermost compiles only: a kernel's helpers are
    part of it)."""

    def __init__(self) -> None:
        self.depth = 0
        self.done = 0
        self.current = ""
        self.started = False  # whether anything compiled (else all loaded from the cache, or was loaded)

    def on_start(self, ev: event.Event) -> None:
        self.started = True
        if self.depth == 0:
            self.current = ev.data["dispatcher"].py_func.__name__.lstrip("_")
        self.depth += 1

    def on_end(self, ev: event.Event) -> None:
        self.depth -= 1
        if self.depth == 0:
            self.done += 1


class Progress:
    """The line that says what the user waits for: ``compiling the keying kernels: 7 done (12 s)``."""

    def __init__(self, counter: CompileCounter, stream: TextIO) -> None:
        self.counter, self.stream = counter, stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.shown = -LOG_EVERY

    def text(self) -> str:
        elapsed = time.monotonic() - self.started
        doing = f", now {self.counter.current}" if self.counter.current else ""
        return (f"livekey: compiling the kernels these settings use (first run after an install or update; "
                f"cached after): {self.counter.done} done{doing}, {elapsed:.0f} s")

    def tick(self) -> None:
        now = time.monotonic() - self.started
        if self.tty:
            self.stream.write("\r" + self.text() + "\x1b[K")
            self.stream.flush()
        elif now - self.shown >= LOG_EVERY:
            self.shown = now
            print(self.text(), file=self.stream, flush=True)

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
        elapsed = time.monotonic() - self.started
        plural = "" if self.counter.done == 1 else "s"
        print(f"livekey: compiled {self.counter.done} kernel{plural} in {elapsed:.0f} s", file=self.stream, flush=True)


def compile_kernels(settings: Settings, masks: MaskStack | None = None, *, outputs: tuple[str, ...] = ("composite",),
                    live: bool = False, stream: TextIO | None = None) -> bool:
    """Ready every kernel ``settings``, ``masks`` and ``outputs`` (see
    :func:`livekey.engine.keyer.warm_up`, and ``live`` there) use. Returns whether any had to compile (the line is
    shown only then). An interrupt
    while compiling (Ctrl-C, or SIGTERM where a handler raises KeyboardInterrupt; without one
    SIGTERM ends the process anyway) exits the process at once with status 130."""
    from livekey.engine import kernel_cache
    from livekey.engine.keyer import solves_edge, warm_up
    from livekey.masks import MaskStack, with_person
    from livekey.runtime.startup import start_up

    start_up()
    if solves_edge(settings, with_person(masks or MaskStack(), settings.person)):
        kernel_cache.compile_aside()  # the edge solve, half the compile, in a helper process
    counter = CompileCounter()
    failure: list[BaseException] = []

    def work() -> None:
        try:
            with event.install_listener("numba:compile", counter):
                warm_up(settings, masks, outputs, live)
        except BaseException as err:  # handed to the waiting thread, raised there
            failure.append(err)

    # Always on a thread, even when the cache looks warm: a kernel it lacks (a setting used for the
    # first time) compiles with the same line and the same prompt stop.
    thread = threading.Thread(target=work, name="livekey-compile", daemon=True)
    progress = Progress(counter, stream or sys.stderr)
    thread.start()
    try:
        while thread.is_alive():
            if counter.started:
                progress.tick()
            thread.join(TTY_EVERY)
    except KeyboardInterrupt:
        # Exit now: a normal exit waits a second or more for the compile thread (Numba holds the GIL in
        # between its calls into LLVM). Nothing is open for writing yet; the cache writes are atomic.
        kernel_cache.stop_aside()
        print("\nlivekey: interrupted while compiling; nothing was written", file=progress.stream, flush=True)
        sys.stdout.flush()
        os._exit(130)
    kernel_cache.stop_aside()  # a helper not waited for is not needed: end it
    if counter.started:
        progress.close()
    if failure:
        raise failure[0]
    kernel_cache.warm = True  # compiled by now, for whatever asks again
    return counter.started
