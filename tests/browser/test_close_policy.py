"""The close policy in the browser (SPEC §11): a manager sets it on its Settings page, and the Close
opportunity dialog marks the fields it requires (the `required` attribute and a visible mark) while the server still
refuses a close without them. In English and Hong Kong Chinese, at desktop and phone width."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Look
from tests.browser.pages import after_htmx, choose_outcome, dialog, open_close_dialog, open_opportunity, screenshot
from tests.browser.seeding import Desk

POLICY = "/api/settings/close-policy"
NOTHING: dict[str, Any] = {
    "require_close_reason": {"won": False, "lost": False},
    "require_competitor_when_out_sold": False,
    "require_description_when_lost": False,
}
FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture
def policy(desk: Desk) -> Iterator[Desk]:
    """The policy is one for the whole server: whatever a test sets, it requires nothing again afterwards."""
    yield desk
    answer = desk.client.put(POLICY, json=NOTHING)
    assert answer.status_code == 200, answer.text


def _set(desk: Desk, **changes: Any) -> None:
    answer = desk.client.put(POLICY, json={**NOTHING, **changes})
    assert answer.status_code == 200, answer.text


def test_a_manager_sets_the_close_policy_on_its_settings_page(any_page: Page, look: Look, policy: Desk) -> None:
    page = any_page
    page.goto("/settings/competitors")
    page.get_by_role("link", name=look.say("Close policy", "關閉政策")).click()
    page.wait_for_url("**/settings/close-policy")

    expect(page.get_by_role("heading", level=1)).to_have_text(look.say("Close policy", "關閉政策"))
    expect(page.locator('.tabs a[href="/settings/close-policy"]')).to_have_attribute("aria-current", "page")
    boxes = page.locator("#close-policy-form input[type=checkbox]")
    expect(boxes).to_have_count(4)
    for box in boxes.all():
        expect(box).not_to_be_checked()
    page.get_by_label(look.say("A reason detail when an opportunity is lost", "商機未成交時的原因詳情")).check()
    page.get_by_label(look.say("A description when an opportunity is lost", "商機未成交時的描述")).check()
    page.get_by_role("button", name=look.say("Save close policy", "儲存關閉政策")).click()

    expect(page.get_by_role("status")).to_have_text(look.say("Close policy saved.", "關閉政策已儲存。"))
    expect(page.locator('input[name="require_close_reason_lost"]')).to_be_checked()
    expect(page.locator('input[name="require_close_reason_won"]')).not_to_be_checked()
    assert page.evaluate(FITS)
    assert policy.get(POLICY) == {**NOTHING, "require_close_reason": {"won": False, "lost": True}} | {
        "require_description_when_lost": True
    }


def test_a_sales_person_sees_the_policy_but_cannot_change_it(sales_page: Page, look: Look, policy: Desk) -> None:
    _set(policy, require_competitor_when_out_sold=True)

    sales_page.goto("/settings/close-policy")

    expect(sales_page.locator('input[name="require_competitor_when_out_sold"]')).to_be_checked()
    expect(sales_page.locator("#close-policy-form input[type=checkbox]").first).to_be_disabled()
    expect(sales_page.get_by_role("button", name=look.say("Save close policy", "儲存關閉政策"))).to_have_count(0)


def test_the_close_dialog_marks_what_the_policy_requires_and_the_server_still_refuses(
    any_page: Page, look: Look, policy: Desk, screenshots: Path
) -> None:
    page = any_page
    _set(
        policy,
        require_close_reason={"won": True, "lost": False},
        require_competitor_when_out_sold=True,
        require_description_when_lost=True,
    )
    opportunity = policy.opportunity("Held to the policy")
    rival = policy.competitor("Cheaper Rival")
    open_opportunity(page, opportunity)

    box = open_close_dialog(page, look.say("Close opportunity", "關閉商機"))
    expect(box.locator("#close-reason")).to_have_attribute("required", "")
    expect(box.locator('label[for="close-reason"] .required-mark')).to_be_visible()
    expect(box.locator("#close-description")).not_to_have_attribute("required", "")
    expect(box.locator("#close-policy-note")).to_be_visible()

    choose_outcome(page, look.say("Lost", "未成交"))
    expect(box.locator("#close-reason")).not_to_have_attribute("required", "")
    expect(box.locator("#close-description")).to_have_attribute("required", "")
    expect(box.locator('label[for="close-description"] .required-mark')).to_be_visible()
    expect(box.locator("#close-competitor")).not_to_have_attribute("required", "")
    after_htmx(page, lambda: box.locator("#close-status").select_option("out_sold"))
    expect(box.locator("#close-competitor")).to_have_attribute("required", "")
    expect(box.locator('label[for="close-competitor"] .required-mark')).to_be_visible()
    expect(box.locator("#close-status")).to_have_value("out_sold")
    assert page.evaluate(FITS)
    screenshot(page, screenshots, f"close-dialog-policy-{look.language[:2]}-{'phone' if look.phone else 'desktop'}")

    after_htmx(page, lambda: box.locator('button[name="confirm"][value="close"]').click())

    expect(box.get_by_role("alert")).to_be_visible()
    expect(box.locator("#close-competitor-error")).to_have_text(
        look.say(
            "Choose the competitor: the close policy requires it when out-sold.",
            "請選擇競爭對手：敗給對手時，關閉政策規定必填。",  # noqa: RUF001
        )
    )
    expect(box.locator("#close-description-error")).to_have_text(
        look.say("Describe what happened: the close policy requires it.", "請描述經過：關閉政策規定必填。"),  # noqa: RUF001
    )
    expect(box.locator("#close-competitor")).to_have_attribute("aria-invalid", "true")
    assert policy.reread(opportunity)["state"] == "open"
    box.locator("#close-competitor").select_option(rival["id"])
    box.locator("#close-description").fill("Lost to a cheaper offer")
    box.locator('button[name="confirm"][value="close"]').click()

    expect(dialog(page)).to_have_count(0)
    [close] = policy.closes_of(opportunity)
    assert (close["status_reason"], close["competitor_id"]) == ("out_sold", rival["id"])


def test_the_bulk_close_dialog_marks_what_the_policy_requires_and_says_why_each_deal_was_refused(
    page: Page, policy: Desk
) -> None:
    _set(policy, require_description_when_lost=True)
    account = policy.account("Bulk policy")
    deals = [policy.opportunity("Bulk held one", account=account), policy.opportunity("Bulk held two", account=account)]

    page.goto(f"/?account={account['id']}")
    page.get_by_label("Select every open opportunity on this page").check()
    page.get_by_role("button", name="Close selected").click()
    box = dialog(page)
    expect(box.locator("#bulk-description")).to_have_attribute("required", "")
    expect(box.locator('label[for="bulk-description"] .required-mark')).to_be_visible()
    expect(box.locator("#bulk-reason")).not_to_have_attribute("required", "")
    box.get_by_label("Status reason").select_option(label="Canceled")
    box.get_by_role("button", name="Close 2 opportunities").click()

    expect(box.locator(".bulk-summary")).to_have_text("0 closed, 2 refused.")
    expect(box.locator(".bulk-result.refused .why")).to_have_text(
        ["Describe what happened: the close policy requires it."] * 2
    )
    assert [policy.reread(deal)["state"] for deal in deals] == ["open", "open"]
