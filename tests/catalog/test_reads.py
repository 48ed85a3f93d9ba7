"""Reading skills and versions: detail, versions order, bodies, files, downloads and caching."""

from __future__ import annotations

import gzip

from skreg_proto.bundle import read_bundle

from tests.catalog.helpers import auth, bundle, parse_html, publish, published

HOSTILE_BODY = """# Title

<script>alert('x')</script>

[click](javascript:alert(1)) and [ok](https://example.com)

<img src="x" onerror="alert(1)">

![pic](javascript:alert(2))

<a href="javascript:alert(3)" onclick="alert(4)">raw html link</a>
"""


async def test_skill_detail_and_404s(client) -> None:
    await published(client, "demo", "1.0.0", tags="a, b")
    detail = await client.get("/api/v1/skills/alice/demo")
    assert detail.status_code == 200
    body = detail.json()
    for field in ("namespace", "name", "description", "latest_version", "tags", "downloads",
                  "updated_at", "owners", "provenance", "latest"):  # fmt: skip
        assert field in body
    assert body["latest"]["version"] == "1.0.0"
    for path in (
        "/api/v1/skills/alice/nope",
        "/api/v1/skills/nobody/demo",
        "/api/v1/skills/alice/demo/versions/9.9.9",
        "/api/v1/skills/alice/demo/versions/9.9.9/download",
        "/api/v1/skills/alice/demo/versions/1.0.0/files/missing.txt",
        "/api/v1/skills/alice/nope/versions",
    ):
        response = await client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_versions_are_newest_first_with_cursor_paging(client) -> None:
    for version in ("0.1.0", "1.0.0-alpha", "1.0.0", "1.2.0", "1.10.0", "2.0.0-rc.1"):
        await published(client, "demo", version, description=f"v{version}")
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/skills/alice/demo/versions", params=params)).json()
        assert page["total"] == 6
        seen += [v["version"] for v in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["2.0.0-rc.1", "1.10.0", "1.2.0", "1.0.0", "1.0.0-alpha", "0.1.0"]
    bad = await client.get("/api/v1/skills/alice/demo/versions", params={"cursor": "!!"})
    assert bad.status_code == 400


async def test_version_detail_has_manifest_and_sanitised_body(client) -> None:
    files = {"scripts/run.sh": b"#!/bin/sh\necho hi\n", "notes.txt": b"plain notes\n"}
    await published(client, "demo", "1.0.0", files=files, body=HOSTILE_BODY)
    version = (await client.get("/api/v1/skills/alice/demo/versions/1.0.0")).json()
    assert {f["path"]: f["mode"] for f in version["files"]} == {
        "SKILL.md": 0o644,
        "notes.txt": 0o644,
        "scripts/run.sh": 0o755,
    }
    assert version["body"] == HOSTILE_BODY  # the raw text is always available
    tags, attributes = parse_html(version["body_html"])
    assert "script" not in tags
    assert not [name for name, _ in attributes if name.startswith("on")]
    urls = [value for name, value in attributes if name in ("href", "src")]
    assert urls == ["https://example.com"]  # javascript: targets were dropped, not linked
    assert "&lt;script&gt;" in version["body_html"]  # shown as text, never run
    assert version["is_latest"] is True
    latest = (await client.get("/api/v1/skills/alice/demo/versions/latest")).json()
    assert latest["version"] == "1.0.0"


async def test_single_file_is_served_inert(client) -> None:
    files = {"page.html": b"<script>alert(1)</script>", "blob.bin": b"\xff\xfe\x00binary"}
    await published(client, "demo", "1.0.0", files=files)
    html = await client.get("/api/v1/skills/alice/demo/versions/1.0.0/files/page.html")
    assert html.status_code == 200
    assert html.content == b"<script>alert(1)</script>"
    assert html.headers["content-type"].startswith("text/plain")
    assert html.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in html.headers["content-security-policy"]
    binary = await client.get("/api/v1/skills/alice/demo/versions/latest/files/blob.bin")
    assert binary.headers["content-type"] == "application/octet-stream"
    assert binary.content == b"\xff\xfe\x00binary"
    etag = html.headers["etag"]
    cached = await client.get(
        "/api/v1/skills/alice/demo/versions/1.0.0/files/page.html",
        headers={"If-None-Match": etag},
    )
    assert cached.status_code == 304


SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect/></svg>'


async def test_images_are_served_as_images_and_svg_cannot_run_script(client) -> None:
    files = {"assets/diagram.svg": SVG, "assets/pic.PNG": b"\x89PNG\r\n\x1a\nrest"}
    await published(client, "demo", "1.0.0", files=files)
    base = "/api/v1/skills/alice/demo/versions/1.0.0/files/assets"
    svg = await client.get(f"{base}/diagram.svg")
    assert svg.status_code == 200
    assert svg.content == SVG
    assert svg.headers["content-type"] == "image/svg+xml"
    policy = svg.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "sandbox" in policy
    assert "script-src" not in policy
    assert svg.headers["x-content-type-options"] == "nosniff"
    assert "content-disposition" not in svg.headers
    png = await client.get(f"{base}/pic.PNG")
    assert png.headers["content-type"] == "image/png"
    assert png.headers["content-security-policy"] == "default-src 'none'; sandbox"


async def test_download_etag_304_and_cache_headers(client) -> None:
    data = bundle("demo")
    created = (await publish(client, data, version="1.0.0")).json()
    exact = await client.get("/api/v1/skills/alice/demo/versions/1.0.0/download")
    assert exact.status_code == 200
    assert exact.headers["content-type"] == "application/gzip"
    assert exact.headers["etag"] == f'"{created["digest"]}"'
    assert exact.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert read_bundle(exact.content).digest == created["digest"]
    gzip.decompress(exact.content)
    for header in (
        exact.headers["etag"],
        f"W/{exact.headers['etag']}",
        '"other", ' + exact.headers["etag"],
        "*",
    ):
        again = await client.get(
            "/api/v1/skills/alice/demo/versions/1.0.0/download",
            headers={"If-None-Match": header},
        )
        assert again.status_code == 304, header
        assert again.content == b""
    stale = await client.get(
        "/api/v1/skills/alice/demo/versions/1.0.0/download",
        headers={"If-None-Match": '"sha256:0000"'},
    )
    assert stale.status_code == 200
    latest = await client.get("/api/v1/skills/alice/demo/versions/latest/download")
    assert latest.status_code == 200
    assert "immutable" not in latest.headers["cache-control"]
    assert latest.headers["etag"] == exact.headers["etag"]
    await published(client, "demo", "1.1.0", description="Moved on.")
    moved = await client.get(
        "/api/v1/skills/alice/demo/versions/latest/download",
        headers={"If-None-Match": exact.headers["etag"]},
    )
    assert moved.status_code == 200  # latest moved: the old ETag no longer matches
    assert moved.headers["etag"] != exact.headers["etag"]


async def test_bundles_are_stored_once_per_digest(client, database_url) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    data = bundle("demo")
    assert (await publish(client, data, version="1.0.0")).status_code == 201
    assert (await publish(client, data, version="1.0.1")).status_code == 201
    assert (
        await publish(client, data, "admin", version="1.0.0", namespace="alice")
    ).status_code == 200
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            blobs = (await conn.execute(text("SELECT count(*) FROM catalog_blobs"))).scalar_one()
    finally:
        await engine.dispose()
    assert blobs == 1
    assert auth("alice")  # the helper stays importable for the other modules
