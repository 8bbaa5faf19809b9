"""Hostile input generated from the app's own /openapi.json by schemathesis: every operation, signed in as an admin,
with bodies, query strings and headers that fit the schema and bodies that deliberately do not; path ids are
sometimes real records (so the body is read at all: 404 comes before 422) and sometimes random.

Never a 5xx for anything a client can send (SPEC §7); every refusal is RFC 9457 problem+json (Dataverse's error
envelope on the Dataverse-compatible slice); every success matches the schema the OpenAPI document gives for it;
and every answer the API gives is one the document declares.

The run is bounded (a fixed number of examples per operation, derandomised so that CI sees the same requests every
time) and made once per module; the tests below judge what it recorded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dealdesk.domain.states import Role
from dealdesk.web.app import create_app
from tests.trust.conftest import Database, Figures, migrated_database

REAL_ID_EXAMPLES = 6
"""Examples per operation with real records in the path."""
RANDOM_EXAMPLES = 4
"""Examples per operation that fit the schema, random ids in the path."""
NEGATIVE_EXAMPLES = 6
"""Examples per operation that break the schema on purpose."""

PATH_RECORDS = {
    "account_id": "account",
    "opportunity_id": "opportunity",
    "quote_id": "quote",
    "reason_id": "close_reason",
    "close_id": "close",
    "contract_id": "contract",
}

Check = Callable[..., Any]


@dataclass
class Finding:
    operation: str
    status: int
    message: str


@dataclass
class Run:
    """What schemathesis sent and what came back, judged by check."""

    examples: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    findings: dict[str, list[Finding]] = field(default_factory=dict)

    def found(self, check: str, operation: str, status: int, message: str) -> None:
        self.findings.setdefault(check, []).append(Finding(operation, status, message))

    def of(self, check: str, statuses: Callable[[int], bool] = lambda status: True) -> list[Finding]:
        return [finding for finding in self.findings.get(check, []) if statuses(finding.status)]

    @property
    def total(self) -> int:
        return sum(self.examples.values())


DATAVERSE_PREFIX = "/api/data/v9.2/"
"""The Dataverse-compatible slice answers refusals in Dataverse's envelope, `{"error": {"code", "message"}}`, by
design (web/api/dataverse.py); sign-in and body-size refusals, made before any router, stay problem+json."""


def _refusal_fault(path: str, response: Any) -> str | None:
    """A refusal that is neither an RFC 9457 problem document with dealdesk's stable code nor, on the Dataverse
    slice, Dataverse's error envelope carrying dealdesk's code."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    body = response.json() if "json" in content_type else None
    if content_type.startswith("application/problem+json"):
        assert isinstance(body, dict), body
        missing = {"type", "title", "status", "detail", "code"} - set(body)
        return None if not missing and body["status"] == response.status_code else f"problem document {body}"
    if path.startswith(DATAVERSE_PREFIX) and isinstance(body, dict) and isinstance(body.get("error"), dict):
        envelope = body["error"]
        return None if {"code", "message", "@dealdesk.code"} <= set(envelope) else f"Dataverse envelope {body}"
    return f"content-type {content_type}: {response.text[:300]}"


SCHEMA_CHECKS: dict[str, Check] = {
    "status_code_conformance": status_code_conformance,
    "content_type_conformance": content_type_conformance,
    "response_schema_conformance": response_schema_conformance,
    "response_headers_conformance": response_headers_conformance,
}


def _judge(run: Run, case: Any, response: Any) -> None:
    operation = case.operation.label
    run.examples[operation] += 1
    run.statuses[response.status_code] += 1
    for name, check in {"not_a_server_error": not_a_server_error, **SCHEMA_CHECKS}.items():
        try:
            case.validate_response(response, checks=[check])
        except (AssertionError, BaseExceptionGroup) as failure:
            run.found(name, operation, response.status_code, str(failure)[:1500])
    fault = _refusal_fault(case.operation.path, response)
    if fault:
        run.found("problem_json", operation, response.status_code, fault)


def _seed(client: TestClient) -> dict[str, str]:
    """One record of each kind the paths name: an open deal with quotes, a won deal with its contract."""

    def made(response: Any) -> dict[str, Any]:
        assert response.status_code in (200, 201), response.text
        answer: dict[str, Any] = response.json()
        return answer

    today = datetime.now(UTC).date().isoformat()
    account = made(client.post("/api/accounts", json={"name": "Fuzz Ltd"}))
    reason = made(client.post("/api/close-reasons", json={"outcome": "lost", "name": "Budget cut"}))
    lines = [{"description": "Design", "quantity": "2", "unit_price": "625.00"}]
    open_deal = made(
        client.post(
            "/api/opportunities", json={"name": "Open", "account_id": account["id"], "estimated_revenue": "900.00"}
        )
    )
    quote = made(client.post(f"/api/opportunities/{open_deal['id']}/quotes", json={"name": "Q", "lines": lines}))
    won_deal = made(
        client.post(
            "/api/opportunities", json={"name": "Won", "account_id": account["id"], "estimated_revenue": "900.00"}
        )
    )
    won_quote = made(client.post(f"/api/opportunities/{won_deal['id']}/quotes", json={"name": "W", "lines": lines}))
    made(client.post(f"/api/quotes/{won_quote['id']}/activate"))
    win = made(client.post(f"/api/quotes/{won_quote['id']}/win", json={"close_opportunity": True, "close_date": today}))
    return {
        "account": account["id"],
        "close_reason": reason["id"],
        "opportunity": open_deal["id"],
        "quote": quote["id"],
        "close": made(client.get(f"/api/opportunities/{won_deal['id']}/closes"))["items"][0]["id"],
        "contract": win["contract"]["id"],
    }


def _explore(run: Run, operation: Any, token: str, records: dict[str, str]) -> None:
    path_names = [p.name for p in operation.path_parameters]
    real = {name: records[PATH_RECORDS[name]] for name in path_names if name in PATH_RECORDS}
    passes: list[tuple[GenerationMode, dict[str, str] | None, int]] = [
        (GenerationMode.POSITIVE, real or None, REAL_ID_EXAMPLES if real else REAL_ID_EXAMPLES + RANDOM_EXAMPLES),
        (GenerationMode.NEGATIVE, None, NEGATIVE_EXAMPLES),
    ]
    if real:
        passes.append((GenerationMode.POSITIVE, None, RANDOM_EXAMPLES))
    headers = {"Authorization": f"Bearer {token}"}
    for mode, path_parameters, examples in passes:
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

        @given(case=strategy)
        @settings(
            max_examples=examples,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def send(case: Any) -> None:
            try:
                response = case.call(headers=headers)
            except Exception as crash:  # the app raised instead of answering: a 500 as far as a client can tell
                run.examples[case.operation.label] += 1
                run.statuses[500] += 1
                run.found("not_a_server_error", case.operation.label, 500, f"{type(crash).__name__}: {crash}")
                return
            _judge(run, case, response)

        try:
            send()
        except Unsatisfiable:
            # An operation that takes nothing (GET /api/settings/close-policy) has no input to get wrong.
            if mode is not GenerationMode.NEGATIVE:
                raise


@pytest.fixture(scope="module")
def schemathesis_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """One bounded run over every operation of an app on its own SQLite file."""
    url = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'dealdesk.db'}"
    with migrated_database(url) as database:
        yield _run_schemathesis(database)


def _run_schemathesis(database: Database) -> Run:
    token = database.token("fuzzer", Role.ADMIN)
    app = create_app(database.settings)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        records = _seed(client)
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
        run = Run()
        for result in schema.get_all_operations():
            if isinstance(result, Err):
                raise result.err()
            _explore(run, result.ok(), token, records)
    return run


def _lines(findings: list[Finding]) -> list[str]:
    seen: dict[tuple[str, int], int] = Counter()
    for finding in findings:
        seen[(finding.operation, finding.status)] += 1
    return [f"{operation} -> {status} (x{n})" for (operation, status), n in sorted(seen.items())]


def _first(findings: list[Finding], limit: int = 5) -> str:
    return "\n\n".join(f"{f.operation} -> {f.status}\n{f.message}" for f in findings[:limit])


def test_schemathesis_finds_no_server_error_and_every_refusal_is_a_problem_document(
    schemathesis_run: Run, figures: Figures
) -> None:
    run = schemathesis_run
    server_errors = run.of("not_a_server_error") + [f for f in run.of("problem_json") if f.status >= 500]
    figures.record(
        "schemathesis against /openapi.json (in-process ASGI, admin token)",
        f"{run.total} examples over {len(run.examples)} operations",
        "per status: " + ", ".join(f"{status}: {n}" for status, n in sorted(run.statuses.items())),
        f"5xx found: {len(server_errors)}",
        f"refusals that are not problem+json: {len(run.of('problem_json'))}",
        *(
            f"{name} failures: {len(run.of(name))}" + (f" e.g. {_lines(run.of(name))[:3]}" if run.of(name) else "")
            for name in SCHEMA_CHECKS
        ),
    )
    assert len(run.examples) >= 30, "schemathesis did not reach every operation"
    assert server_errors == [], _first(server_errors)
    assert run.of("problem_json") == [], _first(run.of("problem_json"))


def test_every_successful_answer_matches_the_schema_the_openapi_document_declares(schemathesis_run: Run) -> None:
    def success(status: int) -> bool:
        return 200 <= status < 300

    mismatches = [finding for name in SCHEMA_CHECKS for finding in schemathesis_run.of(name, success)]
    assert schemathesis_run.statuses[200] + schemathesis_run.statuses[201] > 0
    assert mismatches == [], _first(mismatches)


def test_every_refusal_the_api_gives_is_declared_in_the_openapi_document(schemathesis_run: Run) -> None:
    """SPEC §7: errors are application/problem+json; the OpenAPI document must say so, with the statuses each
    operation really answers (404, 409, 412, 422 ...), or generated clients cannot read a refusal."""

    def refusal(status: int) -> bool:
        return status >= 400

    undeclared = {name: schemathesis_run.of(name, refusal) for name in SCHEMA_CHECKS}
    summary = [f"{name}: {line}" for name, findings in undeclared.items() for line in _lines(findings)]
    examples = _first([finding for findings in undeclared.values() for finding in findings[:1]], 4)
    assert summary == [], "answers the OpenAPI document does not declare:\n" + "\n".join(summary) + "\n\n" + examples
