"""Importing the records a deal refers to — accounts, competitors, close reasons — and the deals themselves.

Each chunk of rows is read and checked first, then its references are looked up in one go; what is new is planned,
and written once every row has passed. A row whose external id is in dealdesk already is left as it is (a re-import
changes nothing)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from dealdesk.domain.errors import DomainError, Duplicate
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.records import Account, Change, CloseReason, Competitor
from dealdesk.domain.states import OPPORTUNITY_STATUSES, OpportunityState, OpportunityStatus, Outcome
from dealdesk.domain.values import MAX_NAME, MAX_TITLE
from dealdesk.services.import_support import (
    Cells,
    Run,
    SourceRow,
    first_lines,
    looked_up,
    same_as_stored,
    with_external_ids,
)
from dealdesk.services.moving import Kind
from dealdesk.services.ports import PreparedRows

MAX_USER_NAME = 80
_TAKEN_NAME = "a competitor of this name (in any case) is in dealdesk already"
_OPPORTUNITY_FIELDS = {
    "name": "name",
    "currency": "currency",
    "estimated_revenue": "estimated_revenue",
    "description": "description",
    "status_reason": "status_reason",
}
"""Domain field names to the columns that carry them."""


class AccountImport:
    def __init__(self, run: Run) -> None:
        self.run = run

    def check(self, rows: Sequence[SourceRow]) -> list[PreparedRows]:
        run = self.run
        parsed: list[tuple[SourceRow, str, str, datetime | None]] = []
        for row in rows:
            cells = Cells(row)
            external_id = cells.reference("external_id", required=True)
            name = cells.text("name", max_length=MAX_NAME, required=True)
            created_at = cells.moment("created_at")
            if external_id is None or name is None or not cells.ok:
                cells.report_to(run)
                continue
            parsed.append((row, external_id, name, created_at))
        repeated = first_lines(run, [(row, external_id) for row, external_id, _, _ in parsed])
        stored = run.uow.moving.find(Kind.ACCOUNTS, [external_id for _, external_id, _, _ in parsed])
        new: list[tuple[Account, str]] = []
        for row, external_id, name, created_at in parsed:
            if row.line in repeated:
                continue
            if external_id in stored:
                given = {"name": ("name", name)} | _created(created_at)
                same_as_stored(run, row, stored[external_id], given)
                continue
            at = created_at or run.now
            new.append((Account(id=uuid4(), name=name, created_at=at, updated_at=at), external_id))
        run.report.created += len(new)
        audit = [
            (Change("account", a.id, "create", None, {"name": a.name, "external_id": external_id}), None)
            for a, external_id in new
        ]
        return [run.uow.moving.prepare_accounts(new), run.prepared_audit(audit)] if new else []

    def finish(self) -> list[Any]:
        return []

    def write(self, planned: list[PreparedRows]) -> None:
        for rows in planned:
            self.run.uow.moving.insert_prepared(rows)


class CompetitorImport:
    """Names stay unique in any case: a row naming an existing competitor under another id is refused."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self._names: set[str] = set()
        """Names (casefolded) of the competitors planned so far."""

    def check(self, rows: Sequence[SourceRow]) -> list[tuple[Competitor, str, int]]:
        run = self.run
        parsed: list[tuple[SourceRow, str, str, bool, datetime | None]] = []
        for row in rows:
            cells = Cells(row)
            external_id = cells.reference("external_id", required=True)
            name = cells.text("name", max_length=MAX_NAME, required=True)
            active = cells.flag("active", default=True)
            created_at = cells.moment("created_at")
            if external_id is None or name is None or not cells.ok:
                cells.report_to(run)
                continue
            parsed.append((row, external_id, name, active, created_at))
        repeated = first_lines(run, [(row, external_id) for row, external_id, *_ in parsed])
        stored = run.uow.moving.find(Kind.COMPETITORS, [external_id for _, external_id, *_ in parsed])
        taken = run.uow.moving.taken_competitor_names([name for _, _, name, *_ in parsed]) | self._names
        new: list[tuple[Competitor, str, int]] = []
        for row, external_id, name, active, created_at in parsed:
            if row.line in repeated:
                continue
            if external_id in stored:
                given = {"name": ("name", name), "active": ("active", active)}
                same_as_stored(run, row, stored[external_id], given | _created(created_at))
                continue
            if name.casefold() in taken:
                run.problem(row.line, "name", _TAKEN_NAME)
                continue
            taken.add(name.casefold())
            self._names.add(name.casefold())
            at = created_at or run.now
            new.append(
                (Competitor(id=uuid4(), name=name, created_at=at, updated_at=at, active=active), external_id, row.line)
            )
        run.report.created += len(new)
        return new

    def finish(self) -> list[Any]:
        return []

    def write(self, planned: list[tuple[Competitor, str, int]]) -> None:
        run = self.run
        for competitor, external_id, line in planned:
            try:
                run.uow.competitors.add(competitor)
            except Duplicate:
                run.problem(line, "name", _TAKEN_NAME)
            run.uow.moving.set_external_id(Kind.COMPETITORS, competitor.id, external_id)
            after = {"name": competitor.name, "active": competitor.active, "external_id": external_id}
            run.audit([Change("competitor", competitor.id, "create", None, after)])


class CloseReasonImport:
    def __init__(self, run: Run) -> None:
        self.run = run

    def check(self, rows: Sequence[SourceRow]) -> list[tuple[CloseReason, str]]:
        run = self.run
        parsed: list[tuple[SourceRow, str, CloseReason]] = []
        for row in rows:
            cells = Cells(row)
            external_id = cells.reference("external_id", required=True)
            outcome = cells.choice("outcome", Outcome, required=True)
            name = cells.text("name", max_length=MAX_NAME, required=True)
            active = cells.flag("active", default=True)
            created_at = cells.moment("created_at")
            if external_id is None or outcome is None or name is None or not cells.ok:
                cells.report_to(run)
                continue
            at = created_at or run.now
            reason = CloseReason(id=uuid4(), outcome=outcome, name=name, active=active, created_at=at, updated_at=at)
            parsed.append((row, external_id, reason))
        repeated = first_lines(run, [(row, external_id) for row, external_id, _ in parsed])
        stored = run.uow.moving.find(Kind.CLOSE_REASONS, [external_id for _, external_id, _ in parsed])
        new: list[tuple[CloseReason, str]] = []
        for row, external_id, reason in parsed:
            if row.line in repeated:
                continue
            if external_id in stored:
                given: dict[str, tuple[str, object]] = {
                    "outcome": ("outcome", reason.outcome.value),
                    "name": ("name", reason.name),
                    "active": ("active", reason.active),
                }
                if row.get("created_at").strip():
                    given["created_at"] = ("created_at", reason.created_at)
                same_as_stored(run, row, stored[external_id], given)
                continue
            new.append((reason, external_id))
        run.report.created += len(new)
        return new

    def finish(self) -> list[Any]:
        return []

    def write(self, planned: list[tuple[CloseReason, str]]) -> None:
        run = self.run
        for reason, external_id in planned:
            run.uow.close_reasons.add(reason)
            run.uow.moving.set_external_id(Kind.CLOSE_REASONS, reason.id, external_id)
            after = {"outcome": reason.outcome.value, "name": reason.name, "active": reason.active}
            run.audit([Change("close_reason", reason.id, "create", None, {**after, "external_id": external_id})])


@dataclass(frozen=True)
class _OpportunityRow:
    row: SourceRow
    external_id: str
    name: str
    account_id: UUID
    currency: str
    estimated_revenue: Decimal
    estimated_close_date: date | None
    description: str | None
    owner_id: UUID | None
    """None when the row names no owner: whoever imports owns the deal, as whoever creates one does."""
    state: OpportunityState
    status_reason: OpportunityStatus | None
    created_at: datetime | None


class OpportunityImport:
    """Every deal starts open, as one made in dealdesk does (an on-hold one is then put on hold); a won or lost
    one closes when its close records are imported, so the close goes through the close rule like any other."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def check(self, rows: Sequence[SourceRow]) -> list[PreparedRows]:
        run = self.run
        accounts = run.uow.moving.find(Kind.ACCOUNTS, looked_up(rows, "account_external_id"))
        owners = run.users(looked_up(rows, "owner"))
        parsed = [p for p in (self._read(row, accounts, owners) for row in rows) if p is not None]
        repeated = first_lines(run, [(p.row, p.external_id) for p in parsed])
        stored = run.uow.moving.find(Kind.OPPORTUNITIES, [p.external_id for p in parsed])
        new: list[tuple[Opportunity, str]] = []
        for p in parsed:
            if p.row.line in repeated:
                continue
            if p.external_id in stored:
                given = {
                    "name": ("name", p.name),
                    "account_external_id": ("account_id", p.account_id),
                    "currency": ("currency", p.currency),
                    "estimated_revenue": ("estimated_revenue", p.estimated_revenue),
                    "estimated_close_date": ("estimated_close_date", p.estimated_close_date),
                    "description": ("description", p.description),
                } | _created(p.created_at)
                if p.owner_id is not None:
                    given["owner"] = ("owner_id", p.owner_id)
                same_as_stored(run, p.row, stored[p.external_id], given)
                continue
            try:
                opportunity = Opportunity.open_new(
                    id=uuid4(),
                    name=p.name,
                    account_id=p.account_id,
                    currency=p.currency,
                    estimated_revenue=p.estimated_revenue,
                    estimated_close_date=p.estimated_close_date,
                    description=p.description,
                    owner_id=p.owner_id or run.actor.id,
                    at=p.created_at or run.now,
                )
                if p.state is OpportunityState.OPEN and p.status_reason is OpportunityStatus.ON_HOLD:
                    opportunity.put_on_hold(at=opportunity.created_at)
            except DomainError as error:
                run.refused(p.row.line, error, columns=_OPPORTUNITY_FIELDS)
                continue
            if p.state is not OpportunityState.OPEN:
                run.report.awaiting_close += 1
            new.append((opportunity, p.external_id))
        run.report.created += len(new)
        audit = [
            (change, opportunity.id)
            for opportunity, external_id in new
            for change in with_external_ids(opportunity.changes, {opportunity.id: external_id})
        ]
        return [run.uow.moving.prepare_opportunities(new), run.prepared_audit(audit)] if new else []

    def write(self, planned: list[PreparedRows]) -> None:
        for rows in planned:
            self.run.uow.moving.insert_prepared(rows)

    def _read(
        self, row: SourceRow, accounts: Mapping[str, Mapping[str, Any]], owners: Mapping[str, UUID]
    ) -> _OpportunityRow | None:
        cells = Cells(row)
        external_id = cells.reference("external_id", required=True)
        name = cells.text("name", max_length=MAX_TITLE, required=True)
        account = cells.reference("account_external_id", required=True)
        if account is not None and account not in accounts:
            cells.fail("account_external_id", "no such account in dealdesk: import accounts first")
        currency = cells.currency("currency") or "USD"
        estimated_revenue = cells.money("estimated_revenue", required=True)
        estimated_close_date = cells.day("estimated_close_date")
        description = cells.description("description")
        owner = cells.text("owner", max_length=MAX_USER_NAME)
        if owner is not None and owner not in owners:
            cells.fail("owner", "no such user in dealdesk: add them first (dealdesk users add)")
        state = cells.choice("state", OpportunityState) or OpportunityState.OPEN
        status_reason = cells.choice("status_reason", OpportunityStatus)
        if status_reason is not None and status_reason not in OPPORTUNITY_STATUSES[state]:
            allowed = " or ".join(sorted(s.value for s in OPPORTUNITY_STATUSES[state]))
            cells.fail("status_reason", f"must be {allowed} for a {state.value} opportunity")
        # Read for their form only: a won or lost deal takes these from its close record when that is imported.
        cells.money("actual_revenue")
        cells.day("actual_close_date")
        created_at = cells.moment("created_at")
        if external_id is None or name is None or account is None or estimated_revenue is None or not cells.ok:
            cells.report_to(self.run)
            return None
        return _OpportunityRow(
            row=row,
            external_id=external_id,
            name=name,
            account_id=accounts[account]["id"],
            currency=currency,
            estimated_revenue=estimated_revenue,
            estimated_close_date=estimated_close_date,
            description=description,
            owner_id=None if owner is None else owners[owner],
            state=state,
            status_reason=status_reason,
            created_at=created_at,
        )

    def finish(self) -> list[Any]:
        return []


def _created(created_at: datetime | None) -> dict[str, tuple[str, object]]:
    """A row that gives no creation time does not disagree with the stored one."""
    return {} if created_at is None else {"created_at": ("created_at", created_at)}
