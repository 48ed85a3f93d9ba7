"""SSO settings: the group → organization/role mapping, prod checks, passwords turned off."""

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

from tests.auth.conftest import ADMIN_PASSWORD, AUTH, AppFactory, register
from tests.support.factories import PASSWORD


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


async def test_with_passwords_off_only_the_seed_admin_signs_in_with_one(
    start_app: AppFactory,
) -> None:
    """SSO_PASSWORD_LOGIN=false: nobody registers or signs in with a password but the seed
    admin (the way back in while the provider is down). No provider call is involved."""
    async with start_app(registration_open=True) as open_registry:
        await register(open_registry, "local-user")
    async with start_app(
        sso_issuer="http://127.0.0.1:9",
        sso_client_id="skreg",
        sso_client_secret="secret",
        sso_password_login=False,
        registration_open=True,
    ) as client:
        refused = await client.post(
            f"{AUTH}/login", json={"username": "local-user", "password": PASSWORD}
        )
        assert refused.status_code == 403
        assert "single sign-on" in refused.json()["detail"]
        admin = await client.post(
            f"{AUTH}/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        assert admin.status_code == 200
        registering = await client.post(
            f"{AUTH}/register",
            json={"username": "newbie", "email": "n@example.test", "password": PASSWORD},
        )
        assert registering.status_code == 403
        info = (await client.get(f"{AUTH}/sso")).json()
        assert info["enabled"] is True
        assert info["password_login"] is False
