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

from livekey import masks
from livekey.config.settings import Settings
from livekey.engine import kernel_cache, keying, light_wrap, matte, screen
from livekey.errors import LivekeyError

# A spatial step on the matte between the key and the composite: called as
# ``stage(frame, alpha, fg)`` and changes ``alpha`` (H, W uint8) and/or ``fg`` (H, W, 3) in place.
MatteStage = Callable[[np.ndarray, np.ndarray, np.ndarray], None]
# The key colour used when the mask stack does not use the colour key (the matte comes from
# other layers); its matte is discarded, so it only has to be valid.
NO_SCREEN_KEY = (48, 177, 62)


class SolveStage:
    """The edge solve (:class:`livekey.matte.EdgeSolver`) as a matte stage, keyed against the
    keyer's screen with its parameters. Alone, it can also solve the key's composite in place
    (:meth:`composite`): the same picture, without a separate compositing pass."""

    def __init__(self, solver: matte.EdgeSolver, keyer: Keyer) -> None:
        self.solver, self.keyer = solver, keyer

    def __call__(self, frame: np.ndarray, alpha: np.ndarray, fg: np.ndarray) -> None:
        self.solver(frame, self.keyer.screen, alpha, fg, self.keyer.params)

    def composite(self, frame: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray, out: np.ndarray) -> None:
        """Solve ``alpha`` and the key's composite ``out`` over ``backdrop`` in place."""
        self.solver(frame, self.keyer.screen, alpha, out, self.keyer.params, backdrop)


def matte_stages(settings: Settings, keyer: Keyer) -> list[MatteStage]:
    """The spatial steps the settings ask for, in order. With none, the keyer uses the fused
    one-pass kernel; with any, it keys to a matte, runs them, then composites.

    Matte operations (livekey.matte) and the mask stack (livekey.masks) add their steps here.
    """
    stages: list[MatteStage] = []
    if keyer.masks.active:
        stages.append(masks.MaskStage(keyer.masks))
    return stages + _matte_operations(settings, keyer)


def _matte_operations(settings: Settings, keyer: Keyer) -> list[MatteStage]:
    """The ``matte`` settings group as stages: refine the edge band (alpha, and its colour from
    the solid foreground with ``edge_color``), stabilise, clip, grow, fill, soften; after any of
    those the colour is recovered for the changed matte and (``edge_color``) taken again from the
    solid foreground."""
    stages: list[MatteStage] = []
    work: dict[str, np.ndarray] = {}

    def scratch(alpha: np.ndarray) -> np.ndarray:
        if work.get("a") is None or work["a"].shape != alpha.shape:
            work["a"] = np.empty_like(alpha)
        return work["a"]

    # The solve keys against the screen: without a colour key in the stack there is none.
    refine = settings.refine and keyer.masks.uses_key
    later = (settings.temporal > 0 or settings.clip_black > 0 or settings.clip_white < 1
             or settings.grow or settings.fill_holes or settings.soften)
    if refine or (settings.edge_color and not later):
        keep_shadow = keyer.uses_plate and settings.shadow == "keep"
        # Strands are sought only in a matte the key alone made: a pixel a mask took out is no screen.
        stages.append(SolveStage(matte.EdgeSolver(solve=refine,
                                                    recolour=settings.edge_color and not later,
                                                    radius=settings.refine_radius,
                                                    restore=settings.chroma_detail,
                                                    shadow=None if keep_shadow else matte.SHADOW,
                                                    strands=settings.strands and not keyer.masks.active,
                                                    screen_shift=settings.screen_model != "flat"), keyer))
    if settings.temporal > 0:
        stabilizer = matte.Stabilizer(settings.temporal)
        stages.append(lambda frame, alpha, fg: stabilizer(frame, alpha))
    if settings.clip_black > 0 or settings.clip_white < 1:
        table = matte.levels_table(settings.clip_black, settings.clip_white)
        stages.append(lambda frame, alpha, fg: matte.clip_levels(alpha, table))
    if settings.grow:
        stages.append(lambda frame, alpha, fg: matte.grow(alpha, settings.grow, scratch(alpha)))
    if settings.fill_holes:
        stages.append(lambda frame, alpha, fg: matte.fill_holes(alpha, settings.fill_holes, scratch(alpha)))
    if settings.soften:
        stages.append(lambda frame, alpha, fg: matte.soften(alpha, settings.soften))
    if later:
        stages.append(lambda frame, alpha, fg: keying.recover_foreground(frame, keyer.screen, alpha,
                                                                         keyer.params, fg))
        if settings.edge_color:
            stages.append(SolveStage(matte.EdgeSolver(solve=False, recolour=True,
                                                      radius=settings.refine_radius), keyer))
    return stages


# An auto-detected key colour is measured again this many frames after the first and the median
# of all measurements kept: a camera's exposure and white balance settle over the first seconds,
# and a first frame mostly filled by the subject is outvoted.
AUTO_KEY_REMEASURE = (5, 15, 30, 45, 60, 90)


class Keyer:
    """Keys BGR uint8 frames. Not thread-safe: one thread calls the keying methods;
    :meth:`update` may be called from any thread."""

    def __init__(self, settings: Settings | None = None, screen_refresh: int = 8,
                 mask_stack: masks.MaskStack | None = None) -> None:
        kernel_cache.check()  # before this process's first kernel (once; see livekey.runtime.startup)
        self._pending: Settings | None = settings or Settings()
        self.masks = mask_stack or masks.MaskStack()
        self._pending_masks: masks.MaskStack | None = None
        self.settings = self._pending
        self.screen_refresh = max(1, screen_refresh)
        self.key_bgr: tuple[int, int, int] | None = None
        self._params: np.ndarray | None = None
        self._wrap: light_wrap.LightWrap | None = None
        self._screen: np.ndarray | None = None
        self._coarse: np.ndarray | None = None  # the estimate (auto, or the plate relit) before it is refined
        self._seen = screen.SeenScreen()
        self._screen_refined = False
        self._frames_since_screen = 0
        self._key_samples: list[tuple[int, int, int]] = []  # auto key colour measurements so far
        self._frames_since_key = 0
        self._alpha: np.ndarray | None = None
        self._out: np.ndarray | None = None
        self._fg: np.ndarray | None = None
        self.stages: list[MatteStage] = []
        self._plate: np.ndarray | None = None
        self._plate_key: tuple[str, int, int] | None = None

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
                # The empty screen is the surest place to find its colour.
                source = self._load_plate(w, h) if self.uses_plate else frame
                self.key_bgr = screen.detect_key_color(source)
                self._key_samples = [self.key_bgr]
                self._frames_since_key = 0
            self._params = self._param_vector()
            self.stages = matte_stages(self.settings, self)
            s = self.settings
            self._wrap = light_wrap.LightWrap(s.light_wrap, s.light_wrap_radius) if s.light_wrap > 0 else None
            self._screen_stale = True
        if size_changed:
            self._screen_stale = True
        self._frames_since_key += 1
        if len(self._key_samples) and self._frames_since_key in AUTO_KEY_REMEASURE and not self.uses_plate:
            self._remeasure_key(frame)
        plate = self._load_plate(w, h) if self.uses_plate else None
        if plate is not None and self.settings.shadow == "keep":
            self._frames_since_screen += 1
            if self._screen_stale:
                self._screen = plate.copy()
        elif self._screen_is_estimated:
            self._frames_since_screen += 1
            refresh = self._screen_stale or self._frames_since_screen >= self.screen_refresh
            if refresh:
                if plate is not None:
                    self._coarse = screen.relight_plate(frame, plate, self.key_bgr, self._screen_tolerance,
                                                        out=self._coarse)
                else:
                    self._coarse = screen.estimate_screen(frame, self.key_bgr, self._screen_tolerance,
                                                          out=self._coarse)
                self._frames_since_screen = 0
                self._screen_refined = False
                if self._screen_stale:
                    self._seen.ready = False  # what was seen belongs to other settings or another size
                if self._screen is None or self._screen.shape != frame.shape:
                    self._screen = np.empty_like(frame)
            if not self._screen_refined:
                # Refined where the screen was seen: from the frame after the estimate was made.
                self._screen_refined = self._seen.apply(self._coarse, self._screen, plate)
                if refresh and not self._screen_refined:
                    np.copyto(self._screen, self._coarse)
        elif self._screen_stale:
            self._screen = keying.flat_screen(self.key_bgr, h, w, out=self._screen)
        self._screen_stale = False

    @property
    def _screen_is_estimated(self) -> bool:
        """True when the screen is estimated from the frames every ``screen_refresh`` frames: the auto
        estimate, or the clean plate relit (a plate kept as it is keeps the subject's shadow)."""
        if self.uses_plate:
            return self.settings.shadow != "keep"
        return self.settings.screen_model == "auto"

    def _collect_seen(self, frame: np.ndarray, alpha: np.ndarray) -> None:
        """Read where the screen is seen off this frame's key (``alpha``) when it is due: before the
        screen estimate's next refresh, and until the estimate is first refined. Only with the edge
        solve, which clears the faint leaks a refined estimate leaves in a steep shadow."""
        if not (self.settings.refine and self._screen_is_estimated):
            return
        if not self._screen_refined or self._frames_since_screen + 1 >= self.screen_refresh:
            self._seen.collect(frame, alpha)

    @property
    def _screen_tolerance(self) -> float:
        """Hue distance (degrees) within which a pixel counts as screen for the screen estimate."""
        return min(45.0, self.settings.hue_width / 2 + 5)

    @property
    def uses_plate(self) -> bool:
        """True when a clean plate is given (or the plate model asked for)."""
        return bool(self.settings.plate) or self.settings.screen_model == "plate"

    def _load_plate(self, w: int, h: int) -> np.ndarray:
        if not self.settings.plate:
            raise LivekeyError("screen_model is plate but no clean plate is given; "
                               "give --clean-plate PLATE or run livekey calibrate")
        key = (self.settings.plate, w, h)
        if self._plate_key != key:
            self._plate = screen.load_plate(self.settings.plate, (w, h))
            self._plate_key = key
        return self._plate

    @property
    def params(self) -> np.ndarray | None:
        """The kernel parameter vector of the current settings."""
        return self._params

    def _param_vector(self) -> np.ndarray:
        if not self.masks.uses_key:
            # No screen in the picture: nothing to un-mix or despill (the key colour is a placeholder).
            return keying.param_vector(self.settings.replace(spill_method="none", unmix=False), self.key_bgr)
        return keying.param_vector(self.settings, self.key_bgr)

    def _remeasure_key(self, frame: np.ndarray) -> None:
        """Refine an auto key colour over the first seconds: the median of repeated detections."""
        if self.settings.key_color != "auto" or not self.masks.uses_key:
            return
        try:
            self._key_samples.append(screen.detect_key_color(frame))
        except LivekeyError:
            return  # the subject fills this frame: keep what we have
        median = tuple(int(v) for v in np.median(np.array(self._key_samples), axis=0))
        if median != self.key_bgr:
            self.key_bgr = median
            self._params = self._param_vector()
            self._screen_stale = True

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
        elif self._solves_composite:
            keying.key_composite(frame, self._screen, backdrop, self._params, alpha, out)
            self._collect_seen(frame, alpha)
            self.stages[0].composite(frame, alpha, backdrop, out)
        else:
            self._key_to_matte(frame, alpha, self._fg)
            keying.composite(self._fg, alpha, backdrop, out)
        if self._wrap is not None:
            self._wrap(alpha, backdrop, out)
        return alpha, out

    @property
    def _solves_composite(self) -> bool:
        """True when the only stage is an edge solve that can solve the key's composite in place."""
        return (len(self.stages) == 1 and isinstance(self.stages[0], SolveStage)
                and self.stages[0].solver.composites)

    def _key_to_matte(self, frame: np.ndarray, alpha: np.ndarray, fg: np.ndarray) -> None:
        """Key a prepared frame to a matte and foreground, then run the matte stages on them."""
        keying.key_frame(frame, self._screen, self._params, alpha, fg)
        self._collect_seen(frame, alpha)
        for stage in self.stages:
            stage(frame, alpha, fg)

    def matte(self, frame: np.ndarray, alpha_out: np.ndarray | None = None,
              fg_out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Key ``frame`` into (alpha (H, W), despilled straight-alpha foreground (H, W, 3))."""
        self._prepare(frame)
        alpha = self._alpha if alpha_out is None else alpha_out
        fg = self._fg if fg_out is None else fg_out
        self._key_to_matte(frame, alpha, fg)
        return alpha, fg

    def rgba(self, frame: np.ndarray, out: np.ndarray | None = None,
             alpha_out: np.ndarray | None = None) -> np.ndarray:
        """Key ``frame`` into a straight-alpha BGRA image (H, W, 4); the matte alone is also left
        in ``alpha_out`` when given."""
        if out is None:
            out = np.empty(frame.shape[:2] + (4,), np.uint8)
        alpha, fg = self.matte(frame, alpha_out=alpha_out)
        keying.to_bgra(fg, alpha, out)
        return out


def warm_up(settings: Settings, mask_stack: masks.MaskStack | None = None) -> None:
    """Compile (or load from Numba's cache) every kernel these settings and masks use, by keying a
    small synthetic frame, so the first camera frame does not wait for the compiler."""
    from livekey.media import synthetic

    keying.warm_up()
    screen.warm_up()
    if settings.light_wrap > 0:
        light_wrap.warm_up()
    if mask_stack is not None and mask_stack.active:
        masks.warm_up()
    frame = synthetic.scene("portrait", 96, 54)
    keyer = Keyer(settings, mask_stack=mask_stack)
    keyer.composite(frame.image, synthetic.backdrop(96, 54))
    keyer.rgba(frame.image)

