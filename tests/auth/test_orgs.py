"""Organizations: creating one, managing members and roles, what tokens carry, the audit."""

from __future__ import annotations

import base64
import json
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.auth.conftest import AUTH, admin_headers, create_key, login, register
from tests.support.factories import bearer


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


async def headers_of(client: AsyncTestClient[Litestar], username: str) -> dict[str, str]:
    return bearer((await login(client, username))["access_token"])


async def test_owners_and_admins_manage_members_and_every_change_is_audited(
    client: AsyncTestClient[Litestar],
) -> None:
    for username in ("owen", "olga", "pete", "rita", "bob"):
        await register(client, username)
    owner = await headers_of(client, "owen")
    created = await client.post(f"{AUTH}/orgs", json={"name": "acme"}, headers=owner)
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "owner"
    # The token carried the old memberships: it is void everywhere at once.
    assert (await client.get(f"{AUTH}/orgs", headers=owner)).status_code == 401
    tokens = await login(client, "owen")
    assert claims(tokens["access_token"])["orgs"] == {"acme": "owner"}
    owner = bearer(tokens["access_token"])
    # Users and organizations share one name space.
    clash = await client.post(f"{AUTH}/orgs", json={"name": "bob"}, headers=owner)
    assert clash.status_code == 409
    taken = await client.post(
        f"{AUTH}/register",
        json={"username": "acme", "email": "acme@example.com", "password": "long-password-1"},
    )
    assert taken.status_code == 409, taken.text
    members = f"{AUTH}/orgs/acme/members"
    for username, role in (("olga", "admin"), ("pete", "publisher")):
        added = await client.put(f"{members}/{username}", json={"role": role}, headers=owner)
        assert added.status_code == 200, added.text
    org_admin = await headers_of(client, "olga")
    refused = await client.put(f"{members}/pete", json={"role": "owner"}, headers=org_admin)
    assert refused.status_code == 403
    reader = await client.put(f"{members}/rita", json={"role": "reader"}, headers=org_admin)
    assert reader.status_code == 200
    bad_role = await client.put(f"{members}/rita", json={"role": "king"}, headers=owner)
    assert bad_role.status_code == 400
    # Outsiders are not told the organization exists; members see the roster.
    outsider = await headers_of(client, "bob")
    assert (await client.get(members, headers=outsider)).status_code == 404
    roster = (await client.get(members, headers=await headers_of(client, "rita"))).json()
    assert {m["username"]: m["role"] for m in roster} == {
        "owen": "owner", "olga": "admin", "pete": "publisher", "rita": "reader",
    }  # fmt: skip
    # An organization keeps an owner; a member may leave.
    last = await client.delete(f"{members}/owen", headers=owner)
    assert last.status_code == 409
    publisher = await headers_of(client, "pete")
    assert (await client.delete(f"{members}/pete", headers=publisher)).status_code == 204
    assert (
        "orgs" not in claims((await login(client, "pete"))["access_token"])
        or not claims((await login(client, "pete"))["access_token"])["orgs"]
    )
    audit = await client.get(
        f"{AUTH}/audit", params={"target_id": "acme"}, headers=await admin_headers(client)
    )
    actions = [event["action"] for event in audit.json()["items"]]
    assert actions.count("org.member_added") == 3
    assert {"org.created", "org.member_removed"} <= set(actions)


async def test_api_keys_are_limited_to_namespaces(client: AsyncTestClient[Litestar]) -> None:
    await register(client, "kim")
    headers = await headers_of(client, "kim")
    key = await create_key(client, headers, ["read", "publish"], namespaces=["kim/*"])
    assert key["namespaces"] == ["kim/*"]
    for bad in (["kim"], ["../*"], []):
        refused = await client.post(
            f"{AUTH}/keys", json={"name": "k", "scopes": ["read"], "namespaces": bad},
            headers=headers,
        )  # fmt: skip
        assert refused.status_code == 422, (bad, refused.text)
    # A limited key cannot mint a key for other namespaces (nor an unlimited one).
    limited = {"X-API-Key": key["key"]}
    wider = await client.post(
        f"{AUTH}/keys",
        json={"name": "k2", "scopes": ["read"], "namespaces": ["other/*"]},
        headers=limited,
    )
    assert wider.status_code in (403, 422)
