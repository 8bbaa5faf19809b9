"""The Close opportunity dialog: preview, the three ways to confirm, validation, and stale previews."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.pages import after_htmx, choose_outcome, dialog, open_close_dialog, open_opportunity, screenshot
from tests.browser.seeding import Desk, business_today


def test_a_blocked_close_names_every_active_quote_and_the_drafts_that_would_close_with_them(
    page: Page, desk: Desk, screenshots: Path
) -> None:
    opportunity = desk.opportunity("Blocked deal")
    first = desk.active_quote(opportunity, "Phase 1")
    second = desk.active_quote(opportunity, "Phase 2")
    draft = desk.quote(opportunity, "Optional extras")
    open_opportunity(page, opportunity)

    box = open_close_dialog(page)
    choose_outcome(page, "Lost")

    blocking = box.locator(".blocking-quotes li")
    expect(blocking).to_have_count(2)
    expect(blocking.nth(0)).to_contain_text(first["number"])
    expect(blocking.nth(0)).to_contain_text("Phase 1")
    expect(blocking.nth(1)).to_contain_text(second["number"])
    expect(box.locator(".draft-quotes li")).to_have_text(re.compile(draft["number"]))
    expect(box.get_by_role("heading", name="2 active quotes block the close")).to_be_visible()
    expect(box.get_by_role("button", name="Close 3 quotes as lost and close the opportunity")).to_be_visible()
    expect(box.get_by_role("button", name="Close 3 quotes as canceled and close the opportunity")).to_be_visible()
    expect(box.get_by_role("button", name="Close as lost")).to_have_count(0)
    screenshot(page, screenshots, "en-dialog-blocked")


def test_closing_the_quotes_and_the_opportunity_in_one_step_closes_everything_together(page: Page, desk: Desk) -> None:
    opportunity = desk.opportunity("One step")
    desk.active_quote(opportunity, "Phase 1")
    desk.quote(opportunity, "Draft idea")
    open_opportunity(page, opportunity)

    box = open_close_dialog(page)
    choose_outcome(page, "Lost")
    box.get_by_label("Status reason").select_option(label="Canceled")
    box.get_by_role("button", name="Close 2 quotes as canceled and close the opportunity").click()

    expect(dialog(page)).to_have_count(0)
    expect(page.locator("#opportunity-state")).to_contain_text("Lost")
    expect(page.locator("#opportunity-state")).to_contain_text("Canceled")
    expect(page.locator("#toasts")).to_contain_text("2 quotes closed.")
    expect(page.locator(".quote-item .badge")).to_have_text(["Closed", "Closed"])
    assert desk.reread(opportunity)["state"] == "lost"
    assert {(q["state"], q["status_reason"]) for q in desk.quotes_of(opportunity)} == {("closed", "canceled")}
    assert len(desk.closes_of(opportunity)) == 1


def test_a_lost_close_records_its_reason_competitor_and_description_in_the_close_history(
    page: Page, desk: Desk, screenshots: Path
) -> None:
    reason = desk.close_reason("lost", "Price too high")
    competitor = desk.competitor("Rival Consulting")
    opportunity = desk.opportunity("Lost to a rival", estimated_revenue="84000.00")
    open_opportunity(page, opportunity)

    box = open_close_dialog(page)
    choose_outcome(page, "Lost")
    expect(box.get_by_label("Actual revenue")).to_have_value("0.00")
    box.get_by_label("Status reason").select_option(label="Out-sold")
    box.get_by_label("Reason detail").select_option(label=reason["name"])
    box.get_by_label("Competitor").select_option(label=competitor["name"])
    box.get_by_label("Description").fill("They went with the cheaper offer")
    screenshot(page, screenshots, "en-dialog-clean")
    box.get_by_role("button", name="Close as lost").click()

    expect(dialog(page)).to_have_count(0)
    record = page.locator(".close-record").first
    expect(record).to_contain_text("Lost")
    expect(record).to_contain_text("Out-sold")
    expect(record).to_contain_text(reason["name"])
    expect(record).to_contain_text(competitor["name"])
    expect(record).to_contain_text("They went with the cheaper offer")
    expect(record).to_contain_text("ada")  # the signed-in user, not whoever made the records
    expect(record).to_contain_text("Current")
    expect(page.locator(".audit-entry").first).to_contain_text("Closed")
    screenshot(page, screenshots, "en-opportunity-closed")
    [close] = desk.closes_of(opportunity)
    assert (close["close_reason_id"], close["competitor_id"]) == (reason["id"], competitor["id"])


def test_reopening_and_closing_again_keeps_both_close_records_with_who_reopened_it_and_why(
    page: Page, desk: Desk
) -> None:
    opportunity = desk.opportunity("Comes back")
    desk.close(opportunity, "lost", status_reason="canceled", description="Budget frozen")
    open_opportunity(page, opportunity)

    page.get_by_role("button", name="Reopen", exact=True).click()
    dialog(page).get_by_label("On hold").check()
    dialog(page).get_by_label("Why is it reopened?").fill("Budget approved again")
    dialog(page).get_by_role("button", name="Reopen", exact=True).click()
    expect(page.locator("#opportunity-state")).to_contain_text("On hold")
    expect(page.locator(".close-record")).to_have_count(1)
    expect(page.locator(".close-record")).to_contain_text("Ended by a reopen")
    expect(page.locator(".close-record")).to_contain_text("Budget approved again")

    open_close_dialog(page)
    dialog(page).get_by_role("button", name="Close as won").click()

    records = page.locator(".close-record")
    expect(records).to_have_count(2)
    expect(records.nth(0)).to_contain_text("Won")
    expect(records.nth(0)).to_contain_text("Current")
    expect(records.nth(1)).to_contain_text("Lost")
    expect(records.nth(1)).to_contain_text("Budget frozen")
    expect(records.nth(1)).to_contain_text("Reopened by")
    expect(records.nth(1)).to_contain_text("Budget approved again")
    expect(records.nth(1).get_by_role("button", name="Correct")).to_have_count(0)
    assert [c["reopened_at"] is None for c in desk.closes_of(opportunity)] == [True, False]


def test_a_manager_corrects_the_standing_close_records_description_and_competitor(page: Page, desk: Desk) -> None:
    competitor = desk.competitor("Late entrant")
    opportunity = desk.opportunity("Needs a correction")
    desk.close(opportunity, "lost", description="Typo in here")
    open_opportunity(page, opportunity)

    page.locator(".close-record").get_by_role("button", name="Correct").click()
    dialog(page).get_by_label("Description").fill("Lost on price")
    dialog(page).get_by_label("Competitor").select_option(label=competitor["name"])
    dialog(page).get_by_role("button", name="Save correction").click()

    expect(page.locator(".close-record")).to_contain_text("Lost on price")
    expect(page.locator(".close-record")).to_contain_text(competitor["name"])
    expect(page.locator("#toasts")).to_contain_text("Close record corrected.")


def test_winning_a_quote_from_the_dialog_closes_the_others_as_lost_and_creates_the_contract(
    page: Page, desk: Desk
) -> None:
    opportunity = desk.opportunity("Two proposals")
    cheaper = desk.active_quote(opportunity, "Lean scope")
    chosen = desk.active_quote(
        opportunity, "Full scope", [{"description": "Delivery", "quantity": "3", "unit_price": "12000.00"}]
    )
    desk.quote(opportunity, "Unsent idea")
    open_opportunity(page, opportunity)

    box = open_close_dialog(page)
    expect(box.locator("#close-fields")).to_have_attribute("data-mode", "win_quote")
    expect(box.get_by_label("Actual revenue")).to_have_count(0)
    box.get_by_role("button", name=f"Win quote {chosen['number']} and close as won").click()

    expect(dialog(page)).to_have_count(0)
    expect(page.locator("#opportunity-state")).to_contain_text("Won")
    expect(page.locator("#toasts")).to_contain_text(f"Quote {chosen['number']} won")
    expect(page.locator(f"[data-quote='{chosen['number']}-0'] .badge")).to_have_text("Won")
    expect(page.locator(f"[data-quote='{cheaper['number']}-0']")).to_contain_text("Lost")
    expect(page.get_by_text("Draft contract created from the won quote")).to_be_visible()
    reread = desk.reread(opportunity)
    assert (reread["won_quote_id"], reread["actual_revenue"]) == (chosen["id"], "36000.00")
    assert desk.get(f"/api/contracts/{reread['contract_id']}")["quote_id"] == chosen["id"]


def test_invalid_fields_are_explained_next_to_each_field_and_nothing_is_closed(page: Page, desk: Desk) -> None:
    opportunity = desk.opportunity("Careful input")
    open_opportunity(page, opportunity)

    box = open_close_dialog(page)
    choose_outcome(page, "Lost")
    box.get_by_label("Close date").fill((business_today() + timedelta(days=3)).isoformat())
    box.get_by_label("Actual revenue").fill("12.345")
    after_htmx(page, lambda: box.get_by_role("button", name="Close as lost").click())

    expect(box.get_by_role("alert")).to_contain_text("Some details need attention")
    expect(box.locator("#close-status-error")).to_have_text("Choose a status reason that fits the outcome.")
    expect(box.locator("#close-date-error")).to_have_text("Enter today's date or an earlier one.")
    expect(box.locator("#close-revenue-error")).to_have_text("Use at most 2 decimals.")
    expect(box.get_by_label("Actual revenue")).to_have_attribute("aria-invalid", "true")
    expect(box.get_by_label("Status reason")).to_be_focused()
    expect(box.get_by_label("Actual revenue")).to_have_value("12.345")
    assert desk.reread(opportunity)["state"] == "open"


def test_a_quote_activated_after_the_preview_is_caught_instead_of_silently_closed(page: Page, desk: Desk) -> None:
    opportunity = desk.opportunity("Moving target")
    desk.active_quote(opportunity, "Phase 1")
    open_opportunity(page, opportunity)
    box = open_close_dialog(page)
    choose_outcome(page, "Lost")
    box.get_by_label("Status reason").select_option(label="Out-sold")
    expect(box.locator(".blocking-quotes li")).to_have_count(1)

    late = desk.active_quote(opportunity, "Phase 2 added meanwhile")
    after_htmx(page, lambda: box.get_by_role("button", name="Close 1 quote as lost and close the opportunity").click())

    expect(box.get_by_role("alert")).to_contain_text("Someone changed this opportunity or its quotes")
    expect(box.locator(".blocking-quotes li")).to_have_count(2)
    expect(box.locator(".blocking-quotes")).to_contain_text(late["number"])
    assert desk.reread(opportunity)["state"] == "open"
    assert {q["state"] for q in desk.quotes_of(opportunity)} == {"active"}


def test_the_dialog_keeps_focus_inside_labels_every_field_and_closes_on_escape(page: Page, desk: Desk) -> None:
    opportunity = desk.opportunity("Keyboard only")
    open_opportunity(page, opportunity)
    opener = page.get_by_role("button", name="Close opportunity", exact=True)
    box = open_close_dialog(page)

    unlabelled = box.evaluate(
        """box => [...box.querySelectorAll('input:not([type=hidden]), select, textarea')]
                  .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label')).map(el => el.name)"""
    )
    assert unlabelled == []
    for _ in range(25):
        page.keyboard.press("Tab")
        assert box.evaluate("box => box.contains(document.activeElement)")
    for _ in range(5):
        page.keyboard.press("Shift+Tab")
        assert box.evaluate("box => box.contains(document.activeElement)")

    page.keyboard.press("Escape")
    expect(dialog(page)).to_have_count(0)
    expect(opener).to_be_focused()


def test_a_deactivated_competitor_stays_on_its_close_and_in_its_correction_but_is_not_offered_elsewhere(
    page: Page, desk: Desk
) -> None:
    rival = desk.competitor("Gone rival")
    kept = desk.opportunity("Lost to a rival since gone")
    desk.close(kept, "lost", competitor_id=rival["id"])
    fresh = desk.opportunity("Still open after the rival went")
    answer = desk.client.patch(f"/api/competitors/{rival['id']}", json={"active": False})
    assert answer.status_code == 200, answer.text

    open_opportunity(page, kept)
    expect(page.locator(".close-record")).to_contain_text(rival["name"])
    page.locator(".close-record").get_by_role("button", name="Correct").click()
    expect(dialog(page).get_by_label("Competitor").locator("option:checked")).to_have_text(rival["name"])
    dialog(page).get_by_role("button", name="Cancel").click()

    open_opportunity(page, fresh)
    box = open_close_dialog(page)
    assert rival["name"] not in box.locator("#close-competitor option").all_text_contents()
