"""`/api/v1/auth/orgs…` and the internal memberships endpoint single sign-on uses."""

from __future__ import annotations

from litestar import delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT
from skreg_common.principal import Principal, requires_service, requires_user
from skreg_proto.auth import (
    MemberOut,
    MemberSetRequest,
    MembershipsSetRequest,
    OrgCreateRequest,
    OrgOut,
)
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_auth.context import AuthContext
from skreg_auth.orgs.service import OrgService


@post("/orgs", guards=[requires_user()], status_code=201)
async def create_org(
    data: JSONBody[OrgCreateRequest],
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
    client_ip: NamedDependency[str | None],
) -> OrgOut:
    """Create an organization (its name is also its namespace); the caller becomes owner.

    The caller's access token carries memberships, so it is replaced: refresh it.
    """
    return await OrgService(db_session, auth).create(
        principal, data.name, data.display_name, client_ip
    )


@get("/orgs", guards=[requires_user()])
async def list_orgs(
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
) -> list[OrgOut]:
    """The caller's organizations with their role (admins: every organization)."""
    return await OrgService(db_session, auth).list_for(principal)


@get("/orgs/{org:str}/members", guards=[requires_user()])
async def list_members(
    org: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
) -> list[MemberOut]:
    """Members and roles (members and admins only; 404 for anyone else)."""
    return await OrgService(db_session, auth).members(principal, org)


@put("/orgs/{org:str}/members/{username:str}", guards=[requires_user()])
async def set_member(
    org: FromPath[str],
    username: FromPath[str],
    data: JSONBody[MemberSetRequest],
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
    client_ip: NamedDependency[str | None],
) -> MemberOut:
    """Add a member or change a role (owners: any; admins: not owners)."""
    return await OrgService(db_session, auth).set_member(
        principal, org, username, data.role, client_ip
    )


@delete(
    "/orgs/{org:str}/members/{username:str}",
    guards=[requires_user()],
    status_code=HTTP_204_NO_CONTENT,
)
async def remove_member(
    org: FromPath[str],
    username: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
    client_ip: NamedDependency[str | None],
) -> None:
    """Remove a member (or leave); the last owner cannot go."""
    await OrgService(db_session, auth).remove_member(principal, org, username, client_ip)


@put("/users/{user_id:str}/memberships", guards=[requires_service()])
async def replace_memberships(
    user_id: FromPath[str],
    data: JSONBody[MembershipsSetRequest],
    db_session: NamedDependency[AsyncSession],
    auth: NamedDependency[AuthContext],
    principal: NamedDependency[Principal],
) -> dict[str, str]:
    """Replace a user's memberships (single sign-on's group mapping, services only)."""
    return await OrgService(db_session, auth).replace_memberships(
        user_id, data.memberships, data.managed, principal
    )


HANDLERS = [create_org, list_orgs, list_members, set_member, remove_member]
INTERNAL_HANDLERS = [replace_memberships]
