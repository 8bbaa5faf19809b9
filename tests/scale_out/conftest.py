"""Scale-out as the project ships it: Debian's nginx, configured from deploy/nginx/dealdesk.conf.template, in front
of two `dealdesk serve --workers 2` processes on one PostgreSQL. Started once per test session, on free ports,
and stopped at its end.

The servers trust the proxy at 127.0.0.1 (DEALDESK_TRUSTED_PROXIES) and show /metrics to 127.0.0.1 only. Tests that
need a client that is neither the proxy nor allowed connect from another loopback address (127.0.0.5)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from string import Template

import httpx2
import pytest

from tests.conftest import empty_all_tables
from tests.serving import free_port, wait_until_answering
from tests.trust.conftest import DEALDESK_CLI, Database, figures, migrated_database, stop

__all__ = ["figures"]  # the trust suite's figures file gets the race-through-nginx figures too

TEMPLATE = Path(__file__).parents[2] / "deploy" / "nginx" / "dealdesk.conf.template"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
OUTSIDER = "127.0.0.5"
"""A client address that is neither the trusted proxy nor allowed to read /metrics."""


@dataclass(frozen=True)
class ScaleOut:
    database: Database
    proxy_url: str
    server_urls: list[str]
    workdir: Path


def _nginx_main_config(workdir: Path, site: Path) -> str:
    temp = workdir / "nginx-temp"
    temp.mkdir()
    user = "user root root;" if os.geteuid() == 0 else ""  # as root, workers would otherwise run as nobody
    return f"""
daemon off;
master_process on;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
{user}
events {{ worker_connections 512; }}
http {{
    access_log {workdir}/nginx-access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {site};
}}
"""


@pytest.fixture(scope="session")
def scale_out(postgres_schema_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScaleOut]:
    if not Path(NGINX).exists():
        raise RuntimeError("the scale-out tests need Debian's nginx: apt-get install nginx (./test installs it)")
    workdir = tmp_path_factory.mktemp("scale-out")
    processes: list[subprocess.Popen[bytes]] = []
    with migrated_database(postgres_schema_url) as database:
        env = {
            **os.environ,
            "DEALDESK_DATABASE_URL": database.url,
            "DEALDESK_TIMEZONE": "UTC",
            "DEALDESK_TRUSTED_PROXIES": "127.0.0.1",
            "DEALDESK_METRICS_ALLOW": "127.0.0.1/32",
        }
        try:
            ports = [free_port(), free_port()]
            for index, port in enumerate(ports):
                command = [DEALDESK_CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
                with (workdir / f"server-{index}.log").open("wb") as log:
                    processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
            proxy_port = free_port()
            site = workdir / "dealdesk.conf"
            site.write_text(
                Template(TEMPLATE.read_text()).safe_substitute(
                    DEALDESK_LISTEN=f"127.0.0.1:{proxy_port}",
                    DEALDESK_SERVER_1=f"127.0.0.1:{ports[0]}",
                    DEALDESK_SERVER_2=f"127.0.0.1:{ports[1]}",
                )
            )
            main = workdir / "nginx.conf"
            main.write_text(_nginx_main_config(workdir, site))
            nginx_log = workdir / "nginx-error.log"
            processes.append(
                subprocess.Popen(
                    [NGINX, "-c", str(main), "-p", str(workdir), "-e", str(nginx_log)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.STDOUT,
                )
            )
            server_urls = [f"http://127.0.0.1:{port}" for port in ports]
            for index, url in enumerate(server_urls):
                wait_until_answering(url, processes[index], workdir / f"server-{index}.log")
                for _ in range(10):  # both workers have imported the app
                    httpx2.get(f"{url}/healthz", timeout=30)
            proxy_url = f"http://127.0.0.1:{proxy_port}"
            wait_until_answering(proxy_url, processes[-1], nginx_log)
            yield ScaleOut(database, proxy_url, server_urls, workdir)
        finally:
            for process in reversed(processes):
                stop(process)


@pytest.fixture
def behind_nginx(scale_out: ScaleOut) -> ScaleOut:
    """The session's scale-out set-up, with every table emptied for this test (the servers keep no state)."""
    empty_all_tables(scale_out.database.engine)
    return scale_out
