"""The coding agents skreg installs into: one table of data, no per-agent code.

Each agent reads skills from `<skills dir>/<name>/SKILL.md`. Several agents
read the same directory (`.agents/skills`); installing for all of them writes
one copy there. `--agent auto` picks the agents whose marker files a project
(or, with `--global`, the home directory) has.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from skreg_cli.errors import CliError, ExitCode

GENERIC = "agents"


@dataclass(frozen=True)
class Agent:
    """One agent: where it reads project and user skills, and how to tell it is in use."""

    id: str
    label: str
    project_dir: str  # relative to the project root
    global_dir: str  # relative to the home directory
    project_markers: tuple[str, ...]
    global_markers: tuple[str, ...]


AGENTS: tuple[Agent, ...] = (
    Agent(
        "claude", "Claude Code", ".claude/skills", ".claude/skills",
        (".claude", "CLAUDE.md"), (".claude",),
    ),
    Agent(
        "codex", "Codex", ".agents/skills", ".codex/skills",
        (".codex", "AGENTS.md"), (".codex",),
    ),
    Agent(
        "cursor", "Cursor", ".cursor/skills", ".cursor/skills",
        (".cursor", ".cursorrules"), (".cursor",),
    ),
    Agent(
        "gemini", "Gemini CLI", ".agents/skills", ".gemini/skills",
        (".gemini", "GEMINI.md"), (".gemini",),
    ),
    Agent(
        "copilot", "GitHub Copilot", ".agents/skills", ".copilot/skills",
        (".github/copilot-instructions.md", ".github/skills"), (".copilot",),
    ),
    Agent(
        "kiro", "Kiro", ".kiro/skills", ".kiro/skills",
        (".kiro",), (".kiro",),
    ),
    Agent(
        GENERIC, "any Agent Skills client (.agents)", ".agents/skills", ".agents/skills",
        (".agents",), (".agents",),
    ),
)  # fmt: skip

BY_ID: dict[str, Agent] = {agent.id: agent for agent in AGENTS}


def skills_dir(agent: Agent, *, global_: bool) -> str:
    """The agent's skills directory: relative to the project, or `~/…` for a global install."""
    return f"~/{agent.global_dir}" if global_ else agent.project_dir


def detect(root: Path, *, global_: bool) -> list[Agent]:
    """Agents whose markers exist under `root` (the project, or home for --global)."""
    found = []
    for agent in AGENTS:
        markers = agent.global_markers if global_ else agent.project_markers
        if any((root / marker).exists() for marker in markers):
            found.append(agent)
    return found


def select(names: Sequence[str], root: Path, *, global_: bool) -> list[Agent]:
    """Agents named by `--agent` values (ids, `all`, `auto`; comma-separated or repeated).

    No value means `auto`; `auto` finding nothing falls back to the generic
    `.agents/skills`, which most agents read.
    """
    wanted = [part.strip().lower() for name in names for part in name.split(",") if part.strip()]
    chosen: list[Agent] = []
    for name in wanted or ["auto"]:
        if name == "all":
            chosen.extend(AGENTS)
        elif name == "auto":
            chosen.extend(detect(root, global_=global_) or [BY_ID[GENERIC]])
        elif name in BY_ID:
            chosen.append(BY_ID[name])
        else:
            raise CliError(
                f"unknown agent {name!r}",
                hint=f"use one of: {', '.join(BY_ID)}, all, auto",
                code=ExitCode.USAGE,
            )
    return list(dict.fromkeys(chosen))


def target_dirs(agents: Iterable[Agent], *, global_: bool) -> dict[str, list[str]]:
    """`skills dir -> agent ids` reading it: one entry (one copy) per distinct directory."""
    dirs: dict[str, list[str]] = {}
    for agent in agents:
        dirs.setdefault(skills_dir(agent, global_=global_), []).append(agent.id)
    return dirs
