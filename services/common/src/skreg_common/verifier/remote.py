"""What a service other than auth plugs in: the JWKS and introspection over HTTP."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import msgspec
import structlog
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from skreg_proto.auth import Jwks
from skreg_proto.codec import from_json
from skreg_proto.internal import INTROSPECT_PATH, IntrospectRequest, IntrospectResponse

from skreg_common.app import ServiceComponent
from skreg_common.errors import Unavailable
from skreg_common.peers import PeerClient, PeerError, ServiceTokenSource, http_client
from skreg_common.revocation import RevocationList, RevocationSubscriber
from skreg_common.runtime import Runtime
from skreg_common.settings import ServiceSettings
from skreg_common.verifier.resolver import CredentialResolver
from skreg_common.verifier.tokens import ALGORITHM, JWKS_PATH, JwtVerifier, public_key_from_jwk

log = structlog.get_logger(__name__)


class RemoteKeySource:
    """Fetches auth's JWKS over HTTP."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def fetch(self) -> Mapping[str, Ed25519PublicKey]:
        """The published Ed25519 keys by `kid`."""
        try:
            response = await self._client.get(JWKS_PATH)
            response.raise_for_status()
            jwks = from_json(response.content, Jwks)
        except (httpx.HTTPError, msgspec.MsgspecError) as exc:
            log.warning("auth.jwks_unavailable", error=type(exc).__name__)
            raise Unavailable("cannot fetch the token verification keys") from exc
        keys: dict[str, Ed25519PublicKey] = {}
        for jwk in jwks.keys:
            if jwk.kty == "OKP" and jwk.crv == "Ed25519" and jwk.alg == ALGORITHM:
                try:
                    keys[jwk.kid] = public_key_from_jwk(jwk.x)
                except ValueError:
                    log.warning("auth.jwks_bad_key", kid=jwk.kid)
        return keys


class RemoteIntrospector:
    """Asks auth's introspection endpoint, authenticated with this service's token."""

    def __init__(self, peer: PeerClient) -> None:
        self._peer = peer

    async def introspect(self, key: str) -> IntrospectResponse:
        """Auth's answer; `Unavailable` when auth cannot be asked."""
        try:
            return await self._peer.call(
                "POST", INTROSPECT_PATH, IntrospectRequest(key=key), IntrospectResponse
            )
        except PeerError as exc:
            log.warning("auth.introspection_failed", status=exc.status)
            raise Unavailable("cannot verify the API key right now") from exc


def remote_auth_component(
    settings: ServiceSettings,
    service: str,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ServiceComponent:
    """The resolver for a service that is not auth: JWKS + introspection + revocation feed.

    Pass it to `build_app` alongside the service's own component; `transport` lets the
    tests (or an all-in-one process) reach auth without a socket.
    """
    client = http_client(settings.auth_url, transport)
    tokens = ServiceTokenSource(client, service, settings.service_secret)
    revocations = RevocationList()
    resolver = CredentialResolver(
        JwtVerifier(RemoteKeySource(client)),
        RemoteIntrospector(PeerClient(client, tokens)),
        revocations,
    )
    subscribers: list[RevocationSubscriber] = []

    async def start(runtime: Runtime) -> None:
        if runtime.redis is not None:
            subscriber = RevocationSubscriber(runtime.redis, revocations)
            await subscriber.start()
            subscribers.append(subscriber)

    async def stop(_runtime: Runtime) -> None:
        for subscriber in subscribers:
            await subscriber.stop()
        await client.aclose()

    return ServiceComponent(
        name="auth-verifier",
        route_handlers=[],
        on_startup=[start],
        on_shutdown=[stop],
        resolver_factory=lambda _runtime: resolver,
    )
