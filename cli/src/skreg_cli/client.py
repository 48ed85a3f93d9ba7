"""The HTTP client for the public API, and the one table that turns failures into `CliError`s."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlsplit

import httpx
import msgspec
from skreg_proto.problems import ProblemDetails

from skreg_cli.errors import CliError, ExitCode

T = TypeVar("T")

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
MAX_JSON_BYTES = 32 * 1024 * 1024  # a registry answer larger than this is not one we trust


class ProgressSink(Protocol):
    """Receives download progress (a progress bar, or nothing)."""

    def start(self, total: int | None) -> None:
        """The download begins; `total` bytes when the server said so."""

    def advance(self, size: int) -> None:
        """`size` more bytes arrived."""


def _user_agent() -> str:
    try:
        return f"skreg/{package_version('skreg-cli')}"
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "skreg/dev"


def path_of(*segments: str) -> str:
    """`/api/v1/` + each segment percent-encoded, so a name can never add a path level."""
    return "/api/v1/" + "/".join(quote(segment, safe="") for segment in segments)


# (exit code, hint) per HTTP status; the message comes from the problem body.
_STATUS_TABLE: dict[int, tuple[ExitCode, str]] = {
    400: (ExitCode.FAILED, "the registry did not understand the request; see --verbose"),
    401: (ExitCode.UNAUTHENTICATED, "sign in with `skreg login` (or pass --token / SKREG_TOKEN)"),
    403: (ExitCode.FORBIDDEN, "your account or API key may not do this; check `skreg whoami`"),
    404: (ExitCode.NOT_FOUND, "check the name with `skreg search`"),
    409: (ExitCode.CONFLICT, "versions are immutable: publish a new version number"),
    410: (ExitCode.NOT_FOUND, "it was deleted; find another with `skreg search`"),
    413: (ExitCode.REJECTED, "the bundle is over the registry's size limit; trim the skill"),
    415: (ExitCode.REJECTED, "the registry refused the content type; upgrade skreg"),
    422: (ExitCode.REJECTED, "fix the problems listed above, then retry"),
    429: (ExitCode.RATE_LIMITED, "wait and retry"),
}


def _problem(response: httpx.Response) -> ProblemDetails | None:
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type:
        return None
    try:
        return msgspec.json.decode(response.content, type=ProblemDetails, strict=False)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


# The catalog's title for a publish that would take the owner past their storage quota.
QUOTA_TITLE = "Storage quota exceeded"
QUOTA_HINT = (
    "your storage quota on this registry is used up: delete skills or versions you no "
    "longer need, but their space is freed only once the registry purges them (deleted "
    "versions count until their retention period ends), or ask an admin for a larger quota"
)


def _retry_after(response: httpx.Response) -> int | None:
    value = response.headers.get("retry-after", "").strip()
    return int(value) if value.isdigit() else None


def readable_wait(seconds: int, now: dt.datetime | None = None) -> str:
    """`42 s`, `59 min 58 s`, `2 h 5 min`, with the local clock time once it is a minute or more.

    A rate-limit window is often an hour: `3599 s` says little, `59 min 59 s (until 13:41)`
    says when to come back.
    """
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        span = f"{hours} h" + (f" {minutes} min" if minutes else "")
    elif minutes:
        span = f"{minutes} min" + (f" {secs} s" if secs else "")
    else:
        return f"{secs} s"
    until = (now or dt.datetime.now().astimezone()) + dt.timedelta(seconds=seconds)
    clock = until.strftime("%H:%M" if seconds < 12 * 3600 else "%Y-%m-%d %H:%M")
    return f"{span} (until {clock})"


def error_from_response(response: httpx.Response, not_found: str | None = None) -> CliError:
    """The `CliError` for a 4xx/5xx answer (problem+json or not)."""
    status = response.status_code
    problem = _problem(response)
    detail = (problem.detail or problem.title) if problem else None
    request = response.request
    verbose = [f"{request.method} {request.url} -> HTTP {status}"]
    verbose.append(response.text[:4000] if response.content else "(empty body)")
    if problem and problem.request_id:
        verbose.append(f"request id: {problem.request_id}")
    if status >= 500:
        request_id = f" (request id {problem.request_id})" if problem and problem.request_id else ""
        return CliError(
            f"the registry failed with HTTP {status}{request_id}",
            hint="try again later; if it keeps failing, tell the registry's admins",
            code=ExitCode.NETWORK,
            verbose_details=verbose,
        )
    code, hint = _STATUS_TABLE.get(status, (ExitCode.FAILED, "see --verbose for the response"))
    message = detail or response.reason_phrase or f"HTTP {status}"
    if status == 404 and not_found:
        message = f"{not_found} not found"
    elif status == 429:
        wait = _retry_after(response)
        message = f"rate limited by the registry: {detail or 'too many requests'}"
        hint = f"wait {readable_wait(wait)} and retry" if wait is not None else hint
    elif status == 413 and problem is not None and problem.title == QUOTA_TITLE:
        message = f"storage quota exceeded: {problem.detail or 'your storage quota is used up'}"
        hint = QUOTA_HINT
    elif status == 413:
        message = f"too large: {detail or 'the registry refused the upload size'}"
    details = [f"{p.path or '(bundle)'}: {p.message}" for p in problem.errors] if problem else []
    return CliError(message, hint=hint, code=code, details=details, verbose_details=verbose)


class ApiClient:
    """A small synchronous client for one registry; the token goes only to that registry."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        log: Callable[[str], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        unreachable_hint: str | None = None,
    ) -> None:
        self.base_url = base_url
        self._token = token
        self._unreachable_hint = unreachable_hint or (
            "check the URL (--url, SKREG_URL or `skreg login URL`) and your network"
        )
        self._origin = _origin(base_url)
        hooks: dict[str, list[Callable[..., Any]]] = {}
        if log is not None:
            hooks = {
                "request": [lambda r: log(f"> {r.method} {r.url}")],
                "response": [lambda r: log(f"< HTTP {r.status_code} {r.url}")],
            }
        self._http = httpx.Client(
            timeout=TIMEOUT,
            headers={"User-Agent": _user_agent(), "Accept": "application/json"},
            follow_redirects=True,
            event_hooks=hooks,
            transport=transport,
        )

    def close(self) -> None:
        """Release connections."""
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def has_token(self) -> bool:
        """True when a credential will be sent."""
        return self._token is not None

    def url(self, path: str) -> str:
        """An absolute URL for an API path."""
        return self.base_url + path

    def _headers(self, url: str, token: str | None = None) -> dict[str, str]:
        token = token or self._token
        # Never hand the credential to another host (a lockfile may name one).
        if token and _origin(url) == self._origin:
            return {"Authorization": f"Bearer {token}"}
        return {}

    @contextlib.contextmanager
    def _network(self) -> Iterator[None]:
        try:
            yield
        except httpx.TimeoutException as exc:
            raise CliError(
                f"timed out talking to {self.base_url}",
                hint="check your network, or retry; the registry may be overloaded",
                code=ExitCode.NETWORK,
                verbose_details=[repr(exc)],
            ) from exc
        except httpx.TransportError as exc:
            raise CliError(
                f"cannot reach the registry at {self.base_url}: {_reason(exc)}",
                hint=self._unreachable_hint,
                code=ExitCode.NETWORK,
                verbose_details=[repr(exc)],
            ) from exc

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int | bool] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        token: str | None = None,
        not_found: str | None = None,
        always_there: bool = False,
    ) -> httpx.Response:
        """Send one request; any failure becomes a `CliError`.

        `always_there`: the path exists on every registry (a list, a login), so a
        404 means the URL does not lead to one.
        """
        url = self.url(path)
        all_headers = {**self._headers(url, token), **(headers or {})}
        body = msgspec.json.encode(json) if json is not None else content
        if json is not None:
            all_headers["Content-Type"] = "application/json"
        query = {k: _query_value(v) for k, v in (params or {}).items()}
        with self._network():
            response = self._http.request(
                method, url, params=query, content=body, headers=all_headers
            )
        if response.status_code == 404 and (always_there or _problem(response) is None):
            # Every 404 of a registry is problem+json: a bare one means no registry is there.
            raise _not_a_registry(self.base_url, response)
        if response.status_code >= 400:
            raise error_from_response(response, not_found)
        return response

    def get(
        self,
        path: str,
        type_: type[T],
        *,
        params: Mapping[str, str | int | bool] | None = None,
        not_found: str | None = None,
        always_there: bool = False,
    ) -> T:
        """GET a JSON resource and decode it as `type_`."""
        response = self.request(
            "GET", path, params=params, not_found=not_found, always_there=always_there
        )
        return decode(response, type_)

    def download(self, url: str, *, limit: int, progress: ProgressSink) -> bytes:
        """Stream a bundle into memory, refusing to read past `limit` bytes."""
        # identity: the bundle is already gzip; a second layer would only cost a decode.
        headers = {**self._headers(url), "Accept-Encoding": "identity", "Accept": "*/*"}
        with self._network(), self._http.stream("GET", url, headers=headers) as response:
            if response.status_code >= 400:
                response.read()
                raise error_from_response(response, "bundle")
            total = _content_length(response)
            if total is not None and total > limit:
                raise _too_big(limit)
            progress.start(total)
            buffer = bytearray()
            for chunk in response.iter_bytes():
                buffer += chunk
                if len(buffer) > limit:
                    raise _too_big(limit)
                progress.advance(len(chunk))
        return bytes(buffer)


def decode(response: httpx.Response, type_: type[T]) -> T:
    """Decode a JSON answer; an answer of the wrong shape is a clear error, not a traceback."""
    if len(response.content) > MAX_JSON_BYTES:
        raise CliError("the registry's answer is implausibly large", code=ExitCode.NETWORK)
    try:
        return msgspec.json.decode(response.content, type=type_, strict=False)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise CliError(
            f"unexpected answer from {response.request.url}: {exc}",
            hint="is this a Skills Registry? check --url; or upgrade skreg",
            code=ExitCode.NETWORK,
            verbose_details=[response.text[:4000]],
        ) from exc


def _query_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return (parts.scheme, parts.netloc.lower())


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.isdigit() else None


def _not_a_registry(base_url: str, response: httpx.Response) -> CliError:
    return CliError(
        f"no Skills Registry API at {base_url} ({response.request.url.path} answers HTTP 404)",
        hint="check the registry URL (--url, SKREG_URL or `skreg login URL`): "
        "it is the address of the registry's web UI, without /api/v1",
        code=ExitCode.NETWORK,
        verbose_details=[response.text[:4000]],
    )


def _too_big(limit: int) -> CliError:
    return CliError(
        f"the bundle is larger than {limit} bytes; refusing to download more",
        hint="the registry serves something that is not a valid bundle",
        code=ExitCode.INTEGRITY,
    )


def _reason(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.ConnectError) and "refused" in text.lower():
        return "connection refused"
    return text
