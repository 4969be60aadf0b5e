"""Where composites go: the sink types (a virtual camera, a recording), one module each, and the
registry the command line and the window build their outputs from (see :mod:`.base`).

The import lines below are the registry's list of built-in sink types, in the order the command
line's help shows their flags (a new sink: its module, and one line there).
"""

# isort: off
from livekey.media.sinks import virtual_camera  # noqa: F401  (each import registers a type)
from livekey.media.sinks import recorder  # noqa: F401
# isort: on
from livekey.media.sinks.base import SINKS, Sink, close_all, flatten, open_sink, open_sinks, register
from livekey.media.sinks.recorder import FORMATS, Recorder
from livekey.media.sinks.virtual_camera import VCAM_FIX, VirtualCamera

__all__ = ["FORMATS", "SINKS", "VCAM_FIX", "Recorder", "Sink", "VirtualCamera", "close_all", "flatten",
           "open_sink", "open_sinks", "register"]
