"""Creating and keeping the records of a working day in the browser (issue 13, item 1): a new opportunity with
its account picked by type-ahead or created inline, accounts (list, page, new, rename), the catalogues a manager
keeps, reassigning an owner, and changing one's own password. Each runs in English and Hong Kong Chinese, at
desktop and phone width."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import Look, Server, _context, _guarded, sign_in_context
from tests.browser.pages import dialog, htmx_idle, open_close_dialog
from tests.browser.seeding import Desk


def submit(page: Page, name: str, *, timeout: float | None = None) -> None:
    page.get_by_role("button", name=name, exact=True).click(timeout=timeout)


def test_a_new_opportunity_is_created_from_the_list_with_its_account_picked_by_type_ahead(
    any_page: Page, look: Look, desk: Desk
) -> None:
    page = any_page
    account = desk.account("Harbour Logistics")
    page.goto("/")
    page.get_by_role("link", name=look.say("New opportunity", "新增商機"), exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(look.say("New opportunity", "新增商機"))

    page.locator("#new-name").fill(desk.named("Warehouse scanners"))
    with page.expect_response(lambda r: "/accounts/suggest" in r.url):
        page.locator("#new-account").press_sequentially(f"bour Logistics {desk.tag}"[:12])
    htmx_idle(page)
    expect(page.locator(f'#account-suggestions option[value="{account["name"]}"]')).to_have_count(1)
    page.locator("#new-account").fill(account["name"])
    page.locator("#new-currency").select_option("HKD")
    page.locator("#new-revenue").fill("12,500")
    submit(page, look.say("Create opportunity", "建立商機"))

    expect(page.locator("#opportunity-title")).to_have_text(desk.named("Warehouse scanners"))
    details_link = page.locator(".facts").get_by_role("link", name=account["name"])
    expect(details_link).to_have_attribute("href", f"/accounts/{account['id']}")
    created = desk.get("/api/opportunities?q=" + desk.tag)["items"][0]
    assert (created["currency"], created["estimated_revenue"]) == ("HKD", "12500.00")


def test_an_account_that_does_not_exist_yet_is_created_with_the_opportunity_once_confirmed(
    any_page: Page, look: Look, desk: Desk
) -> None:
    page = any_page
    page.goto("/opportunities/new")
    page.locator("#new-name").fill(desk.named("Cloud migration"))
    page.locator("#new-account").fill(desk.named("Kowloon Bakery"))
    page.locator("#new-revenue").fill("8000")
    submit(page, look.say("Create opportunity", "建立商機"))

    expect(page.locator("#new-account-error")).to_be_visible()
    assert desk.get("/api/opportunities?q=" + desk.tag)["items"] == []
    page.get_by_role("checkbox").check()
    submit(page, look.say("Create opportunity", "建立商機"))

    expect(page.locator("#opportunity-title")).to_have_text(desk.named("Cloud migration"))
    page.locator(".facts").get_by_role("link", name=desk.named("Kowloon Bakery")).click()
    expect(page.locator("#account-title")).to_have_text(desk.named("Kowloon Bakery"))
    expect(page.get_by_role("link", name=desk.named("Cloud migration"))).to_be_visible()


def test_a_new_opportunity_with_faults_says_what_is_wrong_with_each_field_and_creates_nothing(
    any_page: Page, look: Look, desk: Desk
) -> None:
    page = any_page
    account = desk.account("Fault Finders")
    page.goto(f"/opportunities/new?account={account['id']}")
    expect(page.locator("#new-account")).to_have_value(account["name"])
    page.locator("#new-revenue").fill("12.345")
    submit(page, look.say("Create opportunity", "建立商機"))

    expect(page.locator("#new-name-error")).to_be_visible()
    expect(page.locator("#new-revenue-error")).to_be_visible()
    assert desk.get("/api/opportunities?account_id=" + account["id"])["items"] == []


def test_accounts_are_listed_created_opened_and_renamed(any_page: Page, look: Look, desk: Desk) -> None:
    page = any_page
    page.goto("/accounts")
    page.get_by_role("link", name=look.say("New account", "新增客戶"), exact=True).click()
    page.locator("#account-name").fill(desk.named("Lantau Ferries"))
    submit(page, look.say("Create account", "建立客戶"))
    expect(page.locator("#account-title")).to_have_text(desk.named("Lantau Ferries"))

    page.get_by_role("link", name=look.say("Rename", "重新命名"), exact=True).click()
    page.locator("#account-name").fill(desk.named("Lantau Ferry Company"))
    submit(page, look.say("Save account", "儲存客戶"))
    expect(page.locator("#account-title")).to_have_text(desk.named("Lantau Ferry Company"))

    page.goto("/accounts?q=" + desk.tag)
    expect(page.locator(".plain-list a")).to_have_text([desk.named("Lantau Ferry Company")])


def test_an_account_page_shows_its_open_and_closed_deals_and_its_win_loss(
    any_page: Page, look: Look, desk: Desk
) -> None:
    page = any_page
    account = desk.account("Peak Tram")
    desk.opportunity("Still talking", account=account)
    desk.close(desk.opportunity("Lost one", account=account, estimated_revenue="900.00"))
    desk.close(desk.opportunity("Won one", account=account, estimated_revenue="1200.00"), outcome="won")
    page.goto(f"/accounts/{account['id']}")
    for name in ("Still talking", "Lost one", "Won one"):
        expect(page.get_by_role("link", name=desk.named(name))).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("50")  # win rate 50 %


def test_a_manager_adds_and_renames_competitors_and_a_duplicate_name_is_refused(
    any_page: Page, look: Look, desk: Desk
) -> None:
    page = any_page
    page.goto("/settings/competitors")
    page.locator("#competitor-new").fill(desk.named("Rival Systems"))
    submit(page, look.say("Add", "新增"))
    field = page.get_by_role("textbox").and_(page.locator(f'[value="{desk.named("Rival Systems")}"]'))
    expect(field).to_have_count(1)
    field.fill(desk.named("Rival Systems Ltd"))
    field.locator("xpath=ancestor::form").get_by_role("button").click()
    page.wait_for_load_state()
    expect(page.locator(f'input[value="{desk.named("Rival Systems Ltd")}"]')).to_have_count(1)

    page.locator("#competitor-new").fill(desk.named("rival systems ltd"))
    submit(page, look.say("Add", "新增"))
    expect(page.locator(".alert-error")).to_be_visible()
    assert [c["name"] for c in desk.get("/api/competitors?limit=200")["items"] if desk.tag in c["name"]] == [
        desk.named("Rival Systems Ltd")
    ]


def test_a_manager_deactivates_a_competitor_which_then_is_not_offered_when_closing_and_activates_it_again(
    any_page: Page, look: Look, desk: Desk
) -> None:
    page = any_page
    rival = desk.competitor("Former rival")
    kept = desk.competitor("Current rival")
    opportunity = desk.opportunity("Closing without the former rival")
    page.goto("/settings/competitors")
    row = page.locator(f"#competitor-{rival['id']}").locator("xpath=ancestor::li")

    row.get_by_role("button", name=look.say("Deactivate", "停用"), exact=True).click()

    row = page.locator(f"#competitor-{rival['id']}").locator("xpath=ancestor::li")
    expect(row.locator(".tag")).to_have_text(look.say("Deactivated", "已停用"))
    expect(row.get_by_role("button", name=look.say("Activate", "啟用"), exact=True)).to_be_visible()
    assert not next(c for c in desk.get("/api/competitors?limit=200")["items"] if c["id"] == rival["id"])["active"]
    page.goto(f"/opportunities/{opportunity['id']}")
    open_close_dialog(page, look.say("Close opportunity", "關閉商機"))
    offered = dialog(page).locator("#close-competitor option").all_text_contents()
    assert kept["name"] in offered and rival["name"] not in offered

    page.goto("/settings/competitors")
    row = page.locator(f"#competitor-{rival['id']}").locator("xpath=ancestor::li")
    row.get_by_role("button", name=look.say("Activate", "啟用"), exact=True).click()
    row = page.locator(f"#competitor-{rival['id']}").locator("xpath=ancestor::li")
    expect(row.get_by_role("button", name=look.say("Deactivate", "停用"), exact=True)).to_be_visible()
    expect(row.locator(".tag")).to_have_count(0)
    assert next(c for c in desk.get("/api/competitors?limit=200")["items"] if c["id"] == rival["id"])["active"]


def test_a_manager_adds_renames_retires_and_brings_back_a_close_reason(any_page: Page, look: Look, desk: Desk) -> None:
    page = any_page
    page.goto("/settings/close-reasons")
    page.locator("#reason-outcome").select_option("won")
    page.locator("#reason-new").fill(desk.named("Best references"))
    submit(page, look.say("Add", "新增"))
    row = page.locator("#reasons-won + .catalogue-list li").filter(
        has=page.locator(f'input[value="{desk.named("Best references")}"]')
    )
    row.get_by_role("textbox").fill(desk.named("Strongest references"))
    row.get_by_role("button", name=look.say("Rename", "重新命名")).click()
    row = page.locator("#reasons-won + .catalogue-list li").filter(
        has=page.locator(f'input[value="{desk.named("Strongest references")}"]')
    )
    row.get_by_role("button", name=look.say("Retire", "停用")).click()
    expect(page.get_by_role("button", name=look.say("Bring back", "重新啟用"))).to_have_count(1)
    reason = next(r for r in desk.get("/api/close-reasons?limit=200")["items"] if desk.tag in r["name"])
    assert (reason["name"], reason["active"]) == (desk.named("Strongest references"), False)
    page.locator(f"#reason-{reason['id']}").locator("xpath=ancestor::li").get_by_role(
        "button", name=look.say("Bring back", "重新啟用")
    ).click()
    expect(page.get_by_role("button", name=look.say("Bring back", "重新啟用"))).to_have_count(0)
    assert next(r for r in desk.get("/api/close-reasons?limit=200")["items"] if desk.tag in r["name"])["active"]


def test_a_manager_reassigns_an_opportunity_to_another_owner(
    any_page: Page, look: Look, desk: Desk, server: Server
) -> None:
    page = any_page
    new_owner = f"sam{desk.tag}"
    server.cli("users", "add", new_owner, "--role", "sales")
    opportunity = desk.opportunity("Handover")
    page.goto(f"/opportunities/{opportunity['id']}")
    page.get_by_role("button", name=look.say("Edit details", "編輯詳細資料")).click()
    dialog(page).locator("#edit-owner").select_option(label=new_owner)
    with page.expect_response(lambda r: r.url.endswith("/edit") and r.request.method == "POST"):
        dialog(page).get_by_role("button", name=look.say("Save details", "儲存詳細資料")).click()
    htmx_idle(page)
    expect(page.locator(".meta")).to_contain_text(new_owner)
    assert desk.reread(opportunity)["owner_id"] != opportunity["owner_id"]


@pytest.fixture
def own_user(server: Server, desk: Desk) -> tuple[str, str]:
    """A user of this test alone, whose password the test may change."""
    name, password = f"pat{desk.tag}", "first password 1"
    server.cli("users", "add", name, "--role", "sales", "--password-stdin", stdin=password + "\n")
    return name, password


@pytest.fixture
def own_page(browser: Browser, server_url: str, own_user: tuple[str, str], look: Look) -> Iterator[Page]:
    context = _context(browser, server_url, language=look.language, viewport=look.viewport, credentials=own_user)
    yield from _guarded(context)


def test_a_signed_in_user_changes_their_own_password_and_other_sessions_end(
    own_page: Page, own_user: tuple[str, str], look: Look, browser: Browser, server_url: str
) -> None:
    page = own_page
    name, old_password = own_user
    other = browser.new_context(base_url=server_url)
    assert sign_in_context(other, name, old_password).ok
    page.goto("/password")
    page.locator("#current-password").fill("not the password")
    page.locator("#new-password").fill("a brand new password")
    page.locator("#repeat-password").fill("a brand new password")
    # argon2 checks and hashes passwords slowly on purpose: give the answer time on a busy machine
    submit(page, look.say("Change password", "更改密碼"), timeout=30_000)
    expect(page.locator("#current-password-error")).to_be_visible(timeout=30_000)

    page.locator("#current-password").fill(old_password)
    page.locator("#new-password").fill("a brand new password")
    page.locator("#repeat-password").fill("a brand new password")
    # argon2 checks and hashes passwords slowly on purpose: give the answer time on a busy machine
    submit(page, look.say("Change password", "更改密碼"), timeout=30_000)
    expect(page.locator(".notice.success")).to_be_visible(timeout=30_000)
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text(look.say("Opportunities", "商機"))

    assert other.request.get("/", max_redirects=0).status == 303  # the other session ended
    other.close()
    fresh = browser.new_context(base_url=server_url)
    assert sign_in_context(fresh, name, "a brand new password").ok
    fresh.close()
