"""Against a fake OUTSIDE registry: hostile bundles, lying metadata, every error mapping.

These are answers a real registry of ours never gives, so a tiny local HTTP
server stands in for a compromised or foreign one.
"""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from skreg_cli.errors import ExitCode
from skreg_proto.bundle import pack_files, read_bundle

from tests.cli.helpers import (
    FakeRegistry,
    Reply,
    fake_registry,
    file_entry,
    files_under,
    link_entry,
    make_skill,
    run,
    serve_skill,
    skill_md,
    tar_gz,
)
from tests.support.processes import free_port

FAKE_DIGEST = "sha256:" + "0" * 64


@pytest.fixture
def fake() -> Iterator[FakeRegistry]:
    with fake_registry() as server:
        yield server


def _hostile(kind: str, outside: Path) -> bytes:
    """A bundle named `pwn` that tries to write `outside/…` one way or another."""
    md = skill_md("pwn")
    payload = b"owned\n"
    if kind == "traversal":
        entries = [file_entry("SKILL.md"), file_entry("../../../x")]
        contents = {"SKILL.md": md, "../../../x": payload}
    elif kind == "absolute":
        target = str(outside / "abs")
        entries, contents = (
            [file_entry("SKILL.md"), file_entry(target)],
            {"SKILL.md": md, target: payload},
        )
    elif kind == "symlink":
        # The classic: a link to outside, then a file written "through" it.
        entries = [file_entry("SKILL.md"), link_entry("link", str(outside)), file_entry("link/x")]
        contents = {"SKILL.md": md, "link/x": payload}
    elif kind == "hardlink":
        entries = [file_entry("SKILL.md"), link_entry("passwd", "/etc/passwd", hard=True)]
        contents = {"SKILL.md": md}
    else:  # a gzip bomb: 64 MiB of zeros in one entry
        big = tarfile.TarInfo("SKILL.md")
        big.size = 64 * 1024**2
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w") as tar:
            tar.addfile(big, io.BytesIO(bytes(big.size)))
        return gzip.compress(raw.getvalue())
    return tar_gz(entries, contents)


@pytest.mark.parametrize("kind", ["traversal", "absolute", "symlink", "hardlink", "bomb"])
def test_a_hostile_bundle_never_writes_outside_the_target(
    fake: FakeRegistry, isolated: Path, tmp_path: Path, kind: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    serve_skill(fake, "evil", "pwn", "1.0.0", _hostile(kind, outside), FAKE_DIGEST)
    before = files_under(tmp_path)

    result = run("--url", fake.url, "install", "evil/pwn", "--agent", "claude")

    assert result.exit_code == ExitCode.INTEGRITY, result.output
    assert "unsafe or invalid; nothing was installed" in result.stderr
    assert "Traceback" not in result.output
    assert files_under(tmp_path) == before  # nothing anywhere: no x, no abs, no lock
    assert not (tmp_path.parent / "x").exists()
    skills = isolated / ".claude" / "skills"
    assert not skills.exists() or list(skills.iterdir()) == []  # no staging dirs left


def test_a_bundle_that_does_not_match_its_digest_is_not_installed(
    fake: FakeRegistry, isolated: Path
) -> None:
    bundle = pack_files({"SKILL.md": (skill_md("pwn"), False)})
    serve_skill(fake, "evil", "pwn", "1.0.0", bundle, FAKE_DIGEST)
    result = run("--url", fake.url, "install", "evil/pwn")
    assert result.exit_code == ExitCode.INTEGRITY
    assert f"digest mismatch for evil/pwn@1.0.0: expected {FAKE_DIGEST}" in result.stderr
    assert files_under(isolated) == set()


def test_metadata_for_another_skill_is_refused(fake: FakeRegistry, isolated: Path) -> None:
    bundle = pack_files({"SKILL.md": (skill_md("other"), False)})
    digest = read_bundle(bundle).digest
    serve_skill(fake, "evil", "other", "1.0.0", bundle, digest)
    # Asking for evil/pwn, the registry answers with evil/other's version.
    base = "/api/v1/skills/evil"
    fake.routes[("GET", f"{base}/pwn/resolve")] = fake.routes[("GET", f"{base}/other/resolve")]
    fake.routes[("GET", f"{base}/pwn/versions/1.0.0")] = fake.routes[
        ("GET", f"{base}/other/versions/1.0.0")
    ]
    result = run("--url", fake.url, "install", "evil/pwn")
    assert result.exit_code == ExitCode.INTEGRITY
    assert "the registry answered with evil/other@1.0.0" in result.stderr
    assert files_under(isolated) == set()


def test_a_valid_bundle_from_any_registry_installs(fake: FakeRegistry, isolated: Path) -> None:
    bundle = pack_files(
        {"SKILL.md": (skill_md("fine"), False), "scripts/go.sh": (b"#!/bin/sh\n", True)}
    )
    serve_skill(fake, "ok", "fine", "2.0.0", bundle, read_bundle(bundle).digest)
    result = run("--url", fake.url, "install", "ok/fine", "--agent", "windsurf")
    assert result.exit_code == 0, result.output
    installed = isolated / ".windsurf" / "skills" / "fine"
    assert files_under(installed) == {"SKILL.md", "scripts/go.sh"}
    assert (installed / "scripts" / "go.sh").stat().st_mode & 0o100
    assert not (installed / "SKILL.md").stat().st_mode & 0o100


# -- error mapping -------------------------------------------------------------------

ERRORS = [
    # (status, problem extras, headers, exit code, message part, hint part)
    (401, {}, {}, ExitCode.UNAUTHENTICATED, "bad credential", "skreg login"),
    (403, {}, {}, ExitCode.FORBIDDEN, "bad credential", "skreg whoami"),
    (404, {}, {}, ExitCode.NOT_FOUND, "skill acme/thing not found", "skreg search"),
    (409, {}, {}, ExitCode.CONFLICT, "bad credential", "new version number"),
    (413, {}, {}, ExitCode.REJECTED, "too large", "size limit"),
    (
        422,
        {"errors": [{"path": "frontmatter.name", "message": "nope"}]},
        {},
        ExitCode.REJECTED,
        "frontmatter.name: nope",
        "fix the problems",
    ),
    (429, {}, {"Retry-After": "42"}, ExitCode.RATE_LIMITED, "rate limited", "wait 42 s"),
    (500, {"request_id": "req-7"}, {}, ExitCode.NETWORK, "HTTP 500 (request id req-7)", "later"),
]


@pytest.mark.parametrize(("status", "extra", "headers", "code", "message", "hint"), ERRORS)
def test_http_errors_become_one_line_and_a_hint(
    fake: FakeRegistry,
    status: int,
    extra: dict[str, object],
    headers: dict[str, str],
    code: ExitCode,
    message: str,
    hint: str,
) -> None:
    problem = {"title": "Nope", "status": status, "detail": "bad credential", **extra}
    fake.fallback = Reply.json(problem, status, **headers)
    result = run("--url", fake.url, "--token", "t", "info", "acme/thing")
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert hint in result.stderr.split("hint:", 1)[1]
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) <= 3  # message, problems, hint
    verbose = run("--url", fake.url, "--token", "t", "--verbose", "info", "acme/thing")
    assert f"-> HTTP {status}" in verbose.stderr  # the request and raw answer with --verbose


def test_a_non_json_error_page_still_gives_a_clean_message(fake: FakeRegistry) -> None:
    fake.fallback = Reply(502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"})
    result = run("--url", fake.url, "search", "x")
    assert result.exit_code == ExitCode.NETWORK
    assert "failed with HTTP 502" in result.stderr
    fake.fallback = Reply(413, b"Request Entity Too Large", {"Content-Type": "text/plain"})
    too_big = run("--url", fake.url, "search", "x")
    assert too_big.exit_code == ExitCode.REJECTED
    assert "too large" in too_big.stderr


def test_an_answer_of_the_wrong_shape_is_not_a_traceback(fake: FakeRegistry) -> None:
    fake.fallback = Reply.json({"hello": "world"})
    result = run("--url", fake.url, "search", "x")
    assert result.exit_code == ExitCode.NETWORK
    assert "unexpected answer" in result.stderr
    assert "is this a Skills Registry?" in result.stderr


def test_no_network_is_exit_3_with_a_hint() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run("--url", url, "search", "pdf")
    assert result.exit_code == ExitCode.NETWORK
    assert f"cannot reach the registry at {url}: connection refused" in result.stderr
    assert "hint: check the URL" in result.stderr
    assert "Traceback" not in result.output


def test_publish_problems_from_the_registry_are_listed(fake: FakeRegistry, isolated: Path) -> None:
    make_skill(isolated, "listed")
    problems = [
        {"path": "frontmatter.description", "message": "too vague"},
        {"path": "", "message": "x"},
    ]
    fake.fallback = Reply.json(
        {"title": "Validation failed", "status": 422, "errors": problems}, 422
    )
    result = run("--url", fake.url, "--token", "t", "publish", "listed")
    assert result.exit_code == ExitCode.REJECTED
    assert "frontmatter.description: too vague" in result.stderr
    assert "(bundle): x" in result.stderr
    method, path, headers = fake.seen[-1]
    assert (method, path.split("?")[0]) == ("POST", "/api/v1/skills")
    assert "version=1.0.0" in path
    assert headers["Content-Type"] == "application/gzip"
    assert headers["Authorization"] == "Bearer t"


def test_login_with_a_token_stores_it_0600(fake: FakeRegistry, tmp_path: Path) -> None:
    me = {"kind": "user", "id": "u1", "username": "ann", "roles": ["user"], "scopes": ["read"]}
    fake.routes[("GET", "/api/v1/auth/me")] = Reply.json(me)
    result = run("login", fake.url, "--token", "sr_abc_def")
    assert result.exit_code == 0, result.output
    assert f"Logged in to {fake.url} as ann" in result.stdout
    path = tmp_path / "config" / "config.json"
    assert path.stat().st_mode & 0o777 == 0o600
    stored = json.loads(path.read_text())
    assert stored["url"] == fake.url
    assert stored["credentials"][fake.url]["token"] == "sr_abc_def"
    assert fake.seen[-1][2]["Authorization"] == "Bearer sr_abc_def"
    # Later commands use the stored URL and key without flags.
    whoami = run("whoami")
    assert whoami.exit_code == 0
    assert "ann on" in whoami.stdout


def test_the_key_is_never_sent_to_another_registry(fake: FakeRegistry, isolated: Path) -> None:
    bundle = pack_files({"SKILL.md": (skill_md("fine"), False)})
    serve_skill(fake, "ok", "fine", "1.0.0", bundle, read_bundle(bundle).digest)
    assert run("--url", fake.url, "install", "ok/fine").exit_code == 0
    with fake_registry() as other:
        # skreg.lock names `fake`; the current registry and its key are `other`'s.
        (isolated / ".agents").rename(isolated / "gone")
        result = run("--url", other.url, "--token", "secret-of-other", "install")
        assert result.exit_code == 0, result.output
        assert other.seen == []
    assert all("Authorization" not in headers for _, _, headers in fake.seen)
