"""Every API route carries its own checks before input (web/attempts.py): a mutating route declares the kind of
change it attempts, and a route whose path names a record declares which, so that a route added or renamed
without them fails here instead of answering 422 where SPEC §7 asks for 404 or 403."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dealdesk.config import Settings
from dealdesk.web.app import create_app
from dealdesk.web.attempts import RouteGuard, guard_of

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
OWN_RULES = "/api/data/"
"""The Dataverse-compatible service resolves its own resources and answers its own refusals (web/api/dataverse/)."""


def _api_routes(routes: list[Any]) -> Iterator[tuple[str, frozenset[str], object]]:
    """(full path, methods, route object) of every route under /api, however this FastAPI keeps included routers."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        pairs = [(c.path, c.original_route) for c in contexts()] if callable(contexts) else [(route.path, route)]
        for path, original in pairs:
            methods = frozenset(getattr(original, "methods", None) or ())
            if str(path).startswith("/api/") and not str(path).startswith(OWN_RULES) and methods:
                yield str(path), methods, original


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, frozenset[str], object]]:
    settings = Settings(database_url=f"sqlite:///{Path(tmp_path_factory.mktemp('routes')) / 'dealdesk.db'}")
    found = list(_api_routes(list(create_app(settings).routes)))
    assert len(found) > 20, "could not read the app's API routes"
    return found


def _guard(route: object) -> RouteGuard:
    guard = guard_of(route)
    assert guard is not None
    return guard


def test_every_mutating_api_route_declares_the_change_it_attempts(
    routes: list[tuple[str, frozenset[str], object]],
) -> None:
    undeclared = [
        f"{sorted(methods & MUTATING)} {path}"
        for path, methods, route in routes
        if methods & MUTATING and (guard_of(route) is None or _guard(route).attempt is None)
    ]

    assert undeclared == [], "add dependencies=[may(Attempt…)] to these routes"


def test_every_api_route_whose_path_names_a_record_declares_which(
    routes: list[tuple[str, frozenset[str], object]],
) -> None:
    wrong = {}
    for path, _methods, route in routes:
        parameters = re.findall(r"{(\w+)}", path)
        guard = guard_of(route)
        declared = [guard.path.parameter] if guard is not None and guard.path is not None else []
        if declared != parameters:
            wrong[path] = (parameters, declared)

    assert wrong == {}, "path parameters vs the record the route declares with names(…) or may(…, record)"
