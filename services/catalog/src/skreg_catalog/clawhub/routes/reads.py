"""The ClawHub API's reads: search, explore, skills, versions, files, downloads, resolve."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import MediaType, Request, Response, get
from litestar.background_tasks import BackgroundTask
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter, QueryParameter
from skreg_common.errors import NotFound
from skreg_common.runtime import Runtime
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.clawhub import listing
from skreg_catalog.clawhub.routes.paths import API, SKILL, api_base
from skreg_catalog.clawhub.service import ClawHubReads, content_type
from skreg_catalog.clawhub.shapes import (
    Archive,
    InstallArchive,
    InstallRefused,
    Moderation,
    ResolveResponse,
    SearchResponse,
    SkillList,
    SkillResponse,
    VersionList,
    VersionResponse,
    WellKnown,
)
from skreg_catalog.context import CatalogContext
from skreg_catalog.downloads.visits import download_visit
from skreg_catalog.etags import IMMUTABLE, REVALIDATE
from skreg_catalog.skills.models import Version
from skreg_catalog.skills.routes import FILE_HEADERS
from skreg_catalog.visibility import Sight

Text = Parameter(default=None, max_length=256)
# ClawHub's `?ownerHandle=` is our namespace.
OwnerHandle = Annotated[str | None, QueryParameter(name="ownerHandle", max_length=256)]


@get(["/.well-known/clawhub.json", "/.well-known/clawdhub.json"], include_in_schema=False)
async def get_discovery(request: Request[Any, Any, Any]) -> Response[WellKnown]:
    """Where `clawhub --site <this origin>` finds the API."""
    return Response(WellKnown(api_base=api_base(request)), headers={"Cache-Control": "no-cache"})


@get(API + "/search")
async def search_skills(
    request: Request[Any, Any, Any],
    catalog: NamedDependency[CatalogContext],
    sight: NamedDependency[Sight],
    q: str = Parameter(default="", max_length=listing.MAX_QUERY),
    limit: int | None = Parameter(default=None, ge=1, le=1000),
    mode: str | None = Text,
) -> SearchResponse:
    """Full-text search (`clawhub search`)."""
    runtime: Runtime = request.app.state.runtime
    # The API's ranking (hybrid when semantic search is on), of what the caller may see.
    return await listing.search(
        runtime.quick, q, limit, exact=mode == "exact", sight=sight, semantic=catalog.semantic
    )


@get(API + "/skills")
async def list_skills(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    sight: NamedDependency[Sight],
    prefix: str | None = Text,
    sort: str | None = Text,
    cursor: str | None = Parameter(default=None, max_length=2048),
    limit: int | None = Parameter(default=None, ge=1, le=1000),
) -> SkillList:
    """`clawhub explore` (newest first, or most downloaded) and `clawhub search --prefix`."""
    runtime: Runtime = request.app.state.runtime
    return await listing.explore(
        db_session, runtime.quick, sight, prefix=prefix, sort=sort, cursor=cursor, limit=limit
    )


@get(SKILL)
async def get_skill(
    slug: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    catalog: NamedDependency[CatalogContext],
    sight: NamedDependency[Sight],
    owner_handle: OwnerHandle = None,
) -> SkillResponse:
    """The skill, its latest version and its owner (`inspect`, `install`, `update`)."""
    return await ClawHubReads(db_session, catalog, sight).skill(slug, owner_handle)


@get(SKILL + "/moderation")
async def get_moderation() -> Moderation:
    """No moderation verdicts here: the answer is always `null`."""
    return Moderation()


@get(SKILL + "/install")
async def get_install(
    request: Request[Any, Any, Any],
    slug: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    catalog: NamedDependency[CatalogContext],
    sight: NamedDependency[Sight],
    owner_handle: OwnerHandle = None,
) -> Response[InstallArchive | InstallRefused]:
    """The archive to install for the latest version (410 with a reason when none is)."""
    reads = ClawHubReads(db_session, catalog, sight)
    skill = await reads.find(slug, owner_handle)
    if skill.latest_version is None:
        message = f"{skill.namespace}/{skill.name} has no installable version (all yanked)"
        return Response(InstallRefused(slug=skill.name, message=message), status_code=410)
    query = urlencode(
        {"slug": skill.name, "ownerHandle": skill.namespace, "version": skill.latest_version}
    )
    url = f"{api_base(request)}{API}/download?{query}"
    archive = Archive(version=skill.latest_version, download_url=url)
    return Response(InstallArchive(slug=skill.name, archive=archive))


@get(SKILL + "/versions")
async def list_versions(
    slug: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    catalog: NamedDependency[CatalogContext],
    sight: NamedDependency[Sight],
    owner_handle: OwnerHandle = None,
    cursor: str | None = Parameter(default=None, max_length=2048),
    limit: int | None = Parameter(default=None, ge=1, le=1000),
) -> VersionList:
    """Versions, newest first (`inspect --versions`)."""
    capped = None if limit is None else min(limit, 100)
    return await ClawHubReads(db_session, catalog, sight).versions(
        slug, owner_handle, cursor, capped
    )


@get(SKILL + "/versions/{version:str}")
async def get_version(
    slug: FromPath[str],
    version: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    catalog: NamedDependency[CatalogContext],
    sight: NamedDependency[Sight],
    owner_handle: OwnerHandle = None,
) -> VersionResponse:
    """One version and its files (`inspect --files`, `install --version`)."""
    return await ClawHubReads(db_session, catalog, sight).version_detail(
        slug, owner_handle, version
    )


@get(SKILL + "/file", media_type=MediaType.TEXT)
async def get_file(
    slug: FromPath[str],
    db_session: NamedDependency[AsyncSession],
    catalog: NamedDependency[CatalogContext],
    sight: NamedDependency[Sight],
    path: str = Parameter(max_length=4096),
    owner_handle: OwnerHandle = None,
    version: str | None = Text,
    tag: str | None = Text,
) -> Response[bytes]:
    """One file's bytes (`inspect --file`), never as something a browser would run."""
    reads = ClawHubReads(db_session, catalog, sight)
    skill, found = await reads.version(slug, owner_handle, version, tag)
    bundle = await reads.bundle(found)
    content = bundle.files.get(path.lstrip("/"))
    if content is None:
        raise NotFound(f"File not found: {path} in {skill.namespace}/{skill.name}")
    try:
        content.decode("utf-8")
        media_type = "text/plain; charset=utf-8"
    except UnicodeDecodeError:
        media_type = content_type(path)
    return Response(content, media_type=media_type, headers=dict(FILE_HEADERS))


async def _count_later(
    request: Request[Any, Any, Any],
    catalog: CatalogContext,
    session: AsyncSession,
    version: Version,
) -> BackgroundTask | None:
    """Count the download as the catalog's own downloads are (once per client per day)."""
    visit = download_visit(request, catalog)
    if visit.known(version.id) or await visit.seen(session, version.id):
        return None
    return visit.count_later(version.id, version.skill_id)


@get(API + "/download", media_type="application/zip")
async def download_zip(
    request: Request[Any, Any, Any],
    db_session: NamedDependency[AsyncSession],
    catalog: NamedDependency[CatalogContext],
    sight: NamedDependency[Sight],
    slug: str = Parameter(max_length=256),
    owner_handle: OwnerHandle = None,
    version: str | None = Text,
    tag: str | None = Text,
) -> Response[bytes]:
    """The version's files as a ZIP (`install`, `update`); the same files, the same bytes."""
    reads = ClawHubReads(db_session, catalog, sight)
    skill, found = await reads.version(slug, owner_handle, version, tag)
    data = await reads.zip_bytes(found)
    exact = version is not None
    headers = {
        "Cache-Control": IMMUTABLE if exact else REVALIDATE,
        "ETag": f'"{found.digest}.zip"',
        "Content-Disposition": f'attachment; filename="{skill.name}-{found.version}.zip"',
    }
    background = await _count_later(request, catalog, db_session, found)
    return Response(data, media_type="application/zip", headers=headers, background=background)


@get(API + "/resolve")
async def resolve_fingerprint(
    db_session: NamedDependency[AsyncSession],
    catalog: NamedDependency[CatalogContext],
    sight: NamedDependency[Sight],
    hash_: Annotated[str, QueryParameter(name="hash", max_length=128)],
    slug: str = Parameter(max_length=256),
    owner_handle: OwnerHandle = None,
) -> ResolveResponse:
    """Which version the CLI's local files are, by their fingerprint (`update`, `publish`)."""
    return await ClawHubReads(db_session, catalog, sight).resolve(slug, owner_handle, hash_)


HANDLERS = [
    search_skills,
    list_skills,
    get_skill,
    get_moderation,
    get_install,
    list_versions,
    get_version,
    get_file,
    download_zip,
    resolve_fingerprint,
]
