"""The committed Traefik config, run by the real Traefik binary in front of a real gateway."""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from skreg_gateway.traefik import MAX_IN_FLIGHT_PER_IP, dynamic_config, render

from tests.support.processes import Process, free_port, start_python_module, wait_http
from tests.support.traefik import DYNAMIC_DIR, Edge, start_traefik

ROUTES_FILE = DYNAMIC_DIR / "routes.yml"


def test_committed_dynamic_config_is_generated_from_the_route_table() -> None:
    assert ROUTES_FILE.read_text() == render(), (
        "deploy/traefik/dynamic/routes.yml is stale: run `python -m skreg_gateway.traefik`"
    )


def _winner(routers: dict[str, Any], method: str, path: str) -> str:
    """The router Traefik picks for `method path`: the highest priority whose rule matches."""
    matching = []
    for name, router in routers.items():
        rule = router["rule"]
        pattern = re.search(r"PathRegexp\(`(.+?)`\)", rule)
        assert pattern, rule
        methods = re.findall(r"Method\(`(\w+)`\)", rule)
        if re.search(pattern.group(1), path) and (not methods or method in methods):
            matching.append((router["priority"], name))
    return max(matching)[1]


@pytest.mark.parametrize(
    "path",
    [
        "/internal",
        "/internal/v1/auth/service-token",
        "/internal/v1/catalog/publish",
        "/internal/v1/catalog/deprecate/",
        "/metrics",
        "/metrics/",
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_generated_config_never_routes_internal_paths_or_metrics(path: str, method: str) -> None:
    config = dynamic_config()
    routers = config["http"]["routers"]
    winner = routers[_winner(routers, method, path)]
    assert winner["middlewares"] == ["deny-all"]
    allow = config["http"]["middlewares"]["deny-all"]["ipAllowList"]["sourceRange"]
    assert allow == ["255.255.255.255/32"]


def test_generated_config_caps_requests_in_flight_per_client_ip() -> None:
    config = dynamic_config()["http"]
    for name, router in config["routers"].items():
        if router["middlewares"] != ["deny-all"]:
            assert router["middlewares"][0] == "inflight-per-ip", name
    inflight = config["middlewares"]["inflight-per-ip"]["inFlightReq"]
    assert inflight["amount"] == MAX_IN_FLIGHT_PER_IP
    assert "RATE_LIMIT_IP_DEPTH" in inflight["sourceCriterion"]["ipStrategy"]["depth"]


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
        minted = client.post("/internal/v1/auth/service-token", json={"service": "x"})
    assert response.status_code == 403
    assert minted.status_code == 403


def test_metrics_are_internal_and_the_openapi_document_public(edge: Edge) -> None:
    with _client(edge) as client:
        assert client.get("/metrics").status_code == 403
        assert client.get("/metrics/").status_code == 403
        schema = client.get("/schema/openapi.json")
    assert schema.status_code == 200
    assert "openapi" in schema.json()


@pytest.mark.parametrize(
    "path",
    ["/metrics%2F", "/metrics%2f", "/metrics%5C", "/internal%2Fv1%2Fauth%2Fservice-token"],
)
def test_encoded_separators_cannot_reach_metrics_or_internal_routes(edge: Edge, path: str) -> None:
    # The deny rules match the path as Traefik sees it ("/metrics%2F" is not "/metrics/"),
    # while the app decodes it to "/metrics/" and serves it: Traefik must refuse such paths.
    with _client(edge) as client:
        response = client.get(path)
    assert response.status_code == 400
    assert "python_gc_objects" not in response.text


def _stalled_request(edge: Edge, ip: str) -> ssl.SSLSocket:
    """A request whose head is complete and whose body never arrives, from client `ip`."""
    raw = socket.create_connection(("127.0.0.1", edge.https_port), timeout=10)
    sock = edge.ssl_context().wrap_socket(raw, server_hostname="127.0.0.1")
    sock.sendall(
        f"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: {ip}\r\n"
        "Content-Length: 100\r\n\r\nx".encode()
    )
    return sock


def test_requests_in_flight_are_capped_per_client_ip(edge: Edge) -> None:
    held = [_stalled_request(edge, "203.0.113.50") for _ in range(MAX_IN_FLIGHT_PER_IP)]
    try:
        with _client(edge) as client:
            # Traefik counts a request once it has read its head: wait until all of ours are.
            for _ in range(150):
                over = client.get("/health", headers={"X-Forwarded-For": "203.0.113.50"})
                if over.status_code == 429:
                    break
                time.sleep(0.1)
            assert over.status_code == 429
            other = client.get("/health", headers={"X-Forwarded-For": "203.0.113.51"})
            assert other.status_code == 200
    finally:
        for sock in held:
            sock.close()


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
