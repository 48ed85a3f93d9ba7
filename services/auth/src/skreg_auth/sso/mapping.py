"""From the provider's groups claim to the organization memberships a user should hold.

`SSO_GROUP_MAPPING` is "group=organization:role" pairs, comma-separated, e.g.
`platform=acme:owner, skill-authors=acme:publisher, everyone=acme:reader`. A user in
several mapped groups gets the strongest role per organization. The mapping is
applied at every SSO sign-in: a group removed at the provider removes (or lowers)
the membership it granted at the next sign-in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Strongest last; the organizations stream defines what each may do.
ROLES = ("reader", "publisher", "admin", "owner")
_ORG_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
MAX_GROUPS = 1000


class MappingError(ValueError):
    """SSO_GROUP_MAPPING does not parse."""


@dataclass(frozen=True)
class Grant:
    """Membership in `organization` with `role`, granted by a group."""

    organization: str
    role: str


def parse_group_mapping(text: str) -> dict[str, tuple[Grant, ...]]:
    """`text` as group → grants; `MappingError` names the first bad entry."""
    mapping: dict[str, list[Grant]] = {}
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        group, sep, target = entry.rpartition("=")
        organization, colon, role = target.partition(":")
        organization, role, group = organization.strip().lower(), role.strip(), group.strip()
        if not sep or not colon or not group:
            raise MappingError(f"'{entry}' is not group=organization:role")
        if not _ORG_RE.fullmatch(organization):
            raise MappingError(f"'{organization}' is not an organization name")
        if role not in ROLES:
            raise MappingError(f"'{role}' is not one of {', '.join(ROLES)}")
        mapping.setdefault(group, []).append(Grant(organization, role))
    return {group: tuple(grants) for group, grants in mapping.items()}


def groups_of(claims: Mapping[str, object], claim: str) -> list[str]:
    """The groups the ID token lists under `claim` (a list of strings, or one string)."""
    value = claims.get(claim)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return []
    return sorted({g for g in value[:MAX_GROUPS] if isinstance(g, str) and 0 < len(g) <= 255})


def desired_memberships(
    groups: Iterable[str], mapping: Mapping[str, tuple[Grant, ...]]
) -> dict[str, str]:
    """organization → the strongest role the user's groups grant there."""
    desired: dict[str, str] = {}
    for group in groups:
        for grant in mapping.get(group, ()):
            held = desired.get(grant.organization)
            if held is None or ROLES.index(grant.role) > ROLES.index(held):
                desired[grant.organization] = grant.role
    return desired
