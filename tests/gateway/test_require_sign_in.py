"""`REQUIRE_SIGN_IN=true`: nothing answers a caller without an identity, except the ways in.

All-in-one (auth, catalog, importer and UI in one app, as `make run`) and split (the
catalog alone, verifying credentials through auth as a deployed one does), on both
backends: every API, well-known, MCP and ClawHub request without a valid identity is
401 with `WWW-Authenticate: Bearer` (problem+json; ClawHub in its plain text),
`/health`, `/ready` and sign-in stay open, and web pages send browsers to sign in.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from skreg_catalog.component import component as catalog_component
from skreg_catalog.settings import CatalogSettings
from skreg_common.app import build_app
from skreg_common.runtime import Runtime
from skreg_gateway.app import create_app
from skreg_gateway.settings import GatewaySettings

from tests.support.factories import bearer, publish_skill, register_user, sign_in
from tests.support.identities import Identities, issue_identities, verified_by_auth

MCP_LIST = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}
# (method, path, body): one request per surface a caller without identity must not read.
GUARDED = [
    ("GET", "/api/v1/skills", None),
    ("GET", "/api/v1/skills/alice/notes", None),
    ("GET", "/api/v1/tags", None),
    ("GET", "/api/v1/stats", None),
    ("GET", "/.well-known/agent-skills/index.json", None),
    ("GET", "/ns/alice/.well-known/agent-skills/index.json", None),
    ("POST", "/mcp", MCP_LIST),
]
CLAWHUB = [
    ("GET", "/clawhub/api/v1/search?q=notes", None),
    ("GET", "/clawhub/api/v1/skills", None),
]


async def _call(
    client: httpx.AsyncClient, method: str, path: str, body: Any, **headers: str
) -> httpx.Response:
    extra = MCP_HEADERS if path == "/mcp" else {}
    return await client.request(method, path, json=body, headers={**extra, **headers})


def _refused(response: httpx.Response, *, problem: bool = True) -> None:
    assert response.status_code == 401, (response.request.url, response.text)
    assert response.headers["www-authenticate"] == "Bearer"
    kind = response.headers["content-type"]
    if problem:
        assert kind == "application/problem+json"
    else:  # ClawHub: the plain text its CLI prints (docs/clawhub.md)
        assert kind.startswith("text/plain"), kind
        assert "requires sign-in" in response.text


@pytest.fixture
async def gateway(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    for name, value in {
        "DATABASE_URL": database_url,
        "REQUIRE_SIGN_IN": "true",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "8192",
        "ARGON2_PARALLELISM": "1",
        "AUTO_MIGRATE": "false",
    }.items():
        monkeypatch.setenv(name, value)
    settings = GatewaySettings(database_url=database_url, auto_migrate=False, require_sign_in=True)
    async with AsyncTestClient(create_app(settings)) as client:
        yield client


async def test_all_in_one_answers_only_signed_in_callers(
    gateway: AsyncTestClient[Litestar],
) -> None:
    # The ways in stay open: probes, registration and sign-in.
    assert (await gateway.get("/health")).status_code == 200
    assert (await gateway.get("/ready")).status_code == 200
    await register_user(gateway, "alice")
    alice = bearer((await sign_in(gateway, "alice"))["access_token"])
    await publish_skill(gateway, "notes", "1.0.0", alice)

    for method, path, body in GUARDED:
        _refused(await _call(gateway, method, path, body))
        _refused(await _call(gateway, method, path, body, Authorization="Bearer not-a-token"))
        signed_in = await _call(gateway, method, path, body, **alice)
        assert signed_in.status_code == 200, (path, signed_in.text)
    for method, path, body in CLAWHUB:  # ClawHub keeps its plain-text errors
        _refused(await _call(gateway, method, path, body), problem=False)
        assert (await _call(gateway, method, path, body, **alice)).status_code == 200

    # Web pages send anonymous browsers to the sign-in page, which itself answers.
    for page in ("/", "/skills/alice/notes"):
        sent = await gateway.get(page, follow_redirects=False)
        assert sent.status_code in (302, 303), (page, sent.status_code)
        assert sent.headers["location"].startswith("/login"), sent.headers["location"]
    assert (await gateway.get("/login")).status_code == 200


@pytest.fixture
def issued(sqlite_template: Path, tmp_path: Path) -> Identities:
    """alice's credential, issued by auth on a database of its own (before the loop runs)."""
    auth_db = tmp_path / "auth.db"
    shutil.copyfile(sqlite_template, auth_db)
    return issue_identities(f"sqlite+aiosqlite:///{auth_db}")


@pytest.fixture
async def split_catalog(
    database_url: str, issued: Identities
) -> AsyncIterator[tuple[AsyncTestClient[Litestar], dict[str, str]]]:
    """The catalog alone (as `python -m skreg_catalog`), credentials verified by auth."""
    settings = CatalogSettings(database_url=database_url, auto_migrate=False, require_sign_in=True)
    runtime = Runtime.open(settings)
    async with verified_by_auth(issued, settings, "catalog") as verifier:
        app = build_app("catalog", runtime, [verifier, catalog_component(settings)])
        async with AsyncTestClient(app) as client:
            yield client, issued.headers("alice")


async def test_a_split_catalog_answers_only_signed_in_callers(
    split_catalog: tuple[AsyncTestClient[Litestar], dict[str, str]],
) -> None:
    client, alice = split_catalog
    assert (await client.get("/health")).status_code == 200
    await publish_skill(client, "notes", "1.0.0", alice)
    for method, path, body in GUARDED:
        _refused(await _call(client, method, path, body))
        assert (await _call(client, method, path, body, **alice)).status_code == 200, path
    for method, path, body in CLAWHUB:
        _refused(await _call(client, method, path, body), problem=False)
