"""The threading layer livekey starts with: which one, and that keying from two threads at once is
safe on it (the pipeline keys on one thread; the render batch, the window's calibration and a user's
own code may not)."""

import os
import subprocess
import sys

_TWO_THREADS = """
import threading, numpy as np, numba
from livekey.runtime.startup import start_up
start_up()
from livekey.engine.keyer import Keyer
from livekey.media import synthetic
frames = [synthetic.scene(name, 192, 108).image for name in ("portrait", "blond")]
back = synthetic.backdrop(192, 108)
def key(frame, n):
    k = Keyer()
    return [k.composite(frame, back)[1].copy() for _ in range(n)]
alone = [key(f, 12) for f in frames]
together = [None, None]
def run(i):
    together[i] = key(frames[i], 12)
threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
for t in threads: t.start()
for t in threads: t.join()
same = all(np.array_equal(a, b) for i in range(2) for a, b in zip(alone[i], together[i]))
print(numba.threading_layer(), same)
"""


def _two_threads(env: dict | None = None) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _TWO_THREADS], capture_output=True, text=True, timeout=600,
                          env=env)
    # Two threads in the workqueue layer's parallel code at once abort the process (SIGABRT).
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_two_threads_key_at_once_on_the_layer_livekey_starts_with():
    """livekey's layer is OpenMP (never slower in absolute time, see livekey.runtime.startup); two
    threads keying at once take turns, and key exactly as alone."""
    assert _two_threads() == ["omp", "True"]


def test_a_layer_the_user_sets_is_kept_and_is_safe_from_two_threads():
    """workqueue, chosen by the user, aborts on two threads in parallel code at once: the keyer's
    turns keep it safe."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_THREADING")}
    assert _two_threads({**env, "NUMBA_THREADING_LAYER": "workqueue"}) == ["workqueue", "True"]


def test_without_taking_turns_workqueue_aborts():
    """What the keyer's lock prevents (so the test above can fail): two threads in parallel kernels
    at once on the workqueue layer."""
    code = _TWO_THREADS.replace("start_up()", "start_up()\nimport livekey.engine.keyer as kr\n"
                                "kr.PARALLEL = __import__('contextlib').nullcontext()")
    code = code.replace("same = all", "import sys; sys.exit(0)\nsame = all")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_THREADING")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                          env={**env, "NUMBA_THREADING_LAYER": "workqueue"})
    assert done.returncode != 0 and "workqueue" in done.stderr.lower(), (done.returncode, done.stderr[-500:])
