"""The sources and imports API: admin-only, hostile input answered with 4xx problem+json and
nothing written, secrets never returned, double clicks collapsed, webhooks verified."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

from skreg_common.db import create_engine
from skreg_importer.runs.models import ImportRun
from skreg_importer.sources.models import Source
from skreg_importer.webhooks.models import WebhookDelivery
from sqlalchemy import func, select

from tests.importer.conftest import IMPORTS, SOURCES, Stack, open_stack
from tests.importer.gitrepos import GitDaemon, Repo

HOSTILE_URLS = [
    "ext::sh -c touch% /tmp/pwned",
    "--upload-pack=touch /tmp/pwned",
    "-oProxyCommand=touch /tmp/pwned",
    "file:///etc",
    "http://169.254.169.254/latest/meta-data",
    "https://169.254.169.254/repo.git",
    "https://[fe80::1]/repo.git",
    "https://127.0.0.1/repo.git",
    "https://localhost/repo.git",
    "https://0.0.0.0/repo.git",
    "ssh://-oProxyCommand=calc/x",
    "git@-oProxyCommand=x:repo",
    "fd::17",
    "https://example.com/repo.git\nX: y",
    "https://example.com/re po.git",
    "ftp://example.com/repo.git",
    "https://example.com:99999/repo.git",
    "",
    "x" * 3000,
]


async def _count(stack: Stack, model: type) -> int:
    # Our own engine: the app's runs on the test client's event loop, not this one.
    engine = create_engine(stack.settings.database_url)
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        await engine.dispose()


async def test_hostile_urls_are_refused_without_a_write(database_url: str) -> None:
    async with open_stack(database_url, importer_allow_local=False) as stack:
        for url in HOSTILE_URLS:
            source = await stack.client.post(SOURCES, json={"url": url, "namespace": "team"})
            imported = await stack.client.post(IMPORTS, json={"url": url, "namespace": "team"})
            for answer in (source, imported):
                assert answer.status_code in (400, 422), (url, answer.text)
                assert answer.headers["content-type"].startswith("application/problem+json")
        assert await _count(stack, Source) == 0
        assert await _count(stack, ImportRun) == 0


async def test_admin_only(stack: Stack) -> None:
    anonymous = await stack.client.get(SOURCES, headers={"x-api-key": ""})
    assert anonymous.status_code == 401
    bogus = await stack.client.get(IMPORTS, headers={"x-api-key": "sr_nope_nope"})
    assert bogus.status_code == 401
    # A real user (not admin) with a real key is forbidden.
    register = await stack.client.post(
        "/api/v1/auth/register",
        json={"username": "mallory", "email": "m@example.com", "password": "correct-horse-1"},
        headers={"x-api-key": ""},
    )
    assert register.status_code in (200, 201), register.text
    login = await stack.client.post(
        "/api/v1/auth/login",
        json={"username": "mallory", "password": "correct-horse-1"},
        headers={"x-api-key": ""},
    )
    token = login.json()["access_token"]
    for method, path in (("GET", SOURCES), ("POST", IMPORTS), ("GET", IMPORTS)):
        answer = await stack.client.request(
            method, path, json={}, headers={"x-api-key": "", "authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 403, (method, path, answer.text)


async def test_source_crud_never_returns_secrets(stack: Stack) -> None:
    created = await stack.client.post(
        SOURCES,
        json={
            "url": "https://deploy:tok-embedded-123@git.example.com/team/skills.git",
            "namespace": "team",
            "ref": "main",
            "subdirectory": "skills/",
            "interval": 600,
            "webhook_secret": "hook-secret-456",
        },
    )
    assert created.status_code == 201, created.text
    source = created.json()
    assert source["url"] == "https://git.example.com/team/skills.git"
    assert source["has_credentials"] is True
    assert source["has_webhook_secret"] is True
    assert source["subdirectory"] == "skills"
    assert source["webhook_path"] == f"{SOURCES}/{source['id']}/webhook"
    listed = await stack.client.get(SOURCES)
    one = await stack.client.get(f"{SOURCES}/{source['id']}")
    patched = await stack.client.patch(
        f"{SOURCES}/{source['id']}",
        json={"credentials": {"token": "tok-patched-789"}, "enabled": False, "ref": None},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["enabled"] is False
    assert patched.json()["ref"] is None
    for answer in (created, listed, one, patched):
        for secret in ("tok-embedded-123", "hook-secret-456", "tok-patched-789", "deploy"):
            assert secret not in answer.text
    engine = create_engine(stack.settings.database_url)
    async with engine.connect() as conn:
        row = (await conn.execute(select(Source.__table__).where(Source.id == source["id"]))).one()
    await engine.dispose()
    stored = f"{row.url} {row.credentials_enc} {row.webhook_secret_enc}"
    assert "tok-patched-789" not in stored
    assert "hook-secret-456" not in stored
    assert (await stack.client.delete(f"{SOURCES}/{source['id']}")).status_code == 204
    assert (await stack.client.get(f"{SOURCES}/{source['id']}")).status_code == 404


BAD_SOURCES: list[tuple[dict, str | None]] = [
    ({"url": "https://example.com/r.git", "namespace": "Bad Namespace"}, None),
    ({"url": "https://example.com/r.git", "namespace": "team", "ref": "--upload-pack=x"}, "ref"),
    ({"url": "https://example.com/r.git", "namespace": "team", "ref": "a..b"}, "ref"),
    (
        {"url": "https://example.com/r.git", "namespace": "team", "subdirectory": "../up"},
        "subdirectory",
    ),
    (
        {"url": "https://example.com/r.git", "namespace": "team", "subdirectory": "a/.git/b"},
        "subdirectory",
    ),
    ({"url": "https://example.com/r.git", "namespace": "team", "interval": 1}, None),
    ({"url": "https://example.com/r.git", "namespace": "team", "surprise": 1}, None),
    (
        {"url": "git@example.com:r.git", "namespace": "team", "credentials": {"token": "t"}},
        "credentials.token",
    ),
    (
        {"url": "https://example.com/r.git", "namespace": "team", "credentials": {"token": "a\nb"}},
        "credentials.token",
    ),
    (
        {
            "url": "https://example.com/r.git",
            "namespace": "team",
            "credentials": {"ssh_key_path": "/k"},
        },
        "credentials.ssh_key_path",
    ),
]


async def test_bad_source_fields_are_4xx(stack: Stack) -> None:
    for body, field in BAD_SOURCES:
        answer = await stack.client.post(SOURCES, json=body)
        assert answer.status_code in (400, 422), (body, answer.text)
        if field is not None:
            assert field in {e["path"] for e in answer.json()["errors"]}, body
    assert await _count(stack, Source) == 0


async def test_filters_and_version_policy_round_trip(stack: Stack) -> None:
    url = "https://git.example.com/team/skills.git"
    plain = await stack.add_source(url)
    assert (plain["include"], plain["exclude"], plain["version_policy"]) == ([], [], "declared")
    assert plain["last_run_counts"] == {}
    source = await stack.add_source(
        url, include=["skills/**"], exclude=["preview/**"], version_policy="generated"
    )
    assert (source["include"], source["exclude"], source["version_policy"]) == (
        ["skills/**"],
        ["preview/**"],
        "generated",
    )
    path = f"{SOURCES}/{source['id']}"
    cleared = await stack.client.patch(path, json={"include": None, "exclude": [".claude/**"]})
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["include"], cleared.json()["exclude"]) == ([], [".claude/**"])
    for body in (
        {"version_policy": "newest"},
        {"exclude": ["/abs"]},
        {"include": ["x"] * 51},
        {"exclude": ["a" * 257]},
    ):
        answer = await stack.client.patch(path, json=body)
        assert answer.status_code in (400, 422), (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    kept = (await stack.client.get(path)).json()
    assert (kept["exclude"], kept["version_policy"]) == ([".claude/**"], "generated")


async def test_garbage_bodies_and_ids_are_4xx(stack: Stack) -> None:
    for payload in (b"{", b"[]", b"null", b'{"url": 5}', b"\xff\xfe"):
        answer = await stack.client.post(
            SOURCES, content=payload, headers={"content-type": "application/json"}
        )
        assert answer.status_code == 400, answer.text
    assert (await stack.client.get(f"{SOURCES}/{'x' * 300}")).status_code == 404
    assert (await stack.client.post(f"{SOURCES}/nope/sync")).status_code == 404
    assert (await stack.client.get(f"{IMPORTS}/nope")).status_code == 404
    assert (await stack.client.get(IMPORTS, params={"cursor": "!!!"})).status_code == 400
    assert (await stack.client.get(IMPORTS, params={"state": "exploded"})).status_code == 400
    assert (await stack.client.get(SOURCES, params={"limit": "lots"})).status_code == 400


async def test_double_click_enqueues_once(stack: Stack, daemon: GitDaemon, repo: Repo) -> None:
    repo.skill("skills/solo")
    repo.commit()
    source = await stack.add_source(daemon.url("skills.git"))
    answers = await asyncio.gather(
        *(stack.client.post(f"{SOURCES}/{source['id']}/sync") for _ in range(5))
    )
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["id"] for a in answers}) == 1
    run = await stack.wait(answers[0].json()["id"])
    assert run["state"] == "succeeded"
    assert await _count(stack, ImportRun) == 1


async def test_runs_are_paginated_newest_first(stack: Stack, daemon: GitDaemon, repo: Repo) -> None:
    repo.skill("skills/solo")
    repo.commit()
    source = await stack.add_source(daemon.url("skills.git"))
    ids = [(await stack.sync_and_wait(source["id"]))["id"] for _ in range(3)]
    first = (await stack.client.get(IMPORTS, params={"limit": 2})).json()
    assert [r["id"] for r in first["items"]] == ids[::-1][:2]
    assert first["total"] == 3
    second = (
        await stack.client.get(IMPORTS, params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    assert [r["id"] for r in second["items"]] == [ids[0]]
    assert second["next_cursor"] is None
    failed = (await stack.client.get(IMPORTS, params={"state": "failed"})).json()
    assert failed["items"] == []


def _github(secret: str, body: bytes, event: str = "push") -> dict[str, str]:
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {
        "x-hub-signature-256": signature,
        "x-github-event": event,
        "content-type": "application/json",
        "x-api-key": "",
    }


async def test_webhook_signatures(stack: Stack, daemon: GitDaemon, repo: Repo) -> None:
    repo.skill("skills/solo")
    repo.commit()
    source = await stack.add_source(
        daemon.url("skills.git"), webhook_secret="s3cret-hook", ref="main"
    )
    hook = f"{SOURCES}/{source['id']}/webhook"
    body = json.dumps({"ref": "refs/heads/main"}).encode()

    missing = await stack.client.post(hook, content=body, headers={"x-api-key": ""})
    wrong = await stack.client.post(hook, content=body, headers=_github("not-the-secret", body))
    altered = await stack.client.post(
        hook, content=body.replace(b"main", b"mainx"), headers=_github("s3cret-hook", body)
    )
    gitlab_wrong = await stack.client.post(
        hook,
        content=body,
        headers={"x-gitlab-token": "nope", "x-gitlab-event": "Push Hook", "x-api-key": ""},
    )
    unknown = await stack.client.post(
        f"{SOURCES}/{'0' * 32}/webhook", content=body, headers=_github("s3cret-hook", body)
    )
    for answer in (missing, wrong, altered, gitlab_wrong, unknown):
        assert answer.status_code == 401, answer.text
    assert await _count(stack, ImportRun) == 0

    ping = await stack.client.post(
        hook, content=b"{}", headers=_github("s3cret-hook", b"{}", event="ping")
    )
    assert ping.json()["status"] == "ignored"
    other_branch = json.dumps({"ref": "refs/heads/dev"}).encode()
    skipped = await stack.client.post(
        hook, content=other_branch, headers=_github("s3cret-hook", other_branch)
    )
    assert skipped.json()["status"] == "ignored"
    assert await _count(stack, ImportRun) == 0

    valid = await stack.client.post(hook, content=body, headers=_github("s3cret-hook", body))
    assert valid.status_code == 202
    assert valid.json()["status"] == "queued"
    run = await stack.wait(valid.json()["run_id"])
    assert run["state"] == "succeeded"
    assert run["trigger"] == "webhook"

    gitlab = await stack.client.post(
        hook,
        content=body,
        headers={
            "x-gitlab-token": "s3cret-hook",
            "x-gitlab-event": "Push Hook",
            "content-type": "application/json",
            "x-api-key": "",
        },
    )
    assert gitlab.status_code == 202
    assert gitlab.json()["status"] == "queued"
    await stack.wait(gitlab.json()["run_id"])

    too_big = await stack.client.post(
        hook, content=b"x" * (2 * 2**20), headers=_github("s3cret-hook", b"")
    )
    assert too_big.status_code == 413


async def test_a_replayed_github_delivery_starts_nothing(
    stack: Stack, daemon: GitDaemon, repo: Repo
) -> None:
    """GitHub signs the body only: the same signed body again is a replay, not a push."""
    repo.skill("skills/solo")
    repo.commit()
    source = await stack.add_source(
        daemon.url("skills.git"), webhook_secret="s3cret-hook", ref="main"
    )
    hook = f"{SOURCES}/{source['id']}/webhook"
    push = json.dumps({"ref": "refs/heads/main", "after": "a" * 40}).encode()

    first = await stack.client.post(hook, content=push, headers=_github("s3cret-hook", push))
    assert first.json()["status"] == "queued"
    await stack.wait(first.json()["run_id"])
    replay = await stack.client.post(hook, content=push, headers=_github("s3cret-hook", push))
    assert replay.status_code == 202
    assert replay.json()["status"] == "ignored"
    assert "replay" in replay.json()["reason"]
    assert await _count(stack, ImportRun) == 1

    following = json.dumps({"ref": "refs/heads/main", "after": "b" * 40}).encode()
    next_push = await stack.client.post(
        hook, content=following, headers=_github("s3cret-hook", following)
    )
    assert next_push.json()["status"] == "queued"
    await stack.wait(next_push.json()["run_id"])
    assert await _count(stack, ImportRun) == 2
    assert await _count(stack, WebhookDelivery) == 2

    # Deleting the source takes what it remembered with it.
    deleted = await stack.client.delete(f"{SOURCES}/{source['id']}")
    assert deleted.status_code == 204
    assert await _count(stack, WebhookDelivery) == 0


async def test_webhook_on_a_source_without_secret_is_refused(stack: Stack) -> None:
    source = await stack.add_source("https://example.com/r.git")
    body = b"{}"
    answer = await stack.client.post(
        f"{SOURCES}/{source['id']}/webhook", content=body, headers=_github("anything", body)
    )
    assert answer.status_code == 401
