"""The UI's pure parts: the session cookie, proxy trust, redirects, highlighting, forms."""

from __future__ import annotations

import ipaddress
import time

import msgspec
from skreg_gateway.ui.admin.service import SourceForm, field_errors
from skreg_gateway.ui.browse.service import file_tree, match_reasons
from skreg_gateway.ui.context import safe_local_path
from skreg_gateway.ui.rendering import highlight, sanitized_html, search_terms
from skreg_gateway.ui.session import (
    SessionCodec,
    SessionUser,
    new_session,
    parse_networks,
    request_is_https,
)
from skreg_proto.catalog import SkillSummary
from skreg_proto.digest import FileEntry
from skreg_proto.problems import FieldProblem

SECRET = "a-test-secret-key-that-is-long-enough-0123456789"


def test_session_round_trips_and_hides_its_contents() -> None:
    codec = SessionCodec(SECRET, max_age_s=3600)
    session = new_session()
    session.user = SessionUser(id="u1", username="alice", role="user")
    session.access_token = "eyJ.access.token"
    session.refresh_token = "refresh-secret-value"
    sealed = codec.seal(session)
    assert "refresh-secret-value" not in sealed
    assert "alice" not in sealed
    opened = codec.open(sealed)
    assert opened is not None
    assert opened.user == session.user
    assert opened.refresh_token == "refresh-secret-value"
    assert opened.csrf == session.csrf


def test_session_from_another_key_tampered_or_too_old_is_refused() -> None:
    codec = SessionCodec(SECRET, max_age_s=60)
    sealed = codec.seal(new_session())
    assert SessionCodec(SECRET + "x", max_age_s=60).open(sealed) is None
    flipped = sealed[:10] + ("A" if sealed[10] != "A" else "B") + sealed[11:]
    assert codec.open(flipped) is None
    assert codec.open(sealed, now=time.time() + 61) is None
    for junk in ("", "!!!", "a" * 5000, "AAAA"):
        assert codec.open(junk) is None


def test_forwarded_proto_is_believed_only_from_trusted_proxies() -> None:
    trusted = parse_networks("127.0.0.1/32, 10.0.0.0/8")
    https = {"x-forwarded-proto": "https"}
    assert request_is_https("https", "203.0.113.9", {}, trusted)
    assert request_is_https("http", "10.1.2.3", https, trusted)
    assert request_is_https("http", "127.0.0.1", {"x-forwarded-proto": "https, http"}, trusted)
    assert not request_is_https("http", "203.0.113.9", https, trusted)
    assert not request_is_https("http", "10.1.2.3", {"x-forwarded-proto": "http"}, trusted)
    assert not request_is_https("http", "not-an-ip", https, trusted)
    assert not request_is_https("http", None, https, trusted)
    assert parse_networks("::1/128")[0] == ipaddress.ip_network("::1/128")


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
    html = str(
        sanitized_html(
            '<p onclick="x()">hi<script>alert(1)</script>'
            '<a href="javascript:alert(1)">a</a><a href="https://ok.example">b</a>'
            '<img src=x onerror="alert(1)"><iframe src="https://x"></iframe></p>'
        )
    )
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
