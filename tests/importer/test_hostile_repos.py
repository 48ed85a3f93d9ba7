"""Hostile repositories: links out of the repository, `..` names, huge files, submodules,
misnamed skills. Each bad skill is an `invalid` result (never a read outside the
checkout); the rest of the repository still imports."""

from __future__ import annotations

import os
import subprocess

from tests.importer.conftest import Stack, open_stack
from tests.importer.gitrepos import GIT_ENV, GitDaemon, Repo, git


def _results(run: dict) -> dict[str, dict]:
    return {r["path"]: r for r in run["results"]}


async def test_links_huge_files_and_misnamed_skills(
    stack: Stack, daemon: GitDaemon, repo: Repo
) -> None:
    repo.skill("skills/fine")
    repo.skill("skills/passwd-link")
    os.symlink("/etc/passwd", repo.path / "skills/passwd-link/passwd")
    repo.skill("skills/dir-link")
    os.symlink("/etc", repo.path / "skills/dir-link/etc")
    repo.write(
        "skills/linked-skill-md/real.md", "---\nname: linked-skill-md\ndescription: x\n---\n"
    )
    os.symlink("real.md", repo.path / "skills/linked-skill-md/SKILL.md")
    os.symlink("/etc", repo.path / "outside")  # a link to a directory with skills? never followed
    repo.skill("skills/huge")
    # 50 MB of zeros: cheap to make, far over the 5 MiB per-file limit.
    os.truncate(repo.write("skills/huge/data.bin", b""), 50 * 2**20)
    repo.skill("skills/..dots")
    repo.skill("skills/misnamed", name="somebody-else")
    repo.commit("hostile")
    source = await stack.add_source(daemon.url("skills.git"))

    run = await stack.sync_and_wait(source["id"])

    assert run["state"] == "partial", run["error"]
    results = _results(run)
    assert set(results) == {
        "skills/fine",
        "skills/passwd-link",
        "skills/dir-link",
        "skills/linked-skill-md",
        "skills/huge",
        "skills/..dots",
        "skills/misnamed",
    }
    assert results["skills/fine"]["outcome"] == "created"
    # A folder named otherwise is only a warning: imported under its frontmatter name.
    assert results["skills/misnamed"]["outcome"] == "created"
    assert results["skills/misnamed"]["name"] == "somebody-else"
    for path in set(results) - {"skills/fine", "skills/misnamed"}:
        assert results[path]["outcome"] == "invalid", path
    assert results["skills/passwd-link"]["problems"] == [
        {"path": "passwd", "message": "symbolic links are not allowed"}
    ]
    assert results["skills/dir-link"]["problems"] == [
        {"path": "etc", "message": "symbolic links are not allowed"}
    ]
    assert "link" in results["skills/linked-skill-md"]["problems"][0]["message"]
    assert "limit" in str(results["skills/huge"]["problems"])
    assert "frontmatter.name" in str(results["skills/..dots"]["problems"])
    assert "the folder is 'misnamed'" in str(results["skills/misnamed"]["warnings"])
    # Nothing of /etc/passwd reached the catalog.
    listing = await stack.client.get("/api/v1/skills", params={"namespace": "team"})
    assert sorted(s["name"] for s in listing.json()["items"]) == ["fine", "somebody-else"]


async def test_dot_dot_tree_entries_fail_the_run_safely(stack: Stack, daemon: GitDaemon) -> None:
    # A tree object naming `..` cannot be made with `git add`; build it by hand.
    repo = daemon.repo("dotdot.git")
    put = subprocess.run(  # noqa: ASYNC221 - test set-up, before anything runs
        ["git", "hash-object", "-w", "--stdin"],
        cwd=repo.path,
        input=b"escaped\n",
        capture_output=True,
        env=GIT_ENV,
        check=True,
    )
    blob_id = put.stdout.decode().strip()
    inner = _mktree(repo, f"100644 blob {blob_id}\tescaped.txt\n")
    skill = _mktree(repo, f"100644 blob {blob_id}\tSKILL.md\n040000 tree {inner}\t..\n")
    top = _mktree(repo, f"040000 tree {skill}\tskill\n")
    commit = git(repo.path, "commit-tree", top, "-m", "evil")
    git(repo.path, "update-ref", "refs/heads/main", commit)
    source = await stack.add_source(daemon.url("dotdot.git"))

    run = await stack.sync_and_wait(source["id"])

    assert run["state"] == "failed"
    assert "invalid path" in run["error"]
    listing = await stack.client.get("/api/v1/skills", params={"namespace": "team"})
    assert listing.json()["items"] == []


def _mktree(repo: Repo, listing: str) -> str:
    done = subprocess.run(
        ["git", "mktree"],
        cwd=repo.path,
        input=listing.encode(),
        capture_output=True,
        env=GIT_ENV,
        check=True,
    )
    return done.stdout.decode().strip()


async def test_submodules_are_not_fetched(stack: Stack, daemon: GitDaemon, repo: Repo) -> None:
    inner = daemon.repo("inner.git")
    inner.skill("skills/from-submodule")
    inner.commit()
    repo.skill("skills/outer")
    git(
        repo.path,
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        daemon.url("inner.git"),
        "vendor/inner",
    )
    repo.commit("with a submodule")
    source = await stack.add_source(daemon.url("skills.git"))
    run = await stack.sync_and_wait(source["id"])
    assert run["state"] == "succeeded", run["error"]
    assert [r["name"] for r in run["results"]] == ["outer"]


async def test_repository_over_the_size_cap_fails_with_the_reason(
    database_url: str, daemon: GitDaemon, repo: Repo
) -> None:
    repo.skill("skills/big")
    repo.write("skills/big/blob.bin", os.urandom(3 * 2**20))
    repo.commit()
    async with open_stack(database_url, importer_max_repo_mb=1) as stack:
        source = await stack.add_source(daemon.url("skills.git"))
        run = await stack.sync_and_wait(source["id"])
    assert run["state"] == "failed"
    assert "repository is larger than 1 MB" in run["error"]
    assert run["attempts"] == 1  # a permanent failure is not retried
