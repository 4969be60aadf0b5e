"""The status view of a matte, one definition for ``livekey key --status`` and the window's Status
view: solid foreground white, pure screen black, in between red (where the key is unsure: fine at
edges and hair, a problem inside the subject or on the screen)."""

from __future__ import annotations

import numpy as np

# Alpha at or below SCREEN_MAX is screen, at or above SOLID_MIN solid foreground: two levels of
# slack so sensor noise in a clean key does not light the whole frame up.
STATUS_SCREEN_MAX = 2
STATUS_SOLID_MIN = 253
STATUS_SOLID_BGR = (255, 255, 255)   # white
STATUS_SCREEN_BGR = (0, 0, 0)        # black
STATUS_BETWEEN_BGR = (0, 0, 220)     # red, as the README documents

_LUT = np.empty((256, 3), np.uint8)
_LUT[:] = STATUS_BETWEEN_BGR
_LUT[: STATUS_SCREEN_MAX + 1] = STATUS_SCREEN_BGR
_LUT[STATUS_SOLID_MIN:] = STATUS_SOLID_BGR


def status_view(alpha: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """(H, W) uint8 alpha -> (H, W, 3) BGR in the three flat colours (into ``out`` when given)."""
    if out is None:
        return _LUT[alpha]
    np.take(_LUT, alpha, axis=0, out=out)
    return out
