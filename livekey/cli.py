"""The ``livekey`` command line.

Each subcommand is a ``configure_*`` function that adds its parser and a ``cmd_*`` function
that runs it. A :class:`LivekeyError` anywhere becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from pathlib import Path

from livekey import __version__
from livekey.config.profile import Profile
from livekey.config.settings import add_arguments, settings_from_args
from livekey.control.options import add_control_arguments, control_options, start_control
from livekey.errors import LivekeyError
from livekey.masks import add_mask_arguments, stack_from_args, with_person
from livekey.media import files
from livekey.media.sinks import SINKS


def say_if_compiling(settings=None, masks=None, outputs: tuple[str, ...] = ("composite", "rgba"),
                     live: bool = False) -> None:
    """Before the first frame is keyed, once: ready the kernels ``settings`` (default: the defaults),
    ``masks`` and ``outputs`` use; when Numba's cache does not have them for this source (the first
    run after an install or an update), with a moving progress line and stoppable at once
    (:func:`livekey.runtime.compiling.compile_kernels`). Call it before any output file is opened."""
    from livekey.config.settings import Settings
    from livekey.runtime.compiling import compile_kernels

    compile_kernels(settings or Settings(), masks, outputs=outputs, live=live)


def load_profile(args: argparse.Namespace) -> Profile:
    """The profile (if any) with the command-line setting flags and ``--mask`` layers applied on top."""
    base = Profile.load(args.profile) if getattr(args, "profile", None) else Profile()
    return Profile(settings_from_args(args, base.settings), stack_from_args(args, base.masks))


# --- livekey key -----------------------------------------------------------
def configure_key(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("key", help="key one image: RGBA PNG, or a composite over --backdrop",
                       description="Key one image. Without --backdrop, writes a straight-alpha RGBA "
                                   "image with the colour despilled; with it, the composite.")
    p.add_argument("input", help="the image to key")
    p.add_argument("-o", "--output", required=True, help="where to write the result (.png keeps alpha)")
    p.add_argument("--profile", help="a TOML key profile (see calibration/)")
    p.add_argument("--backdrop", help="what to composite over, as for run: an image or video file (scaled to "
                                      "cover the input; an RGBA image gives an RGBA result whose alpha is the "
                                      "union of both), a colour (#RRGGBB or a name), blur, transparent or default")
    p.add_argument("--overlay", metavar="IMAGE", help="an RGBA image (logo, lower third) put over the result, "
                                                     "scaled to cover it")
    add_mask_arguments(p)
    p.add_argument("--clean-plate", dest="plate", metavar="PLATE",
                   help="an image of the empty screen: key against the screen's real colour at every pixel")
    p.add_argument("--status", metavar="PATH", help="also write the status view: solid foreground white, "
                                                    "screen black, in-between red")
    add_arguments(p)
    p.set_defaults(func=cmd_key)


def cmd_key(args: argparse.Namespace) -> int:
    from livekey.engine import overlay
    from livekey.engine.keyer import Keyer
    from livekey.masks import stack_summary, with_person
    from livekey.masks.person import for_stills
    from livekey.media import images
    from livekey.media.backdrops import open_backdrop
    from livekey.render.media import VIDEO_SUFFIXES

    profile = load_profile(args)
    settings, stack = profile.settings, with_person(profile.masks, profile.settings.person)
    stack = for_stills(stack)  # one still image: the person model's several-pass mode
    stack.validate()
    if Path(args.input).suffix.lower() in VIDEO_SUFFIXES:
        raise LivekeyError(f"{args.input} is a video; key video files with `livekey render {args.input} -o OUT.mp4`")
    frame = images.read_image(args.input, "input")
    h, w = frame.shape[:2]
    top = overlay.fit_overlay(read_overlay(args.overlay), w, h) if args.overlay else None
    backdrop = open_backdrop(args.backdrop, keep_alpha=True) if args.backdrop else None
    say_if_compiling(settings, stack, ("matte", "composite") if backdrop is not None else ("matte", "rgba"))
    keyer = Keyer(settings, mask_stack=stack)
    # Key the still as a live session keys its second frame on: with the screen estimate refined
    # where the first key saw the screen.
    first_alpha = keyer.matte(frame)[0]
    back = backdrop_frame(backdrop, frame, first_alpha, stack) if backdrop is not None else None
    if back is not None:
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
    if args.status:
        from livekey.engine.status import status_view

        images.write_image(args.status, status_view(keyer.matte(frame)[0]))
    if stack.uses_key:
        b, g, r = keyer.key_bgr
        how = "detected" if settings.key_color == "auto" else "given"
        what = f"key colour #{r:02x}{g:02x}{b:02x} ({how})"
    else:
        what = "no colour key"
    masks = f", masks {stack_summary(stack)}" if stack.active else ""
    print(f"keyed {args.input} ({w}x{h}) with {what}{masks} -> {args.output}")
    return 0


def backdrop_frame(backdrop, frame, alpha, stack):
    """The backdrop ``livekey run`` would put behind ``frame`` (None for transparent), saying on
    stderr when a picture is scaled, or when blur will only blur a green screen."""
    from livekey.media.backdrops import BLUR_NOTE, blur_suits

    h, w = frame.shape[:2]
    image = getattr(backdrop, "image", None)
    if backdrop.info.startswith("image ") and image is not None and image.shape[:2] != (h, w):
        bh, bw = image.shape[:2]
        print(f"backdrop {bw}x{bh} scaled to cover {w}x{h} (centre crop)", file=sys.stderr)
    if backdrop.spec == "blur" and not blur_suits(stack):
        print(f"livekey: note: {BLUR_NOTE}", file=sys.stderr)
    try:
        if image is not None and image.shape[2] == 4:  # RGBA: resampled premultiplied, edges keep their colour
            from livekey.engine.overlay import fit_overlay

            return fit_overlay(image, w, h)
        return backdrop.frame(frame, alpha)
    finally:
        backdrop.close()


def read_overlay(path: str):
    """An RGBA overlay image (BGRA uint8), refusing one without transparency."""
    from livekey.media import images

    return images.read_overlay(path)


# --- livekey render --------------------------------------------------------
def configure_render(sub: argparse._SubParsersAction) -> None:
    from livekey.render import command

    p = sub.add_parser("render", help="key video files: every frame, with sound and progress; batches",
                       description="Key video files offline: every frame in order at the input's timestamps, "
                                   "the audio copied, written under a temporary name until complete. "
                                   "Several inputs render in parallel, one file each.")
    command.add_arguments(p)
    add_mask_arguments(p)
    add_arguments(p)
    p.set_defaults(func=cmd_render)


def cmd_render(args: argparse.Namespace) -> int:
    from livekey.render import command

    return command.run(args)


# --- livekey calibrate -----------------------------------------------------
def configure_calibrate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="average frames of the empty screen into a clean plate and a profile",
                       description="Step out of frame: livekey averages frames of the empty screen into a "
                                   "clean plate (saved beside the profile as NAME-plate.png), measures the "
                                   "key colour, the screen's spread and the noise, and writes a profile.")
    p.add_argument("--source", default="0", help="a camera (0, /dev/video0; default camera 0, as for run), an "
                                                 "image or video of the empty screen, or demo (the built-in demo "
                                                 "screen, to try it out)")
    p.add_argument("--frames", type=int, default=30, help="frames to average (default 30)")
    p.add_argument("-o", "--output", required=True, help="the profile to write, e.g. calibration/studio.toml")
    p.set_defaults(func=cmd_calibrate)


def cmd_calibrate(args: argparse.Namespace) -> int:
    from livekey.config import calibration
    from livekey.runtime.startup import start_up

    start_up()  # the screen measurement runs kernels
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
    p.add_argument("--repeats", type=int, help="frames timed per size (default 40; 200 with --load)")
    p.add_argument("--sizes", nargs="+", metavar="WxH", help="sizes to time (default 1280x720 1920x1080 3840x2160)")
    p.add_argument("--no-ffmpeg", action="store_true", help="skip timing ffmpeg's chromakey chain")
    p.add_argument("--masks", action="store_true", help='also time each mask type (adds "masks": {type: '
                   '{"stage_ms", "full_ms"}} per size; "none" is the split path with no mask)')
    p.add_argument("--segment-model", metavar="MODEL.onnx", help="with --masks, also time this segmentation model")
    p.add_argument("--person", action="store_true", help='also time person mode step by step (adds "person": '
                   '{"model", "steps": {step: {"min", "median", "max"}}} per size; needs the person model)')
    p.add_argument("--load", type=int, metavar="N", help="contention: the default path (at the first --sizes, "
                   "default 1920x1080) and ffmpeg's chain quiet, then beside 1..N busy processes it starts and "
                   "stops itself; min / median / p90 over --repeats frames (default 200 here)")
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
    from livekey.lab import bench
    from livekey.runtime.startup import start_up

    start_up()  # the thread policy the live pipeline runs with

    sizes = [_parse_size(s) for s in args.sizes] if args.sizes else bench.SIZES
    if args.repeats is not None and args.repeats < 1:
        raise LivekeyError("--repeats must be at least 1")
    if args.load is not None:
        return bench_load(args, sizes[0] if args.sizes else (1920, 1080))
    results = bench.run(sizes, args.repeats or 40, with_ffmpeg=not args.no_ffmpeg, with_masks=args.masks,
                        segment_model=args.segment_model)
    text = "" if args.json else bench.format_results(results)
    if args.person:
        from livekey.lab import person_bench

        person = {f"{w}x{h}": person_bench.measure_person(w, h, args.repeats or 40) for w, h in sizes}
        for size, entry in person.items():
            results[size]["person"] = entry
        text += "\n" + person_bench.format_person(person)
    print(json.dumps(results) if args.json else text)
    return 0


def bench_load(args: argparse.Namespace, size: tuple[int, int]) -> int:
    """``livekey bench --load N``: the contention table (livekey.lab.contention)."""
    from livekey.lab import contention

    if not 0 <= args.load <= 16:
        raise LivekeyError("--load takes 0 to 16 busy processes")
    results = contention.measure(*size, loads=tuple(range(args.load + 1)), frames=args.repeats or 200,
                                 with_ffmpeg=not args.no_ffmpeg)
    print(json.dumps(results) if args.json else contention.format_contention(results))
    return 0


# --- livekey quality -------------------------------------------------------
def configure_quality(sub: argparse._SubParsersAction) -> None:
    from livekey.media.synthetic import SCENES

    p = sub.add_parser("quality", help="score livekey, OBS Chroma Key (grid-searched) and HSV inRange "
                                       "on synthetic scenes with ground truth, or on real photos (--real)")
    p.add_argument("--json", nargs="?", const="-", metavar="OUT",
                   help='print the full report as JSON: {"scenes": {...}, "temporal": {...}}; '
                        "with --real, write it to OUT")
    p.add_argument("--scenes", nargs="+", help=f"scenes to score (default all): {', '.join(SCENES)}; "
                                               "with --real, photo names, e.g. GT01,GT04")
    p.add_argument("--real", action="append", metavar="DIR", help="score real photos with ground-truth alpha "
                   "instead (image/NAME.png + alpha/NAME.png, or NAME_foreground.png + NAME_alpha.png) over "
                   "simulated screens; repeatable")
    p.add_argument("--save", metavar="DIR", help="with --real, write livekey's composite, matte and status per scene")
    p.add_argument("--conditions", metavar="LIST", help="with --real, the light conditions to place each object "
                   "under, comma-separated (default normal,hard): normal = a well-lit screen, hard = low, uneven "
                   "light, a deep shadow beside the subject, more spill, noise and JPEG")
    p.set_defaults(func=cmd_quality)


def cmd_quality(args: argparse.Namespace) -> int:
    from livekey.lab import quality

    names = [n for arg in args.scenes or [] for n in arg.split(",") if n]
    if args.real:
        return cmd_quality_real(args, names)
    unknown = sorted(set(names) - set(quality.synthetic.SCENES))
    if unknown or args.save or args.conditions or args.json not in (None, "-"):
        raise LivekeyError(f"no synthetic scene {', '.join(unknown)}; choose from {', '.join(quality.synthetic.SCENES)}"
                           if unknown else "--save, --conditions and --json OUT go with --real")
    args.scenes = names or None
    results = quality.report(args.scenes)
    temporal = {name: quality.temporal_report(name) for name in args.scenes or quality.TEMPORAL_SCENES}
    if args.json:
        print(json.dumps({"scenes": results, "temporal": temporal}))
    else:
        print(quality.format_table(results) + "\n\n" + quality.format_temporal(temporal))
    return 0


def cmd_quality_real(args: argparse.Namespace, names: list[str]) -> int:
    from livekey.lab import real_material

    say_if_compiling()
    started = time.monotonic()
    conditions = tuple(c for c in (args.conditions or ",".join(real_material.CONDITIONS)).split(",") if c)
    results = real_material.report(args.real, names or None, save=args.save, conditions=conditions)
    if args.json == "-":
        print(json.dumps(results))
        return 0
    if args.json:
        try:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
        except OSError as err:
            raise LivekeyError(f"cannot write {args.json}: {err.strerror or err}") from None
    print(real_material.format_table(results))
    print(f"({len(results)} scenes in {time.monotonic() - started:.0f} s)", file=sys.stderr)
    return 0


# --- livekey run -----------------------------------------------------------
def configure_run(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="key a camera, file or the demo scene live: preview, virtual camera, recording",
                       description="Capture, key and composite in real time. With no screen it runs headless.")
    p.add_argument("--source", default=None,
                   help="camera index or device (0, /dev/video0, 0:1280x720@30), a video or image file, "
                        "or demo / demo:WxH@FPS (default camera 0)")
    p.add_argument("--backdrop", default=None,
                   help="image or video file, a colour (#RRGGBB or a name), blur, transparent "
                        "(default: the bundled image)")
    p.add_argument("--profile", help="a TOML key profile (see calibration/)")
    p.add_argument("--no-preview", action="store_true", help="no window, even when a screen exists")
    for sink in SINKS.values():
        sink.add_arguments(p)
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this many seconds")
    p.add_argument("--stats", action="store_true", help="print one JSON line of run statistics at exit")
    p.add_argument("--as-fast-as-possible", action="store_true",
                   help="read files (and demo) as fast as they can be processed, without pacing or drops")
    p.add_argument("--no-loop", action="store_true", help="stop at the end of a video file instead of looping")
    p.add_argument("--overlay", metavar="IMAGE", help="an RGBA image (logo, lower third) put over the composite, "
                                                     "scaled to cover it")
    add_control_arguments(p)
    add_mask_arguments(p)
    add_arguments(p)
    p.set_defaults(func=cmd_run)


class _Signals:
    """SIGINT/SIGTERM during a run: before the pipeline runs, an interrupt (KeyboardInterrupt, caught
    in :func:`main` as "interrupted"); once it runs, a request to stop at the next frame, so the
    recording is finalised. Restores the previous handlers on exit."""

    def __init__(self) -> None:
        self.pipeline = None
        self.received = ""
        self.interrupt_until_started = True

    def __enter__(self) -> _Signals:
        self._old = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._old.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame) -> None:
        self.received = signal.Signals(signum).name
        if self.pipeline is not None and (self.pipeline.started or not self.interrupt_until_started):
            self.pipeline.request_stop()  # stop from the main thread's loop, not inside the handler
        else:
            raise KeyboardInterrupt


def cmd_run(args: argparse.Namespace) -> int:
    from livekey.control.state import Controller
    from livekey.media.backdrops import open_backdrop
    from livekey.media.sinks import open_sinks
    from livekey.media.sources import open_source
    from livekey.runtime.pipeline import Pipeline
    from livekey.runtime.quick_start import plain
    from livekey.runtime.startup import start_up
    from livekey.ui import has_screen

    if args.duration is not None and args.duration <= 0:
        raise LivekeyError("--duration must be a positive number of seconds")
    control = control_options(args)  # a refused address fails before the camera opens
    profile = load_profile(args)
    # A bad mask file or a missing person model fails now, not on the first frame.
    with_person(profile.masks, profile.settings.person).validate()
    top = read_overlay(args.overlay) if args.overlay else None
    preview = not args.no_preview and has_screen()
    with _Signals() as signals:
        # Compiled before the source, the sinks and their files open: a signal stops it at once, leaving none.
        # On a first run, only the plain path's kernels: the rest compile apart while it runs.
        quick = not start_up() and not profile.masks.active
        say_if_compiling(plain(profile.settings) if quick else profile.settings, profile.masks,
                         ("rgba",) if args.backdrop == "transparent" else ("composite",), live=not quick)
        if quick:
            print("livekey: first run: the plain key (no edge refinement, one flat key colour) until the "
                  "full one has compiled in the background", file=sys.stderr)
        backdrop = open_backdrop(args.backdrop)
        source = open_source(args.source, paced=not args.as_fast_as_possible, loop=not args.no_loop)
        try:
            sinks = open_sinks(args, *source.size, source.fps, alpha=backdrop.transparent)
        except BaseException:
            source.close()
            raise
        try:
            pipeline = Pipeline(source, profile.settings, backdrop, sinks, masks=profile.masks, overlay=top)
        except BaseException:
            for sink in sinks:
                sink.close()
            source.close()
            raise
        pipeline.quick_start = quick
        controller = Controller(pipeline, fps=source.fps, backdrop=args.backdrop, profile=args.profile)
        signals.pipeline = pipeline
        # With a window, Qt's loop runs the handler: ask the pipeline to stop, never raise into Qt.
        signals.interrupt_until_started = not preview
        started = _run_pipeline(args, controller, source, backdrop, sinks, preview, control)
    return _report(args, pipeline, sinks + controller.recorded, started, signals.received)


def _run_pipeline(args: argparse.Namespace, controller, source, backdrop, sinks: list, preview: bool,
                  control) -> float:
    """Run until the duration, the source's end, a signal or the window's close; return the start time."""
    pipeline = controller.pipeline
    described = (f"source {source.info}; backdrop {backdrop.info}; sinks: "
                 + (", ".join(s.info or s.name for s in sinks) or "none"))
    ui = None
    why = "--no-preview" if args.no_preview else "no screen"
    if preview:
        try:
            from livekey import ui
        except ImportError as err:
            why, preview = f"preview unavailable: {err}", False
    if not preview:
        print(f"livekey: running headless ({why}): {described}", file=sys.stderr)
    else:
        print(f"livekey: {described}", file=sys.stderr)
    started, server = time.monotonic(), None
    try:
        if control is not None:
            server = start_control(control, controller)
        if not (preview and ui is not None):
            pipeline.start()  # the window starts it itself, once it is shown
        started = time.monotonic()
        if preview and ui is not None:
            if args.duration:
                timer = threading.Timer(args.duration, pipeline.request_stop)
                timer.daemon = True
                timer.start()
            ui.run_window(pipeline, profile_path=args.profile, source=args.source, backdrop=args.backdrop,
                          vcam_device=args.vcam_device, fps=source.fps, controller=controller)
        else:
            deadline = None if args.duration is None else started + args.duration
            while not pipeline.wait(0.2):
                if deadline is not None and time.monotonic() >= deadline:
                    break
    finally:
        if server is not None:
            server.stop()
        pipeline.stop()  # finalises the recordings (an empty one is removed), even when interrupted
        controller.close()
    return started


def _report(args: argparse.Namespace, pipeline, sinks: list, started: float, received: str) -> int:
    """Print how the run ended and return the exit status: 1 when anything failed (processing, the
    source ended on damage, a recording stopped on an error), else 0."""
    if received:
        print(f"livekey: interrupted ({received}); stopped cleanly", file=sys.stderr)
    if pipeline.ended:
        print(f"livekey: {pipeline.ended}", file=sys.stderr)
    for sink in sinks:
        if sink.summary():
            print(f"livekey: {sink.summary()}", file=sys.stderr)
    stats = pipeline.stats()
    stats["seconds"] = round(time.monotonic() - started, 2) if pipeline.frames_in else 0.0
    print(f"livekey: {stats['frames_out']} frames in {stats['seconds']:g} s ({stats['fps']:g} fps), "
          f"{stats['dropped']} dropped, latency p50 {stats['latency_ms_p50']} ms, p99 {stats['latency_ms_p99']} ms",
          file=sys.stderr)
    if args.stats:
        print(json.dumps(stats))
    if pipeline.failures:
        print(f"livekey: error: the run failed: {files.clip(pipeline.failures[0], 200)}", file=sys.stderr)
        return 1
    return 0


# --- livekey devices -------------------------------------------------------
def configure_devices(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help="list the cameras OpenCV can open, with their modes")
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=cmd_devices)


def cmd_devices(args: argparse.Namespace) -> int:
    from livekey.media.sources import list_devices

    found = list_devices()
    if args.json:
        print(json.dumps(found))
    elif not found:
        print("no cameras found; try `livekey run --source demo` for the built-in demo scene")
    else:
        for cam in found:
            modes = f"; modes: {', '.join(cam['modes'])}" if cam["modes"] else ""
            print(f"{cam['device']}: {cam['mode']}{modes}")
    return 0


COMMANDS = (configure_run, configure_key, configure_render, configure_calibrate, configure_devices, configure_bench,
            configure_quality)


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
        print(f"livekey: error: {files.clip(str(err), 400)}", file=sys.stderr)  # one line, whatever it echoes
        return 2
    except KeyboardInterrupt:
        print("livekey: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())


