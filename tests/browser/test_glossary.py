"""Hong Kong Chinese in Dynamics' own words (SPEC §13): every catalogue entry whose English contains a glossary
term uses that term's one Chinese word, and no full-width punctuation is followed by a space."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

LOCALE = Path(__file__).parents[2] / "src" / "dealdesk" / "web" / "locale"
CATALOGUE = LOCALE / "zh_Hant_HK" / "LC_MESSAGES" / "messages.po"
FULL_WIDTH_THEN_SPACE = re.compile(r"[，。：；！？、「」『』（）／…]\s")  # noqa: RUF001


def glossary() -> dict[str, str]:
    terms: dict[str, str] = {}
    for row in (LOCALE / "glossary.tsv").read_text(encoding="utf-8").splitlines():
        if row.strip() and not row.startswith("#"):
            english, chinese = row.split("\t")
            terms[english] = chinese
    return terms


def entries() -> list[tuple[str, str]]:
    """(English, Chinese) of every message, each plural form on its own."""
    with CATALOGUE.open("rb") as source:
        catalogue = read_po(source)
    found: list[tuple[str, str]] = []
    for message in catalogue:
        if not message.id:
            continue
        english = message.id if isinstance(message.id, str) else " ".join(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string or ())
        found.extend((english, chinese) for chinese in strings)
    return found


def test_every_entry_with_a_glossary_term_uses_its_chinese_term() -> None:
    wrong = []
    for english, chinese in entries():
        for term, word in glossary().items():
            if re.search(rf"\b{re.escape(term)}(s|es)?\b", english, re.IGNORECASE) and word not in chinese:
                wrong.append(f"{english!r} -> {chinese!r}: {term!r} is {word}")
    assert not wrong, "\n".join(wrong)


def test_no_full_width_punctuation_is_followed_by_a_space() -> None:
    spaced = [f"{english!r} -> {chinese!r}" for english, chinese in entries() if FULL_WIDTH_THEN_SPACE.search(chinese)]
    assert not spaced, "\n".join(spaced)


def test_the_glossary_names_project_operations_own_terms() -> None:
    terms = glossary()
    assert (terms["close opportunity"], terms["won"], terms["lost"], terms["status reason"]) == (
        "關閉商機",
        "成交",
        "未成交",
        "狀態原因",
    )
    assert (terms["quote"], terms["active"], terms["draft"], terms["opportunity"]) == ("報價", "使用中", "草稿", "商機")
