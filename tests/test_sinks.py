"""The sink registry: a sink type is one class, registered once; the command line's flags, the
outputs it opens and its closing lines come from the registry."""

import argparse
from pathlib import Path

import pytest

from livekey.cli import build_parser, main
from livekey.errors import LivekeyError
from livekey.media import sinks
from livekey.media.sinks import SINKS, Recorder, Sink, open_sinks


class FrameCounter(Sink):
    """A whole sink type in a few lines: counts frames into a text file."""

    kind = "count-test"
    name = "frame counter"

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--count-to", metavar="PATH")

    @classmethod
    def target(cls, args: argparse.Namespace) -> str | None:
        return args.count_to

    @classmethod
    def open(cls, target, width, height, fps, alpha):
        return cls(target, width, height)

    def __init__(self, path: str, width: int, height: int) -> None:
        self.path, self.frames = Path(path), 0
        self.info = f"frame counter {path} ({width}x{height})"

    def write(self, output) -> None:
        assert output.composite.shape[:2] == (36, 64)
        self.frames += 1

    def close(self) -> None:
        self.path.write_text(str(self.frames))

    def summary(self) -> str:
        return f"counted {self.frames} frames"


def test_a_registered_sink_gets_its_flag_frames_and_closing_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(SINKS, FrameCounter.kind, FrameCounter)
    path = tmp_path / "count.txt"
    code = main(["run", "--source", "demo:64x36@30", "--no-preview", "--as-fast-as-possible", "--duration", "1.5",
                 "--count-to", str(path)])
    err = capsys.readouterr().err
    assert code == 0, err
    written = int(path.read_text())
    assert written > 0 and f"counted {written} frames" in err and f"frame counter {path} (64x36)" in err


def test_the_built_in_sinks_register_in_help_order_with_their_flags():
    assert list(SINKS) == ["vcam", "record"]
    run = next(a for a in build_parser()._subparsers._group_actions[0].choices.items() if a[0] == "run")[1]
    flags = [opt for action in run._actions for opt in action.option_strings]
    assert flags.index("--vcam") < flags.index("--vcam-device") < flags.index("--record")
    with pytest.raises(ValueError, match="registered twice"):
        sinks.register(Recorder)


def test_open_sinks_closes_what_it_opened_when_a_later_one_fails(tmp_path, monkeypatch):
    """A recording that opened is closed when the next sink refuses: closing finalises it, and a
    recording that holds no frame is removed (issue 27), so an open one would leave its file."""

    class Refuses(FrameCounter):
        kind = "refuses-test"

        @classmethod
        def open(cls, target, width, height, fps, alpha):
            raise LivekeyError("no such device")

    monkeypatch.setitem(SINKS, Refuses.kind, Refuses)
    args = argparse.Namespace(vcam=False, vcam_device=None, record=str(tmp_path / "a.mp4"),
                              count_to=str(tmp_path / "never.txt"))
    with pytest.raises(LivekeyError, match="no such device"):
        open_sinks(args, 64, 48, 30.0, alpha=False)
    assert not (tmp_path / "a.mp4").exists() and not (tmp_path / "never.txt").exists()


def test_a_sink_is_a_context_manager_that_closes_it(tmp_path):
    with FrameCounter(str(tmp_path / "c.txt"), 64, 36) as counter:
        counter.frames = 3
        assert not (tmp_path / "c.txt").exists()
    assert (tmp_path / "c.txt").read_text() == "3"
    with Recorder(tmp_path / "c.mp4", 64, 48, 30) as rec:
        assert rec.summary() == f"recorded 0 frames to {tmp_path / 'c.mp4'}"
