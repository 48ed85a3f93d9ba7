"""The auth service's long-lived parts, built once per process and handed to its routes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from skreg_common.revocation import RevocationList
from skreg_common.runtime import Runtime
from skreg_common.throttle import Throttle
from skreg_common.throttle import throttle as new_throttle
from skreg_common.verifier import CredentialResolver, JwtVerifier

from skreg_auth.apikeys.service import LocalIntrospector
from skreg_auth.passwords import Passwords
from skreg_auth.revoker import Revoker
from skreg_auth.sessions.service import LoginLimits, SessionService
from skreg_auth.settings import AuthSettings
from skreg_auth.tokens.signing import LocalKeySource, SigningKey, TokenIssuer

THROTTLE_PREFIX = "skreg:auth:throttle:"  # sign-in, password and registration budgets


@dataclass(frozen=True)
class AuthContext:
    """What the routes use: settings, runtime and the wired services."""

    settings: AuthSettings
    runtime: Runtime
    passwords: Passwords
    issuer: TokenIssuer
    revoker: Revoker
    throttle: Throttle
    registrations: Throttle
    introspector: LocalIntrospector
    resolver: CredentialResolver
    logins: SessionService

    @classmethod
    def build(cls, settings: AuthSettings, runtime: Runtime) -> AuthContext:
        """Wire everything for `runtime` (Redis-backed throttling when Redis is configured)."""
        passwords = Passwords(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            workers=settings.password_hash_workers,
            queue=settings.password_hash_queue,
        )
        key = SigningKey.derive(settings.secret_key)
        issuer = TokenIssuer(
            key, access_ttl=settings.access_token_ttl, service_ttl=settings.service_token_ttl
        )
        revocations = RevocationList()
        revoker = Revoker(revocations, access_ttl=settings.access_token_ttl, redis=runtime.redis)
        throttle = new_throttle(runtime.redis, prefix=THROTTLE_PREFIX, window=settings.login_window)
        registrations = new_throttle(
            runtime.redis, prefix=THROTTLE_PREFIX, window=settings.registration_window
        )
        introspector = LocalIntrospector(
            runtime.engine,
            runtime.sessions,
            admin_username=settings.admin_username,
            admin_api_key=settings.admin_api_key,
            cache_seconds=settings.introspection_cache_seconds,
        )
        resolver = CredentialResolver(
            JwtVerifier(LocalKeySource(key)),
            introspector,
            revocations,
            max_cache_seconds=settings.introspection_cache_seconds,
        )
        logins = SessionService(
            sessions=runtime.sessions,
            passwords=passwords,
            issuer=issuer,
            throttle=throttle,
            revoker=revoker,
            refresh_ttl=dt.timedelta(days=settings.refresh_token_ttl_days),
            limits=LoginLimits(
                max_failures=settings.login_max_failures,
                locked_address_failures=settings.login_locked_address_failures,
            ),
        )
        return cls(
            settings=settings,
            runtime=runtime,
            passwords=passwords,
            issuer=issuer,
            revoker=revoker,
            throttle=throttle,
            registrations=registrations,
            introspector=introspector,
            resolver=resolver,
            logins=logins,
        )
