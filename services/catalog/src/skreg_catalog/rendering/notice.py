"""The notice above a rendering that shows only part of a text, or shows it as plain text."""

from __future__ import annotations

from html import escape

from skreg_catalog.rendering.markdown import Rendered


def human_size(size: int) -> str:
    """`512 B`, `128 KiB`, `3.1 MiB`."""
    if size < 1024:
        return f"{size} B"
    if size < 1024**2:
        return f"{size / 1024:.0f} KiB"
    return f"{size / 1024**2:.1f} MiB"


def partial_notice(rendered: Rendered, name: str, raw_url: str) -> str:
    """A paragraph saying what is shown and linking the whole raw file (empty when all is)."""
    notes = []
    if rendered.truncated:
        notes.append(
            f"only the first {human_size(rendered.rendered_bytes)} of {escape(name)} "
            f"({human_size(rendered.source_bytes)}) are shown"
        )
    if rendered.plain:
        notes.append("it is shown as plain text because rendering it would cost too much")
    if not notes:
        return ""
    link = f'<a href="{escape(raw_url)}">the whole raw file</a>'
    return f"<p><strong>Shown in part:</strong> {'; '.join(notes)}. Read {link}.</p>\n"
