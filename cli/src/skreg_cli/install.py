"""install, update and remove: resolve exactly, download, verify, unpack atomically, keep the lock.

Every command plans first (resolution, digests, what happens at each copy) and
refuses before writing anything when a copy has local changes. Bundles are
all downloaded and verified (digest, bundle rules, and the registry's signature:
`skreg_cli.signatures`) before the first copy is touched, so a digest mismatch, a
bad signature or an unsafe bundle leaves the disk and the lockfile as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import msgspec
from skreg_proto.bundle import Bundle, BundleLimits, read_bundle
from skreg_proto.problems import FormatError

from skreg_cli import agents as agent_table
from skreg_cli import localcopy, lockfile, registry
from skreg_cli.agents import Agent
from skreg_cli.client import ApiClient
from skreg_cli.context import AppContext
from skreg_cli.errors import CliError, ExitCode
from skreg_cli.lockfile import LOCK_NAME, LockedSkill, Lockfile, Scope
from skreg_cli.origins import IndexPlanner
from skreg_cli.plan import (
    WRITES,
    Action,
    Plan,
    copies_for,
    decide_removals,
    decide_writes,
    refuse_if_modified,
    refuse_name_clashes,
)
from skreg_cli.refs import LATEST, SkillRef, parse_ref
from skreg_cli.signatures import SignatureChecker
from skreg_cli.trust import check_before_install
from skreg_cli.views import VersionView

LIMITS = BundleLimits()


class Installer:
    """Carries out install / update / remove for one scope (a project, or --global)."""

    def __init__(
        self,
        app: AppContext,
        scope: Scope,
        *,
        force: bool = False,
        dry_run: bool = False,
        frozen: bool = False,
        allow_suspicious: bool = False,
        confirm: Callable[[str], bool] | None = None,
    ) -> None:
        self.app = app
        self.out = app.output
        self.scope = scope
        self.force = force
        self.dry_run = dry_run
        self.frozen = frozen
        self.allow_suspicious = allow_suspicious
        self.confirm = confirm
        self.lock = lockfile.read(scope.lock_path)
        self.index = IndexPlanner(self.out, scope, force=force)  # skills from other origins
        self.signatures = SignatureChecker(app.config_dir, self.out)

    # -- install by name -------------------------------------------------------------

    def install(
        self,
        refs: Sequence[SkillRef],
        agent_names: Sequence[str],
        choose: Callable[[Scope], list[Agent]] | None = None,
    ) -> list[Plan]:
        """Install each ref (exact name; the version the registry resolves) for the agents.

        Without `--agent`, a skill already in the lockfile keeps its agents and a new
        one goes to what `choose` picks (asked once, after every name resolved).
        """
        lock = self.lock or Lockfile()
        client = self.app.client()
        resolved = [(ref, registry.resolve(client, ref)) for ref in refs]
        needs_choice = bool(agent_names) or any(ref.full_name not in lock.skills for ref in refs)
        chosen = self._agents(agent_names, choose) if needs_choice else []
        plans = [self._plan_install(lock, ref, meta, chosen, agent_names) for ref, meta in resolved]
        return self._install_planned(lock, plans)

    def install_from_index(
        self,
        url: str,
        names: Sequence[str],
        agent_names: Sequence[str],
        choose: Callable[[Scope], list[Agent]] | None = None,
    ) -> list[Plan]:
        """Install skills listed by another origin's discovery index (`--skill` names them)."""
        lock = self.lock or Lockfile()

        def agents_for(keys: list[str]) -> dict[str, list[str]]:
            needs_choice = bool(agent_names) or any(key not in lock.skills for key in keys)
            chosen = self._agents(agent_names, choose) if needs_choice else []
            return {key: _agents_of(lock.skills.get(key), chosen, agent_names) for key in keys}

        plans = self.index.plan_install(url, names, lock, agents_for)
        return self._install_planned(lock, plans)

    def _install_planned(self, lock: Lockfile, plans: list[Plan]) -> list[Plan]:
        for plan in plans:
            refuse_name_clashes(lock, self.scope, plan)
        refuse_if_modified(plans, "overwrite")
        if self.frozen:
            self._refuse_lock_change(plans)
        return self._execute(lock, plans)

    def _agents(
        self, agent_names: Sequence[str], choose: Callable[[Scope], list[Agent]] | None
    ) -> list[str]:
        auto = (lambda: choose(self.scope)) if choose else None
        picked = agent_table.select(
            agent_names, self.scope.root, global_=self.scope.global_, auto=auto
        )
        return [agent.id for agent in picked]

    def _plan_install(
        self,
        lock: Lockfile,
        ref: SkillRef,
        meta: VersionView,
        chosen: list[str],
        agent_names: Sequence[str],
    ) -> Plan:
        client = self.app.client()
        previous = lock.skills.get(ref.full_name)
        _check_digest(ref.full_name, meta)
        if previous and previous.version == meta.version and previous.digest != meta.digest:
            raise _mismatch(
                ref.full_name, meta.version, previous.digest, meta.digest, "the registry"
            )
        agents = _agents_of(previous, chosen, agent_names)
        entry = LockedSkill(
            version=meta.version,
            digest=meta.digest,
            source=registry.download_url(client, ref.namespace, ref.name, meta.version),
            registry=client.base_url,
            requested=ref.spec or LATEST,
            agents=sorted(set(agents)),
        )
        if previous and (previous.version, previous.digest) == (meta.version, meta.digest):
            entry.keyid = previous.keyid  # checked again when the bundle is fetched
        return self._plan_change(ref.full_name, entry, previous, meta)

    def _plan_change(
        self, key: str, entry: LockedSkill, previous: LockedSkill | None, meta: VersionView
    ) -> Plan:
        # Install and update alike: the registry's scan decides before anything is written.
        check_before_install(
            self.out,
            key,
            meta.version,
            meta.scan,
            meta.withheld,
            allow_suspicious=self.allow_suspicious,
            confirm=self.confirm,
        )
        copies = copies_for(self.scope, key.split("/", 1)[1], entry.agents)
        old = previous.digest if previous else None
        decide_writes(copies, old=old, new=entry.digest, force=self.force)
        plan = Plan(key, entry, copies, previous, yanked=meta.yanked)
        if meta.yanked:
            reason = f": {meta.yank_reason}" if meta.yank_reason else ""
            plan.notes.append(f"{key}@{meta.version} is yanked{reason}")
        return plan

    def _refuse_lock_change(self, plans: Sequence[Plan]) -> None:
        current = self.lock.skills if self.lock else {}
        changed = [plan for plan in plans if current.get(plan.key) != plan.entry]
        if self.lock is None or changed:
            what = ", ".join(f"{p.key} -> {p.entry.version}" for p in changed) or "no lockfile"
            raise CliError(
                f"--frozen: {LOCK_NAME} would change ({what})",
                hint=f"run without --frozen and commit {LOCK_NAME}",
                code=ExitCode.CONFLICT,
            )

    # -- install from the lockfile ---------------------------------------------------

    def install_locked(self) -> list[Plan]:
        """Install exactly what the lockfile says; any digest difference is fatal."""
        lock = self._require_lock()
        plans: list[Plan] = []
        for key, entry in sorted(lock.skills.items()):
            name = key.split("/", 1)[1]
            copies = copies_for(self.scope, name, entry.agents)
            decide_writes(copies, old=entry.digest, new=entry.digest, force=self.force)
            plan = Plan(key, entry, copies, previous=entry)
            # --frozen asks the registry about every skill, even where the copies are
            # intact: a version yanked, held or re-signed since locking fails the run.
            if (plan.writes or self.frozen) and not entry.index:
                client = self.app.client(entry.registry)
                meta = self._locked_version(client, key, entry)
                if meta.digest != entry.digest:
                    raise _mismatch(key, entry.version, entry.digest, meta.digest, "the registry")
                plan.yanked = meta.yanked
                if meta.yanked and self.frozen:
                    raise CliError(
                        f"--frozen: {key}@{entry.version} was yanked since it was locked"
                        f" ({meta.yank_reason or 'no reason given'})",
                        hint="move to another version with `skreg update`, then commit "
                        f"{LOCK_NAME}",
                        code=ExitCode.CONFLICT,
                    )
                if meta.yanked:  # still installed: the lock pins it, but say so
                    plan.notes.append(f"{key}@{entry.version} is yanked: {meta.yank_reason or '-'}")
                if self.frozen and not plan.writes:
                    self._check_signature(plan, client, entry.digest)
            plans.append(plan)
        refuse_if_modified(plans, "overwrite")
        return self._execute(lock, plans)

    def _locked_version(self, client: ApiClient, key: str, entry: LockedSkill) -> VersionView:
        namespace, name = key.split("/", 1)
        try:
            return registry.get_version(client, namespace, name, entry.version)
        except CliError as exc:
            if not (self.frozen and exc.code in (ExitCode.NOT_FOUND, ExitCode.FORBIDDEN)):
                raise
            raise CliError(
                f"--frozen: {key}@{entry.version} is no longer available from the registry "
                "(held for review, deleted or hidden since it was locked)",
                hint="ask the registry's admins, or move to another version with `skreg update`",
                code=ExitCode.CONFLICT,
            ) from exc

    # -- update ----------------------------------------------------------------------

    def update(self, names: Sequence[str]) -> list[Plan]:
        """Move skills to the newest non-yanked version in their range (or a new `@RANGE`)."""
        lock = self._require_lock()
        targets: list[tuple[str, str | None]] = []
        for text in names:
            base, at, spec = text.partition("@")
            key = lockfile.find(lock, base)
            targets.append((key, parse_ref(f"{key}@{spec}").spec if at else None))
        plans = [self._plan_update(lock, key, spec) for key, spec in targets or _all(lock)]
        refuse_if_modified(plans, "overwrite")
        return self._execute(lock, plans)

    def _plan_update(self, lock: Lockfile, key: str, spec: str | None) -> Plan:
        entry = lock.skills[key]
        if isinstance(entry.index, str):
            if spec:
                raise CliError(
                    f"{key} comes from a discovery index, which has no versions to pick from",
                    hint=f"`skreg update {key}` installs what the index names now",
                    code=ExitCode.USAGE,
                )
            return self.index.plan_update(key, entry, entry.index)
        namespace, name = key.split("/", 1)
        ref = SkillRef(namespace, name, spec or entry.requested)
        client = self.app.client(entry.registry)
        meta = registry.resolve(client, ref)
        requested = ref.spec or LATEST
        if meta.version == entry.version:
            # Nothing to fetch; only the recorded range may change.
            copies = copies_for(self.scope, name, entry.agents)
            updated = msgspec.structs.replace(entry, requested=requested)
            return Plan(key, updated, copies, previous=entry, yanked=meta.yanked)
        _check_digest(key, meta)
        updated = msgspec.structs.replace(
            entry,
            version=meta.version,
            digest=meta.digest,
            source=registry.download_url(client, namespace, name, meta.version),
            requested=requested,
            keyid=msgspec.UNSET,  # set when the new version's signature verifies
        )
        return self._plan_change(key, updated, entry, meta)

    # -- remove ----------------------------------------------------------------------

    def remove(self, names: Sequence[str]) -> list[Plan]:
        """Delete the copies of each skill and drop it from the lockfile."""
        lock = self._require_lock()
        plans = []
        for text in names:
            key = lockfile.find(lock, text)
            entry = lock.skills[key]
            copies = copies_for(self.scope, key.split("/", 1)[1], entry.agents)
            decide_removals(copies, old=entry.digest, force=self.force)
            plans.append(Plan(key, entry, copies, previous=entry))
        refuse_if_modified(plans, "remove")
        if self.dry_run:
            return plans
        for plan in plans:
            for copy in plan.copies:
                if copy.action is Action.REMOVE:
                    localcopy.remove(copy.path)
            lock.skills.pop(plan.key, None)
        lockfile.write(self.scope.lock_path, lock)
        return plans

    # -- shared steps ----------------------------------------------------------------

    def _require_lock(self) -> Lockfile:
        if self.lock is None:
            raise CliError(
                f"no {LOCK_NAME} in {self.scope.root}",
                hint="install a skill by name first: `skreg install NAMESPACE/NAME`",
                code=ExitCode.CONFLICT if self.frozen else ExitCode.FAILED,
            )
        return self.lock

    def _execute(self, lock: Lockfile, plans: list[Plan]) -> list[Plan]:
        if self.dry_run:
            return plans
        bundles = {plan.key: self._fetch(plan) for plan in plans if plan.writes}
        before = lockfile.dumps(lock) if self.lock is not None else None
        for plan in plans:
            for copy in plan.copies:
                if copy.action in WRITES:
                    localcopy.replace_with(bundles[plan.key], copy.path)
            lock.skills[plan.key] = plan.entry
        if not self.frozen and lockfile.dumps(lock) != before:
            lockfile.write(self.scope.lock_path, lock)
        return plans

    def _fetch(self, plan: Plan) -> Bundle:
        """Download, check every bundle rule, and compare digests; nothing is written here."""
        entry = plan.entry
        label = f"{plan.key}@{entry.version}"
        if isinstance(entry.index, str):
            bundle = self.index.bundle(plan.key, entry)
            if bundle.digest != entry.digest:
                raise _mismatch(plan.key, entry.version, entry.digest, bundle.digest, "the archive")
            return bundle
        client = self.app.client(entry.registry)
        with self.out.progress(label) as bar:
            data = client.download(entry.source, limit=LIMITS.max_compressed_bytes, progress=bar)
        try:
            bundle = read_bundle(data, LIMITS)
        except FormatError as exc:
            raise CliError(
                f"{label}: the downloaded bundle is unsafe or invalid; nothing was installed",
                hint="the registry serves a bundle that breaks the bundle rules; tell its admins",
                code=ExitCode.INTEGRITY,
                details=[f"{p.path or '(bundle)'}: {p.message}" for p in exc.problems],
            ) from exc
        if bundle.digest != entry.digest:
            raise _mismatch(plan.key, entry.version, entry.digest, bundle.digest, "the download")
        self._check_signature(plan, client, bundle.digest)
        return bundle

    def _check_signature(self, plan: Plan, client: ApiClient, digest: str) -> None:
        """The registry's signature over `digest` verifies; the lock entry records its key.

        A lock that recorded a key holds the registry to it: no signature now is a
        failure, and another key is a failure under --frozen (a warning otherwise:
        versions are signed once, so it means the registry's signatures were redone).
        """
        entry = plan.entry
        namespace, name = plan.key.split("/", 1)
        signed = self.signatures.check(client, namespace, name, entry.version, digest)
        label = f"{plan.key}@{entry.version}"
        locked = entry.keyid if isinstance(entry.keyid, str) else None
        if signed is None:
            if locked is not None:
                raise CliError(
                    f"{label} was locked as signed by key {locked}; the registry now serves "
                    "no signature",
                    hint="a stripped signature looks like this; nothing was installed",
                    code=ExitCode.INTEGRITY,
                )
            return
        if locked is not None and signed.keyid != locked:
            message = f"{label} is now signed by key {signed.keyid}, not {locked} as locked"
            if self.frozen:
                raise CliError(
                    f"--frozen: {message}",
                    hint="if the registry's admins re-signed their versions, run without "
                    f"--frozen and commit {LOCK_NAME}",
                    code=ExitCode.INTEGRITY,
                )
            plan.notes.append(message)
        plan.entry = msgspec.structs.replace(entry, keyid=signed.keyid)


def _agents_of(
    previous: LockedSkill | None, chosen: list[str], agent_names: Sequence[str]
) -> list[str]:
    """Without --agent a locked skill keeps its agents; with --agent they are added to."""
    if previous is None:
        return chosen
    return previous.agents + (chosen if agent_names else [])


def _all(lock: Lockfile) -> list[tuple[str, str | None]]:
    return [(key, None) for key in sorted(lock.skills)]


def _check_digest(key: str, meta: VersionView) -> None:
    if not lockfile.DIGEST.fullmatch(meta.digest):
        raise CliError(
            f"{key}@{meta.version}: the registry gave no usable digest ({meta.digest!r})",
            hint="without a digest the download cannot be verified; nothing was installed",
            code=ExitCode.INTEGRITY,
        )


def _mismatch(key: str, version: str, expected: str, actual: str, where: str) -> CliError:
    return CliError(
        f"digest mismatch for {key}@{version}: expected {expected}, {where} has {actual}",
        hint="the bundle changed after it was locked or published; nothing was installed",
        code=ExitCode.INTEGRITY,
    )
