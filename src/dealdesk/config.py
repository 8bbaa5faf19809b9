"""Settings from DEALDESK_* environment variables. Nothing else reads the environment."""

from __future__ import annotations

from ipaddress import ip_network
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
    max_body_bytes: int = 1_048_576
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
