"""What a recording holds once it is closed, told truthfully.

A recorder counts the frames it handed to the container. After a write failed (a full disk),
frames the muxer still held in an open fragment or cluster never reached the file, so the count
is taken again from the file itself. A recording that holds no frame (stopped before the first
one, or failed on it) is removed instead of leaving a 0-byte or header-only file.
"""

from __future__ import annotations

import os
from pathlib import Path


def frames_in_file(path: str | os.PathLike) -> int:
    """Video frames a decoder reads back from ``path`` (0 when it cannot be opened)."""
    import av

    count = 0
    try:
        with av.open(str(path)) as container:
            for _ in container.decode(video=0):
                count += 1
    except (OSError, av.error.FFmpegError, IndexError, ValueError):
        pass  # a cut-off file ends in a damaged packet: what came before counts
    return count


def settle(recorder) -> None:
    """After ``recorder`` closed its container: recount a failed recording from its file, and remove
    one that holds no frame (``recorder.removed`` says so)."""
    path = Path(recorder.path)
    if recorder.failed:
        recorder.frames = frames_in_file(path) if path.exists() else 0
    recorder.removed = False
    if recorder.frames == 0:
        try:
            path.unlink(missing_ok=True)
            recorder.removed = True
        except OSError:
            pass
