"""The address guard knows the host's own interface addresses, and git connects to the
address that was checked (never to a second DNS answer), with real listeners and real git."""

from __future__ import annotations

import dataclasses
import ipaddress
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from skreg_importer.gitops.clone import GitAuth, GitClient, GitPolicy, workspace
from skreg_importer.gitops.runner import GitFailed
from skreg_importer.gitops.urls import (
    RepoUrl,
    UrlRefused,
    host_addresses,
    parse_repo_url,
    resolve_and_check,
)

from tests.importer.gitrepos import GitDaemon, Repo, git, wait_for_port
from tests.support.processes import free_port

# A name no resolver knows (RFC 2606): a clone of it works only through the pinned address.
UNRESOLVABLE = "pinned.skreg.invalid"


def _client() -> GitClient:
    return GitClient(GitPolicy(allow_local=True, timeout=20.0, max_repo_bytes=50 * 2**20))


def _interface_addresses() -> list[str]:
    """This machine's own addresses that are neither loopback nor link-local."""
    return sorted(str(a) for a in host_addresses() if not (a.is_loopback or a.is_link_local))


@pytest.fixture
def lan_listener() -> Iterator[tuple[str, int, socket.socket]]:
    """A TCP listener on this host's first non-loopback interface address."""
    addresses = _interface_addresses()
    assert addresses, "this test needs a non-loopback interface address (`hostname -I`)"
    address = addresses[0]
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    server = socket.socket(family, socket.SOCK_STREAM)
    server.bind((address, 0))
    server.listen(4)
    server.setblocking(False)
    try:
        yield address, int(server.getsockname()[1]), server
    finally:
        server.close()


def test_the_hosts_own_interface_addresses_are_refused(
    lan_listener: tuple[str, int, socket.socket],
) -> None:
    address, port, server = lan_listener
    host = f"[{address}]" if ":" in address else address
    repo = parse_repo_url(f"git://{host}:{port}/skills.git", allow_local=False)
    with pytest.raises(UrlRefused, match="addresses of this host"):
        resolve_and_check(repo, allow_local=False)
    with pytest.raises(BlockingIOError):
        server.accept()  # nothing ever connected to the listener
    # With local targets allowed (tests, single-host setups) the same URL passes, pinned.
    assert resolve_and_check(repo, allow_local=True).pinned == address


@pytest.mark.parametrize("address", _interface_addresses())
def test_every_interface_address_is_refused(address: str) -> None:
    host = f"[{address}]" if ":" in address else address
    repo = parse_repo_url(f"https://{host}/x.git", allow_local=False)
    with pytest.raises(UrlRefused, match="addresses of this host"):
        resolve_and_check(repo, allow_local=False)


def test_a_name_is_resolved_once_and_pinned() -> None:
    repo = parse_repo_url("git://localhost:9/x.git", allow_local=True)
    pinned = resolve_and_check(repo, allow_local=True).pinned
    assert pinned is not None
    assert ipaddress.ip_address(pinned).is_loopback


def _clone(repo: RepoUrl) -> str:
    with workspace() as space:
        return _client().clone(space, repo, None, GitAuth()).commit


def test_git_protocol_connects_to_the_pinned_address(daemon: GitDaemon) -> None:
    served = daemon.repo("pinned.git")
    served.skill("skills/alpha")
    commit = served.commit("one")
    repo = parse_repo_url(f"git://{UNRESOLVABLE}:{daemon.port}/pinned.git", allow_local=True)
    with pytest.raises(GitFailed):
        _clone(repo)  # the name itself leads nowhere
    assert _clone(dataclasses.replace(repo, pinned="127.0.0.1")) == commit


@pytest.fixture
def dumb_http(tmp_path: Path) -> Iterator[tuple[int, Repo]]:
    """A repository served over git's dumb HTTP protocol by a plain static web server."""
    repo = Repo(tmp_path / "web" / "skills")
    repo.skill("skills/beta")
    repo.commit("one")
    git(repo.path, "update-server-info")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path / "web",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield port, repo
    finally:
        server.terminate()
        server.wait(10)


def _remote_head(repo: RepoUrl) -> str:
    # Dumb HTTP cannot serve a shallow clone; ls-remote takes the same connection path.
    with workspace() as space:
        return _client().remote_refs(space, repo, "main", GitAuth()).commit


def test_http_connects_to_the_pinned_address(dumb_http: tuple[int, Repo]) -> None:
    port, served = dumb_http
    head = git(served.path, "rev-parse", "HEAD")
    repo = parse_repo_url(f"http://{UNRESOLVABLE}:{port}/skills/.git", allow_local=True)
    with pytest.raises(GitFailed):
        _remote_head(repo)
    assert _remote_head(dataclasses.replace(repo, pinned="127.0.0.1")) == head


def test_ssh_is_told_the_pinned_address_and_keeps_the_host_key_name() -> None:
    repo = dataclasses.replace(
        parse_repo_url("git@git.example.com:team/skills.git", allow_local=False),
        pinned="203.0.113.7",
    )
    with workspace() as space:
        env = _client()._env(space, repo, GitAuth())
    # Ask the real ssh what it would do with exactly that command line.
    command = [*shlex.split(env["GIT_SSH_COMMAND"]), "-G", "git@git.example.com"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=20, check=True)
    config = dict(line.split(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert config["hostname"] == "203.0.113.7"
    assert config["hostkeyalias"] == "git.example.com"
