"""A batch on a Ray cluster: one task per clip through Ray's own API (``ray.init``, ``ray.remote``).

Each task renders one clip whole (temporal state runs through it) with the same
:func:`~livekey.render.job.render_clip` a local batch uses; inputs and outputs are paths every
node can read and write (shared storage), so nothing but the spec and the result crosses the
network. Ray schedules the tasks over the cluster's CPUs (one CPU per task) and runs a task
again on another node when its node dies. See docs/render.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from livekey.errors import LivekeyError
from livekey.render.job import RenderResult, RenderSpec, render_clip
from livekey.render.progress import summary

INSTALL = "pip install 'livekey[cluster]'"


def _task(spec: RenderSpec, threads: int) -> tuple[RenderResult, list[str]]:
    """Render one clip on a Ray worker; its messages come back with the result."""
    import numba

    from livekey.runtime.startup import start_up

    start_up()  # the thread policy before Numba's threads start
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
    notes: list[str] = []
    try:
        result = render_clip(spec, say=notes.append)
    except LivekeyError as err:
        result = RenderResult(spec.input, spec.output, "failed", message=str(err))
    except Exception as err:  # this clip fails, the batch goes on
        result = RenderResult(spec.input, spec.output, "failed", message=f"{type(err).__name__}: {err}")
    return result, notes


def connect(address: str):
    """Ray, connected: the running instance if this process has one, else the cluster at ``address``
    (``ray`` = the cluster this machine belongs to, ``ray://HOST:PORT`` = a remote one)."""
    if address != "ray" and not address.startswith("ray://"):
        raise LivekeyError(f"--cluster {address!r}: give ray (the local cluster) or ray://HOST:PORT")
    try:
        import ray
    except ImportError:
        raise LivekeyError(f"--cluster needs Ray, which is not installed: {INSTALL}") from None
    if not ray.is_initialized():
        try:
            ray.init(address="auto" if address == "ray" else address, logging_level="WARNING")
        except (ConnectionError, RuntimeError, ValueError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise LivekeyError(f"cannot reach the Ray cluster at {address} ({first}); start one with "
                               f"`ray start --head`, or give ray://HOST:PORT") from None
    return ray


def render_on_ray(specs: list[RenderSpec], address: str, quiet: bool = False) -> list[RenderResult]:
    """Submit one task per clip; print each clip's line as it ends, then the total."""
    from livekey.render.command import print_result

    ray = connect(address)
    task = ray.remote(num_cpus=1)(_task)
    started = time.monotonic()
    refs = {task.remote(spec, 1): i for i, spec in enumerate(specs)}
    results: list[RenderResult | None] = [None] * len(specs)
    pending = list(refs)
    if not quiet:
        print(f"livekey: {len(specs)} clips submitted to Ray ({address})", file=sys.stderr, flush=True)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        i = refs[done[0]]
        try:
            result, notes = ray.get(done[0])
        except ray.exceptions.RayError as err:
            spec = specs[i]
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            result, notes = RenderResult(spec.input, spec.output, "failed", message=f"{spec.input}: {first}"), []
        for note in notes:
            print(f"livekey: {note}", file=sys.stderr)
        results[i] = result
        print_result(result)
    finished = [r for r in results if r is not None]
    failed = sum(not r.ok for r in finished)
    frames = sum(r.frames for r in finished)
    print(f"livekey: {len(specs)} clips on Ray: {len(specs) - failed} done, {failed} not; "
          f"{summary(frames, time.monotonic() - started)} ({', '.join(Path(s.input).name for s in specs[:3])}"
          f"{' ...' if len(specs) > 3 else ''})", file=sys.stderr, flush=True)
    return finished
