"""The one guarded door for every file a user names: profiles, mask files, images, videos, models.

Each function either returns what was asked or raises a one-line :class:`LivekeyError` naming the
file and what to do. The checks run before any parser sees the file, so a hostile file costs a
bounded amount of time and memory:

* only regular files are opened (a FIFO or a device would block or never end); the file is opened
  non-blocking and checked again with ``fstat``, so a swap between the check and the open is caught;
* sizes are limited before reading (a profile over 1 MB is refused);
* text must be UTF-8; TOML is pre-scanned for nesting depth and dotted-key length before
  :mod:`tomllib` builds anything (its work grows with the square of a key's segments);
* an image's pixel count, depth and channels are read from its header (PNG, JPEG, TIFF, BMP, WebP)
  before it is decoded;
* values echoed in messages are cut to :data:`ECHO_CHARS` characters.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import struct
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livekey.errors import LivekeyError

ECHO_CHARS = 80  # longest value echoed back in a message
TEXT_LIMIT = 1 << 20  # bytes: profiles and mask files
IMAGE_LIMIT = 256 << 20  # bytes: an image file
MAX_PIXELS = 40_000_000  # an 8K frame is 33 MP; 40 MP of BGR is 120 MB
DECODE_LIMIT = 192 << 20  # bytes the decoded picture may take (40 MP of 8-bit BGRA is 160 MB)
TOML_MAX_DEPTH = 16  # nested arrays and inline tables
TOML_MAX_SEGMENTS = 16  # parts of one dotted key, e.g. a.b.c is 3


def shorten(value: Any, limit: int = ECHO_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters (with the full length said), for messages."""
    text = value if isinstance(value, str) else repr(value)
    text = text.replace("\n", "\\n").replace("\r", "\\r")
    if isinstance(value, str):
        text = repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} characters)"
    elif len(text) > limit:
        text = text[:limit] + f"... ({len(text)} characters)"
    return text


def clip(text: str, limit: int = ECHO_CHARS) -> str:
    """``text`` as it is, cut to ``limit`` characters (with the full length said), on one line."""
    text = text.replace("\n", " ").replace("\r", " ")
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def display(path: str | os.PathLike) -> str:
    """The path as echoed in a message: its last ECHO_CHARS characters."""
    text = os.fspath(path)
    return text if len(text) <= ECHO_CHARS else "..." + text[-ECHO_CHARS:]


def _os_error(err: OSError, what: str, path: str | os.PathLike) -> LivekeyError:
    if err.errno == errno.ENAMETOOLONG:
        return LivekeyError(f"{what} path is too long ({len(os.fspath(path))} characters; a name may have at "
                            f"most 255, a path 4096); move or rename the file")
    if err.errno == errno.ENOENT:
        return LivekeyError(f"{what} {display(path)} does not exist; check the path")
    return LivekeyError(f"cannot read {what} {display(path)}: {err.strerror or err}")


def _kind(mode: int) -> str | None:
    """None for a regular file, else what the path is, for the message."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def exists(path: str | os.PathLike) -> bool:
    """Whether ``path`` names anything; a name too long or invalid to exist is False, not an error."""
    try:
        os.stat(path)
    except (OSError, ValueError):
        return False
    return True


def regular_file(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path when it names a regular file (symlinks followed), else a LivekeyError."""
    if "\0" in os.fspath(path):
        raise LivekeyError(f"{what} path contains a NUL character; check the path")
    try:
        st = os.stat(path)
    except (OSError, ValueError) as err:
        if isinstance(err, ValueError):
            raise LivekeyError(f"{what} path {shorten(os.fspath(path))} is not valid; check the path") from None
        raise _os_error(err, what, path) from None
    kind = _kind(st.st_mode)
    if kind is not None:
        raise LivekeyError(f"{what} {display(path)} is {kind}, not a file; give a regular file")
    return Path(path)


def read_bytes(path: str | os.PathLike, what: str, limit: int) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; never blocks on a FIFO or a device."""
    regular_file(path, what)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as err:
        raise _os_error(err, what, path) from None
    try:
        st = os.fstat(fd)
        kind = _kind(st.st_mode)
        if kind is not None:  # swapped after the first check
            raise LivekeyError(f"{what} {display(path)} is {kind}, not a file; give a regular file")
        if st.st_size > limit:
            raise LivekeyError(f"{what} {display(path)} is {_size(st.st_size)}, over the {_size(limit)} a {what} "
                               f"may have; check that it is the right file")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(min(limit, st.st_size) + 1)  # read(n) allocates n bytes up front
            if len(data) > st.st_size:  # grew after fstat
                data += f.read(limit + 1 - len(data))
    except OSError as err:
        raise _os_error(err, what, path) from None
    finally:
        os.close(fd)
    if len(data) > limit:  # grew after fstat
        raise LivekeyError(f"{what} {display(path)} is over the {_size(limit)} a {what} may have")
    return data


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB" if n >= 1 << 20 else f"{n} bytes"


def read_text(path: str | os.PathLike, what: str, limit: int = TEXT_LIMIT) -> str:
    """A UTF-8 text file of at most ``limit`` bytes."""
    data = read_bytes(path, what, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise LivekeyError(f"{what} {display(path)} is not UTF-8 text (byte 0x{data[err.start]:02x} on line {line}); "
                           f"save it as UTF-8") from None


# --- TOML --------------------------------------------------------------------------------------
# The next token that matters to the scan: a bare key or number, a string's opening quotes, a
# comment, brackets, a dot or a line end. Strings and comments are skipped whole (their dots and
# brackets do not count), each by one search, so the scan is linear in the text.
_NEXT = re.compile(r"[A-Za-z0-9_+\-:]+|\"{3}|'{3}|[\"'#\[\]{}.\n]")
_BASIC_REST = re.compile(r'(?:[^"\\\n]|\\.)*"?')
_LITERAL_REST = re.compile(r"[^'\n]*'?")


def _skip_string(text: str, quote: str, pos: int) -> int:
    """Where the string opened by ``quote`` just before ``pos`` ends (its end when unterminated)."""
    if len(quote) == 3:
        end = text.find(quote, pos)
        return len(text) if end < 0 else end + 3
    return (_BASIC_REST if quote == '"' else _LITERAL_REST).match(text, pos).end()


def check_toml_shape(text: str, where: str) -> None:
    """Refuse TOML nested deeper than TOML_MAX_DEPTH or with a key of more than TOML_MAX_SEGMENTS
    parts, by a linear scan, before :mod:`tomllib` spends memory on it."""
    depth, segments, after_dot, pos = 0, 0, False, 0
    while (match := _NEXT.search(text, pos)) is not None:
        token, pos = match.group(), match.end()
        first = token[0]
        if first == "#":
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
            continue
        if first == ".":
            after_dot = True
            continue
        if first in "[{":
            depth += 1
            if depth > TOML_MAX_DEPTH:
                raise LivekeyError(f"{where}: nested more than {TOML_MAX_DEPTH} deep (line "
                                   f"{text.count(chr(10), 0, match.start()) + 1}); a profile needs 2")
        elif first in "]}":
            depth = max(0, depth - 1)
        if first in "\"'":
            pos = _skip_string(text, token, pos)
        if first in "\"'" or first.isalnum() or first in "_+-:":
            segments = segments + 1 if after_dot else 1
            if segments > TOML_MAX_SEGMENTS:
                raise LivekeyError(f"{where}: a dotted key of more than {TOML_MAX_SEGMENTS} parts (line "
                                   f"{text.count(chr(10), 0, match.start()) + 1}); a profile needs 2")
        else:
            segments = 0
        after_dot = False


def parse_toml(text: str, where: str) -> dict[str, Any]:
    """Parse TOML text, with every parser failure as a one-line LivekeyError naming ``where``."""
    check_toml_shape(text, where)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise LivekeyError(f"{where} is not valid TOML: {clip(str(err))}") from None
    except (ValueError, OverflowError) as err:  # e.g. an integer past Python's 4300-digit limit
        raise LivekeyError(f"{where} is not valid TOML: {clip(str(err))}") from None
    except RecursionError:
        raise LivekeyError(f"{where}: nested too deep; a profile needs 2 levels") from None


def read_toml(path: str | os.PathLike, what: str = "profile") -> dict[str, Any]:
    """A TOML file through the door: regular, at most TEXT_LIMIT bytes, UTF-8, sane shape."""
    return parse_toml(read_text(path, what), f"{what} {display(path)}")


def inside(folder: Path, relative: str, what: str, where: str = "") -> str:
    """``relative`` (a path a profile names) joined to the profile's ``folder``; a path that climbs
    out of the folder is refused (the user may name any file on the command line instead)."""
    joined = os.path.normpath(os.path.join(folder, relative))
    base = os.path.normpath(folder)
    if os.path.commonpath([os.path.abspath(joined), os.path.abspath(base)]) != os.path.abspath(base):
        prefix = f"{where}: " if where else ""
        raise LivekeyError(f"{prefix}{what} {shorten(relative)} climbs out of the profile's folder; keep it "
                           f"beside the profile, or give it on the command line")
    return joined


# --- image headers -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ImageHeader:
    """What an image file's header says: format, size in pixels, and sample type when known."""

    format: str
    width: int
    height: int
    float_samples: bool = False
    bytes_per_pixel: int = 4  # what the decoder makes of it, at most (8-bit BGRA unless said)


def _png(data: bytes) -> ImageHeader | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24 or data[12:16] != b"IHDR":
        return None
    w, h = struct.unpack(">II", data[16:24])
    depth = data[24] if len(data) > 24 else 8
    return ImageHeader("PNG", w, h, bytes_per_pixel=8 if depth == 16 else 4)


def _jpeg(data: bytes) -> ImageHeader | None:
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xFF, 0x01) or 0xD0 <= marker <= 0xD9:
            i += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return ImageHeader("JPEG", w, h)
        i += 2 + length
    return ImageHeader("JPEG", 0, 0)  # no frame header: the decoder refuses it


def _bmp(data: bytes) -> ImageHeader | None:
    if data[:2] != b"BM" or len(data) < 26:
        return None
    size = struct.unpack("<I", data[14:18])[0]
    if size == 12:  # OS/2 core header: 16-bit sizes
        w, h = struct.unpack("<HH", data[18:22])
    else:
        w, h = struct.unpack("<ii", data[18:26])
    return ImageHeader("BMP", abs(w), abs(h))


def _webp(data: bytes) -> ImageHeader | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP" or len(data) < 30:
        return None
    chunk = data[12:16]
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return ImageHeader("WebP", w & 0x3FFF, h & 0x3FFF)
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return ImageHeader("WebP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if chunk == b"VP8X":
        return ImageHeader("WebP", int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1)
    return ImageHeader("WebP", 0, 0)


def _tiff(data: bytes) -> ImageHeader | None:
    order = {b"II*\x00": "<", b"MM\x00*": ">"}.get(data[:4])
    if order is None:
        return None
    tags: dict[int, int] = {}
    try:
        (offset,) = struct.unpack(order + "I", data[4:8])
        (count,) = struct.unpack(order + "H", data[offset:offset + 2])
        for n in range(min(count, 512)):
            at = offset + 2 + 12 * n
            tag, kind, values = struct.unpack(order + "HHI", data[at:at + 8])
            fmt = {3: "H", 4: "I"}.get(kind)
            if fmt is not None and tag in (256, 257, 258, 277, 339):
                # The first value: in the entry when all fit in 4 bytes, else where the entry points.
                size = struct.calcsize(fmt)
                where = at + 8 if values * size <= 4 else struct.unpack(order + "I", data[at + 8:at + 12])[0]
                tags[tag] = struct.unpack(order + fmt, data[where:where + size])[0]
    except struct.error:
        pass  # a truncated directory: what was read counts; the decoder judges the rest
    samples, bits = max(tags.get(277, 1), 4), max(tags.get(258, 8), 8)
    return ImageHeader("TIFF", tags.get(256, 0), tags.get(257, 0), float_samples=tags.get(339) == 3,
                       bytes_per_pixel=samples * ((bits + 7) // 8))


_READERS = (_png, _jpeg, _tiff, _bmp, _webp)


def image_header(data: bytes) -> ImageHeader | None:
    """The header of a PNG, JPEG, TIFF, BMP or WebP image held in ``data``; None for anything else."""
    for reader in _READERS:
        header = reader(data)
        if header is not None:
            return header
    return None


def read_image_bytes(path: str | os.PathLike, what: str) -> tuple[bytes, ImageHeader]:
    """An image file's bytes and header, refusing other formats and more than MAX_PIXELS pixels."""
    data = read_bytes(path, what, IMAGE_LIMIT)
    header = image_header(data)
    if header is None:
        raise LivekeyError(f"{what} {display(path)} is not an image OpenCV can read "
                           f"(PNG, JPEG, WebP, TIFF or BMP); convert it to PNG")
    if header.width * header.height > MAX_PIXELS:
        raise LivekeyError(f"{what} {display(path)}: its {header.format} header says {header.width}x{header.height} "
                           f"pixels, over the {MAX_PIXELS // 1_000_000} million livekey reads; scale it down")
    if header.width * header.height * header.bytes_per_pixel > DECODE_LIMIT:
        raise LivekeyError(f"{what} {display(path)}: {header.width}x{header.height} pixels of "
                           f"{header.bytes_per_pixel} bytes would take over {_size(DECODE_LIMIT)}; "
                           f"scale it down or save it as an 8-bit PNG")
    return data, header
