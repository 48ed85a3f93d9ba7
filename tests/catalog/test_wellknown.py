"""The Agent Skills discovery index and its archives, on both backends.

What the `skills` CLI checks (tests/clients/test_skills_cli.py runs the real one):
the exact `$schema`, `sha256:` of the exact bytes at `url`, SKILL.md at the archive
root; here the same properties are checked on the documents themselves.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from typing import Any

from skreg_proto.bundle import pack_files, read_bundle

from tests.catalog.helpers import auth, bundle, publish, published

SCHEMA = "https://schemas.agentskills.io/discovery/0.2.0/schema.json"
INDEX = "/.well-known/agent-skills/index.json"


async def _index(client, path: str = INDEX) -> dict[str, Any]:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["$schema"] == SCHEMA
    return body


async def _yank(client, version: str) -> int:
    path = f"/api/v1/skills/alice/demo/versions/{version}/yank"
    response = await client.post(path, json={"reason": "bad"}, headers=auth("alice"))
    status: int = response.status_code
    return status


def _by_name(index: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in index["skills"]}


async def test_index_names_each_latest_archive_by_the_digest_of_its_bytes(client) -> None:
    await published(client, "demo", "1.0.0", description="old one")
    data = bundle(
        "demo",
        description="new one",
        files={"scripts/run.sh": b"#!/bin/sh\necho hi\n", "references/" + "x" * 120: b"deep"},
    )
    assert (await publish(client, data, version="1.1.0")).status_code == 201
    (entry,) = (await _index(client))["skills"]
    assert entry == {
        "name": "demo",
        "type": "archive",
        "description": "new one",
        "url": "/ns/alice/.well-known/agent-skills/demo/1.1.0.zip",
        "digest": entry["digest"],
    }
    archive = await client.get(entry["url"])
    assert archive.status_code == 200
    assert archive.headers["content-type"] == "application/zip"
    assert entry["digest"] == "sha256:" + hashlib.sha256(archive.content).hexdigest()
    # The client's layout: every file at the root, no folders, no links, same bytes.
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zip_:
        names = zip_.namelist()
        contents = {name: zip_.read(name) for name in names}
        modes = {info.filename: info.external_attr >> 16 for info in zip_.infolist()}
    assert names == sorted(read_bundle(data).files)
    assert contents == read_bundle(data).files
    assert modes["scripts/run.sh"] == 0o100755
    assert modes["SKILL.md"] == 0o100644
    # Immutable per version, revalidated by digest.
    assert archive.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert archive.headers["etag"] == f'"{entry["digest"]}"'
    again = await client.get(entry["url"], headers={"If-None-Match": archive.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""


async def test_index_etag_gives_304_until_a_publish_changes_it(client) -> None:
    await published(client, "demo", "1.0.0")
    first = await client.get(INDEX)
    assert first.headers["cache-control"] == "public, no-cache"
    etag = first.headers["etag"]
    assert etag == '"' + hashlib.sha256(first.content).hexdigest() + '"'
    unchanged = await client.get(INDEX, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    await published(client, "other", "1.0.0")
    changed = await client.get(INDEX, headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert set(_by_name(changed.json())) == {"demo", "other"}


async def test_yanked_and_deleted_versions_leave_the_index(client) -> None:
    await published(client, "demo", "1.0.0")
    await published(client, "demo", "1.1.0")
    await published(client, "gone", "1.0.0")
    yank = await client.post(
        "/api/v1/skills/alice/demo/versions/1.1.0/yank",
        json={"reason": "bad"},
        headers=auth("alice"),
    )
    assert yank.status_code == 200
    deleted = await client.delete("/api/v1/skills/alice/gone", headers=auth("alice"))
    assert deleted.status_code == 204
    entries = _by_name(await _index(client))
    assert set(entries) == {"demo"}
    assert entries["demo"]["url"].endswith("/demo/1.0.0.zip")
    # A yanked exact version stays downloadable (like the bundle); a deleted one is gone.
    yanked = "/ns/alice/.well-known/agent-skills/demo/1.1.0.zip"
    assert (await client.get(yanked)).status_code == 200
    gone = await client.get("/ns/alice/.well-known/agent-skills/gone/1.0.0.zip")
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    assert (
        await client.get("/ns/alice/.well-known/agent-skills/demo/1.0.0.tgz")
    ).status_code == 404
    yank_all = await client.post(
        "/api/v1/skills/alice/demo/versions/1.0.0/yank",
        json={"reason": "bad"},
        headers=auth("alice"),
    )
    assert yank_all.status_code == 200
    assert (await _index(client))["skills"] == []


async def test_a_name_in_two_namespaces_is_prefixed_in_the_registry_index(client) -> None:
    await published(client, "demo", "1.0.0", who="alice", description="alice's")
    await published(client, "demo", "2.0.0", who="bob", description="bob's")
    await published(client, "solo", "1.0.0", who="bob")
    whole = _by_name(await _index(client))
    assert sorted(whole) == ["alice-demo", "bob-demo", "solo"]
    assert whole["alice-demo"]["description"] == "alice's"
    assert whole["bob-demo"]["url"] == "/ns/bob/.well-known/agent-skills/demo/2.0.0.zip"
    # A namespace's own index names its skills plainly, and only its skills.
    scoped = _by_name(await _index(client, "/ns/bob" + INDEX))
    assert sorted(scoped) == ["demo", "solo"]
    assert scoped["demo"]["digest"] == whole["bob-demo"]["digest"]
    # A skill really named `alice-demo` keeps its name; the prefixed one then drops out.
    await published(client, "alice-demo", "1.0.0", who="bob")
    whole = _by_name(await _index(client))
    assert sorted(whole) == ["alice-demo", "bob-demo", "solo"]
    assert whole["alice-demo"]["url"].startswith("/ns/bob/")


async def test_legacy_path_unknown_namespace_and_wrapped_uploads(client) -> None:
    # An upload wrapping its files in one folder is served with SKILL.md at the root.
    wrapped = bundle("demo")
    files = read_bundle(wrapped).files
    data = pack_files({f"demo/{path}": (content, False) for path, content in files.items()})
    assert read_bundle(data).folder == "demo"
    assert (await publish(client, data, version="1.0.0")).status_code == 201
    current = await client.get(INDEX)
    legacy = await client.get("/.well-known/skills/index.json")
    assert legacy.content == current.content
    assert (await client.get("/ns/alice/.well-known/skills/index.json")).status_code == 200
    (entry,) = current.json()["skills"]
    archive = (await client.get(entry["url"])).content
    assert zipfile.ZipFile(io.BytesIO(archive)).namelist() == ["SKILL.md"]
    missing = await client.get("/ns/nobody/.well-known/agent-skills/index.json")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"


async def test_hostile_paths_get_problems_not_errors(client) -> None:
    await published(client, "demo", "1.0.0")
    for path in (
        "/ns/" + "n" * 5000 + INDEX,
        "/ns/alice/.well-known/agent-skills/demo/" + "9" * 5000 + ".zip",
        "/ns/alice/.well-known/agent-skills/demo/.zip",
        "/ns/alice/.well-known/agent-skills/demo/1.0.0%00.zip",
        "/ns/alice/.well-known/agent-skills/%2e%2e/1.0.0.zip",
    ):
        response = await client.get(path)
        assert 400 <= response.status_code < 500, (path[:80], response.status_code)
        assert response.headers["content-type"] == "application/problem+json"
