"""Publishing through the HTTP API: versions, idempotency, conflicts, permissions, limits."""

from __future__ import annotations

import functools
import tarfile

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from tests.catalog.helpers import (
    GZIP,
    RawRequest,
    auth,
    bundle,
    entry,
    publish,
    published,
    raw_targz,
    skill_md,
)

pytestmark = pytest.mark.usefixtures("client")


async def _count(database_url: str, table: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            from sqlalchemy import table as sql_table

            return (
                await conn.execute(select(func.count()).select_from(sql_table(table)))
            ).scalar_one()
    finally:
        await engine.dispose()


async def _row_counts(database_url: str) -> dict[str, int]:
    names = ["catalog_namespaces", "catalog_skills", "catalog_versions", "catalog_blobs",
             "catalog_search_documents", "catalog_skill_tags"]  # fmt: skip
    return {name: await _count(database_url, name) for name in names}


async def test_publish_new_skill_and_read_it_back(client) -> None:
    body = await published(client, "pdf-tools", "1.0.0", tags="pdf, documents")
    assert body["namespace"] == "alice"
    assert body["name"] == "pdf-tools"
    assert body["version"] == "1.0.0"
    assert body["created"] is True
    assert body["dry_run"] is False
    assert body["digest"].startswith("sha256:")
    assert len(body["digest"]) == 71
    assert [f["path"] for f in body["files"]] == ["SKILL.md"]
    assert body["frontmatter"]["name"] == "pdf-tools"
    detail = (await client.get("/api/v1/skills/alice/pdf-tools")).json()
    assert detail["latest_version"] == "1.0.0"
    assert detail["tags"] == ["pdf", "documents"]
    assert detail["owners"] == ["alice"]


async def test_new_version_moves_latest_and_lower_version_does_not(client) -> None:
    await published(client, "demo", "1.0.0")
    await published(client, "demo", "1.10.0", description="Newer.")
    lower = await published(client, "demo", "1.9.5", description="A backport.")
    assert lower["created"] is True
    detail = (await client.get("/api/v1/skills/alice/demo")).json()
    assert detail["latest_version"] == "1.10.0"
    assert detail["description"] == "Newer."
    versions = (await client.get("/api/v1/skills/alice/demo/versions")).json()
    assert [v["version"] for v in versions["items"]] == ["1.10.0", "1.9.5", "1.0.0"]


async def test_prerelease_does_not_become_latest(client) -> None:
    await published(client, "demo", "1.0.0")
    await published(client, "demo", "2.0.0-rc.1")
    detail = (await client.get("/api/v1/skills/alice/demo")).json()
    assert detail["latest_version"] == "1.0.0"


async def test_same_version_same_digest_is_an_idempotent_200(client) -> None:
    data = bundle("demo")
    first = await publish(client, data, version="1.0.0")
    again = await publish(client, data, version="1.0.0")
    assert first.status_code == 201
    assert again.status_code == 200, again.text
    assert again.json()["created"] is False
    assert again.json()["digest"] == first.json()["digest"]
    versions = (await client.get("/api/v1/skills/alice/demo/versions")).json()
    assert versions["total"] == 1


async def test_same_version_other_digest_is_409_and_writes_nothing(client, database_url) -> None:
    await published(client, "demo", "1.0.0")
    before = await _row_counts(database_url)
    other = await publish(client, bundle("demo", description="Changed."), version="1.0.0")
    assert other.status_code == 409
    assert other.headers["content-type"].startswith("application/problem+json")
    assert "immutable" in other.json()["detail"]
    assert await _row_counts(database_url) == before  # not even the new blob


async def test_version_from_metadata_and_missing_version(client) -> None:
    response = await publish(client, bundle("demo", version="3.1.4"))
    assert response.status_code == 201
    assert response.json()["version"] == "3.1.4"
    missing = await publish(client, bundle("other"))
    assert missing.status_code == 422
    assert [e["path"] for e in missing.json()["errors"]] == ["version"]


async def test_dry_run_validates_and_writes_nothing(client, database_url) -> None:
    before = await _row_counts(database_url)
    response = await publish(client, bundle("demo"), version="1.0.0", dry_run=True)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dry_run"] is True
    assert body["created"] is False
    assert body["namespace"] == "alice"
    assert body["version"] == "1.0.0"
    assert await _row_counts(database_url) == before
    assert (await client.get("/api/v1/skills/alice/demo")).status_code == 404
    invalid = await publish(client, bundle("demo"), version="nope", dry_run=True)
    assert invalid.status_code == 422


async def test_dry_run_reports_a_conflict(client) -> None:
    await published(client, "demo", "1.0.0")
    response = await publish(client, bundle("demo", description="x"), version="1.0.0", dry_run=True)
    assert response.status_code == 409


async def test_namespaces_belong_to_their_owner(client) -> None:
    await published(client, "demo", "1.0.0")
    bob_in_alice = await publish(client, bundle("other"), "bob", version="1.0.0", namespace="alice")
    assert bob_in_alice.status_code == 403
    bob_new_ns = await publish(client, bundle("other"), "bob", version="1.0.0", namespace="team")
    assert bob_new_ns.status_code == 403
    bob_own = await publish(client, bundle("other"), "bob", version="1.0.0")
    assert bob_own.status_code == 201
    assert bob_own.json()["namespace"] == "bob"
    admin = await publish(client, bundle("third"), "admin", version="1.0.0", namespace="alice")
    assert admin.status_code == 201
    team = await publish(client, bundle("third"), "admin", version="1.0.0", namespace="team")
    assert team.status_code == 201


async def test_credentials_and_scopes(client) -> None:
    anonymous = await client.post("/api/v1/skills", content=bundle("demo"), headers=GZIP)
    assert anonymous.status_code == 401
    read_only = await publish(client, bundle("demo"), "alice-read", version="1.0.0")
    assert read_only.status_code == 403
    service = await publish(client, bundle("demo"), "importer", version="1.0.0")
    assert service.status_code == 401
    bad_token = await client.post(
        "/api/v1/skills", content=bundle("demo"), headers={**GZIP, "Authorization": "Bearer x"}
    )
    assert bad_token.status_code == 401


async def test_strict_validation_lists_every_problem(client, database_url) -> None:
    extra = "version: 1.0\nfoo: bar\n"
    data = bundle("Bad_Name", description="", extra=extra)
    response = await publish(client, data, version="01.2", namespace="No Spaces")
    assert response.status_code == 422
    paths = {e["path"] for e in response.json()["errors"]}
    assert {
        "frontmatter.name",
        "frontmatter.description",
        "frontmatter.version",
        "frontmatter.foo",
        "namespace",
        "version",
    } <= paths
    assert all(e["message"] for e in response.json()["errors"])
    assert (await _row_counts(database_url))["catalog_skills"] == 0


async def test_a_wrapper_folder_named_otherwise_than_the_skill_is_refused(
    client, database_url
) -> None:
    md = skill_md("demo")
    wrong = raw_targz([entry("other-name/SKILL.md", md)])
    response = await publish(client, wrong, version="1.0.0")
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["path"] == "frontmatter.name"
    assert "its folder" in error["message"]
    assert "'other-name'" in error["message"]
    assert "the field `name` is 'demo'" in error["message"]
    assert "rename the folder to 'demo' or set `name: other-name`" in error["message"]
    assert (await _row_counts(database_url))["catalog_skills"] == 0
    right = raw_targz([entry("demo/SKILL.md", md)])
    assert (await publish(client, right, version="1.0.0")).status_code == 201


async def test_multipart_upload(client) -> None:
    files = {"bundle": ("demo.tar.gz", bundle("demo"), "application/gzip")}
    response = await client.post(
        "/api/v1/skills", files=files, data={"version": "2.0.0"}, headers=auth("alice")
    )
    assert response.status_code == 201, response.text
    assert response.json()["version"] == "2.0.0"
    missing = await client.post(
        "/api/v1/skills", files={"other": ("x", b"x")}, headers=auth("alice")
    )
    assert missing.status_code == 400
    # A bundle field sent without a filename is still bytes, not text.
    plain = await client.post(
        "/api/v1/skills",
        files={"bundle": (None, bundle("plain"), "application/gzip")},
        data={"version": "1.0.0"},
        headers=auth("alice"),
    )
    assert plain.status_code == 201, plain.text


async def test_wrong_content_type_is_415(client) -> None:
    for content_type in ("application/json", "text/plain", "application/x-tar"):
        response = await client.post(
            "/api/v1/skills",
            content=b"{}",
            headers={**auth("alice"), "Content-Type": content_type},
        )
        assert response.status_code == 415, content_type
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_oversized_bodies_are_413_before_being_read(
    client, catalog_app, catalog_settings
) -> None:
    limit = catalog_settings.bundle_max_compressed_bytes
    announced = await client.post(
        "/api/v1/skills",
        content=b"\x1f\x8b" + bytes(limit),
        headers={**GZIP, **auth("alice")},
    )
    assert announced.status_code == 413

    # No Content-Length, then a lying one: the body is counted while it streams and
    # refused as soon as it passes the limit, long before the sender is done.
    for headers in ({}, {"Content-Length": "100"}):
        raw = RawRequest([bytes(65536)] * (limit // 65536 * 4))
        await raw.send_to(catalog_app, "/api/v1/skills", {**GZIP, **auth("alice"), **headers})
        assert raw.status == 413, raw.body
        assert raw.consumed <= limit // 65536 + 2
    multipart = await client.post(
        "/api/v1/skills",
        files={"bundle": ("b.tgz", bytes(limit + 1), "application/gzip")},
        headers=auth("alice"),
    )
    assert multipart.status_code == 413


@functools.cache
def _hostile() -> dict[str, bytes]:
    skill = entry("SKILL.md", b"---\nname: evil\ndescription: Evil.\n---\nbody\n")
    return {
        "symlink": raw_targz([skill, entry("link", kind=tarfile.SYMTYPE, linkname="/etc/passwd")]),
        "hardlink": raw_targz([skill, entry("hard", kind=tarfile.LNKTYPE, linkname="SKILL.md")]),
        "device": raw_targz([skill, entry("dev", kind=tarfile.CHRTYPE)]),
        "dotdot": raw_targz([skill, entry("../escape", b"x")]),
        "absolute": raw_targz([skill, entry("/etc/cron.d/x", b"x")]),
        "git": raw_targz([skill, entry(".git/config", b"x")]),
        "no-skill-md": raw_targz([entry("README.md", b"x")]),
        "not-gzip": b"PK\x03\x04 definitely a zip",
        "truncated": bundle("evil")[:40],
        "too-many-files": raw_targz([skill, *[entry(f"f{i}", b"") for i in range(1001)]]),
        "gzip-bomb": raw_targz([skill, entry("zeros", bytes(30 * 1024**2))]),
    }


@pytest.mark.parametrize("kind", sorted(_hostile()))
async def test_hostile_bundles_are_refused_and_nothing_written(
    client, database_url, kind: str
) -> None:
    data = _hostile()[kind]
    response = await publish(client, data, version="1.0.0")
    # Every one is a bundle that fails validation: 422, saying why, and nothing kept.
    assert response.status_code == 422, (kind, response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"], response.text
    assert "root:" not in response.text  # nothing read through a link
    counts = await _row_counts(database_url)
    assert set(counts.values()) == {0}, counts
    assert (await client.get("/api/v1/skills/alice/evil")).status_code == 404


async def test_nul_characters_are_refused_not_crashed_on(client, database_url) -> None:
    body_nul = bundle("demo", body="text \x00 more\n")
    response = await publish(client, body_nul, version="1.0.0")
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "SKILL.md"
    escaped = bundle("demo", description='"x\\0y"')
    response = await publish(client, escaped, version="1.0.0")
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "frontmatter.description"
    for path in (
        "/api/v1/skills?tag=a%00b",
        "/api/v1/skills?namespace=%00",
        "/api/v1/skills/a%00/b",
    ):
        assert (await client.get(path)).status_code == 400, path
    assert set((await _row_counts(database_url)).values()) == {0}
