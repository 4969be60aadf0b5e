"""livekey: real-time chroma keying for webcams, streams and recordings.

What a library user builds, importable from here::

    from livekey import Keyer, Settings
    alpha, composite = Keyer(Settings(key_color="green")).composite(frame, backdrop)

``Keyer`` (livekey.engine), ``Settings`` and ``Profile`` (livekey.config), ``MaskStack`` and
``MaskLayer`` (livekey.masks), ``Pipeline`` (livekey.runtime). They load on first use, so
``import livekey`` stays light (no Numba, OpenCV or Qt until one is asked for).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from livekey.errors import LivekeyError

if TYPE_CHECKING:
    from livekey.config.profile import Profile
    from livekey.config.settings import Settings
    from livekey.engine.keyer import Keyer
    from livekey.masks import MaskLayer, MaskStack
    from livekey.runtime.pipeline import Pipeline

__version__ = "0.1.0"
_LAZY = {"Keyer": "livekey.engine.keyer", "Settings": "livekey.config.settings", "Profile": "livekey.config.profile",
         "MaskStack": "livekey.masks", "MaskLayer": "livekey.masks", "Pipeline": "livekey.runtime.pipeline"}
__all__ = ["Keyer", "LivekeyError", "MaskLayer", "MaskStack", "Pipeline", "Profile", "Settings", "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value  # once
        return value
    raise AttributeError(f"module 'livekey' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
