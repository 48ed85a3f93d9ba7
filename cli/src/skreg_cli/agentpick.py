"""Which agents an install is for when `--agent` is not given: detect, then ask, `--yes`, or stop.

Writing only `.agents/skills` because a project has no agent folder would hide the
skill from Claude Code, which never reads that directory. So, like `npx skills`,
skreg looks at the project (its markers) and at the machine (agents' config
folders in the home directory):

- nothing found anywhere: the generic `.agents/skills`, saying so and how to pick;
- the project's agents, when the machine shows no agent the project does not;
- otherwise one candidate is installed for directly; several are offered on a
  terminal, all taken with `--yes`, and without either the command stops and
  says to pass `--agent` or `--yes` (a script must not guess).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import click

from skreg_cli import agents as agent_table
from skreg_cli.agents import GENERIC, Agent
from skreg_cli.errors import CliError, ExitCode
from skreg_cli.lockfile import Scope
from skreg_cli.output import Output


@dataclass
class Candidate:
    """An agent found, with the clues that gave it away (`~/.claude`, `CLAUDE.md`)."""

    agent: Agent
    clues: list[str] = field(default_factory=list)
    in_project: bool = False


def candidates(scope: Scope, home: Path, environ: Mapping[str, str]) -> list[Candidate]:
    """Agents this project uses or this machine has, in agent-table order."""
    found: dict[str, Candidate] = {}
    for agent in agent_table.AGENTS:
        markers = agent_table.markers_in(agent, scope.root, global_=scope.global_)
        if markers:
            shown = [f"~/{m}" if scope.global_ else m for m in markers]
            found[agent.id] = Candidate(agent, shown, in_project=not scope.global_)
    for agent, folder in agent_table.installed(home, environ):
        entry = found.setdefault(agent.id, Candidate(agent))
        if folder not in entry.clues:
            entry.clues.append(folder)
    order = {agent.id: index for index, agent in enumerate(agent_table.AGENTS)}
    return sorted(found.values(), key=lambda c: order[c.agent.id])


class AgentChooser:
    """Picks the agents for `skreg install NS/NAME` without `--agent` (see the module doc)."""

    def __init__(
        self,
        out: Output,
        *,
        assume_yes: bool,
        interactive: bool | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.out = out
        self.assume_yes = assume_yes
        self.interactive = sys.stdin.isatty() if interactive is None else interactive
        self.environ = os.environ if environ is None else environ

    def __call__(self, scope: Scope) -> list[Agent]:
        """The agents to install for in `scope`."""
        found = candidates(scope, Path.home(), self.environ)
        in_project = [c for c in found if c.in_project]
        if not found:
            return [self._generic(scope)]
        if in_project and len(in_project) == len(found):
            return self._taking(found, "used by this project")
        if len(found) == 1:
            return self._taking(found, "found")
        if self.assume_yes:
            return self._taking(found, "found (--yes: all of them)")
        if self.interactive:
            return self._ask(scope, found)
        raise CliError(
            "several coding agents found: "
            + "; ".join(f"{c.agent.label} ({', '.join(c.clues)})" for c in found),
            hint="say which with --agent "
            + ",".join(c.agent.id for c in found)
            + " (or a subset), or pass --yes to install for all of them",
            code=ExitCode.USAGE,
        )

    def _generic(self, scope: Scope) -> Agent:
        generic = agent_table.BY_ID[GENERIC]
        where = agent_table.skills_dir(generic, global_=scope.global_)
        self.out.warn(
            f"no coding agent found in this project or on this machine; installing to {where}, "
            "the shared Agent Skills folder. Claude Code does not read it: pass "
            "--agent claude-code (or another agent) to install where your agent looks."
        )
        return generic

    def _taking(self, found: Sequence[Candidate], why: str) -> list[Agent]:
        shown = ", ".join(f"{c.agent.label} ({', '.join(c.clues)})" for c in found)
        self.out.note(f"installing for the agents {why}: {shown}")
        return [c.agent for c in found]

    def _ask(self, scope: Scope, found: Sequence[Candidate]) -> list[Agent]:
        self.out.note("Install for which coding agents?")
        for number, c in enumerate(found, 1):
            where = agent_table.skills_dir(c.agent, global_=scope.global_)
            self.out.note(f"  {number}. {c.agent.label}: {where}  (found {', '.join(c.clues)})")

        def parse(text: str) -> list[Agent]:
            return _numbers(text, found)

        chosen: list[Agent] = click.prompt(
            "Numbers separated by commas, or 'all'",
            default="all",
            value_proc=parse,
            err=True,
        )
        return chosen


def _numbers(text: str, found: Sequence[Candidate]) -> list[Agent]:
    """`1,3` / `all` → agents; anything else re-asks (click shows the message)."""
    text = text.strip().lower()
    if text in ("all", "a", "*"):
        return [c.agent for c in found]
    picked: list[Agent] = []
    for part in text.replace(" ", ",").split(","):
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= len(found):
            raise click.BadParameter(f"{part!r}: give numbers from 1 to {len(found)}, or 'all'")
        picked.append(found[int(part) - 1].agent)
    if not picked:
        raise click.BadParameter("choose at least one agent")
    return list(dict.fromkeys(picked))
