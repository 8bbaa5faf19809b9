"""Dependencies of the page handlers, declared once and reused by every page router."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from dealdesk.domain.access import Actor
from dealdesk.web.i18n import LANGUAGE_COOKIE
from dealdesk.web.session import session_actor
from dealdesk.web.ui.rendering import PageKit, PageView


async def page_actor(request: Request) -> Actor:
    """The signed-in user a page acts for (session cookie; unsafe methods must carry the CSRF token).
    Without a session the visitor is sent to the sign-in page."""
    return await session_actor(request)


def page_view(request: Request) -> PageView:
    """The visitor's language: the switcher's cookie first, then Accept-Language, then English."""
    kit: PageKit = request.app.state.page_kit
    accept_language = request.headers.get("Accept-Language")
    language = kit.languages.choose(
        cookie=request.cookies.get(LANGUAGE_COOKIE), accept_language=accept_language
    ).formatted_for(accept_language)
    return PageView(request=request, kit=kit, language=language, zone=request.app.state.settings.zone)


PageActor = Annotated[Actor, Depends(page_actor)]
View = Annotated[PageView, Depends(page_view)]
