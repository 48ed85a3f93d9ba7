"""Imported Git skills, end to end: import, `skreg install ns/name`, upstream change, update.

Each real-world pattern of public skill collections gets a fixture repository made
with the real `git`, imported by the real all-in-one registry process (its
in-process queue), then installed by name with the real `skreg` and compared byte
for byte (modes included) with the repository's folder. A new upstream commit and
a sync make `skreg list` report the skill outdated and `skreg update` install it.
Runs on SQLite and PostgreSQL (the `registry` fixture's two backends).
"""

from __future__ import annotations

import json
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.conftest import ADMIN_PASSWORD, RegistryServer
from tests.cli.helpers import run, unique
from tests.importer.gitrepos import Repo, git

LONG_DESCRIPTION = "Turns long specifications into checklists. " * 30  # ~1,290 characters


@dataclass
class Admin:
    """The registry's admin over HTTP."""

    http: httpx.Client

    def add_source(self, repo: Repo, namespace: str, **options: Any) -> str:
        body = {"url": repo.url, "namespace": namespace, **options}
        response = self.http.post("/api/v1/sources", json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def sync(self, source_id: str) -> dict[str, Any]:
        """Sync a source and wait for its run to end; returns the finished run."""
        response = self.http.post(f"/api/v1/sources/{source_id}/sync")
        assert response.status_code == 202, response.text
        run_id = response.json()["id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            current = self.http.get(f"/api/v1/imports/{run_id}").json()
            if current["state"] not in ("queued", "running"):
                return dict(current)
            time.sleep(0.1)
        raise AssertionError(f"run {run_id} did not finish: {current}")


@pytest.fixture
def admin(registry: RegistryServer) -> Iterator[Admin]:
    with httpx.Client(base_url=registry.url, timeout=30) as http:
        login = http.post(
            "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        assert login.status_code == 200, login.text
        http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        yield Admin(http)


@pytest.fixture
def reader(registry: RegistryServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """`skreg` talks to the registry anonymously (installing needs no account)."""
    monkeypatch.setenv("SKREG_URL", registry.url)


def outcomes(run_: dict[str, Any]) -> dict[str, str]:
    return {r["path"]: r["outcome"] for r in run_["results"]}


def tree(root: Path) -> dict[str, tuple[bytes, bool]]:
    """Every file under root: content and whether it is executable."""
    return {
        str(p.relative_to(root)): (p.read_bytes(), bool(p.stat().st_mode & stat.S_IXUSR))
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def install(full_name: str) -> None:
    result = run("install", full_name, "--agent", "claude")
    assert result.exit_code == 0, result.output


def installed(project: Path, name: str) -> Path:
    return project / ".claude" / "skills" / name


def listed(full_name: str) -> dict[str, Any]:
    result = run("list", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)["skills"]}
    return dict(rows[full_name])


def assert_update_follows(
    admin: Admin, source_id: str, repo: Repo, rel: str, full: str, project: Path
) -> None:
    """An upstream edit, then a sync: `skreg list` says outdated, `skreg update` installs it."""
    name = full.split("/", 1)[1]
    before = listed(full)["version"]
    repo.write(f"{rel}/NOTES.md", f"changed upstream {unique('n')}\n")
    repo.commit("upstream change")
    synced = admin.sync(source_id)
    assert synced["state"] in ("succeeded", "partial"), synced
    status = listed(full)
    assert "outdated" in status["marks"], status
    assert status["latest"] != before
    result = run("update", full)
    assert result.exit_code == 0, result.output
    after = listed(full)
    assert after["version"] == status["latest"]
    assert "outdated" not in after["marks"]
    assert tree(installed(project, name)) == tree(repo.path / rel)


pytestmark = pytest.mark.usefixtures("reader")


def test_unversioned_skill_installs_by_name_and_updates(
    admin: Admin, isolated: Path, tmp_path: Path
) -> None:
    namespace = unique("plain").replace("-", "")
    repo = Repo(tmp_path / "repo")
    repo.skill("skills/plain-tool")
    repo.write("skills/plain-tool/scripts/run.sh", "#!/bin/sh\necho hi\n", executable=True)
    body = (
        "---\nname: doc-links\ndescription: Links and images.\n---\n"
        "<!-- a maintainer's note -->\nSee [the guide](references/guide.md), "
        "run `./scripts/x.py`, ![diagram](assets/diagram.png).\n"
    )
    repo.write("skills/doc-links/SKILL.md", body)
    repo.write("skills/doc-links/references/guide.md", "# Guide\n")
    repo.write("skills/doc-links/scripts/x.py", "print('x')\n", executable=True)
    repo.write("skills/doc-links/assets/diagram.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    repo.commit("initial")
    source = admin.add_source(repo, namespace)

    first = admin.sync(source)
    assert first["state"] == "succeeded", first
    for name in ("plain-tool", "doc-links"):
        install(f"{namespace}/{name}")
        assert tree(installed(isolated, name)) == tree(repo.path / "skills" / name)
        assert "-" not in listed(f"{namespace}/{name}")["version"]  # a release, not a prerelease
    assert_update_follows(
        admin, source, repo, "skills/plain-tool", f"{namespace}/plain-tool", isolated
    )


def test_tagged_commits_give_their_versions(admin: Admin, isolated: Path, tmp_path: Path) -> None:
    namespace = unique("tags").replace("-", "")
    repo = Repo(tmp_path / "repo")
    repo.skill("alpha")
    repo.skill("beta")
    repo.commit("initial")
    git(repo.path, "tag", "v1.4.0")
    git(repo.path, "tag", "beta@2.1.0")
    source = admin.add_source(repo, namespace)
    done = admin.sync(source)
    assert done["state"] == "succeeded", done
    versions = {r["name"]: r["version"] for r in done["results"]}
    assert versions == {"alpha": "1.4.0", "beta": "2.1.0"}
    install(f"{namespace}/alpha")
    install(f"{namespace}/beta")
    assert listed(f"{namespace}/beta")["version"] == "2.1.0"

    repo.write("alpha/NOTES.md", "more\n")
    repo.commit("alpha changes")
    git(repo.path, "tag", "alpha-v1.5.0")
    again = admin.sync(source)
    assert again["state"] == "succeeded", again
    assert "outdated" in listed(f"{namespace}/alpha")["marks"]
    assert run("update").exit_code == 0
    assert listed(f"{namespace}/alpha")["version"] == "1.5.0"
    assert tree(installed(isolated, "alpha")) == tree(repo.path / "alpha")


def test_declared_version_edited_without_bump_is_a_conflict(
    admin: Admin, isolated: Path, tmp_path: Path
) -> None:
    namespace = unique("decl").replace("-", "")
    repo = Repo(tmp_path / "repo")
    repo.skill("declared", extra="metadata:\n  version: 1.0.0\n")
    repo.commit("initial")
    source = admin.add_source(repo, namespace)
    assert admin.sync(source)["state"] == "succeeded"
    install(f"{namespace}/declared")
    assert listed(f"{namespace}/declared")["version"] == "1.0.0"

    repo.write("declared/NOTES.md", "edited, version not bumped\n")
    repo.commit("edit without bump")
    conflicted = admin.sync(source)
    assert conflicted["state"] == "partial", conflicted
    [result] = conflicted["results"]
    assert result["outcome"] == "conflict"
    assert "version" in json.dumps(result["problems"]).lower()
    assert "outdated" not in listed(f"{namespace}/declared")["marks"]

    repo.skill("declared", extra="metadata:\n  version: 1.1.0\n")
    repo.commit("bump")
    assert admin.sync(source)["state"] == "succeeded"
    assert "outdated" in listed(f"{namespace}/declared")["marks"]
    assert run("update").exit_code == 0
    assert listed(f"{namespace}/declared")["version"] == "1.1.0"
    assert tree(installed(isolated, "declared")) == tree(repo.path / "declared")


def test_real_world_layouts(admin: Admin, isolated: Path, tmp_path: Path) -> None:
    """Name != folder, dot folders, odd metadata, long descriptions, a duplicate name."""
    namespace = unique("wild").replace("-", "")
    repo = Repo(tmp_path / "repo")
    repo.skill("skills/react-best-practices", name="vercel-react-best-practices")
    repo.skill(".curated/dotted")
    repo.skill("skills/listy", extra="metadata:\n  tags: [pdf, forms]\n  owners:\n    a: b\n")
    repo.skill("skills/wordy", description=LONG_DESCRIPTION)
    repo.skill("skills/twin")
    repo.skill("preview/twin", description="The next version, not released yet.")
    repo.commit("initial")
    source = admin.add_source(repo, namespace)

    first = admin.sync(source)
    assert first["state"] == "partial", first  # the twins are a duplicate
    by_path = outcomes(first)
    assert by_path["skills/twin"] == by_path["preview/twin"] == "duplicate"
    for rel, name in (
        ("skills/react-best-practices", "vercel-react-best-practices"),
        (".curated/dotted", "dotted"),
        ("skills/listy", "listy"),
        ("skills/wordy", "wordy"),
    ):
        assert by_path[rel] == "created", first
        install(f"{namespace}/{name}")
        assert tree(installed(isolated, name)) == tree(repo.path / rel)
    assert run("install", f"{namespace}/twin", "--agent", "claude").exit_code != 0
    listy = admin.http.get(f"/api/v1/skills/{namespace}/listy").json()
    assert {"pdf", "forms"} <= set(listy["tags"]), listy  # tag browsing is not empty

    patched = admin.http.patch(f"/api/v1/sources/{source}", json={"exclude": ["preview/**"]})
    assert patched.status_code == 200, patched.text
    filtered = admin.sync(source)
    assert filtered["state"] == "succeeded", filtered
    assert "preview/twin" not in outcomes(filtered)
    install(f"{namespace}/twin")
    assert tree(installed(isolated, "twin")) == tree(repo.path / "skills" / "twin")
    assert_update_follows(
        admin,
        source,
        repo,
        "skills/react-best-practices",
        f"{namespace}/vercel-react-best-practices",
        isolated,
    )


def test_tagged_skills_wait_for_their_next_tag(
    admin: Admin, isolated: Path, tmp_path: Path
) -> None:
    """Untagged commits after a tag publish nothing (a generated 1.1.0 would take the
    number of the next tag); tagging the commit afterwards, with no new commit, does."""
    namespace = unique("next").replace("-", "")
    repo = Repo(tmp_path / "repo")
    repo.skill("gamma")
    repo.commit("initial")
    git(repo.path, "tag", "v1.0.0")
    source = admin.add_source(repo, namespace)
    assert admin.sync(source)["state"] == "succeeded"
    install(f"{namespace}/gamma")
    assert listed(f"{namespace}/gamma")["version"] == "1.0.0"

    repo.write("gamma/NOTES.md", "work in progress\n")
    repo.commit("untagged work")
    waiting = admin.sync(source)
    assert waiting["state"] == "succeeded", waiting
    [result] = waiting["results"]
    assert (result["outcome"], result["version"]) == ("unchanged", "1.0.0")
    assert "tag" in json.dumps(result["warnings"])
    assert "outdated" not in listed(f"{namespace}/gamma")["marks"]

    git(repo.path, "tag", "v1.1.0")  # the same commit, tagged afterwards
    tagged = admin.sync(source)
    assert tagged["state"] == "succeeded", tagged
    assert [r["version"] for r in tagged["results"]] == ["1.1.0"]
    assert "outdated" in listed(f"{namespace}/gamma")["marks"]
    assert run("update").exit_code == 0
    assert listed(f"{namespace}/gamma")["version"] == "1.1.0"
    assert tree(installed(isolated, "gamma")) == tree(repo.path / "gamma")
