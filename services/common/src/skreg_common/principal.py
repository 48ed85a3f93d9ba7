"""Who is calling: the Principal, the resolver protocol that finds it, and the guards.

Routes never parse credentials themselves. A resolver (auth's local one in the
all-in-one process, a JWKS verifier + introspection client elsewhere) turns
`Authorization: Bearer …` / `X-API-Key: …` into a Principal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, Protocol

import msgspec
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from skreg_common.errors import Forbidden, Unauthorized
from skreg_common.scopeheaders import ScopeHeaders

Scope = Literal["read", "publish", "yank", "keys", "admin"]
# `keys`: list, create and revoke API keys. A signed-in session has it; a key has it
# only when given explicitly, so a key handed to CI cannot mint or revoke others.
ALL_SCOPES: tuple[str, ...] = ("read", "publish", "yank", "keys", "admin")
USER_SCOPES: tuple[str, ...] = ("read", "publish", "yank", "keys")
SERVICE_ROLE = "service"
# Roles in an organization, strongest first (see `org_role_at_least`).
ORG_ROLES: tuple[str, ...] = ("owner", "admin", "publisher", "reader")
MAX_MEMBERSHIPS = 100  # what one credential carries; bounds token size


def org_role_at_least(role: str | None, needed: str) -> bool:
    """Whether `role` in an organization grants what `needed` does (owner ⊇ admin ⊇ …)."""
    return role in ORG_ROLES and ORG_ROLES.index(role) <= ORG_ROLES.index(needed)


def namespace_matches(patterns: tuple[str, ...], namespace: str) -> bool:
    """Whether an API key limited to `patterns` (`acme/*`) covers `namespace`."""
    return any(p.removesuffix("/*") == namespace for p in patterns)


class TrustedPublisher(msgspec.Struct, frozen=True, kw_only=True):
    """The CI job a trusted-publishing token was exchanged for (recorded as provenance)."""

    issuer: str
    policy_id: str
    claims: tuple[tuple[str, str], ...] = ()


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """The caller of one request: a user (by token or API key), a service, or nobody."""

    kind: Literal["user", "service", "anonymous"]
    id: str | None = None
    username: str | None = None
    roles: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    key_id: str | None = None
    # The login session an access token belongs to (lets logout end it without a body).
    session_id: str | None = None
    # Organization memberships as (organization name, role), from auth (token or key).
    orgs: tuple[tuple[str, str], ...] = ()
    # None: not limited; else only these namespaces (`acme` or `acme/*`): a
    # namespace-limited API key, or a trusted-publishing token (its one namespace).
    namespaces: tuple[str, ...] | None = None
    trusted_publisher: TrustedPublisher | None = None

    def may_use_namespace(self, namespace: str) -> bool:
        """False when the credential is limited to other namespaces."""
        return self.namespaces is None or namespace_matches(self.namespaces, namespace)

    @property
    def is_authenticated(self) -> bool:
        """True for any caller that proved who it is."""
        return self.kind != "anonymous"

    @property
    def is_admin(self) -> bool:
        """True for a user holding the admin role through a credential with the admin scope."""
        return "admin" in self.roles and "admin" in self.scopes

    @property
    def is_service(self) -> bool:
        """True for another service of ours (never a user credential)."""
        return self.kind == "service" and SERVICE_ROLE in self.roles

    def has_scope(self, scope: str) -> bool:
        """True when the credential carries `scope`."""
        return scope in self.scopes

    def org_role(self, org: str) -> str | None:
        """The caller's role in organization `org`, if a member."""
        return next((role for name, role in self.orgs if name == org), None)


ANONYMOUS = Principal(kind="anonymous")


class PrincipalResolver(Protocol):
    """Turns a presented credential into a Principal, or raises `Unauthorized`."""

    async def resolve(self, credential: str) -> Principal:
        """Resolve a bearer JWT, an API key (`sr_…`) or a service token."""
        ...


def credential_from_headers(headers: Any) -> str | None:
    """The credential a request presents, if any: `Authorization: Bearer x` or `X-API-Key: x`."""
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("Authorization must be 'Bearer <token or API key>'")
        return str(value.strip())
    api_key = headers.get("x-api-key")
    return str(api_key.strip()) if api_key and api_key.strip() else None


async def resolve_principal(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The request's principal, resolved once and cached on the connection scope."""
    state = connection.scope.setdefault("state", {})
    cached = state.get("principal")
    if isinstance(cached, Principal):
        return cached
    credential = credential_from_headers(ScopeHeaders(connection.scope))
    if credential is None:
        principal = ANONYMOUS
    else:
        resolver: PrincipalResolver = connection.app.state.principal_resolver
        principal = await resolver.resolve(credential)
    state["principal"] = principal
    return principal


Guard = Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Any]


def requires_user() -> Guard:
    """Guard: any authenticated user (not anonymous, not a bare service)."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = await resolve_principal(connection)
        if principal.kind != "user":
            raise Unauthorized("sign in or present an API key")

    return guard


def requires_scope(scope: Scope) -> Guard:
    """Guard: an authenticated user whose credential carries `scope`."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = await resolve_principal(connection)
        if principal.kind != "user":
            raise Unauthorized("sign in or present an API key")
        if not principal.has_scope(scope):
            raise Forbidden(f"this credential lacks the '{scope}' scope")

    return guard


def requires_admin() -> Guard:
    """Guard: an admin user presenting a credential with the admin scope."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = await resolve_principal(connection)
        if principal.kind != "user":
            raise Unauthorized("sign in or present an API key")
        if not principal.is_admin:
            raise Forbidden("administrators only")

    return guard


def requires_service() -> Guard:
    """Guard: another service of ours, authenticated with a service token."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = await resolve_principal(connection)
        if not principal.is_authenticated:
            raise Unauthorized("service credential required")
        if not principal.is_service:
            raise Forbidden("services only")

    return guard
