"""Patterns from real skill collections, imported end to end (issue 12).

Each test builds a repository with real `git`, serves it with `git daemon`, syncs it
through the API and checks the run's results and what the catalog now resolves as
`latest` (the server is the only place that resolves it).
"""

from __future__ import annotations

from typing import Any

from skreg_common.db import create_engine
from skreg_importer.runs.models import ImportResult
from sqlalchemy import update
from structlog.testing import capture_logs

from tests.importer.conftest import IMPORTS, SOURCES, Stack
from tests.importer.gitrepos import GitDaemon, Repo


def _by_path(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["path"]: r for r in run["results"]}


def _by_name(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in run["results"]}


async def _latest(stack: Stack, name: str, namespace: str = "team") -> dict[str, Any]:
    skill = await stack.skill(namespace, name)
    assert skill["latest_version"] == skill["latest"]["version"]
    return dict(skill["latest"])


async def _patch(stack: Stack, source_id: str, **fields: Any) -> dict[str, Any]:
    response = await stack.client.patch(f"{SOURCES}/{source_id}", json=fields)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_no_version_anywhere_generates_releases_and_latest_moves(
    stack: Stack, daemon: GitDaemon, repo: Repo
) -> None:
    repo.skill("skills/plain")
    repo.write("skills/plain/scripts/run.sh", "#!/bin/sh\necho hi\n", executable=True)
    repo.write("skills/plain/references/guide.md", "# Guide\n")
    first_commit = repo.commit("first")
    source = await stack.add_source(daemon.url("skills.git"))

    first = await stack.sync_and_wait(source["id"])
    assert first["state"] == "succeeded", first["error"]
    assert _by_name(first)["plain"]["version"] == "0.1.0"
    latest = await _latest(stack, "plain")
    assert latest["version"] == "0.1.0"
    assert latest["provenance"]["commit"] == first_commit
    modes = {f["path"]: f["mode"] for f in latest["files"]}
    assert modes == {"SKILL.md": 0o644, "references/guide.md": 0o644, "scripts/run.sh": 0o755}

    repo.skill("skills/plain", description="Changed upstream.")
    second_commit = repo.commit("edit")
    second = await stack.sync_and_wait(source["id"])
    assert (_by_name(second)["plain"]["outcome"], _by_name(second)["plain"]["version"]) == (
        "updated",
        "0.2.0",
    )
    latest = await _latest(stack, "plain")
    assert latest["version"] == "0.2.0"
    assert latest["provenance"]["commit"] == second_commit
    assert latest["description"] == "Changed upstream."

    # A commit that leaves the skill alone makes no version.
    repo.write("README.md", "elsewhere\n")
    repo.commit("readme")
    third = await stack.sync_and_wait(source["id"])
    assert _by_name(third)["plain"]["outcome"] == "unchanged"
    assert [v["version"] for v in await stack.versions("team", "plain")] == ["0.2.0", "0.1.0"]


async def test_semver_tags_plain_and_monorepo_forms(
    stack: Stack, daemon: GitDaemon, repo: Repo
) -> None:
    repo.skill("skills/alpha")
    repo.skill("skills/beta")
    repo.skill("skills/gamma", extra="metadata:\n  version: 9.9.9\n")
    repo.skill("skills/delta")
    repo.commit("tagged")
    repo.tag("v1.4.0", annotated=True)  # plain: every skill without a tag of its own
    repo.tag("alpha@2.0.0")
    repo.tag("beta-v3.1.0", annotated=True)
    repo.tag("delta@v0.5.0")
    repo.tag("release-candidate")  # not a version: ignored
    source = await stack.add_source(daemon.url("skills.git"))

    run = await stack.sync_and_wait(source["id"])
    assert run["state"] == "succeeded", run["error"]
    versions = {name: r["version"] for name, r in _by_name(run).items()}
    # A tag wins over a declared metadata.version (gamma).
    assert versions == {"alpha": "2.0.0", "beta": "3.1.0", "gamma": "1.4.0", "delta": "0.5.0"}
    alpha = await _latest(stack, "alpha")
    assert (alpha["version"], alpha["provenance"]["tag"]) == ("2.0.0", "alpha@2.0.0")
    assert (await _latest(stack, "gamma"))["provenance"]["tag"] == "v1.4.0"

    # A plain tag without `v`, on a commit that changes only gamma.
    repo.skill("skills/gamma", description="Better.", extra="metadata:\n  version: 9.9.9\n")
    repo.commit("gamma")
    repo.tag("4.0.0")
    second = await stack.sync_and_wait(source["id"])
    outcomes = {name: (r["outcome"], r["version"]) for name, r in _by_name(second).items()}
    assert outcomes["gamma"] == ("updated", "4.0.0")
    assert outcomes["alpha"] == ("unchanged", "2.0.0")  # same content: no version from 4.0.0
    assert (await _latest(stack, "gamma"))["version"] == "4.0.0"


async def test_declared_version_edited_without_a_bump(
    stack: Stack, daemon: GitDaemon, repo: Repo
) -> None:
    declared = "metadata:\n  version: 1.0.0\n"
    repo.skill("skills/declared", extra=declared)
    repo.commit()
    source = await stack.add_source(daemon.url("skills.git"))
    assert source["version_policy"] == "declared"
    first = await stack.sync_and_wait(source["id"])
    assert _by_name(first)["declared"]["version"] == "1.0.0"

    repo.skill("skills/declared", description="Edited, not bumped.", extra=declared)
    repo.commit("edit")
    second = await stack.sync_and_wait(source["id"])
    assert second["state"] == "partial"
    assert second["counts"] == {"conflict": 1}
    result = _by_name(second)["declared"]
    assert result["outcome"] == "conflict"
    message = result["problems"][0]["message"]
    assert "metadata.version still says 1.0.0" in message
    assert "bump metadata.version in SKILL.md" in message
    assert "version_policy to 'generate_on_conflict'" in message
    assert (await _latest(stack, "declared"))["version"] == "1.0.0"

    # The admin lets the registry number changed content: the next sync takes it.
    patched = await _patch(stack, source["id"], version_policy="generate_on_conflict")
    assert patched["version_policy"] == "generate_on_conflict"
    third = await stack.sync_and_wait(source["id"])
    assert third["state"] == "succeeded", third
    result = _by_name(third)["declared"]
    assert (result["outcome"], result["version"]) == ("updated", "1.1.0")
    assert "unchanged version 1.0.0" in str(result["warnings"])
    latest = await _latest(stack, "declared")
    assert (latest["version"], latest["description"]) == ("1.1.0", "Edited, not bumped.")


async def test_policy_generated_ignores_tags_and_declared_versions(
    stack: Stack, daemon: GitDaemon, repo: Repo
) -> None:
    repo.skill("skills/declared", extra="metadata:\n  version: 5.0.0\n")
    repo.commit()
    repo.tag("v7.0.0")
    source = await stack.add_source(daemon.url("skills.git"), version_policy="generated")
    run = await stack.sync_and_wait(source["id"])
    assert _by_name(run)["declared"]["version"] == "0.1.0"
    assert (await _latest(stack, "declared"))["version"] == "0.1.0"


async def test_same_name_twice_is_duplicate_and_never_flip_flops(
    stack: Stack, daemon: GitDaemon, repo: Repo
) -> None:
    repo.skill("skills/twin", description="The real one.")
    repo.skill("preview/twin", description="A preview copy.")
    repo.skill("copies/a/same")  # identical copies: the first found is imported
    repo.skill("copies/b/same")
    repo.commit()
    source = await stack.add_source(daemon.url("skills.git"))

    for sync in range(2):  # a second sync after an upstream commit changes nothing
        run = await stack.sync_and_wait(source["id"])
        assert run["state"] == "partial", run
        results = _by_path(run)
        assert results["skills/twin"]["outcome"] == "duplicate"
        assert results["preview/twin"]["outcome"] == "duplicate"
        message = results["skills/twin"]["problems"][0]["message"]
        assert "'skills/twin'" in message
        assert "'preview/twin'" in message
        assert "path filters" in message
        assert results["copies/a/same"]["outcome"] == ("created" if sync == 0 else "unchanged")
        assert results["copies/b/same"]["outcome"] == "duplicate"
        assert "'copies/a/same'" in results["copies/b/same"]["problems"][0]["message"]
        assert run["counts"] == {
            "duplicate": 3,
            "created" if sync == 0 else "unchanged": 1,
        }
        missing = await stack.client.get("/api/v1/skills/team/twin")
        assert missing.status_code == 404
        repo.write("README.md", f"sync {sync}\n")
        repo.commit("touch")
    assert len(await stack.versions("team", "same")) == 1

    # The path filters choose: the preview copy is excluded, the real one imported.
    await _patch(stack, source["id"], exclude=["preview/**"])
    chosen = await stack.sync_and_wait(source["id"])
    assert "preview/twin" not in _by_path(chosen)
    assert _by_path(chosen)["skills/twin"]["outcome"] == "created"
    assert (await _latest(stack, "twin"))["description"] == "The real one."
    repo.write("README.md", "again\n")
    repo.commit()
    again = await stack.sync_and_wait(source["id"])
    assert _by_path(again)["skills/twin"]["outcome"] == "unchanged"
    assert len(await stack.versions("team", "twin")) == 1


async def test_dot_folders_are_found_and_filters_choose(
    stack: Stack, daemon: GitDaemon, repo: Repo
) -> None:
    repo.skill(".curated/curated-one")
    repo.skill(".system/system-one")
    repo.skill(".claude/skills/claude-one")
    repo.skill("skills/kept")
    repo.skill("work/drafts/draft-one")
    repo.commit()

    everything = await stack.add_source(daemon.url("skills.git"), namespace="all")
    run = await stack.sync_and_wait(everything["id"])
    assert set(_by_path(run)) == {
        ".curated/curated-one",
        ".system/system-one",
        ".claude/skills/claude-one",
        "skills/kept",
        "work/drafts/draft-one",
    }

    filtered = await stack.add_source(
        daemon.url("skills.git"),
        namespace="filtered",
        exclude=[".claude/**", "**/drafts", "./.claude/**/"],
    )
    assert filtered["exclude"] == [".claude/**", "**/drafts"]  # trimmed, repeats dropped
    run = await stack.sync_and_wait(filtered["id"])
    assert set(_by_path(run)) == {".curated/curated-one", ".system/system-one", "skills/kept"}

    included = await stack.add_source(
        daemon.url("skills.git"), namespace="included", include=["skills", ".curated/*"]
    )
    run = await stack.sync_and_wait(included["id"])
    assert set(_by_path(run)) == {".curated/curated-one", "skills/kept"}
    shown = (await stack.client.get(f"{SOURCES}/{included['id']}")).json()
    assert (shown["include"], shown["exclude"]) == (["skills", ".curated/*"], [])

    bad = await stack.client.post(
        SOURCES,
        json={"url": daemon.url("skills.git"), "namespace": "bad", "exclude": ["/abs", "x/[a"]},
    )
    assert bad.status_code == 422
    assert {e["path"] for e in bad.json()["errors"]} == {"exclude[0]", "exclude[1]"}


async def test_list_and_mapping_metadata_keywords_and_long_descriptions(
    stack: Stack, daemon: GitDaemon, repo: Repo
) -> None:
    repo.write(
        "skills/list-meta/SKILL.md",
        "---\nname: list-meta\ndescription: ok\nmetadata:\n  - a\n  - b\n---\nbody\n",
    )
    repo.write(
        "skills/map-meta/SKILL.md",
        "---\nname: map-meta\ndescription: ok\nmetadata:\n  tags: [PDF, docs]\n"
        "  openclaw:\n    requires: [python]\n---\nbody\n",
    )
    repo.write(
        "skills/keywords/SKILL.md",
        "---\nname: keywords\ndescription: ok\nkeywords: [Search, web]\ntags: 'fast, web'\n"
        "---\nbody\n",
    )
    long_text = "Long. " * 300  # 1,800 characters
    repo.write(
        "skills/long-description/SKILL.md",
        f"---\nname: long-description\ndescription: {long_text}\n---\nbody\n",
    )
    repo.commit()
    source = await stack.add_source(daemon.url("skills.git"))

    run = await stack.sync_and_wait(source["id"])
    assert run["state"] == "succeeded", run
    results = _by_name(run)
    assert {r["outcome"] for r in results.values()} == {"created"}
    assert "frontmatter.metadata" in {w["path"] for w in results["list-meta"]["warnings"]}
    assert "frontmatter.metadata.openclaw" in {w["path"] for w in results["map-meta"]["warnings"]}
    assert "cut to 1024" in str(results["long-description"]["warnings"])
    assert (await stack.skill("team", "map-meta"))["tags"] == ["pdf", "docs"]
    assert (await stack.skill("team", "keywords"))["tags"] == ["fast", "web", "search"]
    described = await _latest(stack, "long-description")
    assert len(described["description"]) == 1024
    assert described["description"].endswith("\u2026")
    tags = (await stack.client.get("/api/v1/tags")).json()["items"]
    assert {"pdf", "docs", "search", "web", "fast"} <= {t["tag"] for t in tags}


async def test_old_generated_versions_are_superseded_by_the_next_sync(
    stack: Stack, daemon: GitDaemon, repo: Repo
) -> None:
    repo.skill("skills/old")
    repo.commit()
    source = await stack.add_source(daemon.url("skills.git"))
    first = await stack.sync_and_wait(source["id"])
    assert _by_name(first)["old"]["version"] == "0.1.0"
    # As an earlier registry release left it: the run recorded a 0.0.0-git pre-release.
    # Our own engine: the app's runs on the test client's event loop, not this one.
    engine = create_engine(stack.settings.database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                update(ImportResult)
                .where(ImportResult.run_id == first["id"])
                .values(version="0.0.0-git.20260101000000.gabcdef0")
            )
    finally:
        await engine.dispose()
    # The remote did not move, but the sync clones again rather than trust the old run.
    with capture_logs() as logs:
        second = await stack.sync_and_wait(source["id"])
    assert not any(entry["event"] == "import.unchanged" for entry in logs)
    assert (_by_name(second)["old"]["outcome"], _by_name(second)["old"]["version"]) == (
        "unchanged",
        "0.1.0",
    )
    with capture_logs() as logs:
        third = await stack.sync_and_wait(source["id"])
    assert any(entry["event"] == "import.unchanged" for entry in logs)
    assert third["state"] == "succeeded"


async def test_runs_list_state_and_counts_for_the_cli_and_ui(
    stack: Stack, daemon: GitDaemon, repo: Repo
) -> None:
    repo.skill("skills/fine")
    repo.write("skills/broken/SKILL.md", "---\nname: broken\n---\n")
    repo.commit()
    source = await stack.add_source(daemon.url("skills.git"))
    run = await stack.sync_and_wait(source["id"])
    listed = (await stack.client.get(IMPORTS, params={"source_id": source["id"]})).json()
    assert (listed["items"][0]["state"], listed["items"][0]["counts"]) == (
        "partial",
        {"created": 1, "invalid": 1},
    )
    shown = (await stack.client.get(f"{SOURCES}/{source['id']}")).json()
    assert (shown["last_run_id"], shown["last_run_state"], shown["last_run_counts"]) == (
        run["id"],
        "partial",
        {"created": 1, "invalid": 1},
    )
    bad = await stack.client.get(IMPORTS, params={"state": "nope"})
    assert bad.status_code == 400
    assert "partial" in bad.text
