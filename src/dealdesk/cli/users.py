"""`dealdesk users`: people, roles and API tokens. Run on the server by an administrator."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dealdesk.cli.refusals import EXIT_USAGE, refusals
from dealdesk.config import Settings
from dealdesk.db.engine import make_engine
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.states import Role
from dealdesk.services import auth

users_app = typer.Typer(help="Users, roles and API tokens.", no_args_is_help=True)
err = Console(stderr=True)


def _uow() -> SqlUnitOfWork:
    settings = Settings()
    return SqlUnitOfWork(make_engine(settings), SystemClock(settings.zone))


@users_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Sign-in name")],
    role: Annotated[Role, typer.Option(help="viewer, sales, manager or admin")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read a web UI password from stdin")] = False,
    days: Annotated[int, typer.Option(min=1, max=3650, help="Days until the token expires")] = 90,
) -> None:
    """Create a user. Prints the new API token as the only line on stdout (it is not shown again)."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with refusals():
        issued = auth.add_user(_uow(), name, role, password=password, token_days=days)
    typer.echo(issued.token)
    err.print(f"user {name} ({role.value}) created; the token above expires in {days} days")


@users_app.command("token")
def token(
    name: Annotated[str, typer.Argument(help="Sign-in name")],
    days: Annotated[int, typer.Option(min=1, max=3650, help="Days until the token expires")] = 90,
    label: Annotated[str | None, typer.Option(help="What the token is for")] = None,
) -> None:
    """Issue another API token for a user; prints it as the only line on stdout."""
    with refusals():
        typer.echo(auth.issue_token(_uow(), name, days=days, label=label))


@users_app.command("list")
def list_users() -> None:
    """Every user with role and status."""
    table = Table("name", "role", "active", "web password", "created")
    for user in auth.list_users(_uow()):
        table.add_row(
            user.name,
            user.role.value,
            "yes" if user.active else "no",
            "set" if user.password_hash else "-",
            user.created_at.date().isoformat(),
        )
    Console().print(table)


@users_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="Sign-in name")]) -> None:
    """Revoke every API token of the user and end their web sessions."""
    with refusals():
        count = auth.revoke(_uow(), name)
    err.print(f"revoked {count} token(s) of {name}; their web sessions are ended")


@users_app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="Sign-in name")]) -> None:
    """Lock the user out until `users enable`: revoke every token, end every session, refuse every sign-in."""
    with refusals():
        count = auth.disable(_uow(), name)
    err.print(f"{name} is disabled: {count} token(s) revoked, web sessions ended, sign-in refused")


@users_app.command("enable")
def enable(name: Annotated[str, typer.Argument(help="Sign-in name")]) -> None:
    """Let a disabled user sign in again with their password (issue a new token with `users token`)."""
    with refusals():
        auth.enable(_uow(), name)
    err.print(f"{name} is enabled")


@users_app.command("password")
def password(
    name: Annotated[str, typer.Argument(help="Sign-in name")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the new password from stdin")] = False,
) -> None:
    """Set a new web UI password (at least 12 characters, read from stdin) and end the user's web sessions."""
    if not password_stdin:
        err.print("give the new password on stdin with --password-stdin (never on the command line)")
        raise typer.Exit(EXIT_USAGE)
    new_password = sys.stdin.readline().rstrip("\n")
    with refusals():
        auth.set_password(_uow(), name, new_password)
    err.print(f"password of {name} set; their web sessions are ended")
