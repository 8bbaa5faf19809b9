"""Quote actions on the opportunity page, and Close all quotes."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.pages import after_htmx, dialog, open_opportunity
from tests.browser.seeding import Desk


def test_a_draft_with_lines_is_created_edited_activated_revised_and_copied(page: Page, desk: Desk) -> None:
    opportunity = desk.opportunity("Quoting")
    open_opportunity(page, opportunity)

    page.get_by_role("button", name="New quote").click()
    box = dialog(page)
    box.get_by_label("Quote name").fill("Discovery")
    box.get_by_role("button", name="Add line").click()
    descriptions = box.get_by_label("Description", exact=True)
    quantities = box.get_by_label("Quantity")
    prices = box.get_by_label("Unit price")
    descriptions.nth(0).fill("Workshop")
    quantities.nth(0).fill("2")
    prices.nth(0).fill("1,250.00")
    descriptions.nth(1).fill("Partner discount")
    quantities.nth(1).fill("1")
    prices.nth(1).fill("-500")
    box.get_by_role("button", name="Save draft").click()

    quote = page.locator(".quote-item").first
    expect(quote).to_contain_text("Discovery")
    expect(quote).to_contain_text("$2,000.00")
    expect(quote.locator(".badge")).to_have_text("Draft")

    quote.get_by_role("button", name="Edit").click()
    dialog(page).get_by_label("Quantity").first.fill("3")
    dialog(page).get_by_role("button", name="Save draft").click()
    expect(quote).to_contain_text("$3,250.00")

    after_htmx(page, lambda: quote.get_by_role("button", name="Activate").click())
    expect(quote.locator(".badge")).to_have_text("Active")
    after_htmx(page, lambda: quote.get_by_role("button", name="Revise").click())
    expect(page.locator(".quote-item")).to_have_count(2)
    expect(page.locator(".quote-item").nth(0)).to_contain_text("Revised")
    expect(page.locator(".quote-item").nth(1)).to_contain_text("revision 1")
    expect(page.locator("#toasts")).to_contain_text("revision 1 is a new draft")

    after_htmx(page, lambda: page.locator(".quote-item").nth(0).get_by_role("button", name="Copy").click())
    expect(page.locator(".quote-item")).to_have_count(3)
    numbers = {q["number"] for q in desk.quotes_of(opportunity)}
    assert len(numbers) == 2


def test_a_draft_is_deleted_and_an_active_quote_closed_as_canceled(page: Page, desk: Desk) -> None:
    opportunity = desk.opportunity("Tidy up")
    draft = desk.quote(opportunity, "Scratch")
    active = desk.active_quote(opportunity, "Sent")
    open_opportunity(page, opportunity)

    page.locator(f"[data-quote='{draft['number']}-0']").get_by_role("button", name="Delete").click()
    expect(dialog(page)).to_contain_text("The draft and its lines are deleted")
    dialog(page).get_by_role("button", name="Delete draft").click()
    expect(page.locator(".quote-item")).to_have_count(1)

    page.locator(f"[data-quote='{active['number']}-0']").get_by_role("button", name="Close quote").click()
    dialog(page).get_by_label("Close as").select_option(label="Canceled")
    dialog(page).get_by_role("button", name="Close quote").click()
    expect(page.locator(".quote-item")).to_contain_text("Canceled")
    assert [(q["state"], q["status_reason"]) for q in desk.quotes_of(opportunity)] == [("closed", "canceled")]


def test_activating_a_quote_without_lines_is_refused_with_the_reason(page: Page, desk: Desk) -> None:
    opportunity = desk.opportunity("Empty quote")
    desk.quote(opportunity, "No lines yet", lines=[])
    open_opportunity(page, opportunity)

    after_htmx(page, lambda: page.locator(".quote-item").get_by_role("button", name="Activate").click())

    expect(page.locator("#toasts .toast-error")).to_contain_text("The quote has no lines")
    expect(page.locator(".quote-item .badge")).to_have_text("Draft")


def test_close_all_quotes_lists_the_quotes_it_will_close_and_leaves_the_opportunity_open(
    page: Page, desk: Desk
) -> None:
    opportunity = desk.opportunity("Reset quoting")
    active = desk.active_quote(opportunity, "Sent")
    draft = desk.quote(opportunity, "Unsent")
    open_opportunity(page, opportunity)

    page.get_by_role("button", name="Close all quotes").click()
    box = dialog(page)
    listed = box.locator(".quotes-to-close li")
    expect(listed).to_have_count(2)
    expect(listed.nth(0)).to_contain_text(active["number"])
    expect(listed.nth(1)).to_contain_text(draft["number"])
    box.get_by_label("Close them as").select_option(label="Canceled")
    box.get_by_role("button", name="Close 2 quotes").click()

    expect(page.locator("#toasts")).to_contain_text("2 quotes closed.")
    expect(page.locator(".quote-item .badge")).to_have_text(["Closed", "Closed"])
    expect(page.get_by_role("button", name="Close all quotes")).to_have_count(0)
    expect(page.locator("#opportunity-state")).to_contain_text("Open")
