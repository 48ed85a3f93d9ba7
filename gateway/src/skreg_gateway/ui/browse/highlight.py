"""How the file page shows a file: Markdown rendered, code highlighted, images as images.

Highlighting runs in the render pool (skreg_catalog.rendering), like Markdown: off the
event loop, capped in size, cached by the file's sha256. Only lexers for common file
types are used (a fixed table), so a hostile file meets well-worn regexes.
"""

from __future__ import annotations

from typing import Literal

from pygments import highlight  # type: ignore[import-untyped]
from pygments.formatters import HtmlFormatter  # type: ignore[import-untyped]
from pygments.lexers import get_lexer_by_name  # type: ignore[import-untyped]
from skreg_catalog.rendering import Rendered
from skreg_catalog.rendering.markdown import OUTPUT_FLOOR, leading_part, plain_html

FileKind = Literal["markdown", "image", "code", "text", "binary"]

MARKDOWN = {"md", "markdown", "mdx"}
IMAGES = {"png", "jpg", "jpeg", "gif", "webp", "avif", "svg"}  # as the catalog serves them
LEXERS = {
    "py": "python", "pyi": "python", "sh": "bash", "bash": "bash", "zsh": "bash",
    "js": "javascript", "mjs": "javascript", "cjs": "javascript", "ts": "typescript",
    "tsx": "tsx", "jsx": "jsx", "json": "json", "yaml": "yaml", "yml": "yaml",
    "toml": "toml", "ini": "ini", "cfg": "ini", "html": "html", "htm": "html",
    "xml": "xml", "css": "css", "go": "go", "rs": "rust", "java": "java", "kt": "kotlin",
    "c": "c", "h": "c", "cpp": "cpp", "hpp": "cpp", "cs": "csharp", "rb": "ruby",
    "php": "php", "sql": "sql", "r": "r", "lua": "lua", "pl": "perl", "swift": "swift",
    "ps1": "powershell", "dockerfile": "docker", "makefile": "make", "diff": "diff",
    "patch": "diff",
}  # fmt: skip
# Highlighted code wraps tokens in spans; past this much HTML per source byte the file
# is shown as plain text instead.
HIGHLIGHT_RATIO = 16
CSS_CLASS = "highlight"


def _extension(path: str) -> str:
    name = path.rsplit("/", 1)[-1].lower()
    if name in ("dockerfile", "makefile"):
        return name
    return name.rpartition(".")[2] if "." in name else ""


def kind_of(path: str) -> FileKind:
    """How a file is shown, by its name (its bytes decide text versus binary later)."""
    extension = _extension(path)
    if extension in MARKDOWN:
        return "markdown"
    if extension in IMAGES:
        return "image"
    if extension in LEXERS:
        return "code"
    return "text"


def lexer_name(path: str) -> str | None:
    """The Pygments lexer for a file, from the fixed table."""
    return LEXERS.get(_extension(path))


def highlight_code(lexer: str, text: str, max_source_bytes: int) -> Rendered:
    """The start of `text` as highlighted HTML (classes only: the page's CSP allows no
    inline style), or plain when highlighting would make too much HTML."""
    part, rendered, total = leading_part(text, max_source_bytes)
    formatter = HtmlFormatter(cssclass=CSS_CLASS, nowrap=False)
    out = highlight(part, get_lexer_by_name(lexer, stripnl=False), formatter)
    if len(out) > OUTPUT_FLOOR + HIGHLIGHT_RATIO * rendered:
        return Rendered(plain_html(part), total, rendered, plain=True)
    return Rendered(out, total, rendered)


def plain_text(text: str, max_source_bytes: int) -> Rendered:
    """The start of `text`, escaped and preformatted."""
    part, rendered, total = leading_part(text, max_source_bytes)
    return Rendered(plain_html(part), total, rendered, plain=True)


def stylesheet() -> str:
    """The highlighting colours (static/highlight.css holds this; a test keeps them equal)."""
    rules = str(HtmlFormatter(style="default").get_style_defs(f".{CSS_CLASS}")).splitlines()
    return "\n".join(rule for rule in rules if rule.startswith(f".{CSS_CLASS}")) + "\n"
