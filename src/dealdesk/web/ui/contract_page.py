"""The project contract page: what was sold (lines and total), from which quote, for which account and deal."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from dealdesk.services import views
from dealdesk.web.deps import UowDep
from dealdesk.web.ui.deps import View
from dealdesk.web.ui.routing import PageRoute

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/contracts/{contract_id}", response_class=HTMLResponse)
def contract_page(contract_id: UUID, view: View, uow: UowDep) -> HTMLResponse:
    return view.render("contract.html", {"screen": views.contract_screen(uow, contract_id)})
