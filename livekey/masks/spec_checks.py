"""Checks on a ``--mask`` SPEC before and after it is parsed, so a slip in the text is named in one
line instead of being ignored (an empty item, a repeated option: the first won) or failing deep
in the parser (``key@add@add``).

The parser itself lives in :mod:`livekey.masks.spec`; these checks wrap its one entry point.
"""

from __future__ import annotations

from collections.abc import Sequence

from livekey.errors import LivekeyError

# Characters in one --mask SPEC (a 300-point polygon is about 3,600); longer is a mask file's job.
SPEC_LIMIT = 4096


def check_spec_text(text: str) -> None:
    """Refuse a SPEC that is empty, too long, has empty items, several @MODEs or a repeated option."""
    spec = text.strip()
    if not spec:
        raise LivekeyError("empty mask; e.g. garbage:rect:0.1,0,0.9,1")
    if len(spec) > SPEC_LIMIT:
        raise LivekeyError(f"{len(spec)} characters, over {SPEC_LIMIT}; put a long mask in a .toml file "
                           f"([[mask]] tables)")
    if "\0" in spec or "\n" in spec:
        raise LivekeyError("contains a NUL or a line break")
    parts = spec.split(":")
    if any(not p.strip() for p in parts[1:]):
        raise LivekeyError("has an empty item (two colons in a row, or a colon at the end)")
    if parts[-1].count("@") > 1:
        raise LivekeyError("has more than one @MODE; give one, at the end, e.g. @add")
    if "@" in parts[0] and len(parts) > 1:
        raise LivekeyError("@MODE goes at the end of the SPEC, e.g. garbage:rect:0,0,1,1@add")
    for part in parts:
        if "," in part and any(not v.strip() for v in part.split(",")) and "=" not in part:
            raise LivekeyError(f"has an empty number in {part[:40]!r} (two commas in a row, or one at the end)")
    names = [p.split("=", 1)[0].strip() for p in parts[1:] if "=" in p and "," not in p.split("=", 1)[0]]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise LivekeyError(f"gives {', '.join(repeated)} more than once; give each option once")


def check_layers(layers: Sequence) -> None:
    """Refuse shapes that cover nothing: a rectangle of zero width or height, a flat polygon."""
    for layer in layers:
        if getattr(layer, "type", None) != "shape":
            continue
        p = layer.points
        if layer.shape == "rect" and (p[0] == p[2] or p[1] == p[3]):
            raise LivekeyError("the rectangle has zero width or height (x0 = x1 or y0 = y1)")
        if layer.shape == "poly":
            xs, ys = p[0::2], p[1::2]
            area = sum(xs[i] * ys[i - 1] - xs[i - 1] * ys[i] for i in range(len(xs))) / 2
            if abs(area) < 1e-9:
                raise LivekeyError("the polygon has zero area (its points lie on one line)")
