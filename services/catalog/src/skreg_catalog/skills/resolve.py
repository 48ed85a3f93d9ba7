"""Resolving `latest` and ranges to one version: the one place clients get it done.

SKILL_FORMAT.md (Versions): the server is the only place that resolves `latest`
and ranges; the CLI and the web UI ask it (`GET …/resolve?spec=`), so they never
disagree about precedence, pre-releases or yanked versions.
"""

from __future__ import annotations

from skreg_common.errors import BadRequest, NotFound
from skreg_proto.catalog import SkillVersion
from skreg_proto.problems import FieldProblem
from skreg_proto.semver import Range, best_match, parse_range, parse_version
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.skills.convert import to_version
from skreg_catalog.skills.models import PUBLIC_VERSION, Skill, Version
from skreg_catalog.skills.service import VISIBLE_SKILL, with_version

# Real ranges have a bound or two; each comparator costs a pass over every version.
MAX_RANGE_COMPARATORS = 16
_LATEST = with_version((Skill, Version), latest=True)
_SKILL = select(Skill).where(VISIBLE_SKILL)


async def resolve_spec(session: AsyncSession, namespace: str, name: str, spec: str) -> SkillVersion:
    """The version a client installs for `spec` (`latest`, `*`, an exact version or a range).

    `latest` and `*` are the skill's stored latest (highest non-yanked release, else
    its highest non-yanked pre-release), so a skill with only pre-releases, such as
    the `0.0.0-git.…` versions older imports generated, installs by name. Any other
    range picks its highest non-yanked version (npm's pre-release rule, as
    `skreg_proto.semver.best_match`); an exact pin may name a yanked version.
    """
    try:
        wanted = parse_range(spec)
        if len(wanted.comparators) > MAX_RANGE_COMPARATORS:
            raise ValueError(f"more than {MAX_RANGE_COMPARATORS} bounds")
    except ValueError as exc:
        raise BadRequest(
            f"invalid version or range {spec!r}", errors=[FieldProblem("spec", str(exc))]
        ) from exc
    nothing = NotFound(f"no version of {namespace}/{name} matches {spec}")
    params = {"namespace": namespace, "name": name}
    if not wanted.comparators:
        row = (await session.execute(_LATEST, params)).first()
        skill, found = (row[0], row[1]) if row is not None else (None, None)
    else:
        skill = (await session.execute(_SKILL, params)).scalar_one_or_none()
        found = None if skill is None else await _best_in_range(session, skill, wanted)
    if skill is None:
        raise NotFound(f"no skill {namespace}/{name}")
    if found is None:  # nothing matches, or (for latest) every version is yanked
        raise nothing
    return to_version(skill, found)


async def _best_in_range(session: AsyncSession, skill: Skill, wanted: Range) -> Version | None:
    rows = (
        await session.execute(
            select(Version.id, Version.version, Version.yanked).where(
                Version.skill_id == skill.id, Version.deleted_at.is_(None), PUBLIC_VERSION
            )
        )
    ).all()
    parsed = [(row, parse_version(row.version)) for row in rows]
    best = best_match(wanted, [(version, row.yanked) for row, version in parsed])
    if best is None:
        return None
    # Versions differing only in build metadata tie: prefer a non-yanked one, then the text.
    tied = [row for row, version in parsed if version == best]
    chosen = max(tied, key=lambda row: (not row.yanked, row.version))
    return await session.get(Version, chosen.id)
