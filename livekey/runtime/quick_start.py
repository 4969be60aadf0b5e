"""Quick start: on a first run, live frames go out through the plain path while the full one compiles.

A first ``livekey run`` (after an install or an update) would wait half a minute or more for the
compiler before its first frame. Instead it compiles only the plain path's kernels (the one-pass
key and composite against one flat key colour: a few seconds), starts, and a child process compiles
the kernels the real settings use into Numba's on-disk cache, at a lower priority so the live frames
keep their CPU. When the child is done the pipeline switches to the real settings; that frame loads
the kernels from the cache (about a second, once). A child that fails leaves the plain path on, and
says so. Run as ``python -m livekey.runtime.quick_start OUTPUT...`` with the pickled settings on
standard input, it is that child.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from livekey.config.settings import Settings

# What the plain path turns off: every stage after the one-pass kernel, and the screen estimate.
PLAIN = dict(refine=False, edge_color=False, screen_model="flat", plate="", temporal=0.0, light_wrap=0.0,
             clip_black=0.0, clip_white=1.0, grow=0.0, fill_holes=0, soften=0.0)
# The child's niceness: the live frames come first.
NICE = 10


def plain(settings: Settings) -> Settings:
    """``settings`` with everything but the one-pass key and composite off (:data:`PLAIN`)."""
    return settings.replace(**PLAIN)


class BackgroundCompile:
    """The child process compiling ``settings``' kernels for ``outputs``; ``on_done(ok, seconds)`` is
    called on a watcher thread when it ends (not after :meth:`stop`)."""

    def __init__(self, settings: Settings, outputs: tuple[str, ...], on_done: Callable[[bool, float], None]) -> None:
        self.started = time.monotonic()
        self._stopped = False
        self._proc = subprocess.Popen([sys.executable, "-m", "livekey.runtime.quick_start", *outputs],
                                      stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._proc.stdin.write(pickle.dumps(settings))
        self._proc.stdin.close()
        self._on_done = on_done
        self._watcher = threading.Thread(target=self._watch, name="livekey-compile-watch", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        self._proc.stderr.read()  # drained, or a chatty child would block on a full pipe
        ok = self._proc.wait() == 0
        if not self._stopped:
            self._on_done(ok, time.monotonic() - self.started)

    @property
    def running(self) -> bool:
        return self._proc.poll() is None

    def stop(self) -> None:
        """End the child (the run is over before it was done); its cache writes are atomic."""
        self._stopped = True
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()


def _child(outputs: list[str]) -> int:
    from livekey.runtime.startup import warm_up

    os.nice(NICE)
    settings = pickle.loads(sys.stdin.buffer.read())
    warm_up(settings, None, tuple(outputs), live=True)
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1:]))
