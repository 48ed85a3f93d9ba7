"""Credentials reach git (through a 0600 credential file) and nowhere else: not the API,
not run errors, not logs, not the database in clear."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from structlog.testing import capture_logs

from tests.importer.conftest import IMPORTS, SOURCES, Stack

TOKEN = "ghp_SuperSecretToken0123456789"


class _Recorder(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("Authorization") or "")
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def refusing_server() -> Iterator[tuple[int, list[str]]]:
    """An HTTP Git host that asks for credentials and refuses whatever it gets."""
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], _Recorder.seen
    server.shutdown()
    server.server_close()


async def test_token_is_used_by_git_but_never_shown(
    stack: Stack, refusing_server: tuple[int, list[str]]
) -> None:
    port, seen = refusing_server
    with capture_logs() as logs:
        created = await stack.client.post(
            SOURCES,
            json={
                "url": f"http://deploy:{TOKEN}@127.0.0.1:{port}/private.git",
                "namespace": "team",
            },
        )
        assert created.status_code == 201, created.text
        source = created.json()
        run = await stack.sync_and_wait(source["id"])
        one_off = await stack.client.post(
            IMPORTS,
            json={
                "url": f"http://127.0.0.1:{port}/private.git",
                "namespace": "team",
                "credentials": {"token": TOKEN},
            },
        )
        other = await stack.wait(one_off.json()["id"])
        listing = await stack.client.get(IMPORTS)
        sources = await stack.client.get(SOURCES)

    assert run["state"] == "failed"
    assert other["state"] == "failed"
    assert "Authentication failed" in run["error"] or "401" in run["error"]
    # git did present the token (Basic auth from the credential file) ...
    expected = "Basic " + base64.b64encode(f"deploy:{TOKEN}".encode()).decode()
    assert expected in seen
    # ... and it appears nowhere we show or log.
    for text in (created.text, str(run), str(other), listing.text, sources.text, one_off.text):
        assert TOKEN not in text
    assert TOKEN not in str(logs)
    assert source["url"] == f"http://127.0.0.1:{port}/private.git"
