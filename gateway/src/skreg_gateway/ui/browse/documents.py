"""The skill page's SKILL.md and the file page's preview, through the bounded render pool.

Nothing here renders on the event loop: Markdown, highlighting and link rewriting go
through `RenderPool` (skreg_catalog.rendering), which caps what is rendered, runs it in
a thread or a worker process, and caches it by content hash within a byte budget.
"""

from __future__ import annotations

import posixpath
import sys
from dataclasses import dataclass
from functools import partial

import nh3
from markupsafe import Markup
from skreg_catalog.rendering import Rendered, RenderPool
from skreg_catalog.rendering.markdown import plain_html
from skreg_catalog.rendering.notice import partial_notice
from skreg_proto.catalog import VersionDetail
from skreg_proto.digest import FileEntry

from skreg_gateway.ui.browse.highlight import (
    FileKind,
    highlight_code,
    kind_of,
    lexer_name,
)
from skreg_gateway.ui.browse.links import BundleLinks, file_url, rewrite_links
from skreg_gateway.ui.client import seg


def version_paths(shown: VersionDetail) -> tuple[str, str]:
    """The UI page and the API path of a version."""
    tail = f"{seg(shown.namespace)}/{seg(shown.name)}/versions/{seg(shown.version)}"
    return f"/skills/{tail}", f"/api/v1/skills/{tail}"


def links_for(shown: VersionDetail, document: str) -> BundleLinks:
    """How links in `document` (a path in the bundle) resolve on our pages."""
    page, api = version_paths(shown)
    return BundleLinks(
        files=frozenset(entry.path for entry in shown.files),
        page_base=f"{page}/files/",
        raw_base=f"{api}/files/",
        version_page=page,
        directory=posixpath.dirname(document),
    )


def _text_only(html: str) -> Rendered:
    # When every render slot is busy: the words without markup, rather than a wait.
    text = nh3.clean(html, tags=set())
    size = len(html)
    return Rendered(plain_html(text), size, size, plain=True)


async def resolve_links(
    pool: RenderPool, shown: VersionDetail, document: str, content: str, html: str
) -> Markup:
    """Rendered HTML of `document` with its relative links and images resolved.

    `content` names the document's content (a digest): with the version's address it
    decides the result, so it is the cache key.
    """
    links = links_for(shown, document)
    key = ("links", content, shown.namespace, shown.name, shown.version, document)
    result = await pool.run(
        key,
        partial(rewrite_links, links),
        html,
        sys.maxsize,  # already bounded by the catalog: never cut HTML short
        size=len(html),
        fallback=_text_only,
    )
    assert isinstance(result, Rendered)
    return Markup(result.html)  # noqa: S704 - nh3 output: an allow-list of tags and attributes


async def skill_body(pool: RenderPool, shown: VersionDetail) -> Markup:
    """The version's SKILL.md as the catalog rendered it, links pointed at this version."""
    return await resolve_links(pool, shown, "SKILL.md", shown.digest, shown.body_html)


@dataclass
class FilePreview:
    """A file of a version as its page shows it."""

    entry: FileEntry
    kind: FileKind
    raw_url: str
    html: Markup | None = None  # rendered Markdown or highlighted code
    text: str | None = None  # shown as plain text
    reason: str | None = None  # why nothing is shown


async def preview_text(
    pool: RenderPool, shown: VersionDetail, preview: FilePreview, text: str
) -> FilePreview:
    """Fill `preview` for a UTF-8 file: Markdown rendered, code highlighted, else text."""
    entry = preview.entry
    if preview.kind == "markdown":
        rendered = await pool.markdown(("file", entry.sha256), text)
        notice = partial_notice(rendered, entry.path, preview.raw_url)
        html = notice + rendered.html
        preview.html = await resolve_links(pool, shown, entry.path, entry.sha256, html)
        return preview
    lexer = lexer_name(entry.path)
    if lexer is not None:
        limit = pool.limits.max_source_bytes
        result = await pool.run(
            ("code", entry.sha256, lexer),
            partial(highlight_code, lexer),
            text,
            limit,
            size=len(text),
        )
        assert isinstance(result, Rendered)
        notice = partial_notice(result, entry.path, preview.raw_url)
        preview.html = Markup(notice + result.html)  # noqa: S704 - escaped by Pygments
        return preview
    preview.text = text
    return preview


def new_preview(shown: VersionDetail, entry: FileEntry) -> FilePreview:
    """A preview of `entry` that knows its kind and raw address, not yet its content."""
    _, api = version_paths(shown)
    return FilePreview(entry, kind_of(entry.path), file_url(f"{api}/files/", entry.path))
