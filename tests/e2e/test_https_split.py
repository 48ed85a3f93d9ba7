"""End to end over real HTTPS: the split deployment behind the real Traefik (see conftest).

Every request goes through `https://127.0.0.1:<port>` verified against the test CA
(plain HTTP only to see its redirect, openssl only to see TLS 1.1 refused). The
scenarios share state through module fixtures: a user, their API key, a published
skill, an imported Git source.
"""

from __future__ import annotations

import ssl
import subprocess
import time
from typing import Any

import httpx
import pytest
from skreg_proto.bundle import pack_files, read_bundle

from tests.e2e.conftest import Deployment

USERNAME = "e2e-alice"
PASSWORD = "correct horse battery staple e2e"
SKILL = "e2e-hello"
VERSION = "1.2.0"
# A word no other text in the registry contains, so a search for it finds only this skill.
MARKER = "zephyrquartz"
SOURCE_NAMESPACE = "e2e-team"
POLL_LIMIT_S = 60.0


def _json(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    return body


def _login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _eventually(
    deployment: Deployment, fetch: Any, done: Any, what: str, *logs: str
) -> httpx.Response:
    """Call `fetch()` until `done(response)` holds (bounded); fail with the logs otherwise."""
    deadline = time.monotonic() + POLL_LIMIT_S
    while True:
        response: httpx.Response = fetch()
        if done(response):
            return response
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: still not there\n{deployment.explain(response, *logs)}")
        time.sleep(0.25)


# --- shared state ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(deployment: Deployment) -> httpx.Client:
    return deployment.client()


@pytest.fixture(scope="module")
def session(deployment: Deployment, client: httpx.Client) -> dict[str, Any]:
    """A new user, registered and signed in: the login response (access JWT, user)."""
    registered = client.post(
        "/api/v1/auth/register",
        json={"username": USERNAME, "email": "alice@e2e.example", "password": PASSWORD},
    )
    assert registered.status_code == 201, deployment.explain(registered, "auth")
    login = _login(client, USERNAME, PASSWORD)
    assert login.status_code == 200, deployment.explain(login, "auth")
    return _json(login)


@pytest.fixture(scope="module")
def api_key(deployment: Deployment, client: httpx.Client, session: dict[str, Any]) -> str:
    """An API key of that user with the `publish` scope (the secret, shown once)."""
    created = client.post(
        "/api/v1/auth/keys",
        json={"name": "e2e-publish", "scopes": ["read", "publish"], "expires_in_days": 1},
        headers=_bearer(session["access_token"]),
    )
    assert created.status_code == 201, deployment.explain(created, "auth")
    key: str = _json(created)["key"]
    return key


@pytest.fixture(scope="module")
def bundle() -> bytes:
    skill_md = (
        f"---\nname: {SKILL}\n"
        f"description: Says hello over HTTPS, a {MARKER} skill for the e2e test.\n"
        f'metadata:\n  version: "{VERSION}"\n  tags: "e2e, greeting"\n'
        f"---\n# Hello\n\nRun `scripts/hello.sh`.\n"
    )
    return pack_files(
        {
            "SKILL.md": (skill_md.encode(), False),
            "scripts/hello.sh": (b"#!/bin/sh\necho hello\n", True),
        }
    )


@pytest.fixture(scope="module")
def published(
    deployment: Deployment, client: httpx.Client, api_key: str, bundle: bytes
) -> dict[str, Any]:
    """The skill published with the API key: the publish response."""
    response = client.post(
        "/api/v1/skills",
        content=bundle,
        headers={**_bearer(api_key), "Content-Type": "application/gzip"},
    )
    assert response.status_code == 201, deployment.explain(response, "catalog", "auth")
    return _json(response)


@pytest.fixture(scope="module")
def admin_token(deployment: Deployment, client: httpx.Client) -> str:
    login = _login(client, "admin", deployment.admin_password)
    assert login.status_code == 200, deployment.explain(login, "auth")
    assert _json(login)["user"]["role"] == "admin"
    token: str = _json(login)["access_token"]
    return token


@pytest.fixture(scope="module")
def import_run(deployment: Deployment, client: httpx.Client, admin_token: str) -> dict[str, Any]:
    """The admin adds the git-daemon repository as a source and syncs it: the finished run."""
    admin = _bearer(admin_token)
    added = client.post(
        "/api/v1/sources",
        json={"url": deployment.git_url, "namespace": SOURCE_NAMESPACE},
        headers=admin,
    )
    assert added.status_code == 201, deployment.explain(added, "importer")
    source = _json(added)
    sync = client.post(f"/api/v1/sources/{source['id']}/sync", headers=admin)
    assert sync.status_code == 202, deployment.explain(sync, "importer")
    queued = _json(sync)
    assert queued["state"] in ("queued", "running")
    finished = _eventually(
        deployment,
        lambda: client.get(f"/api/v1/imports/{queued['id']}", headers=admin),
        lambda r: r.status_code == 200 and r.json()["state"] in ("succeeded", "partial", "failed"),
        "the import run",
        "importer",
        "worker",
        "catalog",
    )
    run = _json(finished)
    # One skill in the repository is broken on purpose: the run finishes as `partial`.
    assert run["state"] == "partial", deployment.explain(finished, "worker", "catalog")
    return {"source": source, "run": run}


# --- scenarios ------------------------------------------------------------------------


def test_register_and_login_issue_a_jwt(
    deployment: Deployment, client: httpx.Client, session: dict[str, Any]
) -> None:
    assert session["token_type"] == "bearer"
    assert session["access_token"].count(".") == 2  # a JWT: header.payload.signature
    assert session["user"]["username"] == USERNAME
    assert session["user"]["role"] == "user"
    me = client.get("/api/v1/auth/me", headers=_bearer(session["access_token"]))
    assert me.status_code == 200, deployment.explain(me, "auth")
    assert _json(me)["username"] == USERNAME
    wrong = _login(client, USERNAME, "not the password")
    assert wrong.status_code == 401, deployment.explain(wrong, "auth")


def test_api_key_identifies_its_owner_with_its_scopes(
    deployment: Deployment, client: httpx.Client, api_key: str
) -> None:
    assert api_key.startswith("sr_")
    me = client.get("/api/v1/auth/me", headers=_bearer(api_key))
    assert me.status_code == 200, deployment.explain(me, "auth")
    assert _json(me)["username"] == USERNAME
    assert set(_json(me)["scopes"]) == {"read", "publish"}


def test_publish_through_the_edge(published: dict[str, Any], bundle: bytes) -> None:
    assert published["created"] is True
    assert (published["namespace"], published["name"], published["version"]) == (
        USERNAME,
        SKILL,
        VERSION,
    )
    assert published["digest"] == read_bundle(bundle).digest
    assert {f["path"]: f["mode"] for f in published["files"]} == {
        "SKILL.md": 0o644,
        "scripts/hello.sh": 0o755,
    }


def test_publish_without_credentials_is_refused(
    deployment: Deployment, client: httpx.Client, bundle: bytes
) -> None:
    response = client.post(
        "/api/v1/skills", content=bundle, headers={"Content-Type": "application/gzip"}
    )
    assert response.status_code == 401, deployment.explain(response, "catalog")
    assert response.headers["content-type"].startswith("application/problem+json")


def test_search_finds_the_published_skill(
    deployment: Deployment, client: httpx.Client, published: dict[str, Any]
) -> None:
    found = _eventually(
        deployment,
        lambda: client.get("/api/v1/skills", params={"q": MARKER}),
        lambda r: r.status_code == 200 and r.json()["items"],
        "search",
        "catalog",
    )
    page = _json(found)
    assert [(i["namespace"], i["name"]) for i in page["items"]] == [(USERNAME, SKILL)]
    assert page["items"][0]["latest_version"] == VERSION
    assert set(page["items"][0]["tags"]) == {"e2e", "greeting"}


def test_download_matches_the_published_digest(
    deployment: Deployment, client: httpx.Client, published: dict[str, Any]
) -> None:
    base = f"/api/v1/skills/{USERNAME}/{SKILL}/versions/{VERSION}"
    version = client.get(base)
    assert version.status_code == 200, deployment.explain(version, "catalog")
    digest = _json(version)["digest"]
    assert digest == published["digest"]
    assert digest.startswith("sha256:")

    download = client.get(f"{base}/download")
    assert download.status_code == 200, deployment.explain(download, "catalog")
    assert read_bundle(download.content).digest == digest
    assert download.headers["etag"] == f'"{digest}"'
    # The UI gateway, a separate process, renders the same skill from the catalog's API.
    page = client.get(f"/skills/{USERNAME}/{SKILL}")
    assert page.status_code == 200, deployment.explain(page, "gateway", "catalog")
    assert MARKER in page.text


def test_git_source_sync_imports_the_valid_skills(
    deployment: Deployment, client: httpx.Client, import_run: dict[str, Any]
) -> None:
    run, source = import_run["run"], import_run["source"]
    commit = deployment.git_commit
    assert run["commit"] == commit
    results = {r["path"]: r for r in run["results"]}
    assert {path: r["outcome"] for path, r in results.items()} == {
        "skills/e2e-alpha": "created",
        "skills/e2e-beta": "created",
        "skills/e2e-broken": "invalid",
    }
    assert {p["path"] for p in results["skills/e2e-broken"]["problems"]} >= {
        "frontmatter.description"
    }

    listed = _eventually(
        deployment,
        lambda: client.get("/api/v1/skills", params={"namespace": SOURCE_NAMESPACE}),
        lambda r: r.status_code == 200 and len(r.json()["items"]) == 2,
        "the imported skills in search",
        "catalog",
    )
    assert sorted(i["name"] for i in _json(listed)["items"]) == ["e2e-alpha", "e2e-beta"]
    searched = client.get("/api/v1/skills", params={"q": "pipeline"})
    assert searched.status_code == 200, deployment.explain(searched, "catalog")
    assert {i["name"] for i in _json(searched)["items"]} == {"e2e-alpha", "e2e-beta"}

    detail = client.get(f"/api/v1/skills/{SOURCE_NAMESPACE}/e2e-beta")
    assert detail.status_code == 200, deployment.explain(detail, "catalog")
    latest = _json(detail)["latest"]
    assert latest["digest"] == results["skills/e2e-beta"]["digest"]
    provenance = latest["provenance"]
    assert provenance["repository_url"] == deployment.git_url
    assert provenance["commit"] == commit
    assert provenance["path"] == "skills/e2e-beta"
    assert provenance["source_id"] == source["id"]
    assert {f["path"]: f["mode"] for f in latest["files"]} == {
        "SKILL.md": 0o644,
        "scripts/run.sh": 0o755,
    }
    broken = client.get(f"/api/v1/skills/{SOURCE_NAMESPACE}/e2e-broken")
    assert broken.status_code == 404, deployment.explain(broken, "catalog")


def test_sources_need_an_admin(
    deployment: Deployment, client: httpx.Client, session: dict[str, Any]
) -> None:
    response = client.get("/api/v1/sources", headers=_bearer(session["access_token"]))
    assert response.status_code == 403, deployment.explain(response, "importer")


def test_plain_http_redirects_to_https(deployment: Deployment) -> None:
    edge = deployment.edge
    response = httpx.get(f"http://127.0.0.1:{edge.http_port}/api/v1/skills?q=x", timeout=5)
    assert response.status_code in (301, 308), deployment.explain(response)
    assert response.headers["location"] == f"https://127.0.0.1:{edge.https_port}/api/v1/skills?q=x"


@pytest.mark.parametrize("path", ["/", "/api/v1/skills", "/api/v1/auth/jwks"])
def test_security_headers_on_every_service(
    deployment: Deployment, client: httpx.Client, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 200, deployment.explain(response)
    headers = response.headers
    assert headers["strict-transport-security"].startswith("max-age=31536000")
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]


def _s_client(port: int, ca_file: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile", ca_file, *flags],
        input="",
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )


def test_tls_1_1_is_refused_and_1_2_accepted(deployment: Deployment) -> None:
    edge = deployment.edge
    # SECLEVEL=0 lets our openssl offer TLS 1.1 at all, so the refusal is the server's.
    old = _s_client(edge.https_port, str(edge.ca_file), "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert old.returncode != 0, old.stdout
    assert "protocol version" in old.stderr, old.stderr
    modern = _s_client(edge.https_port, str(edge.ca_file), "-tls1_2")
    assert modern.returncode == 0, modern.stderr
    assert "Verify return code: 0 (ok)" in modern.stdout

    context = edge.ssl_context()
    context.minimum_version = context.maximum_version = ssl.TLSVersion.TLSv1_2
    with httpx.Client(verify=context, timeout=10) as tls12:
        assert tls12.get(f"{edge.base_url}/health").status_code == 200


def test_a_certificate_from_another_ca_is_not_trusted(deployment: Deployment) -> None:
    # The default trust store does not know the test CA: verification is really on.
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(f"{deployment.edge.base_url}/health", timeout=5)


def test_oversized_body_gets_413_from_traefik(
    deployment: Deployment, client: httpx.Client, api_key: str
) -> None:
    body = b"\0" * (12 * 1024 * 1024 + 1)
    response = client.post(
        "/api/v1/skills",
        content=body,
        headers={**_bearer(api_key), "Content-Type": "application/gzip"},
    )
    assert response.status_code == 413, deployment.explain(response, "catalog")
    # The catalog answers problem+json; this one never reached it.
    assert "problem+json" not in response.headers.get("content-type", "")


def test_internal_paths_are_refused_at_the_edge(
    deployment: Deployment, client: httpx.Client
) -> None:
    for path in ("/internal/v1/catalog/publish", "/internal/v1/auth/service-token"):
        response = client.post(path, content=b"{}")
        assert response.status_code == 403, deployment.explain(response)


def _limited_by_traefik(response: httpx.Response) -> bool:
    # The auth service throttles failed logins too (problem+json); Traefik's 429 is plain text.
    return response.status_code == 429 and "problem+json" not in response.headers.get(
        "content-type", ""
    )


def test_auth_burst_is_limited_per_client_ip(deployment: Deployment) -> None:
    # Its own client addresses: the other tests keep their `auth` budget whatever the order.
    noisy, quiet = deployment.client("203.0.113.7"), deployment.client("203.0.113.8")
    burst = [_login(noisy, f"nobody-{n}", "wrong password") for n in range(25)]
    other = _login(quiet, "nobody-else", "wrong password")

    statuses = [r.status_code for r in burst]
    limited = [_limited_by_traefik(r) for r in burst]
    assert any(limited), deployment.explain(burst[-1], "auth")
    first = limited.index(True)
    assert first >= 5, statuses  # the burst allowance comes first
    # Until then auth answers itself: 401, or once this address has failed often enough,
    # its own throttle (a token refilled while the burst ran can bring an 11th attempt).
    assert statuses[:5] == [401] * 5, statuses
    assert set(statuses[:first]) <= {401, 429}, statuses
    # From then on nothing gets through: Traefik refuses, and the odd request a refilled
    # token lets through meets auth's own per-address throttle (problem+json 429).
    assert all(status == 429 for status in statuses[first:]), statuses
    assert int(burst[first].headers["retry-after"]) >= 1, burst[first].headers
    # The other client still reaches auth, which says no for its own reason.
    assert other.status_code == 401, deployment.explain(other, "auth")
