"""The committed Traefik config, run by the real Traefik binary in front of a real gateway."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from skreg_gateway.traefik import render

from tests.support.processes import Process, free_port, start_python_module, wait_http
from tests.support.traefik import DYNAMIC_DIR, Edge, start_traefik

ROUTES_FILE = DYNAMIC_DIR / "routes.yml"


def test_committed_dynamic_config_is_generated_from_the_route_table() -> None:
    assert ROUTES_FILE.read_text() == render(), (
        "deploy/traefik/dynamic/routes.yml is stale: run `python -m skreg_gateway.traefik`"
    )


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("gateway")
    port = free_port()
    proc: Process = start_python_module(
        "gateway",
        "skreg_gateway",
        {
            "PORT": str(port),
            "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'g.db'}",
            "LOG_JSON": "true",
        },
        workdir,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(proc, f"{url}/health")
        yield url
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def edge(gateway: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    workdir = tmp_path_factory.mktemp("traefik")
    # depth 1 behind a trusted "load balancer" on loopback: X-Forwarded-For names the client.
    upstreams = dict.fromkeys(("auth", "catalog", "importer", "gateway"), gateway)
    running = start_traefik(workdir, upstreams, ip_depth=1, trusted_ips=["127.0.0.1/32"])
    try:
        yield running
    finally:
        running.process.stop()


def _client(edge: Edge, **kwargs: object) -> httpx.Client:
    return httpx.Client(base_url=edge.base_url, verify=edge.ssl_context(), timeout=10, **kwargs)  # type: ignore[arg-type]


def test_https_serves_through_the_gateway(edge: Edge) -> None:
    with _client(edge) as client:
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_plain_http_redirects_to_https(edge: Edge) -> None:
    response = httpx.get(f"http://127.0.0.1:{edge.http_port}/api/v1/skills?q=x", timeout=5)
    assert response.status_code in (301, 308)
    assert response.headers["location"] == f"https://127.0.0.1:{edge.https_port}/api/v1/skills?q=x"


def test_security_headers(edge: Edge) -> None:
    with _client(edge) as client:
        headers = client.get("/health").headers
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "default-src 'self'" in headers["content-security-policy"]


def test_tls_1_1_is_refused_and_1_2_accepted(edge: Edge) -> None:
    old = subprocess.run(
        [
            "openssl",
            "s_client",
            "-connect",
            f"127.0.0.1:{edge.https_port}",
            "-tls1_1",
            "-CAfile",
            str(edge.ca_file),
        ],
        input=b"",
        capture_output=True,
        timeout=10,
        check=False,
    )
    assert old.returncode != 0
    context = edge.ssl_context()
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    with httpx.Client(verify=context) as client:
        assert client.get(f"{edge.base_url}/health").status_code == 200


def test_oversized_body_gets_413_from_traefik(edge: Edge) -> None:
    body = b"\0" * (13 * 1024 * 1024)
    with _client(edge) as client:
        response = client.post(
            "/api/v1/skills", content=body, headers={"content-type": "application/gzip"}
        )
    assert response.status_code == 413


def test_internal_paths_are_not_reachable_from_outside(edge: Edge) -> None:
    with _client(edge) as client:
        response = client.post("/internal/v1/catalog/publish", content=b"{}")
    assert response.status_code == 403


def _limited_by_traefik(response: httpx.Response) -> bool:
    # The auth service throttles failed logins too (problem+json); Traefik's 429 is plain text.
    return response.status_code == 429 and "problem+json" not in response.headers.get(
        "content-type", ""
    )


def test_auth_burst_is_limited_per_client_ip(edge: Edge) -> None:
    def login(client: httpx.Client, ip: str, n: int) -> httpx.Response:
        return client.post(
            "/api/v1/auth/login",
            json={"username": f"nobody-{ip}-{n}", "password": "wrong password"},
            headers={"X-Forwarded-For": ip},
        )

    with _client(edge) as client:
        burst = [login(client, "203.0.113.7", n) for n in range(25)]
        other = login(client, "203.0.113.8", 0)
    limited = [_limited_by_traefik(r) for r in burst]
    assert any(limited)
    assert limited.index(True) >= 5  # the burst allowance comes first
    assert not _limited_by_traefik(other)


def test_static_config_hardening() -> None:
    static = yaml.safe_load(Path("deploy/traefik/traefik.yml").read_text())
    assert static["global"]["checkNewVersion"] is False
    assert static["api"]["dashboard"] is False
    assert static["accessLog"]["format"] == "json"
    assert "prometheus" in static["metrics"]
    assert static["entryPoints"]["web"]["http"]["redirections"]["entryPoint"]["to"] == "websecure"
