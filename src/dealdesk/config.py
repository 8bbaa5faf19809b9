"""Settings from DEALDESK_* environment variables. Nothing else reads the environment."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DEALDESK_", extra="ignore")

    database_url: str = "sqlite:///dealdesk.db"
    """SQLAlchemy URL. PostgreSQL is `postgresql+psycopg://user@host:5432/db`."""
    timezone: str = "UTC"
    """Business time zone: 'today' and 'in the future' are judged here."""
    default_user: str = "admin"
    """Who the CLI acts as (created as an admin on first use): CLI commands run on the server itself."""
    sqlite_busy_timeout_ms: int = 30_000
    """How long a SQLite writer waits for the write lock before giving up."""
    pool_size: int = 10
    prune_every_s: float = 600.0
    """About how often each server deletes expired sessions, sign-in counters and idempotency keys (0: never)."""
    idempotency_lease_s: float = 15.0
    """How long a request under an Idempotency-Key holds the key without renewing it (it renews it every third of
    that while it runs): a retry after a server died waits at most this long before it resumes the work."""
    max_body_bytes: int = 1_048_576

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
