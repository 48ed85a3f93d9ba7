"""Creating organizations and managing their members; every change is audited.

Memberships travel in the caller's credential (access-token claim `orgs`, or the
introspection answer of an API key), so the catalog decides visibility without
asking auth. A change therefore bumps the member's token version and broadcasts a
revocation (`skreg_auth.revoker`): every replica drops the old tokens and cached
key answers at once, and the member's next token carries the new memberships.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING

import structlog
from skreg_common.db import utcnow
from skreg_common.errors import Conflict, Forbidden, Invalid, NotFound
from skreg_common.principal import MAX_MEMBERSHIPS, ORG_ROLES, Principal, org_role_at_least
from skreg_proto.auth import MemberOut, OrgOut
from skreg_proto.problems import FieldProblem
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_auth.audit.service import AuditService
from skreg_auth.inputs import is_clean
from skreg_auth.orgs.models import Membership, Org
from skreg_auth.users.models import User
from skreg_auth.users.service import USERNAME_RE

if TYPE_CHECKING:
    from skreg_auth.context import AuthContext

log = structlog.get_logger(__name__)


async def memberships_of(session: AsyncSession, user_id: str) -> dict[str, str]:
    """A user's memberships as organization name -> role (what credentials carry)."""
    rows = await session.execute(
        select(Org.name, Membership.role)
        .join(Membership, Membership.org_id == Org.id)
        .where(Membership.user_id == user_id)
        .order_by(Org.name)
        .limit(MAX_MEMBERSHIPS)
    )
    return {str(name): str(role) for name, role in rows.all()}


def _org_out(org: Org, role: str | None, members: int) -> OrgOut:
    return OrgOut(
        name=org.name,
        display_name=org.display_name,
        created_at=org.created_at,
        role=role,  # type: ignore[arg-type]
        members=members,
    )


class OrgService:
    """Organizations through one session: changes commit with their audit events."""

    def __init__(self, session: AsyncSession, auth: AuthContext) -> None:
        self.session = session
        self.auth = auth
        self.audit = AuditService(session)

    async def create(
        self, actor: Principal, name: str, display_name: str, client_ip: str | None
    ) -> OrgOut:
        """A new organization with `actor` as its first owner."""
        assert actor.id is not None
        name = name.strip().lower()
        problems = []
        if not USERNAME_RE.fullmatch(name):
            problems.append(FieldProblem("name", "2-39 of a-z, 0-9, '-' and '_'"))
        if not is_clean(display_name, 100):
            problems.append(FieldProblem("display_name", "at most 100 printable characters"))
        if problems:
            raise Invalid("the organization is not valid", errors=problems)
        # One name space for users and organizations: both name namespaces.
        taken = await self.session.scalar(select(User.id).where(User.username == name))
        if taken is not None or await self._find(name) is not None:
            raise Conflict(f"the name '{name}' is taken")
        org = Org(id=str(uuid.uuid4()), name=name, display_name=display_name.strip())
        self.session.add(org)
        await self.session.flush()
        self.session.add(Membership(org_id=org.id, user_id=actor.id, role="owner"))
        await self.session.flush()
        self._record("org.created", actor, org, client_ip, {"owner": actor.username})
        await self._revoke(actor.id)
        return _org_out(org, "owner", 1)

    async def list_for(self, actor: Principal) -> list[OrgOut]:
        """The caller's organizations (admins: every organization)."""
        counts = (
            select(Membership.org_id, func.count().label("n"))
            .group_by(Membership.org_id)
            .subquery()
        )
        mine = (
            select(Membership.org_id, Membership.role)
            .where(Membership.user_id == actor.id)
            .subquery()
        )
        query = (
            select(Org, mine.c.role, counts.c.n)
            .outerjoin(mine, mine.c.org_id == Org.id)
            .outerjoin(counts, counts.c.org_id == Org.id)
            .order_by(Org.name)
        )
        if not actor.is_admin:
            query = query.where(mine.c.role.is_not(None))
        rows = (await self.session.execute(query)).all()
        return [_org_out(org, role, n or 0) for org, role, n in rows]

    async def members(self, actor: Principal, name: str) -> list[MemberOut]:
        """The members of an organization the caller belongs to (or any, for admins)."""
        org = await self._visible(actor, name)
        rows = await self.session.execute(
            select(Membership, User.username)
            .join(User, User.id == Membership.user_id)
            .where(Membership.org_id == org.id)
            .order_by(User.username)
        )
        return [
            MemberOut(
                user_id=m.user_id,
                username=username,
                role=m.role,  # type: ignore[arg-type]
                added_at=m.created_at,
            )
            for m, username in rows.all()
        ]

    async def set_member(
        self, actor: Principal, name: str, username: str, role: str, client_ip: str | None
    ) -> MemberOut:
        """Add `username` to the organization or change their role.

        Owners manage every member; admins manage publishers and readers (and may
        add admins), never owners. An organization always keeps one owner.
        """
        org = await self._visible(actor, name)
        user = (
            await self.session.scalar(select(User).where(User.username == username.strip().lower()))
            if is_clean(username, 39)
            else None
        )
        if user is None:
            raise NotFound(f"no user {username}")
        current = await self.session.get(Membership, (org.id, user.id))
        self._may_change(actor, org, current.role if current else None, role)
        if current is None:
            current = Membership(org_id=org.id, user_id=user.id, role=role)
            self.session.add(current)
            action, details = "org.member_added", {"username": user.username, "role": role}
        elif current.role == role:
            return MemberOut(user.id, user.username, role, current.created_at)  # type: ignore[arg-type]
        else:
            action = "org.member_role_changed"
            details = {"username": user.username, "from": current.role, "to": role}
            current.role = role
        await self.session.flush()
        await self._keep_an_owner(org)
        self._record(action, actor, org, client_ip, details)
        await self._revoke(user.id)
        return MemberOut(user.id, user.username, role, current.created_at)  # type: ignore[arg-type]

    async def remove_member(
        self, actor: Principal, name: str, username: str, client_ip: str | None
    ) -> None:
        """Remove a member; members may always leave themselves (not the last owner)."""
        org = await self._visible(actor, name)
        user = (
            await self.session.scalar(select(User).where(User.username == username.strip().lower()))
            if is_clean(username, 39)
            else None
        )
        current = None if user is None else await self.session.get(Membership, (org.id, user.id))
        if user is None or current is None:
            raise NotFound(f"{username} is not a member of {org.name}")
        if user.id != actor.id:
            self._may_change(actor, org, current.role, None)
        await self.session.delete(current)
        await self.session.flush()
        await self._keep_an_owner(org)
        self._record(
            "org.member_removed", actor, org, client_ip,
            {"username": user.username, "role": current.role},
        )  # fmt: skip
        await self._revoke(user.id)

    async def replace_memberships(
        self,
        user_id: str,
        wanted: Mapping[str, str],
        managed: list[str] | None,
        actor: Principal,
    ) -> dict[str, str]:
        """Set a user's memberships to `wanted` (single sign-on's group mapping).

        Organizations named in `wanted` that do not exist are created. With `managed`,
        only those organizations are touched (memberships granted by hand elsewhere stay).
        Returns the user's memberships afterwards.
        """
        user = await self.session.get(User, user_id) if is_clean(user_id, 36) else None
        if user is None:
            raise NotFound("no such user")
        bad = [n for n, r in wanted.items() if r not in ORG_ROLES or not USERNAME_RE.fullmatch(n)]
        if bad:
            problem = FieldProblem("memberships", "unknown: " + ", ".join(bad))
            raise Invalid("unknown organizations or roles", errors=[problem])
        current = {
            org.name: (org, m)
            for org, m in (
                await self.session.execute(
                    select(Org, Membership)
                    .join(Membership, Membership.org_id == Org.id)
                    .where(Membership.user_id == user.id)
                )
            ).all()
        }
        scope = set(managed) if managed is not None else None
        changed = False
        for name, (held, membership) in current.items():
            in_scope = scope is None or name in scope
            if in_scope and name not in wanted:
                await self.session.delete(membership)
                self._record(
                    "org.member_removed",
                    actor,
                    held,
                    None,
                    {"username": user.username, "via": "sso"},
                )
                changed = True
        for name, role in wanted.items():
            org: Org | None = current[name][0] if name in current else await self._find(name)
            if org is None:
                org = Org(id=str(uuid.uuid4()), name=name, display_name="")
                self.session.add(org)
                await self.session.flush()
                self._record("org.created", actor, org, None, {"via": "sso"})
            existing: Membership | None = current[name][1] if name in current else None
            if existing is None:
                self.session.add(Membership(org_id=org.id, user_id=user.id, role=role))
                self._record(
                    "org.member_added",
                    actor,
                    org,
                    None,
                    {"username": user.username, "role": role, "via": "sso"},
                )
                changed = True
            elif existing.role != role:
                self._record(
                    "org.member_role_changed",
                    actor,
                    org,
                    None,
                    {"username": user.username, "from": existing.role, "to": role, "via": "sso"},
                )
                existing.role = role
                changed = True
        await self.session.flush()
        if changed:
            await self._revoke(user.id)
        return await memberships_of(self.session, user.id)

    # --- rules -------------------------------------------------------------------

    def _may_change(
        self, actor: Principal, org: Org, before: str | None, after: str | None
    ) -> None:
        if actor.is_admin:
            return
        mine = actor.org_role(org.name)
        if mine == "owner":
            return
        touches_owner = "owner" in (before, after)
        if mine == "admin" and not touches_owner:
            return
        raise Forbidden(
            "only owners manage owners"
            if mine == "admin"
            else "only owners and admins manage members"
        )

    async def _keep_an_owner(self, org: Org) -> None:
        owners = await self.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.org_id == org.id, Membership.role == "owner")
        )
        if not owners:
            raise Conflict(f"{org.name} would have no owner left; make someone else owner first")

    async def _find(self, name: str) -> Org | None:
        if not is_clean(name, 39):
            return None
        return await self.session.scalar(select(Org).where(Org.name == name.strip().lower()))

    async def _visible(self, actor: Principal, name: str) -> Org:
        """The organization, if the caller may see it: members and admins (else 404)."""
        org = await self._find(name)
        if org is None or not (
            actor.is_admin or org_role_at_least(actor.org_role(org.name), "reader")
        ):
            raise NotFound(f"no organization {name}")
        return org

    def _record(
        self,
        action: str,
        actor: Principal,
        org: Org,
        client_ip: str | None,
        details: Mapping[str, object],
    ) -> None:
        self.audit.record(
            action, actor=actor, target_type="org", target_id=org.name, client_ip=client_ip,
            details=dict(details),
        )  # fmt: skip
        log.info(action, org=org.name, actor=actor.id, **{k: str(v) for k, v in details.items()})

    async def _revoke(self, user_id: str) -> None:
        """The user's credentials carry memberships: void them everywhere, now."""
        user = await self.session.get(User, user_id)
        assert user is not None
        user.token_version += 1
        user.tokens_revoked_at = utcnow()
        await self.session.flush()
        revoker = self.auth.revoker
        revoker.after_commit(self.session, revoker.user(user.id, user.token_version))
