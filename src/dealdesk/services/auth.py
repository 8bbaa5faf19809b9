"""Users, API tokens, sign-in sessions and the sign-in rate limit (SPEC §8).

Tokens and session ids are long random strings shown once and stored only as SHA-256 digests: a request
costs one indexed lookup, not a key-derivation function. Passwords are hashed with argon2."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import NotFound, RateLimited, Unauthenticated, ValidationFailed
from dealdesk.domain.records import Change
from dealdesk.domain.states import Role
from dealdesk.domain.users import User, check_password, check_user_name
from dealdesk.services.ports import Session, UnitOfWork

SYSTEM = UUID(int=0)
"""Who acts in audit entries for administration done on the server itself (the CLI)."""
TOKEN_PREFIX = "ddk_"
SESSION_LIFETIME = timedelta(hours=12)
SIGN_IN_WINDOW = timedelta(minutes=15)
SIGN_IN_FAILURES_PER_NAME = 5
SIGN_IN_FAILURES_PER_CLIENT = 30
_hasher = PasswordHasher()


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class IssuedToken:
    """The token itself exists only here, once: the database keeps its digest."""

    user: User
    token: str


def add_user(
    uow: UnitOfWork, name: str, role: Role, *, password: str | None, token_days: int = 90, by: UUID = SYSTEM
) -> IssuedToken:
    """A new user with a first API token (and a password for the web UI, if given)."""
    check_user_name(name)
    password_hash = _hasher.hash(check_password(password)) if password is not None else None
    with uow.transaction():
        at = uow.clock.now()
        user = User(
            id=uuid4(), name=name, role=role, password_hash=password_hash, active=True, created_at=at, updated_at=at
        )
        uow.users.add(user)
        token = _issue(uow, user.id, days=token_days, label="first token", at=at)
        uow.audit.record([Change("user", user.id, "create", None, {"name": name, "role": role.value})], by=by, at=at)
        return IssuedToken(user=user, token=token)


def issue_token(uow: UnitOfWork, name: str, *, days: int = 90, label: str | None = None, by: UUID = SYSTEM) -> str:
    with uow.transaction():
        user = _existing(uow, name)
        at = uow.clock.now()
        token = _issue(uow, user.id, days=days, label=label, at=at)
        uow.audit.record([Change("user", user.id, "issue_token", None, {"label": label})], by=by, at=at)
        return token


def _issue(uow: UnitOfWork, user_id: UUID, *, days: int, label: str | None, at: datetime) -> str:
    token = _new_secret()
    uow.credentials.add_token(
        token_id=uuid4(),
        user_id=user_id,
        digest=digest(token),
        label=label,
        at=at,
        expires_at=at + timedelta(days=days),
    )
    return token


def _existing(uow: UnitOfWork, name: str) -> User:
    user = uow.users.find(name)
    if user is None:
        raise NotFound("user", name)
    return user


def list_users(uow: UnitOfWork) -> Sequence[User]:
    with uow.transaction(write=False):
        return uow.users.list()


def revoke(uow: UnitOfWork, name: str, *, by: UUID = SYSTEM) -> int:
    """Every token of the user stops working at once, and every web session ends."""
    with uow.transaction():
        user = _existing(uow, name)
        at = uow.clock.now()
        count = uow.credentials.revoke_tokens(user.id, at=at)
        uow.credentials.end_sessions_of(user.id)
        uow.audit.record([Change("user", user.id, "revoke", None, {"tokens": count})], by=by, at=at)
        return count


def actor_for_token(uow: UnitOfWork, token: str) -> Actor:
    """The user behind a bearer token; unauthenticated if unknown, expired, revoked or deactivated."""
    with uow.transaction(write=False):
        actor = uow.credentials.actor_for_token(digest(token), now=uow.clock.now())
    if actor is None:
        raise Unauthenticated("The bearer token is unknown, expired or revoked")
    return actor


@dataclass(frozen=True)
class SignedIn:
    session_id: str
    csrf_token: str
    actor: Actor


def sign_in(uow: UnitOfWork, name: str, password: str, *, client: str) -> SignedIn:
    """Password sign-in. Repeated failures for a name or from a client are refused for a while (rate_limited),
    counted in the database so that every server process agrees."""
    with uow.transaction():
        at = uow.clock.now()
        window = datetime.fromtimestamp(
            at.timestamp() // SIGN_IN_WINDOW.total_seconds() * SIGN_IN_WINDOW.total_seconds(), tz=at.tzinfo
        )
        name_key, client_key = f"sign-in:name:{name[:80]}", f"sign-in:client:{client[:80]}"
        if (
            uow.credentials.count(name_key, window_start=window) >= SIGN_IN_FAILURES_PER_NAME
            or uow.credentials.count(client_key, window_start=window) >= SIGN_IN_FAILURES_PER_CLIENT
        ):
            raise RateLimited("Too many failed sign-ins: wait a few minutes and try again")
        user = uow.users.find(name)
        signed_in = None
        if user is None or not user.active or not _password_matches(user, password):
            uow.credentials.hit(name_key, window_start=window)
            uow.credentials.hit(client_key, window_start=window)
        else:
            signed_in = SignedIn(secrets.token_urlsafe(32), secrets.token_urlsafe(32), user.as_actor())
            uow.credentials.add_session(
                digest=digest(signed_in.session_id),
                user_id=user.id,
                csrf_token=signed_in.csrf_token,
                at=at,
                expires_at=at + SESSION_LIFETIME,
            )
    if signed_in is None:  # raised after the commit, so that the failure is counted
        raise Unauthenticated("Wrong user name or password")
    return signed_in


def _password_matches(user: User, password: str) -> bool:
    if user.password_hash is None:
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def change_own_password(uow: UnitOfWork, user_id: UUID, current_password: str, new_password: str) -> None:
    """A signed-in user sets a new password (at least 12 characters) after giving the current one; every session
    of the user ends, so a session someone else may hold stops working. A wrong current password is a field error,
    counted like a failed sign-in so that a stolen session cannot guess it."""
    try:
        check_password(new_password)
    except ValidationFailed as exc:
        raise ValidationFailed.field("new_password", exc.errors[0].message) from exc
    with uow.transaction():
        user = uow.users.get(user_id)
        at = uow.clock.now()
        window = datetime.fromtimestamp(
            at.timestamp() // SIGN_IN_WINDOW.total_seconds() * SIGN_IN_WINDOW.total_seconds(), tz=at.tzinfo
        )
        name_key = f"sign-in:name:{user.name[:80]}"
        if uow.credentials.count(name_key, window_start=window) >= SIGN_IN_FAILURES_PER_NAME:
            raise RateLimited("Too many failed password checks: wait a few minutes and try again")
        matches = _password_matches(user, current_password)
        if matches:
            uow.credentials.end_sessions_of(user.id)
            uow.users.set_password_hash(user.id, _hasher.hash(new_password), at=at)
            uow.audit.record([Change("user", user.id, "change_password", None, None)], by=user.id, at=at)
        else:
            uow.credentials.hit(name_key, window_start=window)
    if not matches:  # raised after the commit, so that the failure is counted
        raise ValidationFailed.field("current_password", "is not your current password")


def session_for(uow: UnitOfWork, session_id: str) -> Session | None:
    with uow.transaction(write=False):
        return uow.credentials.session(digest(session_id), now=uow.clock.now())


def sign_out(uow: UnitOfWork, session_id: str) -> None:
    with uow.transaction():
        uow.credentials.end_session(digest(session_id))
