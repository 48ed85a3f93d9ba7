"""`/api/v1/imports`: one-off imports and the run history (admin only)."""

from __future__ import annotations

from typing import Annotated

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter, QueryParameter
from skreg_common.principal import Principal, requires_admin
from skreg_proto.importer import ImportCreate, ImportRun
from skreg_proto.pagination import Page
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_importer.context import ImporterContext
from skreg_importer.runs.queries import RunQueries

IMPORTS = "/api/v1/imports"
ADMIN_ONLY = [requires_admin()]
TAGS = ["importer"]


@post(IMPORTS, guards=ADMIN_ONLY, tags=TAGS, status_code=202)
async def create_import(
    data: JSONBody[ImportCreate],
    importer: NamedDependency[ImporterContext],
    principal: NamedDependency[Principal],
) -> ImportRun:
    """Import a URL once into a namespace."""
    return await importer.requests.import_url(data, principal.id)


@get(IMPORTS, guards=ADMIN_ONLY, tags=TAGS)
async def list_runs(
    db_session: NamedDependency[AsyncSession],
    source_id: str | None = Parameter(default=None, max_length=64),
    run_state: Annotated[str | None, QueryParameter(name="state", max_length=16)] = None,
    limit: int | None = Parameter(default=None, ge=1, le=100),
    cursor: str | None = Parameter(default=None, max_length=2048),
) -> Page[ImportRun]:
    """Runs, newest first; per-skill counts instead of full results."""
    return await RunQueries(db_session).list_runs(
        source_id=source_id, state=run_state, limit=limit, cursor=cursor
    )


@get(IMPORTS + "/{run_id:str}", guards=ADMIN_ONLY, tags=TAGS)
async def get_run(run_id: FromPath[str], db_session: NamedDependency[AsyncSession]) -> ImportRun:
    """One run with every per-skill result."""
    return await RunQueries(db_session).get(run_id)


HANDLERS = [create_import, list_runs, get_run]
