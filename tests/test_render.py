"""`livekey render`: every frame in order, timestamps, audio, the output kinds, a part of a clip."""

from __future__ import annotations

import av
import cv2
import numpy as np
import pytest

from livekey.cli import main
from tests.render_clips import FPS, audio_packets, read_index, video_frames, write_clip

RED = "#ff0000"


def render(capsys, *args: str) -> tuple[int, str]:
    """Run `livekey render ARGS` in this process; (exit code, stderr)."""
    code = main(["render", *map(str, args)])
    return code, capsys.readouterr().err


def test_every_frame_in_order_at_the_input_timestamps_with_the_audio_copied(tmp_path, capsys):
    clip, out = tmp_path / "numbered.mp4", tmp_path / "keyed.mp4"
    times = write_clip(clip, frames=24, audio=True)
    code, err = render(capsys, clip, "-o", out, "--backdrop", RED)
    assert code == 0, err
    frames = video_frames(out)
    assert [read_index(img) for _, img in frames] == list(range(24))
    assert [t for t, _ in frames] == pytest.approx(times, abs=1e-4)
    # Keyed: the green half is the red backdrop now, the bar code half is untouched.
    left = frames[5][1][:, :60].reshape(-1, 3).mean(axis=0)
    assert left[0] > 200 and left[1] < 60
    assert audio_packets(out) == audio_packets(clip)
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.name == "aac"
    assert "rendered" in err and "24 frames in" in err and "fps" in err


def test_variable_frame_rate_kept(tmp_path, capsys):
    clip, out = tmp_path / "vfr.mkv", tmp_path / "keyed.mkv"
    times = write_clip(clip, frames=15, vfr=True)
    assert len({round(b - a, 3) for a, b in zip(times, times[1:], strict=False)}) == 3  # really variable
    code, err = render(capsys, clip, "-o", out, "--backdrop", RED)
    assert code == 0, err
    frames = video_frames(out)
    assert [t for t, _ in frames] == times
    assert [read_index(img) for _, img in frames] == list(range(15))


def test_no_audio_drops_it(tmp_path, capsys):
    clip, out = tmp_path / "a.mp4", tmp_path / "keyed.mp4"
    write_clip(clip, frames=10, audio=True)
    assert render(capsys, clip, "-o", out, "--no-audio")[0] == 0
    with av.open(str(out)) as container:
        assert not container.streams.audio and container.streams.video[0].frames == 10


def test_audio_the_container_cannot_take_is_encoded_with_a_message(tmp_path, capsys):
    clip, out = tmp_path / "a.mp4", tmp_path / "keyed.webm"
    write_clip(clip, frames=10, audio=True)
    code, err = render(capsys, clip, "-o", out)
    assert code == 0, err
    assert "cannot be copied into .webm; encoding it as libopus" in err
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.name == "opus"


def _alpha_checks(rgba: np.ndarray) -> None:
    """The green half transparent, the bar code half opaque."""
    assert rgba[:, 10:60, 3].max() < 20
    assert rgba[20:70, 95:150, 3].min() > 235


@pytest.mark.parametrize("name, flags, codec, pix_fmt", [
    ("alpha.mov", [], "qtrle", "argb"),
    ("alpha-prores.mov", ["--codec", "prores"], "prores", "yuva444p"),  # the decoder says 12-bit
])
def test_transparent_mov_has_an_alpha_pixel_format(tmp_path, capsys, name, flags, codec, pix_fmt):
    clip, out = tmp_path / "n.mp4", tmp_path / name
    write_clip(clip, frames=12)
    code, err = render(capsys, clip, "-o", out, "--backdrop", "transparent", *flags)
    assert code == 0, err
    with av.open(str(out)) as container:
        ctx = container.streams.video[0].codec_context
        assert ctx.name == codec and ctx.pix_fmt.startswith(pix_fmt)
    frames = video_frames(out, fmt="rgba")
    assert [read_index(img) for _, img in frames] == list(range(12))
    _alpha_checks(frames[3][1])


def test_transparent_webm_is_vp9_with_alpha(tmp_path, capsys):
    clip, out = tmp_path / "n.mp4", tmp_path / "alpha.webm"
    write_clip(clip, frames=12)
    code, err = render(capsys, clip, "-o", out, "--backdrop", "transparent")
    assert code == 0, err
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "vp9" and stream.metadata.get("alpha_mode") == "1"
    frames = video_frames(out, fmt="rgba", codec="libvpx-vp9")
    assert len(frames) == 12
    _alpha_checks(frames[3][1])


def test_png_sequence_is_straight_rgba_numbered_from_one(tmp_path, capsys):
    clip = tmp_path / "n.mp4"
    write_clip(clip, frames=12)
    code, err = render(capsys, clip, "-o", tmp_path / "frames" / "%05d.png", "--backdrop", "transparent")
    assert code == 0, err
    files = sorted((tmp_path / "frames").iterdir())
    assert [f.name for f in files] == [f"{i:05d}.png" for i in range(1, 13)]
    images = [cv2.imread(str(f), cv2.IMREAD_UNCHANGED) for f in files]
    assert all(img.shape == (90, 160, 4) for img in images)
    assert [read_index(img[..., [2, 1, 0, 3]]) for img in images] == list(range(12))
    _alpha_checks(images[3])
    # Straight alpha: where the subject is opaque its colour is unscaled (the white blocks stay white).
    assert images[1][30:60, 92:100, :3].min() > 230  # frame 1 sets bit 0


def test_matte_only_is_grayscale(tmp_path, capsys):
    clip = tmp_path / "n.mp4"
    write_clip(clip, frames=6)
    code, err = render(capsys, clip, "-o", tmp_path / "matte" / "%03d.png", "--matte-only")
    assert code == 0, err
    matte = cv2.imread(str(tmp_path / "matte" / "004.png"), cv2.IMREAD_UNCHANGED)
    assert matte.ndim == 2
    assert matte[:, 10:60].max() < 20 and matte[20:70, 95:150].min() > 235
    code, err = render(capsys, clip, "-o", tmp_path / "matte.mov", "--matte-only")
    assert code == 0, err
    with av.open(str(tmp_path / "matte.mov")) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"
        assert container.streams.video[0].frames == 6


@pytest.mark.parametrize("flags, expected", [
    (["--start", "0.3", "--frames", "5"], list(range(9, 14))),
    (["--start", "0:00.2", "--end", "0.5"], list(range(6, 15))),
    (["--frames", "4"], list(range(4))),
])
def test_a_part_of_the_clip(tmp_path, capsys, flags, expected):
    clip, out = tmp_path / "n.mp4", tmp_path / "part.mp4"
    write_clip(clip, frames=20, audio=True)
    code, err = render(capsys, clip, "-o", out, *flags)
    assert code == 0, err
    frames = video_frames(out)
    assert [read_index(img) for _, img in frames] == expected
    start = float(flags[1].split(":")[-1]) if flags[0] == "--start" else 0.0
    assert frames[0][0] == pytest.approx(expected[0] / FPS - start, abs=1e-3)
    with av.open(str(out)) as container:  # the sound is cut to the same part
        sound = container.streams.audio[0]
        last = max(p.pts for p in container.demux(sound) if p.pts is not None) * sound.time_base
    assert float(last) < len(expected) / FPS + 0.05


@pytest.mark.parametrize("args, message", [
    (["missing.mp4", "-o", "out.mp4"], "does not exist"),
    (["{clip}", "-o", "out.avi"], "cannot render to out.avi"),
    (["{clip}", "-o", "out.mp4", "--backdrop", "transparent"], ".mp4 cannot hold transparency"),
    (["{clip}", "-o", "out.mp4", "--codec", "qtrle"], "--codec qtrle cannot be written to .mp4"),
    (["{clip}", "-o", "out.mp4", "--start", "soon"], "--start 'soon' is not a time"),
    (["{clip}", "-o", "out.mp4", "--start", "2", "--end", "1"], "is not after --start"),
    (["{clip}", "-o", "nofolder/out.mp4"], "folder"),
    (["{clip}", "-o", "{clip}", "--overwrite"], "is the input"),
    (["{clip}", "-o", "f/%05d.jpg"], "written as PNG"),
])
def test_bad_arguments_give_one_line(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    write_clip(tmp_path / "clip.mp4", frames=3)
    code, err = render(capsys, *(a.replace("{clip}", "clip.mp4") for a in args))
    assert code == 2
    assert err.startswith("livekey: error:") and message in err and err.count("\n") == 1, err


def test_key_given_a_video_points_to_render(tmp_path, capsys):
    write_clip(tmp_path / "clip.mp4", frames=2)
    code = main(["key", str(tmp_path / "clip.mp4"), "-o", str(tmp_path / "out.png")])
    err = capsys.readouterr().err
    assert code == 2 and "livekey render" in err


def test_masks_overlay_and_settings_apply_as_in_run(tmp_path, capsys):
    clip, out, logo = tmp_path / "n.mp4", tmp_path / "keyed.mp4", tmp_path / "logo.png"
    write_clip(clip, frames=6)
    top = np.zeros((90, 160, 4), np.uint8)
    top[70:88, 120:158] = (255, 0, 0, 255)  # an opaque blue box, bottom right (BGRA)
    cv2.imwrite(str(logo), top)
    code, err = render(capsys, clip, "-o", out, "--backdrop", RED, "--mask", "core:rect:0,0,0.25,1",
                       "--overlay", logo, "--temporal", "0.5")
    assert code == 0, err
    img = video_frames(out)[3][1]  # RGB
    assert img[10:80, 5:35, 1].mean() > 100 and img[10:80, 5:35, 0].mean() < 160  # core matte: screen kept (despilled)
    assert img[10:80, 45:75, 0].mean() > 200 and img[10:80, 45:75, 1].mean() < 60  # keyed: the red backdrop
    assert img[74:86, 125:150, 2].mean() > 200 and img[74:86, 125:150, 0].mean() < 60  # the overlay on top
    assert [read_index(i) for _, i in video_frames(out)[:3]] == [0, 1, 2]


def test_a_video_backdrop_follows_the_clip_time_not_the_wall_clock(tmp_path, capsys):
    clip, back, out = tmp_path / "n.mp4", tmp_path / "back.mp4", tmp_path / "keyed.mp4"
    write_clip(clip, frames=15)
    with av.open(str(back), "w") as container:  # the numbered picture mirrored: its bar code on the left
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 160, 90, "yuv420p"
        stream.options = {"crf": "12"}
        from tests.render_clips import picture

        for i in range(15):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(picture(i)[:, ::-1]), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    code, err = render(capsys, clip, "-o", out, "--backdrop", back)
    assert code == 0, err
    # Rendering runs many times faster than real time; the backdrop still moves one frame per clip frame.
    assert [read_index(img[:, ::-1]) for _, img in video_frames(out)] == list(range(15))


def test_a_width_whose_rows_the_decoder_pads_is_keyed(tmp_path, capsys):
    """PyAV hands back a frame's rows with their padding: at 100 px (300 bytes a row, padded to 336
    or 384) the array is not contiguous, which the keying kernels do not take."""
    clip, out = tmp_path / "narrow.mp4", tmp_path / "keyed.mp4"
    write_clip(clip, frames=4, size=(100, 60))
    with av.open(str(clip)) as container:
        assert not next(container.decode(video=0)).to_ndarray(format="bgr24").flags["C_CONTIGUOUS"]
    code, err = render(capsys, clip, "-o", out, "--backdrop", RED)
    assert code == 0, err
    frames = video_frames(out)
    assert len(frames) == 4 and frames[0][1].shape == (60, 100, 3)
