"""Reading a finished checkout with GitPython: the commit it holds and the tags on it.

Talking to a remote stays in the hardened subprocess (`clone`, `runner`). Reading what
arrived is local, and is what GitPython is good at. GitPython reads refs itself and
objects through a long-lived `git cat-file` process that starts from this process's
environment; that process is pinned to the checkout and to no configuration but the
checkout's own (which our clone wrote), so a stray GIT_DIR, GIT_OBJECT_DIRECTORY or
global config in the service's environment cannot change what is read.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import git
from git.exc import BadName, BadObject


@dataclass(frozen=True)
class Checkout:
    """The commit checked out, and the names of the tags pointing at it (sorted)."""

    commit: str
    tags: list[str] = field(default_factory=list)


def read_checkout(path: Path, *, tags: bool = True) -> Checkout:
    """The checkout at `path`: HEAD's commit and (with `tags`) the tags on it, annotated
    ones peeled. The clone is shallow, so only tags on its one commit came with it."""
    with contextlib.closing(_open(path)) as repo:  # closing stops the cat-file process
        commit = repo.head.commit.hexsha
        return Checkout(commit=commit, tags=tags_at(repo, commit) if tags else [])


def _open(path: Path) -> git.Repo:
    repo = git.Repo(path)
    repo.git.update_environment(
        GIT_DIR=repo.git_dir,
        GIT_OBJECT_DIRECTORY=os.path.join(repo.git_dir, "objects"),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_PARAMETERS="",
    )
    return repo


def tags_at(repo: git.Repo, commit: str) -> list[str]:
    """The names of the tags in `repo` whose (fully peeled) target is `commit`."""
    names = []
    for tag in repo.tags:
        try:
            target = tag.commit.hexsha
        except (ValueError, BadName, BadObject):  # a tag of a tree or blob, or dangling
            continue
        if target == commit:
            names.append(tag.name)
    return sorted(names)
