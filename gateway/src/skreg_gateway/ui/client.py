"""The UI's client for the public HTTP API (API.md): the only way it reaches the services.

Calls are routed by the gateway's route table: one injected client for everything in
the all-in-one process, or one client per owning service (`AUTH_URL`, `CATALOG_URL`,
`IMPORTER_URL`) in a split deployment.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import msgspec
import structlog
from skreg_common.forwarded import CLIENT_ADDRESS_HEADER, sign_client_address
from skreg_common.peers import http_client
from skreg_proto.problems import FieldProblem, ProblemDetails

from skreg_gateway.route_table import Service, owner_of
from skreg_gateway.settings import GatewaySettings

T = TypeVar("T")

log = structlog.get_logger(__name__)

# The catalog caps a file at 5 MiB; anything bigger is not something we preview anyway.
MAX_FILE_BYTES = 6 * 1024 * 1024


class ApiError(Exception):
    """The API said no (status ≥ 400), or could not be reached (status 0)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        errors: list[FieldProblem] | None = None,
        retry_after: int | None = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []
        self.retry_after = retry_after
        super().__init__(f"{status} {title}: {detail or ''}")

    @property
    def message(self) -> str:
        """One line for a person: the problem's detail, else its title."""
        return self.detail or self.title


def seg(value: str) -> str:
    """One path segment, percent-encoded so user input can never add segments or `..`."""
    return quote(value, safe="")


def file_path(path: str) -> str:
    """A bundle file path in a URL: each segment encoded, the slashes kept."""
    return "/".join(seg(part) for part in path.split("/"))


class ApiRouter:
    """Which httpx client takes a call; owns the clients it created."""

    def __init__(self, settings: GatewaySettings, api: httpx.AsyncClient | None) -> None:
        self._single = api
        # Signs the browser's address for the services (skreg_common.forwarded).
        self.service_secret = settings.service_secret
        self._owned: dict[Service, httpx.AsyncClient] = {}
        if api is None:
            bases: dict[Service, str] = {
                "auth": settings.auth_url,
                "catalog": settings.catalog_url,
                "importer": settings.importer_url,
            }
            self._owned = {service: http_client(url) for service, url in bases.items()}

    def client_for(self, method: str, path: str) -> httpx.AsyncClient:
        """The client for the service that owns `method path`."""
        if self._single is not None:
            return self._single
        owner = owner_of(method, path)
        return self._owned.get(owner) or self._owned["catalog"]

    async def aclose(self) -> None:
        """Close the clients this router made (an injected client belongs to its giver)."""
        for client in self._owned.values():
            await client.aclose()


def _problem(response: httpx.Response) -> ApiError:
    retry_after: int | None = None
    raw_retry = response.headers.get("retry-after", "")
    if raw_retry.isdigit():
        retry_after = int(raw_retry)
    try:
        problem = msgspec.json.decode(response.content, type=ProblemDetails)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ApiError(response.status_code, response.reason_phrase, retry_after=retry_after)
    # A 5xx detail is for operators; the page only says the service had trouble.
    detail = problem.detail if response.status_code < 500 else None
    return ApiError(response.status_code, problem.title, detail, list(problem.errors), retry_after)


# Given the refused access token, a newer one (None: the session cannot be renewed).
Renew = Callable[[str], Awaitable[str | None]]


class Api:
    """Public API calls on behalf of one browser request (its token, its client address).

    `renew` is asked for a new access token when the API refuses the current one (401):
    an organization membership change revokes the member's access tokens (their claims
    carry the memberships) while the session's refresh token stays good, so the call is
    retried once with fresh tokens instead of signing the person out.
    """

    def __init__(
        self,
        router: ApiRouter,
        token: str | None = None,
        client_ip: str | None = None,
        renew: Renew | None = None,
    ) -> None:
        self._router = router
        self.token = token
        self._client_ip = client_ip
        self._renew = renew

    def _headers(self) -> dict[str, str]:
        headers = {"accept": "application/json"}
        if self.token:
            headers["authorization"] = f"Bearer {self.token}"
        if self._client_ip:
            # Lets auth throttle and audit by the browser's address rather than the
            # gateway's; signed, since a plain X-Forwarded-For is anybody's to write.
            headers[CLIENT_ADDRESS_HEADER] = sign_client_address(
                self._client_ip, self._router.service_secret
            )
        return headers

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> httpx.Response:
        """Send one call; raises ApiError for error statuses and unreachable services."""
        response = await self._send_once(method, path, params, body)
        refused = self.token
        if response.status_code == 401 and refused and self._renew is not None:
            renewed = await self._renew(refused)
            if renewed and renewed != refused:
                self.token = renewed
                response = await self._send_once(method, path, params, body)
        if response.status_code >= 400:
            error = _problem(response)
            if response.status_code >= 500:
                log.warning("ui.api_failed", path=path, status=response.status_code)
            raise error
        return response

    async def _send_once(
        self, method: str, path: str, params: Mapping[str, Any] | None, body: Any
    ) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        content = None if body is None else msgspec.json.encode(body)
        headers = self._headers()
        if content is not None:
            headers["content-type"] = "application/json"
        client = self._router.client_for(method, path)
        try:
            response = await client.request(
                method, path, params=clean, content=content, headers=headers
            )
        except httpx.HTTPError as exc:
            log.warning("ui.api_unreachable", path=path, error_type=type(exc).__name__)
            raise ApiError(0, "Service unavailable") from exc
        return response

    async def call(
        self,
        method: str,
        path: str,
        response_type: type[T],
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
    ) -> T:
        """Send one call and decode the JSON answer as `response_type`."""
        response = await self.send(method, path, params=params, body=body)
        return decode(response.content, response_type, path)

    async def get(
        self, path: str, response_type: type[T], params: Mapping[str, Any] | None = None
    ) -> T:
        """GET and decode."""
        return await self.call("GET", path, response_type, params=params)


def decode(content: bytes, response_type: type[T], path: str = "") -> T:
    """Decode an API answer; one we cannot read is the service's fault, shown as a 502."""
    try:
        raw = msgspec.json.decode(content)
        return msgspec.convert(raw, response_type, strict=False)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        log.error("ui.api_unreadable", path=path, error=str(exc))
        raise ApiError(502, "Unexpected answer from a service") from exc


def items_of(raw: Any) -> list[Any]:
    """The items of a list answer, whether it is a bare list or a page (`{"items": …}`)."""
    if isinstance(raw, list):
        return raw
    if isinstance(raw, dict) and isinstance(raw.get("items"), list):
        return list(raw["items"])
    return []
