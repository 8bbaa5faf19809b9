"""An export imported into an empty database exports again byte for byte, on each engine; importing the same files
again changes nothing; and the imported history keeps every invariant of SPEC §6."""

from __future__ import annotations

import csv
import io
from typing import Any
from uuid import UUID

from sqlalchemy import Engine, func, select

from dealdesk.db import tables
from dealdesk.domain.access import Actor
from dealdesk.services.moving import IMPORT_ORDER, Kind
from tests.conftest import empty_all_tables
from tests.moving_in.conftest import Mover
from tests.moving_in.history import SELLER, build_history

PEOPLE = [("admin", "admin"), (SELLER, "sales")]


def _moved_into_an_empty_database(mover: Mover, admin: Actor) -> dict[Kind, str]:
    """Build a history, export it, empty the database, import the files into it; answers the files."""
    build_history(mover.uow, admin)
    files = mover.export_all()
    empty_all_tables(mover.engine)
    mover.users(PEOPLE)
    with mover.uow.transaction():
        mover.actor = mover.uow.users.ensure("admin", "admin")
    reports = mover.import_all(files)
    assert [(r.kind, r.ok, r.written) for r in reports] == [(kind, True, True) for kind in IMPORT_ORDER], [
        r.problems for r in reports
    ]
    return files


def _everything(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in a stable order: what "changes nothing" compares."""
    with engine.connect() as conn:
        return {table.name: sorted(conn.execute(select(table)), key=repr) for table in tables.metadata.sorted_tables}


def test_an_export_imported_into_an_empty_database_exports_the_same_files(mover: Mover, admin: Actor) -> None:
    files = _moved_into_an_empty_database(mover, admin)

    again = mover.export_all()

    for kind in IMPORT_ORDER:
        assert again[kind] == files[kind], kind
    assert files[Kind.QUOTES].count("\n") == 11, "a header and one row per quote line"
    rows = {row["name"]: row for row in csv.DictReader(io.StringIO(files[Kind.QUOTES].lstrip("\ufeff")))}
    assert rows["Spare"]["competitor_external_id"] and rows["Spare"]["close_reason_external_id"]
    # The last "CRM" row is its revision 1, the won quote.
    assert rows["Extra"]["superseded_by_quote_external_id"] == rows["CRM"]["external_id"]
    assert ",lost,canceled," in files[Kind.CLOSES] and "Budget is back" in files[Kind.CLOSES]
    assert files[Kind.COMPETITORS].splitlines()[0] == "external_id,name,active,created_at"
    assert ",Northwind,false," in files[Kind.COMPETITORS], "a deactivated competitor moves as deactivated"


def test_importing_the_same_files_again_changes_nothing(mover: Mover, admin: Actor) -> None:
    files = _moved_into_an_empty_database(mover, admin)
    before = _everything(mover.engine)

    reports = mover.import_all(files)

    assert [(r.created, r.problem_count) for r in reports] == [(0, 0)] * len(IMPORT_ORDER)
    assert [r.unchanged for r in reports] == [3, 2, 2, 5, 9, 4]
    assert _everything(mover.engine) == before


def test_re_importing_its_own_export_into_the_source_database_changes_nothing(mover: Mover, admin: Actor) -> None:
    build_history(mover.uow, admin)
    files = mover.export_all()
    before = _everything(mover.engine)

    reports = mover.import_all(files)

    assert all(r.ok and r.created == 0 for r in reports)
    assert _everything(mover.engine) == before


def test_imported_won_and_lost_deals_keep_every_invariant_of_the_spec(mover: Mover, admin: Actor) -> None:
    _moved_into_an_empty_database(mover, admin)
    o, q, c = tables.opportunities.c, tables.quotes.c, tables.opportunity_closes.c

    with mover.engine.connect() as conn:
        standing: dict[UUID, int] = dict(
            conn.execute(
                select(c.opportunity_id, func.count()).where(c.reopened_at.is_(None)).group_by(c.opportunity_id)
            ).all()
        )
        states = dict(conn.execute(select(o.id, o.state)).all())
        active_on_closed = conn.execute(
            select(func.count())
            .select_from(tables.quotes.join(tables.opportunities, o.id == q.opportunity_id))
            .where(q.state == "active", o.state != "open")
        ).scalar_one()
        won_quotes: dict[UUID, int] = dict(
            conn.execute(
                select(q.opportunity_id, func.count()).where(q.state == "won").group_by(q.opportunity_id)
            ).all()
        )
        totals = conn.execute(
            select(q.total_amount, func.coalesce(func.sum(tables.quote_lines.c.amount), 0))
            .select_from(tables.quotes.outerjoin(tables.quote_lines))
            .group_by(q.id, q.total_amount)
        ).all()
        contracts = conn.execute(select(func.count()).select_from(tables.contracts)).scalar_one()

    assert sorted(states.values()) == ["lost", "open", "open", "open", "won"]
    for opportunity_id, state in states.items():
        assert standing.get(opportunity_id, 0) == (0 if state == "open" else 1), "I2"
        if state == "lost":
            assert opportunity_id not in won_quotes, "I3: a deal with a won quote is never lost"
    assert active_on_closed == 0, "I1"
    assert set(won_quotes.values()) == {1}, "I3: one won quote at most"
    assert all(total == summed for total, summed in totals), "I4"
    assert contracts == 2, "each won quote started a draft contract, as a win in dealdesk does"
