"""Fixtures for the web UI tests: the real all-in-one process, seeded through the public API,
and Debian's headless Chromium driven by Playwright (never a downloaded browser).

The server is `python -m skreg_gateway` on a free loopback port with a temporary SQLite
file and the in-process queue, started once per test session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)
from skreg_proto.bundle import pack_files

from tests.support.processes import Process, free_port, start, wait_http

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
ADMIN_USER = "admin"
ADMIN_PASSWORD = "admin-password-for-ui-tests"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}

SKILL_MD = """---
name: pdf-tools
description: Extract text and tables from PDF files, fill PDF forms and merge documents.
license: Apache-2.0
compatibility: Needs Python 3.11 and poppler-utils
metadata:
  version: "1.2.0"
  tags: "pdf, documents"
---
# PDF tools

Use `scripts/extract.py` to pull text out of a PDF.
See [the guide](references/guide.md) for details.
"""

EVIL_MD = """---
name: evil-readme
description: Totally harmless <script>window.__xssDescription = 1</script> helper
metadata:
  version: "0.1.0"
---
# Evil readme

<script>window.__xssInline = 1; alert("inline script")</script>

[click me](javascript:alert('link'))

<a href="javascript:alert('raw')" id="raw-js">raw javascript link</a>

<img src="/nonexistent.png" onerror="window.__xssHandler = 1; alert('onerror')">

<iframe src="javascript:alert('frame')"></iframe>
"""


@dataclass
class Server:
    """The running all-in-one process."""

    url: str
    process: Process
    workdir: Path

    def api_token(self, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> str:
        """An access token from the public login endpoint."""
        response = httpx.post(
            f"{self.url}/api/v1/auth/login",
            json={"username": username, "password": password},
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def publish(
        self, files: dict[str, tuple[bytes, bool]], token: str, version: str | None = None
    ) -> None:
        """Publish a bundle through the public API."""
        response = httpx.post(
            f"{self.url}/api/v1/skills",
            params={"version": version} if version else None,
            content=pack_files(files),
            headers={"authorization": f"Bearer {token}", "content-type": "application/gzip"},
            timeout=30,
        )
        assert response.status_code in (200, 201), response.text


def _server_command() -> list[str]:
    # SKREG_UI_SERVER_SCRIPT lets a developer point the suite at another composition of the
    # same app (e.g. while the gateway wiring is changing); CI always runs the real module.
    script = os.environ.get("SKREG_UI_SERVER_SCRIPT")
    return [sys.executable, script] if script else [sys.executable, "-m", "skreg_gateway"]


def wait_for_ui(process: Process, url: str) -> None:
    """Wait for the process to answer, then insist that it serves the pages."""
    wait_http(process, f"{url}/health", timeout=60)
    home = httpx.get(f"{url}/", headers={"accept": "text/html"}, timeout=30)
    if home.status_code != 200 or "text/html" not in home.headers.get("content-type", ""):
        pytest.fail(
            f"the all-in-one process does not serve the web UI (GET / answered "
            f"{home.status_code}): mount skreg_gateway.ui.component.ui_component in "
            "skreg_gateway.app"
        )


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`python -m skreg_gateway` with SQLite, no Redis, local Git sources allowed."""
    workdir = tmp_path_factory.mktemp("ui-server")
    port = free_port()
    env = {
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'registry.db'}",
        "REDIS_URL": "",
        "LOG_JSON": "true",
        "IMPORTER_ALLOW_LOCAL": "true",
        "SYNC_ENABLED": "false",
        "REGISTRATION_OPEN": "true",
        "ADMIN_USERNAME": ADMIN_USER,
        "ADMIN_EMAIL": "admin@example.test",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        # Cheap password hashing: these tests are about pages, not argon2's cost.
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "8192",
        "ARGON2_PARALLELISM": "1",
    }
    process = start("ui-server", _server_command(), env, workdir, cwd=workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_ui(process, url)
        yield Server(url=url, process=process, workdir=workdir)
    finally:
        process.stop()


@pytest.fixture(scope="session")
def seeded(ui_server: Server) -> Server:
    """Two skills published by the admin: a normal one with files, and a hostile one."""
    token = ui_server.api_token()
    ui_server.publish(
        {
            "SKILL.md": (SKILL_MD.encode(), False),
            "scripts/extract.py": (b"#!/usr/bin/env python3\nprint('<b>extract</b>')\n", True),
            "references/guide.md": (b"# Guide\n\nStep one: <script>alert(1)</script>\n", False),
            "assets/logo.bin": (bytes(range(256)), False),
        },
        token,
    )
    ui_server.publish({"SKILL.md": (EVIL_MD.encode(), False)}, token)
    return ui_server


@pytest.fixture(scope="session")
def git_repo(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A local Git repository with two good skills and one broken one; its file:// URL."""
    root = tmp_path_factory.mktemp("git-source") / "skills-repo"
    skills = {
        "skills/alpha": "---\nname: alpha\ndescription: Alpha imported skill.\n---\n# Alpha\n",
        "skills/beta": "---\nname: beta\ndescription: Beta imported skill.\n---\n# Beta\n",
        "skills/broken": "---\nname: not-the-folder\ndescription: ''\n---\nbody\n",
    }
    for folder, text in skills.items():
        (root / folder).mkdir(parents=True)
        (root / folder / "SKILL.md").write_text(text)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.test",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.test",
    }
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "skills"]):
        subprocess.run(["git", *argv], cwd=root, env=env, check=True)
    return root.as_uri()


# Package scope, not session: Playwright's sync API holds an event loop on the main
# thread while it runs, and every later asyncio.run (tests/common, tests/gateway when run
# after tests/ui) would fail with "cannot be called from a running event loop".
@pytest.fixture(scope="package")
def playwright_instance() -> Iterator[Playwright]:
    """Playwright's driver (the browser itself is Debian's Chromium)."""
    assert Path(CHROMIUM).exists(), "run scripts/ensure-chromium.sh (apt: chromium)"
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Headless Chromium from /usr/bin/chromium."""
    launched = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    yield launched
    launched.close()


@pytest.fixture
def context(browser: Browser, ui_server: Server) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) at desktop size, allowed to use the clipboard."""
    ctx = browser.new_context(viewport=DESKTOP, base_url=ui_server.url)
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=ui_server.url)
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A tab in the fresh profile."""
    return context.new_page()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(page: Page, username: str, password: str) -> None:
    """Sign in through the form and wait for the redirect."""
    page.goto("/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def register(page: Page, username: str, password: str) -> None:
    """Create an account through the form (it signs in straight away)."""
    page.goto("/register")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.test")
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Repeat the password").fill(password)
    page.get_by_role("button", name="Register").click()
    page.wait_for_url("**/profile")
