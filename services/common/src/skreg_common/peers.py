"""Calling another service: base URL, a service token from auth, Struct bodies.

The transport is injectable: over the network in a split deployment, and an
in-process ASGI transport in the all-in-one process (same HTTP semantics, no port).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, TypeVar

import httpx
from skreg_proto.codec import from_json, to_json
from skreg_proto.internal import SERVICE_TOKEN_PATH, ServiceTokenRequest, ServiceTokenResponse
from skreg_proto.problems import ProblemDetails

T = TypeVar("T")

TOKEN_REFRESH_MARGIN_S = 60


class PeerError(Exception):
    """A peer answered with an error (or not at all); `status` is 0 when unreachable."""

    def __init__(self, status: int, detail: str, *, transient: bool) -> None:
        self.status = status
        self.detail = detail
        self.transient = transient  # worth retrying: network trouble, 429, 5xx
        super().__init__(f"{status}: {detail}" if status else detail)


class ServiceTokenSource:
    """Fetches and caches this service's token from auth, refreshing before it expires."""

    def __init__(self, client: httpx.AsyncClient, service: str, secret: str) -> None:
        self._client = client
        self._request = ServiceTokenRequest(service=service, secret=secret)
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        """A valid service token (one fetch at a time, shared by concurrent callers)."""
        async with self._lock:
            if self._token is None or time.monotonic() > self._expires_at - TOKEN_REFRESH_MARGIN_S:
                response = await _send(
                    self._client, "POST", SERVICE_TOKEN_PATH, to_json(self._request), {}
                )
                issued = from_json(response.content, ServiceTokenResponse)
                self._token = issued.access_token
                self._expires_at = time.monotonic() + issued.expires_in
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token (after a 401)."""
        self._token = None


async def _send(
    client: httpx.AsyncClient, method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> httpx.Response:
    try:
        response = await client.request(
            method, path, content=body, headers={"content-type": "application/json", **headers}
        )
    except httpx.HTTPError as exc:
        raise PeerError(0, f"{type(exc).__name__} calling {path}", transient=True) from exc
    if response.status_code >= 400:
        raise PeerError(
            response.status_code,
            _problem_detail(response),
            transient=response.status_code == 429 or response.status_code >= 500,
        )
    return response


def _problem_detail(response: httpx.Response) -> str:
    try:
        problem = from_json(response.content, ProblemDetails)
    except Exception:  # not problem+json: report the status line only
        return response.reason_phrase
    return problem.detail or problem.title


class PeerClient:
    """JSON calls to one peer service, authenticated with this service's token."""

    def __init__(self, client: httpx.AsyncClient, tokens: ServiceTokenSource) -> None:
        self._client = client
        self._tokens = tokens

    async def call(self, method: str, path: str, body: Any, response_type: type[T]) -> T:
        """Send `body` (a Struct) and decode the answer as `response_type`; one retry on 401."""
        payload = None if body is None else to_json(body)
        for attempt in (1, 2):
            headers = {"authorization": f"Bearer {await self._tokens.token()}"}
            try:
                response = await _send(self._client, method, path, payload, headers)
            except PeerError as exc:
                if exc.status == 401 and attempt == 1:  # token rotated or expired early
                    self._tokens.invalidate()
                    continue
                raise
            return from_json(response.content, response_type)
        raise AssertionError("unreachable")  # pragma: no cover


def http_client(
    base_url: str, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """An httpx client for a peer: network by default, or the given (e.g. ASGI) transport."""
    return httpx.AsyncClient(
        base_url=base_url,
        transport=transport,
        timeout=httpx.Timeout(30.0, connect=5.0),
        headers={"user-agent": "skreg-service"},
    )
