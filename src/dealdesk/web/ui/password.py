"""A signed-in user changes their own password (SPEC §8): the current one is required, every session ends, and
this browser is signed in again with the new password so the person carries on where they were."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from dealdesk.domain.errors import DomainError, ValidationFailed
from dealdesk.services import auth
from dealdesk.web.deps import UowDep
from dealdesk.web.session import SESSION_COOKIE
from dealdesk.web.ui.deps import PageActor, View
from dealdesk.web.ui.messages import form_problem
from dealdesk.web.ui.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PASSWORD_PAGE = "/password"


class PasswordForm(BaseModel):
    current_password: str = ""
    new_password: str = ""
    repeat_password: str = ""


@router.get(PASSWORD_PAGE, response_class=HTMLResponse)
def password_page(view: View, done: str = "") -> HTMLResponse:
    return view.render("password.html", {"problem": None, "done": done == "1"})


@router.post(PASSWORD_PAGE, response_class=HTMLResponse)
async def change_password(
    form: Annotated[PasswordForm, Form()], request: Request, view: View, uow: UowDep, actor: PageActor
) -> Response:
    if form.new_password != form.repeat_password:
        problem = form_problem(view.language, _mismatch())
        return view.render("password.html", {"problem": problem, "done": False}, status=problem.status)
    client = request.client.host if request.client else "unknown"
    try:
        await run_in_threadpool(
            auth.change_own_password,
            uow,
            actor,
            form.current_password,
            form.new_password,
            client=client,
            session_id=request.cookies.get(SESSION_COOKIE),  # this browser stays signed in; other sessions end
        )
    except DomainError as error:
        problem = form_problem(view.language, error)
        return view.render("password.html", {"problem": problem, "done": False}, status=problem.status)
    return RedirectResponse(PASSWORD_PAGE + "?done=1", status_code=303)


def _mismatch() -> DomainError:
    return ValidationFailed.field("repeat_password", "does not match")
