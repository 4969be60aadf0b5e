"""The threading layer livekey starts with: which one, and that keying from two threads at once is
safe on it (the pipeline keys on one thread; the render batch, the window's calibration and a user's
own code may not)."""

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


def test_two_threads_key_at_once_on_the_layer_livekey_starts_with():
    done = subprocess.run([sys.executable, "-c", _TWO_THREADS], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]  # the workqueue layer aborts the process here
    layer, same = done.stdout.split()
    assert layer in ("tbb", "omp") and same == "True", done.stdout
