"""The catalog's hottest uncached reads, each one select through the quick reader.

- `read_detail` (`GET /api/v1/skills/{namespace}/{name}`): the skill, its owner,
  its latest version (without the body) and its version count;
- `locate_version` (downloads and single files): where a version's bytes are;
- `read_version` (`…/versions/{version}`): a version's page, stored as JSON with the
  HTML at publish (`skreg_catalog.skills.document`), with what changes spliced in.

Both run on `Runtime.quick` (no session, no pool on SQLite; see
`skreg_common.quickread`). The detail row's parts become plain attribute holders
standing in for the models, so the one converter, `to_detail`, serves this read
too (it only reads attributes; building transient models cost as much as the query).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, NamedTuple, cast

from skreg_common.errors import NotFound
from skreg_common.quickread import QuickReader
from skreg_proto.catalog import SkillDetail
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import aliased

from skreg_catalog.context import CatalogContext
from skreg_catalog.rendering.markdown import RENDERER_VERSION
from skreg_catalog.rendering.models import RenderedBody
from skreg_catalog.rendering.stored import stored_rendering
from skreg_catalog.skills.convert import to_detail
from skreg_catalog.skills.document import (
    CHANGING_COLUMNS,
    DOCUMENT_VERSION,
    Page,
    changing_members,
    document_digest,
    spliced,
    stored_document,
)
from skreg_catalog.skills.models import PUBLIC_VERSION, Namespace, Skill, Version
from skreg_catalog.skills.service import (
    EXISTING_SKILL,
    LATEST,
    VISIBLE_SKILL,
    Located,
    with_version,
)
from skreg_catalog.visibility import Gate

_LATEST = aliased(Version)
_SKILL_KEYS = (
    "id",
    "namespace",
    "name",
    "description",
    "tags",
    "latest_version",
    "latest_version_id",
    "downloads",
    "created_at",
    "updated_at",
    "deprecated",
    "deprecated_reason",
    "visibility",
)
_VERSION_KEYS = tuple(
    column.key for column in Version.__table__.columns if column.key not in ("body", "skill_id")
)


def _labelled(entity: Any, keys: tuple[str, ...], prefix: str) -> list[ColumnElement[Any]]:
    return [getattr(entity, key).label(prefix + key) for key in keys]


def _detail(where: ColumnElement[bool]) -> Select[Any]:
    return (
        select(
            *_labelled(Skill, _SKILL_KEYS, "s_"),
            Namespace.owner_id.label("n_owner_id"),
            Namespace.owner_name.label("n_owner_name"),
            Namespace.org.label("n_org"),
            *_labelled(_LATEST, _VERSION_KEYS, "v_"),
            select(func.count(Version.id))
            .where(Version.skill_id == Skill.id, Version.deleted_at.is_(None), PUBLIC_VERSION)
            .scalar_subquery()
            .label("versions_count"),
        )
        .join(Namespace, Namespace.id == Skill.namespace_id)
        .outerjoin(_LATEST, _LATEST.id == Skill.latest_version_id)
        .where(where)
    )


DETAIL = _detail(VISIBLE_SKILL)
# For those who may see withheld versions: a skill that has only withheld ones.
DETAIL_ANY = _detail(EXISTING_SKILL)


def _part(row: Mapping[str, Any], keys: tuple[str, ...], prefix: str) -> dict[str, Any]:
    return {key: row[prefix + key] for key in keys}


async def read_detail(
    reader: QuickReader, namespace: str, name: str, *, with_withheld: bool = False
) -> SkillDetail:
    """The skill with its latest version; NotFound if it does not exist or was deleted
    (or, unless `with_withheld`, has only withheld versions)."""
    statement = DETAIL_ANY if with_withheld else DETAIL
    row = await reader.first(statement, {"namespace": namespace, "name": name})
    if row is None:
        raise NotFound(f"no skill {namespace}/{name}")
    skill = cast(Skill, SimpleNamespace(**_part(row, _SKILL_KEYS, "s_")))
    owner = cast(
        Namespace,
        SimpleNamespace(
            owner_id=row["n_owner_id"], owner_name=row["n_owner_name"], org=row["n_org"]
        ),
    )
    latest = None
    if row["v_id"] is not None:
        latest = cast(Version, SimpleNamespace(**_part(row, _VERSION_KEYS, "v_")))
    return to_detail(skill, owner, latest, row["versions_count"])


_LOCATED = (
    Skill.id.label("skill_id"),
    Skill.namespace,
    Skill.name,
    Version.id.label("version_id"),
    Version.version,
    Version.digest,
    Version.manifest,
)
LOCATE = (with_version(_LOCATED, latest=True), with_version(_LOCATED, latest=False))


async def _find_row(
    reader: QuickReader,
    statements: tuple[Select[Any], Select[Any]],
    namespace: str,
    name: str,
    version: str,
) -> Mapping[str, Any] | None:
    """The row of `version` (`statements` = its `latest` and exact forms), None when
    there is no such skill (its version columns are NULL when the version is missing)."""
    latest, exact = statements
    params = {"namespace": namespace, "name": name, "version": version}
    return await reader.first(latest if version == LATEST else exact, params)


def _missing(
    row: Mapping[str, Any] | None, version_key: str, namespace: str, name: str, version: str
) -> str | None:
    """Why `row` holds no version, worded as `resolve` words it; None when it holds one."""
    if row is None:
        return f"no skill {namespace}/{name}"
    if row[version_key] is None:
        if version == LATEST:
            return f"{namespace}/{name} has no installable version"
        return f"no version {version} of {namespace}/{name}"
    return None


async def _version_row(
    reader: QuickReader,
    statements: tuple[Select[Any], Select[Any]],
    version_key: str,
    namespace: str,
    name: str,
    version: str,
) -> Mapping[str, Any]:
    """The row of `version`; NotFound as `_missing` words it."""
    row = await _find_row(reader, statements, namespace, name, version)
    missing = _missing(row, version_key, namespace, name, version)
    if missing is not None or row is None:
        raise NotFound(missing or f"no skill {namespace}/{name}")
    return row


async def locate_version(reader: QuickReader, namespace: str, name: str, version: str) -> Located:
    """The version's digest and file hashes (`latest` allowed); NotFound as `resolve` says."""
    row = await _version_row(reader, LOCATE, "version_id", namespace, name, version)
    return Located(
        namespace=row["namespace"],
        name=row["name"],
        version=row["version"],
        version_id=row["version_id"],
        skill_id=row["skill_id"],
        digest=row["digest"],
        files={entry["path"]: entry["sha256"] for entry in row["manifest"]},
    )


async def locate_cached(
    catalog: CatalogContext, reader: QuickReader, namespace: str, name: str, version: str
) -> Located:
    """`locate_version` through the catalog's read cache, under the one key every caller
    (downloads, single files, discovery archives, MCP) shares."""
    return await catalog.reads.get_or_load(
        ("locate", namespace, name, version),
        lambda: locate_version(reader, namespace, name, version),
    )


_DETAIL_SKILL_KEYS = ("namespace", "name", "latest_version_id")
_DETAIL_VERSION_KEYS = tuple(column.key for column in Version.__table__.columns)
_BODY_KEYS = tuple(
    column.key
    for column in RenderedBody.__table__.columns
    if column.key not in ("document", "document_digest", "document_version")
)
# The visibility rule's gate row (skreg_catalog.visibility.Gate), read in the same
# select: a separate gate lookup was a third of this read's database time.
_GATE_COLUMNS = (
    Skill.namespace.label("s_namespace"),
    Skill.visibility.label("g_visibility"),
    Namespace.owner_id.label("g_owner_id"),
    Namespace.org.label("g_org"),
)
_DOCUMENT_COLUMNS = (
    *_GATE_COLUMNS,
    Skill.latest_version_id.label("s_latest_version_id"),
    *_labelled(Version, CHANGING_COLUMNS, "v_"),
    RenderedBody.document.label("r_document"),
    RenderedBody.document_digest.label("r_document_digest"),
    RenderedBody.document_version.label("r_document_version"),
    RenderedBody.renderer_version.label("r_renderer_version"),
)
_DETAIL_COLUMNS = (
    *_GATE_COLUMNS,
    *_labelled(Skill, ("name", "latest_version_id"), "s_"),
    *_labelled(Version, _DETAIL_VERSION_KEYS, "v_"),
    *_labelled(RenderedBody, _BODY_KEYS, "r_"),
)


def _with_body(columns: tuple[Any, ...], *, latest: bool, found: bool = False) -> Select[Any]:
    return (
        with_version(columns, latest=latest, found=found)
        .join(Namespace, Namespace.id == Skill.namespace_id)
        .outerjoin(RenderedBody, RenderedBody.version_id == Version.id)
    )


# The stored page and what changes (for a version that is there, then for any: the
# former leaves out an EXISTS, a fifth of the select measured with the CPU caches as a
# request leaves them); the whole version for one without a current page.
FOUND_DOCUMENT = (
    _with_body(_DOCUMENT_COLUMNS, latest=True, found=True),
    _with_body(_DOCUMENT_COLUMNS, latest=False, found=True),
)
DOCUMENT = (
    _with_body(_DOCUMENT_COLUMNS, latest=True),
    _with_body(_DOCUMENT_COLUMNS, latest=False),
)
VERSION = (_with_body(_DETAIL_COLUMNS, latest=True), _with_body(_DETAIL_COLUMNS, latest=False))


class VersionRead(NamedTuple):
    """A version read: the skill's gate row (None: no skill of that name with a visible
    version), and the page as sent with its ETag, or why there is none."""

    gate: Gate | None
    page: Page | None
    missing: str | None  # the NotFound message when `page` is None


def _current(row: Mapping[str, Any]) -> bool:
    """The row's stored page was made by the current renderer and document version."""
    return (
        row["r_document"] is not None
        and row["r_document_digest"] is not None
        and row["r_renderer_version"] == RENDERER_VERSION
        and row["r_document_version"] == DOCUMENT_VERSION
    )


def _gate(row: Mapping[str, Any]) -> Gate:
    return Gate(row["g_visibility"], row["s_namespace"], row["g_owner_id"], row["g_org"])


def _without_page(
    row: Mapping[str, Any] | None, namespace: str, name: str, version: str
) -> VersionRead | None:
    """The read when `row` holds no version (with the gate when the skill is there);
    None when it holds one."""
    missing = _missing(row, "v_id", namespace, name, version)
    if missing is None:
        return None
    return VersionRead(None if row is None else _gate(row), None, missing)


def _page(row: Mapping[str, Any], document: bytes, digest: str) -> VersionRead:
    """The read of `row`'s version: its page `document` with the row's changing members."""
    changing = changing_members(row, row["s_latest_version_id"], prefix="v_")
    return VersionRead(_gate(row), spliced(document, digest, changing), None)


async def read_version(
    reader: QuickReader, catalog: CatalogContext, namespace: str, name: str, version: str
) -> VersionRead:
    """One version's page with its body and sanitised HTML (`latest` allowed), with the
    gate row the caller's sight must allow before anything of it is shown
    (`check_visible`); `missing` as `resolve` words it when the skill or the version is
    missing.

    The page is the one stored with the HTML at publish (`skills.document`), with what
    changes spliced in. A version without a current one (from before documents, or
    after the renderer or the page changed) is made now, from the whole row, and
    queued for the background pass.
    """
    row = await _find_row(reader, FOUND_DOCUMENT, namespace, name, version)
    if row is None:  # missing, hidden, or withheld: the outer form tells which
        row = await _find_row(reader, DOCUMENT, namespace, name, version)
    early = _without_page(row, namespace, name, version)
    if early is not None:
        return early
    assert row is not None  # answered above
    if _current(row):
        return _page(row, row["r_document"], row["r_document_digest"])
    return await _read_whole(reader, catalog, namespace, name, version)


async def _read_whole(
    reader: QuickReader, catalog: CatalogContext, namespace: str, name: str, version: str
) -> VersionRead:
    """`read_version` for a version without a current stored page: from every column."""
    row = await _find_row(reader, VERSION, namespace, name, version)
    # Deleted or yanked between the two selects: as if read first.
    early = _without_page(row, namespace, name, version)
    if early is not None:
        return early
    assert row is not None  # answered above
    found = cast(Version, SimpleNamespace(**_part(row, _DETAIL_VERSION_KEYS, "v_")))
    stored = None
    if row["r_version_id"] is not None:
        stored = cast(RenderedBody, SimpleNamespace(**_part(row, _BODY_KEYS, "r_")))
    rendered = stored_rendering(stored)
    if rendered is None:
        rendered = await catalog.renderer.markdown(found.digest, found.body)
    catalog.bodies.poke()
    document = stored_document(row["s_namespace"], row["s_name"], found, rendered)
    return _page(row, document, document_digest(document))
