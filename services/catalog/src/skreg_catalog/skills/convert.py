"""Models to the public Structs (models never leave the service)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import msgspec
from skreg_proto.catalog import SearchHit, SkillDetail, SkillSummary, SkillVersion, VersionDetail
from skreg_proto.digest import FileEntry
from skreg_proto.internal import Provenance
from skreg_proto.problems import FieldProblem

from skreg_catalog.rendering import Rendered
from skreg_catalog.rendering.notice import partial_notice
from skreg_catalog.review.convert import to_scan
from skreg_catalog.skills.models import Namespace, Skill, Version


def to_provenance(raw: dict[str, Any] | None) -> Provenance | None:
    """The stored provenance mapping as a Struct."""
    return None if raw is None else msgspec.convert(raw, Provenance)


def version_fields(skill: Skill, version: Version) -> dict[str, Any]:
    """The fields every version shape shares."""
    return {
        "namespace": skill.namespace,
        "name": skill.name,
        "version": version.version,
        "digest": version.digest,
        "yanked": version.yanked,
        "yank_reason": version.yank_reason,
        "files": msgspec.convert(version.manifest, list[FileEntry]),
        "frontmatter": version.frontmatter,
        "provenance": to_provenance(version.provenance),
        "published_at": version.published_at,
        "description": version.description,
        "license": version.license,
        "compatibility": version.compatibility,
        "tags": list(version.tags),
        "prerelease": version.prerelease,
        "size": version.size,
        "compressed_size": version.compressed_size,
        "downloads": version.downloads,
        "publisher": version.publisher_name,
        "yanked_at": version.yanked_at,
        "warnings": msgspec.convert(version.warnings, list[FieldProblem]),
        "signature_keyid": version.signature_keyid,
        "scan": to_scan(version.scan, version.review_state, version.review),
        "withheld": bool(version.withheld),
    }


def to_version(skill: Skill, version: Version) -> SkillVersion:
    """A version as lists and skill details show it."""
    return SkillVersion(**version_fields(skill, version))


def to_version_detail(skill: Skill, version: Version, rendered: Rendered) -> VersionDetail:
    """A version with its body, raw and as sanitised HTML (`rendered`, from the render pool)."""
    partial = rendered.truncated or rendered.plain
    notice = ""
    if partial:
        raw = "/".join(
            quote(part, safe="")
            for part in ("api", "v1", "skills", skill.namespace, skill.name, "versions")
        )
        notice = partial_notice(
            rendered, "SKILL.md", f"/{raw}/{quote(version.version, safe='')}/files/SKILL.md"
        )
    return VersionDetail(
        **version_fields(skill, version),
        body=version.body,
        body_html=notice + rendered.html,
        is_latest=skill.latest_version_id == version.id,
        body_html_partial=partial,
    )


SUMMARY_FIELDS = tuple(SkillSummary.__struct_fields__)
"""What lists show of a skill: columns of `catalog_skills` by the same names."""


def summary_fields(skill: Skill) -> dict[str, Any]:
    """The `SkillSummary` fields of a skill (shared by lists and the detail page)."""
    fields = {name: getattr(skill, name) for name in SUMMARY_FIELDS}
    fields["tags"] = list(fields["tags"])
    return fields


def to_summary(skill: Skill) -> SkillSummary:
    """A skill as lists show it."""
    return SkillSummary(**summary_fields(skill))


def search_hit(row: Mapping[str, Any], matched: list[str]) -> SearchHit:
    """A search result from a row holding the `SUMMARY_FIELDS` columns (and maybe more).

    Spelled out rather than built from `SUMMARY_FIELDS`: the keyword dict cost 0.7 us a
    hit, twenty a page (tests/catalog/test_search.py checks every field is here).
    """
    return SearchHit(
        namespace=row["namespace"],
        name=row["name"],
        description=row["description"],
        latest_version=row["latest_version"],
        tags=row["tags"],
        downloads=row["downloads"],
        updated_at=row["updated_at"],
        deprecated=row["deprecated"],
        matched=matched,
    )


def to_detail(
    skill: Skill, namespace: Namespace, latest: Version | None, versions_count: int
) -> SkillDetail:
    """A skill with its latest version, owners and provenance."""
    # Usernames only: a namespace created by an import knows its owner's internal id,
    # which means nothing to readers (and is not theirs to see).
    owner = namespace.owner_name
    return SkillDetail(
        **summary_fields(skill),
        created_at=skill.created_at,
        owners=[owner] if owner else [],
        license=latest.license if latest else None,
        compatibility=latest.compatibility if latest else None,
        provenance=to_provenance(latest.provenance) if latest else None,
        deprecated_reason=skill.deprecated_reason,
        versions_count=versions_count,
        latest=to_version(skill, latest) if latest else None,
        visibility=skill.visibility,  # type: ignore[arg-type]
        org=namespace.org,
    )
