"""/docs works offline: Swagger UI's files come from dealdesk itself, the page runs under its CSP with no inline
script, and the browser's console stays clean."""

from __future__ import annotations

import re

import httpx2
from playwright.sync_api import Browser, ConsoleMessage


def test_the_api_docs_load_from_dealdesk_alone_under_the_csp_with_a_clean_console(
    browser: Browser, server_url: str
) -> None:
    answer = httpx2.get(f"{server_url}/docs")
    policy = answer.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", answer.text)  # every script is a file
    context = browser.new_context()
    page = context.new_page()
    requested: list[str] = []
    problems: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"{message.type}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    try:
        page.goto(f"{server_url}/docs")
        page.locator(".swagger-ui .info .title").filter(has_text="dealdesk").wait_for(timeout=20_000)
        page.locator(".opblock-summary-path", has_text="/api/opportunities/{opportunity_id}/close").first.wait_for()
        operation = page.locator(".opblock-summary-path", has_text="/api/opportunities/{opportunity_id}/close").first
        operation.click()
        page.locator(".opblock-body").first.wait_for()
    finally:
        context.close()
    outside: list[str] = [url for url in requested if not url.startswith(server_url)]
    assert outside == []
    assert any(url.endswith("/docs/assets/swagger-ui-bundle.js") for url in requested)
    assert problems == []
