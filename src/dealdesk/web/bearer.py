"""API sign-in: every /api request carries `Authorization: Bearer <token>`, checked before anything else
(SPEC §7: 401 comes first, before even an oversized body is refused)."""

from __future__ import annotations

from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import RetryLater, Unauthenticated
from dealdesk.web.problems import domain_problem, problem


class BearerAuth:
    def __init__(self, app: ASGIApp, *, authenticate: Callable[[str], Actor], prefix: str = "/api") -> None:
        self.app = app
        self.authenticate = authenticate
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == self.prefix or path.startswith(self.prefix + "/")):
            await self.app(scope, receive, send)
            return
        token = self._bearer(scope)
        if token is None:
            await self._refuse(scope, receive, send, "Send Authorization: Bearer <token> (see `dealdesk users add`)")
            return
        try:
            actor = await run_in_threadpool(self.authenticate, token)
        except Unauthenticated as error:
            await self._refuse(scope, receive, send, error.detail)
            return
        except RetryLater as error:  # the database is busy or down: 503, not a 500 from outside every handler
            await domain_problem(error)(scope, receive, send)
            return
        scope.setdefault("state", {})["actor"] = actor
        await self.app(scope, receive, send)

    @staticmethod
    def _bearer(scope: Scope) -> str | None:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                text: str = value.decode("latin-1")
                scheme, _, credentials = text.partition(" ")
                if scheme.lower() == "bearer" and credentials.strip():
                    return credentials.strip()
        return None

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, detail: str) -> None:
        response = problem(401, "unauthenticated", "Unauthenticated", detail)
        response.headers["WWW-Authenticate"] = 'Bearer realm="dealdesk"'
        await response(scope, receive, send)
