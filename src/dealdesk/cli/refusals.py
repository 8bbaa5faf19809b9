"""The CLI's one place where refusals become exit codes: 1 refused by a rule, 2 bad input, 3 the database could not
be reached or used (stderr names the code)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from dealdesk.domain.errors import DomainError, RetryLater

EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_DATABASE = 3
err = Console(stderr=True)


@contextmanager
def refusals() -> Iterator[None]:
    try:
        yield
    except DomainError as error:
        err.print(f"[bold red]{error.code}[/]: {error.detail}")
        raise typer.Exit(exit_code(error)) from error


def exit_code(error: DomainError) -> int:
    if isinstance(error, RetryLater):  # busy or unreachable: nothing the command asked for was refused
        return EXIT_DATABASE
    return EXIT_USAGE if error.code == "validation_error" else EXIT_REFUSED
