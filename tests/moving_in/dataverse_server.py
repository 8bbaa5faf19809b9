"""A real `dealdesk serve` process for the Dataverse client tests, over HTTP or over HTTPS with a throwaway CA
(trustme), with the deals those tests close seeded through dealdesk's own /api."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import trustme

from tests.serving import STARTUP_S

DEALDESK = str(Path(sys.executable).with_name("dealdesk"))
Json = dict[str, Any]


@dataclass(frozen=True)
class Tls:
    certfile: Path
    keyfile: Path
    ca_file: Path


def throwaway_tls(directory: Path) -> Tls:
    """A certificate for 127.0.0.1 signed by a CA made for this test only."""
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    tls = Tls(directory / "cert.pem", directory / "key.pem", directory / "ca.pem")
    tls.certfile.write_bytes(b"".join(blob.bytes() for blob in certificate.cert_chain_pems))
    certificate.private_key_pem.write_to_path(str(tls.keyfile))
    authority.cert_pem.write_to_path(str(tls.ca_file))
    return tls


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def dealdesk_serve(
    database_url: str, log: Path, *, tls: Tls | None = None, public: bool = False, workers: int = 1
) -> Iterator[str]:
    """`dealdesk serve` on a free port; yields its base URL once it answers. With `public`, DEALDESK_PUBLIC_URL is
    that URL (absolute links in Dataverse answers)."""
    port = _free_port()
    scheme = "https" if tls else "http"
    url = f"{scheme}://127.0.0.1:{port}"
    command = [DEALDESK, "serve", "--port", str(port), "--workers", str(workers)]
    if tls is not None:
        command += ["--certfile", str(tls.certfile), "--keyfile", str(tls.keyfile)]
    env = {**os.environ, "DEALDESK_DATABASE_URL": database_url, "DEALDESK_TIMEZONE": "UTC"}
    if public:
        env["DEALDESK_PUBLIC_URL"] = url
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"dealdesk serve exited early:\n{log.read_text()}")
            try:
                verify: str | bool = str(tls.ca_file) if tls else True
                if requests.get(f"{url}/static/dealdesk.css", timeout=1, verify=verify).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dealdesk serve did not answer within {STARTUP_S} s:\n{log.read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Seeder:
    """Creates accounts, opportunities and quotes through dealdesk's own /api, as the deals to close."""

    def __init__(self, url: str, token: str, verify: str | bool = True) -> None:
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.verify = verify
        self.url = url

    def post(self, path: str, body: Json) -> Json:
        response = self.session.post(f"{self.url}/api{path}", json=body, timeout=30)
        assert response.status_code in (200, 201), response.text
        result: Json = response.json()
        return result

    def get(self, path: str) -> Json:
        response = self.session.get(f"{self.url}/api{path}", timeout=30)
        assert response.status_code == 200, response.text
        result: Json = response.json()
        return result

    def deal(self, name: str, *, active: int = 0, drafts: int = 0, currency: str = "USD") -> tuple[Json, list[Json]]:
        """An open opportunity with `active` active quotes (2,400.00 each) and `drafts` draft quotes."""
        account = self.post("/accounts", {"name": f"{name} account"})
        opportunity = self.post(
            "/opportunities",
            {"name": name, "account_id": account["id"], "estimated_revenue": "5000.00", "currency": currency},
        )
        quotes = []
        for number in range(active + drafts):
            lines = [{"description": "Validation", "quantity": "3", "unit_price": "800.00"}]
            quote = self.post(f"/opportunities/{opportunity['id']}/quotes", {"name": f"Offer {number}", "lines": lines})
            if number < active:
                quote = self.post(f"/quotes/{quote['id']}/activate", {})
            quotes.append(quote)
        return opportunity, quotes

    def opportunity(self, opportunity_id: str) -> Json:
        return self.get(f"/opportunities/{opportunity_id}")

    def quote(self, quote_id: str) -> Json:
        return self.get(f"/quotes/{quote_id}")
