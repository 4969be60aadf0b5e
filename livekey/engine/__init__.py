"""The keying engine: Numba kernels (key, screen model, matte operations, light wrap, overlay),
the :class:`~livekey.engine.keyer.Keyer` that runs them per frame, and the kernel cache."""
