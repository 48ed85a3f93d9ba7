"""What an install, update or removal will do to each copy, decided before anything is written."""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from skreg_cli import agents as agent_table
from skreg_cli.errors import CliError, ExitCode
from skreg_cli.localcopy import digest_of
from skreg_cli.lockfile import LockedSkill, Lockfile, Scope


class Action(enum.Enum):
    """What happens at one install location."""

    CREATE = "create"  # nothing there yet
    REPLACE = "replace"  # our unmodified copy of another version
    KEEP = "keep"  # already exactly the wanted files
    OVERWRITE = "overwrite"  # locally modified, replaced because of --force
    REFUSE = "refuse"  # locally modified (or not ours): left alone, the command fails
    REMOVE = "remove"  # removal of our unmodified copy
    ABSENT = "absent"  # removal, nothing there


WRITES = (Action.CREATE, Action.REPLACE, Action.OVERWRITE)


@dataclass
class Copy:
    """One install location of a skill and what will happen there."""

    path: Path
    shown: str
    agents: list[str]
    action: Action = Action.KEEP

    def as_json(self) -> dict[str, object]:
        """For --json output."""
        return {"path": self.shown, "agents": sorted(self.agents), "action": self.action.value}


@dataclass
class Plan:
    """One skill's change: the lock entry it leads to and the action at each copy."""

    key: str
    entry: LockedSkill
    copies: list[Copy]
    previous: LockedSkill | None = None
    yanked: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The bare skill name (its directory name)."""
        return self.key.split("/", 1)[1]

    @property
    def writes(self) -> bool:
        """True when at least one copy gets new files."""
        return any(copy.action in WRITES for copy in self.copies)

    def as_json(self) -> dict[str, object]:
        """For --json output."""
        return {
            "name": self.key,
            "version": self.entry.version,
            "digest": self.entry.digest,
            "previous_version": self.previous.version if self.previous else None,
            "yanked": self.yanked,
            "copies": [copy.as_json() for copy in self.copies],
        }


def copies_for(scope: Scope, name: str, agent_ids: Iterable[str]) -> list[Copy]:
    """One copy per distinct skills directory of the agents (also when linked together)."""
    chosen = [agent_table.BY_ID[agent_id] for agent_id in agent_ids]
    by_place: dict[Path, Copy] = {}
    for relative, ids in agent_table.target_dirs(chosen, global_=scope.global_).items():
        skills_dir = scope.skills_dir(relative)
        # `.claude/skills` may be a link to `.agents/skills`: one place, one copy.
        place = skills_dir.resolve()
        if place in by_place:
            by_place[place].agents.extend(ids)
            continue
        target = skills_dir / name
        by_place[place] = Copy(target, scope.show(target), list(ids))
    return list(by_place.values())


def decide_writes(copies: list[Copy], *, old: str | None, new: str, force: bool) -> None:
    """Set each copy's action for installing digest `new` over our recorded digest `old`."""
    for copy in copies:
        if not os.path.lexists(copy.path):
            copy.action = Action.CREATE
            continue
        actual = digest_of(copy.path)
        if actual == new:
            copy.action = Action.KEEP
        elif actual is not None and actual == old:
            copy.action = Action.REPLACE
        else:
            copy.action = Action.OVERWRITE if force else Action.REFUSE


def decide_removals(copies: list[Copy], *, old: str, force: bool) -> None:
    """Set each copy's action for removing a skill recorded with digest `old`."""
    for copy in copies:
        if not os.path.lexists(copy.path):
            copy.action = Action.ABSENT
        elif digest_of(copy.path) == old or force:
            copy.action = Action.REMOVE
        else:
            copy.action = Action.REFUSE


def refuse_if_modified(plans: Iterable[Plan], verb: str) -> None:
    """Fail before touching anything when some copy is locally modified and --force is off."""
    refused = [
        (plan, copy) for plan in plans for copy in plan.copies if copy.action is Action.REFUSE
    ]
    if refused:
        raise CliError(
            f"refusing to {verb} locally modified copies: "
            + ", ".join(f"{copy.shown} ({plan.key})" for plan, copy in refused),
            hint="keep your edits elsewhere, or pass --force to discard them",
            code=ExitCode.CONFLICT,
            details=[f"{copy.shown}: {_why(plan)}" for plan, copy in refused],
        )


def _why(plan: Plan) -> str:
    if plan.previous is None:
        return "already exists and was not installed by skreg"
    return f"has local changes since skreg installed {plan.key}@{plan.previous.version}"


def refuse_name_clashes(lock: Lockfile, scope: Scope, plan: Plan) -> None:
    """Two namespaces' skills with one name cannot share a skills directory."""
    mine = {copy.path for copy in plan.copies}
    for key, entry in lock.skills.items():
        if key == plan.key or key.split("/", 1)[1] != plan.name:
            continue
        clash = [c.shown for c in copies_for(scope, plan.name, entry.agents) if c.path in mine]
        if clash:
            raise CliError(
                f"{', '.join(clash)} already holds {key}; cannot also install {plan.key} there",
                hint=f"remove {key} first (`skreg remove {key}`), or pick other --agent values",
                code=ExitCode.CONFLICT,
            )
