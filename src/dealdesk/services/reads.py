"""Read-only look-ups that belong to no other use case module."""

from __future__ import annotations

from enum import Enum
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


class Record(Enum):
    """A kind of record a request names by its id."""

    OPPORTUNITY = "opportunity"
    QUOTE = "quote"
    CLOSE = "close record"
    CLOSE_REASON = "close reason"
    ACCOUNT = "account"
    COMPETITOR = "competitor"
    CONTRACT = "contract"


def exists(uow: UnitOfWork, record: Record, record_id: UUID) -> bool:
    """Whether that record exists, read in the caller's transaction."""
    try:
        match record:
            case Record.OPPORTUNITY:
                return uow.opportunities.exists(record_id)
            case Record.QUOTE:
                uow.quotes.opportunity_id_of(record_id)
            case Record.CLOSE:
                uow.closes.get(record_id)
            case Record.CLOSE_REASON:
                return uow.close_reasons.find(record_id) is not None
            case Record.ACCOUNT:
                return uow.accounts.exists(record_id)
            case Record.COMPETITOR:
                return uow.competitors.exists(record_id)
            case Record.CONTRACT:
                uow.contracts.get(record_id)
    except NotFound:
        return False
    return True
