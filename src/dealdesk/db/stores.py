"""Repositories for everything outside the opportunity aggregate."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import ColumnElement, and_, bindparam, insert, not_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from dealdesk.db import hot_path, writes
from dealdesk.db import tables as t
from dealdesk.db.mapping import (
    account_from,
    audit_row,
    close_from,
    close_reason_from,
    close_row,
    competitor_from,
    line_from,
    line_rows,
    quote_from,
)
from dealdesk.db.paging import as_int, as_str, as_time, as_uuid, page
from dealdesk.domain.access import Actor
from dealdesk.domain.closing import OpportunityClose
from dealdesk.domain.errors import Duplicate, NotFound
from dealdesk.domain.quote import Quote
from dealdesk.domain.records import Account, Change, CloseReason, Competitor, Contract, ContractLine
from dealdesk.domain.states import ContractState, Outcome, Role
from dealdesk.domain.users import User
from dealdesk.services.ports import AuditEntry, IdempotencyRequest, KeptAnswer, Page, StoredAnswer

ConnectionSource = Callable[[], Connection]


def expired_quotes(expired: bool, today: date) -> ColumnElement[bool]:
    """The SQL form of `Quote.is_expired(today)`: a draft or active quote valid only until before today."""
    q = t.quotes.c
    condition = and_(q.state.in_(("draft", "active")), q.valid_until.is_not(None), q.valid_until < today)
    return condition if expired else not_(condition)


def _insert_ignoring_conflicts(conn: Connection, table: Any, row: dict[str, Any]) -> None:
    """INSERT … ON CONFLICT DO NOTHING on either engine."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(table).values(**row).on_conflict_do_nothing())


class SqlQuotes:
    _GET = select(t.quotes).where(t.quotes.c.id == bindparam("id"))
    _OWNER = select(t.quotes.c.opportunity_id).where(t.quotes.c.id == bindparam("id"))
    _LINES = select(t.quote_lines).where(t.quote_lines.c.quote_id == bindparam("id")).order_by(t.quote_lines.c.position)
    _NEXT = (
        update(t.quote_numbers)
        .where(t.quote_numbers.c.id == 1)
        .values(last_number=t.quote_numbers.c.last_number + 1)
        .returning(t.quote_numbers.c.last_number)
    )

    def __init__(self, connection: ConnectionSource) -> None:
        self._conn = connection

    def get(self, quote_id: UUID) -> Quote:
        conn = self._conn()
        row = conn.execute(self._GET, {"id": quote_id}).first()
        if row is None:
            raise NotFound("quote", quote_id)
        quote = quote_from(row)
        quote.lines = tuple(line_from(line) for line in conn.execute(self._LINES, {"id": quote_id}))
        return quote

    def opportunity_id_of(self, quote_id: UUID) -> UUID:
        found: UUID | None = self._conn().execute(self._OWNER, {"id": quote_id}).scalar()
        if found is None:
            raise NotFound("quote", quote_id)
        return found

    def list_for(
        self, opportunity_id: UUID, *, limit: int, cursor: str | None, expiry: tuple[bool, date] | None = None
    ) -> Page[Quote]:
        conn = self._conn()
        query = select(t.quotes).where(t.quotes.c.opportunity_id == opportunity_id)
        if expiry is not None:
            query = query.where(expired_quotes(*expiry))
        result = page(
            conn,
            query,
            keys=[(t.quotes.c.number, as_str), (t.quotes.c.revision, as_int)],
            descending=False,
            limit=limit,
            cursor=cursor,
            to_item=quote_from,
        )
        ids = [q.id for q in result.items]
        lines: dict[UUID, list[Any]] = {i: [] for i in ids}
        if ids:
            query = select(t.quote_lines).where(t.quote_lines.c.quote_id.in_(ids)).order_by(t.quote_lines.c.position)
            for line in conn.execute(query):
                lines[line.quote_id].append(line_from(line))
        for quote in result.items:
            quote.lines = tuple(lines[quote.id])
        return result

    def next_number(self) -> str:
        number = self._conn().execute(self._NEXT).scalar_one()
        return f"Q-{number:05d}"


class SqlCloses:
    def __init__(self, connection: ConnectionSource) -> None:
        self._conn = connection

    def get(self, close_id: UUID) -> OpportunityClose:
        row = self._conn().execute(select(t.opportunity_closes).where(t.opportunity_closes.c.id == close_id)).first()
        if row is None:
            raise NotFound("close record", close_id)
        return close_from(row)

    def list_for(self, opportunity_id: UUID, *, limit: int, cursor: str | None) -> Page[OpportunityClose]:
        c = t.opportunity_closes.c
        return page(
            self._conn(),
            select(t.opportunity_closes).where(c.opportunity_id == opportunity_id),
            keys=[(c.closed_at, as_time), (c.id, as_uuid)],
            descending=True,
            limit=limit,
            cursor=cursor,
            to_item=close_from,
        )

    def save(self, record: OpportunityClose) -> None:
        row = close_row(record)
        self._conn().execute(update(t.opportunity_closes).where(t.opportunity_closes.c.id == record.id).values(**row))


class SqlAccounts:
    def __init__(self, connection: ConnectionSource) -> None:
        self._conn = connection

    def add(self, account: Account) -> None:
        self._conn().execute(
            insert(t.accounts),
            [
                {
                    "id": account.id,
                    "name": account.name,
                    "created_at": account.created_at,
                    "updated_at": account.updated_at,
                }
            ],
        )

    def get(self, account_id: UUID) -> Account:
        row = self._conn().execute(select(t.accounts).where(t.accounts.c.id == account_id)).first()
        if row is None:
            raise NotFound("account", account_id)
        return account_from(row)

    def exists(self, account_id: UUID) -> bool:
        return self._conn().execute(select(t.accounts.c.id).where(t.accounts.c.id == account_id)).first() is not None

    def list(self, *, limit: int, cursor: str | None) -> Page[Account]:
        return page(
            self._conn(),
            select(t.accounts),
            keys=[(t.accounts.c.name, as_str), (t.accounts.c.id, as_uuid)],
            descending=False,
            limit=limit,
            cursor=cursor,
            to_item=account_from,
        )

    def save(self, account: Account) -> None:
        values = {"name": account.name, "updated_at": account.updated_at}
        self._conn().execute(update(t.accounts).where(t.accounts.c.id == account.id).values(**values))


class SqlCompetitors:
    def __init__(self, connection: ConnectionSource) -> None:
        self._conn = connection

    def add(self, competitor: Competitor) -> None:
        conn = self._conn()
        key = competitor.name.casefold()
        if conn.execute(select(t.competitors.c.id).where(t.competitors.c.name_key == key)).first() is not None:
            raise Duplicate(f"A competitor named {competitor.name!r} already exists")
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(t.competitors),
                    [
                        {
                            "id": competitor.id,
                            "name": competitor.name,
                            "name_key": key,
                            "active": competitor.active,
                            "created_at": competitor.created_at,
                            "updated_at": competitor.updated_at,
                        }
                    ],
                )
        except IntegrityError as exc:  # a concurrent insert of the same name won the race
            raise Duplicate(f"A competitor named {competitor.name!r} already exists") from exc

    def exists(self, competitor_id: UUID) -> bool:
        query = select(t.competitors.c.id).where(t.competitors.c.id == competitor_id)
        return self._conn().execute(query).first() is not None

    def find(self, competitor_id: UUID) -> Competitor | None:
        row = self._conn().execute(select(t.competitors).where(t.competitors.c.id == competitor_id)).first()
        return competitor_from(row) if row is not None else None

    def list(self, *, active: bool | None = None, limit: int, cursor: str | None) -> Page[Competitor]:
        query = select(t.competitors)
        if active is not None:
            query = query.where(t.competitors.c.active.is_(active))
        return page(
            self._conn(),
            query,
            keys=[(t.competitors.c.name_key, as_str), (t.competitors.c.id, as_uuid)],
            descending=False,
            limit=limit,
            cursor=cursor,
            to_item=competitor_from,
        )

    def get(self, competitor_id: UUID) -> Competitor:
        row = self._conn().execute(select(t.competitors).where(t.competitors.c.id == competitor_id)).first()
        if row is None:
            raise NotFound("competitor", competitor_id)
        return competitor_from(row)

    def save(self, competitor: Competitor) -> None:
        conn = self._conn()
        key = competitor.name.casefold()
        taken = select(t.competitors.c.id).where(t.competitors.c.name_key == key, t.competitors.c.id != competitor.id)
        if conn.execute(taken).first() is not None:
            raise Duplicate(f"A competitor named {competitor.name!r} already exists")
        values = {
            "name": competitor.name,
            "name_key": key,
            "active": competitor.active,
            "updated_at": competitor.updated_at,
        }
        try:
            with conn.begin_nested():
                conn.execute(update(t.competitors).where(t.competitors.c.id == competitor.id).values(**values))
        except IntegrityError as exc:  # a concurrent rename to the same name won the race
            raise Duplicate(f"A competitor named {competitor.name!r} already exists") from exc


class SqlCloseReasons:
    def __init__(self, connection: ConnectionSource) -> None:
        self._conn = connection

    def add(self, reason: CloseReason) -> None:
        self._conn().execute(insert(t.close_reasons), [self._row(reason)])

    def find(self, reason_id: UUID) -> CloseReason | None:
        row = self._conn().execute(select(t.close_reasons).where(t.close_reasons.c.id == reason_id)).first()
        return close_reason_from(row) if row is not None else None

    def save(self, reason: CloseReason) -> None:
        self._conn().execute(
            update(t.close_reasons).where(t.close_reasons.c.id == reason.id).values(**self._row(reason))
        )

    def list(self, *, outcome: Outcome | None, limit: int, cursor: str | None) -> Page[CloseReason]:
        query = select(t.close_reasons)
        if outcome is not None:
            query = query.where(t.close_reasons.c.outcome == outcome.value)
        return page(
            self._conn(),
            query,
            keys=[(t.close_reasons.c.name, as_str), (t.close_reasons.c.id, as_uuid)],
            descending=False,
            limit=limit,
            cursor=cursor,
            to_item=close_reason_from,
        )

    @staticmethod
    def _row(reason: CloseReason) -> dict[str, Any]:
        return {
            "id": reason.id,
            "outcome": reason.outcome.value,
            "name": reason.name,
            "active": reason.active,
            "created_at": reason.created_at,
            "updated_at": reason.updated_at,
        }


class SqlContracts:
    def __init__(self, connection: ConnectionSource) -> None:
        self._conn = connection

    def get(self, contract_id: UUID) -> Contract:
        conn = self._conn()
        row = conn.execute(select(t.contracts).where(t.contracts.c.id == contract_id)).first()
        if row is None:
            raise NotFound("contract", contract_id)
        lines = conn.execute(
            select(t.contract_lines)
            .where(t.contract_lines.c.contract_id == contract_id)
            .order_by(t.contract_lines.c.position)
        )
        m = row._mapping
        return Contract(
            id=m["id"],
            opportunity_id=m["opportunity_id"],
            quote_id=m["quote_id"],
            account_id=m["account_id"],
            currency=m["currency"],
            state=ContractState(m["state"]),
            lines=tuple(ContractLine(ln.description, ln.quantity, ln.unit_price, ln.amount) for ln in lines),
            total_amount=m["total_amount"],
            created_at=m["created_at"],
            updated_at=m["updated_at"],
        )

    def add(self, contract: Contract) -> None:
        conn = self._conn()
        conn.execute(
            insert(t.contracts),
            [
                {
                    "id": contract.id,
                    "opportunity_id": contract.opportunity_id,
                    "quote_id": contract.quote_id,
                    "account_id": contract.account_id,
                    "currency": contract.currency,
                    "state": contract.state.value,
                    "total_amount": contract.total_amount,
                    "created_at": contract.created_at,
                    "updated_at": contract.updated_at,
                }
            ],
        )
        if contract.lines:
            conn.execute(insert(t.contract_lines), line_rows("contract_id", contract.id, contract.lines))


class SqlAudit:
    def __init__(self, connection: ConnectionSource, *, seq: Iterator[int]) -> None:
        """`seq` keeps counting across every entry of this unit of work: entries written at the same moment (one
        transaction) read back in the order they were written, not by their random ids."""
        self._conn = connection
        self._seq = seq

    def record(self, changes: Sequence[Change], *, by: UUID, at: datetime, opportunity_id: UUID | None = None) -> None:
        if not changes:
            return
        rows = [
            audit_row(change, seq=next(self._seq), at=at, by=by, opportunity_id=opportunity_id) for change in changes
        ]
        self._conn().execute(insert(t.audit_entries), rows)

    def list_for(self, record_id: UUID, *, limit: int, cursor: str | None) -> Page[AuditEntry]:
        return self._page(t.audit_entries.c.record_id == record_id, limit=limit, cursor=cursor)

    def list_for_opportunity(self, opportunity_id: UUID, *, limit: int, cursor: str | None) -> Page[AuditEntry]:
        return self._page(t.audit_entries.c.opportunity_id == opportunity_id, limit=limit, cursor=cursor)

    def _page(self, condition: ColumnElement[bool], *, limit: int, cursor: str | None) -> Page[AuditEntry]:
        c = t.audit_entries.c
        return page(
            self._conn(),
            select(t.audit_entries).where(condition),
            keys=[(c.at, as_time), (c.seq, as_int), (c.id, as_uuid)],
            descending=True,
            limit=limit,
            cursor=cursor,
            to_item=lambda row: AuditEntry(
                id=row.id,
                at=row.at,
                user_id=row.user_id,
                record_type=row.record_type,
                record_id=row.record_id,
                action=row.action,
                before=row.before,
                after=row.after,
            ),
        )


def kept_from(rows: Sequence[Mapping[Any, Any]]) -> tuple[str, StoredAnswer] | None:
    """The fingerprint and answer that SqlIdempotency.answer_read found, if any."""
    if not rows:
        return None
    return rows[0]["fingerprint"], StoredAnswer(status_code=rows[0]["status_code"], body=bytes(rows[0]["body"]))


class SqlIdempotency:
    def __init__(self, connection: ConnectionSource, now: Callable[[], datetime]) -> None:
        self._conn = connection
        self._now = now

    def find(self, request: IdempotencyRequest) -> tuple[str, StoredAnswer] | None:
        return kept_from(hot_path.read(self._conn(), *self.answer_read(request)))

    def answer_read(self, request: IdempotencyRequest) -> tuple[hot_path.Statement, dict[str, Any]]:
        """The read of the live answer kept under the request's key (hot_path.IDEMPOTENCY_ANSWER): `kept_from`
        makes its rows the answer."""
        params = {
            "user_id": request.user_id,
            "scope": request.scope,
            "key": request.key,
            "fresh_after": self._now() - writes.IDEMPOTENCY_TTL,
        }
        return hot_path.IDEMPOTENCY_ANSWER, params

    def remember(self, request: IdempotencyRequest, answer: StoredAnswer, *, at: datetime) -> None:
        writes.send(self._conn(), [[writes.answer_write(KeptAnswer(request, answer, at))]])


def _user_from(row: Any) -> User:
    return User(
        id=row.id,
        name=row.name,
        role=Role(row.role),
        password_hash=row.password_hash,
        active=row.active,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


class SqlUsers:
    def __init__(self, connection: ConnectionSource, now: Callable[[], datetime]) -> None:
        self._conn = connection
        self._now = now

    def ensure(self, name: str, role: str) -> Actor:
        conn = self._conn()
        query = select(t.users.c.id, t.users.c.name, t.users.c.role).where(t.users.c.name == name)
        row = conn.execute(query).first()
        if row is None:
            at = self._now()
            _insert_ignoring_conflicts(
                conn,
                t.users,
                {
                    "id": uuid4(),
                    "name": name,
                    "role": Role(role).value,
                    "active": True,
                    "created_at": at,
                    "updated_at": at,
                },
            )
            row = conn.execute(query).one()
        return Actor(id=row.id, name=row.name, role=Role(row.role))

    def add(self, user: User) -> None:
        if self.find(user.name) is not None:
            raise Duplicate(f"A user named {user.name!r} already exists")
        self._conn().execute(
            insert(t.users),
            [
                {
                    "id": user.id,
                    "name": user.name,
                    "role": user.role.value,
                    "password_hash": user.password_hash,
                    "active": user.active,
                    "created_at": user.created_at,
                    "updated_at": user.updated_at,
                }
            ],
        )

    def find(self, name: str) -> User | None:
        row = self._conn().execute(select(t.users).where(t.users.c.name == name)).first()
        return _user_from(row) if row is not None else None

    def list(self) -> list[User]:
        return [_user_from(row) for row in self._conn().execute(select(t.users).order_by(t.users.c.name))]

    def page(self, *, limit: int, cursor: str | None) -> Page[User]:
        return page(
            self._conn(),
            select(t.users),
            keys=[(t.users.c.name, as_str), (t.users.c.id, as_uuid)],
            descending=False,
            limit=limit,
            cursor=cursor,
            to_item=_user_from,
        )

    def get(self, user_id: UUID) -> User | None:
        row = self._conn().execute(select(t.users).where(t.users.c.id == user_id)).first()
        return _user_from(row) if row is not None else None

    def set_active(self, user_id: UUID, active: bool, *, at: datetime) -> None:
        self._conn().execute(update(t.users).where(t.users.c.id == user_id).values(active=active, updated_at=at))

    def set_password_hash(self, user_id: UUID, password_hash: str, *, at: datetime) -> None:
        statement = update(t.users).where(t.users.c.id == user_id).values(password_hash=password_hash, updated_at=at)
        self._conn().execute(statement)
