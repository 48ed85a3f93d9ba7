"""Shallow clones and `ls-remote` in a private temporary workspace, removed afterwards.

Every command gets the same hardening: protocols limited by `protocol.allow`, hooks,
fsmonitor, system/global config, credential prompts, redirects, submodules and LFS
smudging off; `--` before every URL; secrets only in a 0600 file inside the workspace.

A URL pinned by `resolve_and_check` is connected to at its checked address, never
looked up again: https/http through curl's resolve list (`http.curloptResolve`, so TLS
still verifies the host name); ssh with `HostName=<address>` and `HostKeyAlias=<host>`
(the host key is still checked under the name); git:// by putting the address in the
URL itself (git has no resolve override for it; the daemon then sees the address as
the request's host, which only matters to a daemon serving virtual hosts).

Only the network goes through this hardened subprocess; what a clone brought (its
commit, the tags on it) is read with GitPython (`checkout`).
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from skreg_importer.gitops.checkout import Checkout, read_checkout
from skreg_importer.gitops.runner import GitCall, GitFailed, run_git
from skreg_importer.gitops.urls import RepoUrl

FULL_SHA = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")
FETCHED_REF = "refs/skreg/fetched"  # where a commit fetched by its id is stored
LS_REMOTE_TIMEOUT_CAP = 30.0


@dataclass(frozen=True)
class GitAuth:
    """Decrypted credentials for one clone: an HTTPS token, or an SSH key file on this host."""

    token: str | None = None
    username: str | None = None
    ssh_key_path: str | None = None


@dataclass(frozen=True)
class GitPolicy:
    """The limits every git command runs under."""

    allow_local: bool
    timeout: float
    max_repo_bytes: int
    known_hosts: str | None = None


@dataclass(frozen=True)
class Workspace:
    """A private temporary directory: `home` (git's HOME) and `repo` (the checkout)."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def repo(self) -> Path:
        return self.root / "repo"


@dataclass(frozen=True)
class RemoteRefs:
    """What `ls-remote` said: the commit asked for, and each tag's commit (peeled)."""

    commit: str
    tags: dict[str, str] = field(default_factory=dict)

    def tags_at(self, commit: str) -> list[str]:
        """The names of the tags pointing at `commit`, sorted."""
        return sorted(name for name, sha in self.tags.items() if sha == commit)


def _peeled_tags(refs: dict[str, str]) -> dict[str, str]:
    """`refs/tags/*` lines as tag name -> commit: an annotated tag's `^{}` line wins."""
    tags: dict[str, str] = {}
    for name, sha in refs.items():
        if not name.startswith("refs/tags/"):
            continue
        tag = name.removeprefix("refs/tags/")
        if tag.endswith("^{}"):
            tags[tag.removesuffix("^{}")] = sha
        else:
            tags.setdefault(tag, sha)
    return tags


@contextmanager
def workspace(prefix: str = "skreg-import-") -> Iterator[Workspace]:
    """A fresh 0700 temporary directory, removed whatever happens inside the block."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        (root / "home").mkdir(mode=0o700)
        yield Workspace(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _pin(repo: RepoUrl) -> str | None:
    """The address to connect to instead of looking the host up (None: nothing to pin)."""
    if repo.pinned is None or repo.host is None:
        return None
    try:
        ipaddress.ip_address(repo.host)
    except ValueError:
        return repo.pinned
    return None  # an address already: nothing to look up


def _bracketed(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def git_target(repo: RepoUrl) -> str:
    """The URL handed to git: for a pinned git:// URL, with the checked address as host."""
    pinned = _pin(repo)
    if pinned is None or repo.scheme != "git":
        return repo.git_url
    parts = urlsplit(repo.git_url)
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit((parts.scheme, f"{user}{_bracketed(pinned)}{port}", parts.path, "", ""))


class GitClient:
    """Clones and ls-remotes under one `GitPolicy` (blocking: call from a thread)."""

    def __init__(self, policy: GitPolicy) -> None:
        self.policy = policy

    def _config(self, space: Workspace, repo: RepoUrl, auth: GitAuth) -> list[str]:
        protocols = ["https", "ssh", "git"] + (["file", "http"] if self.policy.allow_local else [])
        pairs = [
            "protocol.allow=never",
            *(f"protocol.{name}.allow=always" for name in protocols),
            "core.hooksPath=/dev/null",
            "core.fsmonitor=false",
            "credential.helper=",
            "http.followRedirects=false",
            "submodule.recurse=false",
            "fetch.recurseSubmodules=false",
            "init.templateDir=",
            "advice.detachedHead=false",
        ]
        pinned = _pin(repo)
        if pinned is not None and repo.scheme in ("https", "http"):
            pairs.append(f"http.curloptResolve={repo.host}:{repo.effective_port}:{pinned}")
        if auth.token and repo.scheme in ("https", "http"):
            pairs.append(
                f"credential.helper=store --file={self._credential_file(space, repo, auth)}"
            )
        return [item for pair in pairs for item in ("-c", pair)]

    def _credential_file(self, space: Workspace, repo: RepoUrl, auth: GitAuth) -> Path:
        path = space.home / ".skreg-credentials"
        if path.exists():
            return path
        user = quote(auth.username or "x-access-token", safe="")
        token = quote(auth.token or "", safe="")
        host = f"[{repo.host}]" if repo.host and ":" in repo.host else repo.host
        port = f":{repo.port}" if repo.port else ""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"{repo.scheme}://{user}:{token}@{host}{port}\n")
        return path

    def _env(self, space: Workspace, repo: RepoUrl, auth: GitAuth) -> dict[str, str]:
        allowed = "https:ssh:git" + (":file:http" if self.policy.allow_local else "")
        ssh = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=15"]
        pinned = _pin(repo)
        if pinned is not None and repo.scheme in ("ssh", "scp"):
            ssh += ["-o", f"HostName={pinned}", "-o", f"HostKeyAlias={repo.host}"]
        if self.policy.known_hosts:
            ssh += [
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                f"UserKnownHostsFile={self.policy.known_hosts}",
            ]
        else:
            ssh += ["-o", "StrictHostKeyChecking=accept-new"]
            ssh += ["-o", f"UserKnownHostsFile={space.home / 'known_hosts'}"]
        if auth.ssh_key_path:
            ssh += ["-i", auth.ssh_key_path, "-o", "IdentitiesOnly=yes"]
        return {
            # Not a setting: git needs the host's PATH to find its helpers (ssh,
            # git-remote-https) where the system installed them. It is the one value
            # taken from this process's environment; everything else is chosen here.
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": str(space.home),
            "LANG": "C",
            "LC_ALL": "C",
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_LFS_SKIP_SMUDGE": "1",
            "GIT_ALLOW_PROTOCOL": allowed,
            "GIT_SSH_COMMAND": shlex.join(ssh),
        }

    def _call(
        self,
        space: Workspace,
        repo: RepoUrl,
        auth: GitAuth,
        args: list[str],
        *,
        timeout: float | None = None,
        watch: bool = False,
    ) -> GitCall:
        """One git command under the policy: `timeout` shortens its deadline, `watch`
        holds the checkout to the size cap while it runs."""
        return GitCall(
            args=args,
            env=self._env(space, repo, auth),
            config=self._config(space, repo, auth),
            cwd=space.root,
            timeout=self.policy.timeout if timeout is None else timeout,
            watch_dir=space.repo if watch else None,
            max_bytes=self.policy.max_repo_bytes if watch else None,
        )

    def _ls_remote(
        self,
        space: Workspace,
        repo: RepoUrl,
        auth: GitAuth,
        patterns: list[str],
        cancel: threading.Event | None,
    ) -> dict[str, str]:
        timeout = min(self.policy.timeout, LS_REMOTE_TIMEOUT_CAP)
        call = self._call(
            space, repo, auth, ["ls-remote", "--", git_target(repo), *patterns], timeout=timeout
        )
        refs: dict[str, str] = {}
        for line in run_git(call, cancel).splitlines():
            sha, _, name = line.partition("\t")
            if FULL_SHA.match(sha):
                refs[name] = sha
        return refs

    def remote_refs(
        self,
        space: Workspace,
        repo: RepoUrl,
        ref: str | None,
        auth: GitAuth,
        cancel: threading.Event | None = None,
        tags: bool = False,
    ) -> RemoteRefs:
        """The commit `ref` (default: the remote HEAD) points at, without cloning; with
        `tags`, every tag's commit too, from the same `ls-remote`."""
        if ref is not None and FULL_SHA.match(ref) and not tags:
            return RemoteRefs(commit=ref)
        patterns = ["HEAD"] if ref is None else [ref, f"{ref}^{{}}"]
        refs = self._ls_remote(
            space, repo, auth, patterns + (["refs/tags/*"] if tags else []), cancel
        )
        found = _peeled_tags(refs) if tags else {}
        if ref is not None and FULL_SHA.match(ref):
            return RemoteRefs(commit=ref, tags=found)
        wanted = (
            ["HEAD"]
            if ref is None
            else [f"refs/heads/{ref}", f"refs/tags/{ref}^{{}}", f"refs/tags/{ref}", ref]
        )
        for name in wanted:
            if name in refs:
                return RemoteRefs(commit=refs[name], tags=found)
        raise GitFailed(f"ref {ref or 'HEAD'!r} not found in the repository", transient=False)

    def clone(
        self,
        space: Workspace,
        repo: RepoUrl,
        ref: str | None,
        auth: GitAuth,
        cancel: threading.Event | None = None,
        *,
        tags: bool = True,
    ) -> Checkout:
        """Shallow, single-branch clone of `ref` into `space.repo`: its commit and, with
        `tags`, the tags pointing at that commit (git's tag following brings exactly
        those along; no other tag or history is fetched)."""
        shallow = ["--depth", "1", "--no-recurse-submodules"] + ([] if tags else ["--no-tags"])
        if ref is not None and FULL_SHA.match(ref):
            # A commit cannot be cloned by name; fetch exactly that object instead,
            # into a ref of our own: git follows tags only for a fetch that stores one.
            run_git(
                self._call(space, repo, auth, ["init", "--quiet", "--template=", str(space.repo)]),
                cancel,
            )
            fetch = [
                "-C",
                str(space.repo),
                "fetch",
                "--quiet",
                *shallow,
                "--",
                git_target(repo),
                f"{ref}:{FETCHED_REF}",
            ]
            run_git(self._call(space, repo, auth, fetch, watch=True), cancel)
            checkout = ["-C", str(space.repo), "checkout", "--quiet", "--detach", FETCHED_REF]
            run_git(self._call(space, repo, auth, checkout, watch=True), cancel)
        else:
            args = ["clone", "--quiet", "--single-branch", "--template=", *shallow]
            if ref is not None:
                args += ["--branch", ref]
            args += ["--", git_target(repo), str(space.repo)]
            run_git(self._call(space, repo, auth, args, watch=True), cancel)
        return read_checkout(space.repo, tags=tags)
