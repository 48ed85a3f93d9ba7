"""The Agent Skills discovery index (schema 0.2.0): one entry per installable skill.

What goes in, and why (read from the `skills` CLI's source, 1.7.x):

- only skills with a resolvable latest version (the stored latest: highest
  non-yanked release, else pre-release; never deleted), one entry each;
- `name` is what the client installs the folder as and matches `--skill` against.
  In a namespace's index it is the skill's name. In the whole-registry index a
  name held in several namespaces becomes `<namespace>-<name>` for every holder
  (no namespace is preferred); a prefixed name that is not a valid skill name
  (over 64 characters) or equals another entry's name is left out there, and
  stays installable from its namespace's index;
- `url` points at the archive of that exact version (immutable), `digest` is the
  sha256 of those archive bytes (see `archive`);
- at most `MAX_INDEX_SKILLS` entries, in name order (then namespace): the client
  reads the whole document and then downloads every archive it lists, so a larger
  registry is better read one namespace at a time.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import msgspec
import structlog
from skreg_common.errors import NotFound
from skreg_proto.bundle import read_bundle
from skreg_proto.problems import FormatError
from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from skreg_catalog.blobs.models import Blob
from skreg_catalog.skills.models import Skill, Version
from skreg_catalog.skills.service import STORED_LIMITS
from skreg_catalog.visibility import Sight, visible_to
from skreg_catalog.wellknown.archive import ArchiveCache

log = structlog.get_logger(__name__)

SCHEMA = "https://schemas.agentskills.io/discovery/0.2.0/schema.json"
MAX_INDEX_SKILLS = 1000
# The client drops entries whose name breaks this (the Agent Skills name rule) silently.
_CLIENT_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_CLIENT_NAME_MAX = 64
_BLOBS_PER_QUERY = 50


class IndexEntry(msgspec.Struct, frozen=True):
    """One skill in the index, as the discovery schema 0.2.0 names its fields."""

    name: str
    type: str
    description: str
    url: str
    digest: str


class DiscoveryIndex(msgspec.Struct, frozen=True, rename={"schema": "$schema"}):
    """The index document."""

    schema: str
    skills: list[IndexEntry]


@dataclass(frozen=True)
class IndexDocument:
    """The encoded index and its entity tag (a hash of exactly these bytes)."""

    body: bytes
    etag: str


def archive_path(namespace: str, name: str, version: str) -> str:
    """Where the archive of one version is served (a path on this origin)."""
    return f"/ns/{namespace}/.well-known/agent-skills/{name}/{version}.zip"


def _valid_client_name(name: str) -> bool:
    return len(name) <= _CLIENT_NAME_MAX and _CLIENT_NAME.fullmatch(name) is not None


_LATEST = (
    select(Skill.namespace, Skill.name, Version.description, Version.version, Version.digest)
    .join(Version, Version.id == Skill.latest_version_id)
    .where(Skill.deleted_at.is_(None))
    .order_by(Skill.name, Skill.namespace)
    .limit(MAX_INDEX_SKILLS + 1)
)


class IndexService:
    """Builds index documents; packs (once per process) the archives they name."""

    def __init__(self, session: AsyncSession, archives: ArchiveCache) -> None:
        self.session = session
        self.archives = archives

    async def build(self, namespace: str | None, sight: Sight) -> IndexDocument:
        """The index of one namespace, or of the whole registry (`namespace` None), of the
        skills `sight` may see."""
        query = _LATEST.where(visible_to(sight.shape))
        if namespace is not None:
            # A namespace holding nothing the caller may see (only private skills, or
            # none left) answers exactly as a missing one: no existence oracle.
            seen = await self.session.scalar(
                select(Skill.id)
                .where(
                    Skill.namespace == namespace,
                    Skill.deleted_at.is_(None),
                    visible_to(sight.shape),
                )
                .limit(1),
                sight.params(),
            )
            if seen is None:
                raise NotFound(f"no namespace {namespace}")
            query = query.where(Skill.namespace == namespace)
        rows = list((await self.session.execute(query, sight.params())).all())
        if len(rows) > MAX_INDEX_SKILLS:
            log.warning("wellknown.index_truncated", namespace=namespace, kept=MAX_INDEX_SKILLS)
        names = _entry_names(rows, scoped=namespace is not None)
        kept = [(row, names[i]) for i, row in enumerate(rows[:MAX_INDEX_SKILLS]) if names[i]]
        digests = await self._archive_digests([row.digest for row, _ in kept])
        entries = [
            IndexEntry(
                name=name,
                type="archive",
                description=row.description.strip(),
                url=archive_path(row.namespace, row.name, row.version),
                digest=digests[row.digest],
            )
            for row, name in kept
            if row.digest in digests
        ]
        body = msgspec.json.encode(DiscoveryIndex(schema=SCHEMA, skills=entries))
        return IndexDocument(body, '"' + hashlib.sha256(body).hexdigest() + '"')

    async def _archive_digests(self, bundle_digests: Sequence[str]) -> dict[str, str]:
        known = {d: self.archives.digest(d) for d in set(bundle_digests)}
        missing = sorted(d for d, archive in known.items() if archive is None)
        for start in range(0, len(missing), _BLOBS_PER_QUERY):
            chunk = missing[start : start + _BLOBS_PER_QUERY]
            blobs = await self.session.execute(
                select(Blob.digest, Blob.data).where(
                    Blob.digest.in_(chunk), Blob.purged_at.is_(None)
                )
            )
            stored = [(digest, bytes(data)) for digest, data in blobs.all()]
            # Parsing and packing are CPU work: off the event loop, one hop per chunk.
            packed = await asyncio.to_thread(self._pack_all, stored)
            known.update(packed)
        return {d: archive for d, archive in known.items() if archive is not None}

    def _pack_all(self, stored: list[tuple[str, bytes]]) -> dict[str, str]:
        packed = {}
        for digest, data in stored:
            try:
                packed[digest] = self.archives.pack(read_bundle(data, STORED_LIMITS)).digest
            except FormatError:  # pragma: no cover - stored bundles were checked at publish
                log.error("wellknown.unreadable_bundle", digest=digest)  # left out of the index
        return packed


def _entry_names(rows: Sequence[Row[str, str, str, str, str]], *, scoped: bool) -> list[str]:
    """Each row's index name ("" = left out), by the collision rule in the module docstring.

    Rows come sorted by name, so the holders of one name are adjacent; the row past
    the limit (if any) still tells whether the last kept name is shared.
    """
    if scoped:
        return [row.name if _valid_client_name(row.name) else "" for row in rows]
    shared = {row.name for i, row in enumerate(rows) if i and rows[i - 1].name == row.name}
    plain = {row.name for row in rows if row.name not in shared}
    candidates = [f"{row.namespace}-{row.name}" if row.name in shared else row.name for row in rows]
    prefixed = Counter(c for row, c in zip(rows, candidates, strict=True) if row.name in shared)
    names: list[str] = []
    for row, name in zip(rows, candidates, strict=True):
        # A prefixed name never takes a plain one, nor is it kept when two namespaces
        # and names combine to the same text (`a-b`/`c` and `a`/`b-c`).
        clash = row.name in shared and (name in plain or prefixed[name] > 1)
        names.append(name if not clash and _valid_client_name(name) else "")
    return names
