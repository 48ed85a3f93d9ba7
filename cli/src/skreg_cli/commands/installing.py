"""`skreg install`, `update`, `remove`, `list`."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from skreg_cli import lockfile, status
from skreg_cli.agentpick import AgentChooser
from skreg_cli.agents import AGENTS, BY_ID
from skreg_cli.commands.common import json_option, scope_options
from skreg_cli.context import AppContext, pass_app
from skreg_cli.errors import CliError, ExitCode
from skreg_cli.install import Installer
from skreg_cli.output import Output
from skreg_cli.plan import Action, Plan
from skreg_cli.refs import parse_ref
from skreg_cli.wellknown import is_origin_url

_VERBS = {
    Action.CREATE: "installed",
    Action.REPLACE: "updated",
    Action.OVERWRITE: "overwritten (--force)",
    Action.KEEP: "up to date",
    Action.REMOVE: "removed",
    Action.ABSENT: "already absent",
}
_PLANNED = {
    Action.CREATE: "would install",
    Action.REPLACE: "would update",
    Action.OVERWRITE: "would overwrite (--force)",
    Action.KEEP: "up to date",
    Action.REMOVE: "would remove",
    Action.ABSENT: "already absent",
}


def _report(out: Output, plans: Sequence[Plan], *, dry_run: bool) -> None:
    out.json({"dry_run": dry_run, "skills": [plan.as_json() for plan in plans]})
    verbs = _PLANNED if dry_run else _VERBS
    for plan in plans:
        for note in plan.notes:
            out.warn(note)
        moved = ""
        if plan.previous and plan.previous.version != plan.entry.version:
            moved = f" (was {plan.previous.version})"
        out.result(f"{plan.key}@{plan.entry.version}{moved} {plan.entry.digest}")
        for copy in plan.copies:
            agents = ", ".join(BY_ID[a].label for a in sorted(copy.agents))
            out.result(f"  {verbs.get(copy.action, copy.action.value)}: {copy.shown}  [{agents}]")
    if not plans:
        out.result("Nothing to do.")


_AGENT_HELP = (
    "Agent(s) to install for, by the ids `npx skills` uses: "
    + ", ".join(agent.id for agent in AGENTS)
    + " (short names: "
    + ", ".join(f"{alias}={agent.id}" for agent in AGENTS for alias in agent.aliases)
    + "), all, or auto (the default: the agents "
    "this project uses and this machine has; asks when several are found). "
    "Repeat or separate with commas."
)


def _confirm(question: str) -> bool:
    return click.confirm(question, default=False, err=True)


@click.command()
@click.argument("skills", nargs=-1)
@click.option("--agent", "agent_names", multiple=True, help=_AGENT_HELP)
@click.option(
    "--skill",
    "skill_names",
    multiple=True,
    help="With an https://… index URL: the skill(s) it lists to install (repeat for more).",
)
@scope_options
@click.option("--dry-run", is_flag=True, help="Show what would happen; change nothing.")
@click.option("--force", is_flag=True, help="Overwrite locally modified copies.")
@click.option("--frozen", is_flag=True, help="Fail if skreg.lock would change (for CI).")
@click.option(
    "-y", "--yes", is_flag=True, help="Without --agent: install for every agent found, unasked."
)
@click.option(
    "--allow-suspicious",
    is_flag=True,
    help="Install a version held for review or found suspicious without asking "
    "(malicious ones are always refused).",
)
@json_option
@pass_app
def install(
    app: AppContext,
    skills: tuple[str, ...],
    agent_names: tuple[str, ...],
    skill_names: tuple[str, ...],
    global_: bool,
    dry_run: bool,
    force: bool,
    frozen: bool,
    yes: bool,
    allow_suspicious: bool,
) -> None:
    """Install NS/NAME[@VERSION|@RANGE] (or from an https://… index) into agents' skills dirs.

    Resolves exactly the named skill (never a near match), downloads it,
    verifies its digest, and unpacks it atomically as <name>/ in each agent's
    skills directory, recording it in skreg.lock. With no SKILLS, installs
    exactly what skreg.lock says and fails if any digest differs.

    Without --agent: the agents this project uses (.claude/, CLAUDE.md, …) and
    those installed on this machine (~/.claude, ~/.codex, …); when they differ,
    a terminal is asked, --yes takes all, and otherwise skreg stops.

    An http(s) URL instead of names installs from any origin serving an Agent
    Skills discovery index (<URL>/.well-known/agent-skills/index.json, as
    `npx skills add URL` reads it): --skill NAME picks from it (needed when it
    lists several), each archive's sha256 must match the index, and skreg.lock
    records the origin so that --frozen and `skreg update` work for it.
    """
    installer = Installer(
        app,
        app.scope(global_),
        force=force,
        dry_run=dry_run,
        frozen=frozen,
        allow_suspicious=allow_suspicious,
        confirm=_confirm if sys.stdin.isatty() else None,
    )
    urls = [s for s in skills if is_origin_url(s)]
    if urls:
        if len(skills) != 1:
            raise CliError("give one index URL, or skill names, not both", code=ExitCode.USAGE)
        app.output.note(f"Installing from the discovery index at {urls[0]}")
        choose = AgentChooser(app.output, assume_yes=yes)
        plans = installer.install_from_index(urls[0], skill_names, agent_names, choose)
    elif skill_names:
        raise CliError("--skill goes with an index URL (https://…)", code=ExitCode.USAGE)
    elif skills:
        app.output.note(f"Installing from {app.resolved().url}")
        choose = AgentChooser(app.output, assume_yes=yes)
        plans = installer.install([parse_ref(s) for s in skills], agent_names, choose)
    else:
        if agent_names:
            raise CliError("--agent needs skills to install", code=ExitCode.USAGE)
        plans = installer.install_locked()
    _report(app.output, plans, dry_run=dry_run)


@click.command()
@click.argument("names", nargs=-1)
@scope_options
@click.option("--dry-run", is_flag=True, help="Show what would happen; change nothing.")
@click.option("--force", is_flag=True, help="Overwrite locally modified copies.")
@click.option(
    "--allow-suspicious",
    is_flag=True,
    help="Move to a version flagged or found suspicious without asking.",
)
@json_option
@pass_app
def update(
    app: AppContext,
    names: tuple[str, ...],
    global_: bool,
    dry_run: bool,
    force: bool,
    allow_suspicious: bool,
) -> None:
    """Move skills to the newest non-yanked version in their range (NAME[@RANGE] to change it).

    With no NAMES, every skill in skreg.lock.
    """
    installer = Installer(
        app,
        app.scope(global_),
        force=force,
        dry_run=dry_run,
        allow_suspicious=allow_suspicious,
        confirm=_confirm if sys.stdin.isatty() else None,
    )
    _report(app.output, installer.update(names), dry_run=dry_run)


@click.command()
@click.argument("names", nargs=-1, required=True)
@scope_options
@click.option("--dry-run", is_flag=True, help="Show what would happen; change nothing.")
@click.option("--force", is_flag=True, help="Also delete locally modified copies.")
@json_option
@pass_app
def remove(
    app: AppContext, names: tuple[str, ...], global_: bool, dry_run: bool, force: bool
) -> None:
    """Delete installed skills (NAME or NS/NAME) and drop them from skreg.lock."""
    installer = Installer(app, app.scope(global_), force=force, dry_run=dry_run)
    _report(app.output, installer.remove(names), dry_run=dry_run)


@click.command(name="list")
@scope_options
@click.option("--offline", is_flag=True, help="Do not ask the registry for latest versions.")
@json_option
@pass_app
def list_(app: AppContext, global_: bool, offline: bool) -> None:
    """List installed skills: installed vs latest; outdated, yanked, modified, missing."""
    scope = app.scope(global_)
    lock = lockfile.read(scope.lock_path)
    statuses = status.collect(app, scope, lock, offline=offline) if lock else []
    out = app.output
    out.json({"lockfile": str(scope.lock_path), "skills": [s.as_json() for s in statuses]})
    if not statuses:
        out.result(f"No skills installed ({scope.lock_path} lists none).")
        return
    out.table(
        ("NAME", "INSTALLED", "LATEST", "STATUS", "AGENTS"),
        [
            (
                s.name,
                s.entry.version,
                s.latest or ("?" if offline else "-"),
                ", ".join(s.marks) or "ok",
                ", ".join(s.entry.agents),
            )
            for s in statuses
        ],
    )
