"""The Import / export page shows each import reason in the reader's language; the importer's own words (CLI, machine
outputs) stay English."""

from __future__ import annotations

import re

import pytest

from dealdesk.web.i18n import Language, Languages
from dealdesk.web.ui.import_reasons import REASONS, shown_reason

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.fixture(scope="module")
def languages() -> Languages:
    return Languages.load()


def _chinese(languages: Languages) -> Language:
    found = languages.find("zh-Hant-HK")
    assert found is not None
    return found


@pytest.mark.parametrize("template", REASONS)
def test_every_reason_the_importer_gives_reads_in_chinese_with_its_values_kept(
    languages: Languages, template: str
) -> None:
    values = {name: f"V{n}x" for n, name in enumerate(PLACEHOLDER.findall(template))}
    english = template % values if values else template

    chinese = shown_reason(_chinese(languages), english)
    same = shown_reason(languages.default, english)

    assert chinese.translated and chinese.text != english
    assert all(value in chinese.text for value in values.values())
    assert same.text == english


def test_a_refusal_by_a_rule_is_shown_by_its_code_and_an_unknown_reason_stays_english(languages: Languages) -> None:
    chinese = _chinese(languages)

    refused = shown_reason(chinese, "won_quote_requires_won_close: opportunity 1 has a won quote")
    unknown = shown_reason(chinese, "something nobody wrote a translation for")

    assert refused.translated and refused.text == chinese.gettext(
        "This opportunity has a won quote, so it can only be closed as won."
    )
    assert (unknown.text, unknown.translated) == ("something nobody wrote a translation for", False)


def test_values_are_matched_whole_so_a_longer_sentence_is_not_taken_for_a_shorter_one(languages: Languages) -> None:
    chinese = _chinese(languages)

    assert shown_reason(chinese, "is on line 3 already").text == "已在第 3 行出現"
    assert shown_reason(chinese, "is on line 3 already: a quote's rows must follow each other").text == (
        "已在第 3 行出現：同一報價的各行必須相連"  # noqa: RUF001
    )
    assert shown_reason(chinese, "must be at most 160 characters").text == "最多 160 個字元"
