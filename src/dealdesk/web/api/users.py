"""People: their names and roles, for any signed-in user (credentials are managed with `dealdesk users`)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from dealdesk.services import auth
from dealdesk.web import schemas as s
from dealdesk.web.api.catalogue import Cursor, Limit
from dealdesk.web.deps import UowDep, respond
from dealdesk.web.json_body import ExactJsonRoute
from dealdesk.web.problems import PROBLEM_RESPONSES

router = APIRouter(route_class=ExactJsonRoute, tags=["users"], responses=PROBLEM_RESPONSES)


@router.get("/users", response_model=s.Page[s.UserOut])
def list_users(uow: UowDep, limit: Limit = 50, cursor: Cursor = None) -> Response:
    """Every user by name, active or not (past deals keep their owners): id, name, role, active."""
    return respond(s.Page[s.UserOut].model_validate(auth.users_page(uow, limit=limit, cursor=cursor)))
