"""A file states what already happened: quotes that were activated or won while valid import as they were, even
when their valid_until has passed since (SPEC §11 expiry judges today's actions, not history)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update

from dealdesk.db import tables as t
from dealdesk.domain.access import Actor
from dealdesk.services.moving import IMPORT_ORDER, Kind
from tests.conftest import empty_all_tables
from tests.moving_in.conftest import Mover
from tests.moving_in.history import build_history
from tests.moving_in.test_round_trip import PEOPLE


def test_an_export_whose_quotes_have_since_expired_imports_as_it_was(mover: Mover, admin: Actor) -> None:
    build_history(mover.uow, admin)
    with mover.engine.begin() as conn:
        conn.execute(update(t.quotes).values(valid_until=date(2020, 1, 31)))
    files = mover.export_all()
    assert ",2020-01-31," in files[Kind.QUOTES]
    empty_all_tables(mover.engine)
    mover.users(PEOPLE)
    with mover.uow.transaction():
        mover.actor = mover.uow.users.ensure("admin", "admin")

    reports = mover.import_all(files)

    assert [(r.kind, r.ok) for r in reports] == [(kind, True) for kind in IMPORT_ORDER], [r.problems for r in reports]
    assert mover.export_all() == files
