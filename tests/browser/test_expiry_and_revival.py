"""Expired quotes and reopen-and-revive on the pages (SPEC §11), in English and Hong Kong Chinese, on a desktop and
a 390 px phone."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from uuid import UUID

from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, update

from dealdesk.db import tables as t
from tests.browser.conftest import Look, Server
from tests.browser.pages import (
    after_htmx,
    dialog,
    htmx_idle,
    open_close_dialog,
    open_opportunity,
    screenshot,
    untranslated,
)
from tests.browser.seeding import Desk, Json, business_today, line


def _valid_until_yesterday(server: Server, quote: Json) -> None:
    """Time passing: the quote was valid when it was sent, and is not any more."""
    engine = create_engine(server.env["DEALDESK_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            yesterday = business_today() - timedelta(days=1)
            conn.execute(update(t.quotes).where(t.quotes.c.id == UUID(quote["id"])).values(valid_until=yesterday))
    finally:
        engine.dispose()


def test_expired_quotes_are_marked_and_winning_one_asks_for_confirmation(
    any_page: Page, look: Look, desk: Desk, server: Server, screenshots: Path
) -> None:
    page = any_page
    opportunity = desk.opportunity("Late answer")
    expired = desk.active_quote(opportunity, "Sent in spring")
    _valid_until_yesterday(server, expired)
    draft = desk.post(
        f"/api/opportunities/{opportunity['id']}/quotes",
        {"name": "Old draft", "lines": [line()], "valid_until": (business_today() - timedelta(days=3)).isoformat()},
        201,
    )
    expired_word = look.say("Expired", "已過期")

    page.goto(f"/?q={desk.tag}")
    row = page.locator("#results tbody tr", has_text=opportunity["name"])
    expect(row.locator(".expired-count")).to_have_text(look.say("2 expired quotes", "2 份已過期的報價"))

    open_opportunity(page, opportunity)
    expired_row = page.locator(f"[data-quote='{expired['number']}-0']")
    draft_row = page.locator(f"[data-quote='{draft['number']}-0']")
    expect(expired_row.locator(".badge-expired")).to_have_text(expired_word)
    expect(draft_row.locator(".badge-expired")).to_have_text(expired_word)
    screenshot(page, screenshots, f"{look.language}-{look.viewport['width']}-expired-quotes")
    if look.chinese:
        assert untranslated(page) == [], untranslated(page)

    # Activating the expired draft is refused, saying what to do.
    after_htmx(page, lambda: draft_row.get_by_role("button", name=look.say("Activate", "啟用")).click())
    expect(page.locator("#toasts")).to_contain_text(look.say("move its valid-until date first", "請先更改有效期"))
    assert desk.get(f"/api/quotes/{draft['id']}")["state"] == "draft"

    # The Close dialog lists the expired quotes.
    page.get_by_role("button", name=look.say("Close opportunity", "關閉商機"), exact=True).click()
    box = dialog(page)
    expect(box.locator(".expired-quotes")).to_contain_text(expired["number"])
    expect(box.locator(".expired-quotes")).to_contain_text(draft["number"])
    box.get_by_role("button", name=look.say("Cancel", "取消")).click()
    expect(dialog(page)).to_have_count(0)

    # Winning: the Win dialog warns; without the confirmation it is refused, with it the quote is won.
    expired_row.get_by_role("button", name=look.say("Win", "設為成交"), exact=True).click()
    box = dialog(page)
    expect(box.locator(".expired-quotes")).to_contain_text(expired_word)
    screenshot(page, screenshots, f"{look.language}-{look.viewport['width']}-win-expired")
    with page.expect_response(lambda r: r.url.endswith("/win") and r.request.method == "POST"):
        box.get_by_role("button", name=look.say("Win quote", "將報價設為成交")).click()
    htmx_idle(page)
    expect(box.get_by_role("alert")).to_contain_text(look.say("The quote has expired", "報價已過期"))
    assert desk.get(f"/api/quotes/{expired['id']}")["state"] == "active"
    box.get_by_role("checkbox", name=look.say("Win an expired quote anyway", "仍將已過期的報價設為成交")).check()
    box.get_by_role("button", name=look.say("Win quote", "將報價設為成交")).click()
    expect(expired_row.locator(".badge").first).to_have_text(look.say("Won", "成交"))
    expect(expired_row.locator(".badge-expired")).to_have_count(0)
    assert desk.get(f"/api/quotes/{expired['id']}")["state"] == "won"


def test_reopening_a_lost_deal_can_start_a_new_revision_of_a_lost_quote(
    any_page: Page, look: Look, desk: Desk, screenshots: Path
) -> None:
    page = any_page
    opportunity = desk.opportunity("Customer came back")
    offer = desk.active_quote(opportunity, "First offer")
    desk.close(opportunity, "lost", close_quotes="lost")
    open_opportunity(page, opportunity)

    page.get_by_role("button", name=look.say("Reopen", "重新開啟"), exact=True).click()
    box = dialog(page)
    choice = box.get_by_role(
        "radio", name=look.say(f"Start a new revision of {offer['number']}", f"為 {offer['number']} 建立新版本")
    )
    expect(box.get_by_role("radio", name=look.say("Keep the quotes as they are", "保留報價現狀"))).to_be_checked()
    choice.check()
    box.locator("#reopen-reason").fill("New budget")
    screenshot(page, screenshots, f"{look.language}-{look.viewport['width']}-reopen-revive")
    if look.chinese:
        assert untranslated(page) == [], untranslated(page)
    box.get_by_role("button", name=look.say("Reopen", "重新開啟"), exact=True).click()

    revived = page.locator(f"[data-quote='{offer['number']}-1']")
    expect(revived).to_be_visible()
    expect(revived.locator(".badge").first).to_have_text(look.say("Draft", "草稿"))
    expect(page.locator("#toasts")).to_contain_text(offer["number"])
    assert desk.reread(opportunity)["state"] == "open"
    states = {(q["revision"], q["state"]) for q in desk.quotes_of(opportunity)}
    assert states == {(0, "closed"), (1, "draft")}


def test_the_close_dialog_wins_an_expired_quote_only_when_it_is_confirmed(
    page: Page, desk: Desk, server: Server
) -> None:
    opportunity = desk.opportunity("Signed late")
    quote = desk.active_quote(opportunity, "Accepted late")
    _valid_until_yesterday(server, quote)
    open_opportunity(page, opportunity)

    box = open_close_dialog(page)
    expect(box.locator(".active-quotes .badge-expired")).to_have_text("Expired")
    win = box.get_by_role("button", name=f"Win quote {quote['number']} and close as won")
    with page.expect_response(lambda r: r.url.endswith("/close") and r.request.method == "POST") as answer:
        win.click()
    htmx_idle(page)
    assert answer.value.status == 409
    expect(dialog(page).get_by_role("alert")).to_contain_text("The quote has expired")
    assert desk.reread(opportunity)["state"] == "open"

    dialog(page).get_by_role("checkbox", name="Win an expired quote anyway").check()
    dialog(page).get_by_role("button", name=f"Win quote {quote['number']} and close as won").click()
    expect(dialog(page)).to_have_count(0)
    assert desk.reread(opportunity)["state"] == "won"
