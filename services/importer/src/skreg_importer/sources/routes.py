"""`/api/v1/sources`: admin management of Git sources, sync, and the push webhook."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter
from skreg_common.errors import TooLarge
from skreg_common.principal import Principal, requires_admin
from skreg_proto.importer import ImportRun, Source, SourceCreate, SourceUpdate, WebhookAccepted
from skreg_proto.pagination import Page
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_importer.sources.service import SourceService
from skreg_importer.state import ImporterState


class SourceController(Controller):
    """Admin-only CRUD on sources, and `sync` (202 with the run)."""

    path = "/api/v1/sources"
    guards = [requires_admin()]
    tags = ["importer"]

    @get("/")
    async def list_sources(
        self,
        db_session: NamedDependency[AsyncSession],
        importer: NamedDependency[ImporterState],
        limit: int | None = Parameter(default=None, ge=1, le=100),
        cursor: str | None = Parameter(default=None, max_length=2048),
    ) -> Page[Source]:
        """Sources, oldest first."""
        service = SourceService(db_session, importer.settings, importer.box)
        return await service.list_sources(limit, cursor)

    @post("/")
    async def create_source(
        self,
        data: JSONBody[SourceCreate],
        db_session: NamedDependency[AsyncSession],
        importer: NamedDependency[ImporterState],
        principal: NamedDependency[Principal],
    ) -> Source:
        """Add a source (secrets are sealed, never returned)."""
        service = SourceService(db_session, importer.settings, importer.box)
        return await service.create(data, principal.id)

    @get("/{source_id:str}")
    async def get_source(
        self,
        source_id: FromPath[str],
        db_session: NamedDependency[AsyncSession],
        importer: NamedDependency[ImporterState],
    ) -> Source:
        """One source."""
        return await SourceService(db_session, importer.settings, importer.box).get(source_id)

    @patch("/{source_id:str}")
    async def update_source(
        self,
        source_id: FromPath[str],
        data: JSONBody[SourceUpdate],
        db_session: NamedDependency[AsyncSession],
        importer: NamedDependency[ImporterState],
    ) -> Source:
        """Change the fields given; `null` clears optional ones."""
        service = SourceService(db_session, importer.settings, importer.box)
        return await service.update(source_id, data)

    @delete("/{source_id:str}", status_code=204)
    async def delete_source(
        self,
        source_id: FromPath[str],
        db_session: NamedDependency[AsyncSession],
        importer: NamedDependency[ImporterState],
    ) -> None:
        """Remove the source; its runs stay as history."""
        await SourceService(db_session, importer.settings, importer.box).delete(source_id)

    @post("/{source_id:str}/sync", status_code=202)
    async def sync_source(
        self, source_id: FromPath[str], importer: NamedDependency[ImporterState]
    ) -> ImportRun:
        """Enqueue a sync (or return the one already queued or running)."""
        run, _ = await importer.requests.sync_source(source_id, trigger="manual")
        return run


async def _read_capped(request: Request[Any, Any, Any], limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"webhook body is over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"webhook body is over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@post(
    "/api/v1/sources/{source_id:str}/webhook",
    status_code=202,
    tags=["importer"],
    request_max_body_size=None,  # bounded by IMPORTER_WEBHOOK_MAX_BYTES while reading
)
async def receive_webhook(
    source_id: FromPath[str],
    request: Request[Any, Any, Any],
    importer: NamedDependency[ImporterState],
) -> WebhookAccepted:
    """A push event from GitHub (`X-Hub-Signature-256`) or GitLab (`X-Gitlab-Token`)."""
    body = await _read_capped(request, importer.settings.importer_webhook_max_bytes)
    headers = {key.lower(): value for key, value in request.headers.items()}
    return await importer.webhooks.deliver(source_id, headers, body)
