"""Wrong or confusing, fixed (issue 13): messages say the actual problem and go once the field is changed, the
Close dialog does not offer Lost when a quote was won, and reopening asks why."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from playwright.sync_api import FilePayload, Page, expect

from tests.browser.conftest import Look
from tests.browser.pages import dialog, htmx_idle, open_opportunity
from tests.browser.seeding import Desk


def test_an_empty_name_and_a_13_digit_amount_say_what_is_wrong_and_the_message_goes_once_fixed(
    any_page: Page, look: Look, desk: Desk
) -> None:
    page = any_page
    account = desk.account("Message Makers")
    page.goto(f"/opportunities/new?account={account['id']}")
    page.locator("#new-revenue").fill("1234567890123")
    page.get_by_role("button", name=look.say("Create opportunity", "建立商機")).click()
    expect(page.locator("#new-name-error")).to_have_text(look.say("Enter a name.", "請輸入名稱。"))
    expect(page.locator("#new-revenue-error")).to_have_text(
        look.say("Enter at most 999,999,999,999.99.", "金額不可超過 999,999,999,999.99。")
    )
    page.locator("#new-name").fill("Fixed now")
    expect(page.locator("#new-name-error")).to_be_hidden()
    expect(page.locator("#new-name")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#new-revenue-error")).to_be_visible()

    page.locator("#new-revenue").fill("12.345")
    page.get_by_role("button", name=look.say("Create opportunity", "建立商機")).click()
    expect(page.locator("#new-revenue-error")).to_have_text(look.say("Use at most 2 decimals.", "最多兩位小數。"))


def test_the_close_dialog_of_a_deal_with_a_won_quote_offers_no_lost_and_says_why(
    any_page: Page, look: Look, desk: Desk
) -> None:
    page = any_page
    opportunity = desk.opportunity("Won but open")
    quote = desk.active_quote(opportunity, "Accepted")
    desk.post(f"/api/quotes/{quote['id']}/win", {})
    open_opportunity(page, opportunity)
    page.get_by_role("button", name=look.say("Close opportunity", "關閉商機"), exact=True).click()
    box = dialog(page)
    expect(box.get_by_role("radio", name=look.say("Lost", "未成交"), exact=True)).to_be_disabled()
    expect(box.locator("#only-won-why")).to_contain_text(quote["number"])
    expect(box.get_by_role("radio", name=look.say("Won", "成交"), exact=True)).to_be_checked()


def test_reopening_asks_why_and_the_history_shows_the_reason(any_page: Page, look: Look, desk: Desk) -> None:
    page = any_page
    opportunity = desk.opportunity("Back again")
    desk.close(opportunity)
    open_opportunity(page, opportunity)
    page.get_by_role("button", name=look.say("Reopen", "重新開啟"), exact=True).click()
    box = dialog(page)
    with page.expect_response(lambda r: r.url.endswith("/reopen") and r.request.method == "POST"):
        box.get_by_role("button", name=look.say("Reopen", "重新開啟"), exact=True).click()
    htmx_idle(page)
    expect(box.locator("#reopen-reason-error")).to_have_text(
        look.say("Say why it is reopened.", "請說明重新開啟的原因。")
    )
    assert desk.reread(opportunity)["state"] == "lost"
    box.locator("#reopen-reason").fill("Budget approved again")
    box.get_by_role("button", name=look.say("Reopen", "重新開啟"), exact=True).click()
    expect(page.locator(".close-record")).to_contain_text("Budget approved again")
    assert desk.reread(opportunity)["state"] == "open"


def test_a_sales_user_on_someone_elses_deal_is_told_who_may_change_it(sales_page: Page, look: Look, desk: Desk) -> None:
    opportunity = desk.opportunity("Not yours")
    open_opportunity(sales_page, opportunity)
    expect(sales_page.locator("#read-only-why")).to_contain_text("seeder")
    expect(sales_page.get_by_role("button", name=look.say("Close opportunity", "關閉商機"))).to_have_count(0)


def test_the_win_loss_download_is_tables_in_the_readers_language_with_names_guarded(
    any_page: Page, look: Look, desk: Desk
) -> None:
    page = any_page
    account = desk.account("Table Readers")
    rival = desk.post("/api/competitors", {"name": f"=HYPERLINK({desk.tag})"}, 201)
    desk.close(desk.opportunity("Lost to formula", account=account), competitor_id=rival["id"])
    page.goto(f"/reports/win-loss?account={account['id']}")
    link = page.locator('a[href^="/reports/win-loss-tables.csv"]')
    expect(link).to_contain_text(look.say("Download tables", "下載表格"))
    answer = page.request.get(link.get_attribute("href") or "")
    assert answer.ok
    rows = answer.body().decode("utf-8-sig").splitlines()
    assert rows[0] == look.say("Summary", "摘要")
    assert any(row.startswith(f"'=HYPERLINK({desk.tag})") for row in rows), rows
    assert look.say("Lost closes by status reason", "按狀態原因劃分的未成交次數") in rows


def test_the_win_loss_workbook_downloads_with_a_sheet_per_table_in_the_readers_language(
    any_page: Page, look: Look, desk: Desk
) -> None:
    page = any_page
    account = desk.account("Workbook Readers")
    rival = desk.post("/api/competitors", {"name": f"=HYPERLINK({desk.tag})"}, 201)
    desk.close(desk.opportunity("Lost to a workbook formula", account=account), competitor_id=rival["id"])
    page.goto(f"/reports/win-loss?account={account['id']}")
    link = page.locator('a[href^="/reports/win-loss-tables.xlsx"]')
    expect(link).to_contain_text("XLSX")

    with page.expect_download() as download:
        link.click()

    assert download.value.suggested_filename.endswith(".xlsx")
    book = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    assert book.sheetnames[0] == look.say("Summary", "摘要")
    sheet = book[look.say("Competitors", "競爭對手")]
    cells = [row[0] for row in sheet.iter_rows(min_row=3) if row[0].value]
    assert [(c.value, c.data_type) for c in cells] == [(f"'=HYPERLINK({desk.tag})", "s")]
    assert isinstance(sheet.cell(row=3, column=3).value, int)


def test_an_import_with_a_bad_row_gives_its_reason_in_the_readers_language(
    any_page: Page, look: Look, desk: Desk
) -> None:
    page = any_page
    page.goto("/moving")
    page.locator("#import-kind").select_option("accounts")
    bad = f"external_id,name\n{desk.tag}-1,\n".encode()
    page.locator("#import-file").set_input_files(
        files=[FilePayload(name="accounts.csv", mimeType="text/csv", buffer=bad)]
    )

    page.get_by_role("button", name=look.say("Check and import", "檢查並匯入")).click()

    row = page.locator(".problem-table tbody tr").first
    expect(row.locator("td").nth(0)).to_have_text("2")
    expect(row.locator("td").nth(1)).to_have_text("name")
    expect(row.locator("td").nth(2)).to_have_text(look.say("is required", "必須填寫"))
    expect(page.locator(".problem-table caption")).to_have_text(
        look.say(
            "Line 1 is the header. Column names and values are as in the file.",
            "第 1 行是標題行。欄位名稱和數值與檔案相同。",
        )
    )
