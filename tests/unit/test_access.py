"""Who may do what (SPEC §8), as the Actor checks it."""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

import pytest

from dealdesk.domain.access import Actor
from dealdesk.domain.errors import Forbidden
from dealdesk.domain.states import Role

SELF = UUID(int=1)
SOMEONE_ELSE = UUID(int=2)


def _actor(role: Role) -> Actor:
    return Actor(id=SELF, name=f"a {role.value}", role=role)


def _allowed(check: Callable[[], None]) -> bool:
    try:
        check()
    except Forbidden as refused:
        assert refused.code == "forbidden"
        return False
    return True


@pytest.mark.parametrize(
    ("role", "may"), [(Role.VIEWER, False), (Role.SALES, True), (Role.MANAGER, True), (Role.ADMIN, True)]
)
def test_everyone_but_viewers_may_create_accounts_and_opportunities(role: Role, may: bool) -> None:
    assert _allowed(_actor(role).require_may_create) is may


@pytest.mark.parametrize(
    ("role", "may"), [(Role.VIEWER, False), (Role.SALES, True), (Role.MANAGER, True), (Role.ADMIN, True)]
)
def test_sales_managers_and_admins_may_act_on_their_own_opportunities(role: Role, may: bool) -> None:
    assert _allowed(lambda: _actor(role).require_may_act_on(SELF)) is may


@pytest.mark.parametrize(
    ("role", "may"), [(Role.VIEWER, False), (Role.SALES, False), (Role.MANAGER, True), (Role.ADMIN, True)]
)
def test_only_managers_and_admins_may_act_on_anyones_opportunity(role: Role, may: bool) -> None:
    assert _allowed(lambda: _actor(role).require_may_act_on(SOMEONE_ELSE)) is may


@pytest.mark.parametrize(
    ("role", "may"), [(Role.VIEWER, False), (Role.SALES, False), (Role.MANAGER, True), (Role.ADMIN, True)]
)
@pytest.mark.parametrize("work", ["bulk close", "correct close records", "keep competitors and close reasons"])
def test_bulk_close_corrections_and_catalogues_are_managers_work(role: Role, may: bool, work: str) -> None:
    assert _allowed(lambda: _actor(role).require_manager(work)) is may


def test_the_refusal_says_what_was_refused() -> None:
    with pytest.raises(Forbidden, match="bulk close"):
        _actor(Role.SALES).require_manager("bulk close")
