"""`/api/v1/auth/register`, `/api/v1/auth/users[/{id}]`, `/api/v1/auth/account`."""

from __future__ import annotations

import msgspec
from litestar import Router, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from skreg_common.principal import Principal, requires_admin, requires_user
from skreg_proto.auth import RegisterRequest, UserOut, UserUpdateRequest
from skreg_proto.pagination import Page
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_auth.context import AuthContext
from skreg_auth.deps import requires_open_registration, requires_registration_budget
from skreg_auth.users.convert import to_user
from skreg_auth.users.models import User
from skreg_auth.users.service import UserService


@post("/register", status_code=201)
async def create_user(
    data: JSONBody[RegisterRequest],
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
    client_ip: NamedDependency[str | None],
) -> UserOut:
    """Register a user (anyone while registration is open; admins always)."""
    user = await UserService(db_session, auth).register(
        data, actor=principal if principal.is_authenticated else None, client_ip=client_ip
    )
    return to_user(user)


def registration_router(auth: AuthContext) -> Router:
    """`/register` behind its guards, which need `auth` (guards get no dependencies)."""
    return Router(
        path="/",
        route_handlers=[create_user],
        guards=[requires_open_registration(auth), requires_registration_budget(auth)],
    )


@get("/users", guards=[requires_admin()])
async def list_users(
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    q: FromQuery[str | None] = None,
    role: FromQuery[str | None] = None,
    disabled: FromQuery[bool | None] = None,
    limit: FromQuery[int | None] = None,
    cursor: FromQuery[str | None] = None,
) -> Page[UserOut]:
    """Users by username; `q` matches part of a username or email."""
    return await UserService(db_session, auth).list_users(
        q=q, role=role, disabled=disabled, limit=limit, cursor=cursor
    )


@get("/users/{user_id:str}", guards=[requires_admin()])
async def get_user(
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    user_id: FromPath[str],
) -> UserOut:
    """One user, with their sign-in state."""
    user = await UserService(db_session, auth).get_user(user_id)
    return await _with_sign_in_state(auth, user)


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
    user = await UserService(db_session, auth).update_user(
        principal, user_id, data, client_ip=client_ip
    )
    return to_user(user)


@delete("/users/{user_id:str}/sign-in-lock", guards=[requires_admin()], status_code=204)
async def delete_sign_in_lock(
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
    client_ip: NamedDependency[str | None],
    user_id: FromPath[str],
) -> None:
    """Lift the limit failed sign-ins put on an account (its count starts again)."""
    user = await UserService(db_session, auth).get_user(user_id)
    await auth.logins.clear_sign_in_lock(principal, user, client_ip)


@get("/account", guards=[requires_user()])
async def get_account(
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
) -> UserOut:
    """The caller's own account, with failed sign-ins and any limit they caused."""
    assert principal.id is not None
    user = await UserService(db_session, auth).get_user(principal.id)
    return await _with_sign_in_state(auth, user)


async def _with_sign_in_state(auth: AuthContext, user: User) -> UserOut:
    failures, until = await auth.logins.sign_in_state(user.id)
    return msgspec.structs.replace(
        to_user(user), failed_sign_ins=failures, sign_in_limited_until=until
    )


# `create_user` is not here: it is mounted by `registration_router`, behind its guards.
HANDLERS = [list_users, get_user, update_user, delete_sign_in_lock, get_account]
