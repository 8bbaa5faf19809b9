"""A signed-in user changes their own password (SPEC §8): the current one is required, the new one has at least 12
characters, and every session of the user ends."""

from __future__ import annotations

import pytest

from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.domain.errors import RateLimited, Unauthenticated, ValidationFailed
from dealdesk.domain.states import Role
from dealdesk.services import auth

OLD, NEW = "old password 12", "new password 34"


def _user(uow: SqlUnitOfWork) -> auth.IssuedToken:
    return auth.add_user(uow, "pat", Role.SALES, password=OLD)


def test_the_new_password_signs_in_the_old_one_does_not_and_every_session_ends(uow: SqlUnitOfWork) -> None:
    user = _user(uow).user
    first = auth.sign_in(uow, "pat", OLD, client="a")
    second = auth.sign_in(uow, "pat", OLD, client="b")
    auth.change_own_password(uow, user.id, OLD, NEW)
    assert auth.session_for(uow, first.session_id) is None
    assert auth.session_for(uow, second.session_id) is None
    assert auth.sign_in(uow, "pat", NEW, client="a").actor.id == user.id
    with pytest.raises(Unauthenticated):
        auth.sign_in(uow, "pat", OLD, client="a")


def test_a_wrong_current_password_changes_nothing_and_names_the_field(uow: SqlUnitOfWork) -> None:
    user = _user(uow).user
    session = auth.sign_in(uow, "pat", OLD, client="a")
    with pytest.raises(ValidationFailed) as refused:
        auth.change_own_password(uow, user.id, "not it at all", NEW)
    assert [e.field for e in refused.value.errors] == ["current_password"]
    assert auth.session_for(uow, session.session_id) is not None
    assert auth.sign_in(uow, "pat", OLD, client="a").actor.id == user.id


def test_a_short_new_password_is_refused_before_anything_is_checked(uow: SqlUnitOfWork) -> None:
    user = _user(uow).user
    with pytest.raises(ValidationFailed) as refused:
        auth.change_own_password(uow, user.id, OLD, "short")
    assert [e.field for e in refused.value.errors] == ["new_password"]


def test_guessing_the_current_password_counts_as_failed_sign_ins(uow: SqlUnitOfWork) -> None:
    user = _user(uow).user
    for _ in range(auth.SIGN_IN_FAILURES_PER_NAME):
        with pytest.raises(ValidationFailed):
            auth.change_own_password(uow, user.id, "a wrong guess", NEW)
    with pytest.raises(RateLimited):
        auth.change_own_password(uow, user.id, OLD, NEW)
