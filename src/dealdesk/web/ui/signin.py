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
from dealdesk.web.session import SESSION_COOKIE, cookie_is_secure
from dealdesk.web.ui.deps import View, page_actor
from dealdesk.web.ui.language import local_path
from dealdesk.web.ui.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)


class SignInForm(BaseModel):
    name: str = ""
    password: str = ""
    next: str = "/"


@router.get("/login", response_class=HTMLResponse)
def sign_in_page(view: View, next: str = "/") -> HTMLResponse:
    return view.render("signin.html", {"next": local_path(next), "name": "", "problem": None})


@router.post("/login", response_class=HTMLResponse)
async def sign_in(form: Annotated[SignInForm, Form()], request: Request, view: View, uow: UowDep) -> Response:
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
        context = {"next": local_path(form.next), "name": form.name, "problem": problem}
        return view.render("signin.html", context, status=status)
    response = RedirectResponse(local_path(form.next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        signed_in.session_id,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=cookie_is_secure(request),
    )
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
