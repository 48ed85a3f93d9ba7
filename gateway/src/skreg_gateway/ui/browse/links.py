"""Relative links and images in rendered Markdown, pointed at the version they belong to.

A SKILL.md links its own files (`references/guide.md`, `./scripts/x.py`) and shows its
images (`assets/diagram.png`). On our pages those become the version's file pages and
same-origin raw files. A target that is not in the bundle stays a link to its file
page (an HTML "not in this version" page, never a JSON 404) marked `?missing`, which
the stylesheet shows as missing; an image that is not there loses its `src`. A
relative path that climbs out of the bundle, and any scheme but http(s)/mailto,
loses its target altogether.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import quote, unquote, urlsplit

import nh3
from skreg_catalog.rendering import Rendered
from skreg_catalog.rendering.markdown import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, LINK_REL

EXTERNAL_SCHEMES = ("http", "https", "mailto")
MISSING = "?missing"


def file_url(base: str, path: str) -> str:
    """`base` + the bundle path, each segment percent-encoded."""
    return base + "/".join(quote(part, safe="") for part in path.split("/"))


@dataclass(frozen=True)
class BundleLinks:
    """Where a rendered document's relative links lead (picklable: it may cross processes)."""

    files: frozenset[str]
    page_base: str  # the UI's file pages of this version, ending in "/files/"
    raw_base: str  # the API's raw files of this version, ending in "/files/"
    version_page: str
    directory: str = ""  # the document's folder inside the bundle ("" for SKILL.md)

    @cached_property
    def directories(self) -> frozenset[str]:
        """Every folder that holds a file of the bundle."""
        return frozenset(
            name.rsplit("/", depth)[0]
            for name in self.files
            for depth in range(1, name.count("/") + 1)
        )

    def resolve(self, value: str) -> tuple[str, str] | None:
        """The bundle path and `#fragment` a relative reference names; None when it
        leaves the bundle."""
        parts = urlsplit(value)
        joined = posixpath.normpath(posixpath.join(self.directory, unquote(parts.path)))
        if joined.startswith(("../", "/")) or joined == "..":
            return None
        fragment = f"#{quote(parts.fragment, safe='')}" if parts.fragment else ""
        return ("" if joined == "." else joined), fragment

    def href(self, value: str) -> str | None:
        """A link's target on our pages."""
        kind = _kind(value)
        if kind != "relative":
            return value if kind in ("external", "fragment", "absolute") else None
        found = self.resolve(value)
        if found is None:
            return None
        path, fragment = found
        if path in self.files:
            return file_url(self.page_base, path) + fragment
        if not path or path in self.directories:
            return self.version_page + "#files"  # a folder: the version's file list
        return file_url(self.page_base, path) + MISSING

    def src(self, value: str) -> str | None:
        """An image's source on our pages: the raw file when the bundle has it."""
        kind = _kind(value)
        if kind != "relative":
            return value if kind in ("external", "absolute") else None
        found = self.resolve(value)
        if found is None or found[0] not in self.files:
            return None
        return file_url(self.raw_base, found[0])

    def attribute(self, tag: str, name: str, value: str) -> str | None:
        """nh3's attribute filter: rewrite link targets, keep everything else."""
        if tag == "a" and name == "href":
            return self.href(value)
        if tag == "img" and name == "src":
            return self.src(value)
        return value


def _kind(value: str) -> str:
    value = value.strip()
    if value.startswith("#"):
        return "fragment"
    if value.startswith("//"):
        return "external"  # another host: an ordinary outside link
    if value.startswith("/"):
        return "absolute"  # this site (e.g. the catalog's link to a raw SKILL.md)
    scheme = urlsplit(value).scheme.lower()
    if not scheme:
        return "relative"
    return "external" if scheme in EXTERNAL_SCHEMES else "refused"


def rewrite_links(links: BundleLinks, html: str, _limit: int = 0) -> Rendered:
    """`html` (already rendered and sanitised) cleaned again with its links resolved.

    The second pass means a bug in the catalog still cannot put script, event handlers
    or a `javascript:` link on our pages.
    """
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=set(EXTERNAL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        attribute_filter=links.attribute,
    )
    size = len(html.encode("utf-8"))
    return Rendered(cleaned, size, size)
