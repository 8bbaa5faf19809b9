"""The opportunity list: filters, search, sorting, paging, and bulk close from selected rows."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.pages import after_htmx, dialog, screenshot
from tests.browser.seeding import Desk


def _rows(page: Page) -> list[str]:
    names: list[str] = page.locator("#results tbody .name-cell a").all_inner_texts()
    return names


def test_the_list_filters_by_state_and_account_searches_by_name_and_sorts(
    page: Page, desk: Desk, screenshots: Path
) -> None:
    account = desk.account("Filter Works")
    desk.opportunity("Beta rollout", account=account, estimated_revenue="2000.00")
    lost = desk.opportunity("Alpha audit", account=account, estimated_revenue="9000.00")
    desk.opportunity("Gamma support", account=account, estimated_revenue="500.00", currency="HKD")
    desk.close(lost, "lost", status_reason="canceled")

    page.goto("/")
    screenshot(page, screenshots, "en-list")
    after_htmx(page, lambda: page.get_by_label("Account").select_option(label=account["name"]))
    assert sorted(_rows(page)) == sorted(desk.named(n) for n in ("Alpha audit", "Beta rollout", "Gamma support"))
    expect(page).to_have_url(f"/?account={account['id']}")

    lost_row = page.locator("#results tbody tr", has_text=lost["name"])
    expect(lost_row.locator(".badge")).to_have_text("Lost")
    expect(lost_row).to_contain_text("Canceled")
    expect(lost_row).to_contain_text("$9,000.00")
    expect(page.locator("#results tbody tr", has_text="Gamma")).to_contain_text("HK$500.00")

    after_htmx(page, lambda: page.get_by_label("Sort by").select_option(label="Estimated revenue (highest first)"))
    assert _rows(page) == [desk.named(n) for n in ("Alpha audit", "Beta rollout", "Gamma support")]
    after_htmx(page, lambda: page.get_by_label("State").select_option(label="Open"))
    assert _rows(page) == [desk.named(n) for n in ("Beta rollout", "Gamma support")]
    after_htmx(page, lambda: page.get_by_label("Search by name").fill("gamma"))
    assert _rows(page) == [desk.named("Gamma support")]
    expect(page.locator("#results-title")).to_have_text("1\N{EN DASH}1 of 1")


def test_the_list_pages_through_many_opportunities(page: Page, desk: Desk) -> None:
    account = desk.account("Many deals")
    for number in range(27):
        desk.opportunity(f"Deal {number:02d}", account=account)

    page.goto(f"/?account={account['id']}&sort=name")
    expect(page.locator("#results-title")).to_have_text("1\N{EN DASH}25 of 27")
    after_htmx(page, lambda: page.get_by_role("link", name="Next").click())
    expect(page.locator("#results-title")).to_have_text("26\N{EN DASH}27 of 27")
    assert _rows(page) == [desk.named("Deal 25"), desk.named("Deal 26")]
    expect(page.locator(".pager")).to_contain_text("Page 2 of 2")


def test_bulk_close_says_which_opportunities_closed_and_which_were_refused_and_why(page: Page, desk: Desk) -> None:
    account = desk.account("Bulk")
    first = desk.opportunity("Bulk one", account=account)
    second = desk.opportunity("Bulk two", account=account)
    blocked = desk.opportunity("Bulk blocked", account=account)
    quote = desk.active_quote(blocked, "Still active")

    page.goto(f"/?account={account['id']}")
    expect(page.get_by_role("button", name="Close selected")).to_be_disabled()
    page.get_by_label("Select every open opportunity on this page").check()
    expect(page.locator("[data-selected-count]")).to_have_text("3")
    page.get_by_role("button", name="Close selected").click()

    box = dialog(page)
    expect(box.locator(".selected-opportunities li")).to_have_count(3)
    box.get_by_label("Status reason").select_option(label="Canceled")
    box.get_by_role("button", name="Close 3 opportunities").click()

    expect(box.locator(".bulk-summary")).to_have_text("2 closed, 1 refused.")
    refused = box.locator(".bulk-result.refused")
    expect(refused).to_contain_text(blocked["name"])
    expect(refused).to_contain_text(f"Active quotes block the close: {quote['number']}")
    expect(box.locator(".bulk-result.closed")).to_have_count(2)
    expect(page.locator("#results tbody tr", has_text=first["name"]).locator(".badge")).to_have_text("Lost")
    box.get_by_role("button", name="Done").click()
    expect(dialog(page)).to_have_count(0)
    expect(page.locator("#results tbody tr", has_text=blocked["name"]).locator(".badge")).to_have_text("Open")
    assert [desk.reread(o)["state"] for o in (first, second, blocked)] == ["lost", "lost", "open"]
