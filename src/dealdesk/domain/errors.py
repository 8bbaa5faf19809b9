"""Domain errors. Each has a stable `code` that adapters map to HTTP statuses and CLI exit codes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar


class DomainError(Exception):
    """A request refused by a rule. `code` is part of the public contract."""

    code: ClassVar[str] = "domain_error"
    title: ClassVar[str] = "Refused"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def extensions(self) -> dict[str, Any]:
        """Extra facts a client can act on, added to the problem document."""
        return {}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ValidationFailed(DomainError):
    code = "validation_error"
    title = "Invalid input"

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in self.errors))

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls([FieldError(field, message)])

    def extensions(self) -> dict[str, Any]:
        return {"errors": [{"field": e.field, "message": e.message} for e in self.errors]}


class NotFound(DomainError):
    code = "not_found"
    title = "Not found"

    def __init__(self, record_type: str, record_id: object) -> None:
        super().__init__(f"{record_type} {record_id} does not exist")
        self.record_type = record_type


class Duplicate(DomainError):
    code = "duplicate"
    title = "Duplicate"


class InvalidTransition(DomainError):
    code = "invalid_transition"
    title = "Not allowed in this state"


class OpportunityNotOpen(DomainError):
    code = "opportunity_not_open"
    title = "Opportunity is not open"


@dataclass(frozen=True)
class QuoteRef:
    """How a refusal names a quote: enough for a person to find it."""

    id: str
    number: str
    revision: int
    name: str


class ActiveQuotesBlockClose(DomainError):
    code = "active_quotes_block_close"
    title = "Active quotes block the close"

    def __init__(self, blocking: Sequence[QuoteRef]) -> None:
        self.blocking_quotes = list(blocking)
        names = ", ".join(f"{q.number} rev {q.revision}" for q in self.blocking_quotes)
        super().__init__(
            f"The opportunity has {len(self.blocking_quotes)} active quote(s): {names}. "
            "Close them first, or close with close_quotes."
        )

    def extensions(self) -> dict[str, Any]:
        return {
            "blocking_quotes": [
                {"id": q.id, "number": q.number, "revision": q.revision, "name": q.name} for q in self.blocking_quotes
            ]
        }


class WonQuoteRequiresWonClose(DomainError):
    code = "won_quote_requires_won_close"
    title = "A won quote requires a won close"


class WonQuoteExists(DomainError):
    code = "won_quote_exists"
    title = "The opportunity already has a won quote"


class QuoteHasNoLines(DomainError):
    code = "quote_has_no_lines"
    title = "Quote has no lines"


class QuoteTotalNegative(DomainError):
    code = "quote_total_negative"
    title = "Quote total is negative"


class QuoteExpired(DomainError):
    """The quote's `valid_until` is before today: move it first (or, to win it anyway, accept it as expired)."""

    code = "quote_expired"
    title = "Quote has expired"


class PreconditionFailed(DomainError):
    code = "precondition_failed"
    title = "Precondition failed"


class Forbidden(DomainError):
    code = "forbidden"
    title = "Forbidden"


class Unauthenticated(DomainError):
    code = "unauthenticated"
    title = "Unauthenticated"


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    title = "Idempotency key reused with another request"


class RateLimited(DomainError):
    code = "rate_limited"
    title = "Too many attempts"


class RetryLater(DomainError):
    """A request that could not be done now but may succeed if sent again after `retry_after` seconds."""

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


class IdempotencyKeyInProgress(RetryLater):
    code = "idempotency_key_in_progress"
    title = "A request with this Idempotency-Key is still running"


class Busy(RetryLater):
    code = "busy"
    title = "The database is busy"


class DatabaseUnavailable(RetryLater):
    code = "database_unavailable"
    title = "The database cannot be reached"


class UserDisabled(DomainError):
    """`users disable` was run for the user: nothing new is issued to them until `users enable`."""

    code = "user_disabled"
    title = "User is disabled"


class ChangedWhileImporting(DomainError):
    """An import checks every row before it writes (without holding SQLite's writer); a record that someone else
    made or removed in between is found when the import writes, and the whole import is refused (SPEC §6, I5)."""

    code = "changed_while_importing"
    title = "Records changed while the file was imported"
