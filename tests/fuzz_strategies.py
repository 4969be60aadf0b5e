"""Hypothesis strategies for hostile user input: profiles, ``--mask`` specs and image files.

Shared by tests/test_fuzz.py (modest example counts) and tests/bench/fuzz_bench.py (the issue's
1,000 profiles, 300 specs and 100 images). Each strategy mixes well-formed input with the shapes
that broke livekey before (issue 27): Latin-1 bytes, deep nesting, huge numbers and dotted keys,
long values, paths that climb out or name a device, forged image headers, truncated files.
"""

from __future__ import annotations

import json
import struct
import zlib

import cv2
import numpy as np
from hypothesis import strategies as st

from livekey.config.settings import GROUPS, SETTINGS
from livekey.masks import LAYER_TYPES, MODES

HOSTILE_PATHS = ["/dev/zero", "/dev/null", "/etc/passwd", "../../etc/passwd", "../x.png", "x" * 300 + ".png",
                 "plate.png", "sub/../plate.png", "", " ", "pipe.png", "\u00e9t\u00e9.png", "a" * 5000]
KEYS = [s.name for s in SETTINGS] + ["type", "path", "plate", "model", "shape", "points", "mode", "x" * 2000]
FIELDS = sorted({f.name for t in LAYER_TYPES.values() for f in t.all_fields})

huge_ints = st.integers(min_value=-(10**450), max_value=10**450)
numbers = st.one_of(st.integers(-1000, 1000), huge_ints, st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, 1, -1, 2**63, 10**400]))
strings = st.one_of(st.text(max_size=60), st.sampled_from(HOSTILE_PATHS),
                    st.integers(0, 200_000).map(lambda n: "w" * n))


def toml_literal(value) -> str:
    """A Python value as TOML source (floats nan/inf spelled as TOML spells them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    return "[" + ", ".join(toml_literal(v) for v in value) + "]"


values = st.recursive(st.one_of(numbers, strings, st.booleans()), lambda inner: st.lists(inner, max_size=6),
                      max_leaves=12)


@st.composite
def structured_profiles(draw) -> str:
    """A profile shaped like a real one: [group] tables and [[mask]] tables, with odd keys and values."""
    lines = []
    for _ in range(draw(st.integers(0, 4))):
        lines.append(f"[{draw(st.sampled_from(list(GROUPS) + ['extra', 'key.sub', 'mask']))}]")
        for _ in range(draw(st.integers(0, 5))):
            lines.append(f"{draw(st.sampled_from(KEYS))} = {toml_literal(draw(values))}")
    for _ in range(draw(st.integers(0, 3))):
        lines.append("[[mask]]")
        lines.append(f'type = "{draw(st.sampled_from(list(LAYER_TYPES) + ["nope", ""]))}"')
        for _ in range(draw(st.integers(0, 4))):
            lines.append(f"{draw(st.sampled_from(FIELDS + ['x']))} = {toml_literal(draw(values))}")
    return "\n".join(lines) + "\n"


@st.composite
def hostile_fragments(draw) -> str:
    """The shapes that cost memory or recursion: deep nesting, long dotted keys and table names."""
    n = draw(st.integers(1, 40_000))
    kind = draw(st.sampled_from(["array", "inline", "dotted", "table", "number", "string"]))
    if kind == "array":
        return "a = " + "[" * n + "]" * n + "\n"
    if kind == "inline":
        n = min(n, 3000)
        return "a = " + "{b = " * n + "1" + "}" * n + "\n"
    if kind == "dotted":
        return "a" + ".a" * n + " = 1\n"
    if kind == "table":
        return "[" + ".".join(["k"] * n) + "]\n"
    if kind == "number":
        return f"[key]\nhue_width = {'9' * min(n, 6000)}\n"
    return f'[key]\nplate = "{"p" * n}"\n'


@st.composite
def profile_bytes(draw) -> bytes:
    """A profile file's bytes: structured, hostile, mutated, or noise."""
    kind = draw(st.sampled_from(["structured", "hostile", "mutated", "noise", "latin1"]))
    if kind == "structured":
        return draw(structured_profiles()).encode()
    if kind == "hostile":
        return draw(hostile_fragments()).encode()
    if kind == "noise":
        return draw(st.binary(max_size=2000))
    data = bytearray(draw(structured_profiles()).encode())
    if kind == "latin1":
        data[draw(st.integers(0, len(data))):0] = b"\xe9"
        return bytes(data)
    for _ in range(draw(st.integers(1, 8))):  # insert, delete or replace a few bytes
        at = draw(st.integers(0, len(data)))
        data[at:at + draw(st.integers(0, 3))] = draw(st.binary(max_size=4))
    return bytes(data)


# --- --mask specs ----------------------------------------------------------------------------
_KINDS = ["garbage", "core", "shape", "image", "diff", "segment", "key", "~garbage", "~core", "bogus", ""]
_number_text = st.one_of(st.floats(-3, 3).map(lambda v: f"{v:g}"), st.sampled_from(
    ["", "nan", "inf", "-inf", "1e999", "1" + "0" * 400, "x", "0x1", " ", "1_0"]))


@st.composite
def mask_specs(draw) -> str:
    """A ``--mask`` SPEC: a kind, arguments, options and a mode, some parts odd or repeated."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(alphabet=st.sampled_from(list("garbcoeimkysh:,@~=.0123456789-pnx ")), max_size=80))
    parts = [draw(st.sampled_from(_KINDS))]
    for _ in range(draw(st.integers(0, 3))):
        parts.append(draw(st.one_of(
            st.sampled_from(["rect", "ellipse", "poly", "", "x.png", "m.onnx", "p.toml"] + HOSTILE_PATHS[:6]),
            st.lists(_number_text, max_size=12).map(",".join),
            st.tuples(st.sampled_from(FIELDS + ["bogus", ""]), _number_text | st.sampled_from(["true", "big", "9x9"]))
            .map("=".join))))
    spec = ":".join(parts)
    for _ in range(draw(st.integers(0, 2))):
        spec += "@" + draw(st.sampled_from(list(MODES) + ["", "bogus"]))
    return spec


# --- images ----------------------------------------------------------------------------------
dims = st.one_of(st.integers(0, 64), st.integers(0, 2**32 - 1), st.sampled_from([60000, 65535, 8192, 1]))


def _png(w: int, h: int, tail: bytes) -> bytes:
    chunk = b"IHDR" + struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk)) + tail


def _jpeg(w: int, h: int, tail: bytes) -> bytes:
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, h & 0xFFFF, w & 0xFFFF, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + sof + tail


def _bmp(w: int, h: int, tail: bytes) -> bytes:
    return (b"BM" + struct.pack("<IHHI", 54, 0, 0, 54) + struct.pack("<Iii", 40, w % 2**31, -(h % 2**31))
            + struct.pack("<HHIIiiII", 1, 24, 0, 0, 0, 0, 0, 0) + tail)


def _tiff(w: int, h: int, tail: bytes) -> bytes:
    entries = [(256, 4, 1, w), (257, 4, 1, h), (258, 3, 1, 8), (277, 3, 1, 3), (339, 3, 1, 3)]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\0\0\0\0"
    return b"II*\x00" + struct.pack("<I", 8) + ifd + tail


@st.composite
def image_bytes(draw) -> bytes:
    """An image file: a forged header, or a real small image (8/16-bit or float) truncated or flipped."""
    if draw(st.booleans()):
        forge = draw(st.sampled_from([_png, _jpeg, _bmp, _tiff]))
        return forge(draw(dims), draw(dims), draw(st.binary(max_size=200)))
    dtype = draw(st.sampled_from([np.uint8, np.uint16, np.float32]))
    channels = draw(st.sampled_from([1, 3, 4]))
    ext = ".tiff" if dtype == np.float32 else draw(st.sampled_from([".png", ".jpg", ".bmp", ".webp", ".tiff"]))
    if dtype == np.uint16 and ext in (".bmp", ".webp", ".jpg"):
        ext = ".png"
    h, w = draw(st.integers(1, 24)), draw(st.integers(1, 24))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    img = (rng.random((h, w, channels)) * (1.0 if dtype == np.float32 else np.iinfo(dtype).max)).astype(dtype)
    ok, buf = cv2.imencode(ext, img)
    data = bytearray(buf.tobytes()) if ok else bytearray(b"")
    for _ in range(draw(st.integers(0, 3))):
        if data:
            data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    return bytes(data)
