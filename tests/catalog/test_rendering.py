"""Markdown rendering is sanitised: no script, no event handlers, no javascript: URLs."""

from __future__ import annotations

import pytest
from skreg_catalog.rendering import render_markdown

from tests.catalog.helpers import parse_html


@pytest.mark.parametrize(
    "body",
    [
        "<script>alert(1)</script>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "![x](javascript:alert(1))",
        '<img src=x onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "<iframe src='https://evil.example'></iframe>",
        "<svg onload=alert(1)>",
        "[x](vbscript:msgbox(1))",
    ],
)
def test_hostile_markdown_is_inert(body: str) -> None:
    tags, attributes = parse_html(render_markdown(body).html)
    assert not {"script", "iframe", "svg", "object", "embed"} & set(tags)
    assert not [name for name, _ in attributes if name.startswith("on")]
    for name, value in attributes:
        if name in ("href", "src"):
            assert value.lower().startswith(("https:", "http:", "mailto:")), (body, value)


def test_ordinary_markdown_survives() -> None:
    html = render_markdown(
        "# Title\n\n**bold** [link](https://x.example) `code`\n\n| a |\n|---|\n| b |\n"
    ).html
    assert "<h1>Title</h1>" in html
    assert "<strong>bold</strong>" in html
    assert 'href="https://x.example"' in html
    assert 'rel="noopener noreferrer nofollow"' in html
    assert "<code>code</code>" in html
    assert "<table>" in html
