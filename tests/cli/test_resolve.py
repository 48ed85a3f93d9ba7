"""The registry resolves `latest` and ranges; install, list and update follow its answer.

Imports by older registries generated pre-release versions (`0.0.0-git.<time>.<sha>`);
a skill with only those must install by name, show as outdated once a release
exists, and move to it on `skreg update`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from skreg_cli.errors import ExitCode

from tests.cli.conftest import RegistryServer
from tests.cli.helpers import (
    User,
    files_under,
    locked,
    make_skill,
    publish_marked,
    run,
    unique,
    yank,
)

GENERATED = ("0.0.0-git.1700000000.1a2b3c4", "0.0.0-git.1700000900.5d6e7f8")


def _installed_version(project: Path, name: str) -> str:
    text = (project / ".agents" / "skills" / name / "SKILL.md").read_text()
    return text.rstrip().rsplit("\nv", 1)[1]


def _list_row(full: str) -> dict[str, object]:
    listed = run("list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.stdout)["skills"]
    return next(dict(row) for row in rows if row["name"] == full)


@pytest.mark.parametrize("suffix", ["", "@latest", "@*"])
def test_a_skill_with_only_generated_prereleases_installs_by_name(
    signed_in: User, isolated: Path, tmp_path: Path, suffix: str
) -> None:
    name = unique("imp")
    full = f"{signed_in.username}/{name}"
    source = make_skill(tmp_path, name, version=None)
    for version in GENERATED:
        publish_marked(source, version)

    result = run("install", full + suffix)
    assert result.exit_code == 0, result.output
    assert f"{full}@{GENERATED[1]}" in result.stdout
    assert _installed_version(isolated, name) == GENERATED[1]
    assert locked(isolated, full) == (GENERATED[1], suffix.lstrip("@") or "latest")
    assert _list_row(full)["marks"] == []

    # A release supersedes the generated versions: list says outdated, update moves to it.
    publish_marked(source, "0.1.0")
    row = _list_row(full)
    assert (row["version"], row["latest"], row["marks"]) == (GENERATED[1], "0.1.0", ["outdated"])
    table = run("list")
    line = next(line for line in table.stdout.splitlines() if full in line)
    assert line.split()[1:4] == [GENERATED[1], "0.1.0", "outdated"]

    updated = run("update")
    assert updated.exit_code == 0, updated.output
    assert f"{full}@0.1.0 (was {GENERATED[1]})" in updated.stdout
    assert locked(isolated, full)[0] == "0.1.0"
    assert _installed_version(isolated, name) == "0.1.0"
    assert _list_row(full)["marks"] == []


def test_install_ranges_skip_yanked_and_prereleases(
    registry: RegistryServer, signed_in: User, isolated: Path, tmp_path: Path
) -> None:
    name = unique("rng")
    full = f"{signed_in.username}/{name}"
    source = make_skill(tmp_path, name)
    for version in ("1.0.0", "1.1.0", "1.2.0", "1.3.0-rc.1", "2.0.0"):
        publish_marked(source, version)
    yank(registry.url, signed_in, full, "1.2.0")
    cases = {
        "^1": "1.1.0",  # 1.2.0 is yanked, 1.3.0-rc.1 is a pre-release
        ">=1.0.0,<2.0.0": "1.1.0",
        "~1.0": "1.0.0",
        "^1.3.0-rc.1": "1.3.0-rc.1",
        "*": "2.0.0",
    }
    for spec, expected in cases.items():
        result = run("install", f"{full}@{spec}", "--json")
        assert result.exit_code == 0, (spec, result.output)
        assert json.loads(result.stdout)["skills"][0]["version"] == expected, spec
        assert locked(isolated, full) == (expected, spec)

    pinned = run("install", f"{full}@1.2.0")  # an exact pin still reaches a yanked version
    assert pinned.exit_code == 0, pinned.output
    assert "is yanked: broken" in pinned.stderr
    assert locked(isolated, full)[0] == "1.2.0"
    assert _list_row(full)["marks"] == ["outdated", "yanked"]


def test_no_match_is_a_clear_error_and_writes_nothing(
    registry: RegistryServer, signed_in: User, isolated: Path, tmp_path: Path
) -> None:
    name = unique("nom")
    full = f"{signed_in.username}/{name}"
    publish_marked(make_skill(tmp_path, name), "1.0.0")
    yank(registry.url, signed_in, full, "1.0.0")
    for spec, shown in (("", "latest"), ("@^1", "^1"), ("@>=2", ">=2")):
        result = run("install", full + spec)
        assert result.exit_code == ExitCode.NOT_FOUND, result.output
        assert f"no version of {full} matches {shown}" in result.stderr
        assert "available versions: 1.0.0 (yanked)" in result.stderr
        assert "Traceback" not in result.output
    assert files_under(isolated) == set()

    gone = run("install", f"{full}-nope@^1")
    assert gone.exit_code == ExitCode.NOT_FOUND
    assert f"skill {full}-nope not found" in gone.stderr
    bad = run("install", f"{full}@^one")
    assert bad.exit_code == ExitCode.USAGE  # caught before any request
    assert "invalid range term" in bad.stderr
