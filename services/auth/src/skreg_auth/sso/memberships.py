"""Where the memberships SSO computes are applied.

`MembershipSink` is the seam to the organizations feature: at every SSO sign-in the
sign-in service hands it the user's desired memberships (organization → role) for the
organizations the mapping manages, inside the sign-in's transaction. `RecordedMemberships`
keeps them in `auth_sso_memberships` and reports what changed, which the sign-in
audits. The organizations stream replaces (or wraps) it with one that also writes
real organization memberships.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from skreg_common.db import utcnow
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_auth.sso.models import SsoMembership


@dataclass(frozen=True)
class MembershipChange:
    """What applying the desired memberships changed (organization → role)."""

    added: dict[str, str] = field(default_factory=dict)
    changed: dict[str, str] = field(default_factory=dict)
    removed: dict[str, str] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        """True when something changed."""
        return bool(self.added or self.changed or self.removed)


class MembershipSink(Protocol):
    """Applies SSO's desired memberships for one user."""

    async def apply(
        self,
        session: AsyncSession,
        user_id: str,
        desired: Mapping[str, str],
        managed: frozenset[str],
    ) -> MembershipChange:
        """Make the user's memberships in the `managed` organizations equal `desired`."""
        ...


class RecordedMemberships:
    """The default sink: SSO's memberships kept in `auth_sso_memberships`."""

    async def apply(
        self,
        session: AsyncSession,
        user_id: str,
        desired: Mapping[str, str],
        managed: frozenset[str],
    ) -> MembershipChange:
        """Replace the user's rows for the managed organizations with `desired`."""
        rows = {
            row.organization: row
            for row in await session.scalars(
                select(SsoMembership).where(SsoMembership.user_id == user_id)
            )
        }
        change = MembershipChange()
        for organization, role in desired.items():
            row = rows.get(organization)
            if row is None:
                session.add(SsoMembership(user_id=user_id, organization=organization, role=role))
                change.added[organization] = role
            elif row.role != role:
                row.role, row.updated_at = role, utcnow()
                change.changed[organization] = role
        gone = [o for o in rows if o not in desired and o in managed]
        if gone:
            await session.execute(
                delete(SsoMembership).where(
                    SsoMembership.user_id == user_id, SsoMembership.organization.in_(gone)
                )
            )
            change.removed.update({o: rows[o].role for o in gone})
        return change


async def recorded_memberships(session: AsyncSession, user_id: str) -> dict[str, str]:
    """organization → role, as SSO last recorded them for the user."""
    rows = await session.scalars(select(SsoMembership).where(SsoMembership.user_id == user_id))
    return {row.organization: row.role for row in rows}
