"""What a person does on the pages, named as they would say it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.browser.seeding import Json

UNTRANSLATED = """() => {
  const data = el => el.closest('[translate="no"], script, style, noscript');
  const latin = text => /[A-Za-z]/.test(text.replace(/Q-\\d+/g, ''));
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    if (text && !data(walker.currentNode.parentElement) && latin(text)) { found.push(text); }
  }
  for (const el of document.body.querySelectorAll('[aria-label], [placeholder], [title], [data-label]')) {
    for (const name of ['aria-label', 'placeholder', 'title', 'data-label']) {
      const value = el.getAttribute(name);
      if (value && !data(el) && latin(value)) { found.push(name + '=' + value); }
    }
  }
  return found;
}"""
"""Visible text and labels outside user data (marked translate="no") that still contain Latin letters."""


def open_opportunity(page: Page, opportunity: Json) -> None:
    page.goto(f"/opportunities/{opportunity['id']}")
    expect(page.locator("#opportunity-title")).to_have_text(opportunity["name"])


def dialog(page: Page) -> Locator:
    return page.locator("dialog#dialog[open]")


def open_close_dialog(page: Page, name: str = "Close opportunity") -> Locator:
    page.get_by_role("button", name=name, exact=True).click()
    expect(dialog(page).locator("#close-fields")).to_be_visible()
    return dialog(page)


def htmx_idle(page: Page) -> None:
    """Wait until no htmx request, swap or settle is under way."""
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")


def after_htmx(page: Page, action: Callable[[], object]) -> None:
    """Do something that sends an htmx request, and wait until its answer is on the page."""
    with page.expect_response(lambda response: response.request.headers.get("hx-request") == "true"):
        action()
    htmx_idle(page)


def choose_outcome(page: Page, outcome: str) -> None:
    after_htmx(page, lambda: dialog(page).get_by_role("radio", name=outcome, exact=True).check())


def toasts(page: Page) -> Locator:
    return page.locator("#toasts")


def untranslated(page: Page) -> list[str]:
    found: list[str] = page.evaluate(UNTRANSLATED)
    return found


def screenshot(page: Page, folder: Path, name: str) -> None:
    """The whole page; with a dialog open, what the screen shows (the backdrop covers only the viewport)."""
    page.screenshot(path=str(folder / f"{name}.png"), full_page=dialog(page).count() == 0)
