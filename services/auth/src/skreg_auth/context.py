"""What the auth service's handlers share for the life of the app: settings, keys, services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from skreg_common.revocation import RevocationList
from skreg_common.runtime import Runtime
from skreg_common.throttle import Throttle
from skreg_common.throttle import throttle as new_throttle
from skreg_common.verifier import CredentialResolver, JwtVerifier

from skreg_auth.apikeys.introspection import LocalIntrospector
from skreg_auth.passwords import Passwords
from skreg_auth.revoker import Revoker
from skreg_auth.sessions.service import LoginLimits, SessionService
from skreg_auth.settings import AuthSettings
from skreg_auth.tokens.signing import LocalKeySource, SigningKey, TokenIssuer

THROTTLE_PREFIX = "skreg:auth:throttle:"  # sign-in, password and registration budgets


@dataclass(eq=False)
class AuthContext:
    """Built once by the component; handlers receive it as the `auth` dependency.

    What needs only the settings (password hashing, the signing key) is made by
    `create`. What works on the process's database and Redis is wired by `bind`,
    which the component calls when the app is assembled or starts: before any
    request, so handlers always find it.
    """

    settings: AuthSettings
    passwords: Passwords
    issuer: TokenIssuer
    revocations: RevocationList
    # Set by `bind(runtime)`.
    runtime: Runtime = field(init=False, repr=False)
    revoker: Revoker = field(init=False, repr=False)
    throttle: Throttle = field(init=False, repr=False)
    registrations: Throttle = field(init=False, repr=False)
    introspector: LocalIntrospector = field(init=False, repr=False)
    resolver: CredentialResolver = field(init=False, repr=False)
    logins: SessionService = field(init=False, repr=False)

    @classmethod
    def create(cls, settings: AuthSettings) -> AuthContext:
        """The parts `settings` alone determine; `bind` adds the rest."""
        passwords = Passwords(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            workers=settings.password_hash_workers,
            queue=settings.password_hash_queue,
        )
        issuer = TokenIssuer(
            SigningKey.derive(settings.secret_key),
            access_ttl=settings.access_token_ttl,
            service_ttl=settings.service_token_ttl,
        )
        return cls(
            settings=settings, passwords=passwords, issuer=issuer, revocations=RevocationList()
        )

    @property
    def is_bound(self) -> bool:
        """Whether `bind` has wired the database and Redis parts."""
        return hasattr(self, "runtime")

    def bind(self, runtime: Runtime) -> AuthContext:
        """Wire the parts on `runtime`'s database and Redis (once; again is a no-op).

        Throttling is shared over Redis when the runtime has it, in-process otherwise.
        """
        if self.is_bound:
            if self.runtime is not runtime:
                raise RuntimeError("this AuthContext already serves another runtime")
            return self
        settings = self.settings
        self.runtime = runtime
        self.revoker = Revoker(
            self.revocations, access_ttl=settings.access_token_ttl, redis=runtime.redis
        )
        self.throttle = new_throttle(
            runtime.redis, prefix=THROTTLE_PREFIX, window=settings.login_window
        )
        self.registrations = new_throttle(
            runtime.redis, prefix=THROTTLE_PREFIX, window=settings.registration_window
        )
        self.introspector = LocalIntrospector(
            runtime.engine,
            runtime.sessions,
            admin_username=settings.admin_username,
            admin_api_key=settings.admin_api_key,
            cache_seconds=settings.introspection_cache_seconds,
        )
        self.resolver = CredentialResolver(
            JwtVerifier(LocalKeySource(self.issuer.key)),
            self.introspector,
            self.revocations,
            max_cache_seconds=settings.introspection_cache_seconds,
        )
        self.logins = SessionService(
            sessions=runtime.sessions,
            passwords=self.passwords,
            issuer=self.issuer,
            throttle=self.throttle,
            revoker=self.revoker,
            refresh_ttl=dt.timedelta(days=settings.refresh_token_ttl_days),
            limits=LoginLimits(
                max_failures=settings.login_max_failures,
                locked_address_failures=settings.login_locked_address_failures,
            ),
        )
        return self
