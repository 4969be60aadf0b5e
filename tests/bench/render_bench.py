"""`livekey render` against ffmpeg, and a batch over processes against one clip after another.

    PYTHONPATH=. python tests/bench/render_bench.py [--size 1920x1080] [--seconds 10] [--rounds 3]

Clips: the demo scene (a swaying subject on an unevenly lit green screen, with spill and sensor
noise) encoded as H.264 (preset fast, crf 16) with a 440 Hz AAC track. All commands write H.264
with ``-preset veryfast -crf 18`` and copy the audio; each is timed as a whole process (start-up
included) and the rows alternate within each round, so a machine shared with other work slows
them alike. Reported: min / median / max seconds over the rounds and the ratios of the medians.

* ``livekey render``: the clip keyed over the bundled backdrop.
* ffmpeg ``chromakey,despill,overlay``: the same clip over the same backdrop image.
* ffmpeg transcode: decode and encode alone, the floor for any keyer.
* batch: 4 clips of ``--batch-seconds`` each with ``--jobs 2`` against ``--jobs 1`` (one clip after
  another in one worker process).
* with ``--baseline SRC``: ``livekey render`` run from another checkout's package folder (for
  example ``git archive HEAD~3 livekey assets | tar -x -C /tmp/base``, then ``--baseline /tmp/base``), to
  time a change against what it replaced in the same run.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from livekey.media.backdrops import DEFAULT_BACKDROP
from livekey.media.sources import DemoSource

KEY = "0x30B13E"  # the demo screen's colour, as `livekey bench` gives ffmpeg's chromakey
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "18"]


def make_clip(path: Path, width: int, height: int, seconds: float, fps: int = 30, seed: int = 0) -> None:
    """The demo scene as an H.264 + AAC MP4."""
    demo = DemoSource(width, height, fps, paced=False, seed=seed)
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "fast", "crf": "16"}
        sound = out.add_stream("aac", rate=48000)
        for i in range(round(seconds * fps)):
            frame = av.VideoFrame.from_ndarray(demo.render(i), format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        for start in range(0, int(48000 * seconds), 1024):
            t = np.arange(start, start + 1024) / 48000
            tone = av.AudioFrame.from_ndarray((0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None],
                                              format="fltp", layout="mono")
            tone.sample_rate, tone.pts = 48000, start
            out.mux(sound.encode(tone))
        out.mux(sound.encode(None))


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process and its children)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def floor_commands(ffmpeg: str, clip: Path, tmp: Path) -> dict[str, list[str]]:
    """What no keyer can avoid with these encoder settings: decoding the clip and encoding a
    composite (the render's own output, so the encoder sees the same pictures); and what every
    livekey process pays before its first frame (imports, loading the cached kernels)."""
    keyed = str(tmp / "livekey.mp4")
    null = ["-map", "0:v", "-f", "null", "-"]
    return {
        "floor: decode the clip": [ffmpeg, "-v", "error", "-nostdin", "-i", str(clip), *null],
        "floor: decode the render's output": [ffmpeg, "-v", "error", "-nostdin", "-i", keyed, *null],
        "floor: decode + x264 the render's output": [ffmpeg, "-v", "error", "-nostdin", "-i", keyed,
                                                     "-map", "0:v", *X264, "-f", "null", "-"],
        "livekey render --frames 1 (start-up)": [sys.executable, "-m", "livekey", "render", str(clip), "-o",
                                                  str(tmp / "one.mp4"), "--overwrite", "--quiet", "--frames", "1"],
    }


def commands(ffmpeg: str, clip: Path, batch: list[Path], tmp: Path, size: str,
             baseline: str | None = None) -> dict[str, list[str]]:
    livekey = [sys.executable, "-m", "livekey", "render"]
    w, h = size.split("x")
    chain = (f"[1]scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}[bg];"
             f"[0]chromakey={KEY}:0.12:0.08,despill=type=green[fg];[bg][fg]overlay=format=auto:shortest=1")
    before = {} if baseline is None else {
        "livekey render (baseline)": ["env", f"PYTHONPATH={baseline}", *livekey, str(clip), "-o",
                                      str(tmp / "baseline.mp4"), "--overwrite", "--quiet"]}
    return {
        "livekey render": [*livekey, str(clip), "-o", str(tmp / "livekey.mp4"), "--overwrite", "--quiet"],
        **before,
        # The backdrop image looped at the clip's rate: overlay's output follows its first input.
        "ffmpeg chromakey,despill,overlay": [ffmpeg, "-y", "-v", "error", "-nostdin", "-i", str(clip), "-loop", "1",
                                             "-framerate", "30", "-i", str(DEFAULT_BACKDROP),
                                             "-filter_complex", chain, *X264, "-c:a", "copy",
                                             str(tmp / "ffmpeg-key.mp4")],
        "ffmpeg transcode": [ffmpeg, "-y", "-v", "error", "-nostdin", "-i", str(clip), *X264, "-c:a", "copy",
                             str(tmp / "ffmpeg-plain.mp4")],
        "batch of 4, --jobs 1": [*livekey, *map(str, batch), "-o", f"{tmp}/jobs1/", "--overwrite", "--quiet",
                                 "--jobs", "1"],
        "batch of 4, --jobs 2": [*livekey, *map(str, batch), "-o", f"{tmp}/jobs2/", "--overwrite", "--quiet",
                                 "--jobs", "2"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the single clip")
    parser.add_argument("--batch-seconds", type=float, default=4.0, help="length of each batch clip")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", metavar="SRC", help="a folder holding another version's livekey package")
    parser.add_argument("--floor", action="store_true",
                        help="also time decode and x264 alone, and a render's start-up (what bounds the ratios)")
    args = parser.parse_args()
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("ffmpeg is not installed (apt-get install ffmpeg)")
    w, h = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        clip = tmp / "clip.mp4"
        make_clip(clip, w, h, args.seconds)
        batch = [tmp / f"batch{i}.mp4" for i in range(4)]
        for i, path in enumerate(batch):
            make_clip(path, w, h, args.batch_seconds, seed=i + 1)
        cmds = commands(ffmpeg, clip, batch, tmp, args.size, args.baseline)
        if args.floor:
            cmds |= floor_commands(ffmpeg, clip, tmp)
        load_before = os.getloadavg()[0]
        for name in cmds:  # the kernels compiled or loaded, the page cache warm
            if name.startswith("livekey render"):
                timed(cmds[name])
        wall: dict[str, list[float]] = {name: [] for name in cmds}
        cpu: dict[str, list[float]] = {name: [] for name in cmds}
        for _ in range(args.rounds):
            for name, cmd in cmds.items():
                w_s, c_s = timed(cmd)
                wall[name].append(w_s)
                cpu[name].append(c_s)
        frames = round(args.seconds * 30)
        print(f"{args.size}, {frames} frames (single clip), 4 x {round(args.batch_seconds * 30)} frames (batch), "
              f"{args.rounds} rounds, load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after")
        report("wall-clock", wall, frames, args)
        report("CPU (user + sys)", cpu, frames, args)


def report(what: str, times: dict[str, list[float]], frames: int, args: argparse.Namespace) -> None:
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"\n{what} seconds\n\n| command | min | median | max | frames/s (median) |\n"
          "| --- | ---: | ---: | ---: | ---: |")
    for name, t in times.items():
        n = 4 * round(args.batch_seconds * 30) if name.startswith("batch") else 1 if "start-up" in name else frames
        print(f"| {name} | {min(t):.2f} | {med[name]:.2f} | {max(t):.2f} | {n / med[name]:.1f} |")
    live = med["livekey render"]
    print(f"\nffmpeg key chain / livekey render: {med['ffmpeg chromakey,despill,overlay'] / live:.2f}x (target >= 3)")
    print(f"livekey render / ffmpeg transcode: {live / med['ffmpeg transcode']:.2f}x (target <= 1.5)")
    print(f"batch --jobs 1 / --jobs 2: {med['batch of 4, --jobs 1'] / med['batch of 4, --jobs 2']:.2f}x "
          f"(target >= 1.6 wall-clock)")
    if "floor: decode the clip" in med:
        floor(med, live)
    if "livekey render (baseline)" in med:
        base = times["livekey render (baseline)"]
        print(f"livekey render baseline / this: {med['livekey render (baseline)'] / live:.2f}x; per round "
              + ", ".join(f"{b / r:.2f}x" for b, r in zip(base, times["livekey render"], strict=True)))
    rounds = zip(times["ffmpeg chromakey,despill,overlay"], times["livekey render"], times["ffmpeg transcode"],
                 times["batch of 4, --jobs 1"], times["batch of 4, --jobs 2"], strict=True)
    print("per round (key chain / livekey, livekey / transcode, jobs 1 / jobs 2): "
          + "; ".join(f"{k / r:.2f}x {r / p:.2f}x {j1 / j2:.2f}x" for k, r, p, j1, j2 in rounds))


def floor(med: dict[str, float], live: float) -> None:
    """The least any keyer pays with these encoder settings, and where the render stands to it."""
    x264 = med["floor: decode + x264 the render's output"] - med["floor: decode the render's output"]
    least = med["floor: decode the clip"] + x264
    start = med["livekey render --frames 1 (start-up)"]
    chain = med["ffmpeg chromakey,despill,overlay"]
    print(f"floor (decode the clip + x264 the composite, no key): {least:.2f}; ffmpeg key chain / floor: "
          f"{chain / least:.2f}x (the most any keyer reaches); livekey render - floor: {live - least:.2f}, of "
          f"which start-up (render --frames 1) {start:.2f}; key chain / (floor + start-up): "
          f"{chain / (least + start):.2f}x (a key that cost nothing)")


if __name__ == "__main__":
    main()
