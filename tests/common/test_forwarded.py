"""TRUSTED_PROXIES, the UI's signed client address, and who may call `/internal/…`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from litestar import Litestar, Request, get, post
from skreg_common.errors import EXCEPTION_HANDLERS
from skreg_common.forwarded import (
    CLIENT_ADDRESS_HEADER,
    ProxyTrust,
    forwarded_middleware,
    mark_in_process,
    sign_client_address,
    verify_client_address,
)
from skreg_common.internal import internal_route_middleware, is_loopback_host, listen_problem
from skreg_common.settings import DEV_SERVICE_SECRET, ServiceSettings
from skreg_proto.internal import INTERNAL_PREFIX

SECRET = "a-real-service-secret-0123456789abcdef"


@pytest.mark.parametrize(
    ("spec", "peer", "forwarded", "expected"),
    [
        ("", "10.0.0.9", "203.0.113.1", "10.0.0.9"),  # no proxy trusted: header ignored
        ("10.0.0.9", "10.0.0.9", "203.0.113.1", "203.0.113.1"),
        ("10.0.0.9", "10.0.0.9", "6.6.6.6, 203.0.113.1", "203.0.113.1"),  # client's own entry
        ("10.0.0.0/8", "10.0.0.9", "203.0.113.1, 10.1.1.1", "203.0.113.1"),  # two proxies
        ("10.0.0.0/8", "10.0.0.9", "10.1.1.1", "10.1.1.1"),  # only proxies: the left-most
        ("10.0.0.9", "10.0.0.9", "not-an-ip", "10.0.0.9"),
        ("10.0.0.9", "10.0.0.9", "2001:db8::1", "2001:db8::1"),
        ("10.0.0.9", "10.0.0.9", "[2001:db8::1]:443, 203.0.113.1:5000", "203.0.113.1"),
        ("10.0.0.9", "10.0.0.8", "203.0.113.1", "10.0.0.8"),  # a peer that is no proxy of ours
        ("*", "192.0.2.1", "203.0.113.1", "203.0.113.1"),
        ("testclient", "testclient", "203.0.113.1", "203.0.113.1"),
    ],
)
def test_the_client_behind_trusted_proxies(
    spec: str, peer: str, forwarded: str, expected: str
) -> None:
    trust = ProxyTrust(spec)
    got = trust.client_behind(peer, forwarded) if trust.trusts(peer) else peer
    assert got == expected


def test_a_malformed_network_is_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        ProxyTrust("10.0.0.0/33")


def test_signed_client_address() -> None:
    value = sign_client_address("203.0.113.5", SECRET, now=1000)
    assert verify_client_address(value, SECRET, now=1010) == "203.0.113.5"
    assert verify_client_address(value, SECRET + "x", now=1010) is None
    assert verify_client_address(value, SECRET, now=5000) is None  # stale
    address, stamp, mac = value.split(" ")
    assert verify_client_address(f"203.0.113.6 {stamp} {mac}", SECRET, now=1010) is None
    for junk in ("", "x", "1.2.3.4 1000", "nope 1000 abc", f"{address} 99999999999999 {mac}"):
        assert verify_client_address(junk, SECRET, now=1010) is None


@get("/whoami")
async def whoami(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return {"client": request.client.host if request.client else None, "scheme": request.url.scheme}


@post(f"{INTERNAL_PREFIX}/probe", status_code=200)
async def internal_probe() -> dict[str, bool]:
    return {"ok": True}


def _app(settings: ServiceSettings, *, over_network: bool = True) -> Litestar:
    return Litestar(
        route_handlers=[whoami, internal_probe],
        middleware=[
            forwarded_middleware(settings),
            internal_route_middleware(settings, over_network=over_network),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
    )


class InProcess:
    """What the all-in-one process's in-process transport does to every call."""

    def __init__(self, app: Litestar) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        mark_in_process(scope)
        await self.app(scope, receive, send)


def _client(app: Any, peer: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_forwarded_headers_count_only_from_trusted_proxies() -> None:
    app = _app(ServiceSettings(trusted_proxies="127.0.0.1", service_secret=SECRET))
    headers = {"x-forwarded-for": "198.51.100.1", "x-forwarded-proto": "https"}
    async with _client(app, "127.0.0.1") as proxy, _client(app, "192.0.2.9") as outsider:
        assert (await proxy.get("/whoami", headers=headers)).json() == {
            "client": "198.51.100.1",
            "scheme": "https",
        }
        assert (await outsider.get("/whoami", headers=headers)).json() == {
            "client": "192.0.2.9",
            "scheme": "http",
        }


async def test_the_signed_address_counts_from_anyone_but_only_with_a_real_secret() -> None:
    signed = {CLIENT_ADDRESS_HEADER: sign_client_address("198.51.100.2", SECRET)}
    async with _client(_app(ServiceSettings(service_secret=SECRET)), "192.0.2.9") as client:
        assert (await client.get("/whoami", headers=signed)).json()["client"] == "198.51.100.2"
    dev = _app(ServiceSettings())
    dev_signed = {CLIENT_ADDRESS_HEADER: sign_client_address("198.51.100.3", DEV_SERVICE_SECRET)}
    async with _client(dev, "127.0.0.2") as outsider, _client(InProcess(dev), "127.0.0.1") as ui:
        assert (await outsider.get("/whoami", headers=dev_signed)).json()["client"] == "127.0.0.2"
        assert (await ui.get("/whoami", headers=dev_signed)).json()["client"] == "198.51.100.3"


@pytest.mark.parametrize(
    ("settings", "over_network", "peer", "in_process", "status"),
    [
        # All-in-one: only the in-process transport, whatever the secret.
        (ServiceSettings(service_secret=SECRET, secret_key=SECRET), False, "127.0.0.1", False, 404),
        (ServiceSettings(), False, "127.0.0.1", True, 200),
        # Split deployment with real secrets: the route's own checks decide.
        (ServiceSettings(service_secret=SECRET, secret_key=SECRET), True, "10.1.2.3", False, 200),
        # A dev secret: loopback peers in dev mode only.
        (ServiceSettings(), True, "127.0.0.1", False, 200),
        (ServiceSettings(), True, "10.1.2.3", False, 404),
        (ServiceSettings(secret_key=SECRET), True, "10.1.2.3", False, 404),
        (ServiceSettings(environment="prod"), True, "127.0.0.1", False, 404),
        # No IP address at all: a Unix socket or an in-process client, local by construction.
        (ServiceSettings(), True, "testclient", False, 200),
    ],
)
async def test_who_may_call_internal_routes(
    settings: ServiceSettings, over_network: bool, peer: str, in_process: bool, status: int
) -> None:
    app: Any = _app(settings, over_network=over_network)
    # Forwarded headers never make a remote peer look local.
    headers = {"x-forwarded-for": "127.0.0.1"}
    async with _client(InProcess(app) if in_process else app, peer) as client:
        response = await client.post(f"{INTERNAL_PREFIX}/probe", headers=headers)
    assert response.status_code == status, response.text


def test_dev_secrets_listen_only_on_loopback() -> None:
    assert is_loopback_host("127.0.0.1")
    assert is_loopback_host("::1")
    assert is_loopback_host("localhost")
    assert not is_loopback_host("0.0.0.0")
    assert not is_loopback_host("::")
    assert not is_loopback_host("192.0.2.2")
    assert listen_problem(ServiceSettings(host="0.0.0.0")) is not None
    assert listen_problem(ServiceSettings(host="0.0.0.0", secret_key=SECRET)) is not None
    assert listen_problem(ServiceSettings(host="127.0.0.1")) is None
    real = ServiceSettings(host="0.0.0.0", secret_key=SECRET, service_secret=SECRET)
    assert listen_problem(real) is None
