"""Racing clients through real server processes (SPEC §6): 2,000 requests from 8 concurrent clients, spread over two
uvicorn processes that share one database, all aimed at six opportunities at a time. Afterwards plain SQL counts
the rows that break I1-I4 (there must be none), and every answer was a success or a problem+json refusal: no 5xx,
no "database is locked", no dropped connection.

The same race runs on PostgreSQL (serialised by the opportunity row lock) and on one SQLite file (serialised by
SQLite's write lock, taken at BEGIN IMMEDIATE, with a busy timeout)."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2

from dealdesk.domain.states import Role
from tests.integration.db_facts import invariant_violations
from tests.trust.conftest import Database, Figures, server_logs_with_tracebacks, server_processes

CLIENTS = 8
ROUNDS = 10
OPERATIONS_PER_CLIENT_PER_ROUND = 25
OPERATIONS = CLIENTS * ROUNDS * OPERATIONS_PER_CLIENT_PER_ROUND
DEALS_PER_ROUND = 6
"""A fresh set of six opportunities each round, so that the race keeps meeting open deals without a won quote
(once a quote is won, activating and losing are refused for good)."""

Json = dict[str, Any]
BULK_ROWS = "bulk close, per opportunity"


@dataclass
class Tally:
    """Every answer the clients got, counted; anything that is not a 2xx or a problem+json 4xx is kept whole."""

    statuses: Counter[int] = field(default_factory=Counter)
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    faults: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, operation: str, response: httpx2.Response) -> None:
        status = response.status_code
        fault = None
        code = "ok"
        if status >= 400:
            is_problem = response.headers.get("content-type", "").startswith("application/problem+json")
            body = response.json() if is_problem else {}
            code = str(body.get("code", "?"))
            if status >= 500 or not is_problem or body.get("status") != status:
                fault = f"{operation}: {status} {response.headers.get('content-type')} {response.text[:500]}"
        elif status >= 300:
            fault = f"{operation}: unexpected {status}"
        rows = response.json()["results"] if operation == "bulk close" and status == 200 else []
        with self.lock:
            self.statuses[status] += 1
            self.outcomes[(operation, code)] += 1
            for row in rows:
                self.outcomes[(BULK_ROWS, row["error"]["code"] if row["error"] else "ok")] += 1
            if fault:
                self.faults.append(fault)

    def transport_error(self, operation: str, error: Exception) -> None:
        with self.lock:
            self.statuses[0] += 1
            self.outcomes[(operation, "transport error")] += 1
            self.faults.append(f"{operation}: {type(error).__name__}: {error}")

    @property
    def total(self) -> int:
        return sum(self.statuses.values())

    def successes(self, operation: str) -> int:
        return self.outcomes[(operation, "ok")]


@dataclass
class Board:
    """The opportunities of the round and the quotes made on them, as the clients learn of them."""

    deals: list[str]
    quotes: dict[str, list[str]]
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_quote(self, deal: str, quote_id: str) -> None:
        with self.lock:
            self.quotes[deal].append(quote_id)

    def recent_quote(self, rng: random.Random, deal: str) -> str | None:
        with self.lock:
            recent = self.quotes[deal][-4:]
        return rng.choice(recent) if recent else None


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


def _lines(rng: random.Random) -> list[Json]:
    return [
        {
            "description": "Consulting days",
            "quantity": str(rng.randint(1, 20)),
            "unit_price": f"{rng.randint(100, 999)}.50",
        }
        for _ in range(rng.randint(1, 3))
    ]


def _close_body(rng: random.Random, *, close_quotes: bool) -> Json:
    body: Json = {"outcome": rng.choice(["won", "lost"]), "close_date": _today()}
    if body["outcome"] == "lost":
        body["status_reason"] = rng.choice(["canceled", "out_sold"])
    if close_quotes:
        body["close_quotes"] = rng.choice(["lost", "canceled"])
    return body


Request = tuple[str, str, Json | None]
"""method, path, JSON body"""


def _add_quote(rng: random.Random, board: Board, deal: str) -> Request:
    return "POST", f"/api/opportunities/{deal}/quotes", {"name": "Phase 2", "lines": _lines(rng)}


def _quote_action(action: str, body: Callable[[random.Random], Json | None]) -> Callable[..., Request | None]:
    def build(rng: random.Random, board: Board, deal: str) -> Request | None:
        quote = board.recent_quote(rng, deal)
        return None if quote is None else ("POST", f"/api/quotes/{quote}/{action}", body(rng))

    return build


def _close(close_quotes: bool) -> Callable[..., Request]:
    def build(rng: random.Random, board: Board, deal: str) -> Request:
        return "POST", f"/api/opportunities/{deal}/close", _close_body(rng, close_quotes=close_quotes)

    return build


def _reopen(rng: random.Random, board: Board, deal: str) -> Request:
    return "POST", f"/api/opportunities/{deal}/reopen", rng.choice([{}, {"status_reason": "on_hold"}])


def _bulk_close(rng: random.Random, board: Board, deal: str) -> Request:
    ids = rng.sample(board.deals, rng.randint(2, 3))
    body = {"ids": ids, **_close_body(rng, close_quotes=rng.random() < 0.5)}
    return "POST", "/api/opportunities/bulk-close", body


OPERATIONS_MIX: dict[str, tuple[int, Callable[..., Request | None]]] = {
    "add quote": (14, _add_quote),
    "activate": (18, _quote_action("activate", lambda rng: None)),
    "win": (9, _quote_action("win", lambda rng: {})),
    "win and close": (6, _quote_action("win", lambda rng: {"close_opportunity": True})),
    "close": (9, _close(close_quotes=False)),
    "close with close_quotes": (9, _close(close_quotes=True)),
    "reopen": (30, _reopen),
    "bulk close": (5, _bulk_close),
}


MUST_GET_THROUGH = [
    ("add quote",),
    ("activate",),
    ("win", "win and close"),
    ("close",),
    ("close with close_quotes",),
    ("reopen",),
    (BULK_ROWS,),
]
"""Each kind of change must succeed at least once, or the race did not test it. (Winning needs an active quote
on an open deal with nothing won yet, so the two kinds of win are counted together.)"""


def _client_round(client: httpx2.Client, seed: int, board: Board, tally: Tally) -> None:
    rng = random.Random(seed)
    names = list(OPERATIONS_MIX)
    weights = [OPERATIONS_MIX[name][0] for name in names]
    done = 0
    while done < OPERATIONS_PER_CLIENT_PER_ROUND:
        operation = rng.choices(names, weights)[0]
        deal = rng.choice(board.deals)
        request = OPERATIONS_MIX[operation][1](rng, board, deal)
        if request is None:  # no quote on that deal yet: choose again
            continue
        method, path, body = request
        done += 1
        try:
            response = client.request(method, path, json=body)
        except httpx2.HTTPError as error:
            tally.transport_error(operation, error)
            continue
        tally.count(operation, response)
        if operation == "add quote" and response.status_code == 201:
            board.add_quote(deal, response.json()["id"])


def _expect(response: httpx2.Response, status: int) -> Json:
    assert response.status_code == status, response.text
    result: Json = response.json()
    return result


def _new_board(setup: httpx2.Client, account_id: str, round_number: int) -> Board:
    """Six open opportunities, each with one active quote (it blocks a plain close) and one draft."""
    deals, quotes = [], {}
    for i in range(DEALS_PER_ROUND):
        body = {"name": f"Race {round_number}.{i}", "account_id": account_id, "estimated_revenue": "50000.00"}
        deal = _expect(setup.post("/api/opportunities", json=body), 201)["id"]
        lines = [{"description": "Kick-off", "quantity": "1", "unit_price": "1000.00"}]
        active = _expect(setup.post(f"/api/opportunities/{deal}/quotes", json={"name": "A", "lines": lines}), 201)
        _expect(setup.post(f"/api/quotes/{active['id']}/activate"), 200)
        draft = _expect(setup.post(f"/api/opportunities/{deal}/quotes", json={"name": "B", "lines": lines}), 201)
        deals.append(deal)
        quotes[deal] = [active["id"], draft["id"]]
    return Board(deals=deals, quotes=quotes)


def run_race(database: Database, urls: list[str], *, rounds: int = ROUNDS) -> Tally:
    """8 clients, each a manager with a token of their own, alternating between the server processes."""
    tokens = [database.token(f"manager-{i}", Role.MANAGER) for i in range(CLIENTS)]
    clients = [
        httpx2.Client(base_url=urls[i % len(urls)], headers={"Authorization": f"Bearer {tokens[i]}"}, timeout=60)
        for i in range(CLIENTS)
    ]
    tally = Tally()
    try:
        setup = clients[0]
        account_id = _expect(setup.post("/api/accounts", json={"name": "Race Holdings"}), 201)["id"]
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            for round_number in range(rounds):
                board = _new_board(setup, account_id, round_number)
                futures = [
                    pool.submit(_client_round, client, 1000 * round_number + i, board, tally)
                    for i, client in enumerate(clients)
                ]
                for future in futures:
                    future.result()
    finally:
        for client in clients:
            client.close()
    return tally


def _report(figures: Figures, database: Database, servers: int, tally: Tally, violations: dict[str, list[Any]]) -> None:
    by_status = ", ".join(f"{status or 'transport error'}: {n}" for status, n in sorted(tally.statuses.items()))
    lines = [
        f"{tally.total} operations from {CLIENTS} concurrent clients over {servers} server processes "
        f"on {DEALS_PER_ROUND} opportunities at a time ({ROUNDS} rounds)",
        f"per status: {by_status}",
        f"5xx / transport errors / non-problem refusals: {len(tally.faults)}",
        f"invariant violations (I1-I4): {sum(len(rows) for rows in violations.values())}",
        "per operation and answer:",
    ]
    for operation in [*OPERATIONS_MIX, BULK_ROWS]:
        answers = sorted((code, n) for (op, code), n in tally.outcomes.items() if op == operation)
        lines.append(f"  {operation}: " + ", ".join(f"{code} {n}" for code, n in answers))
    figures.record(f"race on {database.name}", *lines)


def assert_the_race_held(
    tally: Tally, violations: dict[str, list[Any]], workdir: Path, *, operations: int = OPERATIONS
) -> None:
    assert tally.total == operations
    assert tally.faults == [], "\n".join(tally.faults[:20])
    assert violations == {}, violations
    assert server_logs_with_tracebacks(workdir) == {}
    never_succeeded = [kinds for kinds in MUST_GET_THROUGH if sum(map(tally.successes, kinds)) == 0]
    assert never_succeeded == [], f"the race never got these through, so it did not test them: {never_succeeded}"
    refused = sum(n for (_op, code), n in tally.outcomes.items() if code != "ok")
    assert refused > 0, "no request was refused: the clients never met each other's changes"


def test_racing_clients_on_two_postgresql_servers_never_break_an_invariant_or_get_a_5xx(
    postgres_database: Database, tmp_path: Path, figures: Figures
) -> None:
    with server_processes(postgres_database, 2, tmp_path) as urls:
        tally = run_race(postgres_database, urls)
    with postgres_database.engine.connect() as conn:
        violations = invariant_violations(conn)
    _report(figures, postgres_database, 2, tally, violations)
    assert_the_race_held(tally, violations, tmp_path)


def test_racing_clients_on_two_servers_sharing_one_sqlite_file_never_see_database_is_locked(
    sqlite_database: Database, tmp_path: Path, figures: Figures
) -> None:
    with server_processes(sqlite_database, 2, tmp_path) as urls:
        tally = run_race(sqlite_database, urls)
    with sqlite_database.engine.connect() as conn:
        violations = invariant_violations(conn)
    _report(figures, sqlite_database, 2, tally, violations)
    assert_the_race_held(tally, violations, tmp_path)
