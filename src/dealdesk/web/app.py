"""The application factory: one FastAPI app per settings object, no module-level state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from fastapi import FastAPI

from dealdesk.config import Settings
from dealdesk.db.engine import make_engine
from dealdesk.db.uow import SqlUnitOfWork, SystemClock
from dealdesk.services import reads
from dealdesk.web import problems
from dealdesk.web.api import catalogue, closing, opportunities, quotes, records, reports
from dealdesk.web.limits import BodySizeLimit

DESCRIPTION = """Opportunities, project quotes and closing deals as Won or Lost.

**The close rule:** an opportunity with an active quote cannot be closed (`active_quotes_block_close` names the
blocking quotes); `close_quotes` closes every active and draft quote and the opportunity in one transaction.
Errors are RFC 9457 problem documents with a stable `code`."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings)
    clock = SystemClock(settings.zone)

    def uow_factory() -> SqlUnitOfWork:
        return SqlUnitOfWork(engine, clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        uow = uow_factory()
        with uow.transaction():
            app.state.default_actor = uow.users.ensure(settings.default_user, "admin")
        yield
        engine.dispose()

    app = FastAPI(title="dealdesk", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.uow_factory = uow_factory
    for router in (
        catalogue.router,
        opportunities.router,
        closing.router,
        quotes.router,
        records.router,
        reports.router,
    ):
        app.include_router(router, prefix="/api")

    def path_exists(name: str, record_id: UUID) -> bool:
        return reads.record_exists(uow_factory(), name, record_id)

    problems.install(app, path_exists)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
