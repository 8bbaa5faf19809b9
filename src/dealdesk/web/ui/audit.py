"""The audit panel: an opportunity's audit entries as sentences a person can read, newest first."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from dealdesk.domain.states import DataverseEnum, OpportunityState, OpportunityStatus, QuoteState, QuoteStatus
from dealdesk.services import reads, views
from dealdesk.services.ports import AuditEntry, UnitOfWork
from dealdesk.web.i18n import Language
from dealdesk.web.ui import labels

AUDIT_PAGE = 15
_MONEY_FIELDS = frozenset({"estimated_revenue", "actual_revenue"})
_DATE_FIELDS = frozenset({"estimated_close_date", "actual_close_date"})
_REFERENCE_FIELDS = frozenset({"account_id", "owner_id", "won_quote_id", "contract_id"})
_SHOWN_FIELDS: dict[str, frozenset[str]] = {
    "quote": frozenset(
        {"name", "state", "status_reason", "competitor_id", "close_reason_id", "superseded_by_quote_id", "description"}
    ),
    "opportunity_close": frozenset({"description", "competitor_id", "close_reason_id"}),
    "contract": frozenset(),
}
"""For records other than the deal itself, the fields worth a line; the entry's title says the rest."""
_QUOTE_LOSS_FIELDS = frozenset({"competitor_id", "close_reason_id", "superseded_by_quote_id"})
"""What a quote's close kept (SPEC §11), shown by name."""
_SKIPPED_ACTIONS = frozenset({"create"})
"""A creation lists every field; the entry's title says enough."""


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: str | None
    after: str | None
    """References show the record's name (a quote's number, an account's name), never its id."""
    link: str | None = None
    """Where the record the new value names can be opened."""


@dataclass(frozen=True)
class AuditLine:
    at: datetime
    who: str
    action: str
    changes: Sequence[FieldChange]
    subject: str | None = None
    """The record an entry about a quote or contract is about, by name (Q-00042 revision 1 · Phase 1)."""
    subject_link: str | None = None


@dataclass(frozen=True)
class Names:
    """What references in one page of entries are called, read once for the page."""

    quotes: dict[UUID, str]
    accounts: dict[UUID, str]
    people: dict[UUID, str]
    competitors: dict[UUID, str] = dataclasses.field(default_factory=dict)
    close_reasons: dict[UUID, str] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class AuditPanel:
    lines: Sequence[AuditLine]
    next_cursor: str | None


_STATES: dict[str, tuple[type[DataverseEnum], type[DataverseEnum]]] = {
    "opportunity": (OpportunityState, OpportunityStatus),
    "quote": (QuoteState, QuoteStatus),
}
"""Which state and status enums an entry's `state` and `status_reason` fields hold, by record type."""


def _shown(lang: Language, field: str, value: Any, currency: str, record_type: str) -> str:
    if value is None or value == "":
        return "—"
    states = _STATES.get(record_type)
    if field == "state" and states is not None:
        return labels.label(lang, states[0](value))
    if field == "status_reason" and states is not None:
        return labels.label(lang, states[1](value))
    if field in _MONEY_FIELDS:
        return lang.money(Decimal(str(value)), currency)
    if field in _DATE_FIELDS:
        return lang.day(date.fromisoformat(str(value)))
    return str(value)


def quote_label(lang: Language, number: str, revision: int, name: str) -> str:
    revised = " " + lang.gettext("revision %(revision)s") % {"revision": revision} if revision else ""
    return f"{number}{revised} · {name}"


def _reference(lang: Language, field: str, value: Any, names: Names, opportunity_id: UUID) -> FieldChange:
    label = labels.field_name(lang, field)
    if not value:
        return FieldChange(label, None, "—")
    record_id = UUID(str(value))
    if field == "won_quote_id":
        return FieldChange(
            label, None, names.quotes.get(record_id, "—"), f"/opportunities/{opportunity_id}#quote-{value}"
        )
    if field == "contract_id":
        return FieldChange(label, None, lang.gettext("Open project contract"), f"/contracts/{value}")
    if field == "superseded_by_quote_id":
        return FieldChange(
            label, None, names.quotes.get(record_id, "—"), f"/opportunities/{opportunity_id}#quote-{value}"
        )
    if field == "competitor_id":
        return FieldChange(label, None, names.competitors.get(record_id, "—"))
    if field == "close_reason_id":
        return FieldChange(label, None, names.close_reasons.get(record_id, "—"))
    if field == "account_id":
        return FieldChange(label, None, names.accounts.get(record_id, "—"), f"/accounts/{value}")
    return FieldChange(label, None, names.people.get(record_id, "—"))


def _changes(lang: Language, entry: AuditEntry, currency: str, names: Names, opportunity_id: UUID) -> list[FieldChange]:
    if entry.action in _SKIPPED_ACTIONS:
        return []
    before = entry.before or {}
    after = entry.after or {}
    changes = []
    shown = _SHOWN_FIELDS.get(entry.record_type)
    for field in [*before, *(name for name in after if name not in before)]:
        if shown is not None and field not in shown:
            continue
        name = labels.field_name(lang, field)
        if field in _REFERENCE_FIELDS or (entry.record_type == "quote" and field in _QUOTE_LOSS_FIELDS):
            changes.append(_reference(lang, field, after.get(field), names, opportunity_id))
        else:
            kind = entry.record_type
            shown_before = _shown(lang, field, before.get(field), currency, kind) if field in before else None
            changes.append(FieldChange(name, shown_before, _shown(lang, field, after.get(field), currency, kind)))
    return changes


def audit_panel(
    lang: Language, uow: UnitOfWork, opportunity_id: UUID, *, currency: str, cursor: str | None
) -> AuditPanel:
    page = reads.opportunity_history(uow, opportunity_id, limit=AUDIT_PAGE, cursor=cursor)
    owners = [UUID(str(e.after["owner_id"])) for e in page.items if e.after and e.after.get("owner_id")]
    names = Names(
        quotes={q.id: quote_label(lang, q.number, q.revision, q.name) for q in views.quotes_of(uow, opportunity_id)},
        accounts=views.account_names(uow),
        people=views.user_names(uow, [entry.user_id for entry in page.items] + owners),
    )
    if any(e.record_type == "quote" and _QUOTE_LOSS_FIELDS & set(e.after or {}) for e in page.items):
        names = replace(names, competitors=views.competitor_names(uow), close_reasons=views.close_reason_names(uow))
    lines = [
        AuditLine(
            at=entry.at,
            who=names.people.get(entry.user_id, ""),
            action=labels.audit_action(lang, entry.action, entry.record_type),
            changes=_changes(lang, entry, currency, names, opportunity_id),
            **_subject(lang, entry, names, opportunity_id),
        )
        for entry in page.items
    ]
    return AuditPanel(lines=lines, next_cursor=page.next_cursor)


def _subject(lang: Language, entry: AuditEntry, names: Names, opportunity_id: UUID) -> dict[str, str | None]:
    """Entries about a quote name it (a deleted draft by the number its entry kept); a contract's links to it."""
    if entry.record_type == "quote":
        known = names.quotes.get(entry.record_id)
        if known is not None:
            return {"subject": known, "subject_link": f"/opportunities/{opportunity_id}#quote-{entry.record_id}"}
        kept = entry.before or entry.after or {}
        if kept.get("number"):
            label = quote_label(lang, str(kept["number"]), int(kept.get("revision") or 0), str(kept.get("name", "")))
            return {"subject": label, "subject_link": None}
    if entry.record_type == "contract":
        return {"subject": lang.gettext("Open project contract"), "subject_link": f"/contracts/{entry.record_id}"}
    return {}
