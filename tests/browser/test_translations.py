"""The catalogue keeps up with the code: every message the pages can show has a Chinese translation with the same
placeholders, and nothing in the catalogue is left over from messages that no longer exist."""

from __future__ import annotations

import re
from collections.abc import Iterable
from configparser import RawConfigParser
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).parents[2]
CATALOGUE = ROOT / "src/dealdesk/web/locale/zh_Hant_HK/LC_MESSAGES/messages.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
Key = tuple[str | None, str]


def _texts(value: str | Iterable[str] | None) -> list[str]:
    """A message id or string is one text, or singular and plural forms."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _extracted() -> set[Key]:
    """What `pybabel extract -F babel.cfg` would find, read with the same mapping file."""
    config = RawConfigParser()
    config.read(ROOT / "babel.cfg")
    method_map = []
    options_map = {}
    for section in config.sections():
        method, pattern = (part.strip() for part in section.split(":", 1))
        method_map.append((pattern, method))
        options_map[pattern] = dict(config.items(section))
    found: set[Key] = set()
    for _file, _line, message, _comments, context in extract_from_dir(str(ROOT), method_map, options_map):
        found.add((context, _texts(message)[0]))
    return found


def test_every_message_the_pages_show_is_translated_into_traditional_chinese_with_the_same_placeholders() -> None:
    with CATALOGUE.open("rb") as po:
        catalogue = read_po(po)
    translated: set[Key] = set()
    for entry in catalogue:
        ids = _texts(entry.id)
        if not ids or not ids[0]:
            continue
        key = (entry.context, ids[0])
        assert "fuzzy" not in entry.flags, key
        strings = _texts(entry.string)
        assert strings and all(strings), f"untranslated: {key}"
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) <= {p for i in ids for p in PLACEHOLDER.findall(i)}, key
        translated.add(key)

    extracted = _extracted()
    assert extracted - translated == set(), "messages missing from the catalogue"
    assert translated - extracted == set(), "catalogue entries no code uses any more"
