"""Every visibility, every caller, every read surface, against the expected answer.

One all-in-one app per backend (auth, catalog, UI in one process, as `make run`),
seeded through the public API: organization `acme` with an owner, an admin, a
publisher and a reader; an outsider; the registry admin; and the publisher's API key
limited to another namespace (`pete/*`). `acme` holds one skill per visibility.

The web UI's pages (skill, search, namespace, home) are surfaces too, walked with a
browser session per caller signed in through the login form (an API key cannot sign in
to the web UI, so the limited key has no web cells).

The table of expectations is generated (`expected`), each surface answers "does
this caller see this skill?" by its own means (listed, counted, 200 or 404), and
the test collects every cell that disagrees, so a failure names them all at once.
A hidden skill's 404 must also read exactly like the 404 of a skill that does not
exist (same status, same title, same detail with the name swapped).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from skreg_gateway.app import create_app
from skreg_gateway.settings import GatewaySettings

from tests.support.factories import (
    AUTH,
    PASSWORD,
    bearer,
    create_api_key,
    publish_bundle,
    register_user,
    sign_in,
    skill_bundle,
)

ADMIN_PASSWORD = "admin-password-for-matrix"
VISIBILITIES = ("public", "internal", "private")
CALLERS = ("anonymous", "other", "reader", "publisher", "org_admin", "admin", "limited_key")
ORG = "acme"
MEMBERS = {"owen": "owner", "olga": "admin", "pete": "publisher", "rita": "reader"}
VERSION = "1.0.0"


def expected(visibility: str, caller: str) -> bool:
    """The rule, as the issue states it, written independently of the code under test."""
    if visibility == "public":
        return True
    if visibility == "internal":
        return caller not in ("anonymous", "limited_key")
    return caller in ("reader", "publisher", "org_admin", "admin")


def skill_name(visibility: str) -> str:
    return f"{visibility}-skill"


def marker(visibility: str) -> str:
    """A word only this skill's text holds (search finds it by that)."""
    return f"zq{visibility}word"


Headers = dict[str, str]
Surface = Callable[[httpx.AsyncClient, Headers, str], Awaitable[bool]]


async def _status(client: httpx.AsyncClient, headers: Headers, path: str) -> bool:
    response = await client.get(path, headers=headers)
    assert response.status_code in (200, 404), (path, response.status_code, response.text)
    return response.status_code == 200


async def listed(client: httpx.AsyncClient, headers: Headers, visibility: str) -> bool:
    body = (await client.get("/api/v1/skills", params={"namespace": ORG}, headers=headers)).json()
    names = {item["name"] for item in body["items"]}
    assert body["total"] == len(names), body  # the total counts exactly what is listed
    return skill_name(visibility) in names


async def browsed(client: httpx.AsyncClient, headers: Headers, visibility: str) -> bool:
    body = (await client.get("/api/v1/skills", headers=headers)).json()
    names = {item["name"] for item in body["items"]}
    assert body["total"] == len(names), body
    return skill_name(visibility) in names


async def searched(client: httpx.AsyncClient, headers: Headers, visibility: str) -> bool:
    params = {"q": marker(visibility)}
    body = (await client.get("/api/v1/skills", params=params, headers=headers)).json()
    assert body["total"] == len(body["items"]), body
    return any(item["name"] == skill_name(visibility) for item in body["items"])


async def suggested(client: httpx.AsyncClient, headers: Headers, visibility: str) -> bool:
    """A misspelt marker: "did you mean" may name only words of skills the caller sees."""
    params = {"q": marker(visibility).replace("word", "wrd")}
    body = (await client.get("/api/v1/skills", params=params, headers=headers)).json()
    # Hybrid search may still place skills close in meaning (the "search" surface checks
    # which ones); the misspelt word itself is unknown, so suggestions are offered.
    assert body["total"] == len(body["items"]), body
    return any(marker(visibility) in s for s in body.get("suggestions", []))


async def tagged(client: httpx.AsyncClient, headers: Headers, visibility: str) -> bool:
    params = {"tag": marker(visibility)}
    body = (await client.get("/api/v1/skills", params=params, headers=headers)).json()
    assert body["total"] == len(body["items"]), body
    return bool(body["items"])


async def in_tags(client: httpx.AsyncClient, headers: Headers, visibility: str) -> bool:
    body = (await client.get("/api/v1/tags", params={"limit": 100}, headers=headers)).json()
    counts = {item["tag"]: item["count"] for item in body["items"]}
    assert body["total"] == len(counts)
    return counts.get(marker(visibility)) == 1


async def in_stats(client: httpx.AsyncClient, headers: Headers, visibility: str) -> bool:
    body = (await client.get("/api/v1/stats", headers=headers)).json()
    top = {item["name"] for item in body["top"]}
    assert body["skills"] == len(top)  # fewer than ten skills: all of them are "top"
    return skill_name(visibility) in top


def _path(suffix: str) -> Surface:
    async def surface(client: httpx.AsyncClient, headers: Headers, visibility: str) -> bool:
        return await _status(
            client, headers, f"/api/v1/skills/{ORG}/{skill_name(visibility)}{suffix}"
        )

    return surface


async def in_wellknown(client: httpx.AsyncClient, headers: Headers, visibility: str) -> bool:
    response = await client.get("/.well-known/agent-skills/index.json", headers=headers)
    return any(entry["name"] == skill_name(visibility) for entry in response.json()["skills"])


async def in_namespace_index(client: httpx.AsyncClient, headers: Headers, visibility: str) -> bool:
    response = await client.get(f"/ns/{ORG}/.well-known/agent-skills/index.json", headers=headers)
    return any(entry["name"] == skill_name(visibility) for entry in response.json()["skills"])


async def archive(client: httpx.AsyncClient, headers: Headers, visibility: str) -> bool:
    path = f"/ns/{ORG}/.well-known/agent-skills/{skill_name(visibility)}/{VERSION}.zip"
    return await _status(client, headers, path)


async def clawhub_skill(client: httpx.AsyncClient, headers: Headers, visibility: str) -> bool:
    return await _status(client, headers, f"/clawhub/api/v1/skills/{skill_name(visibility)}")


async def clawhub_search(client: httpx.AsyncClient, headers: Headers, visibility: str) -> bool:
    params = {"q": marker(visibility)}
    response = await client.get("/clawhub/api/v1/search", params=params, headers=headers)
    return any(r["slug"] == skill_name(visibility) for r in response.json()["results"])


async def clawhub_explore(client: httpx.AsyncClient, headers: Headers, visibility: str) -> bool:
    response = await client.get("/clawhub/api/v1/skills", headers=headers)
    return any(item["slug"] == skill_name(visibility) for item in response.json()["items"])


async def _mcp_tool(
    client: httpx.AsyncClient, headers: Headers, tool: str, arguments: dict[str, Any]
) -> dict[str, Any]:
    message = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }
    response = await client.post(
        "/mcp",
        json=message,
        headers={**headers, "Accept": "application/json, text/event-stream"},
    )
    assert response.status_code == 200, response.text
    return dict(response.json()["result"])


async def mcp_search(client: httpx.AsyncClient, headers: Headers, visibility: str) -> bool:
    result = await _mcp_tool(client, headers, "search_skills", {"query": marker(visibility)})
    return skill_name(visibility) in json.dumps(result)


async def mcp_get(client: httpx.AsyncClient, headers: Headers, visibility: str) -> bool:
    result = await _mcp_tool(
        client, headers, "get_skill", {"skill": f"{ORG}/{skill_name(visibility)}"}
    )
    return not result.get("isError", False)


SURFACES: dict[str, Surface] = {
    "list": listed,
    "browse": browsed,
    "search": searched,
    "suggestions": suggested,
    "tag-filter": tagged,
    "tags": in_tags,
    "stats": in_stats,
    "detail": _path(""),
    "versions": _path("/versions"),
    "resolve": _path("/resolve"),
    "version": _path(f"/versions/{VERSION}"),
    "latest": _path("/versions/latest"),
    "file": _path(f"/versions/{VERSION}/files/SKILL.md"),
    "download": _path(f"/versions/{VERSION}/download"),
    "wellknown-index": in_wellknown,
    "wellknown-namespace-index": in_namespace_index,
    "wellknown-archive": archive,
    "clawhub-skill": clawhub_skill,
    "clawhub-search": clawhub_search,
    "clawhub-explore": clawhub_explore,
    "mcp-search": mcp_search,
    "mcp-get-skill": mcp_get,
}


# --- the web UI: the same question, asked of the pages a browser gets ---------------------

WEB_CALLERS = tuple(c for c in CALLERS if c != "limited_key")
WEB_LOGINS = {
    "other": "bob",
    "reader": "rita",
    "publisher": "pete",
    "org_admin": "olga",
    "admin": "admin",
}
HTML = {"accept": "text/html"}
CARD = re.compile(r'class="card skill-card"')
COUNT = re.compile(r'data-testid="result-count">\s*(\d+) skills?')


def _links_to(page: str, visibility: str) -> bool:
    return f'href="/skills/{ORG}/{skill_name(visibility)}"' in page


async def _web_listed(client: httpx.AsyncClient, path: str, visibility: str) -> bool:
    response = await client.get(path, headers=HTML)
    assert response.status_code == 200, (path, response.status_code)
    page = response.text
    if path.startswith("/search"):  # the count shown is the count of cards: no leak
        shown = COUNT.search(page)
        assert shown is not None, path
        assert int(shown.group(1)) == len(CARD.findall(page)), path
    return _links_to(page, visibility)


async def web_skill_page(client: httpx.AsyncClient, visibility: str) -> bool:
    response = await client.get(f"/skills/{ORG}/{skill_name(visibility)}", headers=HTML)
    assert response.status_code in (200, 404), response.status_code
    assert "text/html" in response.headers["content-type"]
    return response.status_code == 200


async def web_search_page(client: httpx.AsyncClient, visibility: str) -> bool:
    return await _web_listed(client, f"/search?q={marker(visibility)}", visibility)


async def web_namespace_page(client: httpx.AsyncClient, visibility: str) -> bool:
    return await _web_listed(client, f"/search?namespace={ORG}", visibility)


async def web_tag_page(client: httpx.AsyncClient, visibility: str) -> bool:
    return await _web_listed(client, f"/search?tag={marker(visibility)}", visibility)


async def web_home_page(client: httpx.AsyncClient, visibility: str) -> bool:
    return await _web_listed(client, "/", visibility)


WebSurface = Callable[[httpx.AsyncClient, str], Awaitable[bool]]
WEB_SURFACES: dict[str, WebSurface] = {
    "web-skill": web_skill_page,
    "web-search": web_search_page,
    "web-namespace": web_namespace_page,
    "web-tag": web_tag_page,
    "web-home": web_home_page,
}


@asynccontextmanager
async def _browser(client: AsyncTestClient[Litestar], caller: str) -> AsyncIterator[None]:
    """The test client's cookie jar as `caller`'s browser, signed in through the login form
    (the app runs on the client's own event loop, so it is the one client that may call it)."""
    client.cookies.clear()
    try:
        username = WEB_LOGINS.get(caller)
        if username is not None:
            form = (await client.get("/login", headers=HTML)).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', form)
            assert token is not None
            password = ADMIN_PASSWORD if caller == "admin" else PASSWORD
            data = {"csrf_token": token.group(1), "username": username, "password": password}
            signed = await client.post("/login", data=data, headers=HTML, follow_redirects=False)
            assert signed.status_code == 303, signed.text
        yield
    finally:
        client.cookies.clear()


@pytest.fixture
async def registry(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    for name, value in {
        "DATABASE_URL": database_url,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "8192",
        "ARGON2_PARALLELISM": "1",
        "READ_CACHE_TTL": "30",  # on: a cached answer for one caller must not reach another
        "AUTO_MIGRATE": "false",
    }.items():
        monkeypatch.setenv(name, value)
    app = create_app(GatewaySettings(database_url=database_url, auto_migrate=False))
    async with AsyncTestClient(app) as client:
        yield client


async def _seed(client: httpx.AsyncClient) -> dict[str, Headers]:
    for username in [*MEMBERS, "bob"]:
        await register_user(client, username)
    owner = bearer((await sign_in(client, "owen"))["access_token"])
    created = await client.post(f"{AUTH}/orgs", json={"name": ORG}, headers=owner)
    assert created.status_code == 201, created.text
    owner = bearer((await sign_in(client, "owen"))["access_token"])  # memberships changed
    for username, role in MEMBERS.items():
        if role != "owner":
            added = await client.put(
                f"{AUTH}/orgs/{ORG}/members/{username}", json={"role": role}, headers=owner
            )
            assert added.status_code == 200, added.text
    tokens = {u: bearer((await sign_in(client, u))["access_token"]) for u in [*MEMBERS, "bob"]}
    admin = bearer((await sign_in(client, "admin", ADMIN_PASSWORD))["access_token"])
    key = await create_api_key(client, tokens["pete"], ["read"], namespaces=["pete/*"])
    for visibility in VISIBILITIES:
        bundle = skill_bundle(
            skill_name(visibility),
            description=f"Does things, {marker(visibility)}.",
            tags=marker(visibility),
        )
        published = await publish_bundle(
            client, bundle, tokens["pete"], version=VERSION, visibility=visibility, namespace=ORG
        )
        assert published.status_code == 201, published.text
    return {
        "anonymous": {},
        "other": tokens["bob"],
        "reader": tokens["rita"],
        "publisher": tokens["pete"],
        "org_admin": tokens["olga"],
        "admin": admin,
        "limited_key": {"X-API-Key": key["key"]},
    }


async def test_every_surface_shows_each_caller_exactly_what_it_may_see(
    registry: AsyncTestClient[Litestar],
) -> None:
    callers = await _seed(registry)
    wrong: list[str] = []
    cells = 0
    for visibility in VISIBILITIES:
        for caller in CALLERS:
            want = expected(visibility, caller)
            for surface, sees in SURFACES.items():
                cells += 1
                got = await sees(registry, callers[caller], visibility)
                if got != want:
                    wrong.append(f"{visibility} / {caller} / {surface}: saw={got}, want={want}")
    assert cells == len(VISIBILITIES) * len(CALLERS) * len(SURFACES)
    for caller in WEB_CALLERS:
        async with _browser(registry, caller):
            for visibility in VISIBILITIES:
                want = expected(visibility, caller)
                for surface, sees_page in WEB_SURFACES.items():
                    cells += 1
                    got = await sees_page(registry, visibility)
                    if got != want:
                        wrong.append(f"{visibility} / {caller} / {surface}: saw={got}, want={want}")
    assert cells == len(VISIBILITIES) * (
        len(CALLERS) * len(SURFACES) + len(WEB_CALLERS) * len(WEB_SURFACES)
    )
    assert not wrong, "\n".join(wrong)


def _comparable(response: httpx.Response, name: str) -> tuple[int, dict[str, Any]]:
    body = dict(response.json())
    body.pop("request_id", None)
    body.pop("instance", None)
    return response.status_code, {k: str(v).replace(name, "NAME") for k, v in body.items()}


async def test_a_hidden_skill_answers_exactly_as_an_absent_one(
    registry: AsyncTestClient[Litestar],
) -> None:
    callers = await _seed(registry)
    hidden, absent = skill_name("private"), "no-such-skill"
    for suffix in ("", "/versions", f"/versions/{VERSION}", f"/versions/{VERSION}/download"):
        for caller in ("anonymous", "other", "limited_key"):
            headers = callers[caller]
            seen = await registry.get(f"/api/v1/skills/{ORG}/{hidden}{suffix}", headers=headers)
            none = await registry.get(f"/api/v1/skills/{ORG}/{absent}{suffix}", headers=headers)
            assert _comparable(seen, hidden) == _comparable(none, absent), (suffix, caller)
    # The web UI asks the API with the visitor's credential: anonymous visitors get a 404.
    hidden_page = await registry.get(f"/skills/{ORG}/{hidden}")
    shown_page = await registry.get(f"/skills/{ORG}/{skill_name('public')}")
    assert (hidden_page.status_code, shown_page.status_code) == (404, 200)
    # Responses about a skill not everyone may see are never kept by shared caches.
    download = f"/api/v1/skills/{ORG}/{hidden}/versions/{VERSION}/download"
    private = await registry.get(download, headers=callers["reader"])
    assert private.status_code == 200
    assert "private" in private.headers["cache-control"], private.headers
    assert "public" not in private.headers["cache-control"]
    # Writes too: a yank or delete of a hidden skill is a 404, not a 403 that confirms it.
    for method, suffix in (("DELETE", ""), ("POST", f"/versions/{VERSION}/yank")):
        response = await registry.request(
            method,
            f"/api/v1/skills/{ORG}/{hidden}{suffix}",
            headers=callers["other"],
            json={"reason": "x"} if method == "POST" else None,
        )
        assert response.status_code == 404, (method, response.text)


HELD_BODY = "# Title\n\nDo this \u202eyltneiuq\u202c now.\n"  # a bidi override: suspicious


async def test_a_held_version_of_a_private_skill_is_seen_by_its_managers_only(
    registry: AsyncTestClient[Litestar],
) -> None:
    """Both rules at once: the skill's visibility, then the version's scan hold."""
    callers = await _seed(registry)
    hidden = skill_name("private")
    held = await publish_bundle(
        registry,
        skill_bundle(hidden, body=HELD_BODY),
        callers["publisher"],
        version="2.0.0",
        namespace=ORG,
    )
    assert held.status_code == 201, held.text
    assert held.json()["withheld"] is True
    base = f"/api/v1/skills/{ORG}/{hidden}"
    # Managers (org publisher and admin, registry admin) see it; the org's reader sees
    # the private skill but not its held version; the rest see neither.
    sees = {"publisher": True, "org_admin": True, "admin": True, "reader": False}
    sees |= {"other": False, "anonymous": False, "limited_key": False}
    for caller, want in sees.items():
        headers = callers[caller]
        for suffix in (
            "/versions/2.0.0",
            "/versions/2.0.0/download",
            "/versions/2.0.0/files/SKILL.md",
        ):
            response = await registry.get(base + suffix, headers=headers)
            assert response.status_code == (200 if want else 404), (caller, suffix)
        versions = await registry.get(base + "/versions", headers=headers)
        listed = versions.status_code == 200 and "2.0.0" in {
            item["version"] for item in versions.json()["items"]
        }
        assert listed == want, (caller, versions.status_code)
        skill_seen = expected("private", caller)
        assert versions.status_code == (200 if skill_seen else 404), caller
        latest = await registry.get(base + "/versions/latest", headers=headers)
        assert latest.status_code == (200 if skill_seen else 404), caller
        if skill_seen:  # latest stays the public 1.0.0, for managers too
            assert latest.json()["version"] == VERSION


async def test_namespace_rights_answer_by_the_rules_the_writes_apply(
    registry: AsyncTestClient[Litestar],
) -> None:
    """`GET /api/v1/namespaces/{ns}/rights`, which the web UI shows its controls by:
    publishers manage (yank, delete, visibility), owners and admins also configure."""
    callers = await _seed(registry)
    want = {
        "other": (False, False),
        "reader": (False, False),
        "publisher": (True, False),
        "org_admin": (True, True),
        "admin": (True, True),
        "limited_key": (False, False),  # limited to pete/*
    }
    for caller, (manage, configure) in want.items():
        response = await registry.get(f"/api/v1/namespaces/{ORG}/rights", headers=callers[caller])
        assert response.status_code == 200, (caller, response.text)
        body = response.json()
        assert (body["manage"], body["configure"]) == (manage, configure), caller
    # A namespace that does not exist answers like one the caller may do nothing in.
    absent = await registry.get("/api/v1/namespaces/nowhere/rights", headers=callers["admin"])
    assert absent.json() == {"namespace": "nowhere", "manage": False, "configure": False}
    for hostile in ("a%00b", "x" * 300, "%C3%A9", "%2e%2e"):
        odd = await registry.get(f"/api/v1/namespaces/{hostile}/rights", headers=callers["admin"])
        assert odd.status_code in (200, 400, 404), (hostile, odd.status_code, odd.text)
        if odd.status_code == 200:
            assert (odd.json()["manage"], odd.json()["configure"]) == (False, False), hostile
    assert (await registry.get(f"/api/v1/namespaces/{ORG}/rights")).status_code == 401
    # What the rights say is what the write does: the reader's PATCH is refused.
    patch = await registry.patch(
        f"/api/v1/skills/{ORG}/{skill_name('public')}",
        json={"visibility": "private"},
        headers=callers["reader"],
    )
    assert patch.status_code == 403, patch.text
