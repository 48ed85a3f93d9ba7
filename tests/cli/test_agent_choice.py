"""`skreg install NS/NAME` without --agent: the agents of the project and of the machine.

Every test has its own HOME (the `isolated` fixture): agent config folders made
there (`~/.claude`, `~/.codex`) are what an installed agent leaves on a machine.
The interactive case runs the real `skreg` on a pseudo-terminal.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from skreg_cli.errors import ExitCode

from tests.cli.helpers import User, files_under, make_skill, run, unique

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
PROMPT = b"Numbers separated by commas"


@pytest.fixture
def skill(signed_in: User, tmp_path: Path) -> tuple[str, str]:
    """A published skill: (full name, name)."""
    name = unique("ag")
    result = run("publish", str(make_skill(tmp_path / "src", name)))
    assert result.exit_code == 0, result.output
    return f"{signed_in.username}/{name}", name


def _machine_has(*folders: str) -> None:
    for folder in folders:
        (Path.home() / folder).mkdir(parents=True)


def _agents_locked(project: Path, full: str) -> list[str]:
    return list(json.loads((project / "skreg.lock").read_text())["skills"][full]["agents"])


def test_yes_installs_for_every_agent_on_the_machine(
    skill: tuple[str, str], isolated: Path
) -> None:
    full, name = skill
    _machine_has(".claude", ".codex")
    result = run("install", full, "--yes")
    assert result.exit_code == 0, result.output
    assert f"installed: .claude/skills/{name}  [Claude Code]" in result.stdout
    assert f"installed: .agents/skills/{name}  [Codex]" in result.stdout
    assert "Claude Code (~/.claude), Codex (~/.codex)" in result.stderr
    assert files_under(isolated / ".claude" / "skills") == {
        f"{name}/SKILL.md",
        f"{name}/scripts/run.sh",
    }
    assert (isolated / ".agents" / "skills" / name / "SKILL.md").is_file()
    assert _agents_locked(isolated, full) == ["claude-code", "codex"]


def test_several_agents_without_a_terminal_or_yes_is_a_clear_error(
    skill: tuple[str, str], isolated: Path
) -> None:
    full, _ = skill
    _machine_has(".claude", ".codex")
    result = run("install", full)  # CliRunner's stdin is not a terminal
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "several coding agents found: Claude Code (~/.claude); Codex (~/.codex)" in (
        result.stderr
    )
    assert "--agent claude-code,codex" in result.stderr
    assert "--yes" in result.stderr
    assert files_under(isolated) == set()  # no copy, no lockfile


def test_a_project_marker_the_machine_does_not_confirm_is_still_asked_about(
    skill: tuple[str, str], isolated: Path
) -> None:
    # The reported case: an AGENTS.md project (Codex's marker) used from Claude Code.
    full, name = skill
    (isolated / "AGENTS.md").write_text("# agents\n")
    _machine_has(".claude")
    refused = run("install", full)
    assert refused.exit_code == ExitCode.USAGE
    assert "Claude Code (~/.claude); Codex (AGENTS.md)" in refused.stderr
    assert not (isolated / ".agents").exists()
    chosen = run("install", full, "--agent", "claude")
    assert chosen.exit_code == 0, chosen.output
    assert (isolated / ".claude" / "skills" / name / "SKILL.md").is_file()
    assert not (isolated / ".agents").exists()


def test_a_single_agent_on_the_machine_is_installed_for_directly(
    skill: tuple[str, str], isolated: Path
) -> None:
    full, name = skill
    _machine_has(".claude")
    result = run("install", full)
    assert result.exit_code == 0, result.output
    assert f"installed: .claude/skills/{name}  [Claude Code]" in result.stdout
    assert not (isolated / ".agents").exists()
    assert _agents_locked(isolated, full) == ["claude-code"]


def test_a_moved_config_folder_counts_too(
    skill: tuple[str, str], isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    full, name = skill
    moved = tmp_path / "elsewhere" / "claude-config"
    moved.mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(moved))
    result = run("install", full)
    assert result.exit_code == 0, result.output
    assert f"Claude Code ({moved})" in result.stderr
    assert (isolated / ".claude" / "skills" / name / "SKILL.md").is_file()


def test_the_projects_own_agents_need_no_question(skill: tuple[str, str], isolated: Path) -> None:
    full, _ = skill
    (isolated / ".claude").mkdir()
    (isolated / ".cursor").mkdir()
    _machine_has(".claude")  # nothing the project does not already show
    result = run("install", full)
    assert result.exit_code == 0, result.output
    assert "used by this project" in result.stderr
    assert _agents_locked(isolated, full) == ["claude-code", "cursor"]


def test_nothing_found_falls_back_to_agents_skills_and_says_so(
    skill: tuple[str, str], isolated: Path
) -> None:
    full, name = skill
    result = run("install", full)
    assert result.exit_code == 0, result.output
    assert "no coding agent found" in result.stderr
    assert "--agent claude-code" in result.stderr
    assert (isolated / ".agents" / "skills" / name / "SKILL.md").is_file()


def test_reinstalling_keeps_the_locked_agents_without_asking(
    skill: tuple[str, str], isolated: Path
) -> None:
    full, _ = skill
    assert run("install", full, "--agent", "cursor").exit_code == 0
    _machine_has(".claude", ".codex")
    again = run("install", full)
    assert again.exit_code == 0, again.output
    assert _agents_locked(isolated, full) == ["cursor"]


def test_global_yes_uses_each_agents_home_folder(skill: tuple[str, str], isolated: Path) -> None:
    full, name = skill
    _machine_has(".claude", ".codex")
    result = run("install", full, "--global", "--yes")
    assert result.exit_code == 0, result.output
    assert f"installed: ~/.claude/skills/{name}  [Claude Code]" in result.stdout
    assert f"installed: ~/.agents/skills/{name}  [Codex]" in result.stdout
    assert (Path.home() / ".agents" / "skills" / name / "SKILL.md").is_file()


# -- on a terminal -------------------------------------------------------------------


def _on_terminal(args: list[str], answers: list[str], cwd: Path) -> tuple[int, str]:
    """Run the real `skreg ARGS` with a pseudo-terminal as stdin/stdout/stderr.

    Each time the agent question appears the next answer is typed. The deadline
    only stops a hung process; nothing asserts on time.
    """
    master, slave = os.openpty()
    code = "from skreg_cli.main import main; main()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        cwd=cwd,
        close_fds=True,
    )
    os.close(slave)
    output, pending = b"", list(answers)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the process closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if pending and output.count(PROMPT) > len(answers) - len(pending):
                os.write(master, pending.pop(0).encode() + b"\n")
    finally:
        os.close(master)
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
    text = ANSI.sub("", output.decode(errors="replace")).replace("\r\n", "\n")
    return process.returncode, text


def test_on_a_terminal_the_user_picks_the_agents(skill: tuple[str, str], isolated: Path) -> None:
    full, name = skill
    _machine_has(".claude", ".codex", ".codeium/windsurf")
    code, text = _on_terminal(["install", full], ["7", "1, 3"], isolated)
    assert code == 0, text
    assert "Install for which coding agents?" in text
    assert "1. Claude Code: .claude/skills  (found ~/.claude)" in text
    assert "'7': give numbers from 1 to 3" in text  # a wrong answer asks again
    assert f"installed: .claude/skills/{name}" in text
    assert f"installed: .windsurf/skills/{name}" in text
    assert not (isolated / ".agents").exists()  # Codex's folder: not chosen
    assert _agents_locked(isolated, full) == ["claude-code", "windsurf"]
