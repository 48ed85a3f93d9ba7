"""Markdown rendered to HTML that is safe to put in a page, at a bounded cost.

Two layers keep it safe: markdown-it in CommonMark mode (+ tables, strikethrough) where
raw HTML is shown as text, never passed through (HTML comments are dropped), then nh3
(ammonia) with an allow-list of tags, attributes and URL schemes, so nothing that slips
past the first layer carries script, event handlers or odd URLs.

Three limits keep it cheap (a published body is hostile input; issue 14 rendered a few
MB of table rows for a minute and answered 38 MB):

- only the first `max_source_bytes` of the text are rendered (the caller says so and
  links the raw file);
- tables may hold about one cell per two bytes of source: markdown-it fills short rows
  up to the header's width, so a wide header over one-character rows made millions of
  tokens out of kilobytes;
- the output may be at most `OUTPUT_RATIO` times the source (reference links repeat
  their URL on every use); past that the text is shown preformatted instead.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_block import StateBlock
from markdown_it.rules_block.table import table as markdown_it_table
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

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
LINK_REL = "noopener noreferrer nofollow"

# Bump this whenever the HTML `render_markdown` makes for a given text changes (a parser
# option, the allow-list, a limit, a markdown-it or nh3 upgrade that changes output):
# stored renderings (`catalog_rendered_bodies`) of an older version are then served
# re-rendered on read and replaced in the background (`skreg_catalog.rendering.stored`).
RENDERER_VERSION = 1

DEFAULT_MAX_SOURCE_BYTES = 256 * 1024
# Output bytes allowed per source byte (and a floor for tiny sources). Dense ordinary
# Markdown stays under ~6x (a table of one-character cells, a list of bare links).
OUTPUT_RATIO = 8
OUTPUT_FLOOR = 16 * 1024
# Table cells allowed per source byte, over a floor; cells written out take two bytes.
TABLE_CELLS_FLOOR = 4096
_CELLS_LEFT = "skreg_table_cells_left"
_OUTPUT_LEFT = "skreg_output_left"
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)", re.DOTALL)


class _OutputTooLarge(Exception):
    """The rendering grew past its budget: show the text preformatted instead."""


def _spend(env: EnvType, piece: str) -> str:
    env[_OUTPUT_LEFT] -= len(piece)
    if env[_OUTPUT_LEFT] < 0:
        raise _OutputTooLarge
    return piece


class _BoundedRenderer(RendererHTML):
    """markdown-it's renderer, counting what it writes against `env`'s budget.

    Raw HTML is shown as text like the rest of the body; HTML comments (authors' notes,
    licence headers, editor markers) are dropped, as every Markdown viewer does.
    """

    def render(self, tokens: Sequence[Token], options: OptionsDict, env: EnvType) -> str:
        out: list[str] = []
        for i, token in enumerate(tokens):
            if token.type == "inline":
                # renderInline spent for its pieces already.
                out.append(self.renderInline(token.children or [], options, env))
            elif token.type in self.rules:
                out.append(_spend(env, self.rules[token.type](tokens, i, options, env)))
            else:
                out.append(_spend(env, self.renderToken(tokens, i, options, env)))
        return "".join(out)

    def renderInline(  # noqa: N802 - markdown-it's name
        self, tokens: Sequence[Token], options: OptionsDict, env: EnvType
    ) -> str:
        out: list[str] = []
        for i, token in enumerate(tokens):
            if token.type in self.rules:
                piece = self.rules[token.type](tokens, i, options, env)
            else:
                piece = self.renderToken(tokens, i, options, env)
            out.append(_spend(env, piece))
        return "".join(out)

    def html_block(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        text = _COMMENT.sub("", tokens[idx].content).strip()
        return f"<p>{html.escape(text, quote=False)}</p>\n" if text else ""

    def html_inline(
        self, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        content = tokens[idx].content
        return "" if content.startswith("<!--") else html.escape(content, quote=False)


def _bounded_table(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    """markdown-it's table rule, stopped before the document's cell budget runs out.

    Cutting `end` short makes the table end there; the rows after it are read as
    ordinary text (linear), so no input can make more cells than the budget.
    """
    if silent:
        return markdown_it_table(state, start, end, silent)
    left: int = state.env[_CELLS_LEFT]
    if left <= 0 or not markdown_it_table(state, start, end, True):
        return False
    delimiter = state.src[
        state.bMarks[start + 1] + state.tShift[start + 1] : state.eMarks[start + 1]
    ]
    columns = max(1, len([cell for cell in delimiter.split("|") if cell.strip()]))
    rows_allowed = left // columns  # the header row counts too
    if rows_allowed < 1:
        return False
    before = len(state.tokens)
    found = markdown_it_table(state, start, min(end, start + 1 + rows_allowed), silent)
    made = sum(1 for t in state.tokens[before:] if t.type in ("th_open", "td_open"))
    state.env[_CELLS_LEFT] = left - made
    return found


def _parser() -> MarkdownIt:
    # `html` on so that raw HTML becomes html_block/html_inline tokens: the renderer
    # above shows them as text and drops comments (with it off, comments show as text).
    md = MarkdownIt(
        "commonmark",
        {"html": True, "linkify": False, "typographer": False},
        renderer_cls=_BoundedRenderer,
    )
    md.enable("table")
    md.enable("strikethrough")
    md.block.ruler.at("table", _bounded_table, {"alt": ["paragraph", "reference"]})
    return md


_MARKDOWN = _parser()


@dataclass(frozen=True)
class Rendered:
    """A rendering: the HTML, and whether it covers only the start of the text."""

    html: str
    source_bytes: int  # the whole text's size in UTF-8
    rendered_bytes: int  # how much of it was rendered
    plain: bool = False  # shown preformatted: too costly to render as Markdown

    @property
    def truncated(self) -> bool:
        """Only the start of the text is shown."""
        return self.rendered_bytes < self.source_bytes

    @property
    def size(self) -> int:
        """Roughly what keeping this in memory costs, in bytes."""
        return len(self.html) + 128


def leading_part(text: str, max_bytes: int) -> tuple[str, int, int]:
    """The start of `text` (at most `max_bytes` of UTF-8, ending at a line break when one is
    near), its size, and the whole text's size."""
    data = text.encode("utf-8")
    if len(data) <= max_bytes:
        return text, len(data), len(data)
    head = data[:max_bytes]
    newline = head.rfind(b"\n")
    if newline >= max_bytes // 2:
        head = head[: newline + 1]
    part = head.decode("utf-8", errors="ignore")
    return part, len(part.encode("utf-8")), len(data)


def sanitize(fragment: str) -> str:
    """An HTML fragment reduced to the allow-list (the second layer)."""
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )


def plain_html(text: str) -> str:
    """The text preformatted and escaped (at most five bytes out per byte in)."""
    return f"<pre><code>{html.escape(text, quote=False)}</code></pre>\n"


def render_markdown(text: str, max_source_bytes: int = DEFAULT_MAX_SOURCE_BYTES) -> Rendered:
    """The start of `text` (up to `max_source_bytes`) as sanitised HTML of bounded size."""
    part, rendered, total = leading_part(text, max_source_bytes)
    budget = OUTPUT_FLOOR + OUTPUT_RATIO * rendered
    env: dict[str, Any] = {
        _CELLS_LEFT: TABLE_CELLS_FLOOR + rendered // 2,
        _OUTPUT_LEFT: budget,
    }
    try:
        out = sanitize(_MARKDOWN.render(part, env))
    except _OutputTooLarge:
        return Rendered(plain_html(part), total, rendered, plain=True)
    if len(out) > budget:  # nh3 adds `rel` to every link
        return Rendered(plain_html(part), total, rendered, plain=True)
    return Rendered(out, total, rendered)
