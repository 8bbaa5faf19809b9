"""The win/loss page in a real browser: filters, SVG charts each with its table, the CSV download, both languages,
and a phone screen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.pages import after_htmx, screenshot, untranslated
from tests.browser.seeding import Desk, Json, business_today

FITS = "() => document.documentElement.scrollWidth <= window.innerWidth"
CHARTS = {
    "chart-closes": "table-closes",
    "chart-revenue": "table-revenue",
    "chart-lost-status": "table-lost-status",
    "chart-lost-reason": "table-lost-reason",
    "chart-lost-to": "table-lost-to",
    "chart-won-against": "table-won-against",
    "chart-owners": "table-owners",
    "chart-days": "table-days",
    "chart-reopened": "table-reopened",
}


@dataclass(frozen=True)
class Sales:
    """Three months of one account's deals, in USD and one in EUR: 2 won and 3 lost in USD, one reopened close."""

    account: Json
    rival: Json
    boutique: Json
    lost_deal: Json

    def address(self, *, currency: str = "") -> str:
        today = business_today()
        start = (today - timedelta(days=70)).isoformat()
        extra = f"&currency={currency}" if currency else ""
        return f"/reports/win-loss?period=custom&from={start}&to={today}&account={self.account['id']}{extra}"


@pytest.fixture
def sales(desk: Desk) -> Sales:
    today = business_today()
    month_ago, months_ago = (today - timedelta(days=31)).isoformat(), (today - timedelta(days=62)).isoformat()
    account = desk.account("Harbour Foods")
    rival, boutique = desk.competitor("Rival Consulting"), desk.competitor("Local Boutique")
    reason = desk.close_reason("lost", "Budget frozen")["id"]

    def deal(name: str, currency: str = "USD") -> Json:
        return desk.opportunity(name, account=account, currency=currency)

    desk.close(deal("ERP rollout"), "won", actual_revenue="1200.00", competitor_id=rival["id"])
    lost_deal = deal("Data platform")
    desk.active_quote(lost_deal, "Platform offer")
    desk.close(
        lost_deal,
        "lost",
        close_date=month_ago,
        competitor_id=rival["id"],
        close_reason_id=reason,
        close_quotes="lost",
    )
    desk.close(
        deal("Mobile app"), "lost", status_reason="canceled", close_date=months_ago, competitor_id=boutique["id"]
    )
    changed = deal("Analytics")
    desk.close(changed, "won", close_date=month_ago, actual_revenue="5000.00")
    desk.post(f"/api/opportunities/{changed['id']}/reopen", {"reason": "Customer chose another offer"})
    desk.close(changed, "lost", competitor_id=boutique["id"])
    desk.close(deal("Support contract"), "won", close_date=months_ago, actual_revenue="800.00")
    desk.close(deal("Euro rollout", "EUR"), "won", close_date=month_ago, actual_revenue="3000.00")
    return Sales(account=account, rival=rival, boutique=boutique, lost_deal=lost_deal)


def _every_chart_has_its_table(page: Page) -> None:
    for chart, table in CHARTS.items():
        expect(page.locator(f"svg#{chart}[role=img]")).to_be_visible()
        expect(page.locator(f"svg#{chart} .chart-bar").first).to_be_attached()  # days may be 0 here: see below
        expect(page.locator(f"table#{table}")).to_be_visible()


def test_a_manager_filters_the_report_and_reads_every_chart_beside_its_table(
    page: Page, sales: Sales, screenshots: Path
) -> None:
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Win/loss").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Win/loss")
    expect(page.get_by_role("link", name="Win/loss")).to_have_attribute("aria-current", "page")

    after_htmx(page, lambda: page.get_by_label("Period", exact=True).select_option(label="Custom range"))
    start = (business_today() - timedelta(days=70)).isoformat()
    after_htmx(page, lambda: page.get_by_label("From", exact=True).fill(start))
    after_htmx(page, lambda: page.get_by_label("Account", exact=True).select_option(label=sales.account["name"]))
    expect(page).to_have_url(f"/reports/win-loss?period=custom&from={start}&account={sales.account['id']}")

    tiles = page.locator(".report-tiles")
    expect(tiles.locator(".tile").nth(0)).to_contain_text("40.0%")
    expect(tiles.locator(".tile-won .tile-value")).to_have_text("2")
    expect(tiles.locator(".tile-lost .tile-value")).to_have_text("3")
    expect(tiles.locator(".tile").nth(4)).to_contain_text("1")
    _every_chart_has_its_table(page)
    expect(page.locator("svg#chart-closes .chart-point")).to_have_count(3)
    assert page.locator("#table-closes tbody tr").count() in (3, 4)  # the range starts 70 days ago

    lost_to = page.locator("#table-lost-to tbody tr")
    expect(lost_to).to_have_count(2)
    expect(lost_to.nth(0)).to_contain_text(sales.boutique["name"])  # most losses first: 2, then Rival's 1
    expect(lost_to.nth(0).locator("td").nth(0)).to_have_text("2")
    expect(page.locator("#table-won-against tbody tr")).to_contain_text([sales.rival["name"]])
    expect(page.locator("#table-reopened")).to_contain_text("Reopened")
    owners = page.locator("#table-owners tbody tr")
    expect(owners).to_have_count(1)  # every deal here is the signed-in manager's
    expect(owners.nth(0).locator("td").nth(0)).to_have_text("2")
    expect(owners.nth(0).locator("td").nth(1)).to_have_text("3")
    expect(owners.nth(0).locator("td").nth(2)).to_have_text("40%")
    expect(owners.nth(0).locator("td").nth(3)).to_contain_text("2,000.00")
    quotes_lost = page.locator("#table-quotes-lost-to tbody tr")
    expect(quotes_lost).to_have_count(1)
    expect(quotes_lost.nth(0)).to_contain_text(sales.rival["name"])
    expect(quotes_lost.nth(0).locator("td").nth(0)).to_have_text("1")
    expect(quotes_lost.nth(0).locator("td").nth(1)).to_contain_text("1,250.00")
    # Deals created today and closed back-dated: days to close of 0 and less are written, not drawn.
    expect(page.locator("#table-days tbody tr").nth(0)).to_contain_text("-31")
    screenshot(page, screenshots, "en-win-loss")

    with page.expect_download() as download_info:
        page.locator('a[href^="/reports/win-loss.csv"]').click()  # the machine form, "Data for other systems"
    download = download_info.value
    assert download.suggested_filename.startswith("dealdesk-win-loss-USD-")
    rows = Path(download.path()).read_text(encoding="utf-8-sig").splitlines()
    assert rows[0] == "section,item,item_id,measure,value"
    assert "total,,,won_count,2" in rows
    assert "total,,,reopened_count,1" in rows

    after_htmx(page, lambda: page.get_by_label("Currency", exact=True).select_option("EUR"))
    expect(tiles.locator(".tile-won .tile-value")).to_have_text("1")
    expect(tiles.locator(".tile-won")).to_contain_text("€3,000.00")


def test_the_report_reads_in_traditional_chinese_without_an_untranslated_word(
    zh_page: Page, sales: Sales, screenshots: Path
) -> None:
    page = zh_page
    page.goto(sales.address())

    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant-HK")
    expect(page.get_by_role("heading", level=1)).to_have_text("成交／未成交分析")  # noqa: RUF001
    expect(page.get_by_role("link", name="成交／未成交分析")).to_have_attribute("aria-current", "page")  # noqa: RUF001
    expect(page.get_by_label("期間", exact=True)).to_have_value("custom")
    expect(page.locator(".report-tiles .tile").nth(0)).to_contain_text("40.0%")
    _every_chart_has_its_table(page)
    expect(page.get_by_role("heading", name="敗給競爭對手而未成交", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="按負責人劃分的成交與未成交")).to_be_visible()
    expect(page.get_by_role("heading", name="敗給競爭對手而未成交的報價")).to_be_visible()
    expect(page.locator("#table-days thead")).to_contain_text("平均日數")
    screenshot(page, screenshots, "zh-win-loss")
    assert untranslated(page) == []


def test_the_report_fits_a_phone_with_its_wide_charts_scrolling_on_their_own(
    phone_page: Page, sales: Sales, screenshots: Path
) -> None:
    page = phone_page
    page.goto(sales.address())

    expect(page.get_by_role("heading", level=1)).to_have_text("Win/loss")
    _every_chart_has_its_table(page)
    assert page.evaluate(FITS)
    screenshot(page, screenshots, "phone-win-loss")


def test_a_quote_closed_with_its_lost_deal_shows_whom_it_was_lost_to_and_why(
    page: Page, zh_page: Page, sales: Sales
) -> None:
    page.goto(f"/opportunities/{sales.lost_deal['id']}")

    loss = page.locator("[data-quote-loss]")
    expect(loss).to_have_count(1)
    expect(loss).to_contain_text("Lost to")
    expect(loss).to_contain_text(sales.rival["name"])
    expect(loss).to_contain_text("Budget frozen")

    zh_page.goto(f"/opportunities/{sales.lost_deal['id']}")
    expect(zh_page.locator("[data-quote-loss]")).to_contain_text("未成交，敗給")  # noqa: RUF001
    expect(zh_page.locator("[data-quote-loss]")).to_contain_text("原因詳情")
    assert untranslated(zh_page) == []
