"""The client's address, trusting X-Forwarded-For only as far as our own proxies go."""

from __future__ import annotations

import ipaddress
from typing import Any

from litestar.connection import ASGIConnection


def client_address(connection: ASGIConnection[Any, Any, Any, Any], depth: int) -> str | None:
    """The address `depth` hops back in X-Forwarded-For (Traefik's `ipStrategy.depth`).

    With depth 0, or a header too short to hold that many hops, the socket peer is the
    client: anything further left is whatever the client chose to send.
    """
    if depth > 0:
        header = connection.headers.get("x-forwarded-for", "")
        hops = [hop.strip() for hop in header[:2048].split(",") if hop.strip()]
        if len(hops) >= depth:
            candidate = hops[-depth]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                pass
    client = connection.client
    return client.host if client is not None else None
