"""``docs/settings.md``, generated from the settings declaration and the mask layer registry.

Run ``python -m livekey.config.docs > docs/settings.md`` after changing a setting or a layer field;
a test fails while the committed page differs from what this prints.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from livekey.config.settings import GROUPS, SETTINGS, Setting

HEADER = """# Settings

Generated from the settings declaration (`livekey/config/settings.py`) and the mask layer types
(`livekey/masks/`) by `python -m livekey.config.docs > docs/settings.md`; do not edit by hand.

Every setting is a flag of `livekey run` and `livekey key`, a key in its section of a TOML profile
(`[key]`, `[spill]`, `[matte]`, `[composite]`), and a control in the window's side panel.
"""

MASKS = """## Mask layers

A `[[mask]]` table in a profile, a `--mask SPEC` (see `livekey run --help`), or a row of the
window's Masks list. Every layer has the common fields, then its type's own.
"""


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(f"{v:g}" for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return f'"{value}"' if value == "" else str(value)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _table(rows: Iterable[Setting], name, flag: bool) -> list[str]:
    head = ("| Setting | Flag | Range | Default | What it does |" if flag
            else "| Field | Range | Default | What it does |")
    lines = [head, "|" + "---|" * head.count(" | ") + "---|"]
    for s in rows:
        cells = [f"`{name(s)}`"] + ([f"`{s.flag}`"] if flag else [])
        cells += [_cell(s.range_text()), f"`{_value(s.default)}`", _cell(s.help)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown() -> str:
    """The whole page."""
    from livekey.masks import COMMON_FIELDS, LAYER_TYPES

    lines = [HEADER]
    for group in GROUPS:
        lines += [f"## {group}", ""]
        lines += _table((s for s in SETTINGS if s.group == group), lambda s: f"{s.group}.{s.name}", flag=True)
        lines.append("")
    lines += [MASKS, "### Every layer", ""]
    lines += _table(COMMON_FIELDS, lambda f: f.name, flag=False) + [""]
    for ltype in LAYER_TYPES.values():
        lines += [f"### {ltype.name}", "", f"{ltype.help} Default mode: `{ltype.mode}`.", ""]
        if ltype.fields:
            lines += _table(ltype.fields, lambda f: f.name, flag=False) + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
