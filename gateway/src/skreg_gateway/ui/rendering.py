"""Jinja2 set-up (autoescape on), the filters the templates use, and the response headers."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar.plugins.jinja import JinjaTemplateEngine
from markupsafe import Markup, escape

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# The same policy Traefik adds (skreg_gateway.traefik), so the all-in-one process without
# Traefik is just as strict: no inline script or style, nothing from other origins.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    # Pages carry CSRF tokens and per-user data: never kept by shared caches or the back button.
    "cache-control": "no-store",
}

_TERM = re.compile(r"[\w][\w.-]*", re.UNICODE)
MAX_TERMS = 10


def search_terms(query: str | None) -> list[str]:
    """The words of a search query worth highlighting (at most ten, two characters or more)."""
    if not query:
        return []
    seen: list[str] = []
    for match in _TERM.finditer(query.lower()):
        word = match.group(0).strip(".-")
        if len(word) >= 2 and word not in seen:
            seen.append(word)
    return seen[:MAX_TERMS]


def highlight(text: str | None, terms: Iterable[str]) -> Markup:
    """`text` escaped, with every occurrence of a term wrapped in `<mark>`."""
    value = text or ""
    words = sorted(set(terms), key=len, reverse=True)
    if not words:
        return escape(value)
    pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)
    out: list[str] = []
    last = 0
    for match in pattern.finditer(value):
        out.append(str(escape(value[last : match.start()])))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(str(escape(value[last:])))
    return Markup("".join(out))  # noqa: S704 - every piece above went through escape()


def format_datetime(value: dt.datetime | str | None) -> str:
    """`2025-01-31 14:05 UTC`, or an em dash for nothing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def format_size(value: int | None) -> str:
    """Bytes for people: `512 B`, `4.2 KiB`, `1.3 MiB`."""
    size = float(value or 0)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} MiB"  # pragma: no cover


def format_mode(value: int) -> str:
    """`rwxr-xr-x` style for the two modes a bundle keeps."""
    return "executable" if value & 0o111 else ""


def short_commit(value: str | None) -> str:
    """The first 12 characters of a commit id."""
    return (value or "")[:12]


def create_templates() -> JinjaTemplateEngine:
    """The template engine: autoescape for every template, undefined names fail loudly."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        enable_async=False,
        undefined=StrictUndefined,
    )
    env.filters.update(
        highlight=highlight,
        datetime=format_datetime,
        filesize=format_size,
        filemode=format_mode,
        short_commit=short_commit,
    )
    return JinjaTemplateEngine.from_environment(env)
