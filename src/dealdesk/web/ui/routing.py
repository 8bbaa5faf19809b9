"""The pages' one mapping from refusals to answers: HTML in the visitor's language, never problem+json."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from dealdesk.domain.errors import DomainError, NotFound
from dealdesk.web.problems import STATUS_OF_CODE
from dealdesk.web.ui import messages
from dealdesk.web.ui.deps import page_view
from dealdesk.web.ui.rendering import PageView, Toast


def refused(view: PageView, error: DomainError) -> Response:
    """An htmx action refused: a toast says why and the page stays as it is. A page: an error page."""
    status = STATUS_OF_CODE.get(error.code, 409)
    message = messages.refusal(view.language, error)
    if view.htmx:
        return view.render(
            "_nothing.html", status=status, toasts=[Toast(message, "error")], headers={"HX-Reswap": "none"}
        )
    return view.render("error.html", {"message": message, "status": status}, status=status)


class PageRoute(APIRoute):
    """Every page route: a refusal that no handler turned into a form message becomes a readable answer, and a
    malformed id in the path is simply a page that does not exist."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except DomainError as error:
                return refused(page_view(request), error)
            except RequestValidationError:
                return refused(page_view(request), NotFound("page", request.url.path))

        return page_handler
