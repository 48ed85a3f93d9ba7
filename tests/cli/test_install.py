"""install / update / remove / list and the lockfile, against the real registry."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from skreg_cli.agents import AGENTS, BY_ID
from skreg_cli.errors import ExitCode

from tests.cli.conftest import RegistryServer
from tests.cli.helpers import User, files_under, make_skill, run, unique, yank


@dataclass
class Published:
    """A skill with several published versions, each with different content."""

    full: str
    name: str
    digests: dict[str, str]
    source: Path

    def publish(self, version: str) -> None:
        skill_md = self.source / "SKILL.md"
        skill_md.write_text(skill_md.read_text() + f"\nChanges in {version}.\n")
        result = run("publish", str(self.source), "--version", version, "--json")
        assert result.exit_code == 0, result.output
        self.digests[version] = json.loads(result.stdout)["digest"]


@pytest.fixture
def skill(registry: RegistryServer, signed_in: User, tmp_path: Path) -> Published:
    name = unique("sk")
    source = make_skill(tmp_path / "src", name)
    published = Published(f"{signed_in.username}/{name}", name, {}, source)
    for version in ("1.0.0", "1.1.0", "2.0.0"):
        published.publish(version)
    return published


def _install(*args: str) -> dict[str, object]:
    result = run("install", "--json", *args)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def _lock(project: Path) -> dict[str, dict[str, object]]:
    return dict(json.loads((project / "skreg.lock").read_text())["skills"])


def _version_in(copy: Path) -> str:
    text = (copy / "SKILL.md").read_text()
    return text.rsplit("Changes in ", 1)[1].split(".\n", 1)[0]


# A few rows end to end (every row is installed into below, and checked offline in
# tests/cli/test_agents_table.py); `kiro` is a short alias of `kiro-cli`.
@pytest.mark.parametrize("agent", ["claude-code", "codex", "windsurf", "kiro"])
def test_install_into_each_agent_layout(
    skill: Published, isolated: Path, agent: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = BY_ID[agent]
    _install(skill.full, "--agent", agent)
    copy = isolated / table.project_dir / skill.name
    assert files_under(copy) == {"SKILL.md", "scripts/run.sh"}
    assert (copy / "scripts" / "run.sh").stat().st_mode & 0o111
    assert _version_in(copy) == "2.0.0"
    assert _lock(isolated)[skill.full]["agents"] == [table.id]

    _install(skill.full, "--agent", agent, "--global")
    home = Path.home()
    assert table.global_dir is not None
    assert files_under(home / table.global_dir / skill.name) == {"SKILL.md", "scripts/run.sh"}
    global_lock = json.loads((isolated.parent / "config" / "skreg.lock").read_text())
    assert global_lock["skills"][skill.full]["version"] == "2.0.0"


def test_every_agent_row_gets_its_copy_and_shared_dirs_one(
    skill: Published, isolated: Path
) -> None:
    report = _install(skill.full, "--agent", "all")
    copies = report["skills"][0]["copies"]  # type: ignore[index]
    paths = [c["path"] for c in copies]
    assert sorted(paths) == sorted({f"{a.project_dir}/{skill.name}" for a in AGENTS})
    for agent in AGENTS:
        assert (isolated / agent.project_dir / skill.name / "SKILL.md").is_file(), agent.id
    shared = next(c for c in copies if c["path"].startswith(".agents/"))
    assert {"codex", "cursor", "gemini-cli", "github-copilot", "universal"} <= set(shared["agents"])
    assert sorted(_lock(isolated)[skill.full]["agents"]) == sorted(a.id for a in AGENTS)
    _install(skill.full, "--agent", "all", "--global")
    for agent in AGENTS:
        if agent.global_dir is not None:
            assert (Path.home() / agent.global_dir / skill.name / "SKILL.md").is_file(), agent.id
    # A skills dir linked to another is one place: one copy, not two.
    project = isolated.parent / "linked"
    (project / ".agents" / "skills").mkdir(parents=True)
    (project / ".claude").mkdir()
    (project / ".claude" / "skills").symlink_to(project / ".agents" / "skills")
    (project / "skreg.lock").write_text('{"lockfile_version": 1, "skills": {}}')
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(project)
        linked = _install(skill.full, "--agent", "claude,codex")
    assert len(linked["skills"][0]["copies"]) == 1  # type: ignore[index]


def test_auto_detects_the_agents_a_project_uses(skill: Published, isolated: Path) -> None:
    (isolated / "CLAUDE.md").write_text("# project\n")
    (isolated / ".windsurf").mkdir()
    _install(skill.full)
    assert (isolated / ".claude" / "skills" / skill.name / "SKILL.md").is_file()
    assert (isolated / ".windsurf" / "skills" / skill.name / "SKILL.md").is_file()
    assert not (isolated / ".agents").exists()
    assert _lock(isolated)[skill.full]["agents"] == ["claude-code", "windsurf"]


def test_lockfile_round_trip_and_frozen(
    registry: RegistryServer, skill: Published, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(f"{skill.full}@^1.0", "--agent", "claude,codex")
    lock_bytes = (isolated / "skreg.lock").read_bytes()
    entry = _lock(isolated)[skill.full]
    # The key whose signature verified (tests/cli/test_signing.py checks which one).
    assert re.fullmatch(r"[0-9a-f]{64}", entry.pop("keyid"))
    assert entry == {
        "agents": ["claude-code", "codex"],
        "digest": skill.digests["1.1.0"],
        "registry": registry.url,
        "requested": "^1.0",
        "source": f"{registry.url}/api/v1/skills/{skill.full}/versions/1.1.0/download",
        "version": "1.1.0",
    }
    installed = files_under(isolated)

    # A fresh checkout: only skreg.lock. `skreg install` restores exactly the same files.
    fresh = isolated.parent / "checkout"
    fresh.mkdir()
    shutil.copy(isolated / "skreg.lock", fresh / "skreg.lock")
    monkeypatch.chdir(fresh)
    restored = run("install", "--frozen")
    assert restored.exit_code == 0, restored.output
    assert files_under(fresh) == installed
    assert (fresh / "skreg.lock").read_bytes() == lock_bytes
    for path in installed - {"skreg.lock"}:
        assert (fresh / path).read_bytes() == (isolated / path).read_bytes()

    again = run("install")
    assert again.exit_code == 0
    assert "up to date" in again.stdout
    # --frozen refuses anything that would change the lock, and changes nothing.
    moved = run("install", f"{skill.full}@2.0.0", "--frozen")
    assert moved.exit_code == ExitCode.CONFLICT, moved.output
    assert "--frozen: skreg.lock would change" in moved.stderr
    assert (fresh / "skreg.lock").read_bytes() == lock_bytes
    assert _version_in(fresh / ".claude" / "skills" / skill.name) == "1.1.0"
    monkeypatch.chdir(isolated.parent)
    no_lock = run("install", "--frozen")
    assert no_lock.exit_code == ExitCode.CONFLICT
    assert "no skreg.lock" in no_lock.stderr


def test_a_locally_modified_copy_is_never_overwritten(skill: Published, isolated: Path) -> None:
    _install(f"{skill.full}@1.0.0", "--agent", "claude")
    copy = isolated / ".claude" / "skills" / skill.name
    (copy / "SKILL.md").write_text((copy / "SKILL.md").read_text() + "my notes\n")
    (copy / "extra.txt").write_text("mine\n")
    edited = {p: (copy / p).read_bytes() for p in files_under(copy)}
    lock_before = (isolated / "skreg.lock").read_bytes()

    for args in (("install", f"{skill.full}@1.1.0"), ("update", f"{skill.name}@^1"), ("install",)):
        refused = run(*args)
        assert refused.exit_code == ExitCode.CONFLICT, (args, refused.output)
        assert f".claude/skills/{skill.name}" in refused.stderr
        assert "--force" in refused.stderr
    assert {p: (copy / p).read_bytes() for p in files_under(copy)} == edited
    assert (isolated / "skreg.lock").read_bytes() == lock_before
    removal = run("remove", skill.name)
    assert removal.exit_code == ExitCode.CONFLICT
    assert copy.is_dir()

    forced = run("install", f"{skill.full}@1.1.0", "--force")
    assert forced.exit_code == 0, forced.output
    assert files_under(copy) == {"SKILL.md", "scripts/run.sh"}
    assert _version_in(copy) == "1.1.0"
    assert list(copy.parent.iterdir()) == [copy]  # no staging or old copies left behind


def test_a_directory_skreg_did_not_install_is_left_alone(skill: Published, isolated: Path) -> None:
    mine = isolated / ".kiro" / "skills" / skill.name
    mine.mkdir(parents=True)
    (mine / "SKILL.md").write_text("my own skill\n")
    result = run("install", skill.full, "--agent", "kiro")
    assert result.exit_code == ExitCode.CONFLICT
    assert "already exists and was not installed by skreg" in result.stderr
    assert (mine / "SKILL.md").read_text() == "my own skill\n"
    assert not (isolated / "skreg.lock").exists()


def test_remove(skill: Published, isolated: Path) -> None:
    _install(skill.full, "--agent", "all")
    _install(f"{skill.full}@1.0.0", "--global", "--agent", "claude")
    result = run("remove", skill.name)
    assert result.exit_code == 0, result.output
    for directory in {agent.project_dir for agent in AGENTS}:
        assert list((isolated / directory).iterdir()) == [], directory
    assert _lock(isolated) == {}
    assert (Path.home() / ".claude" / "skills" / skill.name).is_dir()  # other scope untouched
    again = run("remove", skill.full)
    assert again.exit_code == ExitCode.NOT_FOUND
    assert "skreg list" in again.stderr
    assert run("remove", skill.name, "--global").exit_code == 0
    assert not (Path.home() / ".claude" / "skills" / skill.name).exists()


def test_dry_run_changes_nothing(skill: Published, isolated: Path) -> None:
    result = run("install", skill.full, "--agent", "all", "--dry-run")
    assert result.exit_code == 0, result.output
    assert f"would install: .claude/skills/{skill.name}" in result.stdout
    assert files_under(isolated) == set()


def test_list_marks_outdated_yanked_modified_and_missing(
    registry: RegistryServer, signed_in: User, skill: Published, isolated: Path
) -> None:
    _install(f"{skill.full}@1.0.0", "--agent", "claude,windsurf")
    listed = run("list")
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.stdout.splitlines() if skill.full in line)
    assert row.split()[1:4] == ["1.0.0", "2.0.0", "outdated"]

    yank(registry.url, signed_in, skill.full, "1.0.0")
    (isolated / ".claude" / "skills" / skill.name / "SKILL.md").write_text("edited\n")
    shutil.rmtree(isolated / ".windsurf" / "skills" / skill.name)
    report = json.loads(run("list", "--json").stdout)["skills"][0]
    assert report["name"] == skill.full
    assert (report["version"], report["latest"], report["yanked"]) == ("1.0.0", "2.0.0", True)
    assert report["marks"] == ["outdated", "yanked", "modified", "missing"]
    assert report["copies"] == {
        f".claude/skills/{skill.name}": "modified",
        f".windsurf/skills/{skill.name}": "missing",
    }
    offline = json.loads(run("list", "--offline", "--json").stdout)["skills"][0]
    assert offline["latest"] is None
    assert offline["marks"] == ["modified", "missing"]


def test_exact_resolution_and_its_errors(skill: Published, isolated: Path) -> None:
    missing = run("install", f"{skill.full}-typo")
    assert missing.exit_code == ExitCode.NOT_FOUND
    assert f"skill {skill.full}-typo not found" in missing.stderr
    assert "skreg search" in missing.stderr
    no_match = run("install", f"{skill.full}@^3")
    assert no_match.exit_code == ExitCode.NOT_FOUND
    assert "available versions: 2.0.0, 1.1.0, 1.0.0" in no_match.stderr
    assert files_under(isolated) == set()
