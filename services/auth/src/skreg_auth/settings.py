"""Auth settings: the seed admin, token lifetimes, login throttling, password hashing cost."""

from __future__ import annotations

from skreg_common.settings import ServiceSettings

DEV_ADMIN_PASSWORD = "admin123"  # noqa: S105 - the known dev default, refused in prod


class AuthSettings(ServiceSettings, frozen=True, kw_only=True):
    """Read from the environment (`ADMIN_USERNAME`, `REGISTRATION_OPEN`, …) by `load_settings`."""

    admin_username: str = "admin"
    admin_email: str = "admin@localhost"
    admin_password: str = DEV_ADMIN_PASSWORD
    admin_api_key: str | None = None
    # None: open in dev, closed in prod.
    registration_open: bool | None = None
    access_token_ttl: int = 900
    service_token_ttl: int = 900
    refresh_token_ttl_days: int = 30
    # Failed sign-ins per window: per client address, and per account from anywhere.
    login_max_failures: int = 10
    login_window: int = 900
    # Once an account has had LOGIN_MAX_FAILURES, each address gets only this many more
    # for it in the window: attackers elsewhere limit themselves, not the owner's address.
    login_locked_address_failures: int = 3
    # Registrations per client address per window (admins are not counted).
    registration_max_per_address: int = 20
    registration_window: int = 3600
    # argon2id cost; changing these rehashes each password at its owner's next login.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    # Threads hashing passwords at once (0: half the CPUs); the rest queue, the loop stays free.
    password_hash_workers: int = 0
    # Sign-in hashes running or queued before the next gets an early 429 (0: 8 per thread);
    # registrations get a quarter of it in a lane of their own, so they cannot starve sign-ins.
    password_hash_queue: int = 0
    max_keys_per_user: int = 100
    # Seconds other processes may cache an API-key introspection (the verifier caps it at 30).
    introspection_cache_seconds: int = 30
    # Single sign-on with an OpenID Connect provider (README "Single sign-on"). SSO is on
    # when SSO_ISSUER is set; discovery (`/.well-known/openid-configuration`) finds the rest.
    sso_issuer: str | None = None
    sso_client_id: str | None = None
    sso_client_secret: str | None = None
    sso_scopes: str = "openid profile email groups"
    sso_groups_claim: str = "groups"
    # "group=organization:role" pairs, comma-separated, applied at every SSO sign-in.
    sso_group_mapping: str = ""
    # The sign-in button's label (e.g. "Acme Keycloak").
    sso_display_name: str = "single sign-on"
    # Off: only SSO signs in (the seed admin keeps its password: the way back in when
    # the provider is down) and nobody registers with a password.
    sso_password_login: bool = True
    sso_timeout_seconds: float = 10.0
    # Trusted publishing: the CI issuers trust policies may name (space-separated). The
    # registry fetches their keys, so the list is the operator's, not the policy author's.
    trusted_publishing_issuers: str = (
        "https://token.actions.githubusercontent.com https://gitlab.com"
    )
    trusted_publishing_token_ttl: int = 900

    @property
    def registration_is_open(self) -> bool:
        """Whether anyone may register with a password (admins always can)."""
        if self.sso_enabled and not self.sso_password_login:
            return False
        return self.is_dev if self.registration_open is None else self.registration_open

    @property
    def sso_enabled(self) -> bool:
        """Whether an OpenID provider is configured."""
        return bool(self.sso_issuer and self.sso_client_id)

    @property
    def trusted_issuers(self) -> frozenset[str]:
        """The issuers trust policies may name, without trailing slashes."""
        return frozenset(i.rstrip("/") for i in self.trusted_publishing_issuers.split() if i)

    def production_problems(self) -> list[str]:
        """The common checks plus the seed admin's credentials."""
        problems = super().production_problems()
        if self.admin_password == DEV_ADMIN_PASSWORD or len(self.admin_password) < 10:
            problems.append("ADMIN_PASSWORD is the dev default or shorter than 10 characters")
        if self.admin_api_key is not None and len(self.admin_api_key) < 32:
            problems.append("ADMIN_API_KEY is shorter than 32 characters")
        if self.sso_issuer and not self.sso_issuer.startswith("https://"):
            problems.append("SSO_ISSUER must be an https:// URL")
        if self.sso_issuer and not (self.sso_client_id and self.sso_client_secret):
            problems.append("SSO_ISSUER is set without SSO_CLIENT_ID and SSO_CLIENT_SECRET")
        return problems
