"""End to end in embedded mode: real repositories served by `git daemon`, the real catalog.

Covers the happy path, unchanged re-syncs (answered by `ls-remote` without cloning),
updated skills, skills that vanish upstream (deprecated, not deleted), one-off
imports and per-skill invalid results.
"""

from __future__ import annotations

from structlog.testing import capture_logs

from tests.importer.conftest import IMPORTS, Stack
from tests.importer.gitrepos import GitDaemon, Repo


def _outcomes(run: dict) -> dict[str, str]:
    return {r["name"]: r["outcome"] for r in run["results"]}


async def test_happy_path_imports_every_skill(stack: Stack, daemon: GitDaemon, repo: Repo) -> None:
    repo.skill("skills/pdf-tools", description="Work with PDFs.")
    repo.skill(".claude/skills/reviewer")
    repo.skill(".agents/skills/planner")
    repo.skill(".kiro/skills/steering")
    repo.skill("nested/deeper/formatter")
    repo.write("skills/pdf-tools/scripts/run.sh", "#!/bin/sh\necho hi\n", executable=True)
    repo.write("README.md", "not a skill\n")
    commit = repo.commit("skills")
    source = await stack.add_source(daemon.url("skills.git"))

    run = await stack.sync_and_wait(source["id"])

    assert run["state"] == "succeeded", run["error"]
    assert run["commit"] == commit
    assert run["source_id"] == source["id"]
    assert run["started_at"] <= run["finished_at"]
    paths = {r["path"]: (r["name"], r["outcome"]) for r in run["results"]}
    assert paths == {
        ".agents/skills/planner": ("planner", "created"),
        ".claude/skills/reviewer": ("reviewer", "created"),
        ".kiro/skills/steering": ("steering", "created"),
        "nested/deeper/formatter": ("formatter", "created"),
        "skills/pdf-tools": ("pdf-tools", "created"),
    }
    skill = await stack.skill("team", "pdf-tools")
    latest = skill["latest"]
    by_path = {r["path"]: r for r in run["results"]}
    assert latest["digest"] == by_path["skills/pdf-tools"]["digest"]
    assert latest["provenance"]["commit"] == commit
    assert latest["provenance"]["path"] == "skills/pdf-tools"
    assert latest["provenance"]["repository_url"] == daemon.url("skills.git")
    assert latest["provenance"]["source_id"] == source["id"]
    modes = {f["path"]: f["mode"] for f in latest["files"]}
    assert modes == {"SKILL.md": 0o644, "scripts/run.sh": 0o755}
    listed = await stack.client.get(IMPORTS, params={"source_id": source["id"]})
    assert listed.json()["items"][0]["counts"] == {"created": 5}
    again = await stack.client.get(f"/api/v1/sources/{source['id']}")
    assert again.json()["last_commit"] == commit
    assert again.json()["last_run_state"] == "succeeded"


async def test_resync_unchanged_updated_and_vanished(
    stack: Stack, daemon: GitDaemon, repo: Repo
) -> None:
    for name in ("alpha", "beta", "gamma"):
        repo.skill(f"skills/{name}")
    repo.commit("three skills")
    source = await stack.add_source(daemon.url("skills.git"))
    first = await stack.sync_and_wait(source["id"])
    assert _outcomes(first) == {"alpha": "created", "beta": "created", "gamma": "created"}

    # Nothing changed upstream: ls-remote answers, no clone, no new version.
    with capture_logs() as logs:
        second = await stack.sync_and_wait(source["id"])
    assert second["state"] == "succeeded"
    assert second["commit"] == first["commit"]
    assert _outcomes(second) == {"alpha": "unchanged", "beta": "unchanged", "gamma": "unchanged"}
    assert any(entry["event"] == "import.unchanged" for entry in logs)
    assert len(await stack.versions("team", "alpha")) == 1

    # One skill edited, one removed.
    repo.skill("skills/alpha", description="Now with more detail.")
    repo.remove("skills/gamma")
    third_commit = repo.commit("edit alpha, drop gamma")
    third = await stack.sync_and_wait(source["id"])
    assert third["state"] == "succeeded", third["error"]
    assert third["commit"] == third_commit
    assert _outcomes(third) == {"alpha": "updated", "beta": "unchanged"}
    alpha_versions = await stack.versions("team", "alpha")
    assert len(alpha_versions) == 2
    assert len(await stack.versions("team", "beta")) == 1
    gamma = await stack.skill("team", "gamma")  # still there: deprecated, not deleted
    assert gamma["deprecated"] is True
    assert (await stack.skill("team", "alpha"))["deprecated"] is False


async def test_one_off_import_and_subdirectory(stack: Stack, daemon: GitDaemon, repo: Repo) -> None:
    repo.skill("pack/one")
    repo.skill("pack/two")
    repo.skill("elsewhere/three")
    repo.commit()
    response = await stack.client.post(
        IMPORTS,
        json={"url": daemon.url("skills.git"), "namespace": "oneoff", "subdirectory": "/pack/"},
    )
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["state"] in ("queued", "running")
    assert queued["source_id"] is None
    assert queued["subdirectory"] == "pack"
    run = await stack.wait(queued["id"])
    assert _outcomes(run) == {"one": "created", "two": "created"}
    assert (await stack.skill("oneoff", "one"))["name"] == "one"


async def test_missing_subdirectory_fails_the_run_with_a_reason(
    stack: Stack, daemon: GitDaemon, repo: Repo
) -> None:
    repo.skill("skills/solo")
    repo.commit()
    source = await stack.add_source(daemon.url("skills.git"), subdirectory="nope")
    run = await stack.sync_and_wait(source["id"])
    assert run["state"] == "failed"
    assert "subdirectory 'nope' is not in the repository" in run["error"]
    assert run["results"] == []


async def test_one_bad_skill_never_stops_the_others(
    stack: Stack, daemon: GitDaemon, repo: Repo
) -> None:
    repo.skill("skills/good")
    repo.write("skills/no-description/SKILL.md", "---\nname: no-description\n---\nbody\n")
    repo.write("skills/broken-yaml/SKILL.md", "---\nname: [unclosed\n---\n")
    repo.skill("skills/folder-name", name="other-name")
    repo.write(
        "skills/many-problems/SKILL.md",
        "---\nname: Many_Problems\ndescription: ''\nmetadata: 3\n---\n",
    )
    repo.write(
        "skills/lenient/SKILL.md",
        "---\nname: lenient\ndescription: ok\nversion: 2.1.0\ntags: [1, 2]\nauthor: 42\n---\n",
    )
    repo.write(
        "skills/float-version/SKILL.md",
        "---\nname: float-version\ndescription: ok\nversion: 1.10\n---\n",
    )
    repo.write(
        "skills/dated/SKILL.md",
        "---\nname: dated\ndescription: ok\nmetadata:\n  version: 2026-01-05 draft\n---\n",
    )
    repo.commit()
    source = await stack.add_source(daemon.url("skills.git"))

    run = await stack.sync_and_wait(source["id"])

    # Finished, but not every skill made it: `partial`, with counts per outcome.
    assert run["state"] == "partial", run["error"]
    assert run["counts"] == {"created": 5, "invalid": 3}
    results = {r["name"]: r for r in run["results"]}
    assert results["good"]["outcome"] == "created"
    assert results["lenient"]["outcome"] == "created"  # extras are warnings in lenient mode
    assert results["lenient"]["version"] == "2.1.0"
    # `version: 1.10` reads as the text "1.10": padded to semver, with a warning.
    assert (results["float-version"]["outcome"], results["float-version"]["version"]) == (
        "created",
        "1.10.0",
    )
    assert "'1.10' is not semver: read as 1.10.0" in str(results["float-version"]["warnings"])
    # A declared version that is no version at all is ignored: one is generated.
    assert (results["dated"]["outcome"], results["dated"]["version"]) == ("created", "0.1.0")
    assert "not a semver version: ignored" in str(results["dated"]["warnings"])
    for name in ("no-description", "broken-yaml", "many-problems"):
        assert results[name]["outcome"] == "invalid", name
        assert results[name]["version"] is None
    assert {p["path"] for p in results["no-description"]["problems"]} == {"frontmatter.description"}
    many = {p["path"] for p in results["many-problems"]["problems"]}
    assert {"frontmatter.name", "frontmatter.description"} <= many  # every problem, not the first
    # A folder named otherwise is a warning: the skill takes its frontmatter `name`.
    renamed = results["other-name"]
    assert (renamed["path"], renamed["outcome"]) == ("skills/folder-name", "created")
    assert "the folder is 'folder-name' but the field `name` is 'other-name'" in str(
        renamed["warnings"]
    )
    assert (await stack.skill("team", "other-name"))["latest"]["version"] == "0.1.0"
    missing = await stack.client.get("/api/v1/skills/team/folder-name")
    assert missing.status_code == 404
    sources = (await stack.client.get("/api/v1/sources")).json()["items"]
    assert sources[0]["last_run_state"] == "partial"
    assert sources[0]["last_run_counts"] == {"created": 5, "invalid": 3}
    partial = await stack.client.get(IMPORTS, params={"state": "partial"})
    assert [r["id"] for r in partial.json()["items"]] == [run["id"]]
