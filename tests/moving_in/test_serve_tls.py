"""`dealdesk serve --certfile --keyfile` serves HTTPS from every worker (SPEC §12), with a throwaway CA."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests

from tests.moving_in.dataverse_server import DEALDESK, dealdesk_serve, throwaway_tls


def test_every_worker_answers_over_tls_and_plain_http_is_not_served(tmp_path: Path) -> None:
    """Serving needs no database to answer a static file: one engine is enough for this test."""
    tls = throwaway_tls(tmp_path)
    database = f"sqlite:///{tmp_path / 'dealdesk.db'}"
    with dealdesk_serve(database, tmp_path / "serve.log", tls=tls, workers=2) as url:
        answers = [requests.get(f"{url}/static/dealdesk.css", verify=str(tls.ca_file), timeout=5) for _ in range(20)]
        with pytest.raises(requests.ConnectionError):
            requests.get(url.replace("https://", "http://") + "/static/dealdesk.css", timeout=5)

    assert {answer.status_code for answer in answers} == {200}


@pytest.mark.parametrize(
    "given",
    [["--certfile", "cert.pem"], ["--keyfile", "key.pem"], ["--certfile", "missing.pem", "--keyfile", "missing.pem"]],
)
def test_a_certificate_without_its_key_or_a_missing_file_is_bad_usage(tmp_path: Path, given: list[str]) -> None:
    (tmp_path / "cert.pem").write_text("x")
    (tmp_path / "key.pem").write_text("x")
    result = subprocess.run([DEALDESK, "serve", "--port", "1", *given], cwd=tmp_path, capture_output=True, timeout=30)

    assert result.returncode == 2, result.stderr
