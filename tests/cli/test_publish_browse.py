"""publish, search and info against the real registry, with the registry's own errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from skreg_cli.errors import ExitCode

from tests.cli.conftest import RegistryServer
from tests.cli.helpers import User, make_skill, register, run, unique


def _publish(directory: Path, *args: str) -> dict[str, object]:
    result = run("publish", str(directory), "--json", *args)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_publish_dry_run_idempotent_retry_and_conflict(
    registry: RegistryServer, signed_in: User, isolated: Path
) -> None:
    name = unique("pub")
    directory = make_skill(isolated, name)
    local = json.loads(run("validate", str(directory), "--json").stdout)["digest"]
    full = f"{signed_in.username}/{name}"

    dry = run("publish", str(directory), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"would publish {full}@1.0.0" in dry.stdout
    assert run("info", full).exit_code == ExitCode.NOT_FOUND  # nothing was written

    first = run("publish", str(directory))
    assert first.exit_code == 0, first.output
    assert first.stdout.strip() == f"published {full}@1.0.0 {local}"

    again = run("publish", str(directory))
    assert again.exit_code == 0, again.output
    assert "already published" in again.stdout

    (directory / "SKILL.md").write_text((directory / "SKILL.md").read_text() + "changed\n")
    conflict = run("publish", str(directory))
    assert conflict.exit_code == ExitCode.CONFLICT, conflict.output
    assert "hint: versions are immutable" in conflict.stderr

    second = _publish(directory, "--version", "1.1.0")
    assert second["version"] == "1.1.0"
    assert second["created"] is True
    assert second["digest"] != local


def test_publish_errors_from_the_registry(
    registry: RegistryServer, signed_in: User, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = register(registry.url)
    directory = make_skill(isolated, unique("perm"))
    forbidden = run("publish", str(directory), "--namespace", other.username)
    assert forbidden.exit_code == ExitCode.FORBIDDEN, forbidden.output
    assert "hint: your account or API key may not do this" in forbidden.stderr

    monkeypatch.setenv("SKREG_TOKEN", "sr_nothing_valid")
    unauthenticated = run("publish", str(directory))
    assert unauthenticated.exit_code == ExitCode.UNAUTHENTICATED, unauthenticated.output
    assert "skreg login" in unauthenticated.stderr


def test_an_invalid_skill_is_refused_before_upload(
    registry: RegistryServer, signed_in: User, isolated: Path
) -> None:
    name = unique("bad")
    directory = make_skill(isolated, name)
    (directory / "SKILL.md").write_text(f"---\nname: {name}\n---\n")
    result = run("publish", str(directory))
    assert result.exit_code == ExitCode.FAILED
    assert "frontmatter.description: is required" in result.stderr
    assert run("info", f"{signed_in.username}/{name}").exit_code == ExitCode.NOT_FOUND


def test_search_and_info(registry: RegistryServer, signed_in: User, isolated: Path) -> None:
    name, tag = unique("find"), unique("tag")
    directory = make_skill(isolated, name, description=f"Fill forms quickly {name}")
    skill_md = directory / "SKILL.md"
    skill_md.write_text(skill_md.read_text().replace("metadata:\n", f"metadata:\n  tags: {tag}\n"))
    v1 = _publish(directory)
    v2 = _publish(directory, "--version", "1.1.0")
    full = f"{signed_in.username}/{name}"

    found = run("search", name)
    assert found.exit_code == 0, found.output
    assert full in found.stdout
    assert "1.1.0" in found.stdout
    page = json.loads(run("search", "--tag", tag, "--json").stdout)
    assert [f"{s['namespace']}/{s['name']}" for s in page["items"]] == [full]
    mine = json.loads(run("search", "--namespace", signed_in.username, "--json").stdout)
    assert {s["namespace"] for s in mine["items"]} == {signed_in.username}
    # A made-up word matches no skill's text; hybrid search may still offer a skill whose
    # meaning is near (random hex words can embed close to one another), never lexically.
    nonsense = json.loads(run("search", unique("nothing"), "--json").stdout)["items"]
    assert all(s["matched"] == ["semantic"] for s in nonsense), nonsense
    typo = run("search", name[:-1] + ("x" if name[-1] != "x" else "y"))  # a misspelt name
    assert f"did you mean: {name.replace('-', ' ')}" in typo.stderr + typo.stdout

    info = run("info", full)
    assert info.exit_code == 0, info.output
    assert "latest: 1.1.0" in info.stdout
    assert f"digest: {v2['digest']}" in info.stdout
    assert "scripts/run.sh" in info.stdout
    assert "versions: 1.1.0, 1.0.0" in info.stdout
    exact = json.loads(run("info", f"{full}@1.0.0", "--json").stdout)
    assert exact["version"]["version"] == "1.0.0"
    assert exact["version"]["digest"] == v1["digest"]
    assert {f["path"] for f in exact["version"]["files"]} == {"SKILL.md", "scripts/run.sh"}
    assert [v["version"] for v in exact["versions"]] == ["1.1.0", "1.0.0"]

    missing = run("info", f"{signed_in.username}/{unique('nope')}")
    assert missing.exit_code == ExitCode.NOT_FOUND
    assert "not found" in missing.stderr
    assert "hint: check the name with `skreg search`" in missing.stderr
