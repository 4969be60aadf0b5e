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
from livekey.masks import add_mask_arguments, stack_from_args
from livekey.profile import Profile
from livekey.settings import Settings, add_arguments, settings_from_args


def load_profile(args: argparse.Namespace) -> Profile:
    """The profile (if any) with the command-line setting flags and ``--mask`` layers applied on top."""
    base = Profile.load(args.profile) if getattr(args, "profile", None) else Profile()
    return Profile(settings_from_args(args, base.settings), stack_from_args(args, base.masks))


def load_settings(args: argparse.Namespace) -> Settings:
    """The profile (if any) with the command-line setting flags applied on top."""
    return load_profile(args).settings


# --- livekey key -----------------------------------------------------------
def configure_key(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("key", help="key one image: RGBA PNG, or a composite over --backdrop",
                       description="Key one image. Without --backdrop, writes a straight-alpha RGBA "
                                   "image with the colour despilled; with it, the composite.")
    p.add_argument("input", help="the image to key")
    p.add_argument("-o", "--output", required=True, help="where to write the result (.png keeps alpha)")
    p.add_argument("--profile", help="a TOML key profile (see calibration/)")
    p.add_argument("--backdrop", help="an image to composite over (scaled to cover the input); an RGBA "
                                      "backdrop gives an RGBA result whose alpha is the union of both")
    p.add_argument("--overlay", metavar="IMAGE", help="an RGBA image (logo, lower third) put over the result, "
                                                     "scaled to cover it")
    add_mask_arguments(p)
    add_arguments(p)
    p.set_defaults(func=cmd_key)


def cmd_key(args: argparse.Namespace) -> int:
    from livekey import images, overlay
    from livekey.keyer import Keyer
    from livekey.masks import stack_summary

    profile = load_profile(args)
    settings, stack = profile.settings, profile.masks
    stack.validate()
    frame = images.read_image(args.input, "input")
    h, w = frame.shape[:2]
    top = _read_overlay(args.overlay, w, h) if args.overlay else None
    keyer = Keyer(settings, mask_stack=stack)
    if args.backdrop:
        back = images.read_image(args.backdrop, "backdrop", keep_alpha=True)
        if back.shape[:2] != (h, w):
            bh, bw = back.shape[:2]
            print(f"backdrop {bw}x{bh} scaled to cover {w}x{h} (centre crop)", file=sys.stderr)
            back = overlay.fit_overlay(back, w, h) if back.shape[2] == 4 else images.fit_cover(back, w, h)
        if back.shape[2] == 4:
            alpha, fg = keyer.matte(frame)
            out = overlay.composite_over_rgba(fg, alpha, back)
        else:
            _, out = keyer.composite(frame, back)
    else:
        out = keyer.rgba(frame)
    if top is not None:
        overlay.overlay_rgba(out, top)
    images.write_image(args.output, out)
    if stack.uses_key:
        b, g, r = keyer.key_bgr
        how = "detected" if settings.key_color == "auto" else "given"
        what = f"key colour #{r:02x}{g:02x}{b:02x} ({how})"
    else:
        what = "no colour key"
    masks = f", masks {stack_summary(stack)}" if stack.active else ""
    print(f"keyed {args.input} ({w}x{h}) with {what}{masks} -> {args.output}")
    return 0


def _read_overlay(path: str, width: int, height: int):
    from livekey import images, overlay

    top = images.read_image(path, "overlay", keep_alpha=True)
    if top.shape[2] != 4:
        raise LivekeyError(f"overlay {path} has no alpha channel; use a PNG with transparency")
    return overlay.fit_overlay(top, width, height)


# --- livekey bench ---------------------------------------------------------
def configure_bench(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="median ms per frame of the full keying path at 720p, 1080p, 2160p")
    p.add_argument("--json", action="store_true", help='print one JSON object {"1920x1080": {"ms": ...}, ...}')
    p.add_argument("--repeats", type=int, default=40, help="frames timed per size (default 40)")
    p.add_argument("--sizes", nargs="+", metavar="WxH", help="sizes to time (default 1280x720 1920x1080 3840x2160)")
    p.add_argument("--no-ffmpeg", action="store_true", help="skip timing ffmpeg's chromakey chain")
    p.add_argument("--masks", action="store_true", help='also time each mask type (adds "masks": {type: '
                   '{"stage_ms", "full_ms"}} per size; "none" is the split path with no mask)')
    p.add_argument("--segment-model", metavar="MODEL.onnx", help="with --masks, also time this segmentation model")
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
    results = bench.run(sizes, args.repeats, with_ffmpeg=not args.no_ffmpeg, with_masks=args.masks,
                        segment_model=args.segment_model)
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


COMMANDS = (configure_key, configure_bench, configure_quality)


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


