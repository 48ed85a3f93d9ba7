"""The Ed25519 signing key (derived from SECRET_KEY) and the tokens it signs.

Every auth replica derives the same key pair from the same secret (HKDF), so any of
them can issue tokens that every service verifies against one published JWKS.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from jwt.utils import base64url_encode
from skreg_common.principal import SERVICE_ROLE, USER_SCOPES
from skreg_common.verifier import (
    ALGORITHM,
    ISSUER,
    SERVICE_AUDIENCE,
    SERVICE_SUBJECT_PREFIX,
    USER_AUDIENCE,
)
from skreg_proto.auth import Jwk

HKDF_SALT = b"skreg-auth"
HKDF_INFO = b"skreg auth access-token signing key (Ed25519) v1"


def _b64url(raw: bytes) -> str:
    return base64url_encode(raw).decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    """A private key, its public half and its `kid` (the RFC 7638 JWK thumbprint)."""

    private: Ed25519PrivateKey
    public: Ed25519PublicKey
    kid: str

    @classmethod
    def derive(cls, secret: str) -> SigningKey:
        """The key pair for `secret`: identical on every replica that shares the secret."""
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=HKDF_INFO).derive(
            secret.encode("utf-8")
        )
        private = Ed25519PrivateKey.from_private_bytes(seed)
        public = private.public_key()
        x = _b64url(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
        # RFC 7638: SHA-256 over the required members, lexicographic, no whitespace.
        canonical = f'{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}'.encode()
        kid = _b64url(hashlib.sha256(canonical).digest())
        return cls(private=private, public=public, kid=kid)

    def jwk(self) -> Jwk:
        """The public key as a JWK."""
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return Jwk(kty="OKP", crv="Ed25519", x=_b64url(raw), kid=self.kid)


def user_scopes(role: str) -> list[str]:
    """What a password-login token may do: everything a user can, plus admin for admins."""
    return [*USER_SCOPES, "admin"] if role == "admin" else list(USER_SCOPES)


class TokenIssuer:
    """Signs access tokens for users and service tokens for our own services."""

    def __init__(self, key: SigningKey, *, access_ttl: int, service_ttl: int) -> None:
        self.key = key
        self.access_ttl = access_ttl
        self.service_ttl = service_ttl

    def _sign(self, claims: Mapping[str, object]) -> str:
        return jwt.encode(
            dict(claims), self.key.private, algorithm=ALGORITHM, headers={"kid": self.key.kid}
        )

    def access_token(
        self,
        *,
        user_id: str,
        username: str,
        role: str,
        token_version: int,
        session_id: str,
        now: float | None = None,
        ttl: int | None = None,
        orgs: Mapping[str, str] | None = None,
    ) -> str:
        """A user's access token (`now`/`ttl` exist for tests of expiry); `orgs`: its
        organization memberships, name -> role."""
        issued = int(time.time() if now is None else now)
        return self._sign(
            {
                "iss": ISSUER,
                "aud": USER_AUDIENCE,
                "sub": user_id,
                "name": username,
                "roles": [role],
                "scopes": user_scopes(role),
                "iat": issued,
                "exp": issued + (self.access_ttl if ttl is None else ttl),
                "jti": secrets.token_urlsafe(16),
                "sid": session_id,
                "ver": token_version,
                "orgs": dict(orgs or {}),
            }
        )

    def publishing_token(
        self,
        *,
        user_id: str,
        username: str,
        token_version: int,
        namespace: str,
        publisher: Mapping[str, object],
        ttl: int,
        orgs: Mapping[str, str] | None = None,
    ) -> str:
        """A trusted-publishing token: publish scope, one namespace, the CI job as `tp`.

        It never carries the admin role: a policy an administrator registered for
        someone's namespace acts as that namespace's owner, nothing more. For an
        organization's namespace `orgs` is the policy user's role there (only that one).
        """
        issued = int(time.time())
        return self._sign(
            {
                "iss": ISSUER,
                "aud": USER_AUDIENCE,
                "sub": user_id,
                "name": username,
                "roles": ["user"],
                "scopes": ["publish"],
                "iat": issued,
                "exp": issued + ttl,
                "jti": secrets.token_urlsafe(16),
                "sid": f"ci:{secrets.token_urlsafe(12)}",
                "ver": token_version,
                "ns": [namespace],
                "tp": dict(publisher),
                "orgs": dict(orgs or {}),
            }
        )

    def service_token(self, service: str, now: float | None = None) -> str:
        """A token with the `service` role: only issued against SERVICE_SECRET."""
        issued = int(time.time() if now is None else now)
        return self._sign(
            {
                "iss": ISSUER,
                "aud": SERVICE_AUDIENCE,
                "sub": f"{SERVICE_SUBJECT_PREFIX}{service}",
                "name": service,
                "roles": [SERVICE_ROLE],
                "scopes": [],
                "iat": issued,
                "exp": issued + self.service_ttl,
                "jti": secrets.token_urlsafe(16),
            }
        )


class LocalKeySource:
    """Auth verifies its own tokens without asking anyone."""

    def __init__(self, key: SigningKey) -> None:
        self._keys = {key.kid: key.public}

    async def fetch(self) -> Mapping[str, Ed25519PublicKey]:
        """The one signing key's public half."""
        return self._keys
