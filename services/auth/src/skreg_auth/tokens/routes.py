"""`/api/v1/auth/jwks` (public keys) and the internal service-token endpoint."""

from __future__ import annotations

import hmac
import re

import structlog
from litestar import get, post
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import JSONBody
from skreg_common.errors import RateLimited, Unauthorized
from skreg_common.throttle import throttle_key
from skreg_proto.auth import Jwks
from skreg_proto.internal import ServiceTokenRequest, ServiceTokenResponse

from skreg_auth.context import AuthContext

SERVICE_NAME_RE = re.compile(r"[a-z][a-z0-9-]{1,31}")

log = structlog.get_logger(__name__)


@get("/jwks", cache_control=CacheControlHeader(public=True, max_age=300), sync_to_thread=False)
def get_jwks(auth: NamedDependency[AuthContext]) -> Jwks:
    """The Ed25519 public key(s) that verify access tokens."""
    return Jwks(keys=[auth.issuer.key.jwk()])


@post("/service-token", status_code=200, cache_control=CacheControlHeader(no_store=True))
async def create_service_token(
    data: JSONBody[ServiceTokenRequest],
    auth: NamedDependency[AuthContext],
    client_ip: NamedDependency[str | None],
) -> ServiceTokenResponse:
    """A service proves it holds SERVICE_SECRET and gets a token with the `service` role."""
    key = throttle_key("service", client_ip or "unknown")
    slot = await auth.throttle.reserve(key, auth.settings.login_max_failures)
    if not slot.granted:
        raise RateLimited(slot.retry_after)
    expected = auth.settings.service_secret.encode()
    valid_secret = hmac.compare_digest(data.secret.encode("utf-8", "surrogatepass"), expected)
    if not valid_secret or not SERVICE_NAME_RE.fullmatch(data.service):
        log.warning("service_token.refused", client_ip=client_ip)
        raise Unauthorized("invalid service credentials")
    await auth.throttle.release(key)
    log.info("service_token.issued", service=data.service)
    return ServiceTokenResponse(
        access_token=auth.issuer.service_token(data.service), expires_in=auth.issuer.service_ttl
    )


HANDLERS = [get_jwks]
INTERNAL_HANDLERS = [create_service_token]
