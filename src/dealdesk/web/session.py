"""Web UI sign-in: a session cookie (HttpOnly, SameSite=Lax, Secure over HTTPS) and a CSRF token that every
form post and htmx request must echo back."""

from __future__ import annotations

import secrets
from typing import Final

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import Forbidden
from dealdesk.services import auth
from dealdesk.web.deps import get_uow

SESSION_COOKIE: Final = "dealdesk_session"
SIGN_IN_CSRF_COOKIE: Final = "dealdesk_sign_in_csrf"
_SIGN_IN_CSRF_LIFETIME_S: Final = 2 * 3600
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInRequired(Exception):
    """No valid session: pages answer with a redirect to the sign-in page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


async def session_actor(request: Request) -> Actor:
    """The signed-in user of a page request; unsafe methods must carry the session's CSRF token."""
    session_id = request.cookies.get(SESSION_COOKIE)
    session = await run_in_threadpool(auth.session_for, get_uow(request), session_id) if session_id else None
    if session is None:
        raise SignInRequired(request.url.path)
    request.state.csrf_token = session.csrf_token
    request.state.actor = session.actor
    if request.method not in _SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER)
        if sent is None:
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else None
        if sent is None or not secrets.compare_digest(sent, session.csrf_token):
            raise Forbidden("This form is out of date or came from another site (CSRF check failed); reload the page")
    return session.actor


def cookie_is_secure(request: Request) -> bool:
    """Secure where served over HTTPS: directly, or behind a trusted proxy whose X-Forwarded-Proto the app
    factory's proxy middleware has already applied to the scheme (anyone else's is ignored)."""
    return request.url.scheme == "https"


def sign_in_csrf_token(request: Request) -> str:
    """The sign-in form's CSRF token, before there is a session: the visitor's pre-session cookie if it holds one
    (several tabs keep working), else a new random one. The form echoes it in a hidden field (double submit)."""
    held = request.cookies.get(SIGN_IN_CSRF_COOKIE, "")
    return held if _looks_like_token(held) else secrets.token_urlsafe(32)


def set_sign_in_csrf_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SIGN_IN_CSRF_COOKIE,
        token,
        max_age=_SIGN_IN_CSRF_LIFETIME_S,
        httponly=True,
        samesite="strict",
        secure=cookie_is_secure(request),
    )


def sign_in_csrf_matches(request: Request, sent: str) -> bool:
    """Another site can make a browser post the sign-in form, but cannot read or set this site's cookie, so it
    cannot send the matching field: no login CSRF (signing a visitor in to the attacker's account)."""
    held = request.cookies.get(SIGN_IN_CSRF_COOKIE, "")
    return _looks_like_token(held) and secrets.compare_digest(held.encode(), sent.encode("utf-8", "surrogatepass"))


def _looks_like_token(value: str) -> bool:
    return 32 <= len(value) <= 64 and value.isascii() and value.replace("-", "").replace("_", "").isalnum()
