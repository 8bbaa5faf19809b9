"""Browser tests: one real server process per session (uvicorn on a fresh, migrated SQLite file) and Debian's
Chromium driven by Playwright. Each test seeds its own records through the server's JSON API, with names of its
own, so tests never see each other's data."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, ViewportSize, sync_playwright

from tests.browser.seeding import Desk
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_answering(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{log.read_text()}")
        try:
            if httpx2.get(f"{url}/static/dealdesk.css", timeout=1).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer within 30 s:\n{log.read_text()}")


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
    port = _free_port()
    log = workdir / "server.log"
    command = [sys.executable, "-m", "uvicorn", "dealdesk.web.app:create_app", "--factory", "--port", str(port)]
    running = Server(url=f"http://127.0.0.1:{port}", env=env)
    running.cli("db", "upgrade")
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT, cwd=workdir)
        try:
            _wait_until_answering(running.url, process, log)
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
    if credentials is not None:
        name, password = credentials
        form = context.request.get("/login")  # sets the sign-in CSRF cookie in the context, as a browser would
        found = CSRF_FIELD.search(form.text())
        assert found is not None, "the sign-in form has no CSRF field"
        fields = {"name": name, "password": password, "next": "/", "csrf_token": found.group(1)}
        answer = context.request.post("/login", form=fields)
        assert answer.ok, f"sign-in failed: {answer.status}"
    return context


@pytest.fixture
def page(browser: Browser, server_url: str, signed_in_user: tuple[str, str]) -> Iterator[Page]:
    """A signed-in desktop browser whose Accept-Language asks for English."""
    context = _context(browser, server_url, language="en-GB", viewport=DESKTOP, credentials=signed_in_user)
    yield context.new_page()
    context.close()


@pytest.fixture
def zh_page(browser: Browser, server_url: str, signed_in_user: tuple[str, str]) -> Iterator[Page]:
    """A signed-in desktop browser in Hong Kong that asks for Traditional Chinese."""
    context = _context(browser, server_url, language="zh-HK", viewport=DESKTOP, credentials=signed_in_user)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone_page(browser: Browser, server_url: str, signed_in_user: tuple[str, str]) -> Iterator[Page]:
    context = _context(browser, server_url, language="en-GB", viewport=PHONE, credentials=signed_in_user)
    yield context.new_page()
    context.close()


@pytest.fixture
def visitor_page(browser: Browser, server_url: str) -> Iterator[Page]:
    """A browser that has not signed in."""
    context = _context(browser, server_url, language="en-GB", viewport=DESKTOP, credentials=None)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
