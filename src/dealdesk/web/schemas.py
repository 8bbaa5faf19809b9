"""Request and response documents of the JSON API (the public contract of SPEC §2 and §7)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictStr,
    WithJsonSchema,
)

from dealdesk.domain import values
from dealdesk.domain.closing import CloseDetails
from dealdesk.domain.errors import ValidationFailed
from dealdesk.domain.reporting import WinLossReport
from dealdesk.domain.states import OpportunityState, OpportunityStatus, Outcome, QuoteState, QuoteStatus, Role
from dealdesk.web.json_body import ExponentNumber

MONEY_PATTERN = r"^-?\d{1,12}(\.\d{1,2})?$"
Item = TypeVar("Item", bound=BaseModel)


def _decimal_in(value: Any, *, allow_negative: bool, quantity: bool = False) -> Decimal:
    if isinstance(value, ExponentNumber):
        raise ValueError("must be written without an exponent, such as 1250.00")
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise ValueError('must be a decimal number or a string such as "1250.00"')
    try:
        number = values.parse_decimal_text(value.strip(), field="") if isinstance(value, str) else Decimal(value)
        if quantity:
            return values.check_quantity(number, field="")
        return values.check_money(number, field="", allow_negative=allow_negative)
    except ValidationFailed as exc:
        raise ValueError(exc.errors[0].message) from exc


def _date_in(value: Any) -> date:
    if not isinstance(value, str | date):
        raise ValueError("must be a date as YYYY-MM-DD")
    try:
        if isinstance(value, date):
            return values.check_date_range(value, field="")
        return values.parse_iso_date(value, field="")
    except ValidationFailed as exc:
        raise ValueError(exc.errors[0].message) from exc


def _money_out(value: Decimal) -> str:
    return f"{value:.2f}"


_MONEY_IN_SCHEMA = WithJsonSchema(
    {"anyOf": [{"type": "string", "pattern": r"^\d+(\.\d{1,2})?$"}, {"type": "number", "minimum": 0}]}
)
_SIGNED_MONEY_IN_SCHEMA = WithJsonSchema(
    {"anyOf": [{"type": "string", "pattern": r"^-?\d+(\.\d{1,2})?$"}, {"type": "number"}]}
)
MoneyIn = Annotated[Decimal, BeforeValidator(lambda v: _decimal_in(v, allow_negative=False)), _MONEY_IN_SCHEMA]
SignedMoneyIn = Annotated[
    Decimal, BeforeValidator(lambda v: _decimal_in(v, allow_negative=True)), _SIGNED_MONEY_IN_SCHEMA
]
QuantityIn = Annotated[
    Decimal, BeforeValidator(lambda v: _decimal_in(v, allow_negative=False, quantity=True)), _MONEY_IN_SCHEMA
]
DateIn = Annotated[date, BeforeValidator(_date_in), WithJsonSchema({"type": "string", "format": "date"})]
Money = Annotated[
    Decimal,
    PlainSerializer(_money_out, return_type=str),
    WithJsonSchema({"type": "string", "pattern": MONEY_PATTERN}),
]
Name = Annotated[StrictStr, Field(min_length=1, max_length=160)]
Title = Annotated[StrictStr, Field(min_length=1, max_length=300)]
Description = Annotated[StrictStr, Field(max_length=2000)]
Subject = Annotated[StrictStr, Field(max_length=200, description="A title for the close; blank means none")]
Currency = Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")]


class In(BaseModel):
    """Request bodies refuse unknown fields."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# ------------------------------------------------------------------------------------------ catalogue
class AccountIn(In):
    name: Name


class AccountOut(Out):
    id: UUID
    name: str
    created_at: datetime
    updated_at: datetime


class CompetitorIn(In):
    name: Name


class CompetitorPatch(In):
    name: Name | None = None
    active: StrictBool | None = None


class CompetitorOut(Out):
    id: UUID
    name: str
    active: bool
    created_at: datetime
    updated_at: datetime


class CloseReasonIn(In):
    outcome: Outcome
    name: Name
    active: StrictBool = True


class CloseReasonPatch(In):
    name: Name | None = None
    active: StrictBool | None = None


class RequireCloseReason(In):
    won: StrictBool
    lost: StrictBool


class ClosePolicyDoc(In):
    """The close policy (SPEC §11): every field is required on PUT and answered on GET."""

    require_close_reason: RequireCloseReason
    require_competitor_when_out_sold: StrictBool
    require_description_when_lost: StrictBool


class CloseReasonOut(Out):
    id: UUID
    outcome: Outcome
    name: str
    active: bool
    created_at: datetime
    updated_at: datetime


# ------------------------------------------------------------------------------------------ opportunities
class OpportunityIn(In):
    name: Title
    account_id: UUID
    currency: Currency = "USD"
    estimated_revenue: MoneyIn
    estimated_close_date: DateIn | None = None
    description: Description | None = None


class OpportunityPatch(In):
    name: Title | None = None
    account_id: UUID | None = None
    currency: Currency | None = None
    estimated_revenue: MoneyIn | None = None
    estimated_close_date: DateIn | None = None
    description: Description | None = None
    status_reason: Literal[OpportunityStatus.IN_PROGRESS, OpportunityStatus.ON_HOLD] | None = None
    owner_id: UUID | None = None


class OpportunityOut(Out):
    id: UUID
    name: str
    account_id: UUID
    currency: str
    estimated_revenue: Money
    estimated_close_date: date | None
    description: str | None
    owner_id: UUID
    state: OpportunityState
    status_reason: OpportunityStatus
    actual_revenue: Money | None
    actual_close_date: date | None
    won_quote_id: UUID | None
    contract_id: UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


# ------------------------------------------------------------------------------------------ quotes
class LineIn(In):
    description: Annotated[StrictStr, Field(min_length=1, max_length=500)]
    quantity: QuantityIn
    unit_price: SignedMoneyIn


class QuoteIn(In):
    name: Title
    lines: Annotated[list[LineIn], Field(max_length=500)] = []
    valid_until: DateIn | None = None


class QuotePatch(In):
    name: Title | None = None
    lines: Annotated[list[LineIn], Field(max_length=500)] | None = None
    valid_until: DateIn | None = None


class LineOut(Out):
    description: str
    quantity: Money
    unit_price: Money
    amount: Money


class QuoteOut(Out):
    id: UUID
    opportunity_id: UUID
    number: str
    revision: int
    name: str
    state: QuoteState
    status_reason: QuoteStatus
    lines: list[LineOut]
    total_amount: Money
    valid_until: date | None
    expired: bool = Field(
        description="Draft or active, and `valid_until` is before today (business time zone); not a state (SPEC §11).",
    )
    closed_on: date | None
    close_description: str | None
    competitor_id: UUID | None
    close_reason_id: UUID | None
    superseded_by_quote_id: UUID | None
    version: int
    created_at: datetime
    updated_at: datetime


class QuoteSummary(Out):
    """A quote as the close dialog lists it."""

    id: UUID
    number: str
    revision: int
    name: str
    state: QuoteState
    status_reason: QuoteStatus
    total_amount: Money


class QuoteCloseIn(In):
    status_reason: Literal[QuoteStatus.LOST, QuoteStatus.CANCELED]
    close_date: DateIn | None = None
    description: Description | None = None
    competitor_id: UUID | None = None
    close_reason_id: UUID | None = None


class WinIn(In):
    close_date: DateIn | None = None
    description: Description | None = None
    competitor_id: UUID | None = None
    close_reason_id: UUID | None = None
    close_opportunity: StrictBool = False
    accept_expired: StrictBool = False
    """Win a quote whose `valid_until` has passed; without it, such a win is `quote_expired` (SPEC §11)."""


class ClosedQuoteOut(Out):
    id: UUID
    number: str
    revision: int
    name: str
    previous_state: QuoteState
    state: QuoteState
    status_reason: QuoteStatus


class ContractLineOut(LineOut):
    pass


class ContractOut(Out):
    id: UUID
    opportunity_id: UUID
    quote_id: UUID
    account_id: UUID
    currency: str
    state: str
    lines: list[ContractLineOut]
    total_amount: Money
    created_at: datetime
    updated_at: datetime


# ------------------------------------------------------------------------------------------ closing
class _CloseFields(In):
    """What a close and a bulk close both send."""

    outcome: Outcome
    status_reason: OpportunityStatus | None = None
    close_reason_id: UUID | None = None
    close_date: DateIn
    competitor_id: UUID | None = None
    description: Description | None = None
    close_quotes: Literal[QuoteStatus.LOST, QuoteStatus.CANCELED] | None = None

    def details(self) -> CloseDetails:
        return CloseDetails(
            outcome=self.outcome,
            status_reason=self.status_reason,
            close_date=self.close_date,
            close_reason_id=self.close_reason_id,
            competitor_id=self.competitor_id,
            description=self.description,
            close_quotes=self.close_quotes,
        )


class CloseIn(_CloseFields):
    actual_revenue: MoneyIn | None = None
    subject: Subject | None = None

    def details(self) -> CloseDetails:
        return replace(super().details(), actual_revenue=self.actual_revenue, subject=self.subject)


class CloseQuotesIn(In):
    status_reason: Literal[QuoteStatus.LOST, QuoteStatus.CANCELED]
    description: Description | None = None
    competitor_id: UUID | None = None
    close_reason_id: UUID | None = None


class ReopenIn(In):
    status_reason: Literal[OpportunityStatus.IN_PROGRESS, OpportunityStatus.ON_HOLD] | None = None
    reason: Description | None = None
    revive_quote_id: UUID | None = None
    """A lost or canceled quote of the deal: a new draft revision of it starts in the same transaction."""


class ClosePatch(In):
    description: Description | None = None
    competitor_id: UUID | None = None
    close_reason_id: UUID | None = None


class BulkCloseIn(_CloseFields):
    ids: Annotated[list[UUID], Field(min_length=1, max_length=1000)]


class CloseRecordOut(Out):
    id: UUID
    opportunity_id: UUID
    outcome: Outcome
    status_reason: OpportunityStatus
    close_reason_id: UUID | None
    close_date: date
    actual_revenue: Money
    currency: str
    competitor_id: UUID | None
    description: str | None
    subject: str | None
    won_quote_id: UUID | None
    owner_id: UUID
    account_id: UUID
    closed_by: UUID
    closed_at: datetime
    reopened_at: datetime | None
    reopened_by: UUID | None
    reopen_reason: str | None
    created_at: datetime
    updated_at: datetime


class CloseOut(Out):
    opportunity: OpportunityOut
    close: CloseRecordOut
    closed_quotes: list[ClosedQuoteOut]


class ClosedQuotesOut(Out):
    closed_quotes: list[ClosedQuoteOut]


class ReopenOut(OpportunityOut):
    """The reopened opportunity; `revived_quote` (only when `revive_quote_id` was given) is the new draft revision."""

    revived_quote: QuoteOut | None = None


class WinOut(Out):
    quote: QuoteOut
    opportunity: OpportunityOut
    contract: ContractOut
    closed_quotes: list[ClosedQuoteOut]


class ExpiredQuoteOut(Out):
    id: UUID
    number: str
    revision: int
    name: str
    valid_until: date


class ClosePreviewOut(Out):
    can_close: bool
    blocking_quotes: list[QuoteSummary]
    draft_quotes: list[QuoteSummary]
    won_quote: QuoteSummary | None
    expired_quotes: list[ExpiredQuoteOut] = []
    etag: str


class BulkErrorOut(Out):
    code: str
    detail: str


class BulkRowOut(Out):
    id: UUID
    ok: bool
    error: BulkErrorOut | None = None


class BulkCloseOut(Out):
    results: list[BulkRowOut]
    closed: int
    failed: int


class AuditOut(Out):
    id: UUID
    at: datetime
    user_id: UUID
    record_type: str
    record_id: UUID
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


# ------------------------------------------------------------------------------------------ users
class UserOut(Out):
    """Who a user is, for owner names in lists and pickers: never a credential."""

    id: UUID
    name: str
    role: Role
    active: bool


# ------------------------------------------------------------------------------------------ lists
class Page(Out, Generic[Item]):
    """One page of a list."""

    items: list[Item]
    next_cursor: Annotated[str | None, Field(description="Send as `cursor` for the next page; null on the last page")]


# ------------------------------------------------------------------------------------------ reports
class StatusReasonCount(BaseModel):
    status_reason: OpportunityStatus
    count: int
    revenue: Money


class CloseReasonCount(BaseModel):
    close_reason_id: UUID
    name: str
    outcome: Outcome
    count: int
    revenue: Money


class CompetitorSplit(BaseModel):
    competitor_id: UUID
    name: str
    won_count: int
    lost_count: int
    won_revenue: Money
    lost_revenue: Money


class OwnerSplit(BaseModel):
    owner_id: UUID
    name: str
    won_count: int
    lost_count: int
    win_rate: Annotated[str | None, Field(description="won / (won + lost) of this owner, 4 decimals")]
    won_revenue: Money
    lost_revenue: Money


class QuotesLostToCompetitor(BaseModel):
    competitor_id: UUID
    name: str
    quotes_lost: int
    quotes_lost_amount: Money


class MonthSplit(BaseModel):
    month: str
    won_count: int
    lost_count: int
    won_revenue: Money
    lost_revenue: Money


class DaysToClose(BaseModel):
    won: Annotated[Decimal | None, PlainSerializer(lambda v: None if v is None else float(v), return_type=float | None)]
    lost: Annotated[
        Decimal | None, PlainSerializer(lambda v: None if v is None else float(v), return_type=float | None)
    ]


class WinLossOut(BaseModel):
    currency: str | None
    currencies: list[str]
    won_count: int
    lost_count: int
    win_rate: Annotated[str | None, Field(description='won / (won + lost), 4 decimals, e.g. "0.6667"')]
    won_revenue: Money
    lost_revenue: Money
    by_status_reason: list[StatusReasonCount]
    by_close_reason: list[CloseReasonCount]
    by_competitor: list[CompetitorSplit]
    by_owner: list[OwnerSplit]
    quotes_by_competitor: list[QuotesLostToCompetitor]
    by_month: list[MonthSplit]
    avg_days_to_close: DaysToClose
    reopened_count: int


def win_loss_out(report: WinLossReport) -> WinLossOut:
    rate = report.win_rate
    return WinLossOut(
        currency=report.currency,
        currencies=report.currencies,
        won_count=report.won_count,
        lost_count=report.lost_count,
        win_rate=None if rate is None else f"{rate:.4f}",
        won_revenue=report.won_revenue,
        lost_revenue=report.lost_revenue,
        by_status_reason=[
            StatusReasonCount(status_reason=line.status_reason, count=line.count, revenue=line.revenue)
            for line in report.by_status_reason
        ],
        by_close_reason=[
            CloseReasonCount(
                close_reason_id=line.close_reason_id,
                name=line.name,
                outcome=line.outcome,
                count=line.count,
                revenue=line.revenue,
            )
            for line in report.by_close_reason
        ],
        by_competitor=[
            CompetitorSplit(
                competitor_id=cid,
                name=name,
                won_count=line.won_count,
                lost_count=line.lost_count,
                won_revenue=line.won_revenue,
                lost_revenue=line.lost_revenue,
            )
            for cid, name, line in report.by_competitor
        ],
        by_owner=[
            OwnerSplit(
                owner_id=oid,
                name=name,
                won_count=line.won_count,
                lost_count=line.lost_count,
                win_rate=None if line.win_rate is None else f"{line.win_rate:.4f}",
                won_revenue=line.won_revenue,
                lost_revenue=line.lost_revenue,
            )
            for oid, name, line in report.by_owner
        ],
        quotes_by_competitor=[
            QuotesLostToCompetitor(
                competitor_id=line.competitor_id,
                name=line.name,
                quotes_lost=line.quotes_lost,
                quotes_lost_amount=line.quotes_lost_amount,
            )
            for line in report.quotes_by_competitor
        ],
        by_month=[
            MonthSplit(
                month=month,
                won_count=line.won_count,
                lost_count=line.lost_count,
                won_revenue=line.won_revenue,
                lost_revenue=line.lost_revenue,
            )
            for month, line in report.by_month
        ],
        avg_days_to_close=DaysToClose(won=report.avg_days_won, lost=report.avg_days_lost),
        reopened_count=report.reopened_count,
    )
