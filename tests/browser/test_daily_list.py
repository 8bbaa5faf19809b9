"""The opportunity list as a daily tool (issue 13, item 3): whose deals (sales start with their own), an owner
column, sortable column headers, an overdue flag, every filter in the address, and long names cut short without
pushing the other columns away. English and Hong Kong Chinese, desktop and phone."""

from __future__ import annotations

import httpx2
from playwright.sync_api import Page, expect

from tests.browser.conftest import Look
from tests.browser.pages import after_htmx
from tests.browser.seeding import Desk


def _rows(page: Page) -> list[str]:
    names: list[str] = page.locator("#results tbody .name-cell a").all_inner_texts()
    return names


def test_sales_start_with_their_own_opportunities_and_may_switch_to_everyones(
    sales_page: Page, look: Look, desk: Desk, sales_person: tuple[str, str, str], server_url: str
) -> None:
    page = sales_page
    name, _, token = sales_person
    account = desk.account("Shared Account")
    desk.opportunity("Someone else's deal", account=account)
    with httpx2.Client(base_url=server_url, headers={"Authorization": f"Bearer {token}"}) as mine:
        body = {"name": desk.named("My own deal"), "account_id": account["id"], "estimated_revenue": "10.00"}
        assert mine.post("/api/opportunities", json=body).status_code == 201

    page.goto(f"/?q={desk.tag}")
    assert _rows(page) == [desk.named("My own deal")]
    expect(page.locator("#filter-owner")).to_have_value("mine")
    expect(page.locator("#results tbody tr").first).to_contain_text(name)

    after_htmx(page, lambda: page.locator("#filter-owner").select_option("all"))
    assert sorted(_rows(page)) == sorted([desk.named("My own deal"), desk.named("Someone else's deal")])
    expect(page).to_have_url(f"/?q={desk.tag}&owner=all")
    page.reload()
    assert len(_rows(page)) == 2


def test_column_headers_sort_the_list_both_ways_and_the_order_is_kept_in_the_address(
    any_page: Page, look: Look, desk: Desk
) -> None:
    page = any_page
    account = desk.account("Sorting Account")
    for name, revenue in [("Bravo", "2000.00"), ("Alpha", "9000.00"), ("Charlie", "500.00")]:
        desk.opportunity(name, account=account, estimated_revenue=revenue)
    page.goto(f"/?q={desk.tag}")
    if look.phone:  # the phone shows rows as cards: it sorts with the Sort by field, headers are desktop's
        after_htmx(page, lambda: page.locator("#filter-sort").select_option("revenue_high"))
    else:
        revenue_header = page.locator("#results th", has_text=look.say("Estimated revenue", "預計收入"))
        after_htmx(page, lambda: revenue_header.get_by_role("link").click())
        expect(revenue_header).to_have_attribute("aria-sort", "descending")
    assert _rows(page) == [desk.named(n) for n in ("Alpha", "Bravo", "Charlie")]
    expect(page).to_have_url(f"/?q={desk.tag}&sort=revenue_high")
    if not look.phone:
        after_htmx(
            page,
            lambda: (
                page.locator("#results th", has_text=look.say("Estimated revenue", "預計收入"))
                .get_by_role("link")
                .click()
            ),
        )
        assert _rows(page) == [desk.named(n) for n in ("Charlie", "Bravo", "Alpha")]
        after_htmx(
            page,
            lambda: page.locator("#results th", has_text=look.say("Opportunity", "商機")).get_by_role("link").click(),
        )
        assert _rows(page) == [desk.named(n) for n in ("Alpha", "Bravo", "Charlie")]
        page.reload()
        assert _rows(page) == [desk.named(n) for n in ("Alpha", "Bravo", "Charlie")]


def test_an_open_opportunity_past_its_estimated_close_date_is_flagged_overdue(
    any_page: Page, look: Look, desk: Desk
) -> None:
    page = any_page
    late = desk.opportunity("Late deal", estimated_close_date="2020-01-31")
    desk.opportunity("Future deal", estimated_close_date="2999-01-31")
    desk.close(desk.opportunity("Closed late deal", estimated_close_date="2020-01-31"))
    page.goto(f"/?q={desk.tag}")
    overdue = page.locator("#results tbody .overdue")
    expect(overdue).to_have_count(1)
    expect(overdue).to_have_text(look.say("Overdue", "已逾期"))
    expect(page.locator("#results tbody tr", has_text=late["name"]).locator(".overdue")).to_have_count(1)


def test_a_very_long_name_is_cut_short_and_shown_whole_on_hover_and_focus(
    any_page: Page, look: Look, desk: Desk
) -> None:
    page = any_page
    long_name = desk.named("Unbroken" + "x" * 280)
    account = desk.account("Long Names")
    desk.post("/api/opportunities", {"name": long_name, "account_id": account["id"], "estimated_revenue": "77.00"}, 201)
    page.goto(f"/?q={desk.tag}")
    link = page.get_by_role("link", name=long_name)
    expect(link).to_have_attribute("title", long_name)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    results = page.locator("#results")
    widths = results.evaluate("box => [box.scrollWidth, box.clientWidth]")
    assert widths[0] <= widths[1], widths
    expect(page.locator("#results tbody tr").first.locator(".money").first).to_be_in_viewport()
    link.focus()
    box = link.bounding_box()
    assert box is not None and box["height"] > 30  # focused, the whole name wraps onto more lines
