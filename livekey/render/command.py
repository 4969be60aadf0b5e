"""``livekey render``: the flags, and one clip in this process or a batch over processes or Ray."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path

from livekey.errors import LivekeyError

FORMATS = ("mp4", "mkv", "mov", "webm", "png")  # --format: a batch's output files


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The render flags; the setting flags and ``--mask`` are added by the caller as `run` has them."""
    from livekey.render.outputs import VIDEO_KINDS

    p.add_argument("inputs", nargs="+", metavar="INPUT", help="video file(s) to key")
    p.add_argument("-o", "--output", required=True,
                   help="the output: a .mp4/.mkv (H.264), .mov (H.264; QuickTime Animation or ProRes 4444 "
                        "with alpha), .webm (VP9, alpha too) or a PNG sequence such as frames/%%05d.png; "
                        "with several inputs a folder (outdir/), one file per input")
    p.add_argument("--backdrop", help="image or video file, a colour (#RRGGBB or a name), blur, or transparent "
                                      "for an alpha output (default: the bundled image)")
    p.add_argument("--profile", help="a TOML key profile (see calibration/)")
    p.add_argument("--clean-plate", dest="plate", metavar="PLATE",
                   help="an image of the empty screen: key against the screen's real colour at every pixel")
    p.add_argument("--overlay", metavar="IMAGE", help="an RGBA image (logo, lower third) put over the result")
    p.add_argument("--matte-only", action="store_true", help="write the matte alone (grayscale), for "
                                                              "compositing elsewhere")
    enc = p.add_argument_group("encoding")
    enc.add_argument("--crf", type=int, default=18, help="H.264 quality, 0 (lossless) .. 51 (worst) [default 18]")
    enc.add_argument("--preset", default="veryfast", help="x264 preset, ultrafast .. veryslow [default veryfast]")
    enc.add_argument("--codec", choices=list(VIDEO_KINDS), help="the video codec (default: by the extension, "
                     "and the backdrop: " + ", ".join(f"{k.name} = {k.describe}" for k in VIDEO_KINDS.values()) + ")")
    enc.add_argument("--format", choices=FORMATS, help="a batch's output files (default mp4, mov when transparent)")
    enc.add_argument("--no-audio", action="store_true", help="drop the audio (default: copied unchanged)")
    part = p.add_argument_group("which frames")
    part.add_argument("--start", metavar="T", help="start at T (seconds, or [HH:]MM:SS.ms)")
    part.add_argument("--end", metavar="T", help="stop before T")
    part.add_argument("--frames", type=int, metavar="N", help="key N frames")
    run = p.add_argument_group("running")
    run.add_argument("--overwrite", action="store_true", help="replace an existing output")
    run.add_argument("--skip-damaged", action="store_true",
                     help="skip damaged input frames (reported with their time) instead of stopping")
    run.add_argument("--quiet", action="store_true", help="no progress display")
    run.add_argument("--jobs", type=int, metavar="N",
                     help="clips rendered at once in a batch (default: one per core, at most one per clip)")
    run.add_argument("--cluster", metavar="ray|ray://HOST:PORT",
                     help="run the batch on a Ray cluster, one task per clip (pip install 'livekey[cluster]')")


def run(args: argparse.Namespace) -> int:
    """Render the inputs; 0 when every clip is done, 1 when any failed, 130 when interrupted."""
    from livekey.cli import load_profile, say_if_compiling
    from livekey.render import batch

    specs = build_specs(args, load_profile(args))
    if args.cluster:
        from livekey.render import cluster

        results = cluster.render_on_ray(specs, args.cluster, quiet=args.quiet)
    elif len(specs) == 1:
        say_if_compiling()
        results = [render_one(specs[0], args.quiet)]
    else:
        say_if_compiling()
        results = batch.render_batch(specs, jobs=args.jobs or default_jobs(len(specs)), quiet=args.quiet)
    return exit_code(results)


def exit_code(results: list) -> int:
    """130 when interrupted, 1 when any clip failed, else 0."""
    if any(r.status == "interrupted" for r in results):
        return 130
    return 0 if all(r.ok for r in results) else 1


def render_one(spec, quiet: bool):
    """One clip in this process, with a bar or lines; the final line or the error on stderr.
    Ctrl-C (or SIGTERM) stops it after the frame under way; a second Ctrl-C stops at once."""
    from livekey.render import job, progress

    stop = threading.Event()

    def on_signal(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    name = Path(spec.input).name
    try:
        result = job.render_clip(spec, progress=lambda total: progress.reporter(name, total, quiet), stop=stop)
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    print_result(result)
    return result


def print_result(result) -> None:
    """The final line of a clip: figures when done, the reason otherwise."""
    from livekey.render.progress import summary

    if result.status == "done":
        skipped = f", {len(result.damaged)} damaged skipped" if result.damaged else ""
        print(f"livekey: rendered {result.input} -> {result.output}: {summary(result.frames, result.seconds)}"
              f"{skipped}", file=sys.stderr, flush=True)
    elif result.status == "interrupted":
        print(f"livekey: {result.message}", file=sys.stderr, flush=True)
    else:
        print(f"livekey: error: {result.message}", file=sys.stderr, flush=True)


def default_jobs(clips: int) -> int:
    """One clip per core: a clip's decode, key and encode run one after another, so two clips on
    two cores keep both busy where one clip's parallel kernels leave gaps."""
    return max(1, min(clips, os.cpu_count() or 1))


def build_specs(args: argparse.Namespace, profile) -> list:
    """One RenderSpec per input, with the output named (a folder for a batch)."""
    from livekey.masks import with_person
    from livekey.render import job, media, outputs

    window = media.Window(start=media.parse_time(args.start, "--start") if args.start else 0.0,
                          end=media.parse_time(args.end, "--end") if args.end else None, frames=args.frames)
    window.validate()
    # A bad mask file or a missing person model fails now, before the kernels compile.
    with_person(profile.masks, profile.settings.person).validate()
    if not 0 <= args.crf <= 51:
        raise LivekeyError(f"--crf {args.crf} is outside 0..51")
    if args.jobs is not None and args.jobs < 1:
        raise LivekeyError("--jobs must be at least 1")
    encoding = outputs.Encoding(crf=args.crf, preset=args.preset, codec=args.codec)
    names = output_names(args.inputs, args.output, args.format, transparent=args.backdrop == "transparent"
                         and not args.matte_only)
    common = dict(profile=profile, backdrop=args.backdrop, overlay=args.overlay, matte_only=args.matte_only,
                  encoding=encoding, window=window, audio=not args.no_audio, skip_damaged=args.skip_damaged,
                  overwrite=args.overwrite)
    return [job.RenderSpec(input=i, output=str(o), **common) for i, o in zip(args.inputs, names, strict=True)]


def output_names(inputs: list[str], output: str, fmt: str | None, transparent: bool) -> list[Path]:
    """The output of each input: ``output`` itself for one input, else ``output/STEM.EXT``."""
    folder = Path(output)
    if len(inputs) == 1 and not (output.endswith(("/", os.sep)) or folder.is_dir()):
        return [folder]
    if folder.exists() and not folder.is_dir():
        raise LivekeyError(f"with several inputs, -o is a folder (one file per input); {output} is a file")
    stems = [Path(i).stem for i in inputs]
    twice = sorted({s for s in stems if stems.count(s) > 1})
    if twice:
        raise LivekeyError(f"several inputs are named {twice[0]}: their outputs in {output} would collide; "
                           f"render them to different folders")
    folder.mkdir(parents=True, exist_ok=True)
    ext = fmt or ("mov" if transparent else "mp4")
    if ext == "png":
        for s in stems:
            (folder / s).mkdir(exist_ok=True)
        return [folder / s / "%05d.png" for s in stems]
    return [folder / f"{s}.{ext}" for s in stems]
