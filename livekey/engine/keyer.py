"""The keyer: settings in, frames in, matte and composite out.

One small object with one obvious method: ``Keyer(settings).composite(frame, backdrop)``.
It owns the preallocated buffers and the matte stages; its
:class:`~livekey.engine.screen_model.ScreenModel` resolves the key colour and keeps the per-pixel
screen image the kernels and stages key against. Settings are swapped whole with :meth:`update`,
so a frame is always keyed with one consistent set.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

import numpy as np

from livekey import masks
from livekey.config.settings import Settings
from livekey.engine import kernel_cache, keying, light_wrap, matte, screen
from livekey.engine.screen_model import ScreenModel

# Held while a keyer runs kernels: Numba's workqueue layer (a user may choose it, see
# livekey.runtime.startup) aborts the process when two threads enter parallel code at once, so keyers
# in several threads take turns. Re-entrant: rgba() keys through matte().
PARALLEL = threading.RLock()


def taking_turns(method):
    """``method`` run holding :data:`PARALLEL`."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with PARALLEL:
            return method(*args, **kwargs)
    return wrapper

# A spatial step on the matte between the key and the composite: called as
# ``stage(frame, alpha, fg)`` and changes ``alpha`` (H, W uint8) and/or ``fg`` (H, W, 3) in place.
MatteStage = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


class SolveStage:
    """The edge solve (:class:`livekey.engine.matte.EdgeSolver`) as a matte stage, keyed against the
    screen model's screen with its parameters. Alone, it can also solve the key's composite in place
    (:meth:`composite`): the same picture, without a separate compositing pass."""

    def __init__(self, solver: matte.EdgeSolver, screen: ScreenModel) -> None:
        self.solver, self.screen = solver, screen

    def __call__(self, frame: np.ndarray, alpha: np.ndarray, fg: np.ndarray) -> None:
        self.solver(frame, self.screen.image, alpha, fg, self.screen.params)

    def composite(self, frame: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray, out: np.ndarray) -> None:
        """Solve ``alpha`` and the key's composite ``out`` over ``backdrop`` in place."""
        self.solver(frame, self.screen.image, alpha, out, self.screen.params, backdrop)


def matte_stages(settings: Settings, keyer: Keyer) -> list[MatteStage]:
    """The spatial steps the settings ask for, in order. With none, the keyer uses the fused
    one-pass kernel; with any, it keys to a matte, runs them, then composites.

    Matte operations (livekey.matte) and the mask stack (livekey.masks) add their steps here.
    """
    stages: list[MatteStage] = []
    if keyer.stack.active:
        stages.append(_mask_stage(keyer))
    return stages + _matte_operations(settings, keyer)


def _mask_stage(keyer: Keyer) -> masks.MaskStage:
    """The keyer's mask stage, kept across settings changes while the stack is the same: a new one
    binds every layer again, and a person layer's binding loads its model (10-30 ms) and starts its
    smoothing and crop over, on every step of a slider dragged in the window."""
    for stage in getattr(keyer, "stages", ()):
        if isinstance(stage, masks.MaskStage) and stage.stack == keyer.stack:
            return stage
    return masks.MaskStage(keyer.stack)


def solves_edge(settings: Settings, stack: masks.MaskStack) -> bool:
    """Whether the edge solve runs on ``stack`` (the keyer's, person layer included) with ``settings``:
    it refines against the screen and takes out the screen's smear, so with no colour key in the stack
    there is none to solve against (and on a segmentation model's wide soft edge the edge colour would
    cost more than the model: 11-22 ms at 720p)."""
    return (settings.refine or settings.edge_color) and stack.uses_key


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

    refine = settings.refine and solves_edge(settings, keyer.stack)
    later = (settings.temporal > 0 or settings.clip_black > 0 or settings.clip_white < 1
             or settings.grow or settings.fill_holes or settings.soften)
    recolour = settings.edge_color and solves_edge(settings, keyer.stack)
    if refine or (recolour and not later):
        keep_shadow = keyer.uses_plate and settings.shadow == "keep"
        # Strands are sought only in a matte the key alone made: a pixel a mask took out is no screen.
        stages.append(SolveStage(matte.EdgeSolver(solve=refine,
                                                    recolour=recolour and not later,
                                                    radius=settings.refine_radius,
                                                    restore=settings.chroma_detail,
                                                    shadow=None if keep_shadow else matte.SHADOW,
                                                    strands=settings.strands and not keyer.stack.active,
                                                    screen_shift=settings.screen_model != "flat"),
                                  keyer.screen_model))
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
        model = keyer.screen_model
        stages.append(lambda frame, alpha, fg: keying.recover_foreground(frame, model.image, alpha, model.params, fg))
        if recolour:
            stages.append(SolveStage(matte.EdgeSolver(solve=False, recolour=True,
                                                      radius=settings.refine_radius), keyer.screen_model))
    return stages


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
        # The stack it runs: the user's, plus the person layer the ``person`` setting asks for.
        self.stack = masks.with_person(self.masks, self.settings.person)
        self.screen_model = ScreenModel(screen_refresh)
        self._wrap: light_wrap.LightWrap | None = None
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
            self.masks = pending_masks
        if pending is not None or pending_masks is not None:
            stack = masks.with_person(self.masks, (self.settings if pending is None else pending).person)
            if stack.uses_key != self.stack.uses_key:
                self.screen_model.forget_key()
            self.stack = stack
            if pending is None:  # new settings rebuild the stages below
                self.stages = matte_stages(self.settings, self)
        h, w = frame.shape[:2]
        size_changed = self._alpha is None or self._alpha.shape != (h, w)
        if size_changed:
            self._alpha = np.empty((h, w), np.uint8)
            self._out = np.empty((h, w, 3), np.uint8)
            self._fg = np.empty((h, w, 3), np.uint8)
        if pending is not None:
            self.settings = pending
        if pending is not None or self.screen_model.key_bgr is None:
            self.screen_model.configure(frame, self.settings, self.stack.uses_key,
                                        redetect=pending is not None and pending.key_color != "auto")
            self.stages = matte_stages(self.settings, self)
            s = self.settings
            self._wrap = light_wrap.LightWrap(s.light_wrap, s.light_wrap_radius) if s.light_wrap > 0 else None
        self.screen_model.prepare(frame, size_changed)

    @property
    def uses_plate(self) -> bool:
        """True when a clean plate is given (or the plate model asked for)."""
        return bool(self.settings.plate) or self.settings.screen_model == "plate"

    @property
    def key_bgr(self) -> tuple[int, int, int] | None:
        """The key colour (B, G, R) the last frame was keyed with."""
        return self.screen_model.key_bgr

    @property
    def params(self) -> np.ndarray | None:
        """The kernel parameter vector of the current settings."""
        return self.screen_model.params

    @property
    def screen(self) -> np.ndarray | None:
        """The per-pixel screen image the last frame was keyed against."""
        return self.screen_model.image

    @taking_turns
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
            keying.key_composite(frame, self.screen, backdrop, self.params, alpha, out)
        elif self._solves_composite:
            keying.key_composite(frame, self.screen, backdrop, self.params, alpha, out)
            self.screen_model.collect_seen(frame, alpha)
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
        if self.stack.uses_key:  # else the stack replaces the key's matte and colour outright
            keying.key_frame(frame, self.screen, self.params, alpha, fg)
            self.screen_model.collect_seen(frame, alpha)
        for stage in self.stages:
            stage(frame, alpha, fg)

    @taking_turns
    def matte(self, frame: np.ndarray, alpha_out: np.ndarray | None = None,
              fg_out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Key ``frame`` into (alpha (H, W), despilled straight-alpha foreground (H, W, 3))."""
        self._prepare(frame)
        alpha = self._alpha if alpha_out is None else alpha_out
        fg = self._fg if fg_out is None else fg_out
        self._key_to_matte(frame, alpha, fg)
        return alpha, fg

    @taking_turns
    def rgba(self, frame: np.ndarray, out: np.ndarray | None = None,
             alpha_out: np.ndarray | None = None) -> np.ndarray:
        """Key ``frame`` into a straight-alpha BGRA image (H, W, 4); the matte alone is also left
        in ``alpha_out`` when given."""
        if out is None:
            out = np.empty(frame.shape[:2] + (4,), np.uint8)
        alpha, fg = self.matte(frame, alpha_out=alpha_out)
        keying.to_bgra(fg, alpha, out)
        return out


# What a warm-up keys: the outputs a command takes from the keyer.
WARM_OUTPUTS = {
    "composite": lambda keyer, frame, back: keyer.composite(frame, back),
    "matte": lambda keyer, frame, back: keyer.matte(frame),
    "rgba": lambda keyer, frame, back: keyer.rgba(frame),
}


def warm_up(settings: Settings, mask_stack: masks.MaskStack | None = None,
            outputs: tuple[str, ...] = ("composite", "rgba"), live: bool = False) -> None:
    """Compile (or load from Numba's cache) the kernels these settings and masks use for
    ``outputs`` (keys of :data:`WARM_OUTPUTS`) by keying a small drawn frame twice (the second
    frame keys against the screen refined from the first, as a live session does), so the first
    real frame does not wait for the compiler. With ``live`` also every keying and screen kernel a
    settings change in the window may switch to (a few seconds more: a live session compiles
    them before its first frame or in the background, never on a frame); else a kernel a later
    settings change needs compiles (or loads) when first used."""
    from livekey.media import synthetic

    uses_plate = bool(settings.plate) or settings.screen_model == "plate"
    if live:
        keying.warm_up()
    if live or settings.screen_model != "flat" or uses_plate:  # a flat screen runs no screen kernel
        screen.warm_up(plate=live or uses_plate)
    stack = masks.with_person(mask_stack or masks.MaskStack(), settings.person)
    if stack.active:
        masks.warm_up()
    frame = synthetic.scene("portrait", 96, 54)
    back = synthetic.backdrop(96, 54)
    keyer = Keyer(settings, mask_stack=mask_stack)
    for _ in range(2):
        for output in outputs:
            WARM_OUTPUTS[output](keyer, frame.image, back)
