"""`/api/v1/auth/register`, `/api/v1/auth/users[/{id}]`, `/api/v1/auth/account`."""

from __future__ import annotations

import msgspec
from litestar import delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from skreg_common.principal import Principal, requires_admin, requires_user
from skreg_proto.auth import RegisterRequest, UserOut, UserUpdateRequest
from skreg_proto.pagination import Page
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_auth.context import AuthContext
from skreg_auth.deps import requires_open_registration, requires_registration_budget
from skreg_auth.users import service
from skreg_auth.users.models import User


@post(
    "/register",
    guards=[requires_open_registration, requires_registration_budget],
    status_code=201,
)
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
        auth.runtime.sessions,
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
async def get_user(
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    user_id: FromPath[str],
) -> UserOut:
    """One user, with their sign-in state."""
    return await _with_sign_in_state(auth, await service.get_user(db_session, user_id))


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


@delete("/users/{user_id:str}/sign-in-lock", guards=[requires_admin()], status_code=204)
async def delete_sign_in_lock(
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
    client_ip: NamedDependency[str | None],
    user_id: FromPath[str],
) -> None:
    """Lift the limit failed sign-ins put on an account (its count starts again)."""
    user = await service.get_user(db_session, user_id)
    await auth.logins.clear_sign_in_lock(principal, user, client_ip)


@get("/account", guards=[requires_user()])
async def get_account(
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
) -> UserOut:
    """The caller's own account, with failed sign-ins and any limit they caused."""
    assert principal.id is not None
    return await _with_sign_in_state(auth, await service.get_user(db_session, principal.id))


async def _with_sign_in_state(auth: AuthContext, user: User) -> UserOut:
    failures, until = await auth.logins.sign_in_state(user.id)
    return msgspec.structs.replace(
        service.to_struct(user), failed_sign_ins=failures, sign_in_limited_until=until
    )


ROUTES = [create_user, list_users, get_user, update_user, delete_sign_in_lock, get_account]
