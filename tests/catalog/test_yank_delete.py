"""Yank/unyank and `latest`, permissions, soft delete and name reservation."""

from __future__ import annotations

from tests.catalog.helpers import auth, bundle, publish, published

VERSION = "/api/v1/skills/alice/demo/versions/{}"


async def _yank(client, version: str, who: str = "alice", reason: str | None = "broken") -> int:
    body = {} if reason is None else {"reason": reason}
    response = await client.post(VERSION.format(version) + "/yank", json=body, headers=auth(who))
    status: int = response.status_code
    return status


async def _latest(client) -> str | None:
    response = await client.get("/api/v1/skills/alice/demo")
    latest: str | None = response.json()["latest_version"]
    return latest


async def test_yank_moves_latest_and_unyank_restores_it(client) -> None:
    await published(client, "demo", "1.0.0", description="one")
    await published(client, "demo", "1.1.0", description="two")
    assert await _yank(client, "1.1.0", reason="  leaks secrets  ") == 200
    assert await _latest(client) == "1.0.0"
    detail = (await client.get("/api/v1/skills/alice/demo")).json()
    assert detail["description"] == "one"
    version = (await client.get(VERSION.format("1.1.0"))).json()
    assert version["yanked"] is True
    assert version["yank_reason"] == "leaks secrets"
    # Still downloadable by exact version, not through latest.
    exact = await client.get(VERSION.format("1.1.0") + "/download")
    assert exact.status_code == 200
    latest = await client.get(VERSION.format("latest") + "/download")
    assert latest.headers["etag"] != exact.headers["etag"]
    versions = (await client.get("/api/v1/skills/alice/demo/versions")).json()["items"]
    assert [(v["version"], v["yanked"]) for v in versions] == [("1.1.0", True), ("1.0.0", False)]
    unyank = await client.delete(VERSION.format("1.1.0") + "/yank", headers=auth("alice"))
    assert unyank.status_code == 200
    assert unyank.json()["yanked"] is False
    assert await _latest(client) == "1.1.0"


async def test_all_versions_yanked_means_no_latest(client) -> None:
    await published(client, "demo", "1.0.0")
    assert await _yank(client, "1.0.0") == 200
    assert await _latest(client) is None
    missing = await client.get(VERSION.format("latest") + "/download")
    assert missing.status_code == 404
    assert (await client.get(VERSION.format("1.0.0") + "/download")).status_code == 200


async def test_who_may_yank(client) -> None:
    await published(client, "demo", "1.0.0")
    assert await _yank(client, "1.0.0", who="bob") == 403  # not the owner
    assert await _yank(client, "1.0.0", who="alice-read") == 403  # no yank scope
    assert await _yank(client, "1.0.0", who="importer") == 401  # services are not users
    response = await client.post(VERSION.format("1.0.0") + "/yank", json={"reason": "x"})
    assert response.status_code == 401
    assert await _yank(client, "1.0.0", reason=None) == 400  # a reason is required
    assert await _yank(client, "1.0.0", reason="   ") == 422
    assert await _yank(client, "9.9.9") == 404
    assert await _yank(client, "latest") == 400
    assert await _yank(client, "1.0.0", who="admin", reason="policy") == 200


async def test_soft_delete_hides_and_reserves(client) -> None:
    original = bundle("demo")
    assert (await publish(client, original, version="1.0.0")).status_code == 201
    assert (
        await client.delete("/api/v1/skills/alice/demo", headers=auth("bob"))
    ).status_code == 403
    assert (
        await client.delete("/api/v1/skills/alice/demo", headers=auth("alice-read"))
    ).status_code == 403
    assert (
        await client.delete("/api/v1/skills/alice/demo", headers=auth("alice"))
    ).status_code == 204
    for path in ("", "/versions", "/versions/1.0.0", "/versions/1.0.0/download"):
        assert (await client.get(f"/api/v1/skills/alice/demo{path}")).status_code == 404, path
    again = await client.delete("/api/v1/skills/alice/demo", headers=auth("alice"))
    assert again.status_code == 404
    # The deleted version can never come back with other content...
    changed = await publish(client, bundle("demo", description="Other."), version="1.0.0")
    assert changed.status_code == 409
    assert (await client.get("/api/v1/skills/alice/demo")).status_code == 404
    # ...while a new version brings the skill back, without the deleted versions.
    revived = await publish(client, bundle("demo", description="Fresh."), version="2.0.0")
    assert revived.status_code == 201
    versions = (await client.get("/api/v1/skills/alice/demo/versions")).json()
    assert [v["version"] for v in versions["items"]] == ["2.0.0"]


async def test_admin_may_delete_any_skill(client) -> None:
    await published(client, "demo", "1.0.0")
    response = await client.delete("/api/v1/skills/alice/demo", headers=auth("admin"))
    assert response.status_code == 204
