"""Skills over MCP, through the official MCP Python client against a real registry process.

The client is the SDK's own (`mcp.client.streamable_http.streamable_http_client` and
`ClientSession`, mcp 2.x) over streamable HTTP on loopback, once per backend. Both
protocol eras are used: the `initialize` handshake (2025-11-25) for tools and
resources, and `server/discover` (2026-07-28), which the skills extension's
`skills/list` and `skills/get` are specified against.

Access: nothing in the catalog is private yet, so every caller sees the same public
skills; what is enforced is that a deleted skill is unreadable to everyone, that a
credential that does not verify is refused with 401 (never served as anonymous), and
that a valid API key works as a bearer token.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import ClientSession, MCPError
from mcp.client.streamable_http import streamable_http_client
from mcp_types import (
    BlobResourceContents,
    PaginatedRequestParams,
    Request,
    RequestParams,
    TextResourceContents,
)
from pydantic import BaseModel, ConfigDict
from skreg_proto.bundle import pack_files, read_bundle

from tests.cli.conftest import RegistryServer
from tests.cli.helpers import User, register, yank
from tests.conftest import BACKENDS, create_pg_database, drop_pg_database

INVALID_PARAMS = -32602
BIG = 300 * 1024  # past what a tool returns (256 KiB), within the bundle limits


@dataclass
class Served:
    """A registry with one skill (1.0.0, and a yanked 1.1.0) and one deleted skill."""

    url: str
    user: User
    skill: str  # namespace/name
    files: dict[str, bytes]  # 1.0.0's files, as published
    downloaded: dict[str, bytes]  # 1.0.0's files, from the bundle the HTTP API serves
    gone: str  # a deleted skill
    held: str  # a skill whose only version is held for review (a bidi override)


def _files(name: str, marker: str) -> dict[str, bytes]:
    return {
        "SKILL.md": f"---\nname: {name}\ndescription: Fills PDF forms.\n---\n{marker}\n".encode(),
        "notes/guide.md": "Ünïcode guide\n".encode(),
        "assets/logo.bin": bytes(range(256)) * 4,
        "data/big.txt": b"x" * BIG,
    }


def _publish(url: str, user: User, files: dict[str, bytes], version: str) -> None:
    bundle = pack_files({path: (data, False) for path, data in files.items()})
    response = httpx.post(
        f"{url}/api/v1/skills",
        files={"bundle": ("skill.tar.gz", bundle, "application/gzip")},
        data={"version": version},
        headers={"Authorization": f"Bearer {user.key}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("mcp-registry")
    dsn = ""
    if request.param == "sqlite":
        database = f"sqlite+aiosqlite:///{workdir / 'registry.db'}"
    else:
        dsn = asyncio.run(create_pg_database("skreg_mcp"))
        database = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    server = RegistryServer(database, workdir).start()
    try:
        user = register(server.url)
        name = f"pdf-{uuid.uuid4().hex[:8]}"
        files = _files(name, "v1.0.0")
        _publish(server.url, user, files, "1.0.0")
        _publish(server.url, user, _files(name, "v1.1.0"), "1.1.0")
        yank(server.url, user, f"{user.username}/{name}", "1.1.0")
        download = httpx.get(
            f"{server.url}/api/v1/skills/{user.username}/{name}/versions/1.0.0/download"
        )
        assert download.status_code == 200, download.text
        gone = f"gone-{uuid.uuid4().hex[:8]}"
        _publish(server.url, user, _files(gone, "gone"), "1.0.0")
        deleted = httpx.delete(
            f"{server.url}/api/v1/skills/{user.username}/{gone}",
            headers={"Authorization": f"Bearer {user.key}"},
        )
        assert deleted.status_code == 204, deleted.text
        held = f"held-{uuid.uuid4().hex[:8]}"
        _publish(server.url, user, _files(held, "Say \u202eolleh\u202c."), "1.0.0")
        yield Served(
            server.url,
            user,
            f"{user.username}/{name}",
            files,
            read_bundle(download.content).files,
            f"{user.username}/{gone}",
            f"{user.username}/{held}",
        )
    finally:
        server.stop()
        if dsn:
            asyncio.run(drop_pg_database(dsn))


@asynccontextmanager
async def connect(
    url: str, token: str | None = None, *, modern: bool = False
) -> AsyncIterator[ClientSession]:
    """An MCP session on `url/mcp`: `initialize` handshake, or `server/discover` if modern."""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    async with (
        httpx2.AsyncClient(headers=headers, timeout=30) as http,
        streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        if modern:
            await session.discover()
        else:
            await session.initialize()
        yield session


class Raw(BaseModel):
    """Any result, kept as the server sent it (the SDK has no skills-extension types)."""

    model_config = ConfigDict(extra="allow")


class GetSkillParams(RequestParams):
    uri: str


class SkillsList(Request[PaginatedRequestParams, str]):
    method: str = "skills/list"
    params: PaginatedRequestParams


class SkillsGet(Request[GetSkillParams, str]):
    method: str = "skills/get"
    params: GetSkillParams


async def skills_get(session: ClientSession, uri: str) -> dict[str, Any]:
    result = await session.send_request(SkillsGet(params=GetSkillParams(uri=uri)), Raw)
    return result.model_dump(by_alias=True)


def content_bytes(item: TextResourceContents | BlobResourceContents) -> bytes:
    if isinstance(item, TextResourceContents):
        return item.text.encode("utf-8")
    return base64.b64decode(item.blob)


async def test_tools_are_listed_and_search_finds_the_skill(served: Served) -> None:
    async with connect(served.url) as session:
        assert session.server_capabilities is not None
        assert session.server_capabilities.resources is not None
        tools = {tool.name for tool in (await session.list_tools()).tools}
        assert tools == {"search_skills", "get_skill", "read_skill_file"}
        found = await session.call_tool("search_skills", {"query": served.skill.split("/")[1]})
        assert not found.is_error, found.content
        hits = found.structured_content["skills"]  # type: ignore[index]
        assert [hit["skill"] for hit in hits] == [served.skill]
        assert hits[0]["latest_version"] == "1.0.0"  # 1.1.0 is yanked
        assert hits[0]["uri"] == f"skill://{served.skill}/SKILL.md"
        gone = await session.call_tool("search_skills", {"query": served.gone.split("/")[1]})
        # The deleted skill is never found; with hybrid search on, a skill close in
        # meaning (the same description) may be.
        gone_hits = gone.structured_content["skills"]  # type: ignore[index]
        assert served.gone not in [hit["skill"] for hit in gone_hits]


async def test_resources_match_the_bundle_byte_for_byte_and_digest(served: Served) -> None:
    assert served.downloaded == served.files
    async with connect(served.url, modern=True) as session:
        capabilities = session.server_capabilities
        assert capabilities is not None
        assert capabilities.extensions is not None
        assert "io.modelcontextprotocol/skills" in capabilities.extensions
        listing = await session.send_request(SkillsList(params=PaginatedRequestParams()), Raw)
        entries = {entry["uri"]: entry for entry in listing.model_dump()["skills"]}
        entry = (await skills_get(session, f"skill://{served.skill}/SKILL.md"))["skill"]
        assert entries[entry["uri"]] == entry  # deleted skill not listed, ours is
        assert f"skill://{served.gone}/SKILL.md" not in entries
        assert entry["frontmatter"]["name"] == served.skill.split("/")[1]
        listed = {r["uri"].removeprefix(f"skill://{served.skill}/"): r for r in entry["resources"]}
        assert set(listed) == set(served.downloaded)
        for path, data in served.downloaded.items():
            read = await session.read_resource(listed[path]["uri"])
            (item,) = read.contents
            got = content_bytes(item)
            assert got == data, path
            assert listed[path]["digest"] == "sha256:" + hashlib.sha256(got).hexdigest()
            assert listed[path]["size"] == len(got)
        text = await session.read_resource(f"skill://{served.skill}/SKILL.md")
        assert text.contents[0].mime_type == "text/markdown"
        blob = await session.read_resource(f"skill://{served.skill}/assets/logo.bin")
        assert isinstance(blob.contents[0], BlobResourceContents)


async def test_latest_skips_the_yanked_version_and_exact_reads_it(served: Served) -> None:
    async with connect(served.url) as session:
        latest = await session.read_resource(f"skill://{served.skill}/SKILL.md")
        assert "v1.0.0" in content_bytes(latest.contents[0]).decode()
        yanked = await session.read_resource(f"skill://{served.skill}@1.1.0/SKILL.md")
        assert "v1.1.0" in content_bytes(yanked.contents[0]).decode()
        templates = (await session.list_resource_templates()).resource_templates
        assert {t.uri_template for t in templates} == {
            "skill://{namespace}/{name}/{+path}",
            "skill://{namespace}/{name}@{version}/{+path}",
        }


async def test_get_skill_and_read_file_tools_are_bounded(served: Served) -> None:
    async with connect(served.url) as session:
        got = await session.call_tool("get_skill", {"skill": served.skill})
        assert not got.is_error, got.content
        assert got.content[0].text == served.files["SKILL.md"].decode()  # type: ignore[union-attr]
        listing: Any = got.structured_content
        assert listing["version"] == "1.0.0"
        assert {f["path"]: f["size"] for f in listing["files"]} == {
            path: len(data) for path, data in served.files.items()
        }
        guide = await session.call_tool(
            "read_skill_file", {"skill": served.skill, "path": "notes/guide.md"}
        )
        assert guide.content[0].text == served.files["notes/guide.md"].decode()  # type: ignore[union-attr]
        big = await session.call_tool(
            "read_skill_file", {"skill": served.skill, "path": "data/big.txt"}
        )
        assert big.is_error
        assert f"skill://{served.skill}@1.0.0/data/big.txt" in big.content[0].text  # type: ignore[union-attr]
        for bad in ({"skill": served.skill, "limit": 5}, {"skill": "no-slash"}, {}):
            refused = await session.call_tool("get_skill", bad)
            assert refused.is_error, bad
        too_many = await session.call_tool("search_skills", {"limit": 10_000})
        assert too_many.is_error


async def test_deleted_skill_is_not_readable(served: Served) -> None:
    async with connect(served.url, served.user.key, modern=True) as session:  # even its owner
        with pytest.raises(MCPError) as refused:
            await session.read_resource(f"skill://{served.gone}/SKILL.md")
        assert refused.value.code == INVALID_PARAMS
        with pytest.raises(MCPError) as exact:
            await session.read_resource(f"skill://{served.gone}@1.0.0/SKILL.md")
        assert exact.value.code == INVALID_PARAMS
        with pytest.raises(MCPError) as entry:
            await skills_get(session, f"skill://{served.gone}/SKILL.md")
        assert entry.value.code == INVALID_PARAMS
        tool = await session.call_tool("get_skill", {"skill": served.gone})
        assert tool.is_error


async def test_a_held_version_is_absent_over_mcp(served: Served) -> None:
    async with connect(served.url) as session:
        for uri in (f"skill://{served.held}/SKILL.md", f"skill://{served.held}@1.0.0/SKILL.md"):
            with pytest.raises(MCPError) as refused:
                await session.read_resource(uri)
            assert refused.value.code == INVALID_PARAMS
        tool = await session.call_tool("get_skill", {"skill": served.held})
        assert tool.is_error
        found = await session.call_tool("search_skills", {"query": served.held.split("/")[1]})
        assert not found.is_error, found.content
        assert served.held not in str(found.structured_content)


async def test_a_bad_bearer_is_refused_not_served_as_anonymous(served: Served) -> None:
    with pytest.raises(ExceptionGroup) as failed:  # the SDK's task groups wrap its error
        async with connect(served.url, "sr_forged"):
            pass
    assert failed.group_contains(MCPError)
    async with connect(served.url, served.user.key) as session:  # a real API key works
        assert (await session.call_tool("search_skills", {})).is_error is False


def test_the_endpoint_over_plain_http(served: Served) -> None:
    """401 problem+json for a forged key, 405 for GET (no idle streams), 413 past 64 KiB."""
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-11-25",
    }
    forged = {**headers, "Authorization": "Bearer sr_forged"}
    refused = httpx.post(f"{served.url}/mcp", json=body, headers=forged)
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert httpx.post(f"{served.url}/mcp", json=body, headers=headers).status_code == 200
    assert httpx.get(f"{served.url}/mcp", headers=headers).status_code == 405
    huge = httpx.post(
        f"{served.url}/mcp", content=b"[" + b" " * (128 * 1024) + b"]", headers=headers
    )
    assert huge.status_code == 413


HOSTILE_URIS = [
    "skill://",
    "file:///etc/passwd",
    "skill://ns/name/../../etc/passwd",
    "skill://ns/name/%2e%2e/secret",
    "skill://ns/name/a%00b",
    "skill://ns/name/%ff%fe",
    "skill://NS/Name/SKILL.md",
    "skill://ns/name@not.a.version!/SKILL.md",
    "skill://ns/name/SKILL.md?x=1",
    "skill://ns/" + "a" * 5000 + "/SKILL.md",
]


async def test_hostile_uris_get_clean_errors(served: Served) -> None:
    async with connect(served.url) as session:
        for uri in [*HOSTILE_URIS, f"skill://{served.skill}/no/such/file"]:
            with pytest.raises(MCPError) as refused:
                await session.read_resource(uri)
            assert refused.value.code == INVALID_PARAMS, uri
        with pytest.raises(MCPError) as not_a_skill_md:
            await skills_get(session, f"skill://{served.skill}/notes/guide.md")
        assert not_a_skill_md.value.code == INVALID_PARAMS
        still = await session.read_resource(f"skill://{served.skill}/notes/guide.md")
        assert content_bytes(still.contents[0]) == served.files["notes/guide.md"]


def test_readme_mcp_snippet_runs(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    """The README's Python snippet for an MCP client, run as written against this registry."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    snippet = readme.split("<!-- mcp-python -->\n```python\n", 1)[1].split("```", 1)[0]
    # Run in this process (a fresh interpreter would import the SDK again, seconds of CPU).
    exec(compile(snippet.replace("http://127.0.0.1:8000", served.url), "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert f"{served.skill} name: {served.skill.split('/')[1]}" in printed
