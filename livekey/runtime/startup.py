"""Start-up, explicit: what a process does once before its first frame, in this order.

1. **Threads** (:func:`set_thread_policy`): OpenMP workers spin for a while after each parallel
   region by default; on 2 cores that spinning steals the time the encoder and capture threads
   need, so they are told to sleep (``OMP_WAIT_POLICY=PASSIVE``, unless the user set it). Read when
   the OpenMP runtime loads, at the first parallel kernel, so this must come before any kernel.
   Numba's threading layer is OpenMP (``omp``) unless the user set ``NUMBA_THREADING_LAYER``.
   ``workqueue`` kept the default path's median nearest its own quiet one beside busy processes
   (1.38x beside one against OpenMP's 1.61x), but its quiet median is 1.5x OpenMP's (1080p: 7.7-10.1
   against 6.3-6.8 ms) and beside one busy process the two were level (16.3-19.1 against
   16.5-18.3 ms): in absolute time OpenMP is never the slower (docs/performance.md). The keyer
   serialises its callers (``livekey.engine.keyer``) all the same: workqueue, which a user may
   choose, aborts when two threads enter parallel code at once.
2. **Kernel cache** (:func:`livekey.engine.kernel_cache.check`): drop the cached kernels when the
   package's source changed since they were cached (Numba checks only each kernel's own file).
3. **Warm-up** (:func:`warm_up`): compile, or load from the cache, every kernel the settings and
   masks use, by keying a small drawn frame, so the first camera frame does not wait.

Nothing here runs at import. The command line calls :func:`start_up` before it keys anything, the
window before it shows, and :meth:`Pipeline.start <livekey.runtime.pipeline.Pipeline.start>` calls
:func:`warm_up`; each step runs once per process however often it is asked for.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from livekey.engine import kernel_cache

if TYPE_CHECKING:
    from livekey.config.settings import Settings
    from livekey.masks import MaskStack


def set_thread_policy() -> None:
    """Numba's threading layer and OpenMP's waiting, before the first parallel kernel; a value the
    user set in the environment is kept. Idle OpenMP workers sleep instead of spinning (with the omp
    layer); with the tbb layer asked for, the tbb wheel's library is made loadable."""
    import numba

    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    layer = os.environ.get("NUMBA_THREADING_LAYER", "").lower()
    if not layer:
        numba.config.THREADING_LAYER = THREADING_LAYER
    elif layer == "tbb":
        load_tbb()


# The layer livekey runs its parallel kernels on (see the module's docstring).
THREADING_LAYER = "omp"
_tbb_loaded = False


def load_tbb() -> bool:
    """Load libtbb from ``sys.prefix/lib`` (where the tbb wheel puts it, off the loader's path in a
    virtual environment), once; True if it is loaded."""
    global _tbb_loaded
    if not _tbb_loaded:
        lib = Path(sys.prefix) / "lib" / "libtbb.so.12"
        if lib.exists():
            try:
                ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
                _tbb_loaded = True
            except OSError:
                pass  # another build of it: Numba says so when the layer is asked for
    return _tbb_loaded


def start_up() -> bool:
    """Steps 1 and 2: the thread policy, then the kernel cache check. Returns whether the kernels
    were found cached for this source (if not, the first frame waits for the compiler)."""
    set_thread_policy()
    return kernel_cache.check()


def warm_up(settings: Settings, masks: MaskStack | None = None,
            outputs: tuple[str, ...] = ("composite", "rgba"), live: bool = False) -> None:
    """Step 3 (after 1 and 2, if not done yet): ready every kernel ``settings`` and ``masks`` use
    for ``outputs`` (see :func:`livekey.engine.keyer.warm_up`, and ``live`` there)."""
    from livekey.engine.keyer import warm_up as warm_up_keyer

    start_up()
    warm_up_keyer(settings, masks, outputs, live)
