"""A currency is a current ISO 4217 code and a date lies between 1900-01-01 and 9999-12-31, whichever door the data
comes in by: the JSON API, a CSV import, the command line or the Dataverse actions (SPEC §2)."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from dealdesk.cli import app as cli_module
from dealdesk.cli.app import app as cli
from dealdesk.config import Settings
from dealdesk.db import tables
from dealdesk.db.engine import make_engine
from dealdesk.domain.errors import ValidationFailed
from dealdesk.domain.values import check_currency, parse_iso_date
from dealdesk.services.moving import Kind
from tests.api.builders import assert_invalid
from tests.moving_in.conftest import Mover, csv_text

NOT_CURRENT = ["ZZZ", "XXX", "XAU", "XTS", "XDR", "HRK", "DEM", "ZWL"]
"""Made up, "no currency", gold, the test code, a unit of account, and codes ISO has withdrawn."""
OUT_OF_RANGE = ["0001-01-01", "1899-12-31"]


@pytest.mark.parametrize("code", NOT_CURRENT)
def test_the_domain_refuses_codes_that_are_not_a_current_currency(code: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_currency(code)
    assert refused.value.errors[0].field == "currency"


@pytest.mark.parametrize("code", ["USD", "EUR", "HKD", "XAF", "XOF", "CHF", "SLE", "ZWG"])
def test_current_codes_including_the_x_codes_of_real_currencies_are_taken(code: str) -> None:
    assert check_currency(code) == code


@pytest.mark.parametrize("text", OUT_OF_RANGE)
def test_the_domain_refuses_dates_before_1900(text: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_iso_date(text, field="close_date")
    assert refused.value.errors[0].field == "close_date"


def test_the_first_and_last_allowed_days_are_taken() -> None:
    assert parse_iso_date("1900-01-01", field="d") == date(1900, 1, 1)
    assert parse_iso_date("9999-12-31", field="d") == date(9999, 12, 31)


@pytest.mark.parametrize("code", ["ZZZ", "XAU", "HRK"])
def test_the_api_refuses_an_opportunity_in_a_code_that_is_not_a_current_currency(api: TestClient, code: str) -> None:
    account = api.post("/api/accounts", json={"name": "Acme"}).json()
    body = {"name": "Deal", "account_id": account["id"], "estimated_revenue": "10.00", "currency": code}
    assert_invalid(api.post("/api/opportunities", json=body), "currency")


@pytest.mark.parametrize("text", OUT_OF_RANGE)
def test_the_api_refuses_a_close_dated_before_1900(api: TestClient, text: str) -> None:
    account = api.post("/api/accounts", json={"name": "Acme"}).json()
    body = {"name": "Deal", "account_id": account["id"], "estimated_revenue": "10.00"}
    opportunity = api.post("/api/opportunities", json=body).json()
    closing = {"outcome": "won", "close_date": text}
    assert_invalid(api.post(f"/api/opportunities/{opportunity['id']}/close", json=closing), "close_date")
    assert_invalid(
        api.patch(f"/api/opportunities/{opportunity['id']}", json={"estimated_close_date": text}),
        "estimated_close_date",
    )


def test_the_import_refuses_a_code_that_is_not_a_current_currency_and_a_date_before_1900(mover: Mover) -> None:
    mover.import_(Kind.ACCOUNTS, csv_text("external_id,name", "ACC-1,Acme"))
    file = csv_text(
        "external_id,name,account_external_id,estimated_revenue,estimated_close_date,currency,state,status_reason",
        "OPP-1,Made up money,ACC-1,10.00,,ZZZ,open,in_progress",
        "OPP-2,Year one,ACC-1,10.00,0001-01-01,USD,open,in_progress",
    )

    report = mover.import_(Kind.OPPORTUNITIES, file)

    assert mover.problems(report) == [(2, "currency"), (3, "estimated_close_date")]
    assert mover.count(tables.opportunities) == 0


def test_the_command_line_refuses_a_close_dated_before_1900(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, api: TestClient
) -> None:
    account = api.post("/api/accounts", json={"name": "Acme"}).json()
    body = {"name": "Deal", "account_id": account["id"], "estimated_revenue": "10.00"}
    opportunity = api.post("/api/opportunities", json=body).json()
    monkeypatch.setenv("DEALDESK_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("DEALDESK_DEFAULT_USER", "admin")
    made: list[Engine] = []

    def make_and_keep(settings: Settings) -> Engine:
        made.append(make_engine(settings))
        return made[-1]

    monkeypatch.setattr(cli_module, "make_engine", make_and_keep)

    result = CliRunner().invoke(cli, ["close", opportunity["id"], "--outcome", "won", "--date", "1899-12-31"])
    for engine in made:  # the command's process would end here; in this test process its pool is closed by hand
        engine.dispose()

    assert result.exit_code == 2, result.output  # bad usage
    assert "1900-01-01" in result.output
    assert api.get(f"/api/opportunities/{opportunity['id']}").json()["state"] == "open"


def test_the_dataverse_actions_refuse_an_end_timestamp_before_1900(api: TestClient) -> None:
    account = api.post("/api/accounts", json={"name": "Acme"}).json()
    body = {"name": "Deal", "account_id": account["id"], "estimated_revenue": "10.00"}
    opportunity = api.post("/api/opportunities", json=body).json()
    close = {
        "OpportunityClose": {
            "opportunityid@odata.bind": f"/opportunities({opportunity['id']})",
            "actualend": "0001-01-01T00:00:00Z",
        },
        "Status": 3,
    }

    response = api.post("/api/data/v9.2/WinOpportunity", json=close)

    assert response.status_code == 400, response.text
    assert response.json()["error"]["message"].startswith("OpportunityClose.actualend: must be between 1900-01-01")
    assert api.get(f"/api/opportunities/{opportunity['id']}").json()["state"] == "open"
