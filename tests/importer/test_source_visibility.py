"""A source's imports take the source's visibility, else the namespace's default.

Found by an earlier attempt: imports into a private organization's namespace created
public skills. Real Git (`git daemon`), the real catalog, on both backends.
"""

from __future__ import annotations

from typing import Any

from tests.importer.conftest import IMPORTS, SOURCES, Stack
from tests.importer.gitrepos import GitDaemon, Repo
from tests.support.factories import new_user

NAMESPACES = "/api/v1/namespaces"


async def _status_as(stack: Stack, path: str, headers: dict[str, str]) -> int:
    """The status `path` answers a caller with `headers` instead of the admin key."""
    admin_key = stack.client.headers.pop("x-api-key")
    try:
        return (await stack.client.get(path, headers=headers)).status_code
    finally:
        stack.client.headers["x-api-key"] = admin_key


async def _import(stack: Stack, url: str, **fields: Any) -> dict[str, Any]:
    body = {"url": url, "namespace": "acme", **fields}
    started = await stack.client.post(IMPORTS, json=body)
    assert started.status_code == 202, started.text
    run = await stack.wait(started.json()["id"])
    assert run["state"] == "succeeded", run
    return run


async def test_imports_take_the_source_visibility_else_the_namespace_default(
    stack: Stack, daemon: GitDaemon, repo: Repo
) -> None:
    bob = await new_user(stack.client, "bob")
    repo.skill("skills/open-one")
    repo.commit("one public skill")
    # A one-off public import creates the namespace; hand it to an org, private by default.
    await _import(stack, daemon.url("skills.git"), visibility="public")
    moved = await stack.client.patch(
        f"{NAMESPACES}/acme", json={"org": "acme", "default_visibility": "private"}
    )
    assert moved.status_code == 200, moved.text

    repo.skill("skills/by-default")
    repo.skill("skills/for-staff")
    repo.commit("two more")
    # No visibility on the source: the namespace's default (private) applies.
    plain = await stack.add_source(daemon.url("skills.git"), namespace="acme", include=["**/by-*"])
    assert plain["visibility"] is None
    staff = await stack.add_source(
        daemon.url("skills.git"), namespace="acme", include=["**/for-*"], visibility="internal"
    )
    assert staff["visibility"] == "internal"
    for source in (plain, staff):
        run = await stack.sync_and_wait(source["id"])
        assert run["state"] == "succeeded", run

    seen = {n: (await stack.skill("acme", n))["visibility"] for n in
            ("open-one", "by-default", "for-staff")}  # fmt: skip
    assert seen == {"open-one": "public", "by-default": "private", "for-staff": "internal"}
    # Hidden exactly as absent: anonymous and another user get 404 for the private one.
    for headers in ({}, bob.headers):
        assert await _status_as(stack, "/api/v1/skills/acme/by-default", headers) == 404
        assert await _status_as(stack, "/api/v1/skills/acme/open-one", headers) == 200
    assert await _status_as(stack, "/api/v1/skills/acme/for-staff", {}) == 404
    assert await _status_as(stack, "/api/v1/skills/acme/for-staff", bob.headers) == 200

    # Changeable later (for skills it creates from then on), and checked.
    changed = await stack.client.patch(f"{SOURCES}/{plain['id']}", json={"visibility": "public"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["visibility"] == "public"
    cleared = await stack.client.patch(f"{SOURCES}/{plain['id']}", json={"visibility": None})
    assert cleared.json()["visibility"] is None
    wrong = await stack.client.patch(f"{SOURCES}/{plain['id']}", json={"visibility": "secret"})
    assert wrong.status_code == 400, wrong.text
    assert wrong.headers["content-type"].startswith("application/problem+json")
