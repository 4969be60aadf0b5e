"""What the next/previous hotkeys step through: the backdrop list and the profiles on disk."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def step(items: Sequence[T], current: T | None, by: int) -> T | None:
    """The item ``by`` places after ``current`` (before, when negative), wrapping around; the first
    (or the last, stepping back) when ``current`` is not in ``items``; None for no items."""
    if not items:
        return None
    if current not in items:
        return items[0] if by > 0 else items[-1]
    return items[(list(items).index(current) + by) % len(items)]


def profile_paths(folders: Iterable[Path]) -> list[Path]:
    """The ``*.toml`` profiles in ``folders`` (missing folders skipped), each once, in name order
    within each folder."""
    seen: dict[Path, Path] = {}
    for folder in folders:
        if Path(folder).is_dir():
            for path in sorted(Path(folder).glob("*.toml")):
                seen.setdefault(path.resolve(), path)
    return list(seen.values())
