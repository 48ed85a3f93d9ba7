"""Things for the fuzzer to find: without them, every `{namespace}/{name}` is a 404.

Before the run, the admin publishes two skills (one for `DELETE` to remove), makes
two import sources (one for `DELETE`), a one-off import and an API key, and registers a user for the
admin operations to act on. Their identifiers become the examples of the path
parameters of the same name (see `tests.fuzz.hooks`).
"""

from __future__ import annotations

import httpx
from skreg_proto.bundle.pack import pack_files

SEED_ENV = "SKREG_FUZZ_SEED"  # how the identifiers reach the hooks, as JSON
SKILL = "fuzz-demo"
DOOMED = "fuzz-doomed"  # the path example of `DELETE /api/v1/skills/{namespace}/{name}`
VERSION = "1.0.0"
# A host that never resolves (RFC 2606); the fenced server resolves nothing off-host anyway.
SOURCE_URL = "https://git.invalid/fuzz/skills.git"
DOOMED_SOURCE_URL = "https://git.invalid/fuzz/doomed.git"


def skill_bundle(name: str) -> bytes:
    """A valid bundle with a few files, so `files/{path}` has something to serve."""
    skill_md = (
        f"---\nname: {name}\ndescription: A skill for the fuzzing run.\n"
        f'metadata:\n  version: "{VERSION}"\n  tags: "fuzz,demo"\n---\n'
        "# Demo\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n```sh\necho hi\n```\n"
    )
    return pack_files(
        {
            "SKILL.md": (skill_md.encode(), False),
            "scripts/run.sh": (b"#!/bin/sh\necho hi\n", True),
            "docs/guide.md": (b"# Guide\n", False),
        }
    )


def _created(response: httpx.Response) -> dict[str, object]:
    if response.status_code not in (200, 201, 202):
        request = response.request
        raise RuntimeError(f"seeding: {request.url} -> {response.status_code} {response.text}")
    body: dict[str, object] = response.json()
    return body


def seed(url: str, admin_key: str) -> dict[str, str]:
    """Create the data; returns path parameter name -> an identifier that exists."""
    headers = {"Authorization": f"Bearer {admin_key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        gzip = {"Content-Type": "application/gzip"}
        skill = _created(client.post("/api/v1/skills", content=skill_bundle(SKILL), headers=gzip))
        _created(client.post("/api/v1/skills", content=skill_bundle(DOOMED), headers=gzip))
        namespace = str(skill["namespace"])
        source = _created(
            client.post("/api/v1/sources", json={"url": SOURCE_URL, "namespace": namespace})
        )
        doomed_source = _created(
            client.post("/api/v1/sources", json={"url": DOOMED_SOURCE_URL, "namespace": namespace})
        )
        run = _created(
            client.post("/api/v1/imports", json={"url": SOURCE_URL, "namespace": namespace})
        )
        key = _created(client.post("/api/v1/auth/keys", json={"name": "fuzz"}))
        admin = _created(client.get("/api/v1/auth/me"))
        user = _created(
            client.post(
                "/api/v1/auth/register",
                json={"username": "fuzzer", "email": "fuzzer@example.org", "password": "x" * 16},
            )
        )
    return {
        "namespace": namespace,
        "name": str(skill["name"]),
        "doomed_name": DOOMED,
        "version": str(skill["version"]),
        "path": "SKILL.md",
        "source_id": str(source["id"]),
        "doomed_source_id": str(doomed_source["id"]),
        "run_id": str(run["id"]),
        "key_id": str(key["id"]),
        "user_id": str(user["id"]),
        "admin_id": str(admin["id"]),
    }
