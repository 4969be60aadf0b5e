"""Masks on the command line: the ``--mask SPEC`` parser (built from the layer registry), mask
files, and the one-line summary a command prints."""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from livekey.config.settings import read_toml
from livekey.errors import LivekeyError
from livekey.masks import spec_checks
from livekey.masks.fields import MODES
from livekey.masks.layer import LAYER_TYPES, MaskLayer
from livekey.masks.stack import MaskStack
from livekey.media import files
from livekey.media.images import IMAGE_SUFFIXES

# The key layer takes only options: listed last (stable sort keeps the registry's order otherwise).
_KINDS = sorted(LAYER_TYPES.values(), key=lambda t: t.name == "key")
SPEC_HELP = (
    "A mask layer, applied in the order given after the colour key. SPEC is KIND:ARGS[:OPTION=VALUE...]: "
    + "; ".join(t.spec_help for t in _KINDS) + ". "
    "A FILE.toml with [[mask]] tables, or a bare image file, also works. "
    "OPTIONS: mode=add|subtract|intersect|replace, opacity=0..1, invert=true, feather=PX, enabled=false, "
    "and each type's own fields ({fields}). "
    "Shorthands: a trailing @MODE sets the mode, a leading ~ inverts. Repeat --mask for several layers.").format(
    fields="; ".join(f"{t.name}: " + ", ".join(f.name for f in t.fields if f.name != t.main)
                     for t in LAYER_TYPES.values() if t.fields and t.name != "shape"))

_ALIASES = {"garbage": ("shape", "intersect"), "core": ("shape", "add")}


def parse_mask_spec(text: str) -> list[MaskLayer]:
    """Turn one ``--mask`` SPEC (see :data:`SPEC_HELP`) into layers: one, or a TOML file's stack."""
    try:
        spec_checks.check_spec_text(text)
        layers = _parse_spec(text)
        spec_checks.check_layers(layers)
        return layers
    except KeyError as err:  # a kind the parser did not expect (e.g. key@add@add)
        raise LivekeyError(f"--mask {files.shorten(text)}: unknown mask kind {files.shorten(err.args[0])}") from None
    except LivekeyError as err:
        raise LivekeyError(f"--mask {files.shorten(text)}: {err}") from None


def _parse_spec(text: str) -> list[MaskLayer]:
    spec = text.strip()
    kind = spec.split(":", 1)[0].lstrip("~").split("@", 1)[0]
    if kind not in LAYER_TYPES and kind not in _ALIASES:
        path = Path(spec)
        if path.suffix.lower() == ".toml":
            return list(load_stack_file(path).layers)
        if path.suffix.lower() in IMAGE_SUFFIXES:
            return [MaskLayer("image", path=spec)]
        kinds = [*_ALIASES, *(t.name for t in _KINDS)]
        raise LivekeyError(f"unknown mask kind {kind!r}; use {', '.join(kinds[:-1])} "
                           f"or {kinds[-1]}, a .toml file or an image file")
    invert = spec.startswith("~")
    spec = spec.lstrip("~")
    mode = None
    if "@" in spec.rsplit(":", 1)[-1]:
        spec, mode = spec.rsplit("@", 1)
        if mode not in MODES:
            raise LivekeyError(f"@{mode} is not a mode; use one of {', '.join('@' + m for m in MODES)}")
    parts = spec.split(":")
    kind, rest = parts[0], parts[1:]
    options: dict[str, str] = {}
    while rest and "=" in rest[-1] and "," not in rest[-1].split("=", 1)[0]:
        name, value = rest.pop().split("=", 1)
        options[name.strip()] = value.strip()
    values: dict[str, Any] = {}
    if kind in _ALIASES:
        kind, values["mode"] = _ALIASES[kind]
    ltype = LAYER_TYPES[kind]
    values |= ltype.spec_values(parts[0], rest)
    for name, value in options.items():
        values[name] = ltype.field(name).parse(value)
    if mode is not None:
        values["mode"] = mode
    if invert:
        values["invert"] = not values.get("invert", False)
    return [MaskLayer(kind, values)]


def add_mask_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--mask SPEC`` (repeatable) to a subcommand."""
    parser.add_argument("--mask", action="append", default=[], metavar="SPEC", help=SPEC_HELP)


def stack_from_args(args: argparse.Namespace, base: MaskStack | None = None) -> MaskStack:
    """The profile's stack (or the default) with the ``--mask`` layers added on top, in order."""
    stack = base or MaskStack()
    for spec in getattr(args, "mask", None) or []:
        for layer in parse_mask_spec(spec):
            if layer.type == "key":  # options for the key layer: change it where it is
                stack = stack.set(stack.key_index, layer)
            else:
                stack = stack.add(layer)
    return stack


def load_stack_file(path: str | Path) -> MaskStack:
    """The ``[[mask]]`` tables of a TOML file (a profile or a masks-only file)."""
    data = read_toml(path, "mask file")
    if "mask" not in data:
        raise LivekeyError(f"mask file {path} has no [[mask]] tables")
    return MaskStack.from_toml_list(data["mask"], str(path), Path(path).parent)


def stack_summary(stack: MaskStack | Iterable[MaskLayer]) -> str:
    """One line per enabled layer, for status output."""
    return "; ".join(f"{layer.type}@{layer.mode}" for layer in stack if layer.enabled)
