"""/healthz, /readyz and /metrics, the request id on every answer and the JSON log line of an error (SPEC-level
contract: docs/behaviour.md, "Operating it"), against an app in this process on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, create_engine, text

from dealdesk.config import Settings
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.states import Role
from dealdesk.logs import JsonFormatter
from dealdesk.services import auth
from dealdesk.web.app import create_app
from tests.api.builders import line
from tests.conftest import POSTGRES_URL, _with_search_path

LOOPBACK = ("127.0.0.1", 50123)
ELSEWHERE = ("203.0.113.7", 50123)


def _samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def _value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def client(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), client=LOOPBACK) as client:
        yield client


@pytest.fixture
def manager_token(engine: Engine, settings: Settings) -> str:
    return auth.add_user(SqlUnitOfWork(engine, SystemClock(settings.zone)), "mia", Role.MANAGER, password=None).token


def test_healthz_answers_ok_without_a_sign_in(client: TestClient) -> None:
    answer = client.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


def test_readyz_is_ok_on_a_reachable_database_at_the_newest_migration(client: TestClient) -> None:
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "checks": {"database": "ok", "migrations": "ok"}}


@pytest.fixture(params=["sqlite", "postgresql"])
def unmigrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database on which `dealdesk db upgrade` was never run."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    schema = f"dd_fresh_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        yield _with_search_path(POSTGRES_URL, schema)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def test_readyz_names_the_migration_check_on_a_database_never_upgraded(unmigrated_url: str) -> None:
    with TestClient(create_app(Settings(database_url=unmigrated_url))) as client:
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json() == {"status": "fail", "checks": {"database": "ok", "migrations": "fail"}}
        assert client.get("/healthz").status_code == 200  # alive all the same: nothing to restart


def test_readyz_names_the_database_check_when_the_database_does_not_answer(tmp_path: Path) -> None:
    unreachable = f"sqlite:///{tmp_path / 'no-such-directory' / 'dealdesk.db'}"
    with TestClient(create_app(Settings(database_url=unreachable))) as client:
        answer = client.get("/readyz")
        assert answer.status_code == 503
        assert answer.json() == {"status": "fail", "checks": {"database": "fail", "migrations": "fail"}}
        assert "no-such-directory" not in answer.text  # no secret, not even a path


def test_metrics_are_not_found_for_an_address_outside_the_allow_list(engine: Engine, settings: Settings) -> None:
    with TestClient(create_app(settings), client=ELSEWHERE) as client:
        answer = client.get("/metrics")
        assert answer.status_code == 404
        assert answer.json()["code"] == "not_found"
        assert "dealdesk_" not in answer.text


def test_metrics_answer_an_address_inside_an_allowed_network(engine: Engine, settings: Settings) -> None:
    allowing = settings.model_copy(update={"metrics_allow": "10.0.0.0/8, 203.0.113.7"})
    with TestClient(create_app(allowing), client=ELSEWHERE) as client:
        assert client.get("/metrics").status_code == 200
    with TestClient(create_app(allowing), client=LOOPBACK) as client:
        assert client.get("/metrics").status_code == 404  # the list replaces the loopback default


def test_a_bad_metrics_allow_list_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="not an address or CIDR"):
        Settings(metrics_allow="127.0.0.1,localhost")


def test_metrics_count_requests_by_route_template_refusals_by_code_and_closes_by_outcome(
    client: TestClient, manager_token: str
) -> None:
    auth_header = {"Authorization": f"Bearer {manager_token}"}
    before = _samples(client)
    account = client.post("/api/accounts", json={"name": "Metric Works"}, headers=auth_header).json()
    body = {"name": "Counted", "account_id": account["id"], "estimated_revenue": "10.00"}
    opportunity = client.post("/api/opportunities", json=body, headers=auth_header).json()
    quote = client.post(
        f"/api/opportunities/{opportunity['id']}/quotes", json={"name": "Q", "lines": [line()]}, headers=auth_header
    ).json()
    assert client.post(f"/api/quotes/{quote['id']}/activate", headers=auth_header).status_code == 200
    close = {"outcome": "lost", "status_reason": "canceled", "close_date": "2025-01-02"}
    path = f"/api/opportunities/{opportunity['id']}/close"
    assert client.post(path, json=close, headers=auth_header).status_code == 409  # the active quote blocks it
    assert client.post(path, json={**close, "close_quotes": "lost"}, headers=auth_header).status_code == 200
    assert client.get("/api/opportunities").status_code == 401
    after = _samples(client)

    template = "/api/opportunities/{opportunity_id}/close"
    for status, count in (("409", 1), ("200", 1)):
        labels = {"route": template, "method": "POST", "status": status}
        grew = _value(after, "dealdesk_http_requests_total", **labels) - _value(
            before, "dealdesk_http_requests_total", **labels
        )
        assert grew == count, sorted(k for k in after if k[0] == "dealdesk_http_requests_total")
    assert not any("route" in dict(labels) and opportunity["id"] in dict(labels)["route"] for _, labels in after)
    latency = ("dealdesk_http_request_duration_seconds_count", {"route": template, "method": "POST"})
    assert _value(after, latency[0], **latency[1]) - _value(before, latency[0], **latency[1]) == 2
    for code in ("active_quotes_block_close", "unauthenticated"):
        grew = _value(after, "dealdesk_refusals_total", code=code) - _value(
            before, "dealdesk_refusals_total", code=code
        )
        assert grew == 1, code
    lost = _value(after, "dealdesk_closes_total", outcome="lost") - _value(
        before, "dealdesk_closes_total", outcome="lost"
    )
    assert lost == 1  # the refused close is not a close
    assert _value(after, "dealdesk_db_pool_connections", state="checked_out") >= 0
    assert ("dealdesk_db_pool_connections", frozenset({("state", "open")})) in after


def test_an_incoming_request_id_of_the_accepted_form_is_kept(client: TestClient) -> None:
    for kept in ("abc", "A.b-c_9", "x" * 128):
        assert client.get("/healthz", headers={"X-Request-ID": kept}).headers["x-request-id"] == kept


def test_a_missing_or_malformed_request_id_is_replaced_by_a_new_one(client: TestClient) -> None:
    seen = set()
    sent: str | bytes | None
    for sent in (None, "", "x" * 129, "has space", "semi;colon", "ünï".encode()):
        headers: dict[str, str] | dict[bytes, bytes] = {}
        if isinstance(sent, bytes):
            headers = {b"X-Request-ID": sent}
        elif sent is not None:
            headers = {"X-Request-ID": sent}
        given = client.get("/healthz", headers=headers).headers["x-request-id"]
        assert given != sent and 1 <= len(given) <= 128
        seen.add(given)
    assert len(seen) == 6


def test_every_answer_carries_a_request_id_refusals_and_pages_too(client: TestClient) -> None:
    answers = [
        client.get("/api/opportunities"),  # 401 from the bearer middleware
        client.post("/api/accounts", content=b"x" * 2_000_000, headers={"Authorization": "Bearer x"}),
        client.get("/no/such/page"),
        client.get("/login"),
        client.get("/static/dealdesk.css"),
        client.get("/docs"),
        client.get("/openapi.json"),
    ]
    assert [a.status_code for a in answers] == [401, 401, 404, 200, 200, 200, 200]
    assert all(a.headers.get("x-request-id") for a in answers)


def test_an_unexpected_error_answers_500_with_the_request_id_and_logs_one_json_line_with_the_stack_trace(
    engine: Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)

    def broken() -> None:
        raise RuntimeError("a secret detail 7f3a")

    app.add_api_route("/broken-for-the-test", broken)  # a stand-in: no real route fails on purpose
    with TestClient(app, client=LOOPBACK, raise_server_exceptions=False) as client, caplog.at_level(logging.INFO):
        answer = client.get("/broken-for-the-test", headers={"X-Request-ID": "trace-me-1"})
    assert answer.status_code == 500
    assert answer.headers["x-request-id"] == "trace-me-1"
    assert answer.json()["code"] == "internal_error"
    assert "7f3a" not in answer.text and "Traceback" not in answer.text
    lines = [
        json.loads(JsonFormatter().format(record)) for record in caplog.records if record.name.startswith("dealdesk")
    ]
    with_trace = [entry for entry in lines if "exception" in entry]
    assert len(with_trace) == 1
    assert with_trace[0]["request_id"] == "trace-me-1"
    assert "RuntimeError: a secret detail 7f3a" in with_trace[0]["exception"]
    summary = [entry for entry in lines if entry.get("status") == 500]
    assert summary and summary[0]["route"] == "/broken-for-the-test" and summary[0]["request_id"] == "trace-me-1"
    assert isinstance(summary[0]["duration_ms"], float)


def test_no_access_line_is_written_for_a_success_unless_asked(
    engine: Engine, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="dealdesk"):
        with TestClient(create_app(settings), client=LOOPBACK) as client:
            client.get("/healthz")
        assert not [r for r in caplog.records if r.name == "dealdesk.access"]
        with TestClient(create_app(settings.model_copy(update={"access_log": True})), client=LOOPBACK) as client:
            client.get("/healthz", headers={"X-Request-ID": "seen-1"})
    access = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "dealdesk.access"]
    assert access[-1]["route"] == "/healthz" and access[-1]["status"] == 200
