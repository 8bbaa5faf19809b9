"""What a change costs the database: the permission a route declares (web/attempts.py) adds no transaction and no
statement to a request that passes. The close is the hot path: one transaction for the bearer token, one for the
close itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event

from dealdesk.config import Settings
from dealdesk.domain.states import Role
from tests.api.builders import Desk, bearer_for_new_user


@dataclass
class Cost:
    transactions: int = 0
    statements: list[str] = field(default_factory=list)


@contextmanager
def counted(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cost]:
    """Every transaction begun and statement sent on the app's engine while the block runs. On PostgreSQL the
    close's own statements go straight to psycopg (db/hot_path.py), so they are counted at the driver."""
    cost = Cost()

    def began(_conn: Any) -> None:
        cost.transactions += 1

    def sent(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        cost.statements.append(statement)

    def counting(send: Callable[..., Any]) -> Callable[..., Any]:
        def counted_send(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
            cost.statements.append(str(query))
            return send(cursor, query, *args, **kwargs)

        return counted_send

    event.listen(engine, "begin", began)
    if engine.dialect.name == "postgresql":
        for name in ("execute", "executemany"):
            monkeypatch.setattr(psycopg.Cursor, name, counting(getattr(psycopg.Cursor, name)))
    else:
        event.listen(engine, "before_cursor_execute", sent)
    try:
        yield cost
    finally:
        monkeypatch.undo()
        if event.contains(engine, "before_cursor_execute", sent):
            event.remove(engine, "before_cursor_execute", sent)
        event.remove(engine, "begin", began)


def _close_cost(
    api: TestClient, desk: Desk, headers: dict[str, str], make: Callable[[], str], monkeypatch: pytest.MonkeyPatch
) -> Cost:
    opportunity = make()
    close = {"outcome": "won", "close_date": desk.today.isoformat()}
    app_engine: Engine = api.app.state.engine  # type: ignore[attr-defined]
    with counted(app_engine, monkeypatch) as cost:
        response = api.post(f"/api/opportunities/{opportunity}/close", json=close, headers=headers)
    assert response.status_code == 200, response.text
    return cost


def test_a_close_takes_the_token_check_and_its_own_transaction_and_costs_its_owner_what_it_costs_a_manager(
    api: TestClient, desk: Desk, engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sales = bearer_for_new_user(engine, settings.zone, Role.SALES)
    manager = bearer_for_new_user(engine, settings.zone, Role.MANAGER)
    account = desk.account()

    def owned_by_sales() -> str:
        body = {"name": "Own deal", "account_id": account["id"], "estimated_revenue": "10.00"}
        return str(desk.expect(api.post("/api/opportunities", json=body, headers=sales), 201)["id"])

    by_sales = _close_cost(api, desk, sales, owned_by_sales, monkeypatch)
    by_manager = _close_cost(api, desk, manager, owned_by_sales, monkeypatch)

    print(f"\nclose by its owner: {by_sales.transactions} transactions, {len(by_sales.statements)} statements")
    print(f"close by a manager: {by_manager.transactions} transactions, {len(by_manager.statements)} statements")
    assert (by_sales.transactions, by_manager.transactions) == (2, 2)
    assert len(by_sales.statements) == len(by_manager.statements)
