"""The opportunity page: editing details while open, winning a quote on its own, and pages that do not exist."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.pages import after_htmx, dialog, open_opportunity
from tests.browser.seeding import Desk


def test_details_are_edited_while_open_and_a_bad_amount_is_explained_next_to_its_field(page: Page, desk: Desk) -> None:
    opportunity = desk.opportunity("Editable", estimated_revenue="1000.00")
    open_opportunity(page, opportunity)

    page.get_by_role("button", name="Edit details").click()
    box = dialog(page)
    box.get_by_label("Estimated revenue").fill("10.999")
    after_htmx(page, lambda: box.get_by_role("button", name="Save details").click())
    expect(box.locator("#edit-revenue-error")).to_have_text("Use at most 2 decimals.")

    box.get_by_label("Estimated revenue").fill("12,500.50")
    box.get_by_label("Status reason").select_option(label="On hold")
    box.get_by_label("Description", exact=True).fill("Waiting for the board")
    box.get_by_role("button", name="Save details").click()

    expect(dialog(page)).to_have_count(0)
    expect(page.locator(".facts")).to_contain_text("$12,500.50")
    expect(page.locator("#opportunity-state")).to_contain_text("On hold")
    expect(page.locator(".audit-entry").first).to_contain_text("Edited")
    expect(page.locator(".audit-entry").first).to_contain_text("$1,000.00")
    assert desk.reread(opportunity)["description"] == "Waiting for the board"


def test_winning_a_quote_on_its_own_keeps_the_opportunity_open_with_a_draft_contract(page: Page, desk: Desk) -> None:
    opportunity = desk.opportunity("Won quote, open deal")
    other = desk.active_quote(opportunity, "Plan B")
    chosen = desk.active_quote(opportunity, "Plan A")
    open_opportunity(page, opportunity)

    page.locator(f"[data-quote='{chosen['number']}-0']").get_by_role("button", name="Win").click()
    dialog(page).get_by_role("button", name="Win quote").click()

    expect(page.locator("#toasts")).to_contain_text(f"Quote {chosen['number']} won: project contract created.")
    expect(page.locator("#opportunity-state")).to_contain_text("Open")
    expect(page.locator(f"[data-quote='{other['number']}-0']")).to_contain_text("Lost")
    expect(page.get_by_role("button", name="Activate")).to_have_count(0)
    reread = desk.reread(opportunity)
    assert (reread["state"], reread["won_quote_id"]) == ("open", chosen["id"])
    assert reread["contract_id"] is not None


def test_an_unknown_opportunity_is_a_readable_not_found_page(page: Page, server_url: str) -> None:
    page.goto("/opportunities/6f1c1a4e-2b7d-4c59-9a41-0d8e6b3c2f10")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not available")
    expect(page.get_by_text("This record does not exist (any more).")).to_be_visible()
    assert page.request.get("/opportunities/not-an-id").status == 404
