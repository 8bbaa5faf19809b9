"""Locking a user out and changing passwords (SPEC §8), through the real `dealdesk users` command and the web
sign-in, on SQLite and PostgreSQL: `revoke` ends tokens and sessions, `disable` also refuses every sign-in until
`enable`, `password` sets a new password and ends the sessions, and a user changes their own password."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.db.uow import SqlUnitOfWork
from dealdesk.domain.errors import RateLimited, Unauthenticated, UserDisabled, ValidationFailed
from dealdesk.domain.states import Role
from dealdesk.services import auth
from dealdesk.web.app import create_app
from tests.trust.conftest import DEALDESK_CLI, Database, process_env
from tests.web_sign_in import sign_in

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a brand new passphrase"


def users(settings: Settings, engine: Engine, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    database = Database(url=settings.database_url, engine=engine, settings=settings)
    return subprocess.run(
        [DEALDESK_CLI, "users", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=process_env(database),
        timeout=60,
        check=False,
    )


@pytest.fixture
def web(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client


@pytest.fixture
def dana(uow: SqlUnitOfWork) -> str:
    """A salesperson with a password and an API token; answers the token."""
    return auth.add_user(uow, "dana", Role.SALES, password=PASSWORD).token


def _token_works(web: TestClient, token: str) -> bool:
    return web.get("/api/opportunities", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def _session_works(web: TestClient) -> bool:
    return web.get("/").status_code == 200


def test_disable_locks_the_user_out_until_enable(
    web: TestClient, engine: Engine, settings: Settings, dana: str
) -> None:
    assert _token_works(web, dana)
    assert sign_in(web, "dana", PASSWORD).status_code == 303 and _session_works(web)
    disabled = users(settings, engine, "disable", "dana")
    assert disabled.returncode == 0, disabled.stderr
    assert not _session_works(web), "the session ended"
    assert not _token_works(web, dana), "the token answers 401"
    refused = sign_in(web, "dana", PASSWORD)
    wrong = sign_in(web, "dana", "not the password at all")
    assert refused.status_code == wrong.status_code == 401
    assert "do not match" in refused.text  # looks exactly like a wrong password
    issued = users(settings, engine, "token", "dana")
    assert issued.returncode == 1 and issued.stdout == "" and "user_disabled" in issued.stderr
    enabled = users(settings, engine, "enable", "dana")
    assert enabled.returncode == 0, enabled.stderr
    assert sign_in(web, "dana", PASSWORD).status_code == 303 and _session_works(web)
    assert not _token_works(web, dana), "a token revoked by disable stays revoked"
    new_token = users(settings, engine, "token", "dana")
    assert new_token.returncode == 0 and _token_works(web, new_token.stdout.strip())


def test_revoke_ends_every_token_and_session(web: TestClient, engine: Engine, settings: Settings, dana: str) -> None:
    assert sign_in(web, "dana", PASSWORD).status_code == 303 and _session_works(web) and _token_works(web, dana)
    assert users(settings, engine, "revoke", "dana").returncode == 0
    assert not _session_works(web) and not _token_works(web, dana)


def test_users_password_sets_a_new_password_and_ends_the_sessions(
    web: TestClient, engine: Engine, settings: Settings, dana: str
) -> None:
    assert sign_in(web, "dana", PASSWORD).status_code == 303
    changed = users(settings, engine, "password", "dana", "--password-stdin", stdin=NEW_PASSWORD + "\n")
    assert changed.returncode == 0, changed.stderr
    assert not _session_works(web)
    assert sign_in(web, "dana", PASSWORD).status_code == 401
    assert sign_in(web, "dana", NEW_PASSWORD).status_code == 303 and _session_works(web)


def test_a_new_password_needs_12_characters_and_stdin(
    web: TestClient, engine: Engine, settings: Settings, dana: str
) -> None:
    short = users(settings, engine, "password", "dana", "--password-stdin", stdin="eleven char\n")
    assert short.returncode == 2 and "validation_error" in short.stderr
    assert users(settings, engine, "password", "dana").returncode == 2  # never on the command line
    assert users(settings, engine, "password", "nobody", "--password-stdin", stdin=NEW_PASSWORD).returncode == 1
    assert sign_in(web, "dana", PASSWORD).status_code == 303, "the old password still works"


def test_a_user_changes_their_own_password_and_their_other_sessions_end(
    engine: Engine, settings: Settings, uow: SqlUnitOfWork
) -> None:
    actor = auth.add_user(uow, "dana", Role.SALES, password=PASSWORD).user.as_actor()
    here = auth.sign_in(uow, "dana", PASSWORD, client="198.51.100.1")
    elsewhere = auth.sign_in(uow, "dana", PASSWORD, client="198.51.100.2")
    auth.change_own_password(uow, actor, PASSWORD, NEW_PASSWORD, client="198.51.100.1", session_id=here.session_id)
    assert auth.session_for(uow, here.session_id) is not None, "the session it was done from stays"
    assert auth.session_for(uow, elsewhere.session_id) is None
    with pytest.raises(Unauthenticated):
        auth.sign_in(uow, "dana", PASSWORD, client="198.51.100.1")
    assert auth.sign_in(uow, "dana", NEW_PASSWORD, client="198.51.100.1").actor.id == actor.id


def test_changing_your_own_password_needs_the_current_one_and_counts_wrong_ones(uow: SqlUnitOfWork) -> None:
    actor = auth.add_user(uow, "dana", Role.SALES, password=PASSWORD).user.as_actor()
    with pytest.raises(ValidationFailed) as short:
        auth.change_own_password(uow, actor, PASSWORD, "too short", client="198.51.100.1")
    assert short.value.errors[0].field == "new_password"
    for _ in range(auth.SIGN_IN_FAILURES_PER_NAME):
        with pytest.raises(ValidationFailed) as wrong:
            auth.change_own_password(uow, actor, "not my password", NEW_PASSWORD, client="198.51.100.1")
        assert wrong.value.errors[0].field == "current_password"
    with pytest.raises(RateLimited):  # guessing the current password from a stolen session is limited too
        auth.change_own_password(uow, actor, PASSWORD, NEW_PASSWORD, client="198.51.100.1")


def test_a_disabled_user_gets_no_new_token(uow: SqlUnitOfWork) -> None:
    auth.add_user(uow, "dana", Role.SALES, password=PASSWORD)
    auth.disable(uow, "dana")
    with pytest.raises(UserDisabled):
        auth.issue_token(uow, "dana")
