"""`livekey render` as ffmpeg users expect it to behave: no overwriting without --overwrite, no
finished-looking file from a cut-off render, Ctrl-C keeps what was keyed, damaged input reported."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import pytest

from livekey.cli import main
from tests.render_clips import damage_frame, read_index, video_frames, write_clip
from tests.test_render import render

SLOW = ("--preset", "veryslow")  # a real encoder setting that makes a small render last seconds
LONG = 900  # frames: about ten seconds of rendering with SLOW at 320x180 here


def start_render(*args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "livekey", "render", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_file(path: Path, proc: subprocess.Popen, timeout: float = 90) -> None:
    """Until ``path`` exists and holds data (the render is under way)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size > 0:
            return
        if proc.poll() is not None:
            raise AssertionError(f"render ended early: {proc.communicate()[1]}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"{path} never appeared")


def test_existing_output_is_refused_and_left_untouched(tmp_path, capsys):
    clip, out = tmp_path / "n.mp4", tmp_path / "keyed.mp4"
    write_clip(clip, frames=8)
    assert render(capsys, clip, "-o", out, "--backdrop", "#ff0000")[0] == 0
    first, stamp = out.read_bytes(), out.stat().st_mtime_ns
    code, err = render(capsys, clip, "-o", out, "--backdrop", "blue")
    assert code == 2 and err == f"livekey: error: {out} exists; add --overwrite to replace it\n"
    assert out.read_bytes() == first and out.stat().st_mtime_ns == stamp
    code, err = render(capsys, clip, "-o", out, "--backdrop", "blue", "--overwrite")
    assert code == 0, err
    assert out.read_bytes() != first


def test_existing_frames_are_refused(tmp_path, capsys):
    clip = tmp_path / "n.mp4"
    write_clip(clip, frames=4)
    pattern = tmp_path / "frames" / "%04d.png"
    assert render(capsys, clip, "-o", pattern)[0] == 0
    before = (tmp_path / "frames" / "0001.png").read_bytes()
    code, err = render(capsys, clip, "-o", pattern, "--backdrop", "blue")
    assert code == 2 and "--overwrite" in err
    assert (tmp_path / "frames" / "0001.png").read_bytes() == before
    (tmp_path / "frames" / "notes.txt").write_text("mine")
    code, err = render(capsys, clip, "-o", pattern, "--backdrop", "blue", "--overwrite", "--frames", "2")
    assert code == 0, err
    # The two new frames, and no frame of the earlier render left to mix with them; other files kept.
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == ["0001.png", "0002.png", "notes.txt"]
    assert (tmp_path / "frames" / "0001.png").read_bytes() != before


def test_a_killed_render_leaves_no_finished_looking_file(tmp_path):
    clip, out = tmp_path / "long.mp4", tmp_path / "keyed.mp4"
    write_clip(clip, frames=LONG, size=(320, 180))
    proc = start_render(clip, "-o", out, *SLOW)
    part = tmp_path / ".keyed.mp4.livekey-part"
    wait_for_file(part, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".keyed.mp4.livekey-part", "long.mp4"]


def test_ctrl_c_stops_cleanly_and_says_what_was_kept(tmp_path):
    clip, out = tmp_path / "long.mp4", tmp_path / "keyed.mp4"
    write_clip(clip, frames=LONG, size=(320, 180))
    proc = start_render(clip, "-o", out, *SLOW)
    wait_for_file(tmp_path / ".keyed.mp4.livekey-part", proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not out.exists() and not (tmp_path / ".keyed.mp4.livekey-part").exists()
    kept = tmp_path / "keyed.partial.mp4"
    assert f"they are in {kept}; {out} was not written" in err
    frames = video_frames(kept)
    said = int(err.split("interrupted after ")[1].split(" frames")[0])
    assert 0 < len(frames) == said < LONG
    assert [read_index(img) for _, img in frames] == list(range(len(frames)))


def test_an_error_mid_render_leaves_no_output(tmp_path, capsys):
    clip, out = tmp_path / "n.mp4", tmp_path / "keyed.mp4"
    write_clip(clip, frames=20)
    seconds = damage_frame(clip, 12)
    code, err = render(capsys, clip, "-o", out)
    assert code == 1
    assert f"damaged video at {seconds:.3f} s" in err and "--skip-damaged" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.mp4"]


def test_skip_damaged_skips_the_damaged_frame_and_says_when(tmp_path, capsys):
    clip, out = tmp_path / "n.mp4", tmp_path / "keyed.mp4"
    write_clip(clip, frames=20)
    seconds = damage_frame(clip, 12)
    code, err = render(capsys, clip, "-o", out, "--skip-damaged")
    assert code == 0, err
    assert f"damaged video at {seconds:.3f} s" in err and "skipped" in err
    indices = [read_index(img) for _, img in video_frames(out)]
    assert indices[:12] == list(range(12)) and 12 not in indices and len(indices) == 19


def test_a_cut_off_clip_is_reported_where_it_ends(tmp_path, capsys):
    clip, out = tmp_path / "cut.mp4", tmp_path / "keyed.mp4"
    write_clip(clip, frames=60, options={"movflags": "+faststart"})  # the index, promising 60 frames, first
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) * 7 // 10])
    code, err = render(capsys, clip, "-o", out)
    assert code == 1 and "the clip ends early" in err and "of 60 frames decoded" in err and not out.exists()
    code, err = render(capsys, clip, "-o", out, "--skip-damaged")
    assert code == 0, err
    kept = int(err.split("ends early: ")[1].split(" of 60")[0])
    assert 0 < kept < 60
    assert [read_index(img) for _, img in video_frames(out)] == list(range(kept))


def test_a_part_past_the_end_writes_nothing(tmp_path, capsys):
    clip = tmp_path / "n.mp4"
    write_clip(clip, frames=10)
    code, err = render(capsys, clip, "-o", tmp_path / "k.mp4", "--start", "5")
    assert code == 1 and "no frame to key in the part asked for; nothing written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["n.mp4"]


def test_a_file_that_is_not_a_video(tmp_path, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    code, err = render(capsys, bad, "-o", tmp_path / "out.mp4")
    assert code == 2 and "is not a video PyAV can open" in err and err.count("\n") == 1


def test_a_batch_with_a_bad_clip_renders_the_others_and_fails(tmp_path, capsys):
    clips = [tmp_path / "one.mp4", tmp_path / "bad.mov", tmp_path / "two.mkv"]
    write_clip(clips[0], frames=10, audio=True)
    clips[1].write_bytes(b"\0" * 5000)
    write_clip(clips[2], frames=14)
    outdir = tmp_path / "out"
    code, err = render(capsys, *clips, "-o", f"{outdir}/", "--jobs", "2")
    assert code == 1, err
    assert sorted(p.name for p in outdir.iterdir()) == ["one.mp4", "two.mp4"]
    assert [read_index(img) for _, img in video_frames(outdir / "one.mp4")] == list(range(10))
    assert [read_index(img) for _, img in video_frames(outdir / "two.mp4")] == list(range(14))
    with av.open(str(outdir / "one.mp4")) as container:
        assert container.streams.audio
    assert "livekey: error: input" in err and "bad.mov" in err
    assert "3 clips: 2 done, 1 not; 24 frames in" in err


def test_batch_outputs_need_a_folder_and_distinct_names(tmp_path, capsys):
    a, b = tmp_path / "x" / "clip.mp4", tmp_path / "y" / "clip.mp4"
    for p in (a, b):
        p.parent.mkdir()
        write_clip(p, frames=2)
    code, err = render(capsys, a, b, "-o", tmp_path / "out")
    assert code == 2 and "would collide" in err
    (tmp_path / "file.mp4").write_bytes(b"x")
    code, err = render(capsys, a, tmp_path / "n.mp4", "-o", tmp_path / "file.mp4")
    assert code == 2 and "-o is a folder" in err


def test_cluster_without_ray_names_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    write_clip(tmp_path / "n.mp4", frames=2)
    code, err = render(capsys, tmp_path / "n.mp4", "-o", f"{tmp_path}/out/", "--cluster", "ray")
    assert code == 2 and "pip install 'livekey[cluster]'" in err and err.count("\n") == 1


def test_the_batch_on_a_local_ray_cluster(tmp_path, capsys):
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'livekey[cluster]')")
    clips = [tmp_path / "one.mp4", tmp_path / "two.mp4", tmp_path / "bad.mp4"]
    write_clip(clips[0], frames=10, audio=True)
    write_clip(clips[1], frames=12)
    clips[2].write_bytes(b"\0" * 100)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        code = main(["render", *map(str, clips), "-o", f"{tmp_path}/out/", "--cluster", "ray"])
    finally:
        ray.shutdown()
    err = capsys.readouterr().err
    assert code == 1, err
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["one.mp4", "two.mp4"]
    assert [read_index(img) for _, img in video_frames(out / "one.mp4")] == list(range(10))
    assert [read_index(img) for _, img in video_frames(out / "two.mp4")] == list(range(12))
    assert "3 clips on Ray: 2 done, 1 not" in err and "bad.mp4" in err


def test_cluster_address_must_be_ray(tmp_path, capsys):
    write_clip(tmp_path / "n.mp4", frames=2)
    code, err = render(capsys, tmp_path / "n.mp4", "-o", f"{tmp_path}/out/", "--cluster", "spark://x:7077")
    assert code == 2 and "give ray (the local cluster) or ray://HOST:PORT" in err


def test_cluster_not_running_is_one_line(tmp_path, capsys, monkeypatch):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'livekey[cluster]')")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    write_clip(tmp_path / "n.mp4", frames=2)
    code, err = render(capsys, tmp_path / "n.mp4", "-o", f"{tmp_path}/out/", "--cluster", "ray")
    assert code == 2 and err.startswith("livekey: error: cannot reach the Ray cluster at ray")
    assert "ray start --head" in err and err.count("\n") == 1


def test_ctrl_c_stops_a_batch_and_each_running_clip_keeps_its_part(tmp_path):
    clips = [tmp_path / f"{name}.mp4" for name in ("a", "b", "c")]
    for clip in clips:
        write_clip(clip, frames=LONG, size=(320, 180))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "livekey", "render", *map(str, clips), "-o", f"{out}/", "--jobs",
                             "2", *SLOW], env=env, stderr=subprocess.PIPE, text=True, start_new_session=True)
    for name in ("a", "b"):
        wait_for_file(out / f".{name}.mp4.livekey-part", proc)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, err
    assert sorted(p.name for p in out.iterdir()) == ["a.partial.mp4", "b.partial.mp4"]
    assert "c.mp4: not started" in err and "3 clips: 0 done, 3 not" in err
    for name in ("a", "b"):
        said = int(err.split(f"{name}.mp4: interrupted after ")[1].split(" frames")[0])
        assert len(video_frames(out / f"{name}.partial.mp4")) == said
