"""Skills from any origin that serves an Agent Skills discovery index (schema 0.2.0).

`skreg install https://<origin>/<path>` reads the index the way the `skills` CLI
(npm) does: `<path>/.well-known/agent-skills/index.json`, then the legacy
`<path>/.well-known/skills/index.json`; an index URL given directly is read as is.
Only schema 0.2.0 indexes are read (`$schema` exactly), and their entries are
checked as that client checks them. An archive's bytes must hash to the entry's
`digest` before anything else happens; its files then pass every bundle rule
(`skreg_proto.bundle`), as a bundle from our own registry does.

Nothing here sends a credential: an origin is not our registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from hashlib import sha256
from urllib.parse import urljoin, urlsplit

import msgspec
from skreg_proto.bundle import Bundle, BundleLimits, pack_files, read_bundle, read_zip
from skreg_proto.problems import FormatError

from skreg_cli.client import ApiClient
from skreg_cli.errors import CliError, ExitCode
from skreg_cli.output import Output

SCHEMA = "https://schemas.agentskills.io/discovery/0.2.0/schema.json"
WELL_KNOWN = (".well-known/agent-skills", ".well-known/skills")
INDEX_FILE = "index.json"
MAX_INDEX_BYTES = 4 * 1024 * 1024
_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_UNSAFE_KEY = re.compile(r"[^A-Za-z0-9_.-]")


class _RawEntry(msgspec.Struct):
    name: object = None
    type: object = None
    description: object = None
    url: object = None
    digest: object = None


class _RawIndex(msgspec.Struct, rename={"schema": "$schema"}):
    schema: object = None
    skills: list[_RawEntry] | None = None


@dataclass(frozen=True)
class IndexEntry:
    """One valid entry of an index, its `url` made absolute."""

    name: str
    type: str  # "archive" or "skill-md"
    description: str
    url: str
    digest: str


@dataclass(frozen=True)
class FoundIndex:
    """The index an origin URL leads to, and its valid entries."""

    url: str
    entries: dict[str, IndexEntry]


def is_origin_url(text: str) -> bool:
    """True for `http(s)://…` arguments (a discovery index), not `ns/name` references."""
    return text.startswith(("http://", "https://"))


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def lock_namespace(index_url: str) -> str:
    """The namespace part of a lock key for skills of this origin (`host[_port]`)."""
    return _UNSAFE_KEY.sub("_", urlsplit(index_url).netloc.lower())[:64] or "origin"


def candidates(url: str) -> list[str]:
    """The index URLs tried for `url`, in the order the `skills` CLI tries them."""
    parts = urlsplit(url)
    if parts.path.endswith("/" + INDEX_FILE):
        return [url]
    base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    return [f"{base}/{path}/{INDEX_FILE}" for path in WELL_KNOWN]


def discover(client: ApiClient, url: str, out: Output) -> FoundIndex:
    """The first schema-0.2.0 index among `candidates(url)`; a clear error when none is."""
    tried: list[str] = []
    for index_url in candidates(url):
        try:
            with out.progress("index") as bar:
                raw = client.download(index_url, limit=MAX_INDEX_BYTES, progress=bar)
        except CliError as exc:
            if exc.message.startswith(("cannot reach", "timed out")):
                raise  # the origin itself is unreachable: the next path would be too
            tried.append(f"{index_url}: {exc.message}")
            continue
        found = _parse(index_url, raw)
        if found is not None:
            return found
        tried.append(f"{index_url}: not an Agent Skills discovery index (schema 0.2.0)")
    raise CliError(
        f"no Agent Skills discovery index at {url}",
        hint="the origin must serve <URL>/.well-known/agent-skills/index.json "
        f'with "$schema": "{SCHEMA}"',
        code=ExitCode.NOT_FOUND,
        details=tried,
    )


def _parse(index_url: str, raw: bytes) -> FoundIndex | None:
    try:
        index = msgspec.json.decode(raw, type=_RawIndex)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if index.schema != SCHEMA or index.skills is None:
        return None
    entries: dict[str, IndexEntry] = {}
    for raw_entry in index.skills:
        entry = _checked(index_url, raw_entry)
        if entry is not None and entry.name not in entries:
            entries[entry.name] = entry
    return FoundIndex(index_url, entries)


def _checked(index_url: str, raw: _RawEntry) -> IndexEntry | None:
    """The entry if the `skills` CLI would accept it (it drops the others silently too)."""
    name, kind, description, url, digest = (
        raw.name,
        raw.type,
        raw.description,
        raw.url,
        raw.digest,
    )
    if not (isinstance(name, str) and len(name) <= 64 and _NAME.fullmatch(name)):
        return None
    if not (isinstance(description, str) and 0 < len(description) <= 1024):
        return None
    if kind not in ("archive", "skill-md") or not isinstance(kind, str):
        return None
    if not (isinstance(url, str) and url and isinstance(digest, str)):
        return None
    if not _DIGEST.fullmatch(digest):
        return None
    absolute = urljoin(index_url, url)
    if urlsplit(absolute).scheme not in ("http", "https"):
        return None
    return IndexEntry(name, kind, description, absolute, digest)


def pick(found: FoundIndex, names: list[str]) -> list[IndexEntry]:
    """The entries named (exactly), or the only one; never a guess."""
    available = ", ".join(sorted(found.entries)) or "none"
    if not names:
        if len(found.entries) == 1:
            return list(found.entries.values())
        raise CliError(
            f"{found.url} lists {len(found.entries)} skills; say which with --skill NAME",
            hint=f"available: {available}",
            code=ExitCode.USAGE,
        )
    missing = [name for name in names if name not in found.entries]
    if missing:
        raise CliError(
            f"{', '.join(missing)} not in {found.url}",
            hint=f"available: {available}",
            code=ExitCode.NOT_FOUND,
        )
    return [found.entries[name] for name in dict.fromkeys(names)]


def fetch(client: ApiClient, label: str, url: str, digest: str, out: Output) -> Bundle:
    """Download an artifact, check its digest, then every bundle rule; nothing is written.

    ZIP and gzip'd tar archives are told apart by their first bytes (as the `skills`
    CLI does); anything else is a `skill-md` artifact, a lone SKILL.md.
    """
    limits = BundleLimits()
    with out.progress(label) as bar:
        data = client.download(url, limit=limits.max_compressed_bytes, progress=bar)
    actual = "sha256:" + sha256(data).hexdigest()
    if actual != digest:
        raise CliError(
            f"digest mismatch for {label}: the index says {digest}, {url} serves {actual}",
            hint="the archive changed after the index was written, or was tampered with; "
            "nothing was installed",
            code=ExitCode.INTEGRITY,
        )
    try:
        if data[:2] == b"PK":
            return read_zip(data, limits)
        if data[:2] == b"\x1f\x8b":
            return read_bundle(data, limits)
        return read_bundle(pack_files({"SKILL.md": (data, False)}, limits), limits)
    except FormatError as exc:
        raise CliError(
            f"{label}: the archive is unsafe or not a skill; nothing was installed",
            hint="the origin serves an archive that breaks the bundle rules",
            code=ExitCode.INTEGRITY,
            details=[f"{p.path or '(archive)'}: {p.message}" for p in exc.problems],
        ) from exc
