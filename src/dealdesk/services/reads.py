"""Read-only look-ups that belong to no other use case module."""

from __future__ import annotations

from uuid import UUID

from dealdesk.domain.errors import NotFound
from dealdesk.domain.records import Contract
from dealdesk.services.ports import AuditEntry, Page, UnitOfWork


def get_contract(uow: UnitOfWork, contract_id: UUID) -> Contract:
    with uow.transaction(write=False):
        return uow.contracts.get(contract_id)


def audit_for(uow: UnitOfWork, record_id: UUID, *, limit: int, cursor: str | None) -> Page[AuditEntry]:
    """Audit entries of one record, newest first."""
    with uow.transaction(write=False):
        return uow.audit.list_for(record_id, limit=limit, cursor=cursor)


def opportunity_history(uow: UnitOfWork, opportunity_id: UUID, *, limit: int, cursor: str | None) -> Page[AuditEntry]:
    """Everything that happened to a deal and its quotes, close records and contract, newest first."""
    with uow.transaction(write=False):
        return uow.audit.list_for_opportunity(opportunity_id, limit=limit, cursor=cursor)


def record_exists(uow: UnitOfWork, kind: str, record_id: UUID) -> bool:
    """Whether the record a path names exists; `kind` is the path parameter's name."""
    with uow.transaction(write=False):
        try:
            match kind:
                case "opportunity_id":
                    return uow.opportunities.exists(record_id)
                case "quote_id":
                    uow.quotes.opportunity_id_of(record_id)
                case "close_id":
                    uow.closes.get(record_id)
                case "reason_id":
                    return uow.close_reasons.find(record_id) is not None
                case "account_id":
                    return uow.accounts.exists(record_id)
                case "contract_id":
                    uow.contracts.get(record_id)
                case _:
                    return True
        except NotFound:
            return False
        return True
