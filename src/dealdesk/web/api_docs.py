"""The API docs page (/docs) served entirely by dealdesk: Swagger UI's files come from the `fastapi-swagger`
package (which ships Swagger UI 5's dist files; nothing else of it is used), the start-up script is a static file of
our own, and the page has no inline script or style, so it works offline and under a strict CSP."""

from __future__ import annotations

from importlib.resources import files
from typing import Final

from fastapi import APIRouter
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_PATH: Final = "/docs/assets"
CONTENT_SECURITY_POLICY: Final = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
PAGE: Final = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>dealdesk API</title>
<link rel="icon" href="/static/favicon.svg">
<link rel="stylesheet" href="{ASSETS_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="{ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def docs_page() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY})


def swagger_ui_files() -> StaticFiles:
    return StaticFiles(directory=str(files("fastapi_swagger") / "resources"))
