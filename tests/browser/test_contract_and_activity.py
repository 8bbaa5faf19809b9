"""The project contract has a page, reached from the deal, its won quote and its activity (issue 13, item 4), and
activity entries name and link the records they are about, in the order they were written (item 5)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Look
from tests.browser.pages import open_opportunity
from tests.browser.seeding import Desk, line


def test_the_project_contract_opens_from_the_opportunity_the_won_quote_and_the_activity(
    any_page: Page, look: Look, desk: Desk
) -> None:
    page = any_page
    account = desk.account("Contract Holdings")
    opportunity = desk.opportunity("Data centre move", account=account)
    quote = desk.active_quote(opportunity, "Move plan", [line("Planning", "3", "1000"), line("Move day", "1", "4500")])
    won = desk.post(f"/api/quotes/{quote['id']}/win", {})
    contract_path = f"/contracts/{won['contract']['id']}"

    open_opportunity(page, opportunity)
    for link in (
        page.locator("#details-title").locator("xpath=ancestor::section").locator(f'a[href="{contract_path}"]'),
        page.locator(f'[data-quote="{quote["number"]}-0"] a[href="{contract_path}"]'),
        page.locator(f'.audit-entry a[href="{contract_path}"]').first,
    ):
        link.click()
        expect(page.locator("#contract-title")).to_have_text(look.say("Project contract", "專案合約"))
        expect(page.locator(".contract-lines tbody tr")).to_have_count(2)
        expect(page.locator(".contract-lines tfoot")).to_contain_text("7,500.00")
        expect(page.get_by_role("link", name=account["name"])).to_have_attribute("href", f"/accounts/{account['id']}")
        expect(page.locator(".facts")).to_contain_text(quote["number"])
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        page.go_back()
        expect(page.locator("#opportunity-title")).to_have_text(opportunity["name"])


def test_activity_entries_name_the_quote_and_link_the_records_they_set(any_page: Page, look: Look, desk: Desk) -> None:
    page = any_page
    opportunity = desk.opportunity("Named activity")
    quote = desk.active_quote(opportunity, "Phase A")
    revised = desk.post(f"/api/quotes/{quote['id']}/revise", status=201)
    desk.post(f"/api/quotes/{revised['id']}/activate")
    won = desk.post(f"/api/quotes/{revised['id']}/win", {"close_opportunity": True})

    open_opportunity(page, opportunity)
    entries = page.locator(".audit-entry")
    win_entry = (
        entries.filter(has_text=look.say("Quote won", "報價成交")).filter(has=page.locator(".audit-title a")).first
    )
    revision = look.say("revision 1", "第 1 版")
    expect(win_entry.locator(".audit-title a")).to_have_text(f"{quote['number']} {revision} · Phase A")
    deal_entry = entries.filter(has=page.locator(f'a[href="/contracts/{won["contract"]["id"]}"]')).filter(
        has_text=look.say("Won quote", "成交報價")
    )
    expect(deal_entry.locator(f'a[href$="#quote-{revised["id"]}"]')).to_have_text(
        f"{quote['number']} {revision} · Phase A"
    )
    expect(page.locator(".audit-changes li").filter(has_text=look.say("Won quote", "成交報價")).first).not_to_have_text(
        look.say("Won quote", "成交報價")
    )
