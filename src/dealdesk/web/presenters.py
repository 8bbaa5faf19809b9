"""Domain results to response documents."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from dealdesk.domain.closing import ClosePreview, CloseResult, WinResult
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.quote import ClosedQuote, Quote
from dealdesk.services.closing import BulkResult
from dealdesk.web import schemas as s
from dealdesk.web.deps import etag


def closed_quotes(closed: Sequence[ClosedQuote]) -> list[s.ClosedQuoteOut]:
    return [s.ClosedQuoteOut.model_validate(c) for c in closed]


def quote(q: Quote, today: date) -> s.QuoteOut:
    """`today` (the business time zone's date) decides whether the quote is expired."""
    return s.QuoteOut.model_validate({**_attributes(q), "expired": q.is_expired(today)})


def _attributes(q: Quote) -> dict[str, object]:
    return {name: getattr(q, name) for name in s.QuoteOut.model_fields if name != "expired"}


def quotes(items: Sequence[Quote], next_cursor: str | None, today: date) -> s.Page[s.QuoteOut]:
    return s.Page[s.QuoteOut](items=[quote(q, today) for q in items], next_cursor=next_cursor)


def reopened(opportunity: Opportunity, revived: Quote | None, today: date) -> s.OpportunityOut:
    """The opportunity, as any reopen answers it; a revive adds `revived_quote`."""
    if revived is None:
        return s.OpportunityOut.model_validate(opportunity)
    return s.ReopenOut.model_validate(
        {
            **s.OpportunityOut.model_validate(opportunity).model_dump(),
            "revived_quote": quote(revived, today),
        }
    )


def close_result(result: object) -> s.CloseOut:
    assert isinstance(result, CloseResult)
    return s.CloseOut(
        opportunity=s.OpportunityOut.model_validate(result.opportunity),
        close=s.CloseRecordOut.model_validate(result.close),
        closed_quotes=closed_quotes(result.closed_quotes),
    )


def win_result(result: object, today: date) -> s.WinOut:
    assert isinstance(result, WinResult)
    return s.WinOut(
        quote=quote(result.quote, today),
        opportunity=s.OpportunityOut.model_validate(result.opportunity),
        contract=s.ContractOut.model_validate(result.contract),
        closed_quotes=closed_quotes(result.closed_quotes),
    )


def preview(p: ClosePreview) -> s.ClosePreviewOut:
    return s.ClosePreviewOut(
        can_close=p.can_close,
        blocking_quotes=[s.QuoteSummary.model_validate(q) for q in p.blocking_quotes],
        draft_quotes=[s.QuoteSummary.model_validate(q) for q in p.draft_quotes],
        won_quote=s.QuoteSummary.model_validate(p.won_quote) if p.won_quote is not None else None,
        expired_quotes=[s.ExpiredQuoteOut.model_validate(q) for q in p.expired_quotes],
        etag=etag(p.version),
    )


def bulk_result(result: object) -> s.BulkCloseOut:
    assert isinstance(result, BulkResult)
    return s.BulkCloseOut(
        results=[
            s.BulkRowOut(
                id=row.id,
                ok=row.ok,
                error=s.BulkErrorOut(code=row.error.code, detail=row.error.detail) if row.error else None,
            )
            for row in result.results
        ],
        closed=result.closed,
        failed=result.failed,
    )
