"""Signing in: pages need a session, a wrong password is refused, and signing out ends the session."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import PASSWORD, USER


def test_a_visitor_without_a_session_is_sent_to_sign_in_and_comes_back_after(
    visitor_page: Page, signed_in_user: tuple[str, str]
) -> None:
    visitor_page.goto("/?state=open")
    expect(visitor_page).to_have_url(re.compile(r"/login\?next="))
    visitor_page.get_by_label("User name").fill(USER)
    visitor_page.get_by_label("Password").fill(PASSWORD)
    visitor_page.get_by_role("button", name="Sign in").click()
    expect(visitor_page.get_by_role("heading", name="Opportunities")).to_be_visible()
    expect(visitor_page.locator(".user-name")).to_have_text(USER)


def test_a_wrong_password_is_refused_with_a_message_and_no_session(
    visitor_page: Page, signed_in_user: tuple[str, str]
) -> None:
    visitor_page.goto("/login")
    visitor_page.get_by_label("User name").fill(USER)
    visitor_page.get_by_label("Password").fill("not the password")
    visitor_page.get_by_role("button", name="Sign in").click()
    expect(visitor_page.get_by_role("alert")).to_contain_text("do not match")
    visitor_page.goto("/")
    expect(visitor_page).to_have_url(re.compile(r"/login"))


def test_signing_out_ends_the_session(page: Page) -> None:
    page.goto("/")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))


def test_a_form_post_without_the_csrf_token_is_refused_and_changes_nothing(page: Page) -> None:
    page.goto("/")
    answer = page.request.post("/logout", form={"csrf_token": "forged"}, max_redirects=0)
    assert answer.status == 403
    page.goto("/")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
