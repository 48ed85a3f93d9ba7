"""Access tokens: deterministic Ed25519 keys, and every kind of forgery refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from jwt.utils import base64url_decode, base64url_encode
from litestar import Litestar
from litestar.testing import AsyncTestClient
from skreg_auth.context import AuthContext
from skreg_auth.tokens.signing import SigningKey, TokenIssuer
from skreg_common.verifier import ISSUER, SERVICE_AUDIENCE, USER_AUDIENCE

from tests.auth.conftest import AUTH, bearer, user_with_token

Client = AsyncTestClient[Litestar]


def test_the_key_pair_is_derived_from_the_secret() -> None:
    one, again = SigningKey.derive("s" * 40), SigningKey.derive("s" * 40)
    other = SigningKey.derive("t" * 40)
    assert one.kid == again.kid
    assert one.jwk() == again.jwk()
    assert one.kid != other.kid
    raw = one.private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    assert raw == again.private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )


def _b64(data: dict[str, Any]) -> str:
    return base64url_encode(json.dumps(data).encode()).decode()


def _claims(user_id: str, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": USER_AUDIENCE,
        "sub": user_id,
        "name": "mallory",
        "roles": ["admin"],
        "scopes": ["read", "publish", "yank", "admin"],
        "iat": now,
        "exp": now + 900,
        "jti": "j" * 22,
        "ver": 0,
        **extra,
    }


@pytest.fixture
async def victim(
    client: Client, auth_context: AuthContext
) -> tuple[str, dict[str, Any], TokenIssuer]:
    user, tokens = await user_with_token(client, "victim")
    issuer = auth_context.issuer
    return user["id"], tokens, issuer


async def _me(client: Client, token: str) -> int:
    return (await client.get(f"{AUTH}/me", headers=bearer(token))).status_code


async def test_a_genuine_token_works(client: Client, victim: Any) -> None:
    _, tokens, _ = victim
    assert await _me(client, tokens["access_token"]) == 200


async def test_token_signed_with_another_key(client: Client, victim: Any) -> None:
    user_id, _, issuer = victim
    stranger = SigningKey.derive("an attacker's own secret, long enough to be real")
    # Same kid as ours: only the signature can tell.
    forged = jwt.encode(
        _claims(user_id), stranger.private, algorithm="EdDSA", headers={"kid": issuer.key.kid}
    )
    assert await _me(client, forged) == 401
    unknown_kid = jwt.encode(
        _claims(user_id), stranger.private, algorithm="EdDSA", headers={"kid": stranger.kid}
    )
    assert await _me(client, unknown_kid) == 401


async def test_alg_none(client: Client, victim: Any) -> None:
    user_id, _, issuer = victim
    header = _b64({"alg": "none", "typ": "JWT", "kid": issuer.key.kid})
    assert await _me(client, f"{header}.{_b64(_claims(user_id))}.") == 401
    assert await _me(client, f"{header}.{_b64(_claims(user_id))}") == 401


async def test_hs256_with_the_public_key_as_secret(client: Client, victim: Any) -> None:
    user_id, _, issuer = victim
    public_raw = issuer.key.public.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    public_pem = issuer.key.public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    x = issuer.key.jwk().x
    header = {"alg": "HS256", "typ": "JWT", "kid": issuer.key.kid}
    for secret in (public_raw, public_pem, x.encode()):
        signing_input = f"{_b64(header)}.{_b64(_claims(user_id))}"
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{base64url_encode(signature).decode()}"
        assert await _me(client, token) == 401


async def test_expired_token(client: Client, victim: Any) -> None:
    user_id, _, issuer = victim
    expired = jwt.encode(
        _claims(user_id, iat=int(time.time()) - 2000, exp=int(time.time()) - 1000),
        issuer.key.private,
        algorithm="EdDSA",
        headers={"kid": issuer.key.kid},
    )
    assert await _me(client, expired) == 401


@pytest.mark.parametrize(
    "bad",
    [
        {"aud": "someone-else"},
        {"aud": SERVICE_AUDIENCE},  # a user pretending to be a service
        {"iss": "https://evil.example"},
        {"exp": None},
        {"jti": None},
    ],
)
async def test_claims_that_must_match(client: Client, victim: Any, bad: dict[str, Any]) -> None:
    user_id, _, issuer = victim
    claims = {k: v for k, v in {**_claims(user_id), **bad}.items() if v is not None}
    token = jwt.encode(
        claims, issuer.key.private, algorithm="EdDSA", headers={"kid": issuer.key.kid}
    )
    assert await _me(client, token) == 401


async def test_tampered_payload(client: Client, victim: Any) -> None:
    _, tokens, _ = victim
    header, payload, signature = tokens["access_token"].split(".")
    claims = json.loads(base64url_decode(payload))
    claims["roles"], claims["scopes"] = ["admin"], ["admin"]
    assert await _me(client, f"{header}.{_b64(claims)}.{signature}") == 401


async def test_a_user_token_never_carries_the_service_role(client: Client, victim: Any) -> None:
    user_id, _, issuer = victim
    # Even correctly signed (which only auth can do), `service` in a user token is ignored.
    token = jwt.encode(
        _claims(user_id, roles=["user", "service"]),
        issuer.key.private,
        algorithm="EdDSA",
        headers={"kid": issuer.key.kid},
    )
    me = await client.get(f"{AUTH}/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["roles"] == ["user"]
    assert me.json()["kind"] == "user"
    introspect = await client.post(f"{AUTH}/introspect", headers=bearer(token), json={"key": "x"})
    assert introspect.status_code == 403


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer eyJ.eyJ.sig",
        "Bearer " + "a" * 10000,
        "Token abc",
    ],
)
async def test_malformed_authorization_headers(client: Client, header: str) -> None:
    response = await client.get(f"{AUTH}/me", headers={"Authorization": header})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_tokens_are_standard_jwts_verifiable_from_the_jwks(client: Client) -> None:
    """Any JOSE library can check our tokens with the published key (pyjwt here)."""
    _, tokens = await user_with_token(client, "interop")
    (jwk,) = (await client.get(f"{AUTH}/jwks")).json()["keys"]
    key = jwt.PyJWK(jwk)
    claims = jwt.decode(
        tokens["access_token"], key, algorithms=["EdDSA"], audience=USER_AUDIENCE, issuer=ISSUER
    )
    assert claims["name"] == "interop"
    assert claims["exp"] - claims["iat"] == 900
    assert set(claims) >= {"sub", "name", "roles", "scopes", "iat", "exp", "iss", "aud", "jti"}


async def test_unusual_headers_and_claims(client: Client, victim: Any) -> None:
    user_id, _, issuer = victim

    def sign(claims: dict[str, Any], **headers: Any) -> str:
        return jwt.encode(
            claims,
            issuer.key.private,
            algorithm="EdDSA",
            headers={"kid": issuer.key.kid, **headers},
        )

    now = int(time.time())
    assert await _me(client, sign(_claims(user_id), crit=["exp"])) == 401
    assert await _me(client, sign(_claims(user_id, aud=[USER_AUDIENCE, "other"]))) == 401
    assert await _me(client, sign(_claims(user_id, iat=now + 3600, exp=now + 4000))) == 401
    assert await _me(client, sign(_claims(user_id, nbf=now + 3600))) == 401
    assert await _me(client, sign(_claims(user_id, sub=5))) == 401
    assert await _me(client, sign(_claims(user_id, ver="0"))) == 401
    assert await _me(client, sign(_claims(user_id))) == 200  # the control
