"""The pages fit a 390 px phone, and htmx swaps do not push the page around."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.pages import after_htmx, dialog, open_close_dialog, open_opportunity, screenshot
from tests.browser.seeding import Desk

FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


def test_the_list_the_opportunity_page_and_the_dialog_fit_a_phone_without_sideways_scrolling(
    phone_page: Page, desk: Desk, screenshots: Path
) -> None:
    page = phone_page
    opportunity = desk.opportunity("A deal with a rather long name to wrap on a phone screen")
    desk.active_quote(opportunity, "Implementation and hypercare, phase one")
    desk.quote(opportunity, "Optional training")

    page.goto("/")
    assert page.evaluate(FITS)
    screenshot(page, screenshots, "phone-list")

    open_opportunity(page, opportunity)
    assert page.evaluate(FITS)
    screenshot(page, screenshots, "phone-opportunity")

    box = open_close_dialog(page)
    assert box.evaluate("box => box.scrollWidth <= box.clientWidth")
    expect(box.locator(".dialog-foot .button").first).to_be_in_viewport()
    screenshot(page, screenshots, "phone-dialog")


def test_an_htmx_action_refreshes_the_page_region_without_moving_what_is_above_it(page: Page, desk: Desk) -> None:
    opportunity = desk.opportunity("Steady layout")
    desk.quote(opportunity, "Ready to send")
    open_opportunity(page, opportunity)
    before = page.locator(".quote-item").bounding_box()

    after_htmx(page, lambda: page.get_by_role("button", name="Activate").click())

    expect(page.locator(".quote-item .badge")).to_have_text("Active")
    expect(page.locator("#toasts")).to_contain_text("activated")
    assert page.locator(".quote-item").bounding_box() == before
    expect(dialog(page)).to_have_count(0)
