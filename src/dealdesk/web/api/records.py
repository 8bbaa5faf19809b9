"""Contracts and the audit trail."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from dealdesk.services import reads
from dealdesk.web import schemas as s
from dealdesk.web.api.catalogue import Cursor, Limit
from dealdesk.web.attempts import CONTRACT, names
from dealdesk.web.deps import UowDep, respond
from dealdesk.web.json_body import ExactJsonRoute
from dealdesk.web.problems import PROBLEM_RESPONSES

router = APIRouter(route_class=ExactJsonRoute, tags=["records"], responses=PROBLEM_RESPONSES)


@router.get("/contracts/{contract_id}", response_model=s.ContractOut, dependencies=[names(CONTRACT)])
def get_contract(contract_id: UUID, uow: UowDep) -> Response:
    return respond(s.ContractOut.model_validate(reads.get_contract(uow, contract_id)))


@router.get("/audit", response_model=s.Page[s.AuditOut])
def audit(
    uow: UowDep,
    record: Annotated[UUID, Query(description="Id of any record: opportunity, quote, close record, …")],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """Audit entries of one record, newest first."""
    return respond(s.Page[s.AuditOut].model_validate(reads.audit_for(uow, record, limit=limit, cursor=cursor)))
