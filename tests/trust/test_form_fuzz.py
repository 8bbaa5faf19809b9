"""Web forms never answer 500 for anything a browser can send (SPEC §7), on both engines.

Every form route is found in the app's own routes (a new route is covered without touching this file) and sent
hostile field values, first the ones an outside probe found (`version=²`, a 5,000-digit version, `confirm=win:<id>:²`)
and then hypothesis' own. A malformed version is refused by the check order: 403 for a viewer, 422 for the rest."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy import Engine

from dealdesk.config import Settings
from dealdesk.web.app import create_app
from tests.trust.web_forms import Desk, signed_in_desk

UNKNOWN_ID = "6f1c1a4e-2b7d-4c59-9a41-0d8e6b3c2f10"
BAD_VERSIONS = ["²", "9" * 5000, "١٢", "-1", "1.0", " 7 ", "0x10"]
EXAMPLES_PER_ROUTE = 12


@dataclass(frozen=True)
class FormRoute:
    path: str
    fields: tuple[str, ...]

    def url(self, ids: dict[str, str]) -> str:
        return re.sub(r"\{(\w+)\}", lambda match: ids.get(match.group(1), UNKNOWN_ID), self.path)


def _routes(routes: list[Any]) -> Iterator[Any]:
    """Every route, looking inside included routers however this FastAPI keeps them."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if callable(contexts):
            yield from _routes(list(contexts()))
        else:
            yield route


def form_routes(app: Any) -> list[FormRoute]:
    """Every page route that takes a form post, with the fields its form model reads."""
    found = []
    for route in _routes(list(app.routes)):
        methods, path = getattr(route, "methods", None) or set(), getattr(route, "path", "")
        if "POST" not in methods or path.startswith("/api") or getattr(route, "dependant", None) is None:
            continue
        fields: list[str] = []
        for param in route.dependant.body_params:
            annotation = param.field_info.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                fields += list(annotation.model_fields)
            else:
                fields.append(param.alias)
        found.append(FormRoute(path, tuple(fields)))
    return found


@pytest.fixture
def desk(engine: Engine, settings: Settings) -> Iterator[Desk]:
    with signed_in_desk(engine, settings) as made:
        yield made


def test_the_form_routes_are_found_in_the_app(settings: Settings) -> None:
    paths = {route.path for route in form_routes(create_app(settings))}
    assert {
        "/opportunities/{opportunity_id}/edit",
        "/opportunities/{opportunity_id}/reopen",
        "/opportunities/{opportunity_id}/close-quotes",
        "/opportunities/{opportunity_id}/close",
        "/opportunities/{opportunity_id}/quotes/{quote_id}/activate",
        "/opportunities/{opportunity_id}/quotes/{quote_id}/close",
    } <= paths, paths


VERSIONED = {
    "edit": "/opportunities/{opportunity_id}/edit",
    "reopen": "/opportunities/{opportunity_id}/reopen",
    "close quotes": "/opportunities/{opportunity_id}/close-quotes",
    "activate a quote": "/opportunities/{opportunity_id}/quotes/{quote_id}/activate",
    "close a quote": "/opportunities/{opportunity_id}/quotes/{quote_id}/close",
    "close the deal": "/opportunities/{opportunity_id}/close",
    "win from the close dialog": "/opportunities/{opportunity_id}/close",
}


def _versioned_form(desk: Desk, action: str, bad: str) -> dict[str, str]:
    """The action's form, right in every field but the version, so that only the version can be refused."""
    forms = {
        "edit": {
            "name": "Deal",
            "account_id": desk.ids["account_id"],
            "currency": "USD",
            "estimated_revenue": "100.00",
            "status_reason": "in_progress",
        },
        "reopen": {"status_reason": "in_progress", "reason": "The customer came back"},  # the dialog asks for a reason
        "close quotes": {"status_reason": "lost"},
        "activate a quote": {},
        "close a quote": {"status_reason": "lost"},
        "close the deal": {"outcome": "lost", "status_reason": "canceled", "close_date": "2026-01-02"},
    }
    if action == "win from the close dialog":
        return {"outcome": "won", "close_date": "2026-01-02", "confirm": f"win:{desk.ids['quote_id']}:{bad}"}
    return {**forms[action], "version": bad}


def test_a_malformed_version_is_403_for_a_viewer_and_422_for_anyone_else_never_500(desk: Desk) -> None:
    """Each route that a probe made answer 500, with the two versions it sent; one set-up for all (sign-ins are slow
    by design)."""
    answers = {}
    for action, path in VERSIONED.items():
        url = FormRoute(path, ()).url(desk.ids)
        for bad in ("²", "9" * 5000):
            form = _versioned_form(desk, action, bad)
            viewer = desk.post(desk.viewer, url, form).status_code
            manager = desk.post(desk.manager, url, form).status_code
            answers[(action, bad[:3])] = (viewer, manager)
    assert answers == dict.fromkeys(answers, (403, 422)), answers


FIELD_TEXT = st.one_of(
    st.sampled_from(["", *BAD_VERSIONS, "\x00", "1,2,3.4,5", "0001-01-01", "99999-01-01", UNKNOWN_ID]),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=40),  # a browser sends UTF-8: no lone surrogates
    st.from_regex(r"-?[0-9,.\s]{0,14}", fullmatch=True),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)


def _confirm_text(ids: dict[str, str]) -> st.SearchStrategy[str]:
    return st.one_of(
        FIELD_TEXT,
        st.tuples(st.sampled_from(["win", "close_quotes", "close", ""]), FIELD_TEXT, FIELD_TEXT).map(
            lambda parts: f"{parts[0]}:{ids['quote_id'] if parts[1] == '' else parts[1]}:{parts[2]}"
        ),
    )


settings_for_fuzzing = settings(
    max_examples=EXAMPLES_PER_ROUTE,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _fuzz(desk: Desk, route: FormRoute, failures: list[str]) -> None:
    url = route.url(desk.ids)
    strategies = {name: (_confirm_text(desk.ids) if name == "confirm" else FIELD_TEXT) for name in route.fields}

    @settings_for_fuzzing
    @given(form=st.fixed_dictionaries(strategies), as_viewer=st.booleans())
    def post_one(form: dict[str, str], as_viewer: bool) -> None:
        response = desk.post(desk.viewer if as_viewer else desk.manager, url, form)
        if response.status_code >= 500:
            failures.append(f"POST {route.path} {form!r:.200} -> {response.status_code}")

    post_one()


def test_no_form_post_to_any_form_route_answers_500(desk: Desk) -> None:
    failures: list[str] = []
    for route in form_routes(desk.manager.app):
        _fuzz(desk, route, failures)
    assert failures == [], "\n".join(failures[:20])
