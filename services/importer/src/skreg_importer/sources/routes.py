"""`/api/v1/sources`: admin management of Git sources, sync, and the push webhook."""

from __future__ import annotations

from typing import Any

from litestar import Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter
from skreg_common.errors import TooLarge
from skreg_common.principal import Principal, requires_admin
from skreg_proto.importer import ImportRun, Source, SourceCreate, SourceUpdate, WebhookAccepted
from skreg_proto.pagination import Page
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_importer.context import ImporterContext
from skreg_importer.sources.service import SourceService

SOURCES = "/api/v1/sources"
SOURCE = SOURCES + "/{source_id:str}"
ADMIN_ONLY = [requires_admin()]
TAGS = ["importer"]


@get(SOURCES, guards=ADMIN_ONLY, tags=TAGS)
async def list_sources(
    db_session: NamedDependency[AsyncSession],
    importer: NamedDependency[ImporterContext],
    limit: int | None = Parameter(default=None, ge=1, le=100),
    cursor: str | None = Parameter(default=None, max_length=2048),
) -> Page[Source]:
    """Sources, oldest first."""
    return await SourceService(db_session, importer).list_sources(limit, cursor)


@post(SOURCES, guards=ADMIN_ONLY, tags=TAGS)
async def create_source(
    data: JSONBody[SourceCreate],
    db_session: NamedDependency[AsyncSession],
    importer: NamedDependency[ImporterContext],
    principal: NamedDependency[Principal],
) -> Source:
    """Add a source (secrets are sealed, never returned)."""
    return await SourceService(db_session, importer).create(data, principal.id)


@get(SOURCE, guards=ADMIN_ONLY, tags=TAGS)
async def get_source(
    source_id: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    importer: NamedDependency[ImporterContext],
) -> Source:
    """One source."""
    return await SourceService(db_session, importer).get(source_id)


@patch(SOURCE, guards=ADMIN_ONLY, tags=TAGS)
async def update_source(
    source_id: FromPath[str],
    data: JSONBody[SourceUpdate],
    db_session: NamedDependency[AsyncSession],
    importer: NamedDependency[ImporterContext],
) -> Source:
    """Change the fields given; `null` clears optional ones."""
    return await SourceService(db_session, importer).update(source_id, data)


@delete(SOURCE, guards=ADMIN_ONLY, tags=TAGS, status_code=204)
async def delete_source(
    source_id: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    importer: NamedDependency[ImporterContext],
) -> None:
    """Remove the source; its runs stay as history."""
    await SourceService(db_session, importer).delete(source_id)


@post(SOURCE + "/sync", guards=ADMIN_ONLY, tags=TAGS, status_code=202)
async def sync_source(
    source_id: FromPath[str], importer: NamedDependency[ImporterContext]
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
    SOURCE + "/webhook",
    status_code=202,
    tags=TAGS,
    request_max_body_size=None,  # bounded by IMPORTER_WEBHOOK_MAX_BYTES while reading
)
async def receive_webhook(
    source_id: FromPath[str],
    request: Request[Any, Any, Any],
    importer: NamedDependency[ImporterContext],
) -> WebhookAccepted:
    """A push event from GitHub (`X-Hub-Signature-256`) or GitLab (`X-Gitlab-Token`)."""
    body = await _read_capped(request, importer.settings.importer_webhook_max_bytes)
    headers = {key.lower(): value for key, value in request.headers.items()}
    return await importer.webhooks.deliver(source_id, headers, body)


HANDLERS = [
    list_sources,
    create_source,
    get_source,
    update_source,
    delete_source,
    sync_source,
    receive_webhook,
]
