"""Settings from DEALDESK_* environment variables. Nothing else reads the environment."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network, ip_network
from urllib.parse import urlsplit
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
    metrics_allow: str = "127.0.0.0/8,::1"
    """Who may read /metrics: addresses or CIDRs, comma-separated (judged after the trusted proxies)."""
    access_log: bool = False
    """One JSON log line per request (`dealdesk serve --access-log` sets it for its workers)."""
    public_url: str | None = None
    """The address clients reach dealdesk at (e.g. `https://deals.example.com`): absolute links in answers, such as
    Dataverse's `@odata.context` and `@odata.nextLink`, are built from it, never from the request's Host header.
    Unset, those links are relative."""

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parsed = urlsplit(value.strip())
        if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
            raise ValueError(
                "must be an absolute http(s) URL without query or fragment, e.g. https://deals.example.com"
            )
        return value.strip().rstrip("/")

    trusted_proxies: str = ""
    """Comma-separated addresses or CIDR networks of the reverse proxies in front of dealdesk. Only a request from
    one of them has its X-Forwarded-For / X-Forwarded-Proto believed; by default nobody's is."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                try:
                    ip_network(part.strip(), strict=False)
                except ValueError as exc:
                    raise ValueError(f"not an address or CIDR: {part.strip()!r}") from exc
        return value

    @property
    def metrics_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(ip_network(part.strip(), strict=False) for part in self.metrics_allow.split(",") if part.strip())

    @field_validator("trusted_proxies")
    @classmethod
    def _addresses_or_networks(cls, value: str) -> str:
        for entry in _entries(value):
            try:
                ip_network(entry, strict=False)
            except ValueError as exc:
                raise ValueError(f"not an address or CIDR network: {entry!r}") from exc
        return value

    @property
    def trusted_proxy_list(self) -> list[str]:
        return _entries(self.trusted_proxies)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def _entries(value: str) -> list[str]:
    return [entry.strip() for entry in value.split(",") if entry.strip()]
