"""Importing quotes and close records: each opportunity's rows are replayed through the opportunity's own methods,
under its row lock, so an imported history obeys every rule a live one does (SPEC §3 to §6). There is no way to set
a state directly: a quote is created as a draft and then activated, revised, closed or won; a deal is closed and
reopened. A row whose history cannot happen under those rules is refused with the rule's reason.

Rows are taken one opportunity at a time: an opportunity's rows must follow each other in the file (an export
writes them so). The check replays each group on the opportunity as stored, without locking it, and writes nothing;
the write replays the checked plan again under the opportunity's row lock and saves it. A rule that refuses the
replay then (someone changed the deal in between) refuses the whole import."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from itertools import pairwise
from typing import Any
from uuid import UUID, uuid4

from dealdesk.domain.close_policy import ClosePolicy
from dealdesk.domain.closing import CloseDetails
from dealdesk.domain.errors import DomainError, ValidationFailed
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.quote import MAX_LINE_DESCRIPTION, QuoteLine, QuoteLoss, check_lines
from dealdesk.domain.records import Contract
from dealdesk.domain.states import (
    QUOTE_STATUSES,
    OpportunityStatus,
    Outcome,
    QuoteState,
    QuoteStatus,
)
from dealdesk.domain.values import MAX_TITLE, ZERO
from dealdesk.services.import_catalogue import MAX_USER_NAME
from dealdesk.services.import_support import Cells, Run, SourceRow, lookable, same_as_stored, with_external_ids
from dealdesk.services.moving import QUOTE_COLUMNS, QUOTE_LINE_COLUMNS, Kind

MAX_GROUP_ROWS = 10_000
"""An opportunity's rows are replayed together; a group this long is replayed in parts (memory stays flat)."""
MAX_NUMBER = 20
AS_RECORDED = date.min
"""The 'today' a replayed activation is judged by: a file states what already happened, so a quote that was
sent while it was valid is not refused because its validity has passed since (SPEC §11 expiry)."""
_DEALDESK_NUMBER = re.compile(r"Q-(\d{1,9})")
_QUOTE_FIELDS = {
    "name": "name",
    "lines": "total_amount",
    "valid_until": "valid_until",
    "close_date": "closed_on",
    "status_reason": "status_reason",
    "description": "close_description",
}
_LINE_FIELDS = {"description": "line_description", "quantity": "line_quantity", "unit_price": "line_unit_price"}
_CLOSE_FIELDS = {
    "close_date": "close_date",
    "status_reason": "status_reason",
    "description": "description",
    "actual_revenue": "actual_revenue",
    "close_reason_id": "close_reason_external_id",
    "competitor_id": "competitor_external_id",
    "reason": "reopen_reason",
}


class _GroupedImport:
    """Collects the rows of one opportunity (by `opportunity_external_id`) and hands them over together."""

    kind: Kind

    def __init__(self, run: Run) -> None:
        self.run = run
        self._new_contracts: dict[UUID, list[Contract]] = {}
        """Contracts started by the wins replayed into each deal, written after it."""
        self._rows: list[SourceRow] = []
        self._ref = ""
        self._checked: Opportunity | None = None
        """The opportunity the last group was checked on, as that group left it."""

    def check(self, rows: Sequence[SourceRow]) -> list[Any]:
        planned: list[Any] = []
        for row in rows:
            ref = row.get("opportunity_external_id").strip()
            full = len(self._rows) >= MAX_GROUP_ROWS and not self.continues(self._rows[-1], row)
            if self._rows and (ref != self._ref or full):
                planned.extend(self._flush())
            self._ref = ref
            self._rows.append(row)
        return planned

    def finish(self) -> list[Any]:
        return self._flush() if self._rows else []

    def _flush(self) -> list[Any]:
        rows, ref = self._rows, self._ref
        self._rows = []
        try:
            group = self.group(ref, rows)
        finally:
            self.run.uow.opportunities.forget()
        return [] if group is None else [group]

    def write(self, planned: list[Any]) -> None:
        for group in planned:
            try:
                self.apply(group)
            finally:
                self.run.uow.opportunities.forget()

    def group(self, ref: str, rows: list[SourceRow]) -> Any | None:
        """Check one opportunity's rows; what to write for them, or None when a row is refused."""
        raise NotImplementedError

    def apply(self, group: Any) -> None:
        """Write what `group` planned, under the opportunity's row lock."""
        raise NotImplementedError

    def checked_on(self, opportunity_id: UUID) -> Opportunity:
        """The opportunity to check a group on: as stored, or as the part before left it when a long group was
        cut (nothing is written while checking, so the database does not have that part yet)."""
        if self._checked is None or self._checked.id != opportunity_id:
            self._checked = self.run.uow.opportunities.get(opportunity_id)
        return self._checked

    def continues(self, previous: SourceRow, row: SourceRow) -> bool:
        """Whether a row belongs to the same record as the one before (a long group is never cut there)."""
        return False

    def opportunity_id(self, ref: str, lines: Sequence[int]) -> UUID | None:
        if not lookable(ref):
            return None  # each row was reported as lacking it or as unreadable
        found = self.run.uow.moving.find(Kind.OPPORTUNITIES, [ref]).get(ref)
        if found is None:
            for line in lines:
                self.run.problem(
                    line, "opportunity_external_id", "no such opportunity in dealdesk: import opportunities first"
                )
            return None
        opportunity_id: UUID = found["id"]
        return opportunity_id

    def save(self, opportunity: Opportunity, external_ids: dict[UUID, str]) -> None:
        """Saved and audited while writing; while checking, the replayed changes are only let go."""
        if self.run.writing:
            changes = with_external_ids(opportunity.changes, external_ids)
            opportunity.changes.clear()  # audited below, with their external ids and the import's time
            self.run.uow.opportunities.save(opportunity, by=self.run.actor.id)
            for contract in self._new_contracts.get(opportunity.id, ()):  # after its quote; the deal's reference to
                self.run.uow.contracts.add(contract)  # it is checked at commit
            self.run.audit(changes, opportunity_id=opportunity.id)
            for record_id, external_id in external_ids.items():
                self.run.uow.moving.set_external_id(self.kind, record_id, external_id)
        opportunity.changes.clear()
        self._new_contracts.pop(opportunity.id, None)


# ------------------------------------------------------------------------------------------------- quotes
@dataclass
class _QuotePlan:
    """What the file says one quote ended as, and the lines it has."""

    row: SourceRow
    external_id: str
    number: str
    revision: int
    name: str
    state: QuoteState
    status_reason: QuoteStatus
    valid_until: date | None
    closed_on: date | None
    close_description: str | None
    created_at: datetime | None
    lines: tuple[QuoteLine, ...]
    competitor: str | None = None
    close_reason: str | None = None
    superseded_by: str | None = None
    """External ids of what a closed quote was lost to, why, and the won quote that closed it (SPEC §11)."""
    loss: QuoteLoss | None = None
    """The same as dealdesk ids, once resolved."""
    id: UUID = field(default_factory=uuid4)
    failed: bool = False

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def ends(self) -> tuple[QuoteState, QuoteStatus, date | None]:
        return (self.state, self.status_reason, self.closed_on)


@dataclass(frozen=True)
class _QuoteGroup:
    opportunity_id: UUID
    plans: list[_QuotePlan]
    """The group's new quotes, checked: replayed again when written."""


class QuoteImport(_GroupedImport):
    """A quote becomes what the file says it ended as, by the steps a person would take: create the draft (a later
    revision by revising the one before), then close, activate or win. Drafts that stay drafts are created after
    a win, so the win does not close them; anything the rules turn out otherwise is refused with the reason."""

    kind = Kind.QUOTES

    def __init__(self, run: Run) -> None:
        super().__init__(run)
        self._highest_number = 0
        self._numbers: dict[tuple[str, int], int] = {}
        """The line of each number and revision planned so far."""
        self._ids_here: dict[str, UUID] = {}
        """The quotes planned so far for the opportunity of the last group, by external id."""

    def continues(self, previous: SourceRow, row: SourceRow) -> bool:
        return _same_quote(previous, row)

    def finish(self) -> list[Any]:
        planned = super().finish()
        return [*planned, self._highest_number] if self._highest_number else planned

    def write(self, planned: list[Any]) -> None:
        for item in planned:
            if isinstance(item, int):
                self.run.uow.moving.keep_quote_numbers_above(item)
            else:
                super().write([item])

    def group(self, ref: str, rows: list[SourceRow]) -> _QuoteGroup | None:
        run = self.run
        plans = self._plans(rows)
        firsts = [row.line for before, row in zip([None, *rows], rows, strict=False) if not _same_quote(before, row)]
        opportunity_id = self.opportunity_id(ref, firsts)
        if opportunity_id is None:
            return None
        stored = run.uow.moving.find(Kind.QUOTES, [plan.external_id for plan in plans])
        new: list[_QuotePlan] = []
        for plan in plans:
            if plan.external_id in stored:
                given = {
                    "opportunity_external_id": ("opportunity_id", opportunity_id),
                    "number": ("number", plan.number),
                    "revision": ("revision", plan.revision),
                    "state": ("state", plan.state.value),
                    "status_reason": ("status_reason", plan.status_reason.value),
                    "total_amount": ("total_amount", plan.total),
                }
                same_as_stored(run, plan.row, stored[plan.external_id], given)
            else:
                new.append(plan)
        problems_before = run.report.problem_count
        if self._checked is None or self._checked.id != opportunity_id:
            self._ids_here = {}
        self._resolve_losses(new, stored)
        self._planned_numbers(new)
        chains = self._chains(new)
        if not chains or run.report.problem_count > problems_before:
            return None
        self._replay(self.checked_on(opportunity_id), chains)
        if run.report.problem_count > problems_before:
            return None
        for plan in new:
            self._ids_here[plan.external_id] = plan.id
            self._numbers[(plan.number, plan.revision)] = plan.row.line
            number = _DEALDESK_NUMBER.fullmatch(plan.number)
            if number is not None:
                self._highest_number = max(self._highest_number, int(number.group(1)))
        run.report.created += len(new)
        return _QuoteGroup(opportunity_id, new)

    def apply(self, group: _QuoteGroup) -> None:
        """The numbers are checked again (someone may have taken one since), then the chains replayed."""
        chains = self._chains(group.plans)
        opportunity = self.run.uow.opportunities.lock(group.opportunity_id)
        self._new_contracts[opportunity.id] = []  # none left over from a check pass that refused the group
        self._replay(opportunity, chains)
        self.save(opportunity, {plan.id: plan.external_id for plan in group.plans})

    def _planned_numbers(self, plans: list[_QuotePlan]) -> None:
        """A number and revision that an earlier group of the file plans is refused (the database has none of them
        yet; `_chains` finds those in dealdesk and those twice in this group)."""
        for plan in plans:
            first = self._numbers.get((plan.number, plan.revision))
            if first is not None:
                self.run.problem(
                    plan.row.line, "revision", f"{plan.number} revision {plan.revision} is on line {first} too"
                )

    def _resolve_losses(self, plans: list[_QuotePlan], stored: dict[str, dict[str, Any]]) -> None:
        """A closed quote's competitor, lost reason detail and superseding quote as dealdesk ids; the superseding
        quote is one of the same deal, in this file or imported before."""
        run, moving = self.run, self.run.uow.moving
        competitors = moving.find(Kind.COMPETITORS, [p.competitor for p in plans if p.competitor])
        reasons = moving.find(Kind.CLOSE_REASONS, [p.close_reason for p in plans if p.close_reason])
        in_file = self._ids_here | {p.external_id: p.id for p in plans}
        earlier = moving.find(Kind.QUOTES, [p.superseded_by for p in plans if p.superseded_by])
        for plan in plans:
            if plan.competitor is None and plan.close_reason is None and plan.superseded_by is None:
                continue
            line = plan.row.line
            competitor_id = reason_id = winner_id = None
            if plan.competitor is not None:
                competitor = competitors.get(plan.competitor)
                if competitor is None:
                    run.problem(line, "competitor_external_id", "no such competitor: import competitors first")
                else:
                    competitor_id = competitor["id"]
            if plan.close_reason is not None:
                reason = reasons.get(plan.close_reason)
                if reason is None:
                    run.problem(line, "close_reason_external_id", "no such close reason: import close reasons first")
                elif reason["outcome"] != "lost":
                    run.problem(line, "close_reason_external_id", f"is a reason for {reason['outcome']} closes")
                else:
                    reason_id = reason["id"]
            if plan.superseded_by is not None:
                winner_id = in_file.get(plan.superseded_by)
                if winner_id is None and plan.superseded_by in earlier:
                    winner_id = earlier[plan.superseded_by]["id"]
                if winner_id is None:
                    run.problem(line, "superseded_by_quote_external_id", "no such quote of this opportunity")
            plan.loss = QuoteLoss(
                competitor_id=competitor_id, close_reason_id=reason_id, superseded_by_quote_id=winner_id
            )

    # --------------------------------------------------------------------------------------------- reading
    def _plans(self, rows: list[SourceRow]) -> list[_QuotePlan]:
        """The group's quotes: consecutive rows with the same external id are one quote, one row per line."""
        quotes: list[list[SourceRow]] = []
        for row in rows:
            if quotes and _same_quote(quotes[-1][0], row):
                quotes[-1].append(row)
            else:
                quotes.append([row])
        plans: list[_QuotePlan] = []
        for quote_rows in quotes:
            plan = self._plan(quote_rows)
            if plan is None:
                continue
            first = self.run.first_line(plan.row.line, plan.external_id)
            if first is not None:
                self.run.problem(
                    plan.row.line, "external_id", f"is on line {first} already: a quote's rows must follow each other"
                )
                continue
            plans.append(plan)
        return plans

    def _plan(self, rows: list[SourceRow]) -> _QuotePlan | None:
        run = self.run
        first = rows[0]
        cells = Cells(first)
        external_id = cells.reference("external_id", required=True)
        cells.reference("opportunity_external_id", required=True)
        number = cells.text("number", max_length=MAX_NUMBER, required=True)
        revision = cells.whole_number("revision", default=0)
        name = cells.text("name", max_length=MAX_TITLE, required=True)
        state = cells.choice("state", QuoteState, required=True)
        status_reason = cells.choice("status_reason", QuoteStatus)
        valid_until = cells.day("valid_until")
        closed_on = cells.day("closed_on")
        close_description = cells.description("close_description")
        competitor = cells.reference("competitor_external_id")
        close_reason = cells.reference("close_reason_external_id")
        superseded_by = cells.reference("superseded_by_quote_external_id")
        if status_reason not in (QuoteStatus.LOST, QuoteStatus.CANCELED):
            for column, value in (
                ("competitor_external_id", competitor),
                ("close_reason_external_id", close_reason),
                ("superseded_by_quote_external_id", superseded_by),
            ):
                if value is not None:
                    cells.fail(column, "only a lost or canceled quote has one")
        total_amount = cells.money("total_amount", allow_negative=True)
        created_at = cells.moment("created_at")
        if state is not None:
            status_reason = _checked_status(cells, state, status_reason)
            _check_closing_columns(cells, state, status_reason, closed_on, close_description, today=run.today)
        for row in rows[1:]:
            for column in QUOTE_COLUMNS:
                if row.get(column).strip() != first.get(column).strip():
                    run.problem(row.line, column, f"differs from line {first.line}, the first row of this quote")
        lines = self._lines(rows, cells)
        if lines is not None and total_amount is not None:
            total = sum((line.amount for line in lines), ZERO)
            if total != total_amount:
                cells.fail("total_amount", f"is not the sum of the line amounts ({total:.2f})")
        cells.report_to(run)
        if (
            not cells.ok
            or lines is None
            or external_id is None
            or number is None
            or name is None
            or state is None
            or status_reason is None
        ):
            return None
        return _QuotePlan(
            row=first,
            external_id=external_id,
            number=number,
            revision=revision,
            name=name,
            state=state,
            status_reason=status_reason,
            valid_until=valid_until,
            closed_on=closed_on,
            close_description=close_description,
            created_at=created_at,
            lines=lines,
            competitor=competitor,
            close_reason=close_reason,
            superseded_by=superseded_by,
        )

    def _lines(self, rows: list[SourceRow], quote_cells: Cells) -> tuple[QuoteLine, ...] | None:
        """One line per row, numbered from 1; a quote without lines has one row with the line columns empty."""
        run = self.run
        lines: list[QuoteLine] = []
        complete = True
        for position, row in enumerate(rows):
            if not any(row.get(column).strip() for column in QUOTE_LINE_COLUMNS):
                if len(rows) > 1:
                    run.problem(row.line, "line_description", "a quote of several rows needs a line on each")
                    complete = False
                continue
            cells = Cells(row)
            number = cells.whole_number("line", default=position + 1)
            if number != position + 1:
                cells.fail("line", f"must be {position + 1}: lines are numbered from 1 in the order of their rows")
            description = cells.text("line_description", max_length=MAX_LINE_DESCRIPTION, required=True)
            quantity = cells.quantity("line_quantity", required=True)
            unit_price = cells.money("line_unit_price", required=True, allow_negative=True)
            amount = cells.money("line_amount", allow_negative=True)
            if description is not None and quantity is not None and unit_price is not None and cells.ok:
                try:
                    line = QuoteLine.checked(description, quantity, unit_price, field="line")
                except ValidationFailed as error:
                    for fault in error.errors:
                        cells.fail(_LINE_FIELDS.get(fault.field.removeprefix("line."), "line_amount"), fault.message)
                else:
                    if amount is not None and amount != line.amount:
                        cells.fail("line_amount", f"is not quantity x unit price, rounded to cents ({line.amount:.2f})")
                    lines.append(line)
            if not cells.ok:
                cells.report_to(run)
                complete = False
        if not complete:
            return None
        try:
            return check_lines(lines)
        except ValidationFailed as error:
            for fault in error.errors:
                quote_cells.fail("total_amount", fault.message)
            return None

    def _chains(self, plans: list[_QuotePlan]) -> list[list[_QuotePlan]]:
        """New quotes by number, each a chain of revisions 0, 1, … where every one but the last was revised."""
        run = self.run
        taken = run.uow.moving.taken_quote_numbers({plan.number for plan in plans})
        by_number: dict[str, list[_QuotePlan]] = {}
        for plan in plans:
            by_number.setdefault(plan.number, []).append(plan)
        chains: list[list[_QuotePlan]] = []
        for number, chain in by_number.items():
            chain.sort(key=lambda plan: plan.revision)
            sound = True
            lines: dict[int, int] = {}
            for plan in chain:
                if (number, plan.revision) in taken:
                    run.problem(
                        plan.row.line, "number", f"{number} revision {plan.revision} is another quote in dealdesk"
                    )
                    sound = False
                elif plan.revision in lines:
                    twin = lines[plan.revision]
                    run.problem(plan.row.line, "revision", f"{number} revision {plan.revision} is on line {twin} too")
                    sound = False
                else:
                    lines[plan.revision] = plan.row.line
            if sound:
                sound = self._revisions_follow(number, chain)
            if sound:
                chains.append(chain)
        chains.sort(key=lambda chain: (chain[0].created_at or self.run.now, chain[0].number))
        return chains

    def _revisions_follow(self, number: str, chain: list[_QuotePlan]) -> bool:
        """Revisions 0, 1, … with nothing missing; each but the last was revised, and the last was not."""
        for position, plan in enumerate(chain):
            if plan.revision != position:
                message = f"needs revision {position} of {number} in the same file: revisions are imported together"
                self.run.problem(plan.row.line, "revision", message)
                return False
        sound = True
        for previous, plan in pairwise(chain):
            if previous.status_reason is not QuoteStatus.REVISED:
                message = f"follows revision {previous.revision}, which was not revised"
                self.run.problem(plan.row.line, "revision", message)
                sound = False
        if chain[-1].status_reason is QuoteStatus.REVISED:
            self.run.problem(chain[-1].row.line, "status_reason", "a revised quote needs its next revision in the file")
            sound = False
        return sound

    # --------------------------------------------------------------------------------------------- replaying
    def _replay(self, opportunity: Opportunity, chains: list[list[_QuotePlan]]) -> None:
        run = self.run
        now = run.now

        def attempt(plan: _QuotePlan, column: str, step: Callable[[], Any]) -> bool:
            if plan.failed:
                return False
            try:
                step()
            except DomainError as error:
                run.refused(plan.row.line, error, columns=_QUOTE_FIELDS, column=column)
                plan.failed = True
                return False
            return True

        plans = [plan for chain in chains for plan in chain]
        stay_draft = [chain[0] for chain in chains if len(chain) == 1 and chain[0].state is QuoteState.DRAFT]
        for chain in chains:
            if chain[0] in stay_draft:
                continue
            if attempt(chain[0], "state", partial(self._add, opportunity, chain[0])):
                for previous, plan in pairwise(chain):
                    if not attempt(plan, "revision", partial(self._revise, opportunity, previous, plan)):
                        break
            if any(plan.failed for plan in chain):
                for plan in chain:
                    plan.failed = True
        for plan in plans:
            if plan.state is QuoteState.CLOSED and plan.status_reason is not QuoteStatus.REVISED:
                assert plan.closed_on is not None  # required of a closed quote when read
                close = partial(
                    opportunity.close_quote,
                    plan.id,
                    plan.status_reason,
                    on=plan.closed_on,
                    description=plan.close_description,
                    at=now,
                    loss=plan.loss,
                )
                attempt(plan, "state", close)
        for plan in plans:
            if plan.state in (QuoteState.ACTIVE, QuoteState.WON):
                attempt(plan, "state", partial(opportunity.activate_quote, plan.id, today=AS_RECORDED, at=now))
        for plan in plans:
            if plan.state is QuoteState.WON:
                attempt(plan, "state", partial(self._win, opportunity, plan))
        for plan in stay_draft:
            attempt(plan, "state", partial(self._add, opportunity, plan))
        self._check_ends(opportunity, plans)

    def _add(self, opportunity: Opportunity, plan: _QuotePlan) -> None:
        opportunity.add_quote(
            quote_id=plan.id,
            number=plan.number,
            name=plan.name,
            lines=plan.lines,
            valid_until=plan.valid_until,
            at=plan.created_at or self.run.now,
        )

    def _revise(self, opportunity: Opportunity, previous: _QuotePlan, plan: _QuotePlan) -> None:
        """The revision before is activated (only an active quote can be revised), revised on the day it was
        closed, and the new draft gets the lines, name and validity the file gives it."""
        assert previous.closed_on is not None
        at = plan.created_at or self.run.now
        opportunity.activate_quote(previous.id, today=AS_RECORDED, at=at)
        opportunity.revise_quote(previous.id, new_quote_id=plan.id, today=previous.closed_on, at=at)
        opportunity.edit_quote(
            plan.id, name=plan.name, lines=plan.lines, valid_until=plan.valid_until, set_valid_until=True, at=at
        )

    def _win(self, opportunity: Opportunity, plan: _QuotePlan) -> None:
        """Winning closes the deal's other open quotes as lost and starts a draft contract; the deal stays open."""
        assert plan.closed_on is not None
        won = opportunity.win_quote(
            plan.id,
            contract_id=uuid4(),
            close_date=plan.closed_on,
            description=plan.close_description,
            competitor_id=None,
            close_opportunity=False,
            close_id=uuid4(),
            by=self.run.actor.id,
            today=self.run.today,
            at=self.run.now,
            created_on=self.run.uow.clock.date_of(opportunity.created_at),
            accept_expired=True,  # the file says it was won: its validity then is not judged by today
        )
        self._new_contracts.setdefault(opportunity.id, []).append(won.contract)

    def _check_ends(self, opportunity: Opportunity, plans: list[_QuotePlan]) -> None:
        won = next((plan for plan in plans if plan.state is QuoteState.WON and not plan.failed), None)
        for plan in plans:
            if plan.failed:
                continue
            quote = opportunity.quote(plan.id)
            if (quote.state, quote.status_reason, quote.closed_on) == plan.ends:
                continue
            ended = f"{quote.state.value}/{quote.status_reason.value}"
            if won is not None and quote.status_reason is QuoteStatus.LOST:
                reason = (
                    f"would end {ended}: winning {won.number} closes every other draft or active quote as lost, so "
                    f"a {plan.state.value} quote cannot stand beside it"
                )
            else:
                reason = f"would end {ended} under dealdesk's rules, not {plan.state.value}/{plan.status_reason.value}"
            self.run.problem(plan.row.line, "state", reason)


def _same_quote(previous: SourceRow | None, row: SourceRow) -> bool:
    return previous is not None and previous.get("external_id").strip() == row.get("external_id").strip()


def _checked_status(cells: Cells, state: QuoteState, status: QuoteStatus | None) -> QuoteStatus | None:
    allowed = QUOTE_STATUSES[state]
    if status is None:
        if len(allowed) == 1:
            return next(iter(allowed))
        cells.fail("status_reason", f"is required for a {state.value} quote: lost, canceled or revised")
        return None
    if status not in allowed:
        cells.fail(
            "status_reason", f"must be {' or '.join(sorted(s.value for s in allowed))} for a {state.value} quote"
        )
        return None
    return status


def _check_closing_columns(
    cells: Cells,
    state: QuoteState,
    status: QuoteStatus | None,
    closed_on: date | None,
    description: str | None,
    *,
    today: date,
) -> None:
    final = state in (QuoteState.WON, QuoteState.CLOSED)
    if final and closed_on is None:
        cells.fail("closed_on", f"is required for a {state.value} quote")
    if not final and closed_on is not None:
        cells.fail("closed_on", "only a won or closed quote has one")
    if closed_on is not None and closed_on > today:
        cells.fail("closed_on", f"must not be in the future (today is {today.isoformat()})")
    if description is not None and (not final or status is QuoteStatus.REVISED):
        cells.fail("close_description", "only a won, lost or canceled quote has one")


# ------------------------------------------------------------------------------------------------- closes
@dataclass
class _ClosePlan:
    row: SourceRow
    external_id: str
    details: CloseDetails
    close_reason: str | None
    competitor: str | None
    won_quote: str | None
    currency: str | None
    closed_by: str | None
    closed_at: datetime | None
    reopened_at: datetime | None
    reopened_by: str | None
    reopen_reason: str | None
    id: UUID = field(default_factory=uuid4)


@dataclass(frozen=True)
class _CloseGroup:
    opportunity_id: UUID
    plans: list[_ClosePlan]
    """The group's new close records, checked, oldest first: replayed again when written."""
    resolved: dict[UUID, dict[str, Any]]


class CloseImport(_GroupedImport):
    """An opportunity's close records, oldest first: each is a close, and one ended by a reopen is then a reopen,
    so the close rule holds for each (no active quote; a deal with a won quote is only won) and the last record
    without `reopened_at` is the deal's standing close (SPEC §6, I1 to I3). Each is held to the close policy like a
    close made today (SPEC §11): a row that leaves out what it requires is reported at that column."""

    kind = Kind.CLOSES
    _policy: ClosePolicy | None = None

    def policy(self) -> ClosePolicy:
        """Read once per import, when its rows are checked."""
        if self._policy is None:
            self._policy = self.run.uow.close_policy.get()
        return self._policy

    def group(self, ref: str, rows: list[SourceRow]) -> _CloseGroup | None:
        run = self.run
        plans = [plan for plan in (self._plan(row) for row in rows) if plan is not None]
        opportunity_id = self.opportunity_id(ref, [row.line for row in rows])
        if opportunity_id is None:
            return None
        stored = run.uow.moving.find(Kind.CLOSES, [plan.external_id for plan in plans])
        new: list[_ClosePlan] = []
        for plan in plans:
            first = run.first_line(plan.row.line, plan.external_id)
            if first is not None:
                run.problem(plan.row.line, "external_id", f"is on line {first} already")
                continue
            if plan.external_id in stored:
                given: dict[str, tuple[str, Any]] = {
                    "opportunity_external_id": ("opportunity_id", opportunity_id),
                    "outcome": ("outcome", plan.details.outcome.value),
                    "close_date": ("close_date", plan.details.close_date),
                }
                if plan.details.actual_revenue is not None:
                    given["actual_revenue"] = ("actual_revenue", plan.details.actual_revenue)
                same_as_stored(run, plan.row, stored[plan.external_id], given)
            else:
                new.append(plan)
        if not new:
            return None
        new.sort(key=lambda plan: plan.closed_at or run.now)
        problems_before = run.report.problem_count
        resolved = self._resolved(new)
        self._check_sequence(new)
        if run.report.problem_count > problems_before:
            return None
        group = _CloseGroup(opportunity_id, new, resolved)
        if not self._replay_group(self.checked_on(opportunity_id), group):
            return None
        return group

    def apply(self, group: _CloseGroup) -> None:
        self._replay_group(self.run.uow.opportunities.lock(group.opportunity_id), group)

    def _replay_group(self, opportunity: Opportunity, group: _CloseGroup) -> bool:
        status_while_open = opportunity.status_reason if opportunity.is_open else OpportunityStatus.IN_PROGRESS
        for position, plan in enumerate(group.plans):
            last = position == len(group.plans) - 1
            if not self._replay(opportunity, plan, group.resolved[plan.id], status_while_open if last else None):
                return False
            if not self.run.writing:
                self.run.report.created += 1
        return True

    def _plan(self, row: SourceRow) -> _ClosePlan | None:
        cells = Cells(row)
        external_id = cells.reference("external_id", required=True)
        cells.reference("opportunity_external_id", required=True)
        outcome = cells.choice("outcome", Outcome, required=True)
        status_reason = cells.choice("status_reason", OpportunityStatus)
        close_reason = cells.reference("close_reason_external_id")
        close_date = cells.day("close_date", required=True)
        actual_revenue = cells.money("actual_revenue")
        currency = cells.currency("currency")
        competitor = cells.reference("competitor_external_id")
        description = cells.description("description")
        won_quote = cells.reference("won_quote_external_id")
        closed_by = cells.text("closed_by", max_length=MAX_USER_NAME)
        closed_at = cells.moment("closed_at")
        reopened_at = cells.moment("reopened_at")
        reopened_by = cells.text("reopened_by", max_length=MAX_USER_NAME)
        reopen_reason = cells.description("reopen_reason")
        if reopened_at is None and (reopened_by is not None or reopen_reason is not None):
            cells.fail("reopened_at", "is required when reopened_by or reopen_reason is given")
        if outcome is Outcome.LOST and won_quote is not None:
            cells.fail("won_quote_external_id", "only a won close has a won quote")
        if external_id is None or outcome is None or close_date is None or not cells.ok:
            cells.report_to(self.run)
            return None
        details = CloseDetails(
            outcome=outcome,
            close_date=close_date,
            status_reason=status_reason,
            actual_revenue=actual_revenue,
            description=description,
        )
        return _ClosePlan(
            row=row,
            external_id=external_id,
            details=details,
            close_reason=close_reason,
            competitor=competitor,
            won_quote=won_quote,
            currency=currency,
            closed_by=closed_by,
            closed_at=closed_at,
            reopened_at=reopened_at,
            reopened_by=reopened_by,
            reopen_reason=reopen_reason,
        )

    def _resolved(self, plans: list[_ClosePlan]) -> dict[UUID, dict[str, Any]]:
        """Each record's references as dealdesk ids; an unknown one is reported. A close reason retired since
        still fits the records made while it was in use, so only its outcome must match."""
        run, moving = self.run, self.run.uow.moving
        reasons = moving.find(Kind.CLOSE_REASONS, [p.close_reason for p in plans if p.close_reason])
        competitors = moving.find(Kind.COMPETITORS, [p.competitor for p in plans if p.competitor])
        won_quotes = moving.find(Kind.QUOTES, [p.won_quote for p in plans if p.won_quote])
        people = run.users({name for p in plans for name in (p.closed_by, p.reopened_by) if name is not None})
        resolved: dict[UUID, dict[str, Any]] = {}
        for plan in plans:
            line = plan.row.line
            ids: dict[str, Any] = {"closed_by": run.actor.id, "reopened_by": run.actor.id}
            if plan.close_reason is not None:
                reason = reasons.get(plan.close_reason)
                if reason is None:
                    run.problem(line, "close_reason_external_id", "no such close reason: import close reasons first")
                elif reason["outcome"] != plan.details.outcome.value:
                    run.problem(line, "close_reason_external_id", f"is a reason for {reason['outcome']} closes")
                else:
                    ids["close_reason_id"] = reason["id"]
            if plan.competitor is not None:
                competitor = competitors.get(plan.competitor)
                if competitor is None:
                    run.problem(line, "competitor_external_id", "no such competitor: import competitors first")
                else:
                    ids["competitor_id"] = competitor["id"]
            if plan.won_quote is not None:
                won = won_quotes.get(plan.won_quote)
                if won is None:
                    run.problem(line, "won_quote_external_id", "no such quote: import quotes first")
                else:
                    ids["won_quote_id"] = won["id"]
            for column in ("closed_by", "reopened_by"):
                name = plan.closed_by if column == "closed_by" else plan.reopened_by
                if name is not None:
                    if name in people:
                        ids[column] = people[name]
                    else:
                        run.problem(line, column, "no such user in dealdesk: add them first (dealdesk users add)")
            resolved[plan.id] = ids
        return resolved

    def _check_sequence(self, plans: list[_ClosePlan]) -> None:
        """Oldest first, each close but the last ended by a reopen before the next close."""
        for position, plan in enumerate(plans):
            line = plan.row.line
            if plan.reopened_at is not None and plan.closed_at is not None and plan.reopened_at < plan.closed_at:
                self.run.problem(line, "reopened_at", "is before closed_at")
            if position < len(plans) - 1:
                following = plans[position + 1]
                if plan.reopened_at is None:
                    self.run.problem(
                        line,
                        "reopened_at",
                        f"is required: line {following.row.line} closes the opportunity again later, so this close "
                        "was ended by a reopen (an opportunity has one standing close)",
                    )
                elif following.closed_at is not None and following.closed_at < plan.reopened_at:
                    self.run.problem(following.row.line, "closed_at", f"is before the reopen on line {line}")

    def _replay(
        self,
        opportunity: Opportunity,
        plan: _ClosePlan,
        ids: dict[str, Any],
        status_after_reopen: OpportunityStatus | None,
    ) -> bool:
        """Close (and reopen, for a record ended by one) through the opportunity's own methods."""
        run = self.run
        line = plan.row.line
        if plan.currency is not None and plan.currency != opportunity.currency:
            run.problem(line, "currency", f"is not the opportunity's currency ({opportunity.currency})")
            return False
        details = CloseDetails(
            outcome=plan.details.outcome,
            close_date=plan.details.close_date,
            status_reason=plan.details.status_reason,
            actual_revenue=plan.details.actual_revenue,
            close_reason_id=ids.get("close_reason_id"),
            competitor_id=ids.get("competitor_id"),
            description=plan.details.description,
        )
        try:
            result = opportunity.close(
                details,
                close_id=plan.id,
                by=ids["closed_by"],
                today=run.today,
                at=plan.closed_at or run.now,
                created_on=run.uow.clock.date_of(opportunity.created_at),
                policy=self.policy(),
            )
        except DomainError as error:
            run.refused(line, error, columns=_CLOSE_FIELDS, column="outcome")
            return False
        won_quote_id = ids.get("won_quote_id")
        if won_quote_id is not None and result.close.won_quote_id != won_quote_id:
            run.problem(line, "won_quote_external_id", "is not the opportunity's won quote")
            return False
        self.save(opportunity, {plan.id: plan.external_id})
        if plan.reopened_at is not None:
            try:
                opportunity.reopen(
                    status_reason=status_after_reopen or OpportunityStatus.IN_PROGRESS,
                    reason=plan.reopen_reason,
                    by=ids["reopened_by"],
                    at=plan.reopened_at,
                )
            except DomainError as error:
                run.refused(line, error, columns=_CLOSE_FIELDS, column="reopened_at")
                return False
            self.save(opportunity, {})
        return True
