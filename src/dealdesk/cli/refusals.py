"""The CLI's one place where refusals become exit codes: 1 refused by a rule, 2 bad input (stderr names the code)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.console import Console

from dealdesk.domain.errors import DomainError

EXIT_REFUSED = 1
EXIT_USAGE = 2
err = Console(stderr=True)


@contextmanager
def refusals() -> Iterator[None]:
    try:
        yield
    except DomainError as error:
        err.print(f"[bold red]{error.code}[/]: {error.detail}")
        raise typer.Exit(EXIT_USAGE if error.code == "validation_error" else EXIT_REFUSED) from error
