"""`/api/v1/auth/keys[/{id}]` and `/api/v1/auth/introspect` (services only)."""

from __future__ import annotations

from typing import Any

from litestar import delete, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, JSONBody
from skreg_common.errors import Forbidden, Unauthorized
from skreg_common.principal import Principal, requires_scope, requires_service, resolve_principal
from skreg_proto.auth import ApiKeyCreated, ApiKeyOut, KeyCreateRequest
from skreg_proto.internal import IntrospectRequest, IntrospectResponse
from skreg_proto.pagination import Page
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_auth.apikeys.service import ApiKeyService
from skreg_auth.context import AuthContext


@get("/keys", guards=[requires_scope("keys")])
async def list_keys(
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
) -> Page[ApiKeyOut]:
    """The caller's active keys (without secrets)."""
    assert principal.id is not None
    return await ApiKeyService(db_session, auth).list_keys(principal.id)


@post(
    "/keys",
    guards=[requires_scope("keys")],
    status_code=201,
    cache_control=CacheControlHeader(no_store=True),
)
async def create_key(
    data: JSONBody[KeyCreateRequest],
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
    client_ip: NamedDependency[str | None],
) -> ApiKeyCreated:
    """Create a key; its secret is in this response and nowhere else, ever."""
    return await ApiKeyService(db_session, auth).create_key(principal, data, client_ip=client_ip)


async def requires_key_management(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard for revoking: the `keys` scope (or admin), or a key revoking itself.

    A key may always end itself (`skreg logout` does), never its siblings.
    """
    principal = await resolve_principal(connection)
    if principal.kind != "user":
        raise Unauthorized("sign in or present an API key")
    itself = (
        principal.key_id is not None and connection.path_params.get("key_id") == principal.key_id
    )
    if not (principal.has_scope("keys") or principal.is_admin or itself):
        raise Forbidden("this credential lacks the 'keys' scope")


@delete("/keys/{key_id:str}", guards=[requires_key_management], status_code=204)
async def delete_key(
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
    client_ip: NamedDependency[str | None],
    key_id: FromPath[str],
) -> None:
    """Revoke a key and the keys created with it (they stop working at once)."""
    await ApiKeyService(db_session, auth).revoke_key(principal, key_id, client_ip=client_ip)


@post("/introspect", guards=[requires_service()], status_code=200)
async def introspect(
    data: JSONBody[IntrospectRequest], auth: NamedDependency[AuthContext]
) -> IntrospectResponse:
    """Resolve an API key for another service (always read fresh from the database)."""
    if len(data.key) > 4096:
        return IntrospectResponse(active=False)
    return await auth.introspector.introspect(data.key)


HANDLERS = [list_keys, create_key, delete_key, introspect]
