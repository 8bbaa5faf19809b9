"""Reports: read-only, from the standing close records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from dealdesk.domain.errors import ValidationFailed
from dealdesk.domain.reporting import ReasonGroup, WinLossReport, build_report, default_currency
from dealdesk.services.ports import UnitOfWork


@dataclass(frozen=True)
class ReportFilter:
    """`date_from`/`date_to` filter on close_date, inclusive."""

    currency: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    owner_id: UUID | None = None
    account_id: UUID | None = None


def win_loss(uow: UnitOfWork, where: ReportFilter) -> WinLossReport:
    """One currency at a time: the one asked for, else the one with the most closes in the range."""
    if where.date_from and where.date_to and where.date_from > where.date_to:
        raise ValidationFailed.field("from", "must not be after `to`")
    with uow.transaction(write=False):
        counts = uow.reports.standing_counts_by_currency(where)
        currency = where.currency if where.currency is not None else default_currency(counts)
        if currency is None:
            return build_report(
                currency=None, currencies=[], groups=[], reopened_count=0, close_reasons={}, competitors={}
            )
        groups = uow.reports.close_groups(where, currency)
        owner_groups = uow.reports.owner_groups(where, currency)
        quote_losses = uow.reports.quote_losses(where, currency)
        by_reason = [g for g in groups if isinstance(g, ReasonGroup)]
        reason_ids = {g.close_reason_id for g in by_reason if g.close_reason_id is not None}
        competitor_ids = {g.competitor_id for g in by_reason if g.competitor_id is not None}
        competitor_ids |= {loss.competitor_id for loss in quote_losses}
        return build_report(
            currency=currency,
            currencies=counts.keys(),
            groups=groups,
            reopened_count=uow.reports.reopened_count(where, currency),
            close_reasons=uow.reports.close_reason_names(reason_ids),
            competitors=uow.reports.competitor_names(competitor_ids),
            owner_groups=owner_groups,
            owners=uow.reports.user_names({g.owner_id for g in owner_groups}),
            quote_losses=quote_losses,
        )
