"""Schema versions: what an archive records against what this release's code knows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError

from skreg_common.migrations import MigrationSpec, alembic_config


def version_tables(specs: Sequence[MigrationSpec]) -> dict[str, str]:
    """Each service's version table name."""
    return {spec.service: spec.version_table for spec in specs}


def unknown_to_code(schema: Mapping[str, list[str]], specs: Sequence[MigrationSpec]) -> list[str]:
    """Why this release could not serve a database at `schema` (empty: it can).

    A revision the code does not know comes from a newer release (or another branch):
    the code would run against tables it has never seen.
    """
    by_service = {spec.service: spec for spec in specs}
    problems: list[str] = []
    for service, revisions in sorted(schema.items()):
        spec = by_service.get(service)
        if spec is None:
            if revisions:
                problems.append(f"{service}: this release has no such service")
            continue
        script = ScriptDirectory.from_config(alembic_config(spec))
        for revision in revisions:
            try:
                known = script.get_revision(revision)
            except CommandError:
                known = None
            if known is None:
                problems.append(f"{service}: revision {revision} is unknown to this release")
    return problems


def behind_code(schema: Mapping[str, list[str]], specs: Sequence[MigrationSpec]) -> list[str]:
    """Services whose recorded revisions are not this release's heads (migrate upgrade)."""
    behind: list[str] = []
    for spec in specs:
        heads = set(ScriptDirectory.from_config(alembic_config(spec)).get_heads())
        if set(schema.get(spec.service, [])) != heads:
            behind.append(spec.service)
    return behind


def describe(schema: Mapping[str, list[str]]) -> str:
    """`catalog=abc123, auth=def456` (or `(none)` for an empty database)."""
    parts = [f"{service}={'+'.join(revs) or '-'}" for service, revs in sorted(schema.items())]
    return ", ".join(parts) or "(none)"
