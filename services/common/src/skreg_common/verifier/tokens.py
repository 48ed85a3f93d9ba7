"""Verifying access and service tokens: Ed25519 JWTs, one pinned algorithm, local keys."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

import msgspec
from cachetools import LRUCache
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from jwt.utils import base64url_decode

from skreg_common.errors import Unauthorized
from skreg_common.principal import (
    ALL_SCOPES,
    MAX_MEMBERSHIPS,
    ORG_ROLES,
    SERVICE_ROLE,
    Principal,
    TrustedPublisher,
)

ISSUER = "skreg-auth"
USER_AUDIENCE = "skreg"
SERVICE_AUDIENCE = "skreg-service"
ALGORITHM = "EdDSA"  # pinned: nothing else is ever accepted, whatever the header says
JWKS_PATH = "/api/v1/auth/jwks"
SERVICE_SUBJECT_PREFIX = "service:"
USER_ROLES = frozenset({"admin", "user"})
CLOCK_LEEWAY_S = 10


class KeySource(Protocol):
    """Where the public keys that verify access tokens come from."""

    async def fetch(self) -> Mapping[str, Ed25519PublicKey]:
        """The current keys by `kid`; raises `Unavailable` when they cannot be had."""
        ...


def public_key_from_jwk(x: str) -> Ed25519PublicKey:
    """An Ed25519 public key from a JWK's base64url `x`."""
    return Ed25519PublicKey.from_public_bytes(base64url_decode(x))


def looks_like_jwt(credential: str) -> bool:
    """A compact JWS (`eyJ….….…`), as opposed to an API key."""
    return credential.startswith("eyJ") and credential.count(".") == 2


class _Header(msgspec.Struct, frozen=True):
    alg: str
    kid: str
    crit: list[str] | None = None


class TrustedPublisherClaim(msgspec.Struct, frozen=True):
    """`tp` in a trusted-publishing token: the trust policy and the CI job's claims."""

    iss: str
    policy: str
    claims: dict[str, str] = msgspec.field(default_factory=dict)


class AccessClaims(msgspec.Struct, frozen=True):
    """The claims of an access or service token (types checked while decoding)."""

    iss: str
    aud: str
    sub: str
    iat: float
    exp: float
    jti: str
    name: str = ""
    roles: list[str] = msgspec.field(default_factory=list)
    scopes: list[str] = msgspec.field(default_factory=list)
    sid: str | None = None
    ver: int = 0
    nbf: float | None = None
    # Trusted-publishing tokens: the only namespaces they may publish to, and the CI job.
    ns: list[str] | None = None
    tp: TrustedPublisherClaim | None = None
    # Organization memberships: organization name -> role.
    orgs: dict[str, str] = msgspec.field(default_factory=dict)


_AUDIENCES = frozenset({USER_AUDIENCE, SERVICE_AUDIENCE})
_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_header_decoder = msgspec.json.Decoder(_Header)
_claims_decoder = msgspec.json.Decoder(AccessClaims)


def _b64url(segment: str) -> bytes:
    """Strict base64url without padding (the JWS compact form).

    PyJWT's decoder pads and decodes; the alphabet check stays here because the
    standard library's decoder silently drops characters outside it.
    """
    if not _B64URL.issuperset(segment):
        raise ValueError("not base64url")
    return base64url_decode(segment)


class JwtVerifier:
    """Verifies access and service tokens: Ed25519 only, whatever a token's header claims.

    Hand-rolled on purpose: one pinned algorithm means no algorithm dispatch at all (no
    `none`, no HS/RS confusion), and it costs a third of a general-purpose library.
    Refetches the keys, at most once per `refetch_interval`, on an unknown `kid`.
    """

    def __init__(
        self,
        source: KeySource,
        *,
        refetch_interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._keys: Mapping[str, Ed25519PublicKey] = {}
        self._fetched_at = -float("inf")
        self._refetch_interval = refetch_interval
        self._clock = clock
        self._lock = asyncio.Lock()
        # Header segment -> kid, for headers already seen with a known key (a handful).
        self._headers: LRUCache[str, str] = LRUCache(maxsize=64)

    async def _key(self, kid: str) -> Ed25519PublicKey | None:
        key = self._keys.get(kid)
        if key is not None:
            return key
        async with self._lock:
            # Throttled, so random `kid`s cannot make us hammer auth.
            if kid not in self._keys and self._clock() - self._fetched_at > self._refetch_interval:
                self._fetched_at = self._clock()
                self._keys = await self._source.fetch()
        return self._keys.get(kid)

    def _kid(self, segment: str) -> str:
        kid = self._headers.get(segment)
        if kid is not None:
            return kid
        try:
            header = _header_decoder.decode(_b64url(segment))
        except (ValueError, msgspec.MsgspecError) as exc:
            raise Unauthorized("malformed token") from exc
        if header.alg != ALGORITHM or header.crit is not None:
            raise Unauthorized("token not signed by this registry")
        return header.kid

    async def verify(self, token: str) -> AccessClaims:
        """The claims of a valid, current token; `Unauthorized` for anything else."""
        parts = token.split(".")
        if len(parts) != 3 or not token.isascii():
            raise Unauthorized("malformed token")
        header, payload, signature = parts
        kid = self._kid(header)
        key = await self._key(kid)
        if key is None:
            raise Unauthorized("token signed with an unknown key")
        try:
            key.verify(_b64url(signature), f"{header}.{payload}".encode("ascii"))
        except (ValueError, InvalidSignature) as exc:
            raise Unauthorized("invalid token") from exc
        self._headers[header] = kid
        try:
            claims = _claims_decoder.decode(_b64url(payload))
        except (ValueError, msgspec.MsgspecError) as exc:
            raise Unauthorized("invalid token") from exc
        now = time.time()
        if claims.iss != ISSUER or claims.aud not in _AUDIENCES:
            raise Unauthorized("token not meant for this registry")
        if claims.exp <= now - CLOCK_LEEWAY_S:
            raise Unauthorized("token expired")
        if claims.iat > now + CLOCK_LEEWAY_S or (
            claims.nbf is not None and claims.nbf > now + CLOCK_LEEWAY_S
        ):
            raise Unauthorized("token not valid yet")
        return claims


def user_principal(
    user_id: str | None,
    username: str | None,
    roles: Iterable[str],
    scopes: Iterable[str],
    *,
    session_id: str | None = None,
    key_id: str | None = None,
    orgs: Mapping[str, str] | None = None,
    namespaces: Iterable[str] | None = None,
) -> Principal:
    """A user's principal, keeping only the roles and scopes a user credential may carry.

    A user credential can never carry the service role, whatever it says.
    """
    memberships = sorted((org, role) for org, role in (orgs or {}).items() if role in ORG_ROLES)
    return Principal(
        kind="user",
        id=user_id,
        username=username,
        roles=tuple(r for r in roles if r in USER_ROLES),
        scopes=tuple(s for s in scopes if s in ALL_SCOPES),
        session_id=session_id,
        key_id=key_id,
        orgs=tuple(memberships[:MAX_MEMBERSHIPS]),
        namespaces=None if namespaces is None else tuple(namespaces),
    )


def principal_from_claims(claims: AccessClaims) -> Principal:
    """The principal a verified token speaks for (service tokens only by their audience)."""
    if not claims.name:
        raise Unauthorized("invalid token")
    if claims.aud == SERVICE_AUDIENCE:
        if not claims.sub.startswith(SERVICE_SUBJECT_PREFIX):
            raise Unauthorized("invalid token")
        return Principal(kind="service", id=claims.sub, username=claims.name, roles=(SERVICE_ROLE,))
    principal = user_principal(
        claims.sub,
        claims.name,
        claims.roles,
        claims.scopes,
        session_id=claims.sid,
        orgs=claims.orgs,
    )
    if claims.ns is None and claims.tp is None:
        return principal
    publisher = None
    if claims.tp is not None:
        publisher = TrustedPublisher(
            issuer=claims.tp.iss,
            policy_id=claims.tp.policy,
            claims=tuple(sorted(claims.tp.claims.items())),
        )
    return msgspec.structs.replace(
        principal,
        namespaces=tuple(claims.ns or ()),
        trusted_publisher=publisher,
    )
