"""Who may reach `/internal/…` (service-to-service) routes, and where a dev secret may listen.

The dev default secrets are printed in the source, so with either of them anyone who
can reach a port can mint a service token (or sign any token) and publish through the
internal endpoints. Hence, by design:

- in the all-in-one process, internal calls never arrive over the socket: the importer
  and the UI call in-process, and `/internal/…` answers 404 to everything else;
- a split-deployment service with a dev secret answers internal routes only in dev mode
  and only to a local peer (loopback, a Unix socket, an in-process test client);
- `serve` refuses to listen on a non-loopback address while a dev secret is set,
  whatever the mode (`listen_problem`);
- Traefik never routes `/internal/…` (skreg_gateway.traefik).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from litestar.connection import ASGIConnection
from litestar.types import ASGIApp, Receive, Scope, Send
from skreg_proto.internal import INTERNAL_PREFIX

from skreg_common.errors import NotFound
from skreg_common.forwarded import is_in_process, parse_ip, socket_peer
from skreg_common.settings import ServiceSettings

LOOPBACK_NAMES = ("localhost", "localhost.localdomain")


def is_loopback_address(host: str | None) -> bool:
    """True when `host` is a loopback IP address (IPv4-mapped forms included)."""
    address = parse_ip(host)
    return address is not None and address.is_loopback


def is_local_peer(peer: str | None) -> bool:
    """True for a peer on this machine: a loopback address, or no IP address at all.

    Only TCP peers have IP addresses; a peer without one is a Unix socket or an
    in-process transport (e.g. a test client), both local by construction.
    """
    return parse_ip(peer) is None or is_loopback_address(peer)


def is_loopback_host(host: str) -> bool:
    """True when listening on `host` is reachable only from this machine."""
    if host.lower() in LOOPBACK_NAMES or is_loopback_address(host):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return False  # an address, and not a loopback one (0.0.0.0 and :: included)
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    return bool(infos) and all(is_loopback_address(str(info[4][0])) for info in infos)


def listen_problem(settings: ServiceSettings) -> str | None:
    """Why this process must not listen where it is configured to (None when it may)."""
    if settings.has_dev_secret and not is_loopback_host(settings.host):
        return (
            f"refusing to listen on {settings.host}: SECRET_KEY or SERVICE_SECRET is a dev "
            "default, which anyone can read; set both, or listen on 127.0.0.1"
        )
    return None


def is_internal_path(path: str) -> bool:
    """True for a route under `/internal/…`."""
    return path == INTERNAL_PREFIX or path.startswith(INTERNAL_PREFIX + "/")


def internal_route_middleware(settings: ServiceSettings, *, over_network: bool) -> Any:
    """App-wide ASGI middleware: internal routes answer 404 to callers they are not for.

    `over_network=False` (the all-in-one process): only in-process calls. Otherwise any
    caller (a service token is still required by the route itself), except that with a
    dev secret only a loopback peer in dev mode.

    A middleware, not an app guard: Litestar shallow-copies the route handler for every
    app-level guard on every request, and that copy was ~10 % of the CPU of a skill
    version read (py-spy, 10k skills, read cache off), for a check that concerns a
    handful of routes. Litestar routes before it runs the app's middleware, so the
    matched route's template is known here; it must come after `forwarded_middleware`,
    which records the socket peer.
    """

    def allowed(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
        if is_in_process(connection.scope):
            return True
        if not over_network:
            return False
        if settings.has_dev_secret:
            return settings.is_dev and is_local_peer(socket_peer(connection))
        return True

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            template = str(scope.get("path_template") or scope.get("path", ""))
            if is_internal_path(template) and not allowed(ASGIConnection(scope)):
                raise NotFound("no such route")
            await app(scope, receive, send)

        return middleware

    return factory
