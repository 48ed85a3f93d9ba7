"""The MCP server: tools, `skill://` resources and the skills extension, on the official SDK.

Built on the SDK's low-level `Server` rather than `MCPServer`: a resource template
there answers with one fixed MIME type, while a skill's files are Markdown, scripts
and images, and the skills extension needs two request methods of its own.

Served over streamable HTTP in stateless, JSON-response mode: every POST carries
one request and gets one JSON answer, with no session kept in memory, so any
replica behind the proxy can answer any request (no sticky sessions), nothing
grows per client, and no SSE stream is held open. The tools never call back into
the client, which is all that stateful mode would add.
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.shared.exceptions import MCPError
from mcp_types import (
    BlobResourceContents,
    CallToolRequestParams,
    CallToolResult,
    ListResourcesResult,
    ListResourceTemplatesResult,
    ListToolsResult,
    PaginatedRequestParams,
    ReadResourceRequestParams,
    ReadResourceResult,
    Resource,
    ResourceTemplate,
    TextResourceContents,
)
from mcp_types.jsonrpc import INVALID_PARAMS
from skreg_common.errors import DomainError
from skreg_common.runtime import Runtime
from starlette.types import Receive, Scope, Send

from skreg_catalog.context import CatalogContext
from skreg_catalog.mcp import skills_ext, tools
from skreg_catalog.mcp.reads import CatalogReads
from skreg_catalog.mcp.uris import (
    EXACT_TEMPLATE,
    LATEST_TEMPLATE,
    SKILL_MD,
    InvalidSkillUri,
    SkillUri,
    file_uri,
    parse_skill_uri,
)
from skreg_catalog.search.service import SearchQuery

# An MCP request is a small JSON-RPC message; nothing we serve takes a large body.
MAX_REQUEST_BYTES = 64 * 1024
RESOURCES_PAGE = 50
INSTRUCTIONS = (
    "Agent Skills from this registry. Find skills with search_skills, load one with "
    "get_skill, read its other files with read_skill_file or as skill:// resources: "
    "skill://<namespace>/<name>/<path> (latest version) or "
    "skill://<namespace>/<name>@<version>/<path> (an exact version)."
)
TEMPLATES = [
    ResourceTemplate(
        uri_template=LATEST_TEMPLATE,
        name="skill-file",
        description="A file of a skill's latest version (SKILL.md: its instructions).",
    ),
    ResourceTemplate(
        uri_template=EXACT_TEMPLATE,
        name="skill-version-file",
        description="A file of one exact version of a skill.",
    ),
]


class SkillsMcp:
    """The catalog's MCP server; `running(runtime)` holds it up for the app's life."""

    def __init__(self, catalog: CatalogContext) -> None:
        self.catalog = catalog
        self._reads: CatalogReads | None = None
        self._sessions: StreamableHTTPSessionManager | None = None
        self.server: Server[Any] = Server(
            "skills-registry",
            version=version("skreg-catalog"),
            instructions=INSTRUCTIONS,
            on_list_tools=self._list_tools,
            on_call_tool=self._call_tool,
            on_list_resources=self._list_resources,
            on_list_resource_templates=self._list_templates,
            on_read_resource=self._read_resource,
        )
        self.server.add_request_handler("skills/list", PaginatedRequestParams, self._skills_list)
        self.server.add_request_handler("skills/get", skills_ext.GetSkillParams, self._skills_get)
        self.server.extensions[skills_ext.IDENTIFIER] = {}

    @asynccontextmanager
    async def running(self, runtime: Runtime) -> AsyncIterator[None]:
        """Serve requests until the block ends (a session manager runs only once)."""
        self._reads = CatalogReads(self.catalog, runtime)
        self._sessions = StreamableHTTPSessionManager(
            app=self.server,
            stateless=True,
            json_response=True,
            # DNS-rebinding protection would need every public host name configured.
            # It guards servers that trust cookies or the network; this one trusts only
            # a credential in a header, which a rebound page does not have, and serves
            # anonymous callers only what the public HTTP API serves them.
            security_settings=None,
            max_request_body_size=MAX_REQUEST_BYTES,
        )
        try:
            async with self._sessions.run():
                yield
        finally:
            self._sessions = None

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request to the endpoint."""
        if self._sessions is None:
            raise RuntimeError("the MCP endpoint is not running")
        await self._sessions.handle_request(scope, receive, send)

    @property
    def reads(self) -> CatalogReads:
        """The catalog's read paths (set while running)."""
        if self._reads is None:
            raise RuntimeError("the MCP endpoint is not running")
        return self._reads

    async def _list_tools(
        self, _ctx: ServerRequestContext[Any], _params: PaginatedRequestParams | None
    ) -> ListToolsResult:
        return ListToolsResult(tools=tools.TOOLS)

    async def _call_tool(
        self, _ctx: ServerRequestContext[Any], params: CallToolRequestParams
    ) -> CallToolResult:
        return await tools.call_tool(self.reads, params.name, dict(params.arguments or {}))

    async def _list_resources(
        self, _ctx: ServerRequestContext[Any], params: PaginatedRequestParams | None
    ) -> ListResourcesResult:
        """The SKILL.md of every skill's latest version, by name, a page at a time."""
        cursor = params.cursor if params else None
        try:
            page = await self.reads.search(
                SearchQuery(sort="name", cursor=cursor, limit=RESOURCES_PAGE)
            )
        except DomainError as exc:  # a cursor that is not one of ours
            raise MCPError(code=INVALID_PARAMS, message=str(exc)) from exc
        resources = [
            Resource(
                uri=file_uri(s.namespace, s.name, SKILL_MD),
                name=f"{s.namespace}/{s.name}",
                description=s.description,
                mime_type="text/markdown",
            )
            for s in page.items
        ]
        return ListResourcesResult(resources=resources, next_cursor=page.next_cursor)

    async def _list_templates(
        self, _ctx: ServerRequestContext[Any], _params: PaginatedRequestParams | None
    ) -> ListResourceTemplatesResult:
        return ListResourceTemplatesResult(resource_templates=TEMPLATES)

    async def _read_resource(
        self, _ctx: ServerRequestContext[Any], params: ReadResourceRequestParams
    ) -> ReadResourceResult:
        try:
            uri = parse_skill_uri(str(params.uri))
            content = await self._file(uri)
        except (InvalidSkillUri, DomainError) as exc:
            # -32602 is what the spec asks for an unknown resource.
            data = {"uri": str(params.uri)}
            raise MCPError(code=INVALID_PARAMS, message=str(exc), data=data) from exc
        return ReadResourceResult(contents=[_contents(str(params.uri), uri.path, content)])

    async def _file(self, uri: SkillUri) -> bytes:
        found = await self.reads.locate(uri.namespace, uri.name, uri.version)
        if uri.path not in found.files:
            raise InvalidSkillUri(f"no file {uri.path!r} in {uri.skill}@{found.version}")
        bundle = await self.reads.bundle(found)
        return bundle.files[uri.path]

    async def _skills_list(
        self, _ctx: ServerRequestContext[Any], params: PaginatedRequestParams
    ) -> skills_ext.ListSkillsResult:
        return await skills_ext.list_skills(self.reads, params)

    async def _skills_get(
        self, _ctx: ServerRequestContext[Any], params: skills_ext.GetSkillParams
    ) -> skills_ext.GetSkillResult:
        return await skills_ext.get_skill(self.reads, params)


def _contents(uri: str, path: str, content: bytes) -> TextResourceContents | BlobResourceContents:
    """Text for UTF-8 files (the same bytes once encoded), base64 for the rest."""
    media_type = _media_type(path)
    try:
        return TextResourceContents(uri=uri, text=content.decode("utf-8"), mime_type=media_type)
    except UnicodeDecodeError:
        blob = base64.b64encode(content).decode()
        return BlobResourceContents(uri=uri, blob=blob, mime_type=media_type)


def _media_type(path: str) -> str:
    if path.lower().endswith((".md", ".markdown")):
        return "text/markdown"
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return guessed or "application/octet-stream"
