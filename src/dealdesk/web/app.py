"""The application factory: one FastAPI app per settings object, no module-level state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from importlib.metadata import version
from urllib.parse import urlencode

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from dealdesk.config import Settings
from dealdesk.db.engine import make_engine
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.domain.access import Actor
from dealdesk.services import auth
from dealdesk.services.guards import Replay
from dealdesk.web import api_docs, metrics, operations, problems, ui
from dealdesk.web.api import catalogue, closing, dataverse, opportunities, quotes, records, reports, users
from dealdesk.web.api import settings as settings_api
from dealdesk.web.attempts import check_before_input
from dealdesk.web.bearer import BearerAuth
from dealdesk.web.deps import replayed
from dealdesk.web.limits import BodySizeLimit
from dealdesk.web.observability import RequestObservation
from dealdesk.web.pruning import pruning
from dealdesk.web.security_headers import SecurityHeaders
from dealdesk.web.session import SignInRequired

DESCRIPTION = """Opportunities, project quotes and closing deals as Won or Lost.

**The close rule:** an opportunity with an active quote cannot be closed (`active_quotes_block_close` names the
blocking quotes); `close_quotes` closes every active and draft quote and the opportunity in one transaction.
Errors are RFC 9457 problem documents with a stable `code`."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings)
    clock = SystemClock(settings.zone)
    lease = timedelta(seconds=settings.idempotency_lease_s)
    metrics.watch_pool(engine)

    def uow_factory() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, clock, on_close=metrics.count_close, idempotency_lease=lease)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with pruning(uow_factory, settings.prune_every_s):
            yield
        engine.dispose()

    # /docs is dealdesk's own page (web/api_docs.py): FastAPI's fetches Swagger UI from a CDN, as ReDoc does.
    app = FastAPI(
        title="dealdesk",
        version=version("dealdesk"),
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.uow_factory = uow_factory
    app.state.migration_heads = None  # the newest migrations, read when /readyz is first asked
    app.include_router(operations.router)
    app.include_router(api_docs.router)
    app.mount(api_docs.ASSETS_PATH, api_docs.swagger_ui_files(), name="docs-assets")
    for router in (
        catalogue.router,
        opportunities.router,
        closing.router,
        quotes.router,
        records.router,
        reports.router,
        settings_api.router,
        users.router,
    ):
        app.include_router(router, prefix="/api")
    app.include_router(dataverse.router, prefix="/api")
    app.include_router(ui.router)
    app.mount("/static", ui.static_files(), name="static")

    def authenticate(token: str) -> Actor:
        return auth.actor_for_token(uow_factory(), token)

    problems.install(app, check_before_input)

    @app.exception_handler(Replay)
    async def _replay(_request: Request, replay: Replay) -> Response:
        return replayed(replay.answer)

    @app.exception_handler(SignInRequired)
    async def _sign_in_first(request: Request, error: SignInRequired) -> Response:
        target = f"/login?{urlencode({'next': error.next_path})}"
        if request.headers.get("HX-Request"):  # htmx follows this header instead of swapping in a page
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    # Added last runs first: a request without a valid token is refused before its body is even measured.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(BearerAuth, authenticate=authenticate)
    app.add_middleware(
        RequestObservation, access_log=settings.access_log
    )  # it sees every answer of the layers inside it, and answers (and logs) an unexpected exception as a 500
    # Whatever a shared layer answers under /api/data/ (401, 413, 404, 405, 429, 503, and RequestObservation's 500
    # for an unexpected exception) is rewritten into Dataverse's error envelope (SPEC §10): it wraps
    # RequestObservation, so the 500 that layer writes (with the request id, after logging it) passes through it.
    app.add_middleware(dataverse.ProblemsAsDataverseErrors, prefix="/api/data/")
    app.add_middleware(SecurityHeaders)  # on every answer, the 500s RequestObservation writes included
    # Outermost: everything after it (rate limits, Secure cookies, /metrics) reads the client address and scheme
    # from the connection, rewritten from X-Forwarded-For/-Proto only when the peer is a trusted proxy.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxy_list)
    return app
