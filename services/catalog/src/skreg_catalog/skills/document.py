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

import datetime as dt
import hashlib
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any, NamedTuple, cast

import msgspec
from skreg_proto.catalog import VersionDetail
from skreg_proto.codec import to_json
from skreg_proto.trust import VersionScan

from skreg_catalog.rendering import Rendered
from skreg_catalog.review.convert import to_scan
from skreg_catalog.skills.convert import to_version_detail
from skreg_catalog.skills.models import Skill, Version

DOCUMENT_VERSION = 1


class Changing(msgspec.Struct):
    """The page's members that may change after publish: never stored, read per request
    (a Struct, not a dict: encoded as the same JSON object in half the time).

    `digest` never changes, but it is what clients check the bundle and its signature
    against, so it is always the versions row's own, never a copy's.
    """

    digest: str
    yanked: bool
    yank_reason: str | None
    yanked_at: dt.datetime | None
    downloads: int
    signature_keyid: str | None
    scan: VersionScan | None
    withheld: bool
    is_latest: bool


CHANGING = Changing.__struct_fields__
# The version columns they are made from (with `id`, to tell `is_latest`).
CHANGING_COLUMNS = (
    *("id", "digest", "yanked", "yank_reason", "yanked_at", "downloads", "signature_keyid"),
    *("scan", "review_state", "review", "withheld"),
)
assert set(CHANGING) <= set(VersionDetail.__struct_fields__)


def stored_document(namespace: str, name: str, version: Version, rendered: Rendered) -> bytes:
    """The version's page without its `CHANGING` members, as JSON (an object)."""
    skill = cast(Skill, SimpleNamespace(namespace=namespace, name=name, latest_version_id=None))
    page = msgspec.json.decode(to_json(to_version_detail(skill, version, rendered)))
    for member in CHANGING:
        del page[member]
    return to_json(page)


def changing_members(
    row: Mapping[str, Any], latest_version_id: int | None, prefix: str = ""
) -> Changing:
    """The changing members from the version's columns: `row` holds `CHANGING_COLUMNS`,
    each under its name after `prefix`."""
    return Changing(
        digest=row[prefix + "digest"],
        yanked=row[prefix + "yanked"],
        yank_reason=row[prefix + "yank_reason"],
        yanked_at=row[prefix + "yanked_at"],
        downloads=row[prefix + "downloads"],
        signature_keyid=row[prefix + "signature_keyid"],
        scan=to_scan(row[prefix + "scan"], row[prefix + "review_state"], row[prefix + "review"]),
        withheld=bool(row[prefix + "withheld"]),
        is_latest=latest_version_id == row[prefix + "id"],
    )


def document_digest(document: bytes) -> str:
    """The stored document's digest (hex), stored beside it for the page's ETag."""
    return hashlib.blake2b(document, digest_size=16).hexdigest()


class Page(NamedTuple):
    """A version's page as sent, and its ETag."""

    body: bytes
    etag: str


def spliced(document: bytes, digest: str, changing: Changing) -> Page:
    """The whole page: the stored `document` (whose digest is `digest`) with the
    `changing` members appended. The ETag hashes the digest and those members, which
    together decide every byte of the page, so a read never hashes the whole page."""
    members = to_json(changing)
    # Both are JSON objects with members (the document always has `namespace`).
    body = b"".join((memoryview(document)[:-1], b",", memoryview(members)[1:]))
    etag = "v-" + hashlib.blake2b(digest.encode() + members, digest_size=16).hexdigest()
    return Page(body, etag)
