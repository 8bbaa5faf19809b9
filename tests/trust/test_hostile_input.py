"""Hostile input over HTTP, on SQLite and PostgreSQL: oversized bodies, SQL and HTML injection, and hostile query
strings on the web pages.

- Bodies over 1 MiB are refused with 413 `payload_too_large`, declared or streamed, before anything is read; and
  sign-in comes first (SPEC §7 order: 401, then 413, then 404).
- Text that looks like SQL or HTML is only text: it is stored and answered exactly as sent, searching for it
  matches it literally, and every web page shows it escaped, never as markup.
- Nothing a browser can put in a URL makes a page answer 500."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import Engine, func, select

from dealdesk.config import Settings
from dealdesk.db import tables as t
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.states import Role
from dealdesk.services import auth
from dealdesk.web.app import create_app
from tests.web_sign_in import sign_in

ONE_MIB = 1024 * 1024
UNKNOWN_ID = "6f1c1a4e-2b7d-4c59-9a41-0d8e6b3c2f10"
PASSWORD = "correct horse battery"
SIGNED_IN_NAME = "ada<script>alert('name')</script>"
"""The signed-in user's name is shown on every page: it must be escaped there too."""

HOSTILE_TEXT = [
    "'); DROP TABLE opportunities;--",
    "Robert'); DELETE FROM quotes WHERE ('1'='1",
    "<script>alert(1)</script>",
    '" onmouseover="alert(2)',
    "' onfocus='alert(3)' autofocus='",
    "<img src=x onerror=alert(4)>",
    "</textarea><svg onload=alert(5)>",
    "{{ 7*7 }} ${7*7} {% raw %}",
    "100%_off \\ 50%",
]
MARKUP_CHARACTERS = set("<>\"'&")

Json = dict[str, Any]


def _token(engine: Engine, settings: Settings, name: str, role: Role, password: str | None = None) -> str:
    return auth.add_user(SqlUnitOfWork(engine, SystemClock(settings.zone)), name, role, password=password).token


@pytest.fixture
def admin_api(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    token = _token(engine, settings, "admin", Role.ADMIN)
    with TestClient(create_app(settings), headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def _assert_problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code


def _count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


# ---------------------------------------------------------------------------------------------- body size
def _big_account(size: int) -> bytes:
    """A JSON body of exactly `size` bytes: an account whose name pads it out."""
    head, tail = b'{"name": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def test_a_body_over_one_mib_is_refused_with_413_and_nothing_is_created(admin_api: TestClient, engine: Engine) -> None:
    body = _big_account(ONE_MIB + 1)
    response = admin_api.post("/api/accounts", content=body, headers={"content-type": "application/json"})
    _assert_problem(response, 413, "payload_too_large")
    assert _count(engine, t.accounts) == 0


def test_a_streamed_body_without_a_length_is_cut_off_at_one_mib_with_413(admin_api: TestClient, engine: Engine) -> None:
    def chunks() -> Iterator[bytes]:
        body = _big_account(2 * ONE_MIB)
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    response = admin_api.post("/api/accounts", content=chunks(), headers={"content-type": "application/json"})
    _assert_problem(response, 413, "payload_too_large")
    assert _count(engine, t.accounts) == 0


def test_a_body_of_exactly_one_mib_is_read_and_judged_on_its_content(admin_api: TestClient) -> None:
    response = admin_api.post(
        "/api/accounts", content=_big_account(ONE_MIB), headers={"content-type": "application/json"}
    )
    _assert_problem(response, 422, "validation_error")  # a name of a million characters: read, then refused


def test_an_oversized_body_is_413_before_an_unknown_id_is_404(admin_api: TestClient) -> None:
    body = b'{"outcome": "won", "close_date": "2024-01-01", "description": "' + b"x" * ONE_MIB + b'"}'
    response = admin_api.post(
        f"/api/opportunities/{UNKNOWN_ID}/close", content=body, headers={"content-type": "application/json"}
    )
    _assert_problem(response, 413, "payload_too_large")


@pytest.mark.parametrize("authorization", [None, "Bearer ddk_nobody-issued-this", "Basic YWRhOnB3", "Bearer "])
def test_without_a_working_token_an_oversized_body_is_401_not_413(
    admin_api: TestClient, engine: Engine, authorization: str | None
) -> None:
    headers = {"content-type": "application/json"}
    if authorization is None:
        admin_api.headers.pop("Authorization")
    else:
        headers["Authorization"] = authorization
    response = admin_api.post("/api/accounts", content=_big_account(2 * ONE_MIB), headers=headers)
    _assert_problem(response, 401, "unauthenticated")
    assert _count(engine, t.accounts) == 0


# ---------------------------------------------------------------------------------------------- injection
def _made(response: Any, status: int = 201) -> Json:
    assert response.status_code == status, response.text
    answer: Json = response.json()
    return answer


def _deal_named(api: TestClient, text: str, number: int) -> dict[str, Json]:
    """Every free-text field a deal has, set to `text`: account, opportunity, quote and line, competitor, close
    reason, and the close description. The deal ends closed as lost, so its page shows the close history too."""
    today = datetime.now(UTC).date().isoformat()
    account = _made(api.post("/api/accounts", json={"name": text}))
    competitor = _made(api.post("/api/competitors", json={"name": f"{text} #{number}"}))
    reason = _made(api.post("/api/close-reasons", json={"outcome": "lost", "name": text}))
    body = {"name": text, "account_id": account["id"], "estimated_revenue": "10.00", "description": text}
    opportunity = _made(api.post("/api/opportunities", json=body))
    line = {"description": text, "quantity": "1", "unit_price": "10.00"}
    quote = _made(api.post(f"/api/opportunities/{opportunity['id']}/quotes", json={"name": text, "lines": [line]}))
    _made(api.post(f"/api/quotes/{quote['id']}/activate"), 200)
    close = {
        "outcome": "lost",
        "status_reason": "out_sold",
        "close_date": today,
        "competitor_id": competitor["id"],
        "close_reason_id": reason["id"],
        "description": text,
        "close_quotes": "lost",
    }
    _made(api.post(f"/api/opportunities/{opportunity['id']}/close", json=close), 200)
    return {"account": account, "competitor": competitor, "reason": reason, "opportunity": opportunity, "quote": quote}


def test_sql_and_html_in_every_text_field_is_stored_and_answered_exactly_as_sent(
    admin_api: TestClient, engine: Engine
) -> None:
    for number, text in enumerate(HOSTILE_TEXT):
        made = _deal_named(admin_api, text, number)
        deal = _made(admin_api.get(f"/api/opportunities/{made['opportunity']['id']}"), 200)
        quote = _made(admin_api.get(f"/api/quotes/{made['quote']['id']}"), 200)
        closes = _made(admin_api.get(f"/api/opportunities/{deal['id']}/closes"), 200)["items"]
        assert (deal["name"], deal["description"]) == (text, text)
        assert _made(admin_api.get(f"/api/accounts/{made['account']['id']}"), 200)["name"] == text
        assert (quote["name"], quote["lines"][0]["description"]) == (text, text)
        assert [c["description"] for c in closes] == [text]
        assert made["competitor"]["name"] == f"{text} #{number}" and made["reason"]["name"] == text
    assert _count(engine, t.opportunities) == len(HOSTILE_TEXT)  # the table is still there, with every deal
    assert _count(engine, t.quotes) == len(HOSTILE_TEXT)


def test_searching_for_sql_like_wildcards_matches_them_literally(admin_api: TestClient) -> None:
    account = _made(admin_api.post("/api/accounts", json={"name": "Search Ltd"}))
    for name in ["100%_off \\ 50%", "100 percent off", "1000_offers"]:
        body = {"name": name, "account_id": account["id"], "estimated_revenue": "1.00"}
        _made(admin_api.post("/api/opportunities", json=body))
    for q, expected in [
        ("%_off \\", ["100%_off \\ 50%"]),
        ("%", ["100%_off \\ 50%"]),
        ("_", ["100%_off \\ 50%", "1000_offers"]),
    ]:
        found = _made(admin_api.get("/api/opportunities", params={"q": q}), 200)["items"]
        assert sorted(item["name"] for item in found) == sorted(expected), q


# ---------------------------------------------------------------------------------------------- web pages
@pytest.fixture
def browser(admin_api: TestClient, engine: Engine, settings: Settings) -> Iterator[TestClient]:
    """A signed-in web session (password sign-in, session cookie) on the same app; a 500 is an answer here, not an
    exception, so that a test can name the page that gave it."""
    _token(engine, settings, SIGNED_IN_NAME, Role.MANAGER, password=PASSWORD)
    with TestClient(admin_api.app, follow_redirects=False, raise_server_exceptions=False) as client:
        response = sign_in(client, SIGNED_IN_NAME, PASSWORD)
        assert response.status_code == 303, response.text
        yield client


def test_markup_in_any_text_field_is_shown_escaped_on_the_web_pages(admin_api: TestClient, browser: TestClient) -> None:
    """The opportunity page shows every field of the deal (quotes, lines, close history, audit trail); the list
    shows names and echoes the search box. None may show the text as markup."""
    unescaped = []
    for number, text in enumerate(HOSTILE_TEXT):
        deal = _deal_named(admin_api, text, number)["opportunity"]["id"]
        pages = {
            "the opportunity page": (f"/opportunities/{deal}", None),
            "the list page": ("/", None),
            "the list page searching for it": ("/", {"q": text}),
        }
        for page, (path, params) in pages.items():
            response = browser.get(path, params=params)
            assert response.status_code == 200, f"{page}: {response.status_code}"
            for shown in (text, SIGNED_IN_NAME):
                if MARKUP_CHARACTERS & set(shown) and shown in response.text:
                    unescaped.append(f"{page} shows {shown!r} unescaped")
                if str(escape(shown)) not in response.text and shown not in response.text:
                    unescaped.append(f"{page} does not show {shown!r} at all")
    assert unescaped == []


def test_template_syntax_in_text_is_shown_as_typed_not_evaluated(admin_api: TestClient, browser: TestClient) -> None:
    text = "{{ 7*7 }} ${7*7} {% raw %}"
    made = _deal_named(admin_api, text, 0)
    html = browser.get(f"/opportunities/{made['opportunity']['id']}").text
    assert text in html


HOSTILE_URLS = [
    "/?page=99999999999999999999",
    "/?page=" + "9" * 5000,
    "/?page=-1",
    "/?page=%D9%A1%D9%A2",
    "/?q=%00",
    "/?q=%ED%A0%80",
    "/?q=" + "x" * 5000,
    "/?state=%00&account=%00&sort=%00",
    "/?account=not-a-uuid",
    "/opportunities/not-a-uuid",
    f"/opportunities/{UNKNOWN_ID}",
    f"/opportunities/{UNKNOWN_ID}/audit?cursor=%00",
    "/reports/win-loss?from=99999-01-01&to=%00&currency=%00&owner=x&account=%00",
    "/reports/win-loss?from=2024-02-30&currency=" + "A" * 5000,
    "/login?next=%00",
    "/login?next=//evil.example",
]


def test_no_url_a_browser_can_send_makes_a_web_page_answer_500(browser: TestClient) -> None:
    """SPEC §7: never a 500 for anything a client can send."""
    failures = []
    for url in HOSTILE_URLS:
        response = browser.get(url)
        if response.status_code >= 500:
            failures.append(f"GET {url[:60]} -> {response.status_code}")
    assert failures == [], "\n".join(failures)
