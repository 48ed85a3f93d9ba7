"""Checks on what admins type in: URLs, refs, subdirectories, credentials.

Each returns the normalised value or adds a `FieldProblem`; callers raise `Invalid`
with every problem at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field as default

from skreg_common.errors import Invalid
from skreg_proto.importer import Credentials, ImportCreate, SourceCreate
from skreg_proto.problems import FieldProblem

from skreg_importer.gitops.urls import RepoUrl, UrlRefused, check_literal_host, parse_repo_url
from skreg_importer.pathfilters import normalise_globs

_REF = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._/+-]*$")


@dataclass
class CheckedUrl:
    """A URL safe to store (no credentials), plus credentials that were embedded in it."""

    repo: RepoUrl
    embedded: Credentials | None


def _has_control(text: str) -> bool:
    return any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in text)


def check_url(url: str, *, allow_local: bool, problems: list[FieldProblem]) -> CheckedUrl | None:
    """Parse and police `url`; an https user/password in it becomes credentials."""
    try:
        repo = parse_repo_url(url, allow_local=allow_local)
        check_literal_host(repo, allow_local=allow_local)
    except UrlRefused as exc:
        problems.append(FieldProblem("url", str(exc)))
        return None
    embedded = None
    if repo.scheme in ("https", "http") and (repo.username or repo.password):
        # `https://token@host/…` or `https://user:token@host/…`: keep the secret sealed.
        if repo.password:
            embedded = Credentials(token=repo.password, username=repo.username)
        else:
            embedded = Credentials(token=repo.username)
    return CheckedUrl(repo=repo, embedded=embedded)


def check_ref(ref: str | None, problems: list[FieldProblem]) -> str | None:
    """A branch, tag or commit name git would accept (never an option)."""
    if ref is None:
        return None
    ref = ref.strip()
    if (
        not _REF.match(ref)
        or ".." in ref
        or "//" in ref
        or ref.endswith(("/", ".", ".lock"))
        or "/." in ref
    ):
        problems.append(FieldProblem("ref", "is not a valid branch, tag or commit name"))
        return None
    return ref


def check_subdirectory(value: str | None, problems: list[FieldProblem]) -> str | None:
    """A relative path inside the repository, normalised (`""` and `/` mean the root)."""
    if value is None:
        return None
    parts = [part for part in value.strip().strip("/").split("/") if part]
    if _has_control(value) or "\\" in value:
        problems.append(FieldProblem("subdirectory", "must not contain control characters or '\\'"))
        return None
    if any(part in (".", "..") or part.casefold() == ".git" for part in parts):
        problems.append(FieldProblem("subdirectory", "must not contain '.', '..' or '.git'"))
        return None
    return "/".join(parts) or None


def check_credentials(
    creds: Credentials | None, repo: RepoUrl | None, problems: list[FieldProblem]
) -> Credentials | None:
    """Credentials that fit the URL's scheme; empty credentials count as none."""
    if creds is None or (creds.token is None and creds.ssh_key_path is None):
        return None
    for field, value in (("token", creds.token), ("username", creds.username)):
        if value is not None and _has_control(value):
            problems.append(
                FieldProblem(f"credentials.{field}", "must not contain control characters")
            )
    if creds.token is not None and creds.ssh_key_path is not None:
        problems.append(
            FieldProblem("credentials", "give either a token or an ssh_key_path, not both")
        )
    if creds.ssh_key_path is not None and (
        not creds.ssh_key_path.startswith("/") or _has_control(creds.ssh_key_path)
    ):
        problems.append(FieldProblem("credentials.ssh_key_path", "must be an absolute path"))
    if repo is not None:
        if creds.token is not None and repo.scheme not in ("https", "http"):
            problems.append(FieldProblem("credentials.token", "tokens work with https URLs only"))
        if creds.ssh_key_path is not None and repo.scheme not in ("ssh", "scp"):
            problems.append(
                FieldProblem("credentials.ssh_key_path", "SSH keys work with ssh URLs only")
            )
    return creds


@dataclass(frozen=True)
class CheckedLocation:
    """Where to clone from, all checked: the URL as stored (no credentials) and the rest."""

    url: str
    ref: str | None
    subdirectory: str | None
    credentials: Credentials | None
    include: list[str] = default(default_factory=list)
    exclude: list[str] = default(default_factory=list)


def check_location(
    data: SourceCreate | ImportCreate, *, allow_local: bool, what: str
) -> CheckedLocation:
    """Check a new source's or a one-off import's location and path filters; `Invalid`
    lists every problem."""
    problems: list[FieldProblem] = []
    checked = check_url(data.url, allow_local=allow_local, problems=problems)
    checked_ref = check_ref(data.ref, problems)
    checked_subdirectory = check_subdirectory(data.subdirectory, problems)
    creds = check_credentials(
        data.credentials or (checked.embedded if checked else None),
        checked.repo if checked else None,
        problems,
    )
    included = normalise_globs(data.include, "include", problems)
    excluded = normalise_globs(data.exclude, "exclude", problems)
    if problems or checked is None:
        raise Invalid(f"the {what} is not valid", errors=problems)
    return CheckedLocation(
        checked.repo.display, checked_ref, checked_subdirectory, creds, included, excluded
    )
