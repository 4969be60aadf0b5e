"""The ``livekey`` command line.

Each subcommand is a ``configure_*`` function that adds its parser and a ``cmd_*`` function
that runs it. A :class:`LivekeyError` anywhere becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from livekey import __version__
from livekey.errors import LivekeyError
from livekey.settings import Settings, add_arguments, settings_from_args


def load_settings(args: argparse.Namespace) -> Settings:
    """The profile (if any) with the command-line setting flags applied on top."""
    base = Settings.load(args.profile) if getattr(args, "profile", None) else Settings()
    return settings_from_args(args, base)


# --- livekey key -----------------------------------------------------------
def configure_key(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("key", help="key one image: RGBA PNG, or a composite over --backdrop",
                       description="Key one image. Without --backdrop, writes a straight-alpha RGBA "
                                   "image with the colour despilled; with it, the composite.")
    p.add_argument("input", help="the image to key")
    p.add_argument("-o", "--output", required=True, help="where to write the result (.png keeps alpha)")
    p.add_argument("--profile", help="a TOML key profile (see calibration/)")
    p.add_argument("--backdrop", help="an image to composite over (scaled to cover the input)")
    p.add_argument("--clean-plate", dest="plate", metavar="PLATE",
                   help="an image of the empty screen: key against the screen's real colour at every pixel")
    p.add_argument("--status", metavar="PATH", help="also write the status view: solid foreground white, "
                                                    "screen black, in-between red")
    add_arguments(p)
    p.set_defaults(func=cmd_key)


def cmd_key(args: argparse.Namespace) -> int:
    from livekey import images
    from livekey.keyer import Keyer

    settings = load_settings(args)
    frame = images.read_image(args.input, "input")
    keyer = Keyer(settings)
    h, w = frame.shape[:2]
    if args.backdrop:
        back = images.read_image(args.backdrop, "backdrop")
        if back.shape[:2] != (h, w):
            bh, bw = back.shape[:2]
            print(f"backdrop {bw}x{bh} scaled to cover {w}x{h} (centre crop)", file=sys.stderr)
            back = images.fit_cover(back, w, h)
        _, out = keyer.composite(frame, back)
    else:
        out = keyer.rgba(frame)
    images.write_image(args.output, out)
    if args.status:
        from livekey.matte import status_view

        images.write_image(args.status, status_view(keyer.matte(frame)[0]))
    b, g, r = keyer.key_bgr
    how = "detected" if settings.key_color == "auto" else "given"
    print(f"keyed {args.input} ({w}x{h}) with key colour #{r:02x}{g:02x}{b:02x} ({how}) -> {args.output}")
    return 0


# --- livekey calibrate -----------------------------------------------------
def configure_calibrate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="average frames of the empty screen into a clean plate and a profile",
                       description="Step out of frame: livekey averages frames of the empty screen into a "
                                   "clean plate (saved beside the profile as NAME-plate.png), measures the "
                                   "key colour, the screen's spread and the noise, and writes a profile.")
    p.add_argument("--source", default="demo", help="an image or video of the empty screen, or demo (default)")
    p.add_argument("--frames", type=int, default=30, help="frames to average (default 30)")
    p.add_argument("-o", "--output", required=True, help="the profile to write, e.g. calibration/studio.toml")
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from livekey import calibration

    frames = calibration.read_frames(args.source, args.frames)
    cal = calibration.calibrate_frames(frames)
    plate = calibration.save_calibration(cal, args.output)
    f = cal.figures
    print(f"calibrated from {len(frames)} frame(s) of {args.source}: key {cal.settings.key_color}, "
          f"screen {f['screen_share']:.0%} of the picture, hue spread {f['hue_spread_deg']:.1f} deg, "
          f"noise {f['noise']:.1f} levels -> {args.output} (plate {plate})")
    return 0


# --- livekey bench ---------------------------------------------------------
def configure_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="median ms per frame of the full keying path at 720p, 1080p, 2160p")
    p.add_argument("--json", action="store_true", help='print one JSON object {"1920x1080": {"ms": ...}, ...}')
    p.add_argument("--repeats", type=int, default=40, help="frames timed per size (default 40)")
    p.add_argument("--sizes", nargs="+", metavar="WxH", help="sizes to time (default 1280x720 1920x1080 3840x2160)")
    p.add_argument("--no-ffmpeg", action="store_true", help="skip timing ffmpeg's chromakey chain")
    p.set_defaults(func=cmd_bench)


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
        if w < 8 or h < 8:
            raise ValueError
    except ValueError:
        raise LivekeyError(f"size {text!r} is not WIDTHxHEIGHT, e.g. 1920x1080") from None
    return w, h


def cmd_bench(args: argparse.Namespace) -> int:
    from livekey import bench

    sizes = [_parse_size(s) for s in args.sizes] if args.sizes else bench.SIZES
    if args.repeats < 1:
        raise LivekeyError("--repeats must be at least 1")
    results = bench.run(sizes, args.repeats, with_ffmpeg=not args.no_ffmpeg)
    print(json.dumps(results) if args.json else bench.format_results(results))
    return 0


# --- livekey quality -------------------------------------------------------
def configure_quality(sub: argparse._SubParsersAction) -> None:
    from livekey.synthetic import SCENES

    p = sub.add_parser("quality", help="score livekey, OBS Chroma Key (grid-searched) and HSV inRange "
                                       "on synthetic scenes with ground truth")
    p.add_argument("--json", action="store_true", help="print the full report as JSON")
    p.add_argument("--scenes", nargs="+", choices=list(SCENES), help="scenes to score (default all)")
    p.set_defaults(func=cmd_quality)


def cmd_quality(args: argparse.Namespace) -> int:
    from livekey import quality

    results = quality.report(args.scenes)
    print(json.dumps(results) if args.json else quality.format_table(results))
    return 0


COMMANDS = (configure_key, configure_calibrate, configure_bench, configure_quality)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="livekey", description="Real-time chroma keying.")
    parser.add_argument("--version", action="version", version=f"livekey {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for configure in COMMANDS:
        configure(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except LivekeyError as err:
        print(f"livekey: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("livekey: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())


