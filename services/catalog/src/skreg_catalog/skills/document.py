"""A version's page stored as JSON once, with only what changes spliced in per read.

A version is immutable except for a few fields (its yank state, downloads, signature,
review and whether it is the latest), so its page (`VersionDetail`) is encoded once,
without those fields, when its body is rendered (`skreg_catalog.rendering.stored`),
and kept beside the HTML. A read selects that JSON and the changing columns, and
splices them together: the same members as `to_version_detail` encodes, the changing
ones last. Measured at 10k skills: turning the fifty columns of a version into a
Struct and encoding it was most of the version page's own CPU.

`DOCUMENT_VERSION` is to the stored JSON what `RENDERER_VERSION` is to the HTML: bump
it whenever the page's shape or how a field is shown changes, and stored documents
of an older version are served the old way until the background pass replaces them.
tests/catalog/test_version_documents.py pins `VersionDetail`'s schema to this number.
"""

from __future__ import annotations

import hashlib
from types import SimpleNamespace
from typing import Any, NamedTuple, cast

import msgspec
from skreg_proto.catalog import VersionDetail
from skreg_proto.codec import to_json

from skreg_catalog.rendering import Rendered
from skreg_catalog.review.convert import to_scan
from skreg_catalog.skills.convert import to_version_detail
from skreg_catalog.skills.models import Skill, Version

DOCUMENT_VERSION = 1

# The page's members that may change after publish: never stored, read per request.
# `digest` never changes, but it is what clients check the bundle and its signature
# against, so it is always the versions row's own, never a copy's.
_AS_IN_THE_ROW = ("digest", "yanked", "yank_reason", "yanked_at", "downloads", "signature_keyid")
CHANGING = (*_AS_IN_THE_ROW, "scan", "withheld", "is_latest")
# The version columns they are made from (with `id`, to tell `is_latest`).
CHANGING_COLUMNS = ("id", *_AS_IN_THE_ROW, "scan", "review_state", "review", "withheld")
assert set(CHANGING) <= set(VersionDetail.__struct_fields__)


def stored_document(namespace: str, name: str, version: Version, rendered: Rendered) -> bytes:
    """The version's page without its `CHANGING` members, as JSON (an object)."""
    skill = cast(Skill, SimpleNamespace(namespace=namespace, name=name, latest_version_id=None))
    page = msgspec.json.decode(to_json(to_version_detail(skill, version, rendered)))
    for member in CHANGING:
        del page[member]
    return to_json(page)


def changing_members(row: dict[str, Any], latest_version_id: int | None) -> dict[str, Any]:
    """The `CHANGING` members from the version's columns (`row`, keyed as `CHANGING_COLUMNS`)."""
    return {
        **{member: row[member] for member in _AS_IN_THE_ROW},
        "scan": to_scan(row["scan"], row["review_state"], row["review"]),
        "withheld": bool(row["withheld"]),
        "is_latest": latest_version_id == row["id"],
    }


def document_digest(document: bytes) -> str:
    """The stored document's digest (hex), stored beside it for the page's ETag."""
    return hashlib.blake2b(document, digest_size=16).hexdigest()


class Page(NamedTuple):
    """A version's page as sent, and its ETag."""

    body: bytes
    etag: str


def spliced(document: bytes, digest: str, changing: dict[str, Any]) -> Page:
    """The whole page: the stored `document` (whose digest is `digest`) with the
    `changing` members appended. The ETag hashes the digest and those members, which
    together decide every byte of the page, so a read never hashes the whole page."""
    members = to_json(changing)
    # Both are JSON objects with members (the document always has `namespace`).
    body = b"".join((memoryview(document)[:-1], b",", memoryview(members)[1:]))
    etag = "v-" + hashlib.blake2b(digest.encode() + members, digest_size=16).hexdigest()
    return Page(body, etag)
