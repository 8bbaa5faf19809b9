"""The operations suite starts real `dealdesk serve` processes on databases from the trust suite's fixtures."""

from __future__ import annotations

from tests.trust.conftest import postgres_database, sqlite_database

__all__ = ["postgres_database", "sqlite_database"]
