"""The PrincipalResolver every service uses: tokens checked locally, API keys introspected
and cached briefly, revocations honoured the moment they arrive."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cachetools import TLRUCache
from skreg_proto.auth import RevocationEvent
from skreg_proto.internal import IntrospectResponse

from skreg_common.errors import Unauthorized
from skreg_common.principal import Principal
from skreg_common.revocation import RevocationList
from skreg_common.verifier.tokens import (
    CLOCK_LEEWAY_S,
    AccessClaims,
    JwtVerifier,
    looks_like_jwt,
    principal_from_claims,
    user_principal,
)

MAX_CACHE_SECONDS = 30.0  # the longest any process may trust an introspection answer
NEGATIVE_CACHE_SECONDS = 5.0
MAX_CREDENTIAL_LENGTH = 4096


class Introspector(Protocol):
    """Resolves an API key to what auth knows about it."""

    async def introspect(self, key: str) -> IntrospectResponse:
        """`active=False` for anything that is not a usable key."""
        ...


def principal_from_introspection(answer: IntrospectResponse) -> Principal:
    """The principal of an active API key."""
    return user_principal(
        answer.user_id,
        answer.username,
        answer.roles,
        answer.scopes,
        key_id=answer.key_id,
        orgs=answer.orgs,
        namespaces=answer.namespaces,
    )


@dataclass(frozen=True)
class _Cached:
    principal: Principal | None  # None: not a usable key (cached briefly too)
    ttl: float
    user_id: str | None
    key_id: str | None


def _answer_expiry(_digest: bytes, cached: _Cached, now: float) -> float:
    return now + cached.ttl


def _token_expiry(_token: str, known: tuple[Principal, AccessClaims], _now: float) -> float:
    # Remembered as long as the verifier itself would still accept the token.
    return known[1].exp + CLOCK_LEEWAY_S


class CredentialResolver:
    """`PrincipalResolver` for every service: local JWT checks, cached API-key introspection.

    A cached answer lives at most `max_cache_seconds` (≤ 30 s), less when auth says so
    (a key about to expire), and is dropped at once when a revocation event arrives.
    """

    def __init__(
        self,
        verifier: JwtVerifier,
        introspector: Introspector,
        revocations: RevocationList,
        *,
        max_cache_seconds: float = MAX_CACHE_SECONDS,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._verifier = verifier
        self._introspector = introspector
        self._revocations = revocations
        self._max_cache = min(max_cache_seconds, MAX_CACHE_SECONDS)
        # Each entry lives for its own time (auth's answer, a token's expiry): a TLRU cache.
        self._cache: TLRUCache[bytes, _Cached] = TLRUCache(
            maxsize=max_entries, ttu=_answer_expiry, timer=clock
        )
        self._inflight: dict[bytes, asyncio.Task[Principal | None]] = {}
        self._tokens: TLRUCache[str, tuple[Principal, AccessClaims]] = TLRUCache(
            maxsize=max_entries, ttu=_token_expiry, timer=time.time
        )
        revocations.subscribe(self._on_revocation)

    @property
    def revocations(self) -> RevocationList:
        """The revocation list this resolver consults."""
        return self._revocations

    async def resolve(self, credential: str) -> Principal:
        """A JWT, a service token or an API key → its principal; `Unauthorized` otherwise."""
        if not credential or len(credential) > MAX_CREDENTIAL_LENGTH:
            raise Unauthorized("invalid credential")
        if looks_like_jwt(credential):
            return await self.resolve_token(credential)
        principal = await self._resolve_key(credential)
        if principal is None:
            raise Unauthorized("invalid or revoked API key")
        return principal

    async def resolve_token(self, token: str) -> Principal:
        """Verify an access or service token and check it has not been revoked since.

        A token already verified is remembered (keyed by its exact text, until it
        expires), so a client's every request does not pay for the signature again;
        the revocation check runs on every call regardless.
        """
        known = self._tokens.get(token)
        if known is not None:
            principal, claims = known
        else:
            claims = await self._verifier.verify(token)
            principal = principal_from_claims(claims)
            self._tokens[token] = (principal, claims)
        if principal.kind == "user" and self._revocations.token_revoked(
            claims.sub, claims.ver, claims.sid
        ):
            raise Unauthorized("token revoked")
        return principal

    async def _resolve_key(self, key: str) -> Principal | None:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        cached = self._cache.get(digest)
        if cached is not None:
            return cached.principal
        task = self._inflight.get(digest)
        if task is None:
            # Concurrent misses for one key share a single introspection.
            task = asyncio.create_task(self._introspect(digest, key))
            self._inflight[digest] = task
            task.add_done_callback(lambda t: self._settled(digest, t))
        return await asyncio.shield(task)

    def _settled(self, digest: bytes, task: asyncio.Task[Principal | None]) -> None:
        self._inflight.pop(digest, None)
        if not task.cancelled():
            task.exception()  # retrieved here too, in case every waiter was cancelled

    async def _introspect(self, digest: bytes, key: str) -> Principal | None:
        generation = self._revocations.generation
        answer = await self._introspector.introspect(key)
        principal = principal_from_introspection(answer) if answer.active else None
        ttl = min(
            float(answer.cache_seconds) if answer.active else NEGATIVE_CACHE_SECONDS,
            self._max_cache,
        )
        # A revocation that arrived meanwhile may postdate what auth told us: do not keep it.
        if ttl > 0 and generation == self._revocations.generation:
            self._cache[digest] = _Cached(principal, ttl, answer.user_id, answer.key_id)
        return principal

    def _on_revocation(self, event: RevocationEvent) -> None:
        if event.kind == "session":
            return
        attribute = "user_id" if event.kind == "user" else "key_id"
        # Negative answers name no user or key; a re-enabled user may own any of them.
        stale = [
            d
            for d, c in self._cache.items()
            if c.principal is None or getattr(c, attribute) == event.id
        ]
        for digest in stale:
            with contextlib.suppress(KeyError):  # it may have expired meanwhile
                del self._cache[digest]

    def forget(self) -> None:
        """Drop every cached answer and remembered token."""
        self._cache.clear()
        self._tokens.clear()
