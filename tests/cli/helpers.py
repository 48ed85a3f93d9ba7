"""Helpers for the CLI tests: running `skreg`, making skill directories, hostile tarballs."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner, Result
from skreg_cli.main import cli

PASSWORD = "correct-horse-battery"


def run(*args: str, input: str | None = None) -> Result:
    """Run `skreg ARGS` in-process; the environment (HOME, config dir, cwd) is the test's."""
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def unique(prefix: str) -> str:
    """A name no other test uses (the registry is shared by a whole test session)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_skill(
    parent: Path,
    name: str,
    *,
    version: str | None = "1.0.0",
    description: str = "A skill for tests.",
    extra: Mapping[str, str] | None = None,
    body: str = "# Usage\n\nSay hello.\n",
) -> Path:
    """A valid skill directory `parent/name` (with an executable script)."""
    directory = parent / name
    (directory / "scripts").mkdir(parents=True, exist_ok=True)
    metadata = f"metadata:\n  version: {version}\n" if version else ""
    (directory / "SKILL.md").write_text(
        f"---\nname: {name}\ndescription: {description}\n{metadata}---\n{body}"
    )
    script = directory / "scripts" / "run.sh"
    script.write_text("#!/bin/sh\necho hello\n")
    script.chmod(0o755)
    for path, content in (extra or {}).items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    return directory


def publish_marked(source: Path, version: str) -> None:
    """Publish `source` as `version`, its SKILL.md ending in `v<version>` (to tell copies apart)."""
    skill_md = source / "SKILL.md"
    skill_md.write_text(skill_md.read_text() + f"\nv{version}\n")
    result = run("publish", str(source), "--version", version)
    assert result.exit_code == 0, result.output


def locked(project: Path, full: str) -> tuple[str, str]:
    """The locked version and the requested version or range of `full` in the project."""
    entry = json.loads((project / "skreg.lock").read_text())["skills"][full]
    return entry["version"], entry["requested"]


@dataclass
class User:
    """A registered user with an API key (scopes read, publish, yank)."""

    username: str
    password: str
    key: str


def register(base_url: str, username: str | None = None) -> User:
    """Register a fresh user over HTTP and mint an API key for it."""
    username = username or unique("u").replace("-", "")
    with httpx.Client(base_url=base_url, timeout=30) as http:
        response = http.post(
            "/api/v1/auth/register",
            json={"username": username, "email": f"{username}@example.com", "password": PASSWORD},
        )
        assert response.status_code == 201, response.text
        login = http.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert login.status_code == 200, login.text
        access = login.json()["access_token"]
        key = http.post(
            "/api/v1/auth/keys",
            json={"name": "tests", "scopes": ["read", "publish", "yank"]},
            headers={"Authorization": f"Bearer {access}"},
        )
        assert key.status_code == 201, key.text
    return User(username, PASSWORD, key.json()["key"])


def yank(base_url: str, user: User, skill: str, version: str, reason: str = "broken") -> None:
    """Yank a version over HTTP (the CLI has no yank command)."""
    response = httpx.post(
        f"{base_url}/api/v1/skills/{skill}/versions/{version}/yank",
        json={"reason": reason},
        headers={"Authorization": f"Bearer {user.key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def files_under(root: Path) -> set[str]:
    """Every file and link under `root`, as POSIX paths relative to it."""
    return {
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()
    }


# -- hand-built tarballs -------------------------------------------------------------


def tar_gz(entries: list[tarfile.TarInfo], contents: Mapping[str, bytes]) -> bytes:
    """A gzip'd tar of exactly these entries (no checks: it may be hostile on purpose)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info in entries:
            data = contents.get(info.name)
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return gzip.compress(buffer.getvalue())


def file_entry(name: str, mode: int = 0o644) -> tarfile.TarInfo:
    """A regular-file tar header."""
    info = tarfile.TarInfo(name)
    info.mode = mode
    return info


def link_entry(name: str, target: str, *, hard: bool = False) -> tarfile.TarInfo:
    """A symlink (or hard link) tar header."""
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    info.linkname = target
    return info


def skill_md(name: str) -> bytes:
    """A valid SKILL.md for `name`."""
    return f"---\nname: {name}\ndescription: Looks harmless.\n---\nHello.\n".encode()


# -- a fake OUTSIDE registry -----------------------------------------------------------


@dataclass
class Reply:
    """A canned answer."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, value: Any, status: int = 200, **headers: str) -> Reply:
        """A JSON answer (problem+json for error statuses)."""
        kind = "application/problem+json" if status >= 400 else "application/json"
        return cls(status, json.dumps(value).encode(), {"Content-Type": kind, **headers})


@dataclass
class FakeRegistry:
    """A tiny HTTP server standing in for a registry outside our control."""

    url: str
    routes: dict[tuple[str, str], Reply]
    seen: list[tuple[str, str, dict[str, str]]]
    fallback: Reply | None = None


@contextmanager
def fake_registry() -> Iterator[FakeRegistry]:
    """Serve `routes` on 127.0.0.1 (any other path: the fallback, else 404)."""
    routes: dict[tuple[str, str], Reply] = {}
    seen: list[tuple[str, str, dict[str, str]]] = []
    state = FakeRegistry("", routes, seen)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            path = self.path.split("?", 1)[0]
            seen.append((self.command, self.path, dict(self.headers.items())))
            reply = routes.get((self.command, path)) or state.fallback
            reply = reply or Reply.json({"title": "Not found", "status": 404}, 404)
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def do_DELETE(self) -> None:
            self._answer()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def serve_skill(
    fake: FakeRegistry, namespace: str, name: str, version: str, bundle: bytes, digest: str
) -> None:
    """Make the fake registry list one version of one skill and serve `bundle` for it."""
    base = f"/api/v1/skills/{namespace}/{name}"
    meta = {
        "namespace": namespace,
        "name": name,
        "version": version,
        "digest": digest,
        "yanked": False,
        "yank_reason": None,
        "files": [],
        "frontmatter": {},
        "provenance": None,
        "published_at": "2026-01-01T00:00:00Z",
    }
    fake.routes[("GET", f"{base}/versions")] = Reply.json({"items": [meta], "next_cursor": None})
    fake.routes[("GET", f"{base}/versions/{version}")] = Reply.json(meta)
    fake.routes[("GET", f"{base}/resolve")] = Reply.json(meta)  # any spec: the one version
    fake.routes[("GET", f"{base}/versions/{version}/download")] = Reply(
        200, bundle, {"Content-Type": "application/gzip"}
    )
