"""livekey: real-time chroma keying for webcams, streams and recordings."""

from livekey.errors import LivekeyError

__version__ = "0.1.0"
__all__ = ["LivekeyError", "__version__"]
