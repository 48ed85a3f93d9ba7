"""Run one git command, hardened: a clean environment, its own process group, a deadline,
a size cap on what it writes, and a kill of the whole process tree when any is crossed.

Blocking by design (GitPython and subprocess are synchronous): callers run it in a
thread. A `threading.Event` lets the async side cancel it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import git

from skreg_importer.failures import JobFailed

POLL_SECONDS = 0.2
REAP_SECONDS = 10.0
MAX_STDERR_SHOWN = 600

# Markers of failures worth retrying: the network, not the repository, was the problem.
_TRANSIENT_MARKERS = (
    "could not resolve host",
    "connection refused",
    "connection timed out",
    "connection reset",
    "operation timed out",
    "early eof",
    "rpc failed",
    "the remote end hung up unexpectedly",
    "unable to access",
    "temporary failure",
    "returned error: 5",
    "returned error: 429",
    "network is unreachable",
)


class GitFailed(JobFailed):
    """A git command failed; `message` is safe to show (callers redact URLs first)."""


class GitTimedOut(GitFailed):
    """The command ran past its deadline and its process group was killed."""


class RepoTooLarge(GitFailed):
    """The clone grew past the size cap and was aborted."""


class GitCancelled(GitFailed):
    """The caller gave up (worker shutting down)."""


@dataclass(frozen=True)
class GitCall:
    """One invocation: arguments after `git`, where to run, and its limits."""

    args: Sequence[str]  # the subcommand first: ("clone", "--depth", "1", ...)
    env: Mapping[str, str]
    cwd: Path
    timeout: float
    config: Sequence[str] = ()  # ("-c", "key=value", ...) placed before the subcommand
    watch_dir: Path | None = None
    max_bytes: int | None = None


def tree_size(root: Path) -> int:
    """Bytes of regular files under `root` (links not followed; missing dir: 0)."""
    total = 0
    pending = [str(root)]
    while pending:
        directory = pending.pop()
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
        except (FileNotFoundError, NotADirectoryError, PermissionError):
            continue
    return total


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # git runs in its own session (start_new_session), so its pid is the group id:
    # this reaches git-remote-https, index-pack, ssh and whatever else it started.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    try:
        proc.communicate(timeout=REAP_SECONDS)
    except subprocess.TimeoutExpired:  # pragma: no cover - a process that survives SIGKILL
        proc.kill()


def _env_command(env: Mapping[str, str], args: Sequence[str]) -> list[str]:
    # GitPython always starts from os.environ and only adds to it; `env -i` gives git
    # exactly the environment we choose, so a stray GIT_DIR, GIT_SSH or GIT_CONFIG_*
    # in the service's own environment can never steer a clone. No secrets go here.
    env_bin = shutil.which("env") or "/usr/bin/env"
    git_bin = shutil.which("git") or "git"
    return [env_bin, "-i", *(f"{key}={value}" for key, value in env.items()), git_bin, *args]


def _too_large(call: GitCall) -> bool:
    watch, cap = call.watch_dir, call.max_bytes
    return watch is not None and cap is not None and tree_size(watch) > cap


def _too_large_error(call: GitCall) -> RepoTooLarge:
    cap_mb = (call.max_bytes or 0) // (1024 * 1024)
    return RepoTooLarge(
        f"repository is larger than {cap_mb} MB (IMPORTER_MAX_REPO_MB); the clone was aborted",
        transient=False,
    )


def _subcommand(args: Sequence[str]) -> str:
    items = iter(args)
    for item in items:
        if item == "-C":
            next(items, None)
        elif not item.startswith("-"):
            return item
    return ""


def run_git(call: GitCall, cancel: threading.Event | None = None) -> str:
    """Run `git <args>` and return its stdout; raises a `GitFailed` subclass on failure."""
    handle = git.cmd.Git(str(call.cwd)).execute(
        _env_command(call.env, [*call.config, *call.args]),
        as_process=True,
        start_new_session=True,
    )
    proc = handle.proc
    assert proc is not None
    deadline = time.monotonic() + call.timeout
    while True:
        try:
            stdout, stderr = proc.communicate(timeout=POLL_SECONDS)
            break
        except subprocess.TimeoutExpired:
            pass
        if cancel is not None and cancel.is_set():
            _kill_group(proc)
            raise GitCancelled(
                "git was stopped because the worker is shutting down", transient=True
            )
        if time.monotonic() > deadline:
            _kill_group(proc)
            raise GitTimedOut(
                f"git {_subcommand(call.args)} took longer than {call.timeout:g} s and was killed",
                transient=True,
            )
        if _too_large(call):
            _kill_group(proc)
            raise _too_large_error(call)
    # A fast clone can finish between two polls: check what it left behind too.
    if proc.returncode == 0 and _too_large(call):
        raise _too_large_error(call)
    if proc.returncode != 0:
        text = stderr.decode("utf-8", "replace").strip()
        lowered = text.lower()
        transient = any(marker in lowered for marker in _TRANSIENT_MARKERS)
        shown = text[-MAX_STDERR_SHOWN:] if text else f"exit status {proc.returncode}"
        raise GitFailed(f"git {_subcommand(call.args)} failed: {shown}", transient=transient)
    return str(stdout.decode("utf-8", "replace"))
