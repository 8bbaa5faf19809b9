"""Signing in to the web UI from a test client as a browser does: the form first (it sets the sign-in CSRF cookie
and carries the matching hidden field), then the post."""

from __future__ import annotations

import re

import httpx2
from fastapi.testclient import TestClient

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in_csrf(client: TestClient) -> str:
    found = CSRF_FIELD.search(client.get("/login").text)
    assert found is not None, "the sign-in form has no CSRF field"
    return found.group(1)


def sign_in(client: TestClient, name: str, password: str, *, next_path: str = "/") -> httpx2.Response:
    """Answers the post's response without following its redirect."""
    data = {"name": name, "password": password, "next": next_path, "csrf_token": sign_in_csrf(client)}
    return client.post("/login", data=data, follow_redirects=False)
