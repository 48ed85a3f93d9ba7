"""The client's address: what `skreg_common.forwarded` resolved from TRUSTED_PROXIES.

Behind a trusted proxy that is the address it forwarded; for the web UI's calls, the
browser's address the UI signed with the service secret; otherwise the socket peer.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The caller's address as far as our proxies and our UI vouch for it."""
    client = connection.client
    return client.host if client is not None else None
