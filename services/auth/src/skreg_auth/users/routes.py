"""`/api/v1/auth/register`, `/api/v1/auth/users[/{id}]`, `/api/v1/auth/account`."""

from __future__ import annotations

from litestar import get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from skreg_common.principal import Principal, requires_admin, requires_user
from skreg_proto.auth import RegisterRequest, UserOut, UserUpdateRequest
from skreg_proto.pagination import Page
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_auth.context import AuthContext
from skreg_auth.deps import requires_open_registration
from skreg_auth.users import service


@post("/register", guards=[requires_open_registration], status_code=201)
async def create_user(
    data: JSONBody[RegisterRequest],
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
    client_ip: NamedDependency[str | None],
) -> UserOut:
    """Register a user (anyone while registration is open; admins always)."""
    user = await service.register(
        db_session,
        auth.passwords,
        data,
        actor=principal if principal.is_authenticated else None,
        client_ip=client_ip,
    )
    return service.to_struct(user)


@get("/users", guards=[requires_admin()])
async def list_users(
    db_session: NamedDependency[AsyncSession],
    q: FromQuery[str | None] = None,
    role: FromQuery[str | None] = None,
    disabled: FromQuery[bool | None] = None,
    limit: FromQuery[int | None] = None,
    cursor: FromQuery[str | None] = None,
) -> Page[UserOut]:
    """Users by username; `q` matches part of a username or email."""
    return await service.list_users(
        db_session, q=q, role=role, disabled=disabled, limit=limit, cursor=cursor
    )


@get("/users/{user_id:str}", guards=[requires_admin()])
async def get_user(db_session: NamedDependency[AsyncSession], user_id: FromPath[str]) -> UserOut:
    """One user."""
    return service.to_struct(await service.get_user(db_session, user_id))


@patch("/users/{user_id:str}", guards=[requires_admin()])
async def update_user(
    data: JSONBody[UserUpdateRequest],
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
    client_ip: NamedDependency[str | None],
    user_id: FromPath[str],
) -> UserOut:
    """Change a user's role, disable or re-enable them (their credentials stop at once)."""
    user = await service.update_user(
        db_session, auth.revoker, principal, user_id, data, client_ip=client_ip
    )
    return service.to_struct(user)


@get("/account", guards=[requires_user()])
async def get_account(
    db_session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
) -> UserOut:
    """The caller's own account."""
    assert principal.id is not None
    return service.to_struct(await service.get_user(db_session, principal.id))


ROUTES = [create_user, list_users, get_user, update_user, get_account]
