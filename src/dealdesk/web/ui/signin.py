"""Signing in to the web UI with a password, and signing out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from dealdesk.domain.errors import RateLimited, Unauthenticated
from dealdesk.services import auth
from dealdesk.services.auth import SESSION_LIFETIME
from dealdesk.web.deps import UowDep
from dealdesk.web.session import (
    SESSION_COOKIE,
    SIGN_IN_CSRF_COOKIE,
    cookie_is_secure,
    set_sign_in_csrf_cookie,
    sign_in_csrf_matches,
    sign_in_csrf_token,
)
from dealdesk.web.ui.deps import View, page_actor
from dealdesk.web.ui.language import local_path
from dealdesk.web.ui.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)


class SignInForm(BaseModel):
    name: str = ""
    password: str = ""
    next: str = "/"
    csrf_token: str = ""


def _sign_in_form(
    view: View, request: Request, *, next_path: str, name: str = "", problem: str | None = None, status: int = 200
) -> HTMLResponse:
    """The form, with the visitor's sign-in CSRF token in a hidden field and in a cookie (a new one if need be)."""
    token = sign_in_csrf_token(request)
    context = {"next": next_path, "name": name, "problem": problem, "sign_in_csrf": token}
    response = view.render("signin.html", context, status=status)
    set_sign_in_csrf_cookie(response, request, token)
    return response


@router.get("/login", response_class=HTMLResponse)
def sign_in_page(view: View, request: Request, next: str = "/") -> HTMLResponse:
    return _sign_in_form(view, request, next_path=local_path(next))


@router.post("/login", response_class=HTMLResponse)
async def sign_in(form: Annotated[SignInForm, Form()], request: Request, view: View, uow: UowDep) -> Response:
    """Login CSRF first (another site must not sign a visitor in to its own account), then the password check."""
    next_path = local_path(form.next)
    if not sign_in_csrf_matches(request, form.csrf_token):
        problem = view.gettext("This form is out of date or came from another site. Please try again.")
        return _sign_in_form(view, request, next_path=next_path, name=form.name, problem=problem, status=403)
    client = request.client.host if request.client else "unknown"
    try:
        signed_in = await run_in_threadpool(auth.sign_in, uow, form.name, form.password, client=client)
    except (Unauthenticated, RateLimited) as error:
        problem = (
            view.gettext("Too many failed attempts. Wait a few minutes, then try again.")
            if isinstance(error, RateLimited)
            else view.gettext("That user name and password do not match.")
        )
        status = 429 if isinstance(error, RateLimited) else 401
        return _sign_in_form(view, request, next_path=next_path, name=form.name, problem=problem, status=status)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.session_id,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=cookie_is_secure(request),
    )
    response.delete_cookie(SIGN_IN_CSRF_COOKIE)
    return response


@router.post("/logout", dependencies=[Depends(page_actor)])
async def sign_out(request: Request, uow: UowDep) -> RedirectResponse:
    """Needs the CSRF token like every other form, so another site cannot sign people out."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        await run_in_threadpool(auth.sign_out, uow, session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
