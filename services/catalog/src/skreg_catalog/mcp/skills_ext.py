"""The MCP skills extension (`io.modelcontextprotocol/skills`, SEP-2640): skills/list and get.

The official Python SDK (mcp 2.3) has no types or helpers for this extension, only the
generic seams for one (`Server.add_request_handler`, `Server.extensions`), so the
request and result shapes below follow the extension's specification
(ext-skills, specification/stable/skills.mdx, against protocol 2026-07-28):

- an entry is `{uri, frontmatter, resources: [{uri, digest: "sha256:<hex>", size}]}`
  with the `skill://<namespace>/<name>/SKILL.md` URI of the latest version; reading
  those URIs with `resources/read` gives exactly the bytes the digests cover;
- skills past the extension's per-skill limits (512 files, 16 MiB) are left out, as
  the specification asks; their files stay readable as resources;
- `resources/directory/read` (optional) is not implemented, so `directoryRead` is
  not declared.
"""

from __future__ import annotations

from typing import Any, Literal

from mcp.shared.exceptions import MCPError
from mcp_types import CacheableResult, PaginatedRequestParams, PaginatedResult, RequestParams
from mcp_types.jsonrpc import INVALID_PARAMS
from pydantic import BaseModel, Field
from skreg_common.errors import DomainError
from skreg_proto.catalog import SkillDetail

from skreg_catalog.mcp.reads import CatalogReads
from skreg_catalog.mcp.uris import LATEST, SKILL_MD, InvalidSkillUri, file_uri, parse_skill_uri
from skreg_catalog.search.service import SearchQuery

IDENTIFIER = "io.modelcontextprotocol/skills"
MAX_FILES = 512
MAX_TOTAL_BYTES = 16 * 1024 * 1024
PAGE_SIZE = 20
# How long a host may treat an entry as current: `latest` moves when a version is
# published, and a stale entry only costs the host a skills/get after a digest mismatch.
TTL_MS = 60_000


class SkillResource(BaseModel):
    """One file of a skill, with the digest and size of the bytes `resources/read` returns."""

    uri: str
    digest: str
    size: int


class SkillEntry(BaseModel):
    """A skill: the URI of its SKILL.md, its frontmatter, and every file."""

    uri: str
    frontmatter: dict[str, Any]
    resources: list[SkillResource]


class ListSkillsResult(PaginatedResult, CacheableResult):
    """`skills/list`: one page of entries."""

    skills: list[SkillEntry]
    result_type: Literal["complete"] = "complete"


class GetSkillParams(RequestParams):
    """`skills/get`: the URI of a skill's SKILL.md."""

    uri: str = Field(max_length=2048)


class GetSkillResult(CacheableResult):
    """`skills/get`: one entry."""

    skill: SkillEntry
    result_type: Literal["complete"] = "complete"


def skill_entry(detail: SkillDetail) -> SkillEntry | None:
    """The entry for a skill's latest version (None: not servable as an MCP skill)."""
    latest = detail.latest
    if latest is None or latest.frontmatter.get("name") != detail.name:
        return None  # the URI's last segment must be the frontmatter's name
    if len(latest.files) > MAX_FILES or sum(f.size for f in latest.files) > MAX_TOTAL_BYTES:
        return None
    return SkillEntry(
        uri=file_uri(detail.namespace, detail.name, SKILL_MD),
        frontmatter=latest.frontmatter,
        resources=[
            SkillResource(
                uri=file_uri(detail.namespace, detail.name, entry.path),
                digest=f"sha256:{entry.sha256}",
                size=entry.size,
            )
            for entry in latest.files
        ],
    )


async def list_skills(reads: CatalogReads, params: PaginatedRequestParams) -> ListSkillsResult:
    """A page of entries, by name; the cursor is the catalog's own search cursor."""
    try:
        page = await reads.search(SearchQuery(sort="name", cursor=params.cursor, limit=PAGE_SIZE))
    except DomainError as exc:  # a cursor that is not one of ours
        raise MCPError(code=INVALID_PARAMS, message=str(exc)) from exc
    entries = []
    for summary in page.items:
        try:
            detail = await reads.detail(summary.namespace, summary.name)
        except DomainError:
            continue  # deleted between the page and this read
        entry = skill_entry(detail)
        if entry is not None:
            entries.append(entry)
    return ListSkillsResult(
        skills=entries, next_cursor=page.next_cursor, ttl_ms=TTL_MS, cache_scope="private"
    )


async def get_skill(reads: CatalogReads, params: GetSkillParams) -> GetSkillResult:
    """The entry for `skill://<namespace>/<name>/SKILL.md`; -32602 for anything else."""
    try:
        uri = parse_skill_uri(params.uri)
    except InvalidSkillUri as exc:
        raise MCPError(code=INVALID_PARAMS, message=str(exc)) from exc
    if uri.path != SKILL_MD or uri.version != LATEST:
        raise MCPError(
            code=INVALID_PARAMS,
            message="skills/get takes the URI of a skill's SKILL.md: "
            "skill://<namespace>/<name>/SKILL.md",
        )
    try:
        detail = await reads.detail(uri.namespace, uri.name)
    except DomainError as exc:
        raise MCPError(code=INVALID_PARAMS, message=str(exc)) from exc
    entry = skill_entry(detail)
    if entry is None:
        raise MCPError(code=INVALID_PARAMS, message=f"{uri.skill} is not served as an MCP skill")
    return GetSkillResult(skill=entry, ttl_ms=TTL_MS, cache_scope="private")
