"""The pages' Content-Security-Policy must not break them: in the real Chromium, the main pages and the htmx-driven
Close dialog load and work with a clean console (no CSP violation, no script error)."""

from __future__ import annotations

from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.pages import choose_outcome, open_close_dialog, open_opportunity
from tests.browser.seeding import Desk


def test_the_main_pages_run_under_the_csp_with_a_clean_console(page: Page, desk: Desk) -> None:
    complaints: list[str] = []
    page.on("console", lambda message: _note(message, complaints))
    page.on("pageerror", lambda error: complaints.append(f"page error: {error}"))
    opportunity = desk.opportunity("CSP deal")
    desk.active_quote(opportunity, "Phase 1")
    for path in ["/", "/reports/win-loss", "/moving"]:
        answer = page.goto(path)
        assert answer is not None and answer.ok, path
        assert "frame-ancestors 'none'" in (answer.headers.get("content-security-policy") or "")
    page.goto("/?q=CSP")
    open_opportunity(page, opportunity)
    open_close_dialog(page)  # htmx: a fragment swapped into the dialog
    choose_outcome(page, "Lost")
    expect(page.locator("#dialog .blocking-quotes li")).to_have_count(1)
    assert complaints == []


def test_the_sign_in_page_runs_under_the_csp_with_a_clean_console(visitor_page: Page) -> None:
    complaints: list[str] = []
    visitor_page.on("console", lambda message: _note(message, complaints))
    visitor_page.goto("/login")
    expect(visitor_page.get_by_role("button", name="Sign in")).to_be_visible()
    assert complaints == []


def _note(message: ConsoleMessage, complaints: list[str]) -> None:
    if message.type in ("error", "warning"):
        complaints.append(f"{message.type}: {message.text}")
