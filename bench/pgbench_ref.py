"""The raw-SQL ceiling for one close: the same transaction the close use case runs, as a pgbench custom script.

Per transaction: BEGIN; lock the deal's row; read its quotes; (with close_quotes) close the active and draft quotes
in one UPDATE; update the deal; insert the close record; insert the audit rows (2, or 4 with the quotes); END.
It does less than an API request must: no bearer-token lookup, no idempotency row, no JSON in or out."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from uuid import UUID

from bench.seeding import CLOSE, OPPORTUNITY, QUOTE, BenchDb

Protocol = str  # "simple" or "prepared"


def find_pgbench() -> str | None:
    found = shutil.which("pgbench")
    if found:
        return found
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"), reverse=True):
        return str(candidate)
    return None


def _uid(kind: int, number: str) -> str:
    return f"('{kind:08x}-0000-4000-8000-' || lpad(to_hex({number}), 12, '0'))::uuid"


def script(*, user: UUID, close_date: date, first: int, per_client: int) -> str:
    """Client c closes deals first + c * per_client … first + (c + 1) * per_client - 1, in order."""
    d = close_date.isoformat()
    opp = _uid(OPPORTUNITY, ":k::bigint")
    close = _uid(CLOSE, ":k::bigint")
    quote0 = _uid(QUOTE, "2 * :k::bigint")
    quote1 = _uid(QUOTE, "2 * :k::bigint + 1")
    closing_values = f"currency, owner_id, account_id, '{user}', now(), created_at::date, now(), now()"
    close_columns = (
        "id, opportunity_id, outcome, status_reason, close_date, actual_revenue, "
        "currency, owner_id, account_id, closed_by, closed_at, opportunity_created_on, created_at, updated_at"
    )
    audit_columns = "id, seq, at, user_id, record_type, record_id, opportunity_id, action, before, after"

    def audit(seq: int, record_type: str, record: str, action: str, before: str | None, after: str) -> str:
        before_sql = "NULL" if before is None else f"'{before}'"
        return (
            f"(gen_random_uuid(), {seq}, now(), '{user}', '{record_type}', {record}, {opp}, '{action}', "
            f"{before_sql}, '{after}')"
        )

    def close_doc(outcome: str, reason: str, revenue: str) -> str:
        return (
            f'{{"outcome": "{outcome}", "status_reason": "{reason}", "close_reason_id": null, "close_date": "{d}", '
            f'"actual_revenue": "{revenue}", "currency": "USD", "competitor_id": null, "description": null, '
            f'"won_quote_id": null}}'
        )

    open_state = '{"state": "open", "status_reason": "in_progress", "actual_revenue": null, "actual_close_date": null}'
    lost_state = (
        f'{{"state": "lost", "status_reason": "out_sold", "actual_revenue": "0.00", "actual_close_date": "{d}"}}'
    )
    won_state = f'{{"state": "won", "status_reason": "won", "actual_revenue": "1000.00", "actual_close_date": "{d}"}}'
    lost_quote = '{"state": "closed", "status_reason": "lost"}'
    lines = [
        "\\set n :n + 1",
        f"\\set k {first} + :client_id * {per_client} + :n - 1",
        "BEGIN;",
        f"SELECT * FROM opportunities WHERE id = {opp} FOR UPDATE;",
        f"SELECT * FROM quotes WHERE opportunity_id = {opp} ORDER BY number, revision;",
        "\\if :k % 2 = 1",
        f"UPDATE quotes SET state = 'closed', status_reason = 'lost', closed_on = '{d}', version = version + 1, "
        f"updated_at = now() WHERE opportunity_id = {opp} AND state IN ('active', 'draft');",
        f"UPDATE opportunities SET state = 'lost', status_reason = 'out_sold', actual_revenue = 0, "
        f"actual_close_date = '{d}', version = version + 3, updated_at = now() WHERE id = {opp};",
        f"INSERT INTO opportunity_closes ({close_columns}) SELECT {close}, id, 'lost', 'out_sold', '{d}', 0, "
        f"{closing_values} FROM opportunities WHERE id = {opp};",
        f"INSERT INTO audit_entries ({audit_columns}) VALUES "
        + ", ".join(
            [
                audit(0, "quote", quote0, "close", '{"state": "active", "status_reason": "open"}', lost_quote),
                audit(1, "quote", quote1, "close", '{"state": "draft", "status_reason": "in_progress"}', lost_quote),
                audit(2, "opportunity", opp, "close", open_state, lost_state),
                audit(3, "opportunity_close", close, "create", None, close_doc("lost", "out_sold", "0.00")),
            ]
        )
        + ";",
        "\\else",
        f"UPDATE opportunities SET state = 'won', status_reason = 'won', actual_revenue = estimated_revenue, "
        f"actual_close_date = '{d}', version = version + 1, updated_at = now() WHERE id = {opp};",
        f"INSERT INTO opportunity_closes ({close_columns}) SELECT {close}, id, 'won', 'won', '{d}', "
        f"estimated_revenue, {closing_values} FROM opportunities WHERE id = {opp};",
        f"INSERT INTO audit_entries ({audit_columns}) VALUES "
        + ", ".join(
            [
                audit(0, "opportunity", opp, "close", open_state, won_state),
                audit(1, "opportunity_close", close, "create", None, close_doc("won", "won", "1000.00")),
            ]
        )
        + ";",
        "\\endif",
        "END;",
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class PgbenchResult:
    transactions: int
    failed: int
    tps: float
    latencies_us: list[int]
    output: str


def run(
    pgbench: str,
    db: BenchDb,
    *,
    clients: int,
    per_client: int,
    first: int,
    close_date: date,
    protocol: Protocol,
    seconds: float | None = None,
    text: str | None = None,
) -> PgbenchResult:
    """Runs `per_client` transactions per client, or, with `seconds`, as many as fit in that time (then
    `per_client` only bounds each client's range of deals). `text` replaces the product's close script."""
    with tempfile.TemporaryDirectory(prefix="dd_pgbench_") as work:
        path = Path(work) / "close.sql"
        path.write_text(text or script(user=db.actor.id, close_date=close_date, first=first, per_client=per_client))
        command = [
            pgbench,
            "--no-vacuum",
            f"--file={path}",
            f"--client={clients}",
            f"--jobs={min(clients, 2)}",
            f"--time={round(seconds)}" if seconds else f"--transactions={per_client}",
            "--define=n=0",
            f"--protocol={protocol}",
            "--log",
            f"--log-prefix={Path(work) / 'tx'}",
        ]
        done = subprocess.run(
            command, env={**os.environ, **db.libpq()}, capture_output=True, text=True, check=False, cwd=work
        )
        output = done.stdout + done.stderr
        if done.returncode != 0:
            raise RuntimeError(f"pgbench failed ({done.returncode}):\n{output}")
        latencies = []
        for log in Path(work).glob("tx*"):
            for line in log.read_text().splitlines():
                fields = line.split()
                if len(fields) >= 3 and fields[2].isdigit():
                    latencies.append(int(fields[2]))
    tps = float(_field(r"tps = ([\d.]+) \(without initial connection time\)", output))
    processed = int(_field(r"number of transactions actually processed: (\d+)", output))
    failed_text = re.search(r"number of failed transactions: (\d+)", output)
    return PgbenchResult(processed, int(failed_text.group(1)) if failed_text else 0, tps, latencies, output)


def _field(pattern: str, output: str) -> str:
    match = re.search(pattern, output)
    if match is None:
        raise RuntimeError(f"pgbench output lacks {pattern!r}:\n{output}")
    return match.group(1)
