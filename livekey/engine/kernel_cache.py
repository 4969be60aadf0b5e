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
"""

from __future__ import annotations

import hashlib
import importlib
import re
from collections.abc import Iterable
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
STAMP = "livekey-source.sha256"
# One ``cache=True`` kernel of each folder that has kernels (Numba caches per source folder).
KERNEL_FOLDERS = (("livekey.engine.keying", "key_frame"), ("livekey.masks.diff", "_diff_row"))
# A module defines kernels when a line of its source starts with this: only those are digested.
KERNEL_MARK = re.compile(rb"^@numba\.njit", re.MULTILINE)
# Whether this process found the kernels cached for this source (set by :func:`keep_in_step`):
# if not, the first frame waits for the compiler (about 20 s for everything ``livekey run`` uses).
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
    kernel's being cached decides :data:`warm` (the keying kernel does). Returns how many files were
    deleted."""
    global warm
    cache_path = getattr(getattr(kernel, "_cache", None), "cache_path", None)
    if cache_path is None:  # Numba's JIT disabled, or no cache
        return 0
    source = Path(kernel.py_func.__code__.co_filename)
    modules = [path.stem for path in source.parent.glob("*.py")]
    removed = purge_stale(Path(cache_path), source_digest(), modules)
    if sets_warm:
        warm = removed == 0 and any(Path(cache_path).glob(f"{source.stem}.*.nbi"))
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
