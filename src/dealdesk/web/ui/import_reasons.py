"""Why a row of a CSV import was refused, in the reader's language. The importer explains itself in English (as
the command line and the machine outputs do); each of its reasons is one of the sentences below, with values such
as line numbers, columns and codes filled in. A reason is matched against these sentences, translated through the
catalogue and filled in again; a reason none of them matches is shown as it came, in English."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from dealdesk.web.i18n import Language
from dealdesk.web.problems import STATUS_OF_CODE
from dealdesk.web.ui.messages import refusal_for_code


def N_(message: str) -> str:
    """Marks a message for the catalogue; it is translated where it is shown."""
    return message


REASONS = (
    N_("is required"),
    N_("must be at most %(count)s characters"),
    N_("must be a timestamp such as 2026-03-01T09:30:00+00:00"),
    N_("must say its offset from UTC, such as +00:00"),
    N_("must be one of %(values)s"),
    N_("must be a whole number of 0 or more"),
    N_("must be true or false"),
    N_("the file is empty: it needs a header row naming its columns"),
    N_("has %(found)s fields where the header has %(expected)s"),
    N_("cannot be read as CSV (%(error)s); nothing after it was read"),
    N_("is not UTF-8 text; nothing after it was read"),
    N_("is not a column of %(kind)s; they are: %(columns)s"),
    N_("appears twice in the header"),
    N_("is a required column but the header lacks it"),
    N_("is on line %(line)s already"),
    N_("is in dealdesk already with other values (%(columns)s); an import never overwrites a record"),
    N_("a competitor of this name (in any case) is in dealdesk already"),
    N_("no such account in dealdesk: import accounts first"),
    N_("no such user in dealdesk: add them first (dealdesk users add)"),
    N_("must be %(allowed)s for a %(state)s opportunity"),
    N_("no such opportunity in dealdesk: import opportunities first"),
    N_("is on line %(line)s already: a quote's rows must follow each other"),
    N_("differs from line %(line)s, the first row of this quote"),
    N_("is not the sum of the line amounts (%(total)s)"),
    N_("a quote of several rows needs a line on each"),
    N_("must be %(number)s: lines are numbered from 1 in the order of their rows"),
    N_("is not quantity x unit price, rounded to cents (%(amount)s)"),
    N_("%(number)s revision %(revision)s is another quote in dealdesk"),
    N_("%(number)s revision %(revision)s is on line %(line)s too"),
    N_("needs revision %(revision)s of %(number)s in the same file: revisions are imported together"),
    N_("follows revision %(revision)s, which was not revised"),
    N_("a revised quote needs its next revision in the file"),
    N_(
        "would end %(ended)s: winning %(number)s closes every other draft or active quote as lost, so a %(state)s "
        "quote cannot stand beside it"
    ),
    N_("would end %(ended)s under dealdesk's rules, not %(wanted)s"),
    N_("is required for a %(state)s quote: lost, canceled or revised"),
    N_("must be %(allowed)s for a %(state)s quote"),
    N_("is required for a %(state)s quote"),
    N_("only a won or closed quote has one"),
    N_("must not be in the future (today is %(today)s)"),
    N_("only a won, lost or canceled quote has one"),
    N_("is required when reopened_by or reopen_reason is given"),
    N_("only a won close has a won quote"),
    N_("no such close reason: import close reasons first"),
    N_("is a reason for %(outcome)s closes"),
    N_("no such competitor: import competitors first"),
    N_("no such quote: import quotes first"),
    N_("is not the opportunity's currency (%(currency)s)"),
    N_("is not the opportunity's won quote"),
    N_("is before closed_at"),
    N_("is before the reopen on line %(line)s"),
    N_(
        "is required: line %(line)s closes the opportunity again later, so this close was ended by a reopen (an "
        "opportunity has one standing close)"
    ),
    N_("at most %(count)s lines"),
    N_("must be a plain decimal number such as 1250.00 (no exponent)"),
    N_("is not a number"),
    N_("must be a finite amount"),
    N_("must have at most 2 decimals"),
    N_("must not be negative"),
    N_("must be at most 999999999999.99"),
    N_("must be greater than 0"),
    N_("is too large"),
    N_("must be a date as YYYY-MM-DD"),
    N_("is not a real calendar date"),
    N_("must be between 1900-01-01 and 9999-12-31"),
    N_("must not contain NUL characters"),
    N_("must be valid Unicode text"),
    N_("must not be blank"),
    N_("must be a current ISO 4217 currency code such as USD"),
    N_("is required for a lost close: canceled or out_sold"),
    N_("must be %(allowed)s for a %(outcome)s close"),
    N_("must be lost or canceled"),
    N_("cannot change once the opportunity has quotes"),
    N_("must be in_progress or on_hold while open"),
    N_("must be in_progress or on_hold"),
    N_("this close reason is no longer active"),
    N_("this close reason is for %(outcome)s closes"),
    N_("this competitor is no longer active"),
    N_("no such competitor"),
    N_("no such close reason"),
    N_("no such account"),
    N_("is required by the close policy for a %(outcome)s close: choose a close reason"),
    N_("is required by the close policy when the opportunity was out-sold: name the competitor"),
    N_("is required by the close policy for a lost close: say what happened"),
)
"""Every sentence the importer and the domain's checks give as a reason; `%(name)s` stands for a value."""

_PLACEHOLDER = re.compile(r"%\\\((\w+)\\\)s")
_REFUSAL = re.compile(r"^(?P<code>[a-z_]+): .+$", re.DOTALL)


@dataclass(frozen=True)
class ShownReason:
    text: str
    translated: bool


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    compiled = []
    for template in REASONS:
        pattern = _PLACEHOLDER.sub(lambda m: f"(?P<{m.group(1)}>.+?)", re.escape(template))
        compiled.append((re.compile(f"^{pattern}$", re.DOTALL), template))
    return tuple(compiled)


def shown_reason(lang: Language, reason: str) -> ShownReason:
    """The reason in the reader's language, and whether it could be translated (else it is the English)."""
    for pattern, template in _patterns():
        found = pattern.match(reason)
        if found is not None:
            translated = lang.gettext(template)
            return ShownReason(translated % found.groupdict() if found.groupdict() else translated, True)
    refused = _REFUSAL.match(reason)
    if refused is not None and refused.group("code") in STATUS_OF_CODE:
        return ShownReason(refusal_for_code(lang, refused.group("code")), True)
    return ShownReason(reason, False)
