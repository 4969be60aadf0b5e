"""The ``livekey`` console entry point.

The command line is imported inside the interrupt guard: importing it (NumPy, OpenCV, Numba)
takes about a second, and Ctrl-C then must say "interrupted", not print a traceback.
"""

from __future__ import annotations

import signal
import sys


def run() -> None:
    """Run the command line and exit with its status (130 when interrupted)."""
    try:
        from livekey.cli import main

        code = main()
    except KeyboardInterrupt:
        print("livekey: interrupted", file=sys.stderr)
        code = 130
    # Exiting: a second Ctrl-C while Python joins threads and flushes must not print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.exit(code)
