"""Turning credentials into principals, the same way in every service.

Access JWTs (and service tokens) are verified locally against auth's Ed25519 public
keys; API keys are resolved by auth's introspection endpoint and cached briefly. Auth
itself plugs in local sources (its own key, its own database); every other service
uses `remote_auth_component`, which fetches the JWKS from `AUTH_URL`, introspects with
a service token, and listens for revocations on Redis.
"""

from skreg_common.verifier.remote import (
    RemoteIntrospector,
    RemoteKeySource,
    remote_auth_component,
)
from skreg_common.verifier.resolver import (
    MAX_CACHE_SECONDS,
    CredentialResolver,
    Introspector,
    principal_from_introspection,
)
from skreg_common.verifier.tokens import (
    ALGORITHM,
    CLOCK_LEEWAY_S,
    ISSUER,
    JWKS_PATH,
    SERVICE_AUDIENCE,
    SERVICE_SUBJECT_PREFIX,
    USER_AUDIENCE,
    AccessClaims,
    JwtVerifier,
    KeySource,
    looks_like_jwt,
    principal_from_claims,
    public_key_from_jwk,
)

__all__ = [
    "ALGORITHM",
    "CLOCK_LEEWAY_S",
    "ISSUER",
    "JWKS_PATH",
    "MAX_CACHE_SECONDS",
    "SERVICE_AUDIENCE",
    "SERVICE_SUBJECT_PREFIX",
    "USER_AUDIENCE",
    "AccessClaims",
    "CredentialResolver",
    "Introspector",
    "JwtVerifier",
    "KeySource",
    "RemoteIntrospector",
    "RemoteKeySource",
    "looks_like_jwt",
    "principal_from_claims",
    "principal_from_introspection",
    "public_key_from_jwk",
    "remote_auth_component",
]
