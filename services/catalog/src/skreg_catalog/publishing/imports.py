"""The importer's side door: service publish (lenient, with provenance) and deprecation."""

from __future__ import annotations

import re

import msgspec
import structlog
from skreg_common.db import utcnow
from skreg_common.principal import Principal
from skreg_proto.internal import (
    DeprecateRequest,
    DeprecateResult,
    Provenance,
    ServicePublishRequest,
    ServicePublishResult,
)
from skreg_proto.problems import FieldProblem
from skreg_proto.semver import parse_version
from sqlalchemy import select, update

from skreg_catalog.publishing.service import Origin, PublishService
from skreg_catalog.publishing.validate import CheckedSkill
from skreg_catalog.skills.models import Skill, Version

log = structlog.get_logger(__name__)

GENERATED_PREFIX = "0.0.0-git."
_SHA_CHARS = re.compile(r"[^0-9a-z]")


class ImportPublisher(PublishService):
    """Publishes what the importer found; outcomes are results, not HTTP errors."""

    async def publish_imported(
        self, request: ServicePublishRequest, checked: CheckedSkill, principal: Principal
    ) -> ServicePublishResult:
        """`created`, `updated`, `unchanged` (same digest as latest) or `conflict`."""
        name = checked.document.name
        namespace = await self._find_namespace(request.namespace)
        if namespace is None:
            namespace = await self._ensure_namespace(request.namespace, request.owner, None)
        skill, new_skill = await self._skill(namespace, name)
        result = ServicePublishResult(
            outcome="unchanged", namespace=namespace.name, name=name, digest=checked.bundle.digest
        )
        if skill.deleted_at is not None:
            return _conflict(
                result, "the skill was deleted in the catalog; imports do not revive it"
            )
        self._mark_present(skill, request.provenance)
        latest = None
        if skill.latest_version_id is not None:
            latest = await self.session.get(Version, skill.latest_version_id)
        if latest is not None and latest.digest == checked.bundle.digest:
            result.version = latest.version
            return result
        text = str(checked.version) if checked.version else await self._generated(skill, request)
        origin = Origin(
            publisher_id=principal.id,
            publisher_name=principal.username or "importer",
            provenance=_stamped(request.provenance),
            warnings=_merge(request.warnings, checked.document.warnings),
        )
        written = await self._write(skill, new_skill, checked, text, origin)
        result.version = written.version.version
        if written.version.digest != checked.bundle.digest:
            return _conflict(
                result, f"version {text} exists with other content ({written.version.digest})"
            )
        if written.created:
            result.outcome = "created" if new_skill else "updated"
        return result

    def _mark_present(self, skill: Skill, provenance: Provenance) -> None:
        # Seen upstream again: no longer deprecated, and tied to the source importing it.
        skill.deprecated = False
        skill.deprecated_reason = None
        if provenance.source_id is not None:
            skill.source_id = provenance.source_id

    async def _generated(self, skill: Skill, request: ServicePublishRequest) -> str:
        """`0.0.0-git.<UTC yyyymmddhhmmss>.g<short sha>`, always after the previous import."""
        stamp = int(utcnow().strftime("%Y%m%d%H%M%S"))
        rows = await self.session.execute(
            select(Version.version).where(
                Version.skill_id == skill.id, Version.version.startswith(GENERATED_PREFIX)
            )
        )
        for (text,) in rows:
            parts = parse_version(text).prerelease
            if len(parts) >= 2 and parts[1].isdigit():
                stamp = max(stamp, int(parts[1]) + 1)
        sha = _SHA_CHARS.sub("", (request.provenance.commit or "").lower())[:7]
        return f"{GENERATED_PREFIX}{stamp}.g{sha or 'unknown'}"

    async def deprecate(self, request: DeprecateRequest) -> DeprecateResult:
        """Mark the source's skills in the namespace that are not in `keep` as deprecated."""
        keep = set(request.keep)
        rows = (
            await self.session.execute(
                select(Skill).where(
                    Skill.namespace == request.namespace,
                    Skill.source_id == request.source_id,
                    Skill.deprecated.is_(False),
                    Skill.deleted_at.is_(None),
                )
            )
        ).scalars()
        names = sorted(skill.name for skill in rows if skill.name not in keep)
        if names:
            await self.session.execute(
                update(Skill)
                .where(
                    Skill.namespace == request.namespace,
                    Skill.source_id == request.source_id,
                    Skill.name.in_(names),
                )
                .values(deprecated=True, deprecated_reason=request.reason[:500])
            )
            log.info(
                "skills.deprecated",
                namespace=request.namespace,
                source_id=request.source_id,
                names=names,
            )
        return DeprecateResult(deprecated=names)


def _conflict(result: ServicePublishResult, message: str) -> ServicePublishResult:
    result.outcome = "conflict"
    result.problems = [FieldProblem("version", message)]
    return result


def _stamped(provenance: Provenance) -> Provenance:
    if provenance.imported_at is not None:
        return provenance
    return msgspec.structs.replace(provenance, imported_at=utcnow().isoformat())


def _merge(*groups: list[FieldProblem]) -> tuple[FieldProblem, ...]:
    return tuple(dict.fromkeys(problem for group in groups for problem in group))
