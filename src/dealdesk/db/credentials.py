"""Tokens, sessions and shared rate-limit counters in SQL."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from uuid import UUID

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from dealdesk.db import tables as t
from dealdesk.db.direct import Direct
from dealdesk.domain.access import Actor
from dealdesk.domain.states import Role
from dealdesk.services.ports import Session

_u = t.users.c
_tok = t.api_tokens.c
_ses = t.web_sessions.c
_TOKEN_ACTOR = Direct(
    select(_u.id, _u.name, _u.role)
    .join_from(t.api_tokens, t.users, _tok.user_id == _u.id)
    .where(
        _tok.digest == bindparam("digest"),
        _tok.revoked_at.is_(None),
        _tok.expires_at > bindparam("now"),
        _u.active.is_(True),
    )
)
_SESSION = Direct(
    select(_u.id, _u.name, _u.role, _ses.csrf_token)
    .join_from(t.web_sessions, t.users, _ses.user_id == _u.id)
    .where(_ses.digest == bindparam("digest"), _ses.expires_at > bindparam("now"), _u.active.is_(True))
)


class SqlCredentials:
    def __init__(
        self, connection: Callable[[], Connection], lone_read: Callable[[], AbstractContextManager[Connection]]
    ) -> None:
        self._conn = connection
        self._lone_read = lone_read

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
        with self._lone_read() as conn:
            row = _TOKEN_ACTOR.first(conn, {"digest": digest, "now": now})
        return Actor(id=row.id, name=row.name, role=Role(row.role)) if row is not None else None

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
        with self._lone_read() as conn:
            row = _SESSION.first(conn, {"digest": digest, "now": now})
        if row is None:
            return None
        return Session(actor=Actor(id=row.id, name=row.name, role=Role(row.role)), csrf_token=row.csrf_token)

    def end_session(self, digest: str) -> None:
        self._conn().execute(delete(t.web_sessions).where(_ses.digest == digest))

    def end_sessions_of(self, user_id: UUID) -> None:
        self._conn().execute(delete(t.web_sessions).where(_ses.user_id == user_id))

    def count(self, key: str, *, window_start: datetime) -> int:
        c = t.rate_limits.c
        found = self._conn().execute(select(c.hits).where(c.key == key, c.window_start == window_start)).scalar()
        return int(found or 0)

    def hit(self, key: str, *, window_start: datetime) -> int:
        conn = self._conn()
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        c = t.rate_limits.c
        statement = (
            dialect.insert(t.rate_limits)
            .values(key=key, window_start=window_start, hits=1)
            .on_conflict_do_update(index_elements=[c.key, c.window_start], set_={"hits": t.rate_limits.c.hits + 1})
            .returning(t.rate_limits.c.hits)
        )
        return int(conn.execute(statement).scalar_one())
