"""What the use cases need from persistence, as protocols. The db adapter implements them."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from dealdesk.domain.access import Actor
from dealdesk.domain.close_policy import ClosePolicy
from dealdesk.domain.closing import OpportunityClose
from dealdesk.domain.opportunity import Opportunity
from dealdesk.domain.quote import Quote
from dealdesk.domain.records import Account, Change, CloseReason, Competitor, Contract
from dealdesk.domain.reporting import CloseGroup, OwnerGroup, QuoteLossGroup
from dealdesk.domain.states import OpportunityState, Outcome
from dealdesk.domain.users import User
from dealdesk.services.record_queries import RecordQueries

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a keyset-paginated list; `next_cursor` is None on the last page."""

    items: Sequence[T]
    next_cursor: str | None


@dataclass(frozen=True)
class OpportunityFilter:
    state: OpportunityState | None = None
    account_id: UUID | None = None
    owner_id: UUID | None = None
    q: str | None = None


@dataclass(frozen=True)
class AuditEntry:
    id: UUID
    at: datetime
    user_id: UUID
    record_type: str
    record_id: UUID
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


@dataclass(frozen=True)
class StoredAnswer:
    """The answer an idempotent request got the first time, replayed for a repeat."""

    status_code: int
    body: bytes


@dataclass(frozen=True)
class IdempotencyRequest:
    """`Idempotency-Key` as scoped by SPEC §7: per user and path; the fingerprint is of the body."""

    user_id: UUID
    scope: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class KeptAnswer:
    """An answer to store under its Idempotency-Key, written with the change it answers."""

    request: IdempotencyRequest
    answer: StoredAnswer
    at: datetime


class Clock(Protocol):
    def now(self) -> datetime: ...
    def today(self) -> date:
        """Today in the business time zone."""
        ...

    def date_of(self, moment: datetime) -> date:
        """The calendar date of a moment in the business time zone."""
        ...


@dataclass(frozen=True)
class LockedForClose:
    """A deal under its row lock, with what closing it reads besides."""

    opportunity: Opportunity
    policy: ClosePolicy
    kept: tuple[str, StoredAnswer] | None
    """The fingerprint and answer kept under the request's Idempotency-Key (IdempotencyStore.find), if any."""


class OpportunityRepository(Protocol):
    def lock(self, opportunity_id: UUID, *, lines_of: Sequence[UUID] | None = None) -> Opportunity:
        """Load the aggregate with its row lock held to the end of the transaction. NotFound if missing."""
        ...

    def lock_for_close(self, opportunity_id: UUID, *, idempotency: IdempotencyRequest | None) -> LockedForClose:
        """`lock`, with the close policy and the answer kept under `idempotency`, read after the lock is taken
        (in one round trip on PostgreSQL: the close is the busiest write)."""
        ...

    def lock_many(self, opportunity_ids: Sequence[UUID]) -> dict[UUID, Opportunity]:
        """Several aggregates (without quote lines) under their row locks, taken in id order so that two batches over
        overlapping deals cannot deadlock. Ids that name no deal are left out."""
        ...

    def get(self, opportunity_id: UUID) -> Opportunity:
        """Load the aggregate for reading, with quotes (no lines) and its standing close."""
        ...

    def exists(self, opportunity_id: UUID) -> bool: ...
    def add(self, opportunity: Opportunity) -> None: ...
    def save(self, opportunity: Opportunity, *, by: UUID, answer: KeptAnswer | None = None) -> None:
        """Write, before returning, what changed in the aggregate since it was loaded (deal, quotes, lines, close
        records), one audit entry by `by` per change it lists (which it then clears) and `answer`, together."""
        ...

    def save_many(self, opportunities: Sequence[Opportunity], *, by: UUID) -> None:
        """`save` for several aggregates at once (a bulk close's batch)."""
        ...

    def list(self, where: OpportunityFilter, *, limit: int, cursor: str | None) -> Page[Opportunity]: ...
    def forget(self) -> None:
        """Drop what was kept of the aggregates loaded so far (a long import calls it after each save)."""
        ...


class QuoteRepository(Protocol):
    def get(self, quote_id: UUID) -> Quote:
        """A quote with its lines; NotFound if missing."""
        ...

    def opportunity_id_of(self, quote_id: UUID) -> UUID: ...
    def list_for(
        self, opportunity_id: UUID, *, limit: int, cursor: str | None, expiry: tuple[bool, date] | None = None
    ) -> Page[Quote]:
        """`expiry` (expired?, today) keeps the quotes that are, or are not, expired on that day."""
        ...

    def next_number(self) -> str:
        """A fresh human-readable quote number, e.g. Q-00042."""
        ...


class CloseRepository(Protocol):
    def get(self, close_id: UUID) -> OpportunityClose: ...
    def list_for(self, opportunity_id: UUID, *, limit: int, cursor: str | None) -> Page[OpportunityClose]: ...
    def save(self, record: OpportunityClose) -> None: ...


class AccountRepository(Protocol):
    def add(self, account: Account) -> None: ...
    def get(self, account_id: UUID) -> Account: ...
    def exists(self, account_id: UUID) -> bool: ...
    def list(self, *, limit: int, cursor: str | None) -> Page[Account]: ...
    def save(self, account: Account) -> None: ...


class CompetitorRepository(Protocol):
    def add(self, competitor: Competitor) -> None:
        """Duplicate if the name exists case-insensitively."""
        ...

    def exists(self, competitor_id: UUID) -> bool: ...
    def find(self, competitor_id: UUID) -> Competitor | None: ...
    def list(self, *, active: bool | None = None, limit: int, cursor: str | None) -> Page[Competitor]:
        """In name order; `active` keeps only the active (True) or deactivated (False) ones."""
        ...

    def get(self, competitor_id: UUID) -> Competitor: ...
    def save(self, competitor: Competitor) -> None:
        """Raises Duplicate when another competitor already has the name (case-insensitively)."""
        ...


class CloseReasonRepository(Protocol):
    def add(self, reason: CloseReason) -> None: ...
    def find(self, reason_id: UUID) -> CloseReason | None: ...
    def save(self, reason: CloseReason) -> None: ...
    def list(self, *, outcome: Outcome | None, limit: int, cursor: str | None) -> Page[CloseReason]: ...


class ContractRepository(Protocol):
    def get(self, contract_id: UUID) -> Contract: ...
    def add(self, contract: Contract) -> None: ...


class AuditLog(Protocol):
    def record(self, changes: Sequence[Change], *, by: UUID, at: datetime, opportunity_id: UUID | None = None) -> None:
        """One entry per change; `opportunity_id` names the deal they belong to, for its history."""
        ...

    def list_for(self, record_id: UUID, *, limit: int, cursor: str | None) -> Page[AuditEntry]: ...
    def list_for_opportunity(self, opportunity_id: UUID, *, limit: int, cursor: str | None) -> Page[AuditEntry]:
        """Everything that happened to a deal: the opportunity, its quotes, close records and contract."""
        ...


class IdempotencyStore(Protocol):
    def find(self, request: IdempotencyRequest) -> tuple[str, StoredAnswer] | None:
        """The fingerprint and answer stored under this key, if any (and not expired)."""
        ...

    def remember(self, request: IdempotencyRequest, answer: StoredAnswer, *, at: datetime) -> None: ...


@dataclass(frozen=True)
class RunClaim:
    """A key claimed by this run of its request. `progress` is what an earlier run of the same request, whose
    lease lapsed (its server died), had done and committed; None for a first run."""

    owner: UUID
    progress: bytes | None


class IdempotencyRuns(Protocol):
    """Requests under an Idempotency-Key while they run: one execution per key, even across server processes."""

    def claim(self, request: IdempotencyRequest) -> RunClaim:
        """Claim the key with a lease, or take over a run whose lease lapsed. IdempotencyKeyInProgress while
        another run holds a live lease; IdempotencyKeyReused if that run is of another body."""
        ...

    def hold(self, request: IdempotencyRequest, claim: RunClaim) -> None:
        """Renew the lease inside the transaction about to do part of the run, which keeps it until it ends;
        IdempotencyKeyInProgress if another run has taken the key over."""
        ...

    def record_progress(self, request: IdempotencyRequest, claim: RunClaim, progress: bytes) -> None:
        """What the run has done so far, in the transaction that did it."""
        ...

    def finish(self, request: IdempotencyRequest, claim: RunClaim) -> None:
        """The run is over (its answer is stored in the same transaction)."""
        ...

    def kept_alive(self, request: IdempotencyRequest, claim: RunClaim) -> AbstractContextManager[None]:
        """Renews the lease every few seconds, from a connection of its own, while the block runs."""
        ...


class Housekeeping(Protocol):
    def prune(self, kind: str, *, before: datetime, limit: int) -> int:
        """Delete at most `limit` rows of `kind` (sessions, rate_limits, idempotency_keys, idempotency_runs)
        whose time is before `before`; answers how many went."""
        ...


class CloseSummaries(Protocol):
    """The sums of the months that are over, which the win/loss report reads instead of their closes."""

    def months_to_sum(self, *, before: date) -> list[date]:
        """Months before `before` that hold close records and have no sums yet, or stale ones, oldest first."""
        ...

    def sum_month(self, month: date, *, at: datetime) -> None:
        """(Re)write the month's sums from its standing closes and clear its stale mark."""
        ...


class UserDirectory(Protocol):
    def ensure(self, name: str, role: str) -> Actor:
        """The user of that name, created with that role if missing."""
        ...

    def add(self, user: User) -> None:
        """Duplicate if the name is taken."""
        ...

    def find(self, name: str) -> User | None: ...
    def get(self, user_id: UUID) -> User | None: ...
    def list(self) -> Sequence[User]: ...
    def page(self, *, limit: int, cursor: str | None) -> Page[User]:
        """Users in name order, a page at a time."""
        ...

    def set_active(self, user_id: UUID, active: bool, *, at: datetime) -> None: ...
    def set_password_hash(self, user_id: UUID, password_hash: str, *, at: datetime) -> None: ...


@dataclass(frozen=True)
class Session:
    actor: Actor
    csrf_token: str


class CredentialStore(Protocol):
    """Tokens and sessions are looked up by the SHA-256 digest of what the client holds."""

    def add_token(
        self, *, token_id: UUID, user_id: UUID, digest: str, label: str | None, at: datetime, expires_at: datetime
    ) -> None: ...
    def actor_for_token(self, digest: str, *, now: datetime) -> Actor | None:
        """The active user holding this unexpired, unrevoked token."""
        ...

    def revoke_tokens(self, user_id: UUID, *, at: datetime) -> int: ...
    def add_session(
        self, *, digest: str, user_id: UUID, csrf_token: str, at: datetime, expires_at: datetime
    ) -> None: ...
    def session(self, digest: str, *, now: datetime) -> Session | None: ...
    def end_session(self, digest: str) -> None: ...
    def end_sessions_of(self, user_id: UUID, *, except_digest: str | None = None) -> None: ...
    def reserve_attempt(self, limits: Mapping[str, int], *, at: datetime, since: datetime) -> bool:
        """Atomically across processes: if every key has fewer attempts than its limit recorded after `since`,
        record one more for each at `at` and answer True; else record nothing and answer False."""
        ...

    def release_attempt(self, keys: Collection[str], *, at: datetime) -> None:
        """Take back the attempts recorded at `at` under these keys."""
        ...


class ReportQueries(Protocol):
    """Aggregates over standing close records; `where` is a services.reports.ReportFilter."""

    def standing_counts_by_currency(self, where: Any) -> dict[str, int]: ...
    def close_groups(self, where: Any, currency: str) -> list[CloseGroup]: ...
    def reopened_count(self, where: Any, currency: str) -> int: ...
    def owner_groups(self, where: Any, currency: str) -> list[OwnerGroup]: ...
    def quote_losses(self, where: Any, currency: str) -> list[QuoteLossGroup]: ...
    def user_names(self, ids: set[UUID]) -> dict[UUID, str]: ...
    def close_reason_names(self, ids: set[UUID]) -> dict[UUID, tuple[str, Outcome]]: ...
    def competitor_names(self, ids: set[UUID]) -> dict[UUID, str]: ...


class ViewQueries(Protocol):
    """Read models for screens; see services/views.py."""

    def names_of_users(self, ids: Sequence[UUID]) -> dict[UUID, str]: ...
    def names_of_opportunities(self, ids: Sequence[UUID]) -> dict[UUID, str]: ...
    def account_names(self) -> dict[UUID, str]:
        """Every account, in name order."""
        ...

    def accounts_matching(self, q: str, *, limit: int) -> dict[UUID, str]:
        """Accounts whose name contains `q` (case-insensitively), names starting with it first."""
        ...

    def competitor_names(self) -> dict[UUID, str]:
        """Every competitor, in name order."""
        ...

    def close_reason_names(self) -> dict[UUID, str]:
        """Every close reason, retired ones too: old close records still name them."""
        ...

    def opportunities_sorted(
        self, where: OpportunityFilter, *, sort: str, descending: bool, offset: int, limit: int
    ) -> tuple[Sequence[Opportunity], int]:
        """One page of matching opportunities and how many match in all. `sort` is one of created_at, name,
        account, estimated_revenue, close_date (actual, else estimated) or state; ties go newest first."""
        ...

    def active_quote_counts(self, ids: Sequence[UUID]) -> dict[UUID, int]:
        """How many active quotes each opportunity has (those without any are left out)."""
        ...

    def expired_quote_counts(self, ids: Sequence[UUID], today: date) -> dict[UUID, int]:
        """How many draft or active quotes of each deal are past their `valid_until` on `today`."""
        ...


@dataclass(frozen=True)
class PreparedRows:
    """New rows of one table, made ready for the database in use while an import checks its file, so that writing
    them is a bare insert (SQLite's one writer is held only for that). Picklable, to be spooled."""

    table: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


class MovingStore(Protocol):
    """Bulk reads and writes of CSV export and import (services/exporting.py, services/importing.py).

    `kind` is a services.moving.Kind. A reference is an external id, or else a dealdesk id."""

    def count(self, kind: str) -> int:
        """How many rows an export of the kind writes (quotes take one per line)."""
        ...

    def export_rows(self, kind: str) -> Iterator[dict[str, Any]]:
        """Every record of the kind as export columns (services.moving.COLUMNS), oldest first, streamed."""
        ...

    def find(self, kind: str, refs: Collection[str]) -> dict[str, dict[str, Any]]:
        """The records these references name, each as its table row (with `id`), keyed by the reference."""
        ...

    def user_ids(self, names: Collection[str]) -> dict[str, UUID]: ...
    def prepare_accounts(self, accounts: Sequence[tuple[Account, str]]) -> PreparedRows:
        """New accounts with their external ids, made ready to insert (`insert_prepared`)."""
        ...

    def prepare_opportunities(self, opportunities: Sequence[tuple[Opportunity, str]]) -> PreparedRows:
        """New opportunities (no quotes yet) with their external ids, made ready to insert."""
        ...

    def prepare_audit(self, changes: Sequence[tuple[Change, UUID | None]], *, by: UUID, at: datetime) -> PreparedRows:
        """Audit entries of these changes (each with the opportunity it belongs to), made ready to insert."""
        ...

    def insert_prepared(self, prepared: PreparedRows) -> None:
        """The prepared rows in one statement; ChangedWhileImporting when one's external id was taken since, or a
        record it refers to is gone."""
        ...

    def set_external_id(self, kind: str, record_id: UUID, external_id: str) -> None:
        """ChangedWhileImporting when another record took the external id since the import checked it."""
        ...

    def taken_competitor_names(self, names: Collection[str]) -> set[str]:
        """Which of these names competitors have already, case-insensitively (as casefolded keys)."""
        ...

    def taken_quote_numbers(self, numbers: Collection[str]) -> set[tuple[str, int]]:
        """Which (number, revision) pairs of these numbers exist already."""
        ...

    def keep_quote_numbers_above(self, number: int) -> None:
        """New quote numbers continue after imported ones (Q-00042 imported: the next new one is Q-00043)."""
        ...


class ClosePolicyStore(Protocol):
    def get(self) -> ClosePolicy:
        """The close policy in force (nothing required when none was ever set)."""
        ...

    def save(self, policy: ClosePolicy, *, at: datetime) -> None: ...


class UnitOfWork(Protocol):
    @property
    def opportunities(self) -> OpportunityRepository: ...
    @property
    def quotes(self) -> QuoteRepository: ...
    @property
    def closes(self) -> CloseRepository: ...
    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def competitors(self) -> CompetitorRepository: ...
    @property
    def close_reasons(self) -> CloseReasonRepository: ...
    @property
    def contracts(self) -> ContractRepository: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def idempotency(self) -> IdempotencyStore: ...
    @property
    def idempotency_runs(self) -> IdempotencyRuns: ...
    @property
    def housekeeping(self) -> Housekeeping: ...
    @property
    def close_summaries(self) -> CloseSummaries: ...
    @property
    def users(self) -> UserDirectory: ...
    @property
    def views(self) -> ViewQueries: ...

    @property
    def reports(self) -> ReportQueries: ...

    @property
    def credentials(self) -> CredentialStore: ...

    @property
    def records(self) -> RecordQueries: ...

    @property
    def close_policy(self) -> ClosePolicyStore: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def moving(self) -> MovingStore: ...

    def transaction(self, *, write: bool = True, one_statement: bool = False) -> AbstractContextManager[None]:
        """One database transaction: committed when the block ends, rolled back if it raises.

        `one_statement` promises a read of one statement (the bearer-token look-up of every API request): where the
        database allows, it runs on its own, without BEGIN and COMMIT, and sees what it would see first in a
        READ COMMITTED transaction.

        A write transaction takes the write lock up front on SQLite, so racing writers queue instead of
        failing with 'database is locked'."""
        ...
