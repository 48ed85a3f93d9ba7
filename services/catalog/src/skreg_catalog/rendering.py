"""SKILL.md bodies rendered to HTML that is safe to put in a page.

Two layers: markdown-it in CommonMark mode with raw HTML disabled (so `<script>`
in a body is escaped text, and `javascript:` link targets are refused), then nh3
(ammonia) with an allow-list of tags, attributes and URL schemes, so nothing
that slips past the first layer carries script, event handlers or odd URLs.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_MARKDOWN.enable("table")
_MARKDOWN.enable("strikethrough")

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong",
    "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "code": {"class"},  # `language-python` from fenced blocks, for highlighting
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}


@lru_cache(maxsize=256)
def render_markdown(body: str) -> str:
    """The body as sanitised HTML (cached: bodies of published versions never change)."""
    html = _MARKDOWN.render(body)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
