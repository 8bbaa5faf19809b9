"""Problem documents: unknown ids, unknown routes, oversized bodies, and the order checks run in (SPEC §7)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.api.builders import UNKNOWN_ID, Json, assert_problem, snapshot

MALFORMED_ID = "not-a-uuid"
ONE_MIB = 1024 * 1024

Endpoint = tuple[str, str, Json | None]
PATH_ENDPOINTS: dict[str, list[Endpoint]] = {
    "catalogue": [
        ("GET", "/api/accounts/{id}", None),
        ("PATCH", "/api/close-reasons/{id}", {"active": False}),
    ],
    "opportunities": [
        ("GET", "/api/opportunities/{id}", None),
        ("PATCH", "/api/opportunities/{id}", {"name": "Renamed"}),
        ("POST", "/api/opportunities/{id}/quotes", {"name": "Phase 1", "lines": []}),
        ("GET", "/api/opportunities/{id}/quotes", None),
        ("GET", "/api/opportunities/{id}/close-preview", None),
        ("POST", "/api/opportunities/{id}/close-quotes", {"status_reason": "lost"}),
        ("POST", "/api/opportunities/{id}/close", {"outcome": "won", "close_date": "2020-01-01"}),
        ("POST", "/api/opportunities/{id}/reopen", {}),
        ("GET", "/api/opportunities/{id}/closes", None),
    ],
    "quotes": [
        ("GET", "/api/quotes/{id}", None),
        ("PATCH", "/api/quotes/{id}", {"name": "Renamed"}),
        ("DELETE", "/api/quotes/{id}", None),
        ("POST", "/api/quotes/{id}/activate", None),
        ("POST", "/api/quotes/{id}/close", {"status_reason": "lost"}),
        ("POST", "/api/quotes/{id}/revise", None),
        ("POST", "/api/quotes/{id}/copy", None),
        ("POST", "/api/quotes/{id}/win", {}),
    ],
    "closes and contracts": [
        ("PATCH", "/api/closes/{id}", {"description": "Corrected"}),
        ("GET", "/api/contracts/{id}", None),
    ],
}


@pytest.mark.parametrize("group", list(PATH_ENDPOINTS))
def test_an_unknown_or_malformed_id_in_the_path_is_not_found(api: TestClient, group: str) -> None:
    for method, path, body in PATH_ENDPOINTS[group]:
        for record_id in (UNKNOWN_ID, MALFORMED_ID):
            response = api.request(method, path.format(id=record_id), json=body)
            assert response.status_code == 404, f"{method} {path} with {record_id}: {response.text}"
            assert_problem(response, 404, "not_found")


BAD_BODIES: list[tuple[str, str, str, Json | bytes]] = [
    ("opportunity name null", "PATCH", "/api/opportunities/{id}", {"name": None}),
    ("close in the future", "POST", "/api/opportunities/{id}/close", {"outcome": "won", "close_date": "2999-01-01"}),
    ("close malformed JSON", "POST", "/api/opportunities/{id}/close", b'{"outcome": '),
    ("close body not UTF-8", "POST", "/api/opportunities/{id}/close", b'{"outcome": "\xff"}'),
    ("account name a number", "PATCH", "/api/accounts/{id}", {"name": 5}),
    ("competitor name a number", "PATCH", "/api/competitors/{id}", {"name": 5}),
    ("close reason active a word", "PATCH", "/api/close-reasons/{id}", {"active": "perhaps"}),
    ("close record outcome", "PATCH", "/api/closes/{id}", {"outcome": "lost"}),
    ("close record empty correction", "PATCH", "/api/closes/{id}", {}),
    ("quote name null", "PATCH", "/api/quotes/{id}", {"name": None}),
    ("win unknown competitor", "POST", "/api/quotes/{id}/win", {"competitor_id": UNKNOWN_ID}),
]


@pytest.mark.parametrize(("case", "method", "path", "body"), BAD_BODIES, ids=[case for case, *_ in BAD_BODIES])
def test_not_found_wins_over_a_bad_body(
    api: TestClient, engine: Engine, case: str, method: str, path: str, body: Json | bytes
) -> None:
    before = snapshot(engine)
    for record_id in (UNKNOWN_ID, MALFORMED_ID):
        url = path.format(id=record_id)
        if isinstance(body, bytes):
            response = api.request(method, url, content=body, headers={"content-type": "application/json"})
        else:
            response = api.request(method, url, json=body)
        assert_problem(response, 404, "not_found")
    assert snapshot(engine) == before


def test_an_unknown_route_is_a_not_found_problem(api: TestClient) -> None:
    assert_problem(api.get("/api/no-such-thing"), 404, "not_found")
    assert_problem(api.post("/api/opportunities/bulk-close/now", json={}), 404, "not_found")


def test_a_body_over_one_mebibyte_is_too_large_and_nothing_is_written(api: TestClient, engine: Engine) -> None:
    before = snapshot(engine)
    body = b'{"name": "' + b"x" * ONE_MIB + b'"}'

    response = api.post("/api/accounts", content=body, headers={"content-type": "application/json"})

    assert_problem(response, 413, "payload_too_large")
    assert snapshot(engine) == before


def test_a_body_of_exactly_one_mebibyte_is_accepted(api: TestClient) -> None:
    start = b'{"name": "Acme"'
    body = start + b" " * (ONE_MIB - len(start) - 1) + b"}"
    assert len(body) == ONE_MIB

    response = api.post("/api/accounts", content=body, headers={"content-type": "application/json"})

    assert response.status_code == 201, response.text


def test_too_large_is_checked_before_not_found(api: TestClient) -> None:
    body = b'{"description": "' + b"x" * ONE_MIB + b'"}'

    response = api.post(
        f"/api/opportunities/{UNKNOWN_ID}/close", content=body, headers={"content-type": "application/json"}
    )

    assert_problem(response, 413, "payload_too_large")
