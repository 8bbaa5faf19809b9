"""The machine-readable contract: /openapi.json lists every SPEC §7 endpoint, and /docs renders it."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

SPEC_ENDPOINTS = {
    ("post", "/api/accounts"),
    ("get", "/api/accounts"),
    ("get", "/api/accounts/{}"),
    ("post", "/api/competitors"),
    ("get", "/api/competitors"),
    ("post", "/api/close-reasons"),
    ("get", "/api/close-reasons"),
    ("patch", "/api/close-reasons/{}"),
    ("post", "/api/opportunities"),
    ("get", "/api/opportunities"),
    ("get", "/api/opportunities/{}"),
    ("patch", "/api/opportunities/{}"),
    ("post", "/api/opportunities/{}/quotes"),
    ("get", "/api/opportunities/{}/quotes"),
    ("get", "/api/quotes/{}"),
    ("patch", "/api/quotes/{}"),
    ("delete", "/api/quotes/{}"),
    ("post", "/api/quotes/{}/activate"),
    ("post", "/api/quotes/{}/close"),
    ("post", "/api/quotes/{}/revise"),
    ("post", "/api/quotes/{}/copy"),
    ("post", "/api/quotes/{}/win"),
    ("get", "/api/opportunities/{}/close-preview"),
    ("post", "/api/opportunities/{}/close-quotes"),
    ("post", "/api/opportunities/{}/close"),
    ("post", "/api/opportunities/{}/reopen"),
    ("get", "/api/opportunities/{}/closes"),
    ("patch", "/api/closes/{}"),
    ("post", "/api/opportunities/bulk-close"),
    ("get", "/api/contracts/{}"),
    ("get", "/api/audit"),
}
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def test_openapi_json_lists_every_endpoint_of_the_contract_with_its_method(api: TestClient) -> None:
    response = api.get("/openapi.json")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document = json.loads(response.content)
    assert document["openapi"].startswith("3.")
    published = {
        (method, re.sub(r"\{[^}]+\}", "{}", path))
        for path, operations in document["paths"].items()
        for method in operations
        if method in HTTP_METHODS
    }
    assert published >= SPEC_ENDPOINTS, sorted(SPEC_ENDPOINTS - published)
    paths = document["paths"]
    assert "201" in paths["/api/accounts"]["post"]["responses"]
    assert "201" in paths["/api/opportunities"]["post"]["responses"]


def test_docs_answer_an_html_page(api: TestClient) -> None:
    response = api.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "openapi.json" in response.text
