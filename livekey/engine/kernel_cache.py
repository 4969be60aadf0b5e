"""Numba's on-disk kernel cache, kept in step with livekey's source.

Numba keys a cached kernel on its own source file only. A kernel in ``matte.py`` that inlines a
helper from ``keying.py`` (or reads one of its constants) is loaded from the cache unchanged after
``keying.py`` changes, and goes on computing with the old helper: after a ``git pull`` on an
editable install, the edge solve despilled with a parameter layout that no longer existed (703
pixels of a 320 x 180 frame up to 35 levels off). So a digest of the package's source is kept
beside the cache; when it differs, the package's cached kernels are deleted and compile again
(a few seconds, once). The digest covers the modules that define kernels (the only code a kernel
can read or inline: a test checks that kernels read nothing from any other livekey module), so an
edit to the window, the pipeline or the command line leaves the cache alone.

A first run compiles its kernels one after another, on one core. The edge solve's kernel alone is
about half of that (18 of 34 s for ``livekey key`` on 2 cores), and its argument types do not
depend on the settings, so :func:`compile_aside` has a helper process compile it into the cache
while this one compiles the rest; before its first solve this process waits for the helper
(:func:`wait_for_aside`) and loads the solve from the cache.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
STAMP = "livekey-source.sha256"
# One ``cache=True`` kernel of each folder that has kernels (Numba caches per source folder); the
# first one's being cached decides :data:`warm`: the edge solve, the longest to compile by far.
KERNEL_FOLDERS = (("livekey.engine.matte", "_solve_blocks"), ("livekey.masks.diff", "_diff_row"))
# A module defines kernels when a line of its source starts with this: only those are digested.
KERNEL_MARK = re.compile(rb"^@numba\.njit", re.MULTILINE)
# Whether this process found the edge solve cached for this source (set by :func:`keep_in_step`):
# if not, the first frame waits for the compiler (20-40 s on 2 cores for what ``livekey run`` uses).
warm = False


def kernel_modules(package: Path = PACKAGE) -> list[Path]:
    """The package's modules that define Numba kernels (:data:`KERNEL_MARK`), sorted."""
    return [path for path in sorted(package.rglob("*.py")) if KERNEL_MARK.search(path.read_bytes())]


def source_digest(package: Path = PACKAGE) -> str:
    """SHA-256 over the relative paths and contents of the package's kernel modules
    (:func:`kernel_modules`: the kernels' sources and whatever they inline)."""
    digest = hashlib.sha256()
    for path in kernel_modules(package):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def purge_stale(cache_dir: Path, digest: str, modules: Iterable[str]) -> int:
    """Delete the cached kernels (``MODULE.*.nbi`` / ``.nbc``) of ``modules`` in ``cache_dir`` unless
    the stamp there records ``digest``, then record it. Returns how many files were deleted."""
    stamp = cache_dir / STAMP
    try:
        if stamp.read_text() == digest:
            return 0
    except OSError:
        pass  # no stamp yet: whatever is cached may be from any version
    removed = 0
    for module in modules:
        for path in cache_dir.glob(f"{module}.*.nb[ic]"):
            try:
                path.unlink()
                removed += 1
            except OSError:
                pass  # another process got there first
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest)
    except OSError:
        pass  # a read-only cache: Numba cannot write there either
    return removed


def keep_in_step(kernel, sets_warm: bool = True) -> int:
    """Purge the cached kernels of ``kernel``'s folder from the directory Numba chose for it (any
    ``cache=True`` livekey kernel of that folder: they all share it) if the package's source changed
    since they were cached. Call before any kernel of that folder runs; Numba caches per source
    folder, so each subpackage with kernels (engine, masks) calls it once. ``sets_warm``: whether this
    kernel's being cached decides :data:`warm` (the edge solve's does). Returns how many files were
    deleted."""
    global warm
    cache_path = getattr(getattr(kernel, "_cache", None), "cache_path", None)
    if cache_path is None:  # Numba's JIT disabled, or no cache
        return 0
    source = Path(kernel.py_func.__code__.co_filename)
    modules = [path.stem for path in source.parent.glob("*.py")]
    removed = purge_stale(Path(cache_path), source_digest(), modules)
    if sets_warm:
        warm = removed == 0 and any(Path(cache_path).glob(f"{source.stem}.{kernel.py_func.__name__}-*.nbi"))
    return removed


_checked = False


def check() -> bool:
    """Keep every kernel folder's cache in step with the source (:func:`keep_in_step`), once per
    process, before any kernel runs. Returns :data:`warm`."""
    global _checked
    if not _checked:
        for i, (module, name) in enumerate(KERNEL_FOLDERS):
            keep_in_step(getattr(importlib.import_module(module), name), sets_warm=i == 0)
        _checked = True
    return warm


# What the helper process compiles (``module:function``), and how long it may take before this
# process gives up on it and compiles the solve itself (s; about 20 s on an idle 2-core machine).
ASIDE = "livekey.engine.matte:compile_solve"
ASIDE_TIMEOUT = 300.0
_aside: subprocess.Popen | None = None


def spare_cores() -> int:
    """The cores this process may run on, less the one it compiles on."""
    return len(os.sched_getaffinity(0)) - 1 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) - 1


def compile_aside() -> bool:
    """Start a helper process compiling :data:`ASIDE` into the cache, when the edge solve is not
    cached (:data:`warm`, after :func:`check`) and a core is spare. Returns whether one started."""
    global _aside
    if warm or _aside is not None or spare_cores() < 1:
        return False
    module, function = ASIDE.split(":")
    _aside = subprocess.Popen([sys.executable, "-c", f"import {module} as m; m.{function}()"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return True


def wait_for_aside() -> None:
    """Wait for the helper (if one runs) to finish, so the solve loads from the cache; a helper that
    failed or took over :data:`ASIDE_TIMEOUT` is ended and the solve compiles here as usual."""
    global _aside
    if _aside is None:
        return
    try:
        _aside.wait(ASIDE_TIMEOUT)
    except subprocess.TimeoutExpired:
        stop_aside()
    _aside = None


def stop_aside() -> None:
    """End the helper if it still runs (an interrupted or finished compile); Numba's cache writes are
    atomic, so it leaves nothing half written."""
    global _aside
    if _aside is not None:
        if _aside.poll() is None:
            _aside.kill()
        _aside.wait()
        _aside = None
