"""The group → organization/role mapping SSO applies at each sign-in (pure functions)."""

from __future__ import annotations

import pytest
from skreg_auth.context import AuthContext
from skreg_auth.settings import AuthSettings
from skreg_auth.sso.mapping import (
    Grant,
    MappingError,
    desired_memberships,
    groups_of,
    parse_group_mapping,
)
from skreg_common.settings import SettingsError


def test_the_mapping_parses_and_the_strongest_role_wins() -> None:
    mapping = parse_group_mapping(
        "eng=acme:publisher, leads=acme:owner,docs=Docs-Team:reader, eng=tools:reader"
    )
    assert mapping["eng"] == (Grant("acme", "publisher"), Grant("tools", "reader"))
    assert desired_memberships(["eng", "leads"], mapping) == {"acme": "owner", "tools": "reader"}
    assert desired_memberships(["docs"], mapping) == {"docs-team": "reader"}
    assert desired_memberships(["nobody"], mapping) == {}
    assert parse_group_mapping("") == {}
    # Group names may themselves hold '=' (LDAP DNs): the last '=' splits.
    dn = parse_group_mapping("cn=admins,ou=groups=acme:admin".replace(",", ";"))
    assert dn == {"cn=admins;ou=groups": (Grant("acme", "admin"),)}


@pytest.mark.parametrize(
    "text",
    ["eng", "eng=acme", "eng=acme:boss", "=acme:reader", "eng=Not An Org!:reader"],
)
def test_a_bad_mapping_is_refused_with_the_entry_named(text: str) -> None:
    with pytest.raises(MappingError):
        parse_group_mapping(text)
    with pytest.raises(SettingsError, match="SSO_GROUP_MAPPING"):
        AuthContext.create(AuthSettings(sso_group_mapping=text))


def test_the_groups_claim_is_read_defensively() -> None:
    assert groups_of({"groups": ["b", "a", "a", 3, ""]}, "groups") == ["a", "b"]
    assert groups_of({"roles": "admins"}, "roles") == ["admins"]
    assert groups_of({"groups": {"not": "a list"}}, "groups") == []
    assert groups_of({}, "groups") == []


def test_prod_refuses_a_half_configured_or_plain_http_provider() -> None:
    problems = AuthSettings(
        environment="prod", sso_issuer="http://idp.internal", sso_client_id="x"
    ).production_problems()
    assert any("https://" in p for p in problems)
    assert any("SSO_CLIENT_SECRET" in p for p in problems)
