"""The coding agents skreg installs into: one table of data, no per-agent code.

Each agent reads skills from `<skills dir>/<name>/SKILL.md`. Several agents
read the same directory (`.agents/skills`); installing for all of them writes
one copy there. An agent shows it is used by a project through marker files
(`.claude/`, `CLAUDE.md`, …) and is installed on the machine when its config
folder exists in the home directory (`~/.claude`, or `$CLAUDE_CONFIG_DIR`), the
rule the `skills` CLI (vercel-labs/skills) uses; `agentpick` decides from both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
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
    global_markers: tuple[str, ...]  # under home: the agent's config folder(s)
    config_env: str | None = None  # an environment variable that moves that folder


AGENTS: tuple[Agent, ...] = (
    Agent(
        "claude", "Claude Code", ".claude/skills", ".claude/skills",
        (".claude", "CLAUDE.md"), (".claude",), "CLAUDE_CONFIG_DIR",
    ),
    Agent(
        "codex", "Codex", ".agents/skills", ".codex/skills",
        (".codex", "AGENTS.md"), (".codex",), "CODEX_HOME",
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


def markers_in(agent: Agent, root: Path, *, global_: bool) -> list[str]:
    """The agent's markers that exist under `root` (the project, or home for --global)."""
    markers = agent.global_markers if global_ else agent.project_markers
    return [marker for marker in markers if (root / marker).exists()]


def detect(root: Path, *, global_: bool) -> list[Agent]:
    """Agents whose markers exist under `root` (the project, or home for --global)."""
    return [agent for agent in AGENTS if markers_in(agent, root, global_=global_)]


def installed(home: Path, environ: Mapping[str, str]) -> list[tuple[Agent, str]]:
    """Agents installed on this machine, each with the config folder that shows it.

    The generic `.agents` entry is not an agent and is never "installed".
    """
    found = []
    for agent in AGENTS:
        if agent.id == GENERIC:
            continue
        moved = environ.get(agent.config_env or "", "").strip()
        folders = [Path(moved)] if moved else [home / marker for marker in agent.global_markers]
        existing = next((folder for folder in folders if folder.is_dir()), None)
        if existing is not None:
            found.append((agent, _shown(existing, home)))
    return found


def _shown(path: Path, home: Path) -> str:
    try:
        return "~/" + path.relative_to(home).as_posix()
    except ValueError:
        return str(path)


def select(
    names: Sequence[str],
    root: Path,
    *,
    global_: bool,
    auto: Callable[[], Sequence[Agent]] | None = None,
) -> list[Agent]:
    """Agents named by `--agent` values (ids, `all`, `auto`; comma-separated or repeated).

    No value means `auto`: what `auto()` picks, else the agents whose markers
    `root` has, falling back to the generic `.agents/skills`, which most agents read.
    """
    wanted = [part.strip().lower() for name in names for part in name.split(",") if part.strip()]
    chosen: list[Agent] = []
    for name in wanted or ["auto"]:
        if name == "all":
            chosen.extend(AGENTS)
        elif name == "auto":
            chosen.extend(auto() if auto else detect(root, global_=global_) or [BY_ID[GENERIC]])
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
