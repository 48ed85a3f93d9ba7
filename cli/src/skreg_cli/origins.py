"""Plans for skills from other origins' discovery indexes (`skreg install https://…`).

The installer keeps the shared steps (agent choice, refusals, writing, the lock);
this decides each skill's lock entry and copies, and downloads what it installs
while planning, so a digest mismatch stops everything before the first write.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from skreg_proto.bundle import Bundle

from skreg_cli import lockfile, wellknown
from skreg_cli.client import ApiClient
from skreg_cli.lockfile import LockedSkill, Lockfile, Scope
from skreg_cli.output import Output
from skreg_cli.plan import Plan, copies_for, decide_writes


def origin_client(url: str, out: Output) -> ApiClient:
    """A client for the origin of `url`; it never sends a credential (not our registry)."""
    log = out.debug if out.verbose else None
    hint = "check the URL you gave and your network"
    return ApiClient(wellknown.origin_of(url), None, log=log, unreachable_hint=hint)


class IndexPlanner:
    """Plans installs and updates of index skills; keeps the bundles it verified."""

    def __init__(self, out: Output, scope: Scope, *, force: bool) -> None:
        self.out = out
        self.scope = scope
        self.force = force
        self.fetched: dict[str, Bundle] = {}

    def plan_install(
        self,
        url: str,
        names: Sequence[str],
        lock: Lockfile,
        agents_for: Callable[[list[str]], dict[str, list[str]]],
    ) -> list[Plan]:
        """Plans for the skills `names` picks from the index `url` leads to (all downloaded).

        `agents_for` gets every lock key first, so agents are chosen once, for all.
        """
        with origin_client(url, self.out) as client:
            found = wellknown.discover(client, url, self.out)
            entries = wellknown.pick(found, list(names))
            namespace = wellknown.lock_namespace(found.url)
            keyed = [(f"{namespace}/{entry.name}", entry) for entry in entries]
            agents = agents_for([key for key, _ in keyed])
            return [
                self.plan(client, key, found.url, entry, lock.skills.get(key), agents[key])
                for key, entry in keyed
            ]

    def plan(
        self,
        client: ApiClient,
        key: str,
        index_url: str,
        entry: wellknown.IndexEntry,
        previous: LockedSkill | None,
        agents: list[str],
    ) -> Plan:
        """The lock entry and copies for `entry`, downloaded unless already locked as is."""
        locked = LockedSkill(
            version=lockfile.origin_version(entry.digest),
            digest=previous.digest if previous else "",
            source=entry.url,
            registry=wellknown.origin_of(index_url),
            agents=sorted(set(agents)),
            index=index_url,
            archive_digest=entry.digest,
        )
        if previous is None or previous.archive_digest != entry.digest:
            bundle = wellknown.fetch(client, key, entry.url, entry.digest, self.out)
            self.fetched[key] = bundle
            locked.digest = bundle.digest
        copies = copies_for(self.scope, key.split("/", 1)[1], locked.agents)
        old = previous.digest if previous else None
        decide_writes(copies, old=old, new=locked.digest, force=self.force)
        return Plan(key, locked, copies, previous)

    def plan_update(self, key: str, entry: LockedSkill, index_url: str) -> Plan:
        """Read the index the skill came from again; a new archive digest is an update."""
        with origin_client(index_url, self.out) as client:
            found = wellknown.discover(client, index_url, self.out)
            (listed,) = wellknown.pick(found, [key.split("/", 1)[1]])
            return self.plan(client, key, index_url, listed, entry, entry.agents)

    def bundle(self, key: str, entry: LockedSkill) -> Bundle:
        """The verified bundle of a planned index skill (downloaded now if planning did not)."""
        found = self.fetched.get(key)
        if found is not None:
            return found
        label = f"{key}@{entry.version}"
        with origin_client(entry.source, self.out) as client:
            return wellknown.fetch(client, label, entry.source, str(entry.archive_digest), self.out)
