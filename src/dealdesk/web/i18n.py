"""Languages of the web UI: gettext catalogues read from their .po files when the app starts (no compile
step), the choice of language per request, and dates and money formatted the way each locale writes them."""

from __future__ import annotations

import gettext
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, get_currency_symbol
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
LANGUAGE_COOKIE = "dealdesk_lang"
SOURCE_LANGUAGE = "en"
_UNAMBIGUOUS_SYMBOLS = {"USD": "US$", "HKD": "HK$"}
"""Messages are written in English; English needs no catalogue."""


@dataclass(frozen=True)
class Language:
    tag: str
    """BCP 47 tag, as in <html lang> and the language cookie: `en`, `zh-Hant-HK`."""
    native_name: str
    locale: Locale
    translations: gettext.NullTranslations

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return self.translations.ngettext(singular, plural, count)

    def pgettext(self, context: str, message: str) -> str:
        return self.translations.pgettext(context, message)

    def money(self, amount: Decimal, currency: str) -> str:
        """As the locale writes it, except that US and Hong Kong dollars are never a bare "$" (SPEC §13)."""
        text = format_currency(amount, currency, locale=self.locale)
        wanted = _UNAMBIGUOUS_SYMBOLS.get(currency)
        symbol = get_currency_symbol(currency, locale=self.locale)
        return text.replace(symbol, wanted, 1) if wanted and symbol != wanted else text

    def formatted_for(self, accept_language: str | None) -> Language:
        """This language with numbers and dates as the first Accept-Language tag of the same language writes
        them (en-GB: 3 Dec 2026, 24-hour times); without one, the language's own locale (en-US, zh-Hant-HK)."""
        for tag in _preferred_tags(accept_language or ""):
            if tag.split("-")[0] != self.locale.language:
                continue
            try:
                wanted = Locale.parse(tag, sep="-")
            except (ValueError, UnknownLocaleError):
                return self
            if self.locale.script and wanted.script not in (None, self.locale.script):
                return self
            return replace(self, locale=wanted) if str(wanted) != str(self.locale) else self
        return self

    def number(self, value: Decimal) -> str:
        return format_decimal(value, format="#,##0.##", locale=self.locale)

    def day(self, value: date) -> str:
        return format_date(value, format="medium", locale=self.locale)

    def moment(self, value: datetime, zone: ZoneInfo) -> str:
        """A timestamp in the business time zone: medium date and short time, in the locale's order."""
        pattern = get_datetime_format("medium", locale=self.locale)
        day = format_date(value.astimezone(zone), format="medium", locale=self.locale)
        clock = format_time(value, format="short", tzinfo=zone, locale=self.locale)
        return str(pattern).replace("'", "").replace("{1}", day).replace("{0}", clock)


def _catalogue(path: Path, locale: Locale) -> Translations:
    """A .po file as gettext translations, compiled in memory; fuzzy entries are left out."""
    with path.open("rb") as po:
        catalogue = read_po(po, locale=locale, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    return Translations(fp=compiled, domain=DOMAIN)


def _language(locale: Locale, translations: gettext.NullTranslations) -> Language:
    """The switcher names each language in itself, as CLDR names the language and script (繁體中文)."""
    tag = str(locale).replace("_", "-")
    scripted = f"{locale.language}_{locale.script}" if locale.script else locale.language
    name = locale.languages.get(scripted) or locale.languages.get(locale.language) or tag
    return Language(tag=tag, native_name=name, locale=locale, translations=translations)


@dataclass(frozen=True)
class Languages:
    """Every language the UI speaks; English first."""

    available: tuple[Language, ...]

    @classmethod
    def load(cls, locale_dir: Path = LOCALE_DIR) -> Languages:
        english = _language(Locale.parse(SOURCE_LANGUAGE), gettext.NullTranslations())
        others = [
            _language(locale, _catalogue(po, locale))
            for po in sorted(locale_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
            for locale in [Locale.parse(po.parent.parent.name)]
        ]
        return cls(available=(english, *others))

    @property
    def default(self) -> Language:
        return self.available[0]

    def find(self, tag: str | None) -> Language | None:
        wanted = (tag or "").strip().lower()
        return next((lang for lang in self.available if lang.tag.lower() == wanted), None)

    def choose(self, *, cookie: str | None, accept_language: str | None) -> Language:
        """The remembered choice if there is one, else the best match for Accept-Language, else English."""
        return self.find(cookie) or self._negotiate(accept_language or "") or self.default

    def _negotiate(self, header: str) -> Language | None:
        for wanted in _preferred_tags(header):
            exact = self.find(wanted)
            if exact is not None:
                return exact
            primary = wanted.split("-")[0]
            same_language = [lang for lang in self.available if lang.locale.language == primary]
            if same_language:
                return same_language[0]
        return None


def _preferred_tags(header: str) -> list[str]:
    """Accept-Language ranges, most wanted first (RFC 9110 q-values; ties keep their order)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag.lower()))
    return [tag for _, _, tag in sorted(ranked)]
