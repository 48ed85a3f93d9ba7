"""Catalog models to ClawHub's shapes (models never leave the service)."""

from __future__ import annotations

from skreg_proto.catalog import SkillVersion

from skreg_catalog.clawhub.shapes import SkillInfo, VersionItem, millis
from skreg_catalog.skills.models import Skill, Version


def to_skill_info(skill: Skill, versions: int | None = None) -> SkillInfo:
    """A skill in ClawHub's shape (`tags` are dist-tags: `latest` only)."""
    tags = {"latest": skill.latest_version} if skill.latest_version else {}
    stats = {"downloads": skill.downloads, "stars": 0}
    if versions is not None:
        stats["versions"] = versions
    return SkillInfo(
        slug=skill.name,
        display_name=skill.name,
        summary=skill.description or None,
        description=skill.description or None,
        topics=list(skill.tags),
        tags=tags,
        stats=stats,
        created_at=millis(skill.created_at),
        updated_at=millis(skill.updated_at),
    )


def to_version_item(version: Version | SkillVersion) -> VersionItem:
    """A version in lists; a yanked one says so where ClawHub shows the changelog."""
    note = f"yanked: {version.yank_reason}" if version.yanked else ""
    return VersionItem(
        version=version.version, created_at=millis(version.published_at), changelog=note
    )
