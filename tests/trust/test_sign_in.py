"""Password sign-in under attack (SPEC §8): no input is a 500, the per-name limit holds under parallel guesses and
slides, a failure takes the same time whether or not the name exists, no lock is held while argon2 works, and the
per-client limit believes X-Forwarded-For only from a trusted proxy. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import re
import sqlite3
import statistics
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from dealdesk.config import Settings
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.errors import RateLimited, Unauthenticated
from dealdesk.domain.states import Role
from dealdesk.services import auth
from dealdesk.web.app import create_app
from tests.serving import free_port
from tests.trust.conftest import DEALDESK_CLI, Database, Figures, process_env, server_process, stop
from tests.web_sign_in import CSRF_FIELD, sign_in, sign_in_csrf

PASSWORD = "correct horse battery"
WRONG = "wrong horse battery!"


@pytest.fixture
def app_client(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    """A 500 is an answer here, not an exception, so that a test can name the input that gave it."""
    with TestClient(create_app(settings), raise_server_exceptions=False, follow_redirects=False) as client:
        yield client


def _add(engine: Engine, settings: Settings, name: str, *, password: str | None = PASSWORD) -> str:
    return auth.add_user(SqlUnitOfWork(engine, SystemClock(settings.zone)), name, Role.SALES, password=password).token


# ---------------------------------------------------------------------------------------------- 1. odd input
def test_a_nul_byte_in_the_name_is_a_wrong_sign_in_not_a_500(
    app_client: TestClient, engine: Engine, settings: Settings
) -> None:
    _add(engine, settings, "nadia")
    token = sign_in_csrf(app_client)
    answer = app_client.post("/login", data={"name": "nadia\x00", "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 401, answer.text[:300]
    assert "do not match" in answer.text


def test_no_input_to_the_sign_in_form_is_ever_a_500(app_client: TestClient, engine: Engine, settings: Settings) -> None:
    _add(engine, settings, "nadia")
    token = sign_in_csrf(app_client)
    forms: list[dict[str, Any]] = [
        {"data": {"name": "\x00", "password": "\x00"}},
        {"data": {"name": "nadia", "password": "\x00" + PASSWORD}},
        {"data": {"name": "x" * 5000, "password": "y" * 100_000}},
        {"data": {"name": " nadia ", "password": PASSWORD}},
        {"data": {"name": "nadia", "password": WRONG, "next": "/\x00"}},
        {"data": {"name": "nadia", "password": WRONG, "next": "//evil.example"}},
        {"data": {"name": "nadia", "password": WRONG, "next": "\\\\evil"}},
        {"data": {}},
        {"data": {"csrf_token": "\x00"}, "no_token": True},
        {"content": b"name=%ED%A0%80&password=%ED%A0%80", "headers": {"content-type": "x-www-form-urlencoded"}},
        {"content": b"name=%ED%A0%80&password=%FF", "urlencoded": True},
        {"content": b"\xff\xfe\x00", "urlencoded": True},
        {"json": {"name": "nadia", "password": PASSWORD}},
        {"files": {"name": ("name.txt", b"nadia")}, "data": {"password": PASSWORD}},
    ]
    failures = []
    for number, form in enumerate(forms):
        data = dict(form.get("data", {}))
        if "data" in form and not form.get("no_token"):
            data["csrf_token"] = token
        options: dict[str, Any] = {}
        if "content" in form:
            content = form["content"] + (f"&csrf_token={token}".encode() if form.get("urlencoded") else b"")
            options = {"content": content, "headers": {"content-type": "application/x-www-form-urlencoded"}}
        elif "json" in form:
            options = {"json": form["json"]}
        else:
            options = {"data": data, "files": form.get("files")}
        answer = app_client.post("/login", **options)
        if answer.status_code >= 500:
            failures.append(f"form {number}: {answer.status_code}")
    assert failures == []


# ---------------------------------------------------------------------------------------------- 4. the per-name limit
def _parallel_sign_ins(base_url: str, name: str, passwords: list[str]) -> Counter[int]:
    """Every attempt from its own client (as from many machines), all posted at the same moment."""
    clients = [httpx2.Client(base_url=base_url, timeout=120, follow_redirects=False) for _ in passwords]
    forms = []
    for client, password in zip(clients, passwords, strict=True):
        found = CSRF_FIELD.search(client.get("/login").text)
        forms.append({"name": name, "password": password, **({"csrf_token": found.group(1)} if found else {})})
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def attempt(client: httpx2.Client, form: dict[str, str]) -> None:
        start.wait()
        statuses.append(client.post("/login", data=form).status_code)

    threads = [threading.Thread(target=attempt, args=pair) for pair in zip(clients, forms, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()
    return Counter(statuses)


def test_25_parallel_wrong_passwords_and_the_right_one_get_at_most_5_checks(
    engine: Engine, settings: Settings, tmp_path: Path, figures: Figures, engine_name: str
) -> None:
    _add(engine, settings, "target")
    database = Database(url=settings.database_url, engine=engine, settings=settings)
    with server_process(database, tmp_path / "server.log") as url:
        statuses = _parallel_sign_ins(url, "target", [WRONG] * 25 + [PASSWORD])
    checked = statuses[401] + statuses[303]
    figures.record(
        f"sign-in: 25 parallel wrong passwords + the right one ({engine_name})",
        f"answers {dict(sorted(statuses.items()))}: {checked} password checks (limit 5)",
    )
    assert set(statuses) <= {401, 303, 429}, statuses
    assert checked <= auth.SIGN_IN_FAILURES_PER_NAME
    assert statuses[429] == 26 - checked


class SettableClock:
    def __init__(self, now: datetime) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment

    def today(self) -> date:
        return self.moment.date()

    def date_of(self, moment: datetime) -> date:
        return moment.date()


def test_the_limit_is_5_failures_in_any_15_minute_sliding_window(engine: Engine, settings: Settings) -> None:
    """A fixed 15-minute bucket would let 5 more guesses in at the turn of each quarter hour."""
    _add(engine, settings, "target")
    clock = SettableClock(datetime(2026, 3, 2, 10, 14, 30, tzinfo=UTC))  # half a minute before a quarter hour
    uow = SqlUnitOfWork(engine, clock)
    for _ in range(5):
        with pytest.raises(Unauthenticated):
            auth.sign_in(uow, "target", WRONG, client="198.51.100.1")
    clock.moment += timedelta(minutes=2)  # past the quarter hour, 2 minutes after the failures
    with pytest.raises(RateLimited):
        auth.sign_in(uow, "target", PASSWORD, client="198.51.100.2")
    clock.moment += timedelta(minutes=13, seconds=1)  # 15 minutes and 1 second after them
    assert auth.sign_in(uow, "target", PASSWORD, client="198.51.100.2").actor.name == "target"


def test_a_successful_sign_in_does_not_use_up_a_failure(engine: Engine, uow: SqlUnitOfWork, settings: Settings) -> None:
    _add(engine, settings, "target")
    for _ in range(4):
        with pytest.raises(Unauthenticated):
            auth.sign_in(uow, "target", WRONG, client="198.51.100.1")
    for _ in range(3):
        auth.sign_in(uow, "target", PASSWORD, client="198.51.100.1")
    with pytest.raises(Unauthenticated):
        auth.sign_in(uow, "target", WRONG, client="198.51.100.1")  # the fifth failure is still checked
    with pytest.raises(RateLimited):
        auth.sign_in(uow, "target", PASSWORD, client="198.51.100.1")


# ---------------------------------------------------------------------------------------------- 5. timing
def test_an_unknown_name_takes_as_long_as_a_wrong_password(
    app_client: TestClient, engine: Engine, settings: Settings, figures: Figures, engine_name: str
) -> None:
    tries = 5
    for number in range(tries):
        _add(engine, settings, f"known{number}")
    sign_in(app_client, "warm-up", WRONG)  # the first check of a process may pay for one-time set-up

    def timed(name: str) -> float:
        started = time.perf_counter()
        answer = sign_in(app_client, name, WRONG)
        assert answer.status_code == 401, answer.text[:200]
        return time.perf_counter() - started

    known, unknown = [], []
    for number in range(tries):  # interleaved, so that a busy moment of the machine hits both alike
        known.append(timed(f"known{number}"))
        unknown.append(timed(f"nobody{number}"))
    ratio = statistics.median(unknown) / statistics.median(known)
    figures.record(
        f"sign-in timing ({engine_name}, median of {tries})",
        f"wrong password {statistics.median(known) * 1000:.0f} ms (spread {min(known) * 1000:.0f}-"
        f"{max(known) * 1000:.0f}), unknown name {statistics.median(unknown) * 1000:.0f} ms (spread "
        f"{min(unknown) * 1000:.0f}-{max(unknown) * 1000:.0f}), ratio {ratio:.2f}",
    )
    assert 0.5 <= ratio <= 2.0


# ---------------------------------------------------------------------------------------------- 3. no lock held
class LockProbe:
    """Wraps the real argon2 hasher (it still does every check) to look at the database while a check runs: can
    another connection take every lock a writer could need? This is a spy, not a stand-in."""

    def __init__(self, real: Any, probe: Any) -> None:
        self.real = real
        self.probe = probe
        self.findings: list[str] = []

    def hash(self, password: str | bytes) -> str:
        hashed: str = self.real.hash(password)
        return hashed

    def verify(self, password_hash: str, password: str | bytes) -> bool:
        self.findings.append(self.probe())
        verified: bool = self.real.verify(password_hash, password)
        return verified


def _lock_probe(settings: Settings, engine_name: str) -> Any:
    if engine_name == "sqlite":
        path = settings.database_url.removeprefix("sqlite:///")

        def probe_sqlite() -> str:
            connection = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("ROLLBACK")
                return "free"
            except sqlite3.OperationalError as error:
                return f"locked: {error}"
            finally:
                connection.close()

        return probe_sqlite
    other = create_engine(settings.database_url, poolclass=NullPool)  # no connection outlives the probe

    def probe_postgresql() -> str:
        with other.connect() as connection:
            try:
                connection.execute(text("LOCK TABLE users, rate_limits, web_sessions IN ACCESS EXCLUSIVE MODE NOWAIT"))
                return "free"
            except Exception as error:
                return f"locked: {type(error).__name__}"
            finally:
                connection.rollback()

    return probe_postgresql


@pytest.mark.parametrize("password", [PASSWORD, WRONG])
def test_no_transaction_or_write_lock_is_held_while_a_password_is_checked(
    engine: Engine,
    uow: SqlUnitOfWork,
    settings: Settings,
    engine_name: str,
    monkeypatch: pytest.MonkeyPatch,
    password: str,
) -> None:
    """SQLite has one writer: a sign-in that held it for argon2 (~0.3 s) stalled every other write."""
    _add(engine, settings, "target")
    spy = LockProbe(auth._hasher, _lock_probe(settings, engine_name))
    monkeypatch.setattr(auth, "_hasher", spy)
    with contextlib.suppress(Unauthenticated):
        auth.sign_in(uow, "target", password, client="198.51.100.1")
    assert spy.findings == ["free"]


# ---------------------------------------------------------------------------------------------- 9. trusted proxies
def _tries_from(settings: Settings, peer: str, count: int) -> list[int]:
    """Wrong sign-ins for different names from one peer, each claiming another client in X-Forwarded-For."""
    with TestClient(create_app(settings), client=(peer, 40000), follow_redirects=False) as client:
        token = sign_in_csrf(client)
        statuses = []
        for number in range(count):
            form = {"name": f"nobody{number}", "password": WRONG, "csrf_token": token}
            headers = {"X-Forwarded-For": f"203.0.113.{number + 1}"}
            statuses.append(client.post("/login", data=form, headers=headers).status_code)
        return statuses


def test_rotating_x_forwarded_for_from_an_untrusted_peer_does_not_escape_the_client_limit(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "SIGN_IN_FAILURES_PER_CLIENT", 3)  # 3, not 30: fewer argon2 checks, same rule
    assert _tries_from(settings, "192.0.2.50", 5) == [401, 401, 401, 429, 429]


@contextmanager
def dealdesk_serve(database: Database, log: Path, **env: str) -> Iterator[str]:
    """`dealdesk serve` as production runs it: its uvicorn must not believe X-Forwarded-For from loopback."""
    port = free_port()
    command = [DEALDESK_CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env={**process_env(database), **env}, stdout=output, stderr=output)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx2.get(f"http://127.0.0.1:{port}/login", timeout=1).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"dealdesk serve did not start:\n{log.read_text()}")
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(process)


def test_rotating_x_forwarded_for_to_dealdesk_serve_from_loopback_does_not_escape_the_client_limit(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """The real server: uvicorn on its own believes X-Forwarded-For from 127.0.0.1, which any local process (or a
    proxy that passes the header through) could then forge. 31 tries, each another name and claimed address."""
    database = Database(url=settings.database_url, engine=engine, settings=settings)
    limit = auth.SIGN_IN_FAILURES_PER_CLIENT
    with dealdesk_serve(database, tmp_path / "serve.log") as url, httpx2.Client(base_url=url, timeout=60) as client:
        token = sign_in_csrf_of(client)
        statuses = []
        for number in range(limit + 1):
            form = {"name": f"nobody{number}", "password": WRONG, "csrf_token": token}
            headers = {"X-Forwarded-For": f"203.0.113.{number + 1}"}
            statuses.append(client.post("/login", data=form, headers=headers).status_code)
    assert statuses == [401] * limit + [429]


def sign_in_csrf_of(client: httpx2.Client) -> str:
    found = CSRF_FIELD.search(client.get("/login").text)
    return found.group(1) if found else ""


def test_a_trusted_proxy_s_x_forwarded_for_names_the_client(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(auth, "SIGN_IN_FAILURES_PER_CLIENT", 3)
    trusted = settings.model_copy(update={"trusted_proxies": "10.0.0.1, 192.0.2.0/24"})
    assert _tries_from(trusted, "192.0.2.50", 5) == [401] * 5


def test_x_forwarded_proto_makes_the_session_cookie_secure_only_from_a_trusted_proxy(
    engine: Engine, settings: Settings
) -> None:
    _add(engine, settings, "target")
    for trusted_proxies, secure in [("", False), ("192.0.2.50", True)]:
        configured = settings.model_copy(update={"trusted_proxies": trusted_proxies})
        with TestClient(create_app(configured), client=("192.0.2.50", 40000), follow_redirects=False) as client:
            form = {"name": "target", "password": PASSWORD, "csrf_token": sign_in_csrf(client)}
            answer = client.post("/login", data=form, headers={"X-Forwarded-Proto": "https"})
            assert answer.status_code == 303
            session_cookie = next(c for c in answer.headers.get_list("set-cookie") if "dealdesk_session=" in c)
            assert bool(re.search(r";\s*secure", session_cookie, re.IGNORECASE)) is secure, trusted_proxies


def test_a_trusted_proxies_entry_that_is_no_address_is_refused() -> None:
    with pytest.raises(ValueError, match="not an address"):
        Settings(trusted_proxies="10.0.0.1, proxy.example")


# ---------------------------------------------------------------------------------------------- 15. login CSRF
def test_the_sign_in_form_needs_its_csrf_token(app_client: TestClient, engine: Engine, settings: Settings) -> None:
    """Login CSRF: another site could otherwise sign a visitor in to the attacker's account."""
    _add(engine, settings, "target")
    form = {"name": "target", "password": PASSWORD, "next": "/"}
    assert app_client.post("/login", data=form).status_code == 403  # no cookie, no field
    token = sign_in_csrf(app_client)
    assert app_client.post("/login", data=form).status_code == 403  # cookie, no field
    assert app_client.post("/login", data={**form, "csrf_token": "x" * 43}).status_code == 403  # another value
    with TestClient(app_client.app, follow_redirects=False) as elsewhere:  # a field, but not this browser's cookie
        assert elsewhere.post("/login", data={**form, "csrf_token": token}).status_code == 403
    refused = app_client.post("/login", data=form)
    assert "dealdesk_session=" not in refused.headers.get("set-cookie", "")
    assert app_client.post("/login", data={**form, "csrf_token": token}).status_code == 303
