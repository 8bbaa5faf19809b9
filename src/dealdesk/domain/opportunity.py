"""The opportunity aggregate: the deal, its quotes, and the rules of editing, winning, closing and reopening it.

The opportunity is the aggregate: it owns its quotes, so every rule that spans quotes (an active quote blocks
the close, one won quote at most, winning closes the siblings) is enforced here, under one lock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from dealdesk.domain.close_policy import NO_POLICY, ClosePolicy
from dealdesk.domain.closing import CloseDetails, ClosePreview, CloseResult, OpportunityClose, WinResult
from dealdesk.domain.errors import (
    ActiveQuotesBlockClose,
    InvalidTransition,
    NotFound,
    OpportunityNotOpen,
    QuoteExpired,
    QuoteHasNoLines,
    QuoteTotalNegative,
    ValidationFailed,
    WonQuoteExists,
    WonQuoteRequiresWonClose,
)
from dealdesk.domain.opportunity_changes import OpportunityChanges, new_or
from dealdesk.domain.quote import ClosedQuote, Quote, QuoteLine, QuoteLoss, check_lines, check_quote_name
from dealdesk.domain.records import Change, Contract, ContractLine, audit_day, audit_id, audit_money
from dealdesk.domain.states import (
    OPPORTUNITY_STATUSES,
    QUOTE_CLOSE_REASONS,
    ContractState,
    OpportunityState,
    OpportunityStatus,
    Outcome,
    QuoteState,
    QuoteStatus,
)
from dealdesk.domain.transitions import OPPORTUNITY_TRANSITIONS, QUOTE_ACTIONS_NEEDING_OPEN_OPPORTUNITY, Action
from dealdesk.domain.values import (
    MAX_TITLE,
    ZERO,
    check_description,
    check_money,
    check_not_in_future,
    check_text,
)


def _checked_reopen(
    status_reason: OpportunityStatus | None, reason: str | None
) -> tuple[OpportunityStatus, str | None]:
    status = status_reason or OpportunityStatus.IN_PROGRESS
    if status not in OPPORTUNITY_STATUSES[OpportunityState.OPEN]:
        raise ValidationFailed.field("status_reason", "must be in_progress or on_hold")
    return status, check_description(reason, field="reason")


@dataclass(eq=False)
class Opportunity:
    id: UUID
    name: str
    account_id: UUID
    currency: str
    estimated_revenue: Decimal
    estimated_close_date: date | None
    description: str | None
    owner_id: UUID
    state: OpportunityState
    status_reason: OpportunityStatus
    actual_revenue: Decimal | None
    actual_close_date: date | None
    won_quote_id: UUID | None
    contract_id: UUID | None
    version: int
    created_at: datetime
    updated_at: datetime
    quotes: list[Quote] = field(default_factory=list)
    standing_close: OpportunityClose | None = None
    """The close record without `reopened_at`; loaded for won and lost opportunities."""
    changes: list[Change] = field(default_factory=list)
    """Audit facts of what happened to this aggregate since it was loaded."""

    # ----------------------------------------------------------------- creation and reading
    @classmethod
    def open_new(
        cls,
        *,
        id: UUID,
        name: str,
        account_id: UUID,
        currency: str,
        estimated_revenue: Decimal,
        estimated_close_date: date | None,
        description: str | None,
        owner_id: UUID,
        at: datetime,
    ) -> Opportunity:
        opportunity = cls(
            id=id,
            name=check_text(name, field="name", max_length=MAX_TITLE),
            account_id=account_id,
            currency=currency,
            estimated_revenue=check_money(estimated_revenue, field="estimated_revenue"),
            estimated_close_date=estimated_close_date,
            description=check_description(description),
            owner_id=owner_id,
            state=OpportunityState.OPEN,
            status_reason=OpportunityStatus.IN_PROGRESS,
            actual_revenue=None,
            actual_close_date=None,
            won_quote_id=None,
            contract_id=None,
            version=1,
            created_at=at,
            updated_at=at,
        )
        opportunity.changes.append(Change("opportunity", id, "create", None, opportunity.audit_view()))
        return opportunity

    def audit_view(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "account_id": str(self.account_id),
            "currency": self.currency,
            "estimated_revenue": audit_money(self.estimated_revenue),
            "estimated_close_date": audit_day(self.estimated_close_date),
            "description": self.description,
            "owner_id": str(self.owner_id),
            "state": self.state.value,
            "status_reason": self.status_reason.value,
            "actual_revenue": audit_money(self.actual_revenue),
            "actual_close_date": audit_day(self.actual_close_date),
            "won_quote_id": audit_id(self.won_quote_id),
            "contract_id": audit_id(self.contract_id),
        }

    def _audit_state(self) -> dict[str, Any]:
        return {
            "state": self.state.value,
            "status_reason": self.status_reason.value,
            "actual_revenue": audit_money(self.actual_revenue),
            "actual_close_date": audit_day(self.actual_close_date),
        }

    @property
    def is_open(self) -> bool:
        return self.state is OpportunityState.OPEN

    @property
    def won_quote(self) -> Quote | None:
        return next((q for q in self.quotes if q.state is QuoteState.WON), None)

    def quote(self, quote_id: UUID) -> Quote:
        for quote in self.quotes:
            if quote.id == quote_id:
                return quote
        raise NotFound("quote", quote_id)

    def active_quotes(self) -> list[Quote]:
        return [q for q in self.quotes if q.state is QuoteState.ACTIVE]

    def expired_quotes(self, today: date) -> list[Quote]:
        """Draft and active quotes past their `valid_until` (SPEC §11), in number and revision order."""
        return sorted((q for q in self.quotes if q.is_expired(today)), key=lambda q: (q.number, q.revision))

    def preview_close(self, *, today: date) -> ClosePreview:
        blocking = tuple(self.active_quotes())
        return ClosePreview(
            can_close=self.is_open and not blocking,
            blocking_quotes=blocking,
            draft_quotes=tuple(q for q in self.quotes if q.state is QuoteState.DRAFT),
            won_quote=self.won_quote,
            version=self.version,
            expired_quotes=tuple(self.expired_quotes(today)),
        )

    # ----------------------------------------------------------------- rule helpers
    def _require(self, action: Action) -> OpportunityState:
        target = OPPORTUNITY_TRANSITIONS.get((action, self.state))
        if target is None:
            if action in (Action.EDIT, Action.ADD_QUOTE, Action.CLOSE_QUOTES):
                raise OpportunityNotOpen(f"Opportunity is {self.state.value}: reopen it first")
            raise InvalidTransition(f"Opportunity is {self.state.value}: cannot {action.value.replace('_', ' ')}")
        return target

    def _require_quote_action(self, quote: Quote, action: Action) -> None:
        """Quote actions on a closed deal are `opportunity_not_open`, then the quote's own table decides."""
        if action in QUOTE_ACTIONS_NEEDING_OPEN_OPPORTUNITY and not self.is_open:
            raise OpportunityNotOpen(f"Opportunity is {self.state.value}: its quotes cannot change")
        quote.require(action)

    def _require_no_won_quote(self) -> None:
        if self.won_quote_id is not None:
            raise WonQuoteExists("This opportunity already has a won quote")

    @staticmethod
    def _require_not_expired(quote: Quote, today: date, *, accepted: bool = False) -> None:
        if quote.is_expired(today) and not accepted:
            assert quote.valid_until is not None
            raise QuoteExpired(
                f"Quote {quote.number} rev {quote.revision} expired: it was valid until "
                f"{quote.valid_until.isoformat()}. Move valid_until first"
                + ("" if quote.state is QuoteState.DRAFT else ", or win it with accept_expired")
            )

    def _touch(self, at: datetime) -> None:
        """Any change to the deal or one of its quotes bumps the version, so an ETag notices it."""
        self.version += 1
        self.updated_at = at

    def _quote_changed(self, quote: Quote, action: str, before: dict[str, Any] | None, at: datetime) -> None:
        if action in ("edit", "create"):
            after = quote.audit_view()
        elif action == "close":
            after = quote.audit_close()
        else:
            after = quote.audit_state()
        self.changes.append(Change("quote", quote.id, action, before, after))
        self._touch(at)

    # ----------------------------------------------------------------- editing the deal
    def edit(self, changes: OpportunityChanges, *, at: datetime) -> None:
        """While open: name, account, money, dates, description, owner, and putting on hold or resuming.
        All or nothing: a faulty field leaves every field as it was."""
        checked = changes.checked()
        self._require(Action.EDIT)
        if new_or(checked.currency, self.currency) != self.currency and self.quotes:
            raise ValidationFailed.field("currency", "cannot change once the opportunity has quotes")
        before = self.audit_view()
        self.name = new_or(checked.name, self.name)
        self.account_id = new_or(checked.account_id, self.account_id)
        self.currency = new_or(checked.currency, self.currency)
        self.estimated_revenue = new_or(checked.estimated_revenue, self.estimated_revenue)
        self.estimated_close_date = new_or(checked.estimated_close_date, self.estimated_close_date)
        self.description = new_or(checked.description, self.description)
        self.status_reason = new_or(checked.status_reason, self.status_reason)
        self.owner_id = new_or(checked.owner_id, self.owner_id)
        after = self.audit_view()
        diff_before = {k: v for k, v in before.items() if after[k] != v}
        if diff_before:
            self.changes.append(Change("opportunity", self.id, "edit", diff_before, {k: after[k] for k in diff_before}))
            self._touch(at)

    def put_on_hold(self, at: datetime) -> None:
        self._require(Action.PUT_ON_HOLD)
        self.edit(OpportunityChanges(status_reason=OpportunityStatus.ON_HOLD), at=at)

    # ----------------------------------------------------------------- quotes
    def add_quote(
        self,
        *,
        quote_id: UUID,
        number: str,
        name: str,
        lines: Sequence[QuoteLine],
        valid_until: date | None,
        at: datetime,
    ) -> Quote:
        self._require(Action.ADD_QUOTE)
        quote = Quote.new_draft(
            id=quote_id,
            opportunity_id=self.id,
            number=number,
            revision=0,
            name=name,
            lines=lines,
            valid_until=valid_until,
            at=at,
        )
        self.quotes.append(quote)
        self._quote_changed(quote, "create", None, at)
        return quote

    def edit_quote(
        self,
        quote_id: UUID,
        *,
        name: str | None = None,
        lines: Sequence[QuoteLine] | None = None,
        valid_until: date | None = None,
        set_valid_until: bool = False,
        at: datetime,
    ) -> Quote:
        if name is not None:
            check_quote_name(name)  # input faults are reported before the state is judged
        if lines is not None:
            check_lines(lines)
        quote = self.quote(quote_id)
        self._require_quote_action(quote, Action.EDIT_QUOTE)
        before = quote.audit_view()
        quote.edit(name=name, lines=lines, valid_until=valid_until, set_valid_until=set_valid_until, at=at)
        self._quote_changed(quote, "edit", before, at)
        return quote

    def activate_quote(self, quote_id: UUID, *, today: date, at: datetime) -> Quote:
        """A draft becomes active (sent to the customer) while the deal is open and nothing was won yet, and
        while it is still valid (an expired draft needs a later `valid_until` first)."""
        quote = self.quote(quote_id)
        if not self.is_open:
            raise OpportunityNotOpen(f"Opportunity is {self.state.value}: its quotes cannot change")
        self._require_no_won_quote()
        quote.require(Action.ACTIVATE)
        if quote.line_count < 1:
            raise QuoteHasNoLines(f"Quote {quote.number} has no lines: add at least one before activating")
        if quote.total_amount < ZERO:
            raise QuoteTotalNegative(f"Quote {quote.number} totals {quote.total_amount:.2f}: it must not be negative")
        self._require_not_expired(quote, today)
        before = quote.audit_state()
        quote.activate(at)
        self._quote_changed(quote, "activate", before, at)
        return quote

    def close_quote(
        self,
        quote_id: UUID,
        reason: QuoteStatus,
        *,
        on: date,
        description: str | None,
        at: datetime,
        loss: QuoteLoss | None = None,
    ) -> ClosedQuote:
        """Draft or active quote closed as lost or canceled; drafts may be closed even on a closed deal."""
        if reason not in QUOTE_CLOSE_REASONS:
            raise ValidationFailed.field("status_reason", "must be lost or canceled")
        description = check_description(description)
        quote = self.quote(quote_id)
        self._require_quote_action(quote, Action.CLOSE_QUOTE)
        before = quote.audit_state()
        closed = quote.close(reason, on=on, description=description, at=at, loss=loss)
        self._quote_changed(quote, "close", before, at)
        return closed

    def delete_quote(self, quote_id: UUID, *, at: datetime) -> Quote:
        quote = self.quote(quote_id)
        self._require_quote_action(quote, Action.DELETE_QUOTE)
        self.quotes.remove(quote)
        self.changes.append(Change("quote", quote.id, "delete", quote.audit_view(), None))
        self._touch(at)
        return quote

    def revise_quote(self, quote_id: UUID, *, new_quote_id: UUID, today: date, at: datetime) -> Quote:
        """The active quote closes as revised; a draft copy keeps its number with the next revision."""
        quote = self.quote(quote_id)
        self._require_quote_action(quote, Action.REVISE)
        quote.loaded_lines()  # the copy needs them: fail before anything changes
        before = quote.audit_state()
        quote.mark_revised(on=today, at=at)
        self._quote_changed(quote, "revise", before, at)
        return self._add_draft_copy(
            quote, new_quote_id=new_quote_id, number=quote.number, revision=self._next_revision(quote.number), at=at
        )

    def _next_revision(self, number: str) -> int:
        return 1 + max(q.revision for q in self.quotes if q.number == number)

    def revivable_quote(self, quote_id: UUID) -> Quote:
        """The quote a reopen may start again from: a lost or canceled quote of this deal (else 422 on the field)."""
        found = next((q for q in self.quotes if q.id == quote_id), None)
        if found is None:
            raise ValidationFailed.field("revive_quote_id", "must be a quote of this opportunity")
        if not found.is_revivable:
            raise ValidationFailed.field("revive_quote_id", "must be a lost or canceled quote")
        return found

    def copy_quote(self, quote_id: UUID, *, new_quote_id: UUID, number: str, at: datetime) -> Quote:
        quote = self.quote(quote_id)
        self._require_quote_action(quote, Action.COPY)
        return self._add_draft_copy(quote, new_quote_id=new_quote_id, number=number, revision=0, at=at)

    def _add_draft_copy(self, quote: Quote, *, new_quote_id: UUID, number: str, revision: int, at: datetime) -> Quote:
        """A new draft with the quote's name, lines and validity (revising and copying both start one)."""
        draft = Quote.new_draft(
            id=new_quote_id,
            opportunity_id=self.id,
            number=number,
            revision=revision,
            name=quote.name,
            lines=quote.loaded_lines(),
            valid_until=quote.valid_until,
            at=at,
        )
        self.quotes.append(draft)
        self._quote_changed(draft, "create", None, at)
        return draft

    def close_open_quotes(
        self,
        reason: QuoteStatus,
        *,
        on: date,
        description: str | None,
        at: datetime,
        except_id: UUID | None = None,
        loss: QuoteLoss | None = None,
    ) -> tuple[ClosedQuote, ...]:
        """Every active and draft quote closes with one reason, as one step of a larger change."""
        closed = []
        for quote in self.quotes:
            if quote.is_open and quote.id != except_id:
                before = quote.audit_state()
                closed.append(quote.close(reason, on=on, description=description, at=at, loss=loss))
                self._quote_changed(quote, "close", before, at)
        return tuple(closed)

    def close_all_quotes(
        self,
        reason: QuoteStatus,
        *,
        description: str | None,
        today: date,
        at: datetime,
        loss: QuoteLoss | None = None,
    ) -> tuple[ClosedQuote, ...]:
        """The 'Close all quotes' action: only on an open deal, all or nothing."""
        if reason not in QUOTE_CLOSE_REASONS:
            raise ValidationFailed.field("status_reason", "must be lost or canceled")
        description = check_description(description)
        self._require(Action.CLOSE_QUOTES)
        return self.close_open_quotes(reason, on=today, description=description, at=at, loss=loss)

    def win_quote(
        self,
        quote_id: UUID,
        *,
        contract_id: UUID,
        close_date: date,
        description: str | None,
        competitor_id: UUID | None,
        close_opportunity: bool,
        close_id: UUID,
        close_reason_id: UUID | None = None,
        by: UUID,
        today: date,
        at: datetime,
        created_on: date | None = None,
        policy: ClosePolicy = NO_POLICY,
        accept_expired: bool = False,
    ) -> WinResult:
        """The quote is won, its siblings lost, a draft contract starts. The deal stays open unless asked; when
        asked, the close policy applies to that won close, checked before anything changes. An expired quote is
        won only when the user accepted it as expired (`accept_expired`)."""
        check_not_in_future(close_date, today=today)
        if close_opportunity:
            policy.check(
                outcome=Outcome.WON,
                status_reason=OpportunityStatus.WON,
                close_reason_id=close_reason_id,
                competitor_id=competitor_id,
                description=description,
            )
        description = check_description(description)
        quote = self.quote(quote_id)
        if not self.is_open:
            raise OpportunityNotOpen(f"Opportunity is {self.state.value}: its quotes cannot change")
        self._require_no_won_quote()
        quote.require(Action.WIN)
        self._require_not_expired(quote, today, accepted=accept_expired)
        lines = quote.loaded_lines()  # the contract copies them: fail before anything changes
        before = quote.audit_state()
        quote.win(on=close_date, description=description, at=at)
        self._quote_changed(quote, "win", before, at)
        closed = self.close_open_quotes(
            QuoteStatus.LOST,
            on=close_date,
            description=None,
            at=at,
            except_id=quote.id,
            loss=QuoteLoss(superseded_by_quote_id=quote.id),
        )
        contract = Contract(
            id=contract_id,
            opportunity_id=self.id,
            quote_id=quote.id,
            account_id=self.account_id,
            currency=self.currency,
            state=ContractState.DRAFT,
            lines=tuple(ContractLine(ln.description, ln.quantity, ln.unit_price, ln.amount) for ln in lines),
            total_amount=quote.total_amount,
            created_at=at,
            updated_at=at,
        )
        before_opp = {"won_quote_id": None, "contract_id": None}
        self.won_quote_id = quote.id
        self.contract_id = contract.id
        self.changes.append(
            Change(
                "contract",
                contract.id,
                "create",
                None,
                {"quote_id": str(quote.id), "total_amount": audit_money(contract.total_amount)},
            )
        )
        self.changes.append(
            Change(
                "opportunity",
                self.id,
                "win_quote",
                before_opp,
                {"won_quote_id": str(quote.id), "contract_id": str(contract.id)},
            )
        )
        self._touch(at)
        record = None
        if close_opportunity:
            details = CloseDetails(
                outcome=Outcome.WON,
                close_date=close_date,
                actual_revenue=quote.total_amount,
                competitor_id=competitor_id,
                close_reason_id=close_reason_id,
                description=description,
            )
            record = self.close(
                details, close_id=close_id, by=by, today=today, at=at, created_on=created_on, policy=policy
            ).close
        return WinResult(quote=quote, opportunity=self, contract=contract, closed_quotes=closed, close=record)

    # ----------------------------------------------------------------- closing and reopening
    def close(
        self,
        details: CloseDetails,
        *,
        close_id: UUID,
        by: UUID,
        today: date,
        at: datetime,
        created_on: date | None = None,
        policy: ClosePolicy = NO_POLICY,
    ) -> CloseResult:
        """Close as won or lost. Refused while any quote is active, unless the same step closes the quotes;
        drafts do not block (they stay draft). A deal with a won quote can only be won. The close policy's required
        fields are input rules like the others."""
        details = details.checked(today=today, policy=policy)
        target = self._require(Action.CLOSE_WON if details.outcome is Outcome.WON else Action.CLOSE_LOST)
        if details.outcome is Outcome.LOST and self.won_quote_id is not None:
            raise WonQuoteRequiresWonClose("This opportunity has a won quote: it can only be closed as won")
        closed: tuple[ClosedQuote, ...] = ()
        if details.close_quotes is not None:
            # On a lost close the quotes were lost too, to the same competitor for the same reason detail.
            loss = (
                QuoteLoss(competitor_id=details.competitor_id, close_reason_id=details.close_reason_id)
                if details.outcome is Outcome.LOST
                else None
            )
            closed = self.close_open_quotes(
                details.close_quotes, on=details.close_date, description=details.description, at=at, loss=loss
            )
        elif blocking := self.active_quotes():
            raise ActiveQuotesBlockClose([q.ref() for q in blocking])
        assert details.status_reason is not None
        revenue = details.actual_revenue
        if revenue is None:
            won = self.won_quote
            if details.outcome is Outcome.LOST:
                revenue = ZERO
            else:
                revenue = won.total_amount if won is not None else self.estimated_revenue
        before = self._audit_state()
        self.state = target
        self.status_reason = details.status_reason
        self.actual_revenue = revenue
        self.actual_close_date = details.close_date
        record = OpportunityClose(
            id=close_id,
            opportunity_id=self.id,
            outcome=details.outcome,
            status_reason=details.status_reason,
            close_reason_id=details.close_reason_id,
            close_date=details.close_date,
            actual_revenue=revenue,
            currency=self.currency,
            competitor_id=details.competitor_id,
            description=details.description,
            won_quote_id=self.won_quote_id if details.outcome is Outcome.WON else None,
            owner_id=self.owner_id,
            account_id=self.account_id,
            closed_by=by,
            closed_at=at,
            reopened_at=None,
            reopened_by=None,
            reopen_reason=None,
            created_at=at,
            updated_at=at,
            opportunity_created_on=created_on or self.created_at.date(),
            subject=details.subject,
        )
        self.standing_close = record
        # The deal's own entry comes last, so that a history read newest first leads with it.
        self.changes.append(Change("opportunity_close", record.id, "create", None, record.audit_view()))
        self.changes.append(Change("opportunity", self.id, "close", before, self._audit_state()))
        self._touch(at)
        return CloseResult(opportunity=self, close=record, closed_quotes=closed)

    def reopen(
        self, *, status_reason: OpportunityStatus | None, reason: str | None, by: UUID, at: datetime
    ) -> OpportunityClose:
        """Back to open. The standing close record is kept and stamped; quotes and contract stay as they are."""
        status, reason = _checked_reopen(status_reason, reason)
        self._require(Action.REOPEN)
        record = self.standing_close
        if record is None:  # pragma: no cover - invariant I2 guarantees one
            raise InvalidTransition("This opportunity has no standing close record")
        before = self._audit_state()
        record.reopened_at = at
        record.reopened_by = by
        record.reopen_reason = reason
        record.updated_at = at
        self.state = OpportunityState.OPEN
        self.status_reason = status
        self.actual_revenue = None
        self.actual_close_date = None
        self.standing_close = None
        self.changes.append(
            Change("opportunity_close", record.id, "reopen", None, {"reopened_by": str(by), "reopen_reason": reason})
        )
        self.changes.append(Change("opportunity", self.id, "reopen", before, {**self._audit_state(), "reason": reason}))
        self._touch(at)
        return record

    def reopen_and_revive(
        self,
        revive_quote_id: UUID,
        *,
        new_quote_id: UUID,
        status_reason: OpportunityStatus | None,
        reason: str | None,
        by: UUID,
        at: datetime,
    ) -> Quote:
        """Reopen, and in the same step start a new draft revision of a lost or canceled quote (SPEC §11): same
        number, the highest revision of that number + 1. Not while the deal has a won quote. Answers the draft."""
        _checked_reopen(status_reason, reason)
        revived_from = self.revivable_quote(revive_quote_id)
        revived_from.loaded_lines()  # the new revision copies them: fail before anything changes
        self._require(Action.REOPEN)
        self._require_no_won_quote()
        self.reopen(status_reason=status_reason, reason=reason, by=by, at=at)
        return self._revive(revived_from, new_quote_id=new_quote_id, at=at)

    def _revive(self, quote: Quote, *, new_quote_id: UUID, at: datetime) -> Quote:
        """The one way a closed quote gets a new revision: as part of a reopen. The closed quote stays closed."""
        draft = Quote.new_draft(
            id=new_quote_id,
            opportunity_id=self.id,
            number=quote.number,
            revision=self._next_revision(quote.number),
            name=quote.name,
            lines=quote.loaded_lines(),
            valid_until=quote.valid_until,
            at=at,
        )
        self.quotes.append(draft)
        self.changes.append(
            Change("quote", draft.id, "revive", None, {**draft.audit_view(), "revived_from": str(quote.id)})
        )
        return draft
