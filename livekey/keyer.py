"""The keyer: settings in, frames in, matte and composite out.

One small object with one obvious method: ``Keyer(settings).composite(frame, backdrop)``.
It owns the preallocated buffers, resolves the key colour (given, or detected from the first
frame), and keeps the per-pixel screen image the kernels key against (flat colour, or the
auto estimate refreshed every ``screen_refresh`` frames). Settings are swapped whole with
:meth:`update`, so a frame is always keyed with one consistent set.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from livekey import keying, masks, screen
from livekey.settings import Settings

# A spatial step on the matte between the key and the composite: called as
# ``stage(frame, alpha, fg)`` and changes ``alpha`` (H, W uint8) and/or ``fg`` (H, W, 3) in place.
MatteStage = Callable[[np.ndarray, np.ndarray, np.ndarray], None]
# The key colour used when the mask stack does not use the colour key (the matte comes from
# other layers); its matte is discarded, so it only has to be valid.
NO_SCREEN_KEY = (48, 177, 62)


def matte_stages(settings: Settings, keyer: Keyer) -> list[MatteStage]:
    """The spatial steps the settings ask for, in order. With none, the keyer uses the fused
    one-pass kernel; with any, it keys to a matte, runs them, then composites.

    Matte operations (livekey.matte) and the mask stack (livekey.masks) add their steps here.
    """
    stages: list[MatteStage] = []
    if keyer.masks.active:
        stages.append(masks.MaskStage(keyer.masks))
    return stages


class Keyer:
    """Keys BGR uint8 frames. Not thread-safe: one thread calls the keying methods;
    :meth:`update` may be called from any thread."""

    def __init__(self, settings: Settings | None = None, screen_refresh: int = 15,
                 mask_stack: masks.MaskStack | None = None) -> None:
        self._pending: Settings | None = settings or Settings()
        self.masks = mask_stack or masks.MaskStack()
        self._pending_masks: masks.MaskStack | None = None
        self.settings = self._pending
        self.screen_refresh = max(1, screen_refresh)
        self.key_bgr: tuple[int, int, int] | None = None
        self._params: np.ndarray | None = None
        self._screen: np.ndarray | None = None
        self._frames_since_screen = 0
        self._alpha: np.ndarray | None = None
        self._out: np.ndarray | None = None
        self._fg: np.ndarray | None = None
        self.stages: list[MatteStage] = []

    def update(self, settings: Settings) -> None:
        """Use ``settings`` from the next frame on (a reference swap, safe from any thread)."""
        self._pending = settings

    def update_masks(self, stack: masks.MaskStack) -> None:
        """Use the mask ``stack`` from the next frame on (a reference swap, safe from any thread)."""
        self._pending_masks = stack

    def _prepare(self, frame: np.ndarray) -> None:
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected a BGR uint8 frame (H, W, 3), got {frame.dtype} {frame.shape}")
        pending, self._pending = self._pending, None
        pending_masks, self._pending_masks = self._pending_masks, None
        if pending_masks is not None:
            if pending_masks.uses_key != self.masks.uses_key:
                self.key_bgr = None  # resolve the key colour again (detect, or the no-screen one)
            self.masks = pending_masks
            self.stages = matte_stages(self.settings, self)
        h, w = frame.shape[:2]
        size_changed = self._alpha is None or self._alpha.shape != (h, w)
        if size_changed:
            self._alpha = np.empty((h, w), np.uint8)
            self._out = np.empty((h, w, 3), np.uint8)
            self._fg = np.empty((h, w, 3), np.uint8)
        if pending is not None:
            self.settings = pending
        if pending is not None or self.key_bgr is None:
            explicit = self.settings.key_bgr()
            if explicit is not None:
                self.key_bgr = explicit
            elif not self.masks.uses_key:  # no screen in the picture: any key colour will do
                self.key_bgr = NO_SCREEN_KEY
            elif self.key_bgr is None or (pending is not None and pending.key_color != "auto"):
                self.key_bgr = screen.detect_key_color(frame)
            self._params = keying.param_vector(self.settings, self.key_bgr)
            self.stages = matte_stages(self.settings, self)
            self._screen_stale = True
        if size_changed:
            self._screen_stale = True
        if self.settings.screen_model == "auto":
            self._frames_since_screen += 1
            if self._screen_stale or self._frames_since_screen >= self.screen_refresh:
                tolerance = min(45.0, self.settings.hue_width / 2 + 5)
                self._screen = screen.estimate_screen(frame, self.key_bgr, tolerance, out=self._screen)
                self._frames_since_screen = 0
        elif self._screen_stale:
            self._screen = keying.flat_screen(self.key_bgr, h, w, out=self._screen)
        self._screen_stale = False

    @property
    def screen(self) -> np.ndarray | None:
        """The per-pixel screen image the last frame was keyed against."""
        return self._screen

    def composite(self, frame: np.ndarray, backdrop: np.ndarray,
                  out: np.ndarray | None = None, alpha_out: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
        """Key ``frame`` and blend it over ``backdrop`` (same size). Returns (alpha, composite).

        Without ``out``/``alpha_out`` the results live in the keyer's own buffers and are
        overwritten by the next call.
        """
        self._prepare(frame)
        alpha = self._alpha if alpha_out is None else alpha_out
        out = self._out if out is None else out
        if not self.stages:
            keying.key_composite(frame, self._screen, backdrop, self._params, alpha, out)
            return alpha, out
        keying.key_frame(frame, self._screen, self._params, alpha, self._fg)
        for stage in self.stages:
            stage(frame, alpha, self._fg)
        keying.composite(self._fg, alpha, backdrop, out)
        return alpha, out

    def matte(self, frame: np.ndarray, alpha_out: np.ndarray | None = None,
              fg_out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Key ``frame`` into (alpha (H, W), despilled straight-alpha foreground (H, W, 3))."""
        self._prepare(frame)
        alpha = self._alpha if alpha_out is None else alpha_out
        fg = self._fg if fg_out is None else fg_out
        keying.key_frame(frame, self._screen, self._params, alpha, fg)
        for stage in self.stages:
            stage(frame, alpha, fg)
        return alpha, fg

    def rgba(self, frame: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Key ``frame`` into a straight-alpha BGRA image (H, W, 4)."""
        if out is None:
            out = np.empty(frame.shape[:2] + (4,), np.uint8)
        self._prepare(frame)
        if not self.stages:
            keying.key_rgba(frame, self._screen, self._params, out)
            return out
        alpha, fg = self.matte(frame)
        out[..., :3] = fg
        out[..., 3] = alpha
        return out
