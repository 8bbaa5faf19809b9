"""Every page, in English and Hong Kong Chinese, at desktop and 390 px phone width: it fits the screen without
sideways scrolling, the phone reaches every section through the menu, and a screenshot of it lands in
test-artifacts/screenshots/pages/ for people to look at (`./test tests/browser/test_every_page.py`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Look, _context, _guarded
from tests.browser.pages import open_close_dialog, screenshot
from tests.browser.seeding import Desk, line

CLOSE_OPPORTUNITY_ZH = "關閉商機"
SPACE_AFTER_FULL_WIDTH = r"""() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const hits = walker.currentNode.textContent.match(/[\uff0c\u3002\uff1a\uff1b\uff01\uff1f\u3001\uff09][ \u00a0]\S/g);
    if (hits) { found.push(...hits); }
  }
  return found;
}"""
"""Full-width comma, full stop, colon, semicolon, exclamation and question marks, enumeration comma and closing
parenthesis followed by a space inside one piece of text."""
SPACE_AFTER_DRAWN_COLON = """() => [...document.querySelectorAll('.audit-field')].some(field => {
  const next = field.nextSibling;
  return next && next.nodeType === Node.TEXT_NODE && /^\\s/.test(next.textContent);
})"""
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"
LONG_NAME = "Regional" + "x" * 280


@pytest.fixture
def pages_folder(screenshots: Path) -> Path:
    folder = screenshots / "pages"
    folder.mkdir(exist_ok=True)
    return folder


def _fits_and_shot(page: Page, folder: Path, look: Look, name: str) -> None:
    page.wait_for_load_state("networkidle")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    screenshot(page, folder, f"{name}-{look.language[:2]}-{'phone' if look.phone else 'desktop'}")
    assert page.evaluate(FITS), f"{name} is {width} px wide at {look.viewport['width']} px"
    if look.chinese:
        spaced = page.evaluate(SPACE_AFTER_FULL_WIDTH)
        assert not spaced, f"{name}: full-width punctuation followed by a space: {spaced}"
        # Field labels end in a full-width colon drawn by CSS (::after): no text space may follow them either.
        assert not page.evaluate(SPACE_AFTER_DRAWN_COLON), f"{name}: a space after a field label's colon"


def test_every_page_fits_the_screen_in_every_language_and_width(
    any_page: Page, look: Look, desk: Desk, pages_folder: Path
) -> None:
    page = any_page
    account = desk.account("Screenshot Shipping")
    opportunity = desk.opportunity("Fleet tracking rollout", account=account, estimated_close_date="2026-01-15")
    desk.opportunity(LONG_NAME, account=account)
    quote = desk.active_quote(
        opportunity,
        "Phase 1 hardware and installation",
        [line("Tracking units for the whole fleet of vessels", "120", "1875.50"), line("Installation", "1", "98000")],
    )
    won = desk.opportunity("Harbour cranes", account=account)
    desk.post(f"/api/quotes/{desk.active_quote(won, 'Cranes')['id']}/win", {"close_opportunity": True})
    desk.competitor()
    desk.close_reason()

    for path, name in [
        ("/", "list"),
        (f"/?q={desk.tag}", "list-filtered"),
        ("/opportunities/new", "new-opportunity"),
        ("/accounts", "accounts"),
        ("/accounts/new", "new-account"),
        (f"/accounts/{account['id']}", "account"),
        (f"/accounts/{account['id']}/edit", "rename-account"),
        ("/settings/competitors", "competitors"),
        ("/settings/close-reasons", "close-reasons"),
        ("/settings/close-policy", "close-policy"),
        ("/password", "password"),
        ("/reports/win-loss", "win-loss"),
        ("/moving", "import-export"),
        (f"/opportunities/{won['id']}", "won-opportunity"),
    ]:
        page.goto(path)
        _fits_and_shot(page, pages_folder, look, name)

    page.goto(f"/opportunities/{opportunity['id']}")
    page.locator(f'[data-quote="{quote["number"]}-0"] summary').click()
    _fits_and_shot(page, pages_folder, look, "opportunity-lines-open")
    open_close_dialog(page, look.say("Close opportunity", CLOSE_OPPORTUNITY_ZH))
    screenshot(page, pages_folder, f"close-dialog-{look.language[:2]}-{'phone' if look.phone else 'desktop'}")


@pytest.fixture
def visitor(browser: Browser, server_url: str, look: Look) -> Iterator[Page]:
    context = _context(browser, server_url, language=look.language, viewport=look.viewport, credentials=None)
    yield from _guarded(context)


def test_the_sign_in_page_fits_and_shows_no_navigation_before_signing_in(
    visitor: Page, look: Look, pages_folder: Path
) -> None:
    visitor.goto("/login")
    expect(visitor.get_by_role("navigation", name=look.say("Main", "主選單"))).to_have_count(0)
    _fits_and_shot(visitor, pages_folder, look, "sign-in")


def test_on_a_phone_the_menu_button_reaches_every_section(any_page: Page, look: Look) -> None:
    page = any_page
    page.goto("/")
    menu = page.get_by_role("button", name=look.say("Menu", "選單"))
    nav = page.get_by_role("navigation", name=look.say("Main", "主選單"))
    if not look.phone:
        expect(menu).to_be_hidden()
        expect(nav).to_be_visible()
        return
    expect(nav).to_be_hidden()
    for path, heading in [
        ("/accounts", look.say("Accounts", "客戶")),
        ("/reports/win-loss", None),
        ("/moving", None),
        ("/settings/competitors", look.say("Competitors", "競爭對手")),
        ("/", look.say("Opportunities", "商機")),
    ]:
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        link = nav.locator(f'a[href="{path}"]')
        expect(link).to_be_visible()
        link.click()
        page.wait_for_url(f"**{path}")
        expect(page.locator(f'#main-menu a[href="{path}"]')).to_have_attribute("aria-current", "page")
        if heading:
            expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        expect(nav).to_be_hidden()
    menu.click()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(menu).to_be_focused()
