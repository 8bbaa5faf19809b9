"""Tokens, sessions and shared rate-limit counters in SQL."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from uuid import UUID

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from dealdesk.db import hot_path
from dealdesk.db import tables as t
from dealdesk.domain.access import Actor
from dealdesk.domain.states import Role
from dealdesk.services.ports import Session

_u = t.users.c
_tok = t.api_tokens.c
_ses = t.web_sessions.c
_SESSION = (
    select(_u.id, _u.name, _u.role, _ses.csrf_token)
    .join_from(t.web_sessions, t.users, _ses.user_id == _u.id)
    .where(_ses.digest == bindparam("digest"), _ses.expires_at > bindparam("now"), _u.active.is_(True))
)

_ADVISORY_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


class SqlCredentials:
    def __init__(self, connection: Callable[[], Connection]) -> None:
        self._conn = connection

    def add_token(
        self, *, token_id: UUID, user_id: UUID, digest: str, label: str | None, at: datetime, expires_at: datetime
    ) -> None:
        self._conn().execute(
            insert(t.api_tokens),
            [
                {
                    "id": token_id,
                    "user_id": user_id,
                    "digest": digest,
                    "label": label,
                    "created_at": at,
                    "expires_at": expires_at,
                }
            ],
        )

    def actor_for_token(self, digest: str, *, now: datetime) -> Actor | None:
        conn = self._conn()
        key = {"digest": digest, "now": now}
        rows = hot_path.read(conn, hot_path.TOKEN_ACTOR, key)
        return Actor(id=rows[0]["id"], name=rows[0]["name"], role=Role(rows[0]["role"])) if rows else None

    def revoke_tokens(self, user_id: UUID, *, at: datetime) -> int:
        result = self._conn().execute(
            update(t.api_tokens).where(_tok.user_id == user_id, _tok.revoked_at.is_(None)).values(revoked_at=at)
        )
        return result.rowcount

    def add_session(self, *, digest: str, user_id: UUID, csrf_token: str, at: datetime, expires_at: datetime) -> None:
        self._conn().execute(
            insert(t.web_sessions),
            [
                {
                    "digest": digest,
                    "user_id": user_id,
                    "csrf_token": csrf_token,
                    "created_at": at,
                    "expires_at": expires_at,
                }
            ],
        )

    def session(self, digest: str, *, now: datetime) -> Session | None:
        row = self._conn().execute(_SESSION, {"digest": digest, "now": now}).first()
        if row is None:
            return None
        return Session(actor=Actor(id=row.id, name=row.name, role=Role(row.role)), csrf_token=row.csrf_token)

    def end_session(self, digest: str) -> None:
        self._conn().execute(delete(t.web_sessions).where(_ses.digest == digest))

    def end_sessions_of(self, user_id: UUID, *, except_digest: str | None = None) -> None:
        statement = delete(t.web_sessions).where(_ses.user_id == user_id)
        if except_digest is not None:
            statement = statement.where(_ses.digest != except_digest)
        self._conn().execute(statement)

    def reserve_attempt(self, limits: Mapping[str, int], *, at: datetime, since: datetime) -> bool:
        """Atomically: when every key has fewer attempts than its limit recorded after `since`, record one more for
        each key at `at` and answer True; otherwise change nothing and answer False.

        Attempts are rows of `rate_limits` keyed by (key, moment), so that the window slides. PostgreSQL serialises
        the count-then-insert of one key with a transaction-scoped advisory lock on the key (taken in key order, so
        two requests cannot deadlock); on SQLite the write transaction already holds the one writer lock."""
        conn = self._conn()
        keys = sorted(limits)
        if conn.dialect.name == "postgresql":
            for key in keys:
                conn.execute(_ADVISORY_LOCK, {"key": key})
        c = t.rate_limits.c
        recorded = conn.execute(
            select(c.key, func.sum(c.hits)).where(c.key.in_(keys), c.window_start > since).group_by(c.key)
        )
        counts = {key: int(total or 0) for key, total in recorded}
        if any(counts.get(key, 0) >= limit for key, limit in limits.items()):
            return False
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        for key in keys:
            conn.execute(
                dialect.insert(t.rate_limits)
                .values(key=key, window_start=at, hits=1)
                .on_conflict_do_update(index_elements=[c.key, c.window_start], set_={"hits": c.hits + 1})
            )
        return True

    def release_attempt(self, keys: Collection[str], *, at: datetime) -> None:
        """Take back the attempts `reserve_attempt` recorded at `at`: the check they stood for succeeded."""
        conn = self._conn()
        c = t.rate_limits.c
        mine = (c.key.in_(sorted(keys)), c.window_start == at)
        conn.execute(update(t.rate_limits).where(*mine).values(hits=c.hits - 1))
        conn.execute(delete(t.rate_limits).where(*mine, c.hits <= 0))
