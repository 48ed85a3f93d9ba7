"""The agent table (cli/src/skreg_cli/agents.toml), every row, against the real `skills` CLI.

The rows come from the `skills` npm package's own table; here that table is read out of
the installed package (tests/support/skills_agent_table.mjs, under the wheel's Node)
and compared row by row: ids, names, project and user-level folders, and which home
folders make `npx skills` consider each agent installed. Then skreg's own detection
(agentpick) is checked for every row's markers. Installing into every row's folders
against a registry is tests/cli/test_install.py::test_every_agent_row_gets_its_copy….
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from skreg_cli import agentpick
from skreg_cli.agents import AGENTS, BY_ID, GENERIC, select, skills_dir
from skreg_cli.errors import CliError
from skreg_cli.lockfile import Scope

from tests.support.node_clients import NODE, SKILLS_VERSION, install_client

READER = Path(__file__).resolve().parents[1] / "support" / "skills_agent_table.mjs"
MOVED_HOMES = ("CLAUDE_CONFIG_DIR", "CODEX_HOME", "VIBE_HOME", "HERMES_HOME", "AUTOHAND_HOME",
               "GROK_HOME", "SARVAM_HOME", "XDG_CONFIG_HOME")  # fmt: skip


@pytest.fixture(scope="module")
def skills_table(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The real table of `skills` SKILLS_VERSION, read in an empty HOME and project, with
    every one of our global markers probed through its own detectInstalled()."""
    client = install_client("skills", SKILLS_VERSION)
    cli_js = client.entry.parents[1] / "dist" / "cli.mjs"
    home, project = tmp_path_factory.mktemp("home"), tmp_path_factory.mktemp("project")
    env = {k: v for k, v in os.environ.items() if k not in MOVED_HOMES}
    env["HOME"] = str(home)
    probes = [[a.id, marker] for a in AGENTS for marker in a.global_markers]
    done = subprocess.run(
        [str(NODE), str(READER), str(cli_js)],
        input=json.dumps(probes),
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    table: dict[str, Any] = json.loads(done.stdout)
    return table


def test_every_row_is_the_skills_cli_row(skills_table: dict[str, Any]) -> None:
    theirs = {
        row["id"]: (row["label"], row["project_dir"], row["global_dir"])
        for row in skills_table["agents"]
    }
    ours = {a.id: (a.label, a.project_dir, a.global_dir) for a in AGENTS}
    assert ours == theirs
    assert [a.id for a in AGENTS] == list(theirs)  # same order: prompts list them alike
    assert not any(row["installed"] for row in skills_table["agents"])  # empty HOME: none


def test_every_global_marker_is_one_the_skills_cli_detects(skills_table: dict[str, Any]) -> None:
    detected = skills_table["detected"]
    for agent in AGENTS:
        assert detected.get(agent.id, []) == list(agent.global_markers), agent.id


def test_the_ids_users_know_and_our_short_aliases(tmp_path: Path) -> None:
    for name in ("claude-code", "codex", "cursor", "gemini-cli", "github-copilot", "kiro-cli",
                 "opencode", "windsurf", "amp", "cline"):  # fmt: skip
        assert BY_ID[name].id == name
    aliases = {"claude": "claude-code", "gemini": "gemini-cli", "copilot": "github-copilot",
               "kiro": "kiro-cli", "agents": GENERIC}  # fmt: skip
    for alias, agent_id in aliases.items():
        assert [a.id for a in select([alias.upper()], tmp_path, global_=False)] == [agent_id]
    assert all(a.global_dir for a in select(["all"], tmp_path, global_=True))
    with pytest.raises(CliError) as no_user_folder:
        skills_dir(BY_ID["eve"], global_=True)  # Eve reads project skills only
    assert "no user-level skills folder" in str(no_user_folder.value)


@pytest.mark.parametrize("agent", [a for a in AGENTS if a.id != GENERIC], ids=lambda a: a.id)
def test_skreg_detects_every_row(agent: Any, tmp_path: Path) -> None:
    home, project = tmp_path / "machine", tmp_path / "repo"
    home.mkdir()
    project.mkdir()
    scope = Scope(root=project, lock_path=project / "skreg.lock", global_=False)
    assert agentpick.candidates(scope, home, {}) == []
    for marker in agent.project_markers:
        (project / marker).mkdir(parents=True)
        found = {c.agent.id: c for c in agentpick.candidates(scope, home, {})}
        assert found[agent.id].in_project, marker
        (project / marker).rmdir()
    for marker in agent.global_markers:
        (home / marker).mkdir(parents=True)
        found = {c.agent.id: c for c in agentpick.candidates(scope, home, {})}
        assert f"~/{marker}" in found[agent.id].clues
        (home / marker).rmdir()
    if agent.config_env:
        moved = tmp_path / "moved"
        moved.mkdir()
        found = {
            c.agent.id: c for c in agentpick.candidates(scope, home, {agent.config_env: str(moved)})
        }
        assert str(moved) in found[agent.id].clues
