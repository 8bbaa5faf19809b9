"""The language switcher: remembers the visitor's choice in a cookie and shows the same page again."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from dealdesk.web.i18n import LANGUAGE_COOKIE
from dealdesk.web.ui.rendering import PageKit
from dealdesk.web.ui.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)
A_YEAR = 365 * 24 * 3600


class LanguageForm(BaseModel):
    language: str = ""
    next: str = "/"


def local_path(path: str) -> str:
    """Only a path on this site: never an open redirect."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


@router.post("/language")
def choose_language(form: Annotated[LanguageForm, Form()], request: Request) -> RedirectResponse:
    kit: PageKit = request.app.state.page_kit
    chosen = kit.languages.find(form.language) or kit.languages.default
    response = RedirectResponse(local_path(form.next), status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        chosen.tag,
        max_age=A_YEAR,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response
