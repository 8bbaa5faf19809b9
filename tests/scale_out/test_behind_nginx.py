"""Two `dealdesk serve --workers 2` processes on one PostgreSQL behind Debian's nginx, configured by the file the
project ships (deploy/nginx/dealdesk.conf.template): the race test's mixed, conflicting operations from 8 clients
go through the proxy with no 5xx and no broken invariant; a web session started on one server works on the other;
X-Forwarded-* are believed from the proxy only.

The X-Forwarded-* checks are written against DEALDESK_TRUSTED_PROXIES=127.0.0.1 (set for both servers)."""

from __future__ import annotations

import re

import httpx2
from prometheus_client.parser import text_string_to_metric_families

from dealdesk.domain.states import Role
from dealdesk.web.session import SESSION_COOKIE
from tests.integration.db_facts import invariant_violations
from tests.scale_out.conftest import OUTSIDER, ScaleOut
from tests.trust.conftest import Figures
from tests.trust.test_race import CLIENTS, OPERATIONS_PER_CLIENT_PER_ROUND, assert_the_race_held, run_race

ROUNDS = 3
"""Bounded for CI time: 600 operations; the full 2,000-operation race runs directly against the servers in
tests/trust/test_race.py."""


def _requests_answered(server_url: str) -> float:
    text = httpx2.get(f"{server_url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "dealdesk_http_requests_total" and sample.labels.get("route", "").startswith("/api/")
    )


def test_racing_clients_through_nginx_never_get_a_5xx_or_break_an_invariant(
    behind_nginx: ScaleOut, figures: Figures
) -> None:
    before = [_requests_answered(url) for url in behind_nginx.server_urls]
    tally = run_race(behind_nginx.database, [behind_nginx.proxy_url], rounds=ROUNDS)
    with behind_nginx.database.engine.connect() as conn:
        violations = invariant_violations(conn)
    served = [_requests_answered(url) - was for url, was in zip(behind_nginx.server_urls, before, strict=True)]
    by_status = ", ".join(f"{status or 'transport error'}: {n}" for status, n in sorted(tally.statuses.items()))
    figures.record(
        "race through nginx (2 servers x 2 workers, PostgreSQL)",
        f"{tally.total} operations from {CLIENTS} clients; per status: {by_status}",
        f"API requests answered per server: {', '.join(str(int(n)) for n in served)}",
    )
    assert_the_race_held(
        tally, violations, behind_nginx.workdir, operations=CLIENTS * ROUNDS * OPERATIONS_PER_CLIENT_PER_ROUND
    )
    assert all(n > 0 for n in served), served  # nginx spread the race over both servers


def _sign_in(client: httpx2.Client, name: str, password: str) -> str:
    """Sign in through the form as a browser does; answers the session cookie."""
    page = client.get("/login")
    assert page.status_code == 200
    form = {"name": name, "password": password, "next": "/"}
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if token:
        form["csrf_token"] = token.group(1)
    answer = client.post("/login", data=form)
    assert answer.status_code == 303, answer.text
    session = answer.cookies.get(SESSION_COOKIE)
    assert session
    return f"{SESSION_COOKIE}={session}"


def test_a_session_signed_in_on_one_server_works_on_the_other(behind_nginx: ScaleOut) -> None:
    behind_nginx.database.token("sofia", Role.SALES, password="a long enough password")
    first, second = behind_nginx.server_urls
    with httpx2.Client(base_url=first) as on_first:
        cookie = _sign_in(on_first, "sofia", "a long enough password")
    with httpx2.Client(base_url=second, headers={"Cookie": cookie}) as on_second:
        page = on_second.get("/")
        assert page.status_code == 200, page.headers
        assert "sofia" in page.text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf
        assert on_second.post("/logout", data={"csrf_token": csrf.group(1)}).status_code == 303  # a form, too
    with httpx2.Client(base_url=first, headers={"Cookie": cookie}) as back_on_first:
        assert back_on_first.get("/").status_code == 303  # signed out there as well


def _metrics_status(url: str, *, source: str | None = None, forwarded_for: str | None = None) -> int:
    transport = httpx2.HTTPTransport(local_address=source) if source else None
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    with httpx2.Client(transport=transport) as client:
        return client.get(f"{url}/metrics", headers=headers).status_code


def test_forwarded_addresses_are_believed_from_the_proxy_only(behind_nginx: ScaleOut) -> None:
    server = behind_nginx.server_urls[0]
    assert _metrics_status(server) == 200  # 127.0.0.1 is allowed
    assert _metrics_status(server, source=OUTSIDER) == 404  # 127.0.0.5 is not
    # A client that is not the proxy cannot pass for an allowed address.
    assert _metrics_status(server, source=OUTSIDER, forwarded_for="127.0.0.1") == 404
    # Through the proxy, the server judges the client nginx names, not nginx itself (which is 127.0.0.1): a proxy
    # on the same host does not make /metrics public. nginx replaces whatever the client claimed.
    assert _metrics_status(behind_nginx.proxy_url, source=OUTSIDER) == 404
    assert _metrics_status(behind_nginx.proxy_url, source=OUTSIDER, forwarded_for="127.0.0.1") == 404
    assert _metrics_status(behind_nginx.proxy_url) == 200


def test_the_proxy_passes_a_request_id_on_or_gives_one(behind_nginx: ScaleOut) -> None:
    kept = httpx2.get(f"{behind_nginx.proxy_url}/healthz", headers={"X-Request-ID": "through-nginx-1"})
    assert kept.headers["x-request-id"] == "through-nginx-1"
    given = httpx2.get(f"{behind_nginx.proxy_url}/healthz", headers={"X-Request-ID": "not valid!"})
    assert re.fullmatch(r"[0-9a-f]{32}", given.headers["x-request-id"])  # nginx's $request_id
