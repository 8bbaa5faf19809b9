"""Typer commands. Each calls the same use cases as the API; one place maps refusals to exit codes:
0 done, 1 refused by a rule (stderr names the code), 2 bad usage or bad input, 3 the database could not be reached
or used."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, TypeVar
from uuid import UUID

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError

from dealdesk.cli import backup, moving
from dealdesk.cli.refusals import EXIT_DATABASE, EXIT_REFUSED, err, refusals
from dealdesk.cli.users import users_app
from dealdesk.config import Settings
from dealdesk.db.engine import make_engine
from dealdesk.db.migrate import RowsBreakNewRules, upgrade
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.access import Actor
from dealdesk.domain.closing import CloseDetails
from dealdesk.domain.errors import RetryLater
from dealdesk.domain.states import OpportunityStatus, Outcome, QuoteStatus
from dealdesk.domain.values import check_money, parse_decimal_text, parse_iso_date
from dealdesk.services import closing

app = typer.Typer(
    help="dealdesk: opportunities, project quotes and closing deals as Won or Lost.", no_args_is_help=True
)
db_app = typer.Typer(help="Database schema and upkeep.", no_args_is_help=True)
app.add_typer(db_app, name="db")
db_app.command("backup")(backup.backup_command)
app.add_typer(users_app, name="users")
app.command("export")(moving.export_command)
app.command("import")(moving.import_command)


class QuoteCloseReason(StrEnum):
    lost = "lost"
    canceled = "canceled"


class CloseOutcome(StrEnum):
    won = "won"
    lost = "lost"


class CliReason(StrEnum):
    won = "won"
    canceled = "canceled"
    out_sold = "out_sold"


Done = TypeVar("Done")


def unit_of_work(settings: Settings) -> tuple[SqlUnitOfWork, Actor]:
    uow = SqlUnitOfWork(
        make_engine(settings),
        SystemClock(settings.zone),
        idempotency_lease=timedelta(seconds=settings.idempotency_lease_s),  # bulk-close's implicit keys
    )
    with uow.transaction():
        actor = uow.users.ensure(settings.default_user, "admin")
    return uow, actor


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration (creates the schema on a new database), then sum the past months of closes
    that have no sums yet, so that the win/loss report is as fast after an upgrade as before it."""
    from dealdesk.services.housekeeping import sum_past_months

    settings = Settings()
    engine = make_engine(settings)
    try:
        upgrade(engine)
    except RowsBreakNewRules as refused:  # the migration changed nothing and names the rows to put right
        err.print(str(refused), markup=False, soft_wrap=True)  # one row a line, however narrow the terminal
        raise typer.Exit(EXIT_REFUSED) from None
    finally:
        engine.dispose()
    err.print(f"database at {engine.url.render_as_string(hide_password=True)} is up to date")
    summed = _on_the_database(sum_past_months)
    if summed:
        err.print(f"summed {summed} months of closes for the win/loss report")


def _on_the_database(task: Callable[[SqlUnitOfWork], Done]) -> Done:
    """A housekeeping task on the configured database, its refusals mapped to exit codes."""
    settings = Settings()
    engine = make_engine(settings)
    try:
        with refusals():
            return task(SqlUnitOfWork(engine, SystemClock(settings.zone)))
    finally:
        engine.dispose()


@db_app.command("prune")
def db_prune() -> None:
    """Delete expired sessions, sign-in rate-limit counters and idempotency keys, in short batches."""
    from dealdesk.services.housekeeping import prune

    pruned = _on_the_database(prune)
    err.print("pruned " + ", ".join(f"{count} {kind.replace('_', ' ')}" for kind, count in pruned.items()))


@db_app.command("summarise")
def db_summarise() -> None:
    """Sum every month of closes that is over and not summed yet (or stale), for the win/loss report. Servers do
    this a few months at a time on their own; run it after an upgrade or a large import to have it done at once."""
    from dealdesk.services.housekeeping import sum_past_months

    summed = _on_the_database(sum_past_months)
    err.print(f"summed {summed} months of closes")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes, about one per core (stateless; share the database)")
    ] = 1,
    access_log: Annotated[bool, typer.Option(help="Log every request (costs CPU; a proxy can log instead)")] = False,
    certfile: Annotated[
        Path | None, typer.Option(help="Serve HTTPS with this certificate chain (PEM); needs --keyfile")
    ] = None,
    keyfile: Annotated[Path | None, typer.Option(help="The certificate's private key (PEM)")] = None,
) -> None:
    """Serve the web UI and the JSON API (docs at /docs) with the production settings: uvloop, httptools, and a
    listening socket per worker so that the kernel spreads connections over the workers. With --certfile and
    --keyfile every worker serves HTTPS directly (small installs; clients that insist on HTTPS)."""
    from dealdesk.web.serving import Tls
    from dealdesk.web.serving import serve as serve_app

    if (certfile is None) != (keyfile is None):
        err.print("serve: give both --certfile and --keyfile, or neither")
        raise typer.Exit(2)
    tls = None
    if certfile is not None and keyfile is not None:
        for path in (certfile, keyfile):
            if not path.is_file():
                err.print(f"serve: {path} is not a readable file")
                raise typer.Exit(2)
        tls = Tls(certfile=str(certfile), keyfile=str(keyfile))
    raise typer.Exit(serve_app(host, port, workers=workers, access_log=access_log, tls=tls))


@app.command()
def demo() -> None:
    """Load a realistic demo data set (accounts, competitors, ~30 opportunities in every state)."""
    from dealdesk.cli.demo import load_demo

    settings = Settings()
    uow, actor = unit_of_work(settings)
    with refusals():
        created = load_demo(uow, actor)
    if created:
        from dealdesk.cli.demo import DEMO_USERS

        err.print(f"demo data loaded: {created} opportunities. Sign in to the web UI as:")
        for name, role, password in DEMO_USERS:
            err.print(f"  {name:<6} password {password:<16} ({role.value})")
    else:
        err.print("demo data already present: nothing to do")


def _parse_money(text: str | None, field: str) -> Decimal | None:
    if text is None:
        return None
    return check_money(parse_decimal_text(text, field=field), field=field)


def _close_details(
    uow: SqlUnitOfWork,
    outcome: CloseOutcome,
    reason: CliReason | None,
    close_date: str | None,
    competitor: UUID | None,
    close_reason: UUID | None,
    description: str | None,
    close_quotes: QuoteCloseReason | None,
    *,
    revenue: str | None = None,
) -> CloseDetails:
    """The Close dialog's fields as the command line gives them (the date defaults to today)."""
    return CloseDetails(
        outcome=Outcome(outcome.value),
        status_reason=OpportunityStatus(reason.value) if reason else None,
        close_date=parse_iso_date(close_date, field="date") if close_date else uow.clock.today(),
        actual_revenue=_parse_money(revenue, "revenue"),
        competitor_id=competitor,
        close_reason_id=close_reason,
        description=description,
        close_quotes=QuoteStatus(close_quotes.value) if close_quotes else None,
    )


@app.command("close")
def close_command(
    opportunity_id: Annotated[UUID, typer.Argument(help="Opportunity id")],
    outcome: Annotated[CloseOutcome, typer.Option(help="won or lost")],
    reason: Annotated[CliReason | None, typer.Option(help="Status reason: won, canceled or out_sold")] = None,
    close_date: Annotated[str | None, typer.Option("--date", help="Close date YYYY-MM-DD (default today)")] = None,
    revenue: Annotated[
        str | None,
        typer.Option(help="Actual revenue (default: the won quote's total, else the estimate; 0.00 when lost)"),
    ] = None,
    competitor: Annotated[UUID | None, typer.Option(help="Competitor id")] = None,
    close_reason: Annotated[UUID | None, typer.Option(help="Close reason (catalogue) id")] = None,
    description: Annotated[str | None, typer.Option(help="Why")] = None,
    close_quotes: Annotated[
        QuoteCloseReason | None, typer.Option(help="Also close every active and draft quote with this reason")
    ] = None,
) -> None:
    """Close one opportunity as won or lost."""
    settings = Settings()
    uow, actor = unit_of_work(settings)
    with refusals():
        details = _close_details(
            uow, outcome, reason, close_date, competitor, close_reason, description, close_quotes, revenue=revenue
        )
        result = closing.close_opportunity(uow, opportunity_id, details, actor=actor)
    quotes = ", ".join(
        f"{q.number} rev {q.revision} ({q.previous_state.value} -> {q.status_reason.value})"
        for q in result.closed_quotes
    )
    typer.echo(
        json.dumps(
            {
                "id": str(result.opportunity.id),
                "state": result.opportunity.state.value,
                "status_reason": result.opportunity.status_reason.value,
                "actual_revenue": f"{result.opportunity.actual_revenue:.2f}",
                "close_id": str(result.close.id),
                "closed_quotes": quotes,
            }
        )
    )


@app.command("bulk-close")
def bulk_close_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV with an `id` column")],
    outcome: Annotated[CloseOutcome, typer.Option(help="won or lost")],
    reason: Annotated[CliReason | None, typer.Option(help="Status reason: won, canceled or out_sold")] = None,
    close_date: Annotated[str | None, typer.Option("--date", help="Close date YYYY-MM-DD (default today)")] = None,
    competitor: Annotated[UUID | None, typer.Option(help="Competitor id")] = None,
    close_reason: Annotated[UUID | None, typer.Option(help="Close reason (catalogue) id")] = None,
    description: Annotated[str | None, typer.Option(help="Why")] = None,
    close_quotes: Annotated[
        QuoteCloseReason | None, typer.Option(help="Also close every active and draft quote with this reason")
    ] = None,
    results: Annotated[Path | None, typer.Option(help="Where per-row results go (default FILE.results.csv)")] = None,
) -> None:
    """Close every opportunity listed in FILE; each closes or is refused on its own. Exit 1 if any was refused.
    Results are written as each batch of 500 commits: if the run is killed, its results file lacks at most the
    batch in flight. Run the same command again (same file, options and user; within 24 h and, without --date, on
    the same day) and it is the same bulk close: its results report every row, deals the first run closed as
    closed, and it finishes the rest."""
    from dealdesk.cli.bulk import run_bulk_close

    settings = Settings()
    uow, actor = unit_of_work(settings)
    with refusals():
        details = _close_details(uow, outcome, reason, close_date, competitor, close_reason, description, close_quotes)
        out = results or file.with_suffix(".results.csv")
        closed, failed = run_bulk_close(uow, actor, file, out, details, console=err)
    err.print(f"closed {closed}, refused {failed}; results in {out}")
    if failed:
        raise typer.Exit(EXIT_REFUSED)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)
    except RetryLater as error:  # raised outside a command's own `refusals()`, e.g. while finding its user
        err.print(f"[bold red]{error.code}[/]: {error.detail}")
        sys.exit(EXIT_DATABASE)
    except (OperationalError, ProgrammingError) as error:
        # The usual cause: a database that was never migrated, or one that does not answer.
        err.print(f"[bold red]database_error[/]: {error.orig}")
        err.print("Is DEALDESK_DATABASE_URL right, and has `dealdesk db upgrade` been run on it?")
        sys.exit(EXIT_DATABASE)
