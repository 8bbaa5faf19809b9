"""Read-only look-ups that belong to no other use case module."""

from __future__ import annotations

from uuid import UUID

from dealdesk.domain.records import Contract
from dealdesk.services.ports import AuditEntry, Page, UnitOfWork


def get_contract(uow: UnitOfWork, contract_id: UUID) -> Contract:
    with uow.transaction(write=False):
        return uow.contracts.get(contract_id)


def audit_for(uow: UnitOfWork, record_id: UUID, *, limit: int, cursor: str | None) -> Page[AuditEntry]:
    """Audit entries of one record, newest first."""
    with uow.transaction(write=False):
        return uow.audit.list_for(record_id, limit=limit, cursor=cursor)
