"""The UI's pure parts: the session cookie, redirects, highlighting, forms."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import skreg_gateway
from litestar import Request
from litestar.connection import ASGIConnection
from skreg_catalog.rendering import RenderLimits, RenderPool
from skreg_gateway.settings import GatewaySettings
from skreg_gateway.ui.admin.service import SourceForm, field_errors
from skreg_gateway.ui.browse.highlight import stylesheet
from skreg_gateway.ui.browse.links import BundleLinks, rewrite_links
from skreg_gateway.ui.browse.service import file_tree, match_reasons
from skreg_gateway.ui.client import ApiRouter
from skreg_gateway.ui.context import (
    MAX_FLASH_CHARS,
    MAX_FLASHES,
    UiContext,
    UiState,
    safe_local_path,
)
from skreg_gateway.ui.refresh import RefreshCoordinator
from skreg_gateway.ui.rendering import create_templates, highlight, search_terms
from skreg_gateway.ui.session import (
    MAX_SESSION_CHARS,
    SessionUser,
    UiSession,
    UiSessionBackend,
    new_session,
    session_config,
)
from skreg_proto.catalog import SkillSummary
from skreg_proto.digest import FileEntry
from skreg_proto.problems import FieldProblem

SECRET = "a-test-secret-key-that-is-long-enough-0123456789"


def _backend(secret: str = SECRET, max_age_s: int = 3600) -> UiSessionBackend:
    return UiSessionBackend(session_config(secret, max_age_s))


def _request_with(cookie_header: bytes) -> ASGIConnection[Any, Any, Any, Any]:
    return ASGIConnection(scope={"type": "http", "headers": [(b"cookie", cookie_header)]})  # type: ignore[arg-type]


def _sealed(backend: UiSessionBackend, session: UiSession) -> str:
    [chunk] = backend.dump_data(msgspec.to_builtins(session))
    return chunk.decode("ascii")


def test_session_round_trips_and_hides_its_contents() -> None:
    backend = _backend()
    session = new_session()
    session.user = SessionUser(id="u1", username="alice", role="user")
    session.access_token = "eyJ.access.token"
    session.refresh_token = "refresh-secret-value"
    sealed = _sealed(backend, session)
    assert "refresh-secret-value" not in sealed
    assert "alice" not in sealed
    opened = backend.session_of(backend.read(_request_with(f"skreg_session={sealed}".encode())))
    assert opened == session


def test_session_from_another_key_tampered_or_too_old_is_refused() -> None:
    backend = _backend(max_age_s=60)
    sealed = _sealed(backend, new_session())

    def read(value: str) -> dict[str, Any]:
        return backend.read(_request_with(f"skreg_session={value}".encode()))

    assert read(sealed)
    assert (
        _backend(SECRET + "x", max_age_s=60).read(_request_with(f"skreg_session={sealed}".encode()))
        == {}
    )
    flipped = sealed[:10] + ("A" if sealed[10] != "A" else "B") + sealed[11:]
    assert read(flipped) == {}
    assert backend.session_of(read(sealed), now=time.time() + 61) is None
    assert backend.session_of({"csrf": 1, "created_at": "yesterday"}) is None


# Litestar's cookie is base64(nonce + ciphertext + marker + expiry JSON); the library
# parses that JSON before it authenticates anything, so these once answered 500.
_MARKER = b"additional_authenticated_data="
FORGED_SESSION_COOKIES = [
    "",
    "!!!",
    "AAAA",
    "a" * (MAX_SESSION_CHARS + 1),
    base64.b64encode(b"n" * 12 + b"ct" + _MARKER + b"not json").decode(),
    base64.b64encode(b"n" * 12 + b"ct" + _MARKER + b"[1, 2]").decode(),
    base64.b64encode(b"n" * 12 + b"ct" + _MARKER + b'{"expires_at": "never"}').decode(),
    base64.b64encode(b"n" * 12 + b"ct" + _MARKER + b'{"expires_at": 99999999999}').decode(),
]


@pytest.mark.parametrize("value", FORGED_SESSION_COOKIES)
def test_forged_session_cookies_read_as_no_session(value: str) -> None:
    backend = _backend()
    assert backend.read(_request_with(f"skreg_session={value}".encode())) == {}
    assert backend.read(_request_with("skreg_session=é".encode("latin-1"))) == {}


def test_only_local_paths_are_redirect_targets() -> None:
    assert safe_local_path("/profile?tab=keys") == "/profile?tab=keys"
    for hostile in (
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil",
        "",
        None,
        "/a\r\nSet-Cookie: x=1",
    ):
        assert safe_local_path(hostile) == "/"


def test_highlight_escapes_everything_and_marks_terms() -> None:
    terms = search_terms("PDF <script> pd")
    assert terms == ["pdf", "script", "pd"]
    marked = str(highlight("A <b>PDF</b> tool & more", terms))
    assert marked == "A &lt;b&gt;<mark>PDF</mark>&lt;/b&gt; tool &amp; more"
    assert str(highlight("<script>", [])) == "&lt;script&gt;"
    assert search_terms("a " * 50 + " ".join(f"w{i}" for i in range(20))) == [
        f"w{i}" for i in range(10)
    ]


def test_sanitiser_strips_scripts_handlers_and_javascript_links() -> None:
    links = BundleLinks(frozenset({"SKILL.md"}), "/p/", "/r/", "/v")
    html = rewrite_links(
        links,
        '<p onclick="x()">hi<script>alert(1)</script>'
        '<a href="javascript:alert(1)">a</a><a href="https://ok.example">b</a>'
        '<img src=x onerror="alert(1)"><iframe src="https://x"></iframe></p>',
    ).html
    assert "<script" not in html
    assert "onclick" not in html
    assert "onerror" not in html
    assert "javascript:" not in html
    assert "<iframe" not in html
    assert 'href="https://ok.example"' in html


def test_match_reasons_say_where_the_words_are() -> None:
    skill = msgspec.convert(
        {
            "namespace": "docs",
            "name": "pdf-tools",
            "description": "Merge documents",
            "latest_version": "1.0.0",
            "tags": ["office", "pdf"],
            "downloads": 0,
            "updated_at": "2025-01-01T00:00:00Z",
        },
        SkillSummary,
    )
    assert match_reasons(skill, ["pdf"]) == ["name", "tags: pdf"]
    assert match_reasons(skill, ["merge"]) == ["description"]
    assert match_reasons(skill, ["zebra"]) == ["the skill's instructions (SKILL.md)"]
    assert match_reasons(skill, []) == []


def test_file_tree_puts_directories_before_their_files() -> None:
    entries = [
        FileEntry("scripts/run.sh", 1, 0o755, "0" * 64),
        FileEntry("SKILL.md", 1, 0o644, "0" * 64),
        FileEntry("references/deep/a.md", 1, 0o644, "0" * 64),
    ]
    tree = [(e.name, e.depth) for e in file_tree(entries)]
    assert tree == [
        ("SKILL.md", 0),
        ("references/", 0),
        ("deep/", 1),
        ("a.md", 2),
        ("scripts/", 0),
        ("run.sh", 1),
    ]


def test_source_form_reports_field_problems_before_calling_the_api() -> None:
    form = SourceForm(url="", namespace="Bad Namespace!", interval_minutes="ten")
    assert form.create_request() is None
    assert set(form.errors) == {"url", "interval_minutes"}
    form = SourceForm(url="https://git.example/repo.git", namespace="Bad Namespace!")
    assert form.create_request() is None
    assert "namespace" in form.errors
    good = SourceForm(
        url="https://git.example/repo.git",
        namespace="team",
        interval_minutes="15",
        webhook_secret="s3cret-value",
        token="tok",
    )
    body = good.create_request()
    assert body is not None
    assert body.interval == 900
    assert body.credentials is not None
    assert body.credentials.token == "tok"
    update = SourceForm(url="https://git.example/r.git", namespace="team").update_request()
    assert update is not None
    assert update.webhook_secret is msgspec.UNSET  # a blank secret field keeps the old one


def test_the_static_highlight_stylesheet_matches_pygments() -> None:
    static = Path(skreg_gateway.__file__).parent / "static" / "highlight.css"
    assert static.read_text() == stylesheet()


def test_bundle_links_stay_inside_the_bundle() -> None:
    links = BundleLinks(
        frozenset({"SKILL.md", "references/my guide.md", "references/deep/a.md"}),
        "/p/",
        "/r/",
        "/v",
        directory="references/deep",
    )
    assert links.href("../my%20guide.md") == "/p/references/my%20guide.md"
    assert links.href("./a.md#top") == "/p/references/deep/a.md#top"
    assert links.href("../../SKILL.md") == "/p/SKILL.md"
    assert links.href("../../../outside.md") is None
    assert links.href("a.md?x=1") == "/p/references/deep/a.md"
    assert links.href("vbscript:msgbox(1)") is None
    assert links.href("data:text/html,x") is None
    assert links.href("b.md") == "/p/references/deep/b.md?missing"
    assert links.href("..") == "/v#files"
    assert links.src("a.md") == "/r/references/deep/a.md"
    assert links.src("../../../../etc/passwd") is None
    assert links.src("javascript:alert(1)") is None


def test_source_form_sends_filters_and_policy_and_shows_their_problems() -> None:
    form = SourceForm.from_form(
        {
            "url": "https://git.example/repo.git",
            "namespace": "team",
            "include": "skills/**\r\n\r\n  .curated/*  \n",
            "exclude": "preview/**",
            "version_policy": "generated",
        }
    )
    body = form.update_request()
    assert body is not None
    assert (body.include, body.exclude, body.version_policy) == (
        ["skills/**", ".curated/*"],
        ["preview/**"],
        "generated",
    )
    wrong = SourceForm(url="https://git.example/r.git", namespace="team", version_policy="x")
    assert wrong.create_request() is None
    assert "version_policy" in wrong.errors
    errors = field_errors(
        [
            FieldProblem("exclude[1]", "must be relative to the repository root"),
            FieldProblem("exclude[3]", "has a '[' without its closing ']'"),
            FieldProblem("namespace", "taken"),
        ]
    )
    assert errors == {
        "exclude": "line 2: must be relative to the repository root; "
        "line 4: has a '[' without its closing ']'",
        "namespace": "taken",
    }


def test_one_time_messages_stay_few_and_short_so_the_session_fits_one_cookie() -> None:
    settings = GatewaySettings(secret_key=SECRET)
    sessions = UiSessionBackend(session_config(SECRET, 3600))
    state = UiState(
        settings=settings,
        sessions=sessions,
        router=ApiRouter(settings, httpx.AsyncClient()),
        templates=create_templates(),
        refresher=RefreshCoordinator(b"k" * 32),
        renderer=RenderPool(RenderLimits()),
    )
    scope = {"type": "http", "headers": [], "session": {}, "state": {}, "client": ("::1", 1)}
    ui = UiContext(Request(scope=scope), state)  # type: ignore[arg-type]
    for n in range(20):
        ui.flash(f"{n}: " + "x" * 5000)
    assert len(ui.session.flash) == MAX_FLASHES
    assert ui.session.flash[-1].message.startswith("19: ")
    assert all(len(flash.message) == MAX_FLASH_CHARS for flash in ui.session.flash)
    [_one_cookie] = sessions.dump_data(msgspec.to_builtins(ui.session))
    state.renderer.close()
