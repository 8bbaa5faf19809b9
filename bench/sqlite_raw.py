"""The raw-SQL ceiling on SQLite: the close transaction through the `sqlite3` module, one writer (SQLite has one).

Same PRAGMAs as the app (WAL, synchronous=NORMAL, foreign keys), BEGIN IMMEDIATE as the app's write transactions,
and the same statements as the pgbench script, in SQLite's storage format (hex UUIDs, money in cents)."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path

from bench.seeding import CLOSE, QUOTE, needs_close_quotes, opportunity_id, seeded_id


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def run(path: Path, *, first: int, count: int, user: uuid.UUID, close_date: date) -> tuple[float, list[int]]:
    """Seconds taken and each transaction's latency in microseconds."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
        conn.execute(f"PRAGMA {pragma}")
    d = close_date.isoformat()
    lost_quote = json.dumps({"state": "closed", "status_reason": "lost"})
    open_state = json.dumps(
        {"state": "open", "status_reason": "in_progress", "actual_revenue": None, "actual_close_date": None}
    )
    latencies = []
    started = time.perf_counter()
    for n in range(first, first + count):
        began = time.perf_counter_ns()
        opp = opportunity_id(n).hex
        close = seeded_id(CLOSE, n).hex
        now = _stamp()
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("SELECT * FROM opportunities WHERE id = ?", (opp,)).fetchone()
        conn.execute("SELECT * FROM quotes WHERE opportunity_id = ? ORDER BY number, revision", (opp,)).fetchall()
        lost = needs_close_quotes(n)
        audit: list[tuple[object, ...]] = []
        if lost:
            conn.execute(
                "UPDATE quotes SET state = 'closed', status_reason = 'lost', closed_on = ?, version = version + 1, "
                "updated_at = ? WHERE opportunity_id = ? AND state IN ('active', 'draft')",
                (d, now, opp),
            )
            for seq, (quote, before) in enumerate(
                ((2 * n, {"state": "active", "status_reason": "open"}), (2 * n + 1, {"state": "draft"}))
            ):
                audit.append((seq, "quote", seeded_id(QUOTE, quote).hex, "close", json.dumps(before), lost_quote))
        outcome, reason = ("lost", "out_sold") if lost else ("won", "won")
        revenue = "0" if lost else "estimated_revenue"
        conn.execute(
            f"UPDATE opportunities SET state = ?, status_reason = ?, actual_revenue = {revenue}, "
            "actual_close_date = ?, version = version + 1, updated_at = ? WHERE id = ?",
            (outcome, reason, d, now, opp),
        )
        conn.execute(
            "INSERT INTO opportunity_closes (id, opportunity_id, outcome, status_reason, close_date, actual_revenue, "
            "currency, owner_id, account_id, closed_by, closed_at, opportunity_created_on, created_at, updated_at) "
            f"SELECT ?, id, ?, ?, ?, {revenue}, currency, owner_id, account_id, ?, ?, date(created_at), ?, ? "
            "FROM opportunities WHERE id = ?",
            (close, outcome, reason, d, user.hex, now, now, now, opp),
        )
        state = {"state": outcome, "status_reason": reason, "actual_revenue": "0.00", "actual_close_date": d}
        audit.append((len(audit), "opportunity", opp, "close", open_state, json.dumps(state)))
        audit.append((len(audit), "opportunity_close", close, "create", None, json.dumps({"outcome": outcome})))
        conn.executemany(
            "INSERT INTO audit_entries (id, seq, at, user_id, record_type, record_id, opportunity_id, action, before, "
            "after) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (uuid.uuid4().hex, seq, now, user.hex, kind, record, opp, action, b, a)
                for seq, kind, record, action, b, a in audit
            ],
        )
        conn.execute("COMMIT")
        latencies.append((time.perf_counter_ns() - began) // 1000)
    seconds = time.perf_counter() - started
    conn.close()
    return seconds, latencies
