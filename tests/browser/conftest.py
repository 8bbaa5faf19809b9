"""Browser tests: one real server process per session (uvicorn on a fresh, migrated SQLite file) and Debian's
Chromium driven by Playwright. Each test seeds its own records through the server's JSON API, with names of its
own, so tests never see each other's data."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from playwright.sync_api import (
    APIResponse,
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    Request,
    Response,
    ViewportSize,
    sync_playwright,
)

from tests.browser.seeding import Desk
from tests.serving import free_port, wait_until_answering
from tests.web_sign_in import CSRF_FIELD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).parents[2] / "test-artifacts" / "screenshots"
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


@dataclass(frozen=True)
class Server:
    url: str
    env: dict[str, str]
    """The environment it runs with: the CLI pointed at the same database file."""

    def cli(self, *arguments: str, stdin: str = "") -> str:
        command = [str(Path(sys.executable).with_name("dealdesk")), *arguments]
        done = subprocess.run(command, env=self.env, check=True, capture_output=True, input=stdin.encode())
        return done.stdout.decode()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A SQLite file migrated by `dealdesk db upgrade` and one uvicorn process serving the app on it."""
    workdir = tmp_path_factory.mktemp("browser")
    database = f"sqlite:///{workdir / 'dealdesk.db'}"
    env = {**os.environ, "DEALDESK_DATABASE_URL": database, "DEALDESK_TIMEZONE": "UTC"}
    port = free_port()
    log = workdir / "server.log"
    command = [sys.executable, "-m", "uvicorn", "dealdesk.web.app:create_app", "--factory", "--port", str(port)]
    running = Server(url=f"http://127.0.0.1:{port}", env=env)
    running.cli("db", "upgrade")
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=workdir)
        try:
            wait_until_answering(running.url, process, log)
            yield running
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def server_url(server: Server) -> str:
    return server.url


@pytest.fixture(scope="session")
def seeder_token(server: Server) -> str:
    """An admin's API token for seeding, so seeding keeps working once the API asks who is calling."""
    return server.cli("users", "add", "seeder", "--role", "admin").strip()


@pytest.fixture(scope="session")
def api(server_url: str, seeder_token: str) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=server_url, headers={"Authorization": f"Bearer {seeder_token}"}, timeout=10) as client:
        yield client


@pytest.fixture
def desk(api: httpx2.Client) -> Desk:
    return Desk(api)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


USER, PASSWORD = "ada", "correct horse battery"


@pytest.fixture(scope="session")
def signed_in_user(server: Server) -> tuple[str, str]:
    """A manager who signs in with a password, as people do."""
    server.cli("users", "add", USER, "--role", "manager", "--password-stdin", stdin=PASSWORD + "\n")
    return USER, PASSWORD


EXPECTED_REFUSALS: list[tuple[str, str, int]] = [
    # (method, path pattern, status) of 4xx answers that tests provoke on purpose; every other answer of 400 or
    # more, every console error and every failed request fails the test that caused it.
    # A form sent with a fault answers 422 with the form again, its fields marked (dialogs and full-page forms).
    ("POST", r"/opportunities/[0-9a-f-]{36}/(edit|close|reopen|close-quotes|closes/.+/correct)", 422),
    ("POST", r"/opportunities/new", 422),
    ("POST", r"/accounts(/new|/[0-9a-f-]{36}/edit)", 422),
    ("POST", r"/settings/(competitors|close-reasons)(/[0-9a-f-]{36})?", 422),
    ("POST", r"/password", 422),
    ("POST", r"/bulk-close", 422),
    ("POST", r"/quotes/[0-9a-f-]{36}/.*", 422),
    ("POST", r"/opportunities/[0-9a-f-]{36}/quotes", 422),
    # An import with a bad row answers 422 with the page listing every problem.
    ("POST", r"/moving/import", 422),
    # A refused close or quote action (active quotes block it, a won quote exists, someone changed the deal
    # meanwhile) answers 409 or 412 with the dialog saying why.
    ("POST", r"/opportunities/[0-9a-f-]{36}/close", 409),
    ("POST", r"/opportunities/[0-9a-f-]{36}/close", 412),
    ("POST", r"/quotes/[0-9a-f-]{36}/.*", 409),
    # A one-click quote action on the deal's page that a rule refuses (a quote without lines cannot be activated)
    # answers with the refusal's status and a toast saying why.
    ("POST", r"/opportunities/[0-9a-f-]{36}/quotes/[0-9a-f-]{36}/(activate|revise|copy)", 409),
    # Winning an expired quote without confirming it is refused with the Win dialog saying why (SPEC §11).
    ("POST", r"/opportunities/[0-9a-f-]{36}/quotes/[0-9a-f-]{36}/win", 409),
    # A duplicate competitor name is refused with 409.
    ("POST", r"/settings/competitors(/[0-9a-f-]{36})?", 409),
    # Signing in with a wrong password answers 401 with the form again.
    ("POST", r"/login", 401),
    # Pages that do not exist: an id that is no opportunity's, and no id at all.
    ("GET", r"/opportunities/6f1c1a4e-2b7d-4c59-9a41-0d8e6b3c2f10", 404),
    ("GET", r"/opportunities/not-an-id", 404),
]


def _expected(response: Response) -> bool:
    path = re.sub(r"^https?://[^/]+", "", response.url).split("?")[0]
    method = response.request.method
    return any(
        method == m and re.fullmatch(pattern, path) and response.status == status
        for m, pattern, status in EXPECTED_REFUSALS
    )


class BrowserTrouble:
    """Console errors, uncaught exceptions, failed requests and unexpected error answers of every page of one
    browser context; a test fails on any of them (checked when its page fixture ends)."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.refused_urls: set[str] = set()

    def watch(self, page: Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.found.append(f"uncaught: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _response(self, response: Response) -> None:
        if response.status < 400:
            return
        if _expected(response):
            self.refused_urls.add(response.url)
        else:
            self.found.append(f"{response.request.method} {response.url} answered {response.status}")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        # Chromium logs every 4xx answer as "Failed to load resource"; the expected ones are on the allow-list.
        if message.text.startswith("Failed to load resource") and message.location.get("url") in self.refused_urls:
            return
        self.found.append(f"console error: {message.text} at {message.location.get('url')}")

    def _failed(self, request: Request) -> None:
        # The browser itself cancels a request when the page navigates away while it runs (a favicon, a
        # suggestion list still loading) or when htmx replaces it by a newer one: nothing failed on the way.
        if request.failure == "net::ERR_ABORTED":
            return
        self.found.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def check(self) -> None:
        assert not self.found, "the browser saw trouble:\n" + "\n".join(self.found)


def _context(
    browser: Browser, server_url: str, *, language: str, viewport: ViewportSize, credentials: tuple[str, str] | None
) -> BrowserContext:
    context = browser.new_context(
        base_url=server_url,
        viewport=viewport,
        locale=language,
        extra_http_headers={"Accept-Language": language},
    )
    context.set_default_timeout(5000)
    trouble = BrowserTrouble()
    context.on("page", trouble.watch)
    context.trouble = trouble  # type: ignore[attr-defined]
    if credentials is not None:
        name, password = credentials
        answer = sign_in_context(context, name, password)
        assert answer.ok, f"sign-in failed: {answer.status}"
    return context


def sign_in_context(context: BrowserContext, name: str, password: str) -> APIResponse:
    """Signs the context in through the sign-in form, its CSRF cookie and hidden field included, as a browser does."""
    form = context.request.get("/login")  # sets the sign-in CSRF cookie in the context
    found = CSRF_FIELD.search(form.text())
    assert found is not None, "the sign-in form has no CSRF field"
    fields = {"name": name, "password": password, "next": "/", "csrf_token": found.group(1)}
    return context.request.post("/login", form=fields)


def _guarded(context: BrowserContext) -> Iterator[Page]:
    """A page of the context; when the test is done, no trouble may have shown in the browser."""
    page = context.new_page()
    yield page
    trouble: BrowserTrouble = context.trouble  # type: ignore[attr-defined]
    context.close()
    trouble.check()


@pytest.fixture
def page(browser: Browser, server_url: str, signed_in_user: tuple[str, str]) -> Iterator[Page]:
    """A signed-in desktop browser whose Accept-Language asks for English."""
    context = _context(browser, server_url, language="en-GB", viewport=DESKTOP, credentials=signed_in_user)
    yield from _guarded(context)


@pytest.fixture
def zh_page(browser: Browser, server_url: str, signed_in_user: tuple[str, str]) -> Iterator[Page]:
    """A signed-in desktop browser in Hong Kong that asks for Traditional Chinese."""
    context = _context(browser, server_url, language="zh-HK", viewport=DESKTOP, credentials=signed_in_user)
    yield from _guarded(context)


@pytest.fixture
def phone_page(browser: Browser, server_url: str, signed_in_user: tuple[str, str]) -> Iterator[Page]:
    context = _context(browser, server_url, language="en-GB", viewport=PHONE, credentials=signed_in_user)
    yield from _guarded(context)


@pytest.fixture
def visitor_page(browser: Browser, server_url: str) -> Iterator[Page]:
    """A browser that has not signed in."""
    context = _context(browser, server_url, language="en-GB", viewport=DESKTOP, credentials=None)
    yield from _guarded(context)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@dataclass(frozen=True)
class Look:
    """One of the four ways every page is checked: English or Hong Kong Chinese, desktop or phone width."""

    language: str
    viewport: ViewportSize

    @property
    def chinese(self) -> bool:
        return self.language.startswith("zh")

    @property
    def phone(self) -> bool:
        return self.viewport["width"] < 720

    def say(self, english: str, chinese: str) -> str:
        return chinese if self.chinese else english


LOOKS = {
    "en-desktop": Look("en-GB", DESKTOP),
    "en-phone": Look("en-GB", PHONE),
    "zh-desktop": Look("zh-HK", DESKTOP),
    "zh-phone": Look("zh-HK", PHONE),
}


@pytest.fixture(params=list(LOOKS), ids=list(LOOKS))
def look(request: pytest.FixtureRequest) -> Look:
    return LOOKS[request.param]


@pytest.fixture
def any_page(browser: Browser, server_url: str, signed_in_user: tuple[str, str], look: Look) -> Iterator[Page]:
    """The manager's browser in each of the four looks."""
    context = _context(browser, server_url, language=look.language, viewport=look.viewport, credentials=signed_in_user)
    yield from _guarded(context)


@pytest.fixture
def sales_person(server: Server, desk: Desk) -> tuple[str, str, str]:
    """A sales user of this test: name, password and an API token."""
    name, password = f"sol{desk.tag}", "sales password 1"
    token = server.cli("users", "add", name, "--role", "sales", "--password-stdin", stdin=password + "\n").strip()
    return name, password, token


@pytest.fixture
def sales_page(browser: Browser, server_url: str, sales_person: tuple[str, str, str], look: Look) -> Iterator[Page]:
    name, password, _ = sales_person
    context = _context(
        browser, server_url, language=look.language, viewport=look.viewport, credentials=(name, password)
    )
    yield from _guarded(context)
