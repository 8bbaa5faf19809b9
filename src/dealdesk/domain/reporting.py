"""The win/loss report (SPEC §7.1), computed from close records grouped by the database.

Only standing closes count; closes later ended by a reopen are counted apart, never twice."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from uuid import UUID

from dealdesk.domain.states import CLOSE_STATUSES, OpportunityStatus, Outcome
from dealdesk.domain.values import ZERO


@dataclass(frozen=True)
class ReasonGroup:
    """Standing closes sharing status reason, reason detail and competitor."""

    status_reason: OpportunityStatus
    close_reason_id: UUID | None
    competitor_id: UUID | None
    count: int
    revenue: Decimal
    days_to_close: int
    """Sum over the group of days from the deal's creation to its close date."""

    @property
    def outcome(self) -> Outcome:
        return Outcome.WON if self.status_reason in CLOSE_STATUSES[Outcome.WON] else Outcome.LOST


@dataclass(frozen=True)
class MonthGroup:
    """Standing closes of one outcome with close dates in one month (`YYYY-MM`)."""

    outcome: Outcome
    month: str
    count: int
    revenue: Decimal


@dataclass(frozen=True)
class OwnerGroup:
    """Standing closes of one outcome whose deal one owner held at close time."""

    outcome: Outcome
    owner_id: UUID
    count: int
    revenue: Decimal


@dataclass(frozen=True)
class QuoteLossGroup:
    """Quotes closed as lost to one competitor (SPEC §11): how many, and the sum of their totals."""

    competitor_id: UUID
    count: int
    amount: Decimal


CloseGroup = ReasonGroup | MonthGroup
"""The database groups the same closes twice, by reason and competitor and by month, rather than by the product of
the two: at a million closes that product is thousands of groups to carry over, these are a few hundred."""


@dataclass
class StatusReasonLine:
    status_reason: OpportunityStatus
    count: int = 0
    revenue: Decimal = ZERO


@dataclass
class CloseReasonLine:
    close_reason_id: UUID
    name: str
    outcome: Outcome
    count: int = 0
    revenue: Decimal = ZERO


@dataclass
class SplitLine:
    """Won and lost side by side, for a competitor or a month."""

    won_count: int = 0
    lost_count: int = 0
    won_revenue: Decimal = ZERO
    lost_revenue: Decimal = ZERO

    def add(self, group: ReasonGroup | MonthGroup) -> None:
        if group.outcome is Outcome.WON:
            self.won_count += group.count
            self.won_revenue += group.revenue
        else:
            self.lost_count += group.count
            self.lost_revenue += group.revenue


@dataclass
class OwnerLine(SplitLine):
    """An owner's closes, won and lost, with the owner's own win rate."""

    @property
    def win_rate(self) -> Decimal | None:
        return _rate(self.won_count, self.lost_count)


@dataclass
class QuoteCompetitorLine:
    competitor_id: UUID
    name: str
    quotes_lost: int
    quotes_lost_amount: Decimal


def _rate(won: int, lost: int) -> Decimal | None:
    if won + lost == 0:
        return None
    return (Decimal(won) / Decimal(won + lost)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


@dataclass
class WinLossReport:
    currency: str | None
    currencies: list[str]
    won_count: int = 0
    lost_count: int = 0
    won_revenue: Decimal = ZERO
    lost_revenue: Decimal = ZERO
    by_status_reason: list[StatusReasonLine] = field(default_factory=list)
    by_close_reason: list[CloseReasonLine] = field(default_factory=list)
    by_competitor: list[tuple[UUID, str, SplitLine]] = field(default_factory=list)
    by_month: list[tuple[str, SplitLine]] = field(default_factory=list)
    by_owner: list[tuple[UUID, str, OwnerLine]] = field(default_factory=list)
    quotes_by_competitor: list[QuoteCompetitorLine] = field(default_factory=list)
    avg_days_won: Decimal | None = None
    avg_days_lost: Decimal | None = None
    reopened_count: int = 0

    @property
    def win_rate(self) -> Decimal | None:
        """won / (won + lost), 4 decimals; none when nothing closed."""
        return _rate(self.won_count, self.lost_count)


def default_currency(counts: Mapping[str, int]) -> str | None:
    """The currency with the most standing closes; ties go to the alphabetically first."""
    if not counts:
        return None
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[0][0]


def _average_days(total_days: int, count: int) -> Decimal | None:
    if count == 0:
        return None
    return (Decimal(total_days) / Decimal(count)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def build_report(
    *,
    currency: str | None,
    currencies: Iterable[str],
    groups: Iterable[CloseGroup],
    reopened_count: int,
    close_reasons: Mapping[UUID, tuple[str, Outcome]],
    competitors: Mapping[UUID, str],
    owner_groups: Iterable[OwnerGroup] = (),
    owners: Mapping[UUID, str] | None = None,
    quote_losses: Iterable[QuoteLossGroup] = (),
) -> WinLossReport:
    """`competitors` names every competitor of `groups` and `quote_losses`; `owners` every owner of
    `owner_groups`."""
    report = WinLossReport(currency=currency, currencies=sorted(currencies), reopened_count=reopened_count)
    by_status: dict[OpportunityStatus, StatusReasonLine] = {}
    by_reason: dict[UUID, CloseReasonLine] = {}
    by_competitor: dict[UUID, SplitLine] = defaultdict(SplitLine)
    by_month: dict[str, SplitLine] = defaultdict(SplitLine)
    days = {Outcome.WON: 0, Outcome.LOST: 0}
    for group in groups:
        if isinstance(group, MonthGroup):
            by_month[group.month].add(group)
            continue
        if group.outcome is Outcome.WON:
            report.won_count += group.count
            report.won_revenue += group.revenue
        else:
            report.lost_count += group.count
            report.lost_revenue += group.revenue
        days[group.outcome] += group.days_to_close
        status = by_status.setdefault(group.status_reason, StatusReasonLine(group.status_reason))
        status.count += group.count
        status.revenue += group.revenue
        if group.close_reason_id is not None:
            name, outcome = close_reasons.get(group.close_reason_id, ("", group.outcome))
            line = by_reason.setdefault(group.close_reason_id, CloseReasonLine(group.close_reason_id, name, outcome))
            line.count += group.count
            line.revenue += group.revenue
        if group.competitor_id is not None:
            by_competitor[group.competitor_id].add(group)
    report.by_status_reason = sorted(by_status.values(), key=lambda line: line.status_reason.value)
    report.by_close_reason = sorted(
        by_reason.values(), key=lambda line: (line.outcome.value, line.name, str(line.close_reason_id))
    )
    report.by_competitor = sorted(
        ((cid, competitors.get(cid, ""), line) for cid, line in by_competitor.items()),
        key=lambda item: (item[1].casefold(), str(item[0])),
    )
    report.by_month = sorted(by_month.items())
    by_owner: dict[UUID, OwnerLine] = defaultdict(OwnerLine)
    for owner_group in owner_groups:
        owner_line = by_owner[owner_group.owner_id]
        if owner_group.outcome is Outcome.WON:
            owner_line.won_count += owner_group.count
            owner_line.won_revenue += owner_group.revenue
        else:
            owner_line.lost_count += owner_group.count
            owner_line.lost_revenue += owner_group.revenue
    owner_names = owners or {}
    report.by_owner = sorted(
        ((oid, owner_names.get(oid, ""), owner_line) for oid, owner_line in by_owner.items()),
        key=lambda item: (item[1].casefold(), str(item[0])),
    )
    report.quotes_by_competitor = sorted(
        (
            QuoteCompetitorLine(loss.competitor_id, competitors.get(loss.competitor_id, ""), loss.count, loss.amount)
            for loss in quote_losses
        ),
        key=lambda line: (line.name.casefold(), str(line.competitor_id)),
    )
    report.avg_days_won = _average_days(days[Outcome.WON], report.won_count)
    report.avg_days_lost = _average_days(days[Outcome.LOST], report.lost_count)
    return report
