"""Skill and version reads, downloads, single files, yank/unyank and soft delete."""

from __future__ import annotations

from typing import Any, NamedTuple, cast

from litestar import MediaType, Request, Response, delete, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.params import FromPath, JSONBody, Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT
from skreg_common.errors import Forbidden, NotFound, Unauthorized
from skreg_common.openapi import raw_bodies
from skreg_common.principal import Guard, Principal, Scope, resolve_principal
from skreg_proto.catalog import SkillDetail, SkillVersion, VersionDetail, YankRequest
from skreg_proto.pagination import Page

from skreg_catalog.context import CatalogContext
from skreg_catalog.downloads.visits import download_visit
from skreg_catalog.etags import cached_by_etag
from skreg_catalog.review.reads import (
    may_list_withheld,
    withheld_detail,
    withheld_located,
    withheld_skill,
)
from skreg_catalog.review.visibility import PRIVATE_CACHING
from skreg_catalog.skills.hot import locate_cached, read_detail, read_version
from skreg_catalog.skills.resolve import resolve_spec
from skreg_catalog.skills.service import LATEST, Located, SkillService
from skreg_catalog.visibility import require_visible, shared_caching, sight_for
from skreg_catalog.writer import CatalogWriter

SKILL = "/api/v1/skills/{namespace:str}/{name:str}"
VERSION = SKILL + "/versions/{version:str}"
# A version's document: its body and HTML never change, but it also carries the yank
# state and download count, and a yank must reach readers within minutes, not a year.
SETTLING = "public, max-age=300"
# Files are shown, never run: no sniffing into HTML, no scripts, no plugins, sandboxed.
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}
# Images are served as images so pages can show them (`<img>` never runs an SVG's
# script); an SVG opened directly is a sandboxed document that may only style itself.
IMAGE_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "avif": "image/avif",
    "svg": "image/svg+xml",
}
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def image_type(path: str) -> str | None:
    """The image media type a file is served with, by its extension (None: not an image)."""
    return IMAGE_TYPES.get(path.rpartition(".")[2].lower()) if "." in path else None


def requires_owner_credential(scope: Scope) -> Guard:
    """Guard: a user whose credential carries `scope`, or an admin; ownership is checked later."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = await resolve_principal(connection)
        if principal.kind != "user":
            raise Unauthorized("sign in or present an API key")
        if not (principal.has_scope(scope) or principal.is_admin):
            raise Forbidden(f"this credential lacks the '{scope}' scope")

    return guard


@get(SKILL, summary="A skill", tags=["catalog"])
async def get_skill(
    request: Request[Any, Any, Any],
    namespace: FromPath[str],
    name: FromPath[str],
    catalog: NamedDependency[CatalogContext],
) -> SkillDetail:
    """The skill, its latest version, tags, owners, downloads and provenance.

    A skill the caller may not see is 404 (`skreg_catalog.visibility`); so is one with
    only withheld versions, except to its namespace's managers.
    """
    await require_visible(request, catalog, namespace, name)
    try:
        return await catalog.read_quick(
            request, ("skill", namespace, name), lambda quick: read_detail(quick, namespace, name)
        )
    except NotFound as missing:
        return await withheld_skill(request, catalog, namespace, name, missing)


@delete(
    SKILL,
    guards=[requires_owner_credential("publish")],
    status_code=HTTP_204_NO_CONTENT,
    summary="Soft-delete a skill",
    tags=["catalog"],
)
async def delete_skill(
    request: Request[Any, Any, Any],
    namespace: FromPath[str],
    name: FromPath[str],
    catalog: NamedDependency[CatalogContext],
    writer: NamedDependency[CatalogWriter],
    principal: NamedDependency[Principal],
) -> None:
    """Hide the skill everywhere; its name and versions stay reserved."""
    await require_visible(request, catalog, namespace, name)
    async with writer.transaction() as session:
        await SkillService(session, catalog).delete_skill(namespace, name, principal)


@get(SKILL + "/versions", summary="Versions, newest first", tags=["catalog"])
async def list_versions(
    request: Request[Any, Any, Any],
    namespace: FromPath[str],
    name: FromPath[str],
    catalog: NamedDependency[CatalogContext],
    cursor: str | None = Parameter(default=None, max_length=2048),
    limit: int | None = Parameter(default=None, ge=1, le=100),
) -> Page[SkillVersion]:
    """All versions by semver precedence, highest first, with yank flags.

    Withheld versions are listed only to the namespace's managers and admins.
    """
    await require_visible(request, catalog, namespace, name)
    if await may_list_withheld(request, catalog, namespace):
        async with catalog.reading(request.app.state.runtime) as session:
            return await SkillService(session, catalog).list_versions(
                namespace, name, cursor, limit, with_withheld=True
            )
    return await catalog.read(
        request,
        ("versions", namespace, name, cursor, limit),
        lambda session: SkillService(session, catalog).list_versions(
            namespace, name, cursor, limit
        ),
    )


@get(
    SKILL + "/resolve",
    summary="Resolve `latest` or a range to one version",
    tags=["catalog"],
)
async def resolve_version(
    request: Request[Any, Any, Any],
    namespace: FromPath[str],
    name: FromPath[str],
    catalog: NamedDependency[CatalogContext],
    spec: str = Parameter(
        default=LATEST,
        min_length=1,
        max_length=1024,
        description="`latest`, `*`, an exact version or a range (`^1.2`, `~1.2.3`, "
        "`>=1.0.0,<2.0.0`, `1.x`)",
    ),
) -> SkillVersion:
    """The version `spec` installs: the only place clients get `latest` and ranges resolved.

    `latest`/`*`: the highest non-yanked release, else the highest non-yanked
    pre-release; a range: its highest non-yanked version (pre-releases only when a
    term names one of the same major.minor.patch); an exact version may be yanked.
    404 problem+json when nothing matches, 400 for a malformed spec.
    """
    await require_visible(request, catalog, namespace, name)
    return await catalog.read(
        request,
        ("resolve", namespace, name, spec),
        lambda session: resolve_spec(session, namespace, name, spec),
    )


@get(VERSION, summary="One version", tags=["catalog"])
async def get_version(
    request: Request[Any, Any, Any],
    namespace: FromPath[str],
    name: FromPath[str],
    version: FromPath[str],
    catalog: NamedDependency[CatalogContext],
) -> Response[VersionDetail]:
    """Manifest, digest, frontmatter, body and sanitised HTML; `latest` allowed.

    The page was stored with the body's HTML at publish (`skills.document`). `ETag`
    changes with every byte of it (the yank state and downloads too); 304 on match;
    `latest` is always revalidated.
    """
    # One select reads the version and the skill's gate row; the caller's sight is
    # applied to the gate before anything else (a hidden skill is a missing one).
    read = await catalog.read_quick(
        request,
        ("version", namespace, name, version),
        lambda quick: read_version(quick, catalog, namespace, name, version),
        weigh=lambda read: (len(read.page.body) if read.page else 0) + 256,
    )
    gate = read.gate
    if gate is None:
        # No skill with a visible version: hidden, missing, or with withheld ones only.
        gate = await require_visible(request, catalog, namespace, name)
    elif not (await sight_for(request, catalog)).allows(gate):
        raise NotFound(f"no skill {namespace}/{name}")
    if read.page is None:
        missing = NotFound(read.missing or f"no skill {namespace}/{name}")
        detail = await withheld_detail(request, catalog, namespace, name, version, missing)
        return Response(detail, headers={"Cache-Control": PRIVATE_CACHING})
    headers, unchanged = cached_by_etag(
        request, version, read.page.etag, SETTLING, shared=shared_caching(gate, catalog)
    )
    if unchanged is not None:
        return cast("Response[VersionDetail]", unchanged)
    # Already JSON: Litestar sends bytes as they are (the annotation keeps the schema).
    content = cast(VersionDetail, read.page.body)
    return Response(content, media_type=MediaType.JSON, headers=headers)


class Placed(NamedTuple):
    """A version's bytes (`located_for`) and how its responses may be cached."""

    found: Located
    withheld: bool
    shared: bool


async def located_for(
    request: Request[Any, Any, Any],
    catalog: CatalogContext,
    namespace: str,
    name: str,
    version: str,
) -> Placed:
    """Where the version is; whether it is withheld (shown privately, never cached) and
    whether shared caches may keep it (only skills everyone may see).

    NotFound for a skill the caller may not see (`skreg_catalog.visibility`) comes
    first, so a hidden skill's withheld version is as absent as its public ones.
    """
    gate = await require_visible(request, catalog, namespace, name)
    shared = shared_caching(gate, catalog)
    try:
        found = await locate_cached(
            catalog, request.app.state.runtime.quick, namespace, name, version
        )
        return Placed(found, withheld=False, shared=shared)
    except NotFound as missing:
        found = await withheld_located(request, catalog, namespace, name, version, missing)
        return Placed(found, withheld=True, shared=False)


@get(
    VERSION + "/download",
    summary="Download the bundle",
    tags=["catalog"],
    operation_class=raw_bodies(response=["application/gzip"]),
)
async def download_version(
    request: Request[Any, Any, Any],
    namespace: FromPath[str],
    name: FromPath[str],
    version: FromPath[str],
    catalog: NamedDependency[CatalogContext],
) -> Response[bytes]:
    """The bundle; `ETag` is the digest, exact versions are cached immutably, 304 on match.

    The hot path touches no database: where the version is, its bytes and who was
    counted today are all kept in memory; a session opens only for what is missing.
    """
    found, withheld, shared = await located_for(request, catalog, namespace, name, version)
    headers, unchanged = cached_by_etag(request, version, found.digest, shared=shared)
    if withheld:
        headers["Cache-Control"] = PRIVATE_CACHING
    if unchanged is not None:
        unchanged.headers.update(headers)
        return unchanged
    visit = download_visit(request, catalog)
    data = catalog.blobs.peek(found.digest)
    # A withheld version's own managers downloading it is not a download to count.
    seen = withheld or visit.known(found.version_id)
    if data is None or not seen:
        async with catalog.reading(request.app.state.runtime) as session:
            if data is None:
                data = await SkillService(session, catalog).bundle_bytes(found.digest)
            if not seen:
                seen = await visit.seen(session, found.version_id)
    background = None if seen else visit.count_later(found.version_id, found.skill_id)
    filename = f"{found.namespace}-{found.name}-{found.version}.tar.gz"
    headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(data, media_type="application/gzip", headers=headers, background=background)


@get(
    VERSION + "/files/{path:path}",
    summary="One file of the bundle",
    tags=["catalog"],
    operation_class=raw_bodies(response=["text/plain", "application/octet-stream"]),
)
async def get_file(
    request: Request[Any, Any, Any],
    namespace: FromPath[str],
    name: FromPath[str],
    version: FromPath[str],
    path: FromPath[str],
    catalog: NamedDependency[CatalogContext],
) -> Response[bytes]:
    """The file's bytes, as plain text when it is UTF-8, never as something a browser runs."""
    found, withheld, shared = await located_for(request, catalog, namespace, name, version)
    relative = path.lstrip("/")
    sha256 = found.files.get(relative)
    if sha256 is None:
        raise NotFound(f"no file {relative!r} in {namespace}/{name}@{found.version}")
    caching, unchanged = cached_by_etag(request, version, f"sha256:{sha256}", shared=shared)
    if withheld:
        caching["Cache-Control"] = PRIVATE_CACHING
    if unchanged is not None:
        unchanged.headers.update(caching)
        unchanged.headers.update(FILE_HEADERS)
        return unchanged
    headers = {**FILE_HEADERS, **caching}
    bundle = catalog.bundles.get(found.digest)
    if bundle is None:
        async with catalog.reading(request.app.state.runtime) as session:
            bundle = await SkillService(session, catalog).bundle(found.digest)
    content = bundle.files[relative]
    media_type = image_type(relative)
    if media_type == "image/svg+xml":
        headers["Content-Security-Policy"] = SVG_POLICY
    if media_type is not None:
        return Response(content, media_type=media_type, headers=headers)
    try:
        content.decode("utf-8")
        media_type = "text/plain"
    except UnicodeDecodeError:
        media_type = "application/octet-stream"
        headers["Content-Disposition"] = "attachment"
    return Response(content, media_type=media_type, headers=headers)


@post(
    VERSION + "/yank",
    guards=[requires_owner_credential("yank")],
    status_code=200,
    summary="Yank a version",
    tags=["catalog"],
)
async def yank_version(
    request: Request[Any, Any, Any],
    namespace: FromPath[str],
    name: FromPath[str],
    version: FromPath[str],
    data: JSONBody[YankRequest],
    catalog: NamedDependency[CatalogContext],
    writer: NamedDependency[CatalogWriter],
    principal: NamedDependency[Principal],
) -> SkillVersion:
    """Hide the version from `latest` and search; it stays downloadable by exact version."""
    await require_visible(request, catalog, namespace, name)
    async with writer.transaction() as session:
        return await SkillService(session, catalog).set_yanked(
            namespace, name, version, principal, data.reason
        )


@delete(
    VERSION + "/yank",
    guards=[requires_owner_credential("yank")],
    status_code=200,
    summary="Unyank a version",
    tags=["catalog"],
)
async def unyank_version(
    request: Request[Any, Any, Any],
    namespace: FromPath[str],
    name: FromPath[str],
    version: FromPath[str],
    catalog: NamedDependency[CatalogContext],
    writer: NamedDependency[CatalogWriter],
    principal: NamedDependency[Principal],
) -> SkillVersion:
    """Make a yanked version resolvable again."""
    await require_visible(request, catalog, namespace, name)
    async with writer.transaction() as session:
        return await SkillService(session, catalog).set_yanked(
            namespace, name, version, principal, None
        )


HANDLERS = [
    get_skill,
    delete_skill,
    list_versions,
    resolve_version,
    get_version,
    download_version,
    get_file,
    yank_version,
    unyank_version,
]
