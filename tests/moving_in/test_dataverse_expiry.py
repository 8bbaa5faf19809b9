"""An expired quote cannot be won through Dataverse (SPEC §10, §11): there is no accept_expired there."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from dealdesk.config import Settings
from dealdesk.db import tables as t
from tests.moving_in.test_dataverse import BASE, _deal, _error, _today


def _expire(engine: Engine, settings: Settings, quote_id: str) -> None:
    with engine.begin() as conn:
        yesterday = _today(settings) - timedelta(days=1)
        conn.execute(update(t.quotes).where(t.quotes.c.id == UUID(quote_id)).values(valid_until=yesterday))


@pytest.mark.parametrize("action", ["WinQuote", "msdyn_CloseQuoteAsWon"])
def test_an_expired_quote_cannot_be_won_through_dataverse(
    api: TestClient, engine: Engine, settings: Settings, action: str
) -> None:
    _opportunity, [quote] = _deal(api)
    _expire(engine, settings, quote["id"])

    if action == "WinQuote":
        bind = {"subject": "Won", "quoteid@odata.bind": f"/quotes({quote['id']})"}
        response = api.post(f"{BASE}/WinQuote", json={"QuoteClose": bind, "Status": 4})
    else:
        response = api.post(f"{BASE}/quotes({quote['id']})/Microsoft.Dynamics.CRM.msdyn_CloseQuoteAsWon")

    error = _error(response, 400)
    assert (error["code"], error["@dealdesk.code"]) == ("0x80040265", "quote_expired")
    assert "valid_until" in error["message"]
    assert api.get(f"/api/quotes/{quote['id']}").json()["state"] == "active"
