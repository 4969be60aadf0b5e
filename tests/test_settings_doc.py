"""docs/settings.md is generated from the settings declaration and must be current."""

from pathlib import Path

from livekey.config.docs import markdown
from livekey.config.settings import SETTINGS
from livekey.masks import LAYER_TYPES

PAGE = Path(__file__).resolve().parent.parent / "docs" / "settings.md"


def test_the_committed_settings_page_is_current():
    assert PAGE.read_text() == markdown(), "regenerate: python -m livekey.config.docs > docs/settings.md"


def test_the_page_names_every_setting_flag_and_layer_field():
    page = markdown()
    for s in SETTINGS:
        assert f"| `{s.group}.{s.name}` | `{s.flag}` |" in page
    for ltype in LAYER_TYPES.values():
        assert f"### {ltype.name}" in page
        for f in ltype.fields:
            assert f"| `{f.name}` |" in page
