"""How the importer hands skills to the catalog: a small Protocol, and its HTTP implementation.

The job function only sees `CatalogPublisher`; the one implementation calls the catalog's
internal endpoints through `PeerClient` with this service's token from auth.
"""

from __future__ import annotations

from typing import Protocol

import httpx
from skreg_common.peers import PeerClient, ServiceTokenSource, http_client
from skreg_proto.internal import (
    SERVICE_DEPRECATE_PATH,
    SERVICE_PUBLISH_PATH,
    DeprecateRequest,
    DeprecateResult,
    ServicePublishRequest,
    ServicePublishResult,
)

SERVICE_NAME = "importer"


class CatalogPublisher(Protocol):
    """Publishes imported skills and deprecates the ones that vanished upstream.

    Raises `skreg_common.peers.PeerError` (with `transient`) when the catalog refuses or
    cannot be reached.
    """

    async def publish(self, request: ServicePublishRequest) -> ServicePublishResult:
        """Publish one skill's bundle with provenance; same digest as latest → `unchanged`."""
        ...

    async def deprecate(self, request: DeprecateRequest) -> DeprecateResult:
        """Mark the source's skills not in `keep` as deprecated (never deleted)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class HttpCatalogPublisher:
    """`CatalogPublisher` over HTTP: `POST /internal/v1/catalog/{publish,deprecate}`."""

    def __init__(self, catalog: PeerClient, clients: list[httpx.AsyncClient]) -> None:
        self._catalog = catalog
        self._clients = clients

    @classmethod
    def connect(
        cls,
        *,
        catalog_url: str,
        auth_url: str,
        service_secret: str,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> HttpCatalogPublisher:
        """A publisher for these base URLs (`transport`: e.g. in-process ASGI for all-in-one)."""
        auth_client = http_client(auth_url, transport)
        catalog_client = (
            auth_client if catalog_url == auth_url else http_client(catalog_url, transport)
        )
        tokens = ServiceTokenSource(auth_client, SERVICE_NAME, service_secret)
        clients = [auth_client] if catalog_client is auth_client else [auth_client, catalog_client]
        return cls(PeerClient(catalog_client, tokens), clients)

    async def publish(self, request: ServicePublishRequest) -> ServicePublishResult:
        return await self._catalog.call("POST", SERVICE_PUBLISH_PATH, request, ServicePublishResult)

    async def deprecate(self, request: DeprecateRequest) -> DeprecateResult:
        return await self._catalog.call("POST", SERVICE_DEPRECATE_PATH, request, DeprecateResult)

    async def close(self) -> None:
        for client in self._clients:
            await client.aclose()
