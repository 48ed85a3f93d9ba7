"""`skreg org …` and `skreg visibility` against a served registry."""

from __future__ import annotations

import json

import httpx

from tests.cli.conftest import RegistryServer
from tests.cli.helpers import User, register, run, unique
from tests.support.factories import skill_bundle


def test_an_org_its_members_and_a_private_skill_made_public(
    registry: RegistryServer, signed_in: User
) -> None:
    name = unique("org").replace("-", "")
    made = run("org", "create", name)
    assert made.exit_code == 0, made.output
    reader = register(registry.url)
    added = run("org", "add", name, reader.username, "--role", "reader")
    assert added.exit_code == 0, added.output
    roster = run("--json", "org", "members", name)
    assert {m["username"]: m["role"] for m in json.loads(roster.output)} == {
        signed_in.username: "owner",
        reader.username: "reader",
    }
    mine = run("--json", "org", "list")
    assert any(o["name"] == name and o["role"] == "owner" for o in json.loads(mine.output))
    with httpx.Client(base_url=registry.url, timeout=30) as http:
        published = http.post(
            "/api/v1/skills",
            content=skill_bundle("secret-tool"),
            params={"namespace": name, "version": "1.0.0", "visibility": "private"},
            headers={"Content-Type": "application/gzip", "X-API-Key": signed_in.key},
        )
        assert published.status_code == 201, published.text
        path = f"/api/v1/skills/{name}/secret-tool"
        assert http.get(path).status_code == 404
        assert http.get(path, headers={"X-API-Key": reader.key}).status_code == 200
        changed = run("visibility", f"{name}/secret-tool", "public")
        assert changed.exit_code == 0, changed.output
        assert http.get(path).json()["visibility"] == "public"
    gone = run("org", "remove", name, reader.username)
    assert gone.exit_code == 0, gone.output
