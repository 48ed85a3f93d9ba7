"""One OpenID provider seen from here: discovery, its signing keys, and ID-token checks.

The protocol work is done by well-kept libraries, never by hand: Authlib builds the
authorization request and the PKCE S256 challenge (sso/service.py), and joserfc
(Authlib's JOSE implementation, which `authlib.jose` now defers to) checks ID-token
signatures against the provider's JWKS and validates the registered claims. The
HTTP calls use the registry's own httpx, with its timeouts and error handling.

Discovery and keys are cached for a few minutes. A token signed with a key id we do
not know makes one early refresh of the JWKS (providers rotate keys), never more
than one per `KEY_REFRESH_SECONDS`, so forged tokens with random key ids cannot make
us hammer the provider.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from skreg_common.errors import DomainError, Unauthorized

CACHE_SECONDS = 300
KEY_REFRESH_SECONDS = 30
# Asymmetric algorithms only: an ID token "signed" with HS256 under a public value is forged.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")
MAX_DOCUMENT_BYTES = 256 * 1024
LEEWAY_SECONDS = 60

log = structlog.get_logger(__name__)


class ProviderUnavailable(DomainError):
    """The identity provider did not answer, or answered nonsense."""

    status, title = 502, "Identity provider unavailable"


class TokenRejected(Unauthorized):
    """An ID token that does not prove what it claims."""


@dataclass(frozen=True)
class ProviderMetadata:
    """The endpoints discovery names (only those we use)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    device_authorization_endpoint: str | None = None


@dataclass
class OidcProvider:
    """Discovery and keys of one issuer, fetched on demand and cached."""

    issuer: str
    timeout: float = 10.0
    transport: httpx.AsyncBaseTransport | None = None
    _metadata: ProviderMetadata | None = field(default=None, init=False, repr=False)
    _metadata_at: float = field(default=0.0, init=False, repr=False)
    _keys: KeySet | None = field(default=None, init=False, repr=False)
    _keys_at: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        self.issuer = self.issuer.rstrip("/")

    def http(self) -> httpx.AsyncClient:
        """A client for talking to the provider (no redirects followed, bounded time)."""
        return httpx.AsyncClient(
            timeout=self.timeout, follow_redirects=False, transport=self.transport
        )

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        try:
            async with self.http() as client:
                response = await client.get(url, headers={"accept": "application/json"})
        except httpx.HTTPError as exc:
            log.warning("sso.provider_unreachable", url=url, error=repr(exc))
            raise ProviderUnavailable(
                f"the identity provider at {self.issuer} cannot be reached ({what})"
            ) from exc
        if response.status_code != 200 or len(response.content) > MAX_DOCUMENT_BYTES:
            raise ProviderUnavailable(
                f"the identity provider answered {response.status_code} for its {what}"
            )
        try:
            document = response.json()
        except ValueError as exc:
            raise ProviderUnavailable(f"the identity provider's {what} is not JSON") from exc
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"the identity provider's {what} is not a JSON object")
        return document

    async def metadata(self) -> ProviderMetadata:
        """The provider's endpoints (discovery document, cached `CACHE_SECONDS`)."""
        now = time.monotonic()
        if self._metadata is not None and now - self._metadata_at < CACHE_SECONDS:
            return self._metadata
        document = await self._get_json(
            f"{self.issuer}/.well-known/openid-configuration", "discovery document"
        )
        # OpenID Connect Discovery 1.0 §4.3: the issuer inside must be the one we asked.
        if str(document.get("issuer", "")).rstrip("/") != self.issuer:
            raise ProviderUnavailable("the discovery document names another issuer")
        try:
            metadata = ProviderMetadata(
                issuer=str(document["issuer"]),
                authorization_endpoint=str(document["authorization_endpoint"]),
                token_endpoint=str(document["token_endpoint"]),
                jwks_uri=str(document["jwks_uri"]),
                device_authorization_endpoint=document.get("device_authorization_endpoint"),
            )
        except KeyError as exc:
            raise ProviderUnavailable(f"the discovery document has no {exc.args[0]}") from exc
        self._metadata, self._metadata_at = metadata, now
        return metadata

    async def keys(self, *, refresh: bool = False) -> KeySet:
        """The provider's public signing keys (JWKS)."""
        now = time.monotonic()
        fresh = self._keys is not None and now - self._keys_at < CACHE_SECONDS
        recently = now - self._keys_at < KEY_REFRESH_SECONDS
        if self._keys is not None and ((fresh and not refresh) or (refresh and recently)):
            return self._keys
        metadata = await self.metadata()
        document = await self._get_json(metadata.jwks_uri, "signing keys")
        try:
            keys = KeySet.import_key_set(document)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise ProviderUnavailable("the identity provider's signing keys are unusable") from exc
        self._keys, self._keys_at = keys, now
        return keys

    async def verify(
        self,
        token: str,
        *,
        audience: str | None,
        nonce: str | None = None,
        require_nonce: bool = False,
    ) -> dict[str, Any]:
        """The claims of an ID token this provider signed for `audience`; `TokenRejected`
        for a bad signature, another issuer or audience, expiry, or a nonce that differs.

        `audience` None: the caller matches the audience itself (trust policies)."""
        if len(token) > 16 * 1024 or token.count(".") != 2:
            raise TokenRejected("the ID token is malformed")
        decoded = None
        for refresh in (False, True):
            keys = await self.keys(refresh=refresh)
            try:
                decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
                break
            except BadSignatureError as exc:
                raise TokenRejected("the ID token's signature does not verify") from exc
            except (ValueError, JoseError) as exc:
                # An unknown key id: the provider may have rotated; look once more.
                if refresh:
                    raise TokenRejected(
                        "the ID token is not signed by the identity provider's keys"
                    ) from exc
        assert decoded is not None
        claims = dict(decoded.claims)
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": self.issuer},
            "aud": {"essential": True}
            if audience is None
            else {"essential": True, "value": audience},
            "exp": {"essential": True},
            "sub": {"essential": True},
        }
        if nonce is not None or require_nonce:
            options["nonce"] = {"essential": True, "value": nonce}
        registry = jwt.JWTClaimsRegistry(leeway=LEEWAY_SECONDS, **options)
        # Some providers end the issuer with '/', some not; compare without it.
        if isinstance(claims.get("iss"), str):
            claims["iss"] = claims["iss"].rstrip("/")
        try:
            registry.validate(claims)
        except ExpiredTokenError as exc:
            raise TokenRejected("the ID token has expired") from exc
        except (MissingClaimError, InvalidClaimError) as exc:
            raise TokenRejected(_claim_problem(exc)) from exc
        except ClaimError as exc:  # nbf/iat in the future
            raise TokenRejected(f"the ID token is not valid now: {exc.description}") from exc
        return claims


def _claim_problem(exc: ClaimError) -> str:
    text = str(exc.description or exc)
    if "'iss'" in text:
        return "the ID token was issued by another issuer"
    if "'aud'" in text:
        return "the ID token is meant for another audience"
    if "'nonce'" in text:
        return "the ID token's nonce does not match this sign-in (replayed or foreign token)"
    return f"the ID token's claims are not valid: {text}"
