"""Numbers, dates and money follow the browser's first Accept-Language tag within the UI language (SPEC §13), and
US and Hong Kong dollars are never a bare "$"."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from dealdesk.web.i18n import Language, Languages


@pytest.fixture(scope="module")
def languages() -> Languages:
    return Languages.load()


def _english(languages: Languages) -> Language:
    return languages.default


def _chinese(languages: Languages) -> Language:
    found = languages.find("zh-Hant-HK")
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("accept_language", "day"),
    [("en-GB", "3 Dec 2026"), ("en-HK", "3 Dec 2026"), ("en-US", "Dec 3, 2026"), (None, "Dec 3, 2026")],
)
def test_an_english_browser_gets_the_dates_of_its_own_english(
    languages: Languages, accept_language: str | None, day: str
) -> None:
    assert _english(languages).formatted_for(accept_language).day(date(2026, 12, 3)) == day


def test_a_tag_of_another_language_or_script_leaves_the_ui_languages_own_formats(languages: Languages) -> None:
    assert _english(languages).formatted_for("zh-HK, en-GB;q=0.5").locale.territory == "GB"
    assert str(_chinese(languages).formatted_for("zh-CN").locale) == "zh_Hant_HK"
    assert str(_english(languages).formatted_for("fr-FR").locale) == "en"


@pytest.mark.parametrize("accept_language", ["en-US", "en-GB", "en-HK", None])
def test_us_and_hong_kong_dollars_are_never_a_bare_dollar_sign(
    languages: Languages, accept_language: str | None
) -> None:
    english = _english(languages).formatted_for(accept_language)
    assert english.money(Decimal("1250"), "USD") == "US$1,250.00"
    assert english.money(Decimal("1250"), "HKD") == "HK$1,250.00"
    assert _chinese(languages).money(Decimal("1250"), "USD") == "US$1,250.00"
