"""The MCP tools: search skills, get one skill's instructions and file list, read one file.

Arguments are msgspec Structs (their JSON Schema is the tool's input schema, and
`msgspec.convert` checks calls against it). Everything a tool returns is bounded: a
page of at most `MAX_RESULTS` skills, instructions cut at `MAX_TEXT_BYTES` (the full
file stays readable as a `skill://` resource), a file only up to `MAX_FILE_BYTES`.
A caller's mistake (unknown skill, bad cursor, oversized file) is a tool result with
`isError`, so the model can read why and correct itself.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import msgspec
from mcp_types import (
    BlobResourceContents,
    CallToolResult,
    ContentBlock,
    EmbeddedResource,
    TextContent,
    Tool,
    ToolAnnotations,
)
from skreg_common.errors import DomainError

from skreg_catalog.mcp.reads import CatalogReads
from skreg_catalog.mcp.uris import LATEST, SKILL_MD, InvalidSkillUri, file_uri, parse_skill_name
from skreg_catalog.search.service import SearchQuery

MAX_RESULTS = 25
MAX_TEXT_BYTES = 128 * 1024
MAX_FILE_BYTES = 256 * 1024
MAX_FILES_LISTED = 1000  # the catalog's own per-bundle file limit by default

SkillName = Annotated[str, msgspec.Meta(min_length=3, max_length=104, pattern=r"^[^/]+/[^/]+$")]
Version = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class SearchArgs(msgspec.Struct, forbid_unknown_fields=True):
    """`search_skills`: full text over names, descriptions, tags and instructions."""

    query: Annotated[str, msgspec.Meta(max_length=200, description="words to look for")] = ""
    namespace: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    tag: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_RESULTS)] = 10
    cursor: Annotated[str, msgspec.Meta(max_length=2048)] | None = None


class SkillArgs(msgspec.Struct, forbid_unknown_fields=True):
    """`get_skill`: a skill's instructions (SKILL.md) and the list of its files."""

    skill: Annotated[SkillName, msgspec.Meta(description="namespace/name, e.g. acme/pdf-tools")]
    version: Annotated[Version, msgspec.Meta(description="an exact version, or latest")] = LATEST


class FileArgs(msgspec.Struct, forbid_unknown_fields=True):
    """`read_skill_file`: one file of a skill, by its path inside the skill."""

    skill: SkillName
    path: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
    version: Version = LATEST


class ToolFailed(Exception):
    """A tool call the caller can fix: answered as a result with `isError`."""


def _schema(args: type[msgspec.Struct]) -> dict[str, Any]:
    schema = msgspec.json.schema(args)
    inline: dict[str, Any] = schema["$defs"][args.__name__]
    return inline


READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
TOOLS = [
    Tool(
        name="search_skills",
        description="Search the registry's skills; returns names, descriptions, latest "
        "versions and the skill:// URI of each SKILL.md.",
        input_schema=_schema(SearchArgs),
        annotations=READ_ONLY,
    ),
    Tool(
        name="get_skill",
        description="A skill's instructions (its SKILL.md) and the list of its files "
        "(path, size, sha256, skill:// URI).",
        input_schema=_schema(SkillArgs),
        annotations=READ_ONLY,
    ),
    Tool(
        name="read_skill_file",
        description=f"One file of a skill (text, or base64 for binary files; up to "
        f"{MAX_FILE_BYTES // 1024} KiB, larger files are read as skill:// resources).",
        input_schema=_schema(FileArgs),
        annotations=READ_ONLY,
    ),
]


async def call_tool(reads: CatalogReads, name: str, arguments: dict[str, Any]) -> CallToolResult:
    """Run the tool `name`; unknown tools, bad arguments and misses come back as errors."""
    tool = _HANDLERS.get(name)
    if tool is None:
        return _failed(f"no tool {name!r}; the tools are: {', '.join(_HANDLERS)}")
    try:
        return await tool(reads, arguments)
    except msgspec.ValidationError as exc:
        return _failed(f"invalid arguments: {exc}")
    except (ToolFailed, InvalidSkillUri) as exc:
        return _failed(str(exc))
    except DomainError as exc:  # NotFound, BadRequest (a bad cursor): the same words as HTTP
        return _failed(str(exc))


async def search(reads: CatalogReads, arguments: dict[str, Any]) -> CallToolResult:
    """A page of matching skills, most relevant first."""
    args = msgspec.convert(arguments, SearchArgs)
    page = await reads.search(
        SearchQuery(
            q=args.query,
            tag=args.tag,
            namespace=args.namespace,
            cursor=args.cursor,
            limit=args.limit,
        )
    )
    found = {
        "total": page.total,
        "next_cursor": page.next_cursor,
        "skills": [
            {
                "skill": f"{s.namespace}/{s.name}",
                "description": s.description,
                "latest_version": s.latest_version,
                "tags": s.tags,
                "uri": file_uri(s.namespace, s.name, SKILL_MD),
            }
            for s in page.items
        ],
    }
    return _structured(found)


async def get_skill(reads: CatalogReads, arguments: dict[str, Any]) -> CallToolResult:
    """SKILL.md (cut at MAX_TEXT_BYTES) and the file list of one version."""
    args = msgspec.convert(arguments, SkillArgs)
    namespace, name = parse_skill_name(args.skill)
    found = await reads.locate(namespace, name, args.version)
    bundle = await reads.bundle(found)
    instructions = bundle.files[SKILL_MD]
    cut = len(instructions) > MAX_TEXT_BYTES
    text = instructions[:MAX_TEXT_BYTES].decode("utf-8", errors="ignore")
    if cut:
        text += (
            f"\n\n[cut at {MAX_TEXT_BYTES} of {len(instructions)} bytes; read "
            f"{file_uri(namespace, name, SKILL_MD, found.version)} for the rest]"
        )
    files = [
        {
            "path": entry.path,
            "size": entry.size,
            "sha256": entry.sha256,
            "uri": file_uri(namespace, name, entry.path, found.version),
        }
        for entry in bundle.manifest[:MAX_FILES_LISTED]
    ]
    listing = {
        "skill": f"{namespace}/{name}",
        "version": found.version,
        "digest": found.digest,
        "files": files,
        "files_total": len(bundle.manifest),
        "instructions_cut": cut,
    }
    return CallToolResult(
        content=[TextContent(text=text), TextContent(text=json.dumps(listing, indent=1))],
        structured_content=listing,
    )


async def read_file(reads: CatalogReads, arguments: dict[str, Any]) -> CallToolResult:
    """One file: text when it is UTF-8, else an embedded base64 blob."""
    args = msgspec.convert(arguments, FileArgs)
    namespace, name = parse_skill_name(args.skill)
    found = await reads.locate(namespace, name, args.version)
    uri = file_uri(namespace, name, args.path, found.version)
    if args.path not in found.files:
        raise ToolFailed(f"no file {args.path!r} in {namespace}/{name}@{found.version}")
    content = (await reads.bundle(found)).files[args.path]
    if len(content) > MAX_FILE_BYTES:
        raise ToolFailed(
            f"{args.path} is {len(content)} bytes, more than a tool returns "
            f"({MAX_FILE_BYTES}); read the resource {uri} instead"
        )
    block: ContentBlock
    try:
        block = TextContent(text=content.decode("utf-8"))
    except UnicodeDecodeError:
        blob = base64.b64encode(content).decode()
        block = EmbeddedResource(
            resource=BlobResourceContents(uri=uri, blob=blob, mime_type="application/octet-stream")
        )
    return CallToolResult(content=[block])


def _structured(value: dict[str, Any]) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(text=json.dumps(value, indent=1))], structured_content=value
    )


def _failed(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(text=message)], is_error=True)


_HANDLERS: dict[str, Callable[[CatalogReads, dict[str, Any]], Awaitable[CallToolResult]]] = {
    "search_skills": search,
    "get_skill": get_skill,
    "read_skill_file": read_file,
}
