"""A guard for the GUI build of OpenCV: ``opencv-python`` and ``opencv-contrib-python`` (pulled in by
``pip install mediapipe`` with its dependencies) point ``QT_QPA_PLATFORM_PLUGIN_PATH`` and
``QT_QPA_FONTDIR`` at the Qt inside their own ``cv2/`` folder when cv2 is imported, and PyQt5 then
aborts with "Could not load the Qt platform plugin xcb". Cleared before Qt starts."""

from __future__ import annotations

import os
import sys
from pathlib import Path

QT_VARIABLES = ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR")
FIX = ("pip uninstall -y opencv-python opencv-contrib-python && "
       "pip install --force-reinstall opencv-python-headless")


def _inside(path: str, folder: Path) -> bool:
    if not path:
        return False
    try:
        return Path(path).resolve().is_relative_to(folder)
    except (OSError, ValueError):
        return False


def clear_cv2_qt_variables() -> list[str]:
    """Remove the Qt variables that point into cv2's folder, saying so on stderr in one line;
    returns the names removed (none when OpenCV is the headless build livekey depends on)."""
    import cv2

    folder = Path(cv2.__file__).resolve().parent
    cleared = [name for name in QT_VARIABLES if _inside(os.environ.get(name, ""), folder)]
    for name in cleared:
        del os.environ[name]
    if cleared:
        print(f"livekey: warning: the GUI build of OpenCV set {' and '.join(cleared)} to its own Qt, which "
              f"breaks the window; cleared for this run. Fix: {FIX}", file=sys.stderr)
    return cleared
