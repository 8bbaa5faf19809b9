"""For tests that kill a process mid-way through a bulk close: many open deals made quickly, and a write held up so
that the kill lands at a known point (after some transactions committed, while the next one is under way)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import select
from sqlalchemy.engine import Connection

from dealdesk.db import tables as t
from dealdesk.db.engine import WRITE_OPTION
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.quote import QuoteLine
from dealdesk.services import catalogue
from dealdesk.services.opportunities import save
from tests.trust.conftest import Database


def open_deals(database: Database, count: int, *, with_active_quote: bool = False) -> list[UUID]:
    """Open opportunities, made by the domain model and saved by the store the use cases use, many per
    transaction (a thousand through the API would take most of the test's time)."""
    uow = database.uow()
    with uow.transaction():
        seller = uow.users.ensure("seller", "sales")
    account = catalogue.create_account(uow, name="Idempotent Industries", actor=seller)
    ids: list[UUID] = []
    with uow.transaction():
        for i in range(count):
            at = uow.clock.now()
            deal = Opportunity.open_new(
                id=uuid4(),
                name=f"Deal {i:04d}",
                account_id=account.id,
                currency="USD",
                estimated_revenue=Decimal("1000.00"),
                estimated_close_date=None,
                description=None,
                owner_id=seller.id,
                at=at,
            )
            uow.opportunities.add(deal)
            if with_active_quote:
                lines = [QuoteLine.checked("Work", Decimal("1"), Decimal("500.00"), field="lines[0]")]
                quote = deal.add_quote(
                    quote_id=uuid4(),
                    number=uow.quotes.next_number(),
                    name="Offer",
                    lines=lines,
                    valid_until=None,
                    at=at,
                )
                deal.activate_quote(quote.id, today=at.date(), at=at)
            save(uow, deal, seller)
            ids.append(deal.id)
    return ids


@contextmanager
def reading(database: Database) -> Iterator[Connection]:
    """A read-only connection: on SQLite it must not take the write lock (a write transaction begins with it)."""
    with database.engine.connect() as conn:
        yield conn.execution_options(**{WRITE_OPTION: False})


@contextmanager
def held_up(database: Database, deal: UUID) -> Iterator[None]:
    """Keep the transaction that closes `deal` from committing while the block runs (a test kills the closing
    process meanwhile): unhindered, a batch of a bulk close commits within milliseconds of the one before. On
    PostgreSQL another transaction holds the deal's row lock, as a colleague's edit would. SQLite has no row locks,
    so a stand-in makes the deal's update slow: a trigger that counts a billion-row cross join."""
    if database.name == "postgresql":
        with database.engine.connect() as conn, conn.begin():
            conn.execute(select(t.opportunities.c.id).where(t.opportunities.c.id == deal).with_for_update())
            yield
        return
    with database.engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER held_up AFTER UPDATE ON opportunities "
            f"WHEN NEW.id = '{deal.hex}' BEGIN "
            "SELECT count(*) FROM opportunities AS a, opportunities AS b, opportunities AS c; END"
        )
    try:
        yield
    finally:
        with database.engine.begin() as conn:
            conn.exec_driver_sql("DROP TRIGGER held_up")
