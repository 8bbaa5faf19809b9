"""Security headers on every answer (SPEC §7), set in one place so that no route, error handler or middleware
answer (the bearer check's 401, the body limit's 413) can leave them out.

- every answer: `X-Content-Type-Options: nosniff` and `Referrer-Policy: same-origin`;
- pages (HTML): a Content-Security-Policy that allows only dealdesk's own scripts, styles and images and no
  framing (`frame-ancestors 'none'`). The templates use no inline script, style attribute or event handler, and
  htmx is configured not to inject its indicator style, so nothing needs 'unsafe-inline';
- everything but the static assets: `Cache-Control: no-store`, so that no browser or proxy keeps a signed-in page,
  an API answer or a download."""

from __future__ import annotations

from typing import Final

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

EMPTY_STYLE_HASH: Final = "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
"""The hash of an empty text: htmx writes an empty `style` attribute while it swaps some answers in, which an
empty-handed policy reports as a console error. Allowing exactly the empty style (with 'unsafe-hashes', which
the hash needs to apply to attributes) lets no styling in."""
PAGE_POLICY: Final = (
    f"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-hashes' {EMPTY_STYLE_HASH}; "
    "img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
CACHEABLE_PREFIX: Final = "/static/"


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                if headers.get("content-type", "").startswith("text/html") and "Content-Security-Policy" not in headers:
                    # a page that states its own policy keeps it (/docs: Swagger UI's own files, web/api_docs.py)
                    headers["Content-Security-Policy"] = PAGE_POLICY
                if not path.startswith(CACHEABLE_PREFIX):
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
