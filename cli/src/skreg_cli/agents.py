"""The coding agents skreg installs into: one table of data (`agents.toml`), no per-agent code.

Each agent reads skills from `<skills dir>/<name>/SKILL.md`. Several agents
read the same directory (`.agents/skills`); installing for all of them writes
one copy there. An agent shows it is used by a project through marker files
(`.claude/`, `CLAUDE.md`, …) and is installed on the machine when its config
folder exists in the home directory (`~/.claude`, or `$CLAUDE_CONFIG_DIR`), the
rule the `skills` CLI (vercel-labs/skills) uses; `agentpick` decides from both.

The rows, their ids and folders come from the `skills` package's own table (the
source is cited in agents.toml), so `--agent` takes the ids `npx skills` users know;
skreg's earlier short ids (`claude`, `gemini`, `copilot`, `kiro`, `agents`) stay as
aliases.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from skreg_cli.errors import CliError, ExitCode

GENERIC = "universal"


@dataclass(frozen=True)
class Agent:
    """One agent: where it reads project and user skills, and how to tell it is in use."""

    id: str
    label: str
    project_dir: str  # relative to the project root
    global_dir: str | None  # relative to the home directory; None: no user-level skills
    project_markers: tuple[str, ...]
    global_markers: tuple[str, ...]  # under home: the agent's config folder(s)
    config_env: str | None = None  # an environment variable that moves that folder
    aliases: tuple[str, ...] = ()


def _load(text: str) -> tuple[Agent, ...]:
    rows: list[dict[str, Any]] = tomllib.loads(text)["agent"]
    return tuple(
        Agent(
            id=row["id"],
            label=row["label"],
            project_dir=row["project_dir"],
            global_dir=row.get("global_dir"),
            project_markers=tuple(row["project_markers"]),
            global_markers=tuple(row["global_markers"]),
            config_env=row.get("config_env"),
            aliases=tuple(row.get("aliases", ())),
        )
        for row in rows
    )


AGENTS: tuple[Agent, ...] = _load(files("skreg_cli").joinpath("agents.toml").read_text("utf-8"))

# Every name `--agent` takes for an agent: its id and its aliases (a lock file written
# with an alias still reads).
BY_ID: dict[str, Agent] = {name: agent for agent in AGENTS for name in (agent.id, *agent.aliases)}


def skills_dir(agent: Agent, *, global_: bool) -> str:
    """The agent's skills directory: relative to the project, or `~/…` for a global install."""
    if not global_:
        return agent.project_dir
    if agent.global_dir is None:
        raise CliError(
            f"{agent.label} has no user-level skills folder",
            hint=f"install into a project for {agent.id} (without --global)",
            code=ExitCode.USAGE,
        )
    return f"~/{agent.global_dir}"


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
            # `all --global`: the agents that have a user-level folder.
            chosen.extend(a for a in AGENTS if a.global_dir is not None or not global_)
        elif name == "auto":
            chosen.extend(auto() if auto else detect(root, global_=global_) or [BY_ID[GENERIC]])
        elif name in BY_ID:
            chosen.append(BY_ID[name])
        else:
            raise CliError(
                f"unknown agent {name!r}",
                hint=f"use one of: {', '.join(a.id for a in AGENTS)}, all, auto "
                f"(or a short name: {', '.join(n for a in AGENTS for n in a.aliases)})",
                code=ExitCode.USAGE,
            )
    return list(dict.fromkeys(chosen))


def target_dirs(agents: Iterable[Agent], *, global_: bool) -> dict[str, list[str]]:
    """`skills dir -> agent ids` reading it: one entry (one copy) per distinct directory."""
    dirs: dict[str, list[str]] = {}
    for agent in agents:
        dirs.setdefault(skills_dir(agent, global_=global_), []).append(agent.id)
    return dirs
