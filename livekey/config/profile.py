"""A profile file: the settings tables (``[key]``, ``[spill]`` ...) plus the mask stack (``[[mask]]``).

:class:`Profile` is what the command line loads and saves; :class:`~livekey.settings.Settings`
reads its own sections and skips the ones listed in ``settings.OTHER_SECTIONS``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from livekey.config.settings import Settings, read_toml, write_toml
from livekey.masks import MaskStack
from livekey.media import files


@dataclass(frozen=True)
class Profile:
    """Settings and mask stack, loaded and saved together."""

    settings: Settings = field(default_factory=Settings)
    masks: MaskStack = field(default_factory=MaskStack)

    @classmethod
    def load(cls, path: str | Path) -> Profile:
        """Read a profile; relative file paths in ``[[mask]]`` tables are relative to the profile."""
        data = read_toml(path)
        masks = data.pop("mask", None)
        where = files.display(path)
        settings = Settings.from_toml_dict(data, where=where, folder=Path(path).parent)
        stack = MaskStack() if masks is None else MaskStack.from_toml_list(masks, where, Path(path).parent)
        return cls(settings, stack)

    def to_toml_dict(self, relative_to: Path | None = None) -> dict[str, Any]:
        data: dict[str, Any] = self.settings.to_toml_dict(relative_to)
        if self.masks != MaskStack():
            data["mask"] = self.masks.to_toml_list()
        return data

    def save(self, path: str | Path) -> None:
        write_toml(path, self.to_toml_dict(Path(path).parent))
