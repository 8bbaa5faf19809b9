"""English and Traditional Chinese (Hong Kong): negotiation, the switcher, and a whole close flow in Chinese."""

from __future__ import annotations

from pathlib import Path

import httpx2
from playwright.sync_api import Page, expect

from tests.browser.pages import after_htmx, choose_outcome, dialog, open_close_dialog, screenshot, untranslated
from tests.browser.seeding import Desk


def test_the_whole_close_flow_reads_in_traditional_chinese_without_an_untranslated_word(
    zh_page: Page, desk: Desk, screenshots: Path
) -> None:
    page = zh_page
    reason = desk.close_reason("lost", "Budget cut")
    opportunity = desk.opportunity("Harbour data platform", estimated_revenue="120000.00")
    active = desk.active_quote(opportunity, "Phase 1")
    desk.quote(opportunity, "Phase 2")

    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant-HK")
    expect(page.get_by_role("heading", level=1)).to_have_text("商機")
    screenshot(page, screenshots, "zh-list")
    assert untranslated(page) == []

    page.get_by_role("link", name=opportunity["name"]).click()
    expect(page.locator("#opportunity-state")).to_contain_text("未關閉")
    expect(page.locator(".facts")).to_contain_text("US$120,000.00")
    screenshot(page, screenshots, "zh-opportunity-open")
    assert untranslated(page) == []

    box = open_close_dialog(page, "關閉商機")
    choose_outcome(page, "未成交")
    expect(box.locator(".blocking-quotes")).to_contain_text(active["number"])
    expect(box.get_by_role("heading", name="1 份使用中的報價阻止關閉商機")).to_be_visible()
    screenshot(page, screenshots, "zh-dialog-blocked")
    assert untranslated(page) == []

    close_quotes_and_close = "將 2 份報價關閉為未成交，並關閉商機"  # noqa: RUF001 - the Chinese comma is right here
    after_htmx(page, lambda: box.get_by_role("button", name=close_quotes_and_close).click())
    expect(box.locator("#close-status-error")).to_have_text("請選擇與結果相符的狀態原因。")
    assert untranslated(page) == []
    box.get_by_label("狀態原因").select_option(label="敗給對手")
    box.get_by_label("原因詳情").select_option(label=reason["name"])
    box.get_by_role("button", name=close_quotes_and_close).click()

    expect(dialog(page)).to_have_count(0)
    expect(page.locator("#toasts")).to_contain_text("商機已關閉為未成交。")
    record = page.locator(".close-record")
    expect(record.locator(".badge")).to_have_text("未成交")
    expect(record).to_contain_text("敗給對手")
    expect(record).to_contain_text("目前有效")
    expect(record).to_contain_text(reason["name"])
    screenshot(page, screenshots, "zh-opportunity-closed")
    assert untranslated(page) == []

    page.get_by_role("button", name="重新開啟", exact=True).click()
    dialog(page).get_by_label("為何重新開啟？").fill("客戶預算再獲批准")  # noqa: RUF001
    dialog(page).get_by_role("button", name="重新開啟", exact=True).click()
    expect(page.locator(".close-record")).to_contain_text("已因重新開啟而失效")
    open_close_dialog(page, "關閉商機")
    expect(dialog(page).get_by_role("button", name="關閉為成交")).to_be_visible()
    screenshot(page, screenshots, "zh-dialog-clean")
    assert untranslated(page) == []


def test_the_language_switcher_remembers_the_choice_over_the_browsers_preference(page: Page, desk: Desk) -> None:
    opportunity = desk.opportunity("Switch languages")
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Opportunities")

    page.get_by_role("button", name="繁體中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("商機")
    page.goto(f"/opportunities/{opportunity['id']}")
    expect(page.get_by_role("button", name="關閉商機")).to_be_visible()
    expect(page.get_by_role("button", name="繁體中文")).to_have_attribute("aria-pressed", "true")

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("button", name="Close opportunity")).to_be_visible()
    expect(page).to_have_url(f"/opportunities/{opportunity['id']}")


def test_accept_language_chooses_traditional_chinese_for_chinese_readers_and_english_otherwise(
    server_url: str,
) -> None:
    def language_for(header: str) -> str:
        html = httpx2.get(f"{server_url}/login", headers={"Accept-Language": header}).text
        return html.split('<html lang="', 1)[1].split('"', 1)[0]

    assert language_for("zh-HK,zh;q=0.9,en;q=0.8") == "zh-Hant-HK"
    assert language_for("zh-TW") == "zh-Hant-HK"
    assert language_for("fr-CH, fr;q=0.9, zh;q=0.5") == "zh-Hant-HK"
    assert language_for("en-US,zh-HK;q=0.5") == "en"
    assert language_for("de-DE") == "en"
    assert language_for("zh-HK;q=0, en;q=0.1") == "en"
