"""Reports."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from dealdesk.services import reports
from dealdesk.web import schemas as s
from dealdesk.web.deps import UowDep, respond
from dealdesk.web.json_body import ExactJsonRoute
from dealdesk.web.problems import PROBLEM_RESPONSES

router = APIRouter(route_class=ExactJsonRoute, tags=["reports"], responses=PROBLEM_RESPONSES)


@router.get("/reports/win-loss", response_model=s.WinLossOut)
def win_loss(
    uow: UowDep,
    currency: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$", description="Default: most closes in range")] = None,
    date_from: Annotated[date | None, Query(alias="from", description="close_date from, inclusive")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="close_date to, inclusive")] = None,
    owner_id: UUID | None = None,
    account_id: UUID | None = None,
) -> Response:
    """Won and lost counts, win rate, revenue, by status reason, close reason, competitor and month, days to
    close, and how many closes were reopened. Standing closes only; one currency at a time."""
    where = reports.ReportFilter(
        currency=currency, date_from=date_from, date_to=date_to, owner_id=owner_id, account_id=account_id
    )
    return respond(s.win_loss_out(reports.win_loss(uow, where)))
