"""Rows to domain objects and back. Plain functions: the domain never sees a row."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Row

from dealdesk.domain.closing import OpportunityClose
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.quote import Quote, QuoteLine
from dealdesk.domain.records import Account, Change, CloseReason, Competitor
from dealdesk.domain.states import OpportunityState, OpportunityStatus, Outcome, QuoteState, QuoteStatus

RowLike = Row[Any] | Mapping[Any, Any]
"""A row through SQLAlchemy, or one by column name from db/hot_path.py."""


def _fields(row: RowLike) -> Mapping[Any, Any]:
    return row._mapping if isinstance(row, Row) else row


def opportunity_from(row: RowLike) -> Opportunity:
    m = _fields(row)
    return Opportunity(
        id=m["id"],
        name=m["name"],
        account_id=m["account_id"],
        currency=m["currency"],
        estimated_revenue=m["estimated_revenue"],
        estimated_close_date=m["estimated_close_date"],
        description=m["description"],
        owner_id=m["owner_id"],
        state=OpportunityState(m["state"]),
        status_reason=OpportunityStatus(m["status_reason"]),
        actual_revenue=m["actual_revenue"],
        actual_close_date=m["actual_close_date"],
        won_quote_id=m["won_quote_id"],
        contract_id=m["contract_id"],
        version=m["version"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def opportunity_row(o: Opportunity) -> dict[str, Any]:
    return {
        "id": o.id,
        "name": o.name,
        "account_id": o.account_id,
        "currency": o.currency,
        "estimated_revenue": o.estimated_revenue,
        "estimated_close_date": o.estimated_close_date,
        "description": o.description,
        "owner_id": o.owner_id,
        "state": o.state.value,
        "status_reason": o.status_reason.value,
        "actual_revenue": o.actual_revenue,
        "actual_close_date": o.actual_close_date,
        "won_quote_id": o.won_quote_id,
        "contract_id": o.contract_id,
        "version": o.version,
        "created_at": o.created_at,
        "updated_at": o.updated_at,
    }


def quote_from(row: RowLike) -> Quote:
    m = _fields(row)
    return Quote(
        id=m["id"],
        opportunity_id=m["opportunity_id"],
        number=m["number"],
        revision=m["revision"],
        name=m["name"],
        state=QuoteState(m["state"]),
        status_reason=QuoteStatus(m["status_reason"]),
        total_amount=m["total_amount"],
        line_count=m["line_count"],
        valid_until=m["valid_until"],
        closed_on=m["closed_on"],
        close_description=m["close_description"],
        version=m["version"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        competitor_id=m["competitor_id"],
        close_reason_id=m["close_reason_id"],
        superseded_by_quote_id=m["superseded_by_quote_id"],
    )


def quote_row(q: Quote, currency: str) -> dict[str, Any]:
    """`currency` is the deal's: a quote is priced in it, and it cannot change once the deal has quotes. The row
    keeps it so that the report can sum lost quotes of one currency from an index alone."""
    return {
        "id": q.id,
        "opportunity_id": q.opportunity_id,
        "currency": currency,
        "number": q.number,
        "revision": q.revision,
        "name": q.name,
        "state": q.state.value,
        "status_reason": q.status_reason.value,
        "total_amount": q.total_amount,
        "line_count": q.line_count,
        "valid_until": q.valid_until,
        "closed_on": q.closed_on,
        "close_description": q.close_description,
        "competitor_id": q.competitor_id,
        "close_reason_id": q.close_reason_id,
        "superseded_by_quote_id": q.superseded_by_quote_id,
        "version": q.version,
        "created_at": q.created_at,
        "updated_at": q.updated_at,
    }


def line_from(row: RowLike) -> QuoteLine:
    m = _fields(row)
    return QuoteLine(description=m["description"], quantity=m["quantity"], unit_price=m["unit_price"])


def line_rows(owner_column: str, owner_id: Any, lines: Any) -> list[dict[str, Any]]:
    return [
        {
            owner_column: owner_id,
            "position": position,
            "description": line.description,
            "quantity": line.quantity,
            "unit_price": line.unit_price,
            "amount": line.amount,
        }
        for position, line in enumerate(lines)
    ]


def close_from(row: RowLike) -> OpportunityClose:
    m = _fields(row)
    return OpportunityClose(
        id=m["id"],
        opportunity_id=m["opportunity_id"],
        outcome=Outcome(m["outcome"]),
        status_reason=OpportunityStatus(m["status_reason"]),
        close_reason_id=m["close_reason_id"],
        close_date=m["close_date"],
        actual_revenue=m["actual_revenue"],
        currency=m["currency"],
        competitor_id=m["competitor_id"],
        description=m["description"],
        won_quote_id=m["won_quote_id"],
        owner_id=m["owner_id"],
        account_id=m["account_id"],
        closed_by=m["closed_by"],
        closed_at=m["closed_at"],
        reopened_at=m["reopened_at"],
        reopened_by=m["reopened_by"],
        reopen_reason=m["reopen_reason"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        opportunity_created_on=m["opportunity_created_on"],
        subject=m["subject"],
    )


def close_row(c: OpportunityClose) -> dict[str, Any]:
    return {
        "id": c.id,
        "opportunity_id": c.opportunity_id,
        "outcome": c.outcome.value,
        "status_reason": c.status_reason.value,
        "close_reason_id": c.close_reason_id,
        "close_date": c.close_date,
        "actual_revenue": c.actual_revenue,
        "currency": c.currency,
        "competitor_id": c.competitor_id,
        "description": c.description,
        "won_quote_id": c.won_quote_id,
        "owner_id": c.owner_id,
        "account_id": c.account_id,
        "closed_by": c.closed_by,
        "closed_at": c.closed_at,
        "reopened_at": c.reopened_at,
        "reopened_by": c.reopened_by,
        "reopen_reason": c.reopen_reason,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "opportunity_created_on": c.opportunity_created_on,
        "subject": c.subject,
    }


def account_from(row: RowLike) -> Account:
    m = _fields(row)
    return Account(id=m["id"], name=m["name"], created_at=m["created_at"], updated_at=m["updated_at"])


def competitor_from(row: RowLike) -> Competitor:
    m = _fields(row)
    return Competitor(
        id=m["id"], name=m["name"], created_at=m["created_at"], updated_at=m["updated_at"], active=m["active"]
    )


def close_reason_from(row: RowLike) -> CloseReason:
    m = _fields(row)
    return CloseReason(
        id=m["id"],
        outcome=Outcome(m["outcome"]),
        name=m["name"],
        active=m["active"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
    )


def audit_row(change: Change, *, seq: int, at: datetime, by: UUID, opportunity_id: UUID | None) -> dict[str, Any]:
    """An `audit_entries` row; `seq` orders the entries written at the same moment."""
    return {
        "id": uuid4(),
        "seq": seq,
        "at": at,
        "user_id": by,
        "record_type": change.record_type,
        "record_id": change.record_id,
        "opportunity_id": opportunity_id,
        "action": change.action,
        "before": change.before,
        "after": change.after,
    }


def changed(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Columns whose value differs: only those are written back."""
    return {k: v for k, v in after.items() if before.get(k) != v}
