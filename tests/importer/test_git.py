"""The hardened git layer against real git: timeouts kill the whole process tree, the
workspace is always removed, the size cap aborts clones, and nothing from the service's
own environment (GIT_DIR, global config, hooks) can steer a clone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from skreg_importer.gitops.clone import GitAuth, GitClient, GitPolicy, workspace
from skreg_importer.gitops.runner import GitFailed, GitTimedOut, RepoTooLarge
from skreg_importer.gitops.urls import parse_repo_url

from tests.importer.gitrepos import GitDaemon, Repo


def _client(**overrides: object) -> GitClient:
    values: dict[str, object] = {"allow_local": True, "timeout": 20.0, "max_repo_bytes": 50 * 2**20}
    values.update(overrides)
    return GitClient(GitPolicy(**values))  # type: ignore[arg-type]


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                cmdline = handle.read().decode("utf-8", "replace")
            with open(f"/proc/{entry}/stat") as handle:
                zombie = handle.read().split(") ", 1)[1].startswith("Z")
        except OSError:
            continue
        if text in cmdline and not zombie:
            found.append(int(entry))
    return found


@pytest.mark.parametrize("scheme", ["git", "http"])
def test_clone_timeout_kills_the_process_tree_and_cleans_up(black_hole: int, scheme: str) -> None:
    url = f"{scheme}://127.0.0.1:{black_hole}/stuck.git"
    repo = parse_repo_url(url, allow_local=True)
    with workspace() as space:
        root = space.root
        with pytest.raises(GitTimedOut) as caught:
            _client(timeout=1.0).clone(space, repo, None, GitAuth())
        # git (and for http its git-remote-http child) are gone, not orphaned.
        assert _processes_mentioning(f"127.0.0.1:{black_hole}") == []
    assert caught.value.transient
    assert "took longer than 1 s and was killed" in caught.value.message
    assert not root.exists()


def _fail_inside(holder: list[Path]) -> None:
    with workspace() as space:
        holder.append(space.root)
        (space.root / "left-over").write_text("x")
        raise RuntimeError("boom")


def test_workspace_is_removed_when_the_block_raises() -> None:
    roots: list[Path] = []
    with pytest.raises(RuntimeError):
        _fail_inside(roots)
    assert not roots[0].exists()


def test_size_cap_aborts_the_clone(daemon: GitDaemon) -> None:
    repo = daemon.repo("big.git")
    repo.skill("skills/big")
    repo.write("skills/big/blob.bin", os.urandom(3 * 2**20))
    repo.commit()
    url = parse_repo_url(daemon.url("big.git"), allow_local=True)
    with workspace() as space, pytest.raises(RepoTooLarge) as caught:
        _client(max_repo_bytes=2**20).clone(space, url, None, GitAuth())
    assert not caught.value.transient
    assert "larger than 1 MB" in caught.value.message


def test_environment_of_the_service_cannot_steer_git(
    daemon: GitDaemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "hook-ran"
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    for hook in ("post-checkout", "post-merge", "reference-transaction"):
        script = hooks / hook
        script.write_text(f"#!/bin/sh\ntouch {marker}\n")
        script.chmod(0o755)
    config = tmp_path / "evil.gitconfig"
    config.write_text(f"[core]\n\thooksPath = {hooks}\n[protocol]\n\tallow = always\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_DIR", str(tmp_path / "not-a-repo"))
    (tmp_path / "no-objects").mkdir()  # the checkout is read through GitPython: not from here
    monkeypatch.setenv("GIT_OBJECT_DIRECTORY", str(tmp_path / "no-objects"))
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", f"'core.hooksPath'='{hooks}'")
    repo = daemon.repo("plain.git")
    repo.skill("skills/plain")
    commit = repo.commit()
    url = parse_repo_url(daemon.url("plain.git"), allow_local=True)
    with workspace() as space:
        assert _client().clone(space, url, None, GitAuth()).commit == commit
        assert (space.repo / "skills/plain/SKILL.md").is_file()
    assert not marker.exists()


def test_transports_outside_the_policy_are_refused_by_git_itself(tmp_path: Path) -> None:
    # Belt and braces: even if a URL slipped past parse_repo_url, protocol.allow stops it.
    from skreg_importer.gitops.urls import RepoUrl

    sneaky = RepoUrl(
        scheme="https",
        host="example.invalid",
        port=None,
        path="",
        username=None,
        password=None,
        display="ext::sh -c touch% /tmp/pwned",
        git_url=f"ext::sh -c touch% {tmp_path}/pwned",
    )
    with workspace() as space, pytest.raises(GitFailed) as caught:
        _client().clone(space, sneaky, None, GitAuth())
    assert "transport 'ext' not allowed" in caught.value.message
    assert not (tmp_path / "pwned").exists()


def test_ls_remote_resolves_branches_tags_and_head(daemon: GitDaemon) -> None:
    repo: Repo = daemon.repo("refs.git")
    repo.skill("skills/one")
    first = repo.commit("one")
    from tests.importer.gitrepos import git

    git(repo.path, "tag", "-a", "v1", "-m", "v1")
    git(repo.path, "checkout", "-q", "-b", "dev")
    repo.skill("skills/two")
    second = repo.commit("two")
    git(repo.path, "checkout", "-q", "main")
    url = parse_repo_url(daemon.url("refs.git"), allow_local=True)
    client = _client()
    with workspace() as space:
        assert client.remote_refs(space, url, None, GitAuth()).commit == first
        assert client.remote_refs(space, url, "dev", GitAuth()).commit == second
        assert client.remote_refs(space, url, "v1", GitAuth()).commit == first  # peeled tag
        with pytest.raises(GitFailed, match="not found"):
            client.remote_refs(space, url, "nope", GitAuth())
        assert client.clone(space, url, second, GitAuth()).commit == second  # a commit, by fetch
        assert (space.repo / "skills/two/SKILL.md").is_file()


def _tagged_repo(daemon: GitDaemon) -> tuple[Repo, str, str]:
    """`first` tagged v1.0.0 (annotated), one@1.0.0 and nested (a tag of a tag);
    `second`, on main, tagged v2.0.0; a third commit on `dev` tagged dev@3.0.0."""
    from tests.importer.gitrepos import git

    repo: Repo = daemon.repo("tags.git")
    repo.skill("skills/one")
    first = repo.commit("one")
    repo.tag("v1.0.0", annotated=True)
    repo.tag("one@1.0.0")
    git(repo.path, "tag", "-a", "-m", "a tag of a tag", "nested", "v1.0.0")
    repo.skill("skills/two")
    second = repo.commit("two")
    repo.tag("v2.0.0")
    git(repo.path, "checkout", "-q", "-b", "dev")
    repo.skill("skills/three")
    repo.commit("three")
    repo.tag("dev@3.0.0")
    git(repo.path, "checkout", "-q", "main")
    return repo, first, second


def test_tags_on_a_commit_from_ls_remote_annotated_ones_peeled(daemon: GitDaemon) -> None:
    _, first, second = _tagged_repo(daemon)
    url = parse_repo_url(daemon.url("tags.git"), allow_local=True)
    client = _client()
    with workspace() as space:
        listing = client.remote_refs(space, url, None, GitAuth(), None, True)
        assert listing.commit == second
        assert listing.tags_at(first) == ["nested", "one@1.0.0", "v1.0.0"]
        assert listing.tags_at(second) == ["v2.0.0"]
        assert client.remote_refs(space, url, "main", GitAuth()).tags == {}


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        (None, ["v2.0.0"]),  # the default branch
        ("v1.0.0", ["nested", "one@1.0.0", "v1.0.0"]),  # a tag
        ("first", ["nested", "one@1.0.0", "v1.0.0"]),  # a commit, fetched by its id
    ],
)
def test_a_clone_brings_exactly_the_tags_on_its_commit(
    daemon: GitDaemon, ref: str | None, expected: list[str]
) -> None:
    _, first, second = _tagged_repo(daemon)
    url = parse_repo_url(daemon.url("tags.git"), allow_local=True)
    with workspace() as space:
        checkout = _client().clone(space, url, first if ref == "first" else ref, GitAuth())
        assert checkout.commit == (second if ref is None else first)
        assert checkout.tags == expected
    with workspace() as space:  # a source that ignores tags fetches none
        checkout = _client().clone(space, url, ref and first, GitAuth(), tags=False)
        assert (checkout.commit, checkout.tags) == (second if ref is None else first, [])
        assert not (space.repo / ".git/refs/tags").exists() or not any(
            (space.repo / ".git/refs/tags").iterdir()
        )
