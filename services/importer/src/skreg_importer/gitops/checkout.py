"""Reading a finished checkout with GitPython: the commit it holds and the tags on it.

Talking to a remote stays in the hardened subprocess (`clone`, `runner`). Reading what
arrived is local, and is what GitPython is good at. The git processes GitPython starts
for reading (`cat-file` for objects, one `for-each-ref` for the tag list) begin from
this process's environment; they are pinned to the checkout and to no configuration but
the checkout's own (which our clone wrote), so a stray GIT_DIR, GIT_OBJECT_DIRECTORY or
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


# One line per tag: its object, what that object points at when it is an annotated
# tag (git peels one level here, or fully in newer releases), that target's type, name.
_TAG_FORMAT = "%(objectname)%09%(*objectname)%09%(*objecttype)%09%(refname:strip=2)"


def tags_at(repo: git.Repo, commit: str) -> list[str]:
    """The names of the tags in `repo` whose (fully peeled) target is `commit`.

    All tags are listed by one `for-each-ref` through GitPython's command wrapper: asking
    GitPython's object model tag by tag costs a round trip to `cat-file` each, and a
    repository can carry thousands of tags on one commit. Only a tag of a tag (rare)
    is peeled further through the object model.
    """
    names = []
    for line in repo.git.for_each_ref("refs/tags", format=_TAG_FORMAT).splitlines():
        target, peeled, peeled_type, name = line.split("\t", 3)
        if peeled_type == "tag":
            target = _peel(repo, name)
        elif peeled:
            target = peeled
        if target == commit:
            names.append(name)
    return sorted(names)


def _peel(repo: git.Repo, name: str) -> str | None:
    try:
        return str(git.TagReference(repo, f"refs/tags/{name}").commit.hexsha)
    except (ValueError, BadName, BadObject):  # ends at a tree or blob, or dangling
        return None
