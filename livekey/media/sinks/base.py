"""Where composites go: the :class:`Sink` base class and the registry of sink types.

A sink is written from its own thread (see :mod:`livekey.runtime.pipeline`), so a slow encoder
never stalls capture, and pyvirtualcam's ``send`` (which holds the GIL) is only ever called from
one thread. ``queue_frames`` says how many frames a sink may fall behind before the oldest is
dropped: 1 for the virtual camera (only the newest matters), about a second for the recorder
(every frame matters, a hiccup is absorbed).

Each sink type is one class in one module of this folder, registered in :data:`SINKS`; the
command line's flags (:meth:`Sink.add_arguments`) and the outputs it and the window open
(:func:`open_sink`, :func:`open_sinks`) come from the registry.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, ClassVar

import cv2
import numpy as np

from livekey.errors import LivekeyError

if TYPE_CHECKING:
    import argparse

    from livekey.runtime.frames import Output


class Sink:
    """One output. Subclasses set the class attributes and implement :meth:`open`, :meth:`write`
    and :meth:`close`; a sink is also a context manager that closes it."""

    kind: ClassVar[str]  # registry key
    name: ClassVar[str]  # what messages call it
    queue_frames: ClassVar[int] = 1
    # True: the command line warns and goes on when it cannot open (a missing loopback driver);
    # False: it is an error (a recording asked for must be made).
    optional: ClassVar[bool] = False
    info: str = ""  # what it writes to, for the start-up line

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add the command-line flags that ask for this sink."""

    @classmethod
    def target(cls, args: argparse.Namespace) -> str | None:
        """What the parsed flags ask to write to (a path, a device), or None when not asked for."""
        return None

    @classmethod
    def asked(cls, args: argparse.Namespace) -> bool:
        """Whether the parsed flags ask for this sink."""
        return cls.target(args) is not None

    @classmethod
    def open(cls, target: str | None, width: int, height: int, fps: float, alpha: bool) -> Sink:
        """Open it for frames of ``width`` x ``height`` at ``fps``; ``alpha``: the composite is BGRA."""
        raise NotImplementedError

    def write(self, output: Output) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def summary(self) -> str | None:
        """A line for the end of a run (what was written), or None."""
        return None

    def __enter__(self) -> Sink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


SINKS: dict[str, type[Sink]] = {}


def register(cls: type[Sink]) -> type[Sink]:
    """Class decorator: add a sink type to :data:`SINKS` under its kind."""
    if cls.kind in SINKS:
        raise ValueError(f"sink type {cls.kind!r} is registered twice")
    SINKS[cls.kind] = cls
    return cls


def open_sink(kind: str, target: str | None, width: int, height: int, fps: float, alpha: bool = False) -> Sink:
    """Open a sink of the registered ``kind`` (a LivekeyError when it cannot)."""
    return SINKS[kind].open(target, width, height, fps, alpha)


def open_sinks(args: argparse.Namespace, width: int, height: int, fps: float, alpha: bool) -> list[Sink]:
    """Every sink the parsed flags ask for, in registry order. An optional one that cannot open is
    a one-line warning; any other failure closes those already open and raises."""
    sinks: list[Sink] = []
    try:
        for cls in SINKS.values():
            if not cls.asked(args):
                continue
            try:
                sinks.append(cls.open(cls.target(args), width, height, fps, alpha))
            except LivekeyError as err:
                if not cls.optional:
                    raise
                print(f"livekey: warning: {err}; going on without it", file=sys.stderr)
    except BaseException:
        close_all(sinks)
        raise
    return sinks


def close_all(sinks: Iterable[Sink]) -> None:
    for sink in sinks:
        sink.close()


def flatten(composite: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """A BGRA composite over black (for outputs that cannot carry alpha)."""
    if composite.shape[2] == 3:
        return composite
    a = cv2.merge((alpha, alpha, alpha))
    return cv2.multiply(composite[..., :3], a, scale=1 / 255)
