"""Factories for what most tests start from: users, skills and sources, made through the API.

Each goes through the public routes a client would use (register, sign in, publish,
add a source), on any `httpx.AsyncClient` (a Litestar test client or a client of a
served process), and asserts the expected status so a broken set-up fails where it
happens rather than in the test's first assertion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from skreg_proto.bundle import pack_files

AUTH = "/api/v1/auth"
SKILLS = "/api/v1/skills"
SOURCES = "/api/v1/sources"
PASSWORD = "correct-horse-battery"


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for `token`."""
    return {"Authorization": f"Bearer {token}"}


async def _ok(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


# --- users -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TestUser:
    """A registered, signed-in user."""

    __test__ = False  # not a test class, whatever its name

    id: str
    username: str
    password: str
    tokens: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header with the user's access token."""
        return bearer(self.tokens["access_token"])


async def register_user(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD, email: str | None = None
) -> dict[str, Any]:
    """Register `username` and return the user."""
    body = {"username": username, "email": email or f"{username}@example.com", "password": password}
    return await _ok(await client.post(f"{AUTH}/register", json=body), 201)


async def sign_in(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> dict[str, Any]:
    """Sign in and return the token response."""
    body = {"username": username, "password": password}
    return await _ok(await client.post(f"{AUTH}/login", json=body), 200)


async def new_user(client: httpx.AsyncClient, username: str, password: str = PASSWORD) -> TestUser:
    """Register `username` and sign in."""
    user = await register_user(client, username, password)
    tokens = await sign_in(client, username, password)
    return TestUser(id=user["id"], username=username, password=password, tokens=tokens)


async def create_api_key(
    client: httpx.AsyncClient, headers: dict[str, str], scopes: list[str], **extra: Any
) -> dict[str, Any]:
    """Create an API key with `scopes`; the response carries its secret (`key`)."""
    body = {"name": "test key", "scopes": scopes, **extra}
    return await _ok(await client.post(f"{AUTH}/keys", headers=headers, json=body), 201)


# --- skills ----------------------------------------------------------------------------------


def skill_md(
    name: str,
    description: str = "A skill for tests.",
    *,
    version: str | None = None,
    tags: str | None = None,
    body: str = "# Title\n\nSome body text.\n",
    extra: str = "",
) -> bytes:
    """A SKILL.md with the given fields (metadata only when version or tags are given)."""
    lines = [f"name: {name}", f"description: {description}"]
    metadata = []
    if version is not None:
        metadata.append(f'  version: "{version}"')
    if tags is not None:
        metadata.append(f'  tags: "{tags}"')
    if metadata:
        lines += ["metadata:", *metadata]
    front = "\n".join(lines) + "\n" + extra
    return f"---\n{front}---\n{body}".encode()


def skill_bundle(name: str, *, files: dict[str, bytes] | None = None, **fields: Any) -> bytes:
    """A valid bundle: SKILL.md (with `fields`) plus `files` (`.sh` files executable)."""
    content = {"SKILL.md": (skill_md(name, **fields), False)}
    for path, data in (files or {}).items():
        content[path] = (data, path.endswith(".sh"))
    return pack_files(content)


async def publish_bundle(
    client: httpx.AsyncClient, data: bytes, headers: dict[str, str], **params: Any
) -> httpx.Response:
    """POST a bundle with `headers` and query parameters (booleans as `true`/`false`)."""
    query = {k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()}
    return await client.post(
        SKILLS,
        content=data,
        headers={"Content-Type": "application/gzip", **headers},
        params=query,
    )


async def publish_skill(
    client: httpx.AsyncClient, name: str, version: str, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    """Publish `name@version` (a bundle with `fields`) and return the created version."""
    response = await publish_bundle(client, skill_bundle(name, **fields), headers, version=version)
    return await _ok(response, 201)


# --- sources ---------------------------------------------------------------------------------


async def add_source(
    client: httpx.AsyncClient,
    url: str,
    namespace: str = "team",
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Register the Git repository at `url` as a source importing into `namespace`."""
    body = {"url": url, "namespace": namespace, **fields}
    return await _ok(await client.post(SOURCES, json=body, headers=headers or {}), 201)
