"""The guarded door (livekey.media.files) and the issue 27 corpus: every hostile file or value found
by the tester gives one line naming the problem, fast, never a traceback or a hang."""

import os
import struct
import time
import zlib

import cv2
import numpy as np
import pytest

from livekey.cli import main
from livekey.config.profile import Profile
from livekey.errors import LivekeyError
from livekey.media import files, images
from livekey.media.backdrops import open_backdrop
from livekey.media.sources import open_source


def one_line(err: BaseException) -> str:
    text = str(err)
    assert "\n" not in text and len(text) <= 400, text
    return text


def png_header(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (its data is one empty row: damaged past it)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))


# --- profiles ----------------------------------------------------------------------------------
PROFILE_CASES = [
    (b'[key]\nhue_width = 30.0 # caf\xe9\n', "not UTF-8 text"),
    (b"a = " + b"[" * 2000 + b"]" * 2000 + b"\n", "nested more than"),
    (b"[key]\nhue_width = 1" + b"0" * 400 + b"\n", "hue_width: 1000000"),
    (b"[key]\nhue_width = 1" + b"0" * 5000 + b"\n", "not valid TOML"),
    (b"a" + b".a" * 24000 + b" = 1\n", "dotted key of more than"),
    (b"[" + b"a." * 50000 + b"a]\n", "dotted key of more than"),
    (b'x = {a = {b = {c = {d = {e = {f = {g = {h = {i = {j = {k = {l = {m = {n = {o = {p = {q = 1}}}}}}}}}}}}}}}}}\n',
     "nested more than"),
    (b"[key]\nhue_width = " + b'"' + b"w" * 100_000 + b'"\n', "100000 characters"),
    (b"[key\n", "not valid TOML"),
    (b"[" + b"k" * 100_000 + b"]\n", "unknown section"),
    (b"[key]\n" + b"q" * 100_000 + b" = 1\n", "unknown key"),
    (b'[key]\nplate = "../../etc/passwd"\n', "climbs out of the profile's folder"),
    (b'[[mask]]\ntype = "image"\npath = "../secret.png"\n', "climbs out of the profile's folder"),
    (b'[[mask]]\ntype = "image"\npath = "' + b"x" * 300 + b'.png"\n', ""),  # loads; the file is checked on use
]


@pytest.mark.parametrize("content, expected", PROFILE_CASES)
def test_hostile_profiles_give_one_line(tmp_path, monkeypatch, content, expected):
    monkeypatch.chdir(tmp_path)
    path = "p.toml"
    (tmp_path / path).write_bytes(content)
    t0 = time.monotonic()
    if not expected:
        Profile.load(path)
        return
    with pytest.raises(LivekeyError, match=expected) as err:
        Profile.load(path)
    one_line(err.value)
    assert time.monotonic() - t0 < 5


def test_profile_over_a_megabyte_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.toml"
    path.write_bytes(b"# " + b"x" * (1 << 20) + b"\n")
    with pytest.raises(LivekeyError, match="over the 1.0 MB a profile may have"):
        Profile.load(path)


def test_profile_path_inside_its_folder_still_resolves(tmp_path):
    (tmp_path / "plates").mkdir()
    (tmp_path / "p.toml").write_text('[key]\nplate = "plates/../plates/plate.png"\n')
    assert Profile.load(tmp_path / "p.toml").settings.plate == str(tmp_path / "plates" / "plate.png")


@pytest.mark.parametrize("kind", ["profile", "plate", "backdrop", "source", "mask", "overlay"])
def test_a_fifo_is_refused_without_blocking(tmp_path, kind):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    with pytest.raises(LivekeyError, match="FIFO") as err:
        if kind == "profile":
            Profile.load(fifo)
        elif kind == "plate":
            from livekey.engine.screen import load_plate

            load_plate(str(fifo), (64, 48))
        elif kind == "backdrop":
            open_backdrop(str(fifo))
        elif kind == "source":
            open_source(str(fifo))
        elif kind == "mask":
            from livekey.masks import parse_mask_spec

            parse_mask_spec(f"image:{fifo}")[0]
            images.read_image(fifo, "mask image")
        else:
            images.read_image(fifo, "overlay", keep_alpha=True)
    one_line(err.value)
    assert time.monotonic() - t0 < 2


def test_a_fifo_swapped_in_after_the_check_is_caught(tmp_path, monkeypatch):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    monkeypatch.setattr(files, "regular_file", lambda path, what: path)  # as if it was a file when checked
    with pytest.raises(LivekeyError, match="FIFO"):
        files.read_bytes(fifo, "profile", 1000)


def test_a_device_is_refused(tmp_path):
    with pytest.raises(LivekeyError, match="is a device"):
        files.read_text("/dev/zero", "profile")


@pytest.mark.parametrize("opener", [
    lambda p: Profile.load(p), lambda p: images.read_image(p), lambda p: open_source(p),
    lambda p: open_backdrop(p)])
def test_too_long_paths_give_one_line(tmp_path, opener):
    path = str(tmp_path / ("x" * 300 + ".png"))
    with pytest.raises(LivekeyError) as err:
        opener(path)
    assert "too long" in one_line(err.value)


# --- images ------------------------------------------------------------------------------------
def test_a_header_claiming_60000_squared_is_refused_before_decoding(tmp_path):
    path = tmp_path / "huge.png"
    path.write_bytes(png_header(60000, 60000))
    with pytest.raises(LivekeyError, match="header says 60000x60000") as err:
        images.read_image(path, "backdrop")
    one_line(err.value)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".tiff", ".bmp", ".webp"])
def test_headers_are_read_for_every_format(tmp_path, ext):
    img = np.full((37, 53, 3), 90, np.uint8)
    assert cv2.imwrite(str(tmp_path / f"a{ext}"), img)
    data, header = files.read_image_bytes(tmp_path / f"a{ext}", "input")
    assert (header.width, header.height) == (53, 37)


@pytest.mark.parametrize("dtype, scale", [(np.float32, 1.0), (np.float64, 1.0), (np.float32, 255.0)])
def test_float_tiffs_are_converted_not_black(tmp_path, dtype, scale):
    img = np.zeros((40, 60, 3), dtype)
    img[:, :30] = 0.5 * scale
    img[:, 30:] = (0.2 * scale, 0.4 * scale, 0.8 * scale)
    img[0, 0] = np.nan
    path = tmp_path / "f.tiff"
    assert cv2.imwrite(str(path), img)
    assert files.read_image_bytes(path, "input")[1].float_samples
    out = images.read_image(path, "input")
    assert out.dtype == np.uint8 and out.shape == (40, 60, 3)
    assert abs(int(out[5, 5, 0]) - 128) <= 1 and tuple(out[5, 40]) == (51, 102, 204)
    back = open_backdrop(str(path)).frame(np.zeros((40, 60, 3), np.uint8), None)
    assert back.mean() > 80  # the backdrop is the picture, not black


def test_a_float_tiff_source_runs(tmp_path):
    img = np.full((40, 60, 3), 0.6, np.float32)
    cv2.imwrite(str(tmp_path / "f.tiff"), img)
    frame, _ = open_source(str(tmp_path / "f.tiff")).read()
    assert frame.dtype == np.uint8 and abs(int(frame.mean()) - 153) <= 1


def test_odd_sample_types_are_refused_by_name(tmp_path):
    with pytest.raises(LivekeyError, match="int32 samples"):
        images.to_uint8(np.zeros((4, 4, 3), np.int32), "input", "x.tiff")
    with pytest.raises(LivekeyError, match="has 2 channels"):
        images.to_uint8(np.zeros((4, 4, 2), np.uint8), "input", "x.tiff")


@pytest.mark.parametrize("content", [b"", b"hello", b"\x89PNG\r\n\x1a\n", png_header(10, 10),
                                     b"\xff\xd8\xff\xe0" + b"\x00" * 20, b"II*\x00" + b"\xff" * 8, b"BM" + b"\0" * 40])
def test_damaged_images_give_one_line(tmp_path, content):
    path = tmp_path / "x.png"
    path.write_bytes(content)
    with pytest.raises(LivekeyError) as err:
        images.read_image(path)
    assert "x.png" in one_line(err.value)


# --- masks and flags ----------------------------------------------------------------------------
MASK_CASES = [
    ("key@add@add", "more than one @MODE"),
    ("garbage@add:rect:0,0,1,1", "@MODE goes at the end"),
    ("key@add:feather=2", "@MODE goes at the end"),
    ("garbage:rect:0,0,1,1:feather=2:feather=3", "feather more than once"),
    ("garbage:rect:0,,1,1", "empty number"),
    ("garbage:rect:0,0,1,1,", "empty number"),
    ("garbage::rect:0,0,1,1", "empty item"),
    ("garbage:rect:0,0,1,1:", "empty item"),
    ("", "empty mask"),
    ("   ", "empty mask"),
    ("garbage:rect:0.5,0,0.5,1", "zero width or height"),
    ("core:poly:0,0,0.5,0.5,1,1", "zero area"),
    ("garbage:rect:" + ",".join(["0.5"] * 5000), "over 4096"),
    ("image:" + "x" * 100_000, "over 4096"),
    ("image:" + "x" * 4000 + ".png:feather=" + "9" * 50, r"feather: 1e\+50 is not allowed"),
]


@pytest.mark.parametrize("spec, expected", MASK_CASES)
def test_bad_mask_specs_give_one_line(spec, expected):
    from livekey.masks import parse_mask_spec

    with pytest.raises(LivekeyError, match=expected) as err:
        parse_mask_spec(spec)
    one_line(err.value)


def test_good_mask_specs_still_parse():
    from livekey.masks import parse_mask_spec

    assert parse_mask_spec("garbage:rect:0.1,0,0.9,1@add")[0].mode == "add"
    assert parse_mask_spec("~core:ellipse:0.5,0.5,0.2,0.3:feather=2")[0].invert
    assert parse_mask_spec("key:feather=1")[0].feather == 1.0


@pytest.mark.parametrize("args, expected", [
    (["--refine-radius", "1" + "0" * 1000], "refine_radius: "),
    (["--hue-width", "1e999"], "hue_width: inf"),
    (["--hue-width", "x" * 100_000], "100000 characters"),
    (["--mask", "key@add@add"], "more than one @MODE"),
    (["--profile", "/dev/zero"], "is a device"),
])
def test_cli_values_give_one_line(tmp_path, capsys, args, expected):
    cv2.imwrite(str(tmp_path / "in.png"), np.zeros((16, 16, 3), np.uint8))
    assert main(["key", str(tmp_path / "in.png"), "-o", str(tmp_path / "o.png"), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("livekey: error: ") and expected in err
    assert err.count("\n") == 1 and len(err) <= 220, err


def test_shorten_and_clip():
    assert files.shorten("abc") == "'abc'"
    assert files.shorten("y" * 500) == repr("y" * 80) + "... (500 characters)"
    assert files.clip("a\nb") == "a b"
    assert files.shorten(10**400).endswith("(401 characters)")
