"""What the auth service's handlers share for the life of the app: settings, keys, services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from skreg_common.revocation import RevocationList
from skreg_common.runtime import Runtime
from skreg_common.settings import SettingsError
from skreg_common.throttle import Throttle
from skreg_common.throttle import throttle as new_throttle
from skreg_common.verifier import CredentialResolver, JwtVerifier

from skreg_auth.apikeys.introspection import LocalIntrospector
from skreg_auth.orgs.sso import OrgMemberships
from skreg_auth.passwords import Passwords
from skreg_auth.revoker import Revoker
from skreg_auth.sessions.service import LoginLimits, SessionService
from skreg_auth.settings import AuthSettings
from skreg_auth.sso.mapping import Grant, MappingError, parse_group_mapping
from skreg_auth.sso.memberships import MembershipSink
from skreg_auth.sso.oidc import OidcProvider
from skreg_auth.sso.service import SsoService
from skreg_auth.tokens.signing import LocalKeySource, SigningKey, TokenIssuer
from skreg_auth.trusted.service import TrustedPublishing

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
    sso: SsoService = field(init=False, repr=False)
    trusted: TrustedPublishing = field(init=False, repr=False)
    # SSO parts that need only the settings. `memberships` is where SSO's group mapping
    # is applied (sso/memberships.py): organization memberships (`orgs.sso`), set by
    # `bind` unless one was given.
    sso_provider: OidcProvider = field(init=False, repr=False)
    group_mapping: dict[str, tuple[Grant, ...]] = field(init=False, repr=False)
    memberships: MembershipSink | None = field(default=None, repr=False)
    ci_providers: dict[str, OidcProvider] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.sso_provider = OidcProvider(
            self.settings.sso_issuer or "", timeout=self.settings.sso_timeout_seconds
        )
        try:
            self.group_mapping = parse_group_mapping(self.settings.sso_group_mapping)
        except MappingError as exc:
            raise SettingsError(f"SSO_GROUP_MAPPING: {exc}") from exc

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
            password_login_only_for=(
                None
                if not settings.sso_enabled or settings.sso_password_login
                else settings.admin_username.lower()
            ),
        )
        self.sso = SsoService(
            settings=settings,
            sessions=runtime.sessions,
            provider=self.sso_provider,
            logins=self.logins,
            memberships=self.memberships or OrgMemberships(self),
            mapping=self.group_mapping,
        )
        self.trusted = TrustedPublishing(
            settings=settings,
            sessions=runtime.sessions,
            issuer=self.issuer,
            providers=self.ci_providers,
        )
        return self
