"""Issue 12, item 6: a skill's documentation reads well on its pages.

Relative links and images resolve to the version's file pages and raw files, missing
targets say so, escaping and scripted links lose their target, comments are hidden,
files render by type, SVG never runs script. Over plain HTTP against the real process.
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.ui.conftest import Server

HTML = {"accept": "text/html"}
SKILL = """---
name: docs-demo
description: A skill whose documentation links its own files.
metadata:
  version: "1.0.0"
---
# Docs demo

Read [the guide](references/guide.md#setup) and run [the script](./scripts/x.py).
See [the references](references/) and [a missing page](references/missing.md).

![diagram](assets/diagram.png) ![logo](assets/logo.svg) ![gone](assets/gone.png)

[escape](../../etc/passwd) [js](javascript:alert(1)) [site](https://example.com/docs)

<!-- TODO secret-author-note: do not show this -->

Done.
"""
GUIDE = b"# Guide\n\n## Setup\n\nBack to [the skill](../SKILL.md).\n\n<script>alert(1)</script>\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect/></svg>'
SCRIPT = b"def main() -> None:\n    print('<b>hi</b>')\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
PAGE = "/skills/admin/docs-demo/versions/1.0.0"
RAW = "/api/v1/skills/admin/docs-demo/versions/1.0.0/files"


@pytest.fixture(scope="module")
def docs(seeded: Server) -> Server:
    seeded.publish(
        {
            "SKILL.md": (SKILL.encode(), False),
            "references/guide.md": (GUIDE, False),
            "scripts/x.py": (SCRIPT, True),
            "assets/diagram.png": (PNG, False),
            "assets/logo.svg": (SVG, False),
        },
        seeded.api_token(),
    )
    return seeded


def get(server: Server, path: str) -> httpx.Response:
    return httpx.get(server.url + path, headers=HTML, timeout=30)


def hrefs(html: str) -> list[str]:
    return re.findall(r'<a [^>]*?href="([^"]*)"', html)


def test_relative_links_and_images_resolve_to_the_version(docs: Server) -> None:
    page = get(docs, PAGE)
    assert page.status_code == 200
    readme = page.text.split('class="readme"', 1)[1].split("</section>", 1)[0]
    links = hrefs(readme)
    assert f"{PAGE}/files/references/guide.md#setup" in links
    assert f"{PAGE}/files/scripts/x.py" in links
    assert f"{PAGE}#files" in links  # a folder: the version's file list
    assert f"{PAGE}/files/references/missing.md?missing" in links
    assert "https://example.com/docs" in links
    assert not [link for link in links if "passwd" in link or "javascript" in link.lower()]
    assert f'src="{RAW}/assets/diagram.png"' in readme
    assert f'src="{RAW}/assets/logo.svg"' in readme
    assert "gone.png" not in readme  # a missing image keeps only its alt text
    assert 'alt="gone"' in readme
    assert "secret-author-note" not in page.text
    assert "<svg" not in page.text


def test_owner_is_a_username(docs: Server) -> None:
    page = get(docs, PAGE).text
    owner = re.search(r"<dt>Owner</dt><dd>([^<]*)</dd>", page)
    assert owner is not None
    assert owner.group(1) == "admin"


def test_a_missing_file_is_an_html_page_not_json(docs: Server) -> None:
    missing = get(docs, f"{PAGE}/files/references/missing.md")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "has no file" in missing.text
    assert f"{PAGE}/files/references/guide.md" in missing.text  # the files it does have


def test_markdown_files_render_with_their_own_relative_links(docs: Server) -> None:
    guide = get(docs, f"{PAGE}/files/references/guide.md")
    assert guide.status_code == 200
    assert "<h2>Setup</h2>" in guide.text
    assert f'href="{PAGE}/files/SKILL.md"' in guide.text  # ../SKILL.md from references/
    assert "<script>alert(1)</script>" not in guide.text


def test_code_is_highlighted_on_the_server(docs: Server) -> None:
    code = get(docs, f"{PAGE}/files/scripts/x.py")
    assert code.status_code == 200
    assert 'class="highlight"' in code.text
    assert '<span class="k">def</span>' in code.text
    assert "&lt;b&gt;hi&lt;/b&gt;" in code.text  # the string's markup stays text
    assert "/static/highlight.css" in code.text
    css = httpx.get(docs.url + "/static/highlight.css", timeout=30)
    assert css.status_code == 200
    assert ".highlight .k" in css.text


def test_images_are_shown_and_svg_cannot_run_script(docs: Server) -> None:
    for name in ("diagram.png", "logo.svg"):
        page = get(docs, f"{PAGE}/files/assets/{name}")
        assert page.status_code == 200
        assert f'<img class="file-image" src="{RAW}/assets/{name}"' in page.text
        assert "<svg" not in page.text  # never inlined
    svg = httpx.get(f"{docs.url}{RAW}/assets/logo.svg", timeout=30)
    assert svg.headers["content-type"] == "image/svg+xml"
    policy = svg.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "sandbox" in policy
    assert svg.headers["x-content-type-options"] == "nosniff"
    png = httpx.get(f"{docs.url}{RAW}/assets/diagram.png", timeout=30)
    assert png.headers["content-type"] == "image/png"
    assert png.content == PNG


def test_a_hostile_body_makes_a_bounded_page_that_links_the_raw_file(docs: Server) -> None:
    rows = "|a|b|\n|-|-|\n" + "|x|y|\n" * 100_000  # 600 KB of table rows (issue 14)
    body = SKILL.replace("docs-demo", "table-bomb").split("# Docs demo")[0] + rows
    docs.publish({"SKILL.md": (body.encode(), False)}, docs.api_token())
    page = get(docs, "/skills/admin/table-bomb")
    assert page.status_code == 200
    assert "Shown in part" in page.text
    assert 'href="/api/v1/skills/admin/table-bomb/versions/1.0.0/files/SKILL.md"' in page.text
    assert len(page.content) < 2 * len(rows)  # the old page carried five times the body
