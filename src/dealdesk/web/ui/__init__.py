"""Server-rendered pages (Jinja2 and htmx) over the same use cases as the JSON API.

`router` carries every page route and loads the templates and language catalogues when the app starts;
`static_files()` serves the stylesheet, script and vendored htmx under /static."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from dealdesk.web.ui import (
    accounts,
    catalogue_pages,
    close_dialog,
    close_policy_page,
    contract_page,
    language,
    moving,
    new_opportunity,
    opportunity_list,
    opportunity_page,
    password,
    quote_actions,
    signin,
)
from dealdesk.web.ui.deps import page_actor
from dealdesk.web.ui.rendering import STATIC_DIR, PageKit
from dealdesk.web.ui.win_loss import router as win_loss_pages
from dealdesk.web.ui.win_loss_tables import router as win_loss_tables


@asynccontextmanager
async def _load_page_kit(app: FastAPI) -> AsyncIterator[None]:
    app.state.page_kit = PageKit.load()
    yield


router = APIRouter(lifespan=_load_page_kit)
# /opportunities/new is matched before /opportunities/{opportunity_id}.
for pages in (
    new_opportunity,
    opportunity_list,
    opportunity_page,
    close_dialog,
    quote_actions,
    moving,
    accounts,
    catalogue_pages,
    close_policy_page,
    password,
    contract_page,
):
    # Every page needs someone to act for: PageActor is where a visitor without a session is turned away.
    # Signing in and choosing a language need nobody.
    router.include_router(pages.router, dependencies=[Depends(page_actor)])
router.include_router(win_loss_tables, dependencies=[Depends(page_actor)])
router.include_router(win_loss_pages, dependencies=[Depends(page_actor)])
router.include_router(language.router)
router.include_router(signin.router)


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)
