"""Single sign-on's group mapping applied to real organization memberships.

`OrgMemberships` is the `MembershipSink` auth uses (`AuthContext.bind`): at every
SSO sign-in it makes the user's memberships in the organizations the mapping names
(`managed`) equal what the groups claim grants, through
`OrgService.replace_memberships` (organizations created on first use, every change
audited, the user's old credentials revoked so the next token carries the new
memberships). Memberships in organizations the mapping does not name, granted by
hand, are left alone. SSO's own record (`auth_sso_memberships`) is kept as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from skreg_common.principal import SERVICE_ROLE, Principal
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_auth.orgs.service import OrgService, memberships_of
from skreg_auth.sso.memberships import MembershipChange, RecordedMemberships

if TYPE_CHECKING:
    from skreg_auth.context import AuthContext

# Who the audit log names for changes the group mapping makes.
SSO_ACTOR = Principal(kind="service", id="service:sso", username="sso", roles=(SERVICE_ROLE,))


class OrgMemberships:
    """A `MembershipSink` writing organization memberships (see the module docstring)."""

    def __init__(self, auth: AuthContext) -> None:
        self.auth = auth
        self.recorded = RecordedMemberships()

    async def apply(
        self,
        session: AsyncSession,
        user_id: str,
        desired: Mapping[str, str],
        managed: frozenset[str],
    ) -> MembershipChange:
        """Make the user's memberships in the `managed` organizations equal `desired`."""
        await self.recorded.apply(session, user_id, desired, managed)
        before = await memberships_of(session, user_id)
        after = await OrgService(session, self.auth).replace_memberships(
            user_id, desired, sorted(managed | set(desired)), SSO_ACTOR
        )
        change = MembershipChange()
        for org, role in after.items():
            if org not in before:
                change.added[org] = role
            elif before[org] != role:
                change.changed[org] = role
        change.removed.update({org: role for org, role in before.items() if org not in after})
        return change
