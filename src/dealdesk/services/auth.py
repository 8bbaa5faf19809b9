"""Users, API tokens, sign-in sessions and the sign-in rate limit (SPEC §8).

Tokens and session ids are long random strings shown once and stored only as SHA-256 digests: a request
costs one indexed lookup, not a key-derivation function. Passwords are hashed with argon2."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from uuid import UUID, uuid4

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import NotFound, RateLimited, Unauthenticated, UserDisabled, ValidationFailed
from dealdesk.domain.records import Change
from dealdesk.domain.states import Role
from dealdesk.domain.users import User, check_password, check_user_name
from dealdesk.services.ports import Page, Session, UnitOfWork

SYSTEM = UUID(int=0)
"""Who acts in audit entries for administration done on the server itself (the CLI)."""
TOKEN_PREFIX = "ddk_"
SESSION_LIFETIME = timedelta(hours=12)
SIGN_IN_WINDOW = timedelta(minutes=15)
"""The sliding window of the sign-in limits: failed password checks in the last 15 minutes count."""
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
    """Another API token; refused for a disabled user (it would answer 401 anyway)."""
    with uow.transaction():
        user = _existing(uow, name)
        if not user.active:
            raise UserDisabled(f"{name} is disabled: `dealdesk users enable {name}` first")
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


def users_page(uow: UnitOfWork, *, limit: int, cursor: str | None) -> Page[User]:
    """Who uses dealdesk, by name: what any signed-in user may see to name owners (never credentials)."""
    with uow.transaction(write=False):
        return uow.users.page(limit=limit, cursor=cursor)


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
    with uow.transaction(write=False, one_statement=True):
        actor = uow.credentials.actor_for_token(digest(token), now=uow.clock.now())
    if actor is None:
        raise Unauthenticated("The bearer token is unknown, expired or revoked")
    return actor


@dataclass(frozen=True)
class SignedIn:
    session_id: str
    csrf_token: str
    actor: Actor


@dataclass(frozen=True)
class _Attempt:
    """One password check, its slots reserved in the sign-in limits before the (slow) hash check runs."""

    keys: tuple[str, ...]
    at: datetime


def sign_in(uow: UnitOfWork, name: str, password: str, *, client: str) -> SignedIn:
    """Password sign-in (SPEC §8). Three steps, so that no lock is held while argon2 works (about 0.3 s):

    1. a short write: reserve a failed check for the name and for the client, refused (rate_limited) when either
       already has its limit in the sliding window. The reservation is atomic under parallel requests, and a check
       in flight counts: 25 parallel guesses cannot all be checked.
    2. the hash check, outside any transaction. An unknown name, a user without a password and a disabled user are
       checked too (against a dummy hash if need be), so a failure takes the same time whatever the reason.
    3. success only: a short write that gives the reservation back and starts the session, if the user is still
       active with the same password."""
    user, attempt = _reserve_check(uow, name, client)
    if not (_password_matches(user.password_hash if user else None, password) and user is not None and user.active):
        raise Unauthenticated("Wrong user name or password")  # the reserved slot stays: a failed check
    signed_in = SignedIn(secrets.token_urlsafe(32), secrets.token_urlsafe(32), user.as_actor())
    with uow.transaction():
        now = uow.clock.now()
        current = uow.users.get(user.id)
        if current is None or not current.active or current.password_hash != user.password_hash:
            raise Unauthenticated("Wrong user name or password")  # disabled or given a new password meanwhile
        uow.credentials.release_attempt(attempt.keys, at=attempt.at)
        uow.credentials.add_session(
            digest=digest(signed_in.session_id),
            user_id=user.id,
            csrf_token=signed_in.csrf_token,
            at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    return signed_in


def _reserve_check(uow: UnitOfWork, name: str, client: str) -> tuple[User | None, _Attempt]:
    limits = {
        f"sign-in:name:{_key_part(name)}": SIGN_IN_FAILURES_PER_NAME,
        f"sign-in:client:{_key_part(client)}": SIGN_IN_FAILURES_PER_CLIENT,
    }
    with uow.transaction():
        at = uow.clock.now()
        if not uow.credentials.reserve_attempt(limits, at=at, since=at - SIGN_IN_WINDOW):
            raise RateLimited("Too many failed sign-ins: wait a few minutes and try again")
        user = uow.users.find(name) if _could_be_a_name(name) else None
    return user, _Attempt(tuple(limits), at)


def _could_be_a_name(name: str) -> bool:
    """Whether a user could have this name. Anything else is not looked up: PostgreSQL refuses text with NUL and
    unpaired surrogates, and an error there must not turn a wrong name into a 500."""
    try:
        check_user_name(name)
        name.encode("utf-8")
    except (ValidationFailed, UnicodeEncodeError):
        return False
    return "\x00" not in name


def _key_part(text: str) -> str:
    """A rate-limit key part for any text a client sends: its digest (fixed length, nothing the database refuses)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@cache
def _dummy_hash() -> str:
    """What a name without a usable password is checked against, so that it costs what a real check costs."""
    return _hasher.hash(secrets.token_urlsafe(32))


def _password_matches(password_hash: str | None, password: str) -> bool:
    """argon2 check; without a hash, the same work against the dummy hash, and never a match."""
    secret = password.encode("utf-8", "surrogatepass")
    try:
        return _hasher.verify(password_hash or _dummy_hash(), secret) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def disable(uow: UnitOfWork, name: str, *, by: UUID = SYSTEM) -> int:
    """Locks the user out until `enable`: every token is revoked, every session ends, and every sign-in is refused
    as if the password were wrong. Answers how many tokens were revoked."""
    with uow.transaction():
        user = _existing(uow, name)
        at = uow.clock.now()
        uow.users.set_active(user.id, False, at=at)
        count = uow.credentials.revoke_tokens(user.id, at=at)
        uow.credentials.end_sessions_of(user.id)
        uow.audit.record([Change("user", user.id, "disable", {"active": True}, {"active": False})], by=by, at=at)
        return count


def enable(uow: UnitOfWork, name: str, *, by: UUID = SYSTEM) -> None:
    """The user may sign in again with their password; revoked tokens stay revoked (issue a new one)."""
    with uow.transaction():
        user = _existing(uow, name)
        at = uow.clock.now()
        uow.users.set_active(user.id, True, at=at)
        uow.audit.record([Change("user", user.id, "enable", {"active": False}, {"active": True})], by=by, at=at)


def set_password(uow: UnitOfWork, name: str, password: str, *, by: UUID = SYSTEM) -> None:
    """An administrator sets a new password (at least 12 characters); every web session of the user ends."""
    password_hash = _hasher.hash(check_password(password))  # hashed before the transaction: no lock held for it
    with uow.transaction():
        user = _existing(uow, name)
        at = uow.clock.now()
        uow.users.set_password_hash(user.id, password_hash, at=at)
        uow.credentials.end_sessions_of(user.id)
        uow.audit.record([Change("user", user.id, "set_password", None, None)], by=by, at=at)


def change_own_password(
    uow: UnitOfWork, actor: Actor, current: str, new: str, *, client: str, session_id: str | None = None
) -> None:
    """A signed-in user changes their own password: the current one is required (a wrong one is a failed check,
    counted in the sign-in limits like a sign-in) and every other session of theirs ends; `session_id`, the
    session they did it from, stays signed in."""
    check_password(new, field="new_password")
    user, attempt = _reserve_check(uow, actor.name, client)
    if user is None or user.id != actor.id or not _password_matches(user.password_hash, current):
        raise ValidationFailed.field("current_password", "is not your current password")
    new_hash = _hasher.hash(new)
    with uow.transaction():
        at = uow.clock.now()
        latest = uow.users.get(user.id)
        if latest is None or not latest.active or latest.password_hash != user.password_hash:
            raise Unauthenticated("Your account changed meanwhile: sign in again")
        uow.credentials.release_attempt(attempt.keys, at=attempt.at)
        uow.users.set_password_hash(user.id, new_hash, at=at)
        uow.credentials.end_sessions_of(user.id, except_digest=digest(session_id) if session_id else None)
        uow.audit.record([Change("user", user.id, "change_password", None, None)], by=actor.id, at=at)


def session_for(uow: UnitOfWork, session_id: str) -> Session | None:
    with uow.transaction(write=False, one_statement=True):
        return uow.credentials.session(digest(session_id), now=uow.clock.now())


def sign_out(uow: UnitOfWork, session_id: str) -> None:
    with uow.transaction():
        uow.credentials.end_session(digest(session_id))
