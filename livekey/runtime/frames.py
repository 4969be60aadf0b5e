"""What the pipeline hands on: one processed frame (:class:`Output`) and the pool its arrays come
from. A leaf module (NumPy only), so sinks, the window and the pipeline all import it and none of
them imports another for it."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from livekey.config.settings import Settings


@dataclass(frozen=True)
class Output:
    """One processed frame, handed to sinks and subscribers. The receivers own the arrays while they
    hold a reference to them (the Output, an array, a view); the pipeline reuses them after."""

    index: int  # frame number from the source, from 0
    captured_at: float  # time.monotonic() when the source delivered the frame, seconds
    raw: np.ndarray  # (H, W, 3) BGR uint8 camera frame
    alpha: np.ndarray  # (H, W) uint8 matte, 255 = foreground
    composite: np.ndarray  # (H, W, 3) BGR uint8, or (H, W, 4) straight-alpha BGRA when transparent
    settings: Settings | None = None  # the settings this frame was keyed with


class FramePool:
    """Output arrays handed out again once no receiver holds them, so a running pipeline stops
    allocating after its first few frames.

    Receivers own an Output's arrays for as long as they keep a reference (a queued frame, the
    preview's current image, a view of it); CPython's reference count says when none is left. When
    every array of a shape is still held, a new one is made, up to ``limit`` per pool; past that
    (a receiver keeping every frame) arrays are made and not kept, as without a pool.
    """

    def __init__(self, limit: int = 64) -> None:
        self.limit = limit
        self._arrays: list[np.ndarray] = []
        self.made = 0  # arrays allocated, for tests and stats
        # What the count reads for an array nobody else holds (the list, and the expression's own
        # reference): measured, as interpreters differ in what they count.
        probe = [np.empty(1, np.uint8)]
        self._free = sys.getrefcount(probe[0])

    def _held(self, i: int) -> bool:
        return sys.getrefcount(self._arrays[i]) > self._free

    def take(self, shape: tuple[int, ...]) -> np.ndarray:
        """A uint8 array of ``shape`` that nobody else references (contents undefined)."""
        arrays = self._arrays
        for i in range(len(arrays)):
            if arrays[i].shape == shape and not self._held(i):
                return arrays[i]
        # Arrays of another size (the source changed mode) are dropped once free.
        self._arrays = [arrays[i] for i in range(len(arrays)) if arrays[i].shape == shape or self._held(i)]
        array = np.empty(shape, np.uint8)
        self.made += 1
        if len(self._arrays) < self.limit:
            self._arrays.append(array)
        return array
