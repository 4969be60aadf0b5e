"""Progress of `livekey render`: a bar on a terminal, plain lines otherwise, nothing with --quiet."""

from __future__ import annotations

import fcntl
import io
import os
import select
import struct
import termios

from livekey.render import progress
from tests.render_clips import write_clip
from tests.test_render import render


def read_all(fd: int) -> str:
    chunks = []
    while select.select([fd], [], [], 0.5)[0]:
        chunks.append(os.read(fd, 65536))
    return b"".join(chunks).decode()


def test_a_terminal_gets_a_bar_with_frames_fps_and_time_left():
    master, slave = os.openpty()  # a real terminal for stderr, 100 columns wide
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    with os.fdopen(slave, "w") as tty:
        bar = progress.reporter("clip.mp4", 40, file=tty)
        assert isinstance(bar, progress.Bar)
        for done in range(1, 41):
            bar.update(done)
        bar.close()
        tty.flush()
        text = read_all(master)
    os.close(master)
    assert "clip.mp4" in text and "40/40" in text and "frame/s" in text and "|" in text


def test_not_a_terminal_gets_plain_periodic_lines():
    out = io.StringIO()
    assert isinstance(progress.reporter("clip.mp4", 10, file=out), progress.Lines)
    lines = progress.Lines("clip.mp4", 10, file=out, every=0)
    for done in (2, 5):
        lines.update(done)
    printed = out.getvalue().splitlines()
    assert len(printed) == 2 and "\r" not in out.getvalue()
    assert printed[1].startswith("livekey: clip.mp4: 5/10 frames  50%") and printed[1].endswith("left")


def test_quiet_reports_nothing(tmp_path, capsys):
    out = io.StringIO()
    assert isinstance(progress.reporter("clip.mp4", 10, quiet=True, file=out), progress.Quiet)
    write_clip(tmp_path / "n.mp4", frames=5)
    code, err = render(capsys, tmp_path / "n.mp4", "-o", tmp_path / "k.mp4", "--quiet")
    assert code == 0
    assert err.count("\n") == 1 and "5 frames in" in err  # the final line alone


def test_a_batch_prints_a_line_per_clip_and_the_total(monkeypatch):
    monkeypatch.setattr(progress, "LINE_SECONDS", 0.0)
    out = io.StringIO()
    batch = progress.BatchProgress(["a.mp4", "b.mp4"], [10, 30], file=out)
    batch.update(0, 4)
    batch.update(1, 6)
    last = out.getvalue().splitlines()[-3:]
    assert last[0].startswith("livekey: a.mp4: 4/10 frames")
    assert last[1].startswith("livekey: b.mp4: 6/30 frames")
    assert last[2].startswith("livekey: total: 10/40 frames  25%")


def test_summary_line():
    assert progress.summary(120, 3.0) == "120 frames in 3.0 s (40.0 fps)"
