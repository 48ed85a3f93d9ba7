"""The all-in-one process as `make run` starts it (no secrets set), attacked over loopback.

Clients bind their own loopback source address (127.0.0.2, .3, …): to the server they
are distinct outside clients, none of them the trusted proxy (127.0.0.1).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
import pytest
from skreg_auth.tokens.signing import SigningKey, TokenIssuer
from skreg_common.forwarded import CLIENT_ADDRESS_HEADER, sign_client_address
from skreg_common.settings import DEV_SECRET_KEY, DEV_SERVICE_SECRET
from skreg_proto.bundle import pack_files
from skreg_proto.internal import (
    SERVICE_PUBLISH_PATH,
    SERVICE_TOKEN_PATH,
    Provenance,
    ServicePublishRequest,
)

from tests.importer.gitrepos import Repo
from tests.support.processes import (
    Process,
    free_port,
    make_run_env,
    start_python_module,
    wait_http,
)

ADMIN_PASSWORD = "edge-admin-password-1"
HTML = {"accept": "text/html"}


@dataclass
class Registry:
    url: str
    process: Process
    workdir: Path

    def client(self, source: str, **kwargs: object) -> httpx.Client:
        """A client whose connections come from loopback address `source`."""
        transport = httpx.HTTPTransport(local_address=source)
        return httpx.Client(base_url=self.url, transport=transport, timeout=30, **kwargs)  # type: ignore[arg-type]

    def admin_token(self) -> str:
        with self.client("127.0.0.9") as client:
            response = client.post(
                "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
            )
        response.raise_for_status()
        return str(response.json()["access_token"])


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    workdir = tmp_path_factory.mktemp("edge-registry")
    port = free_port()
    env = make_run_env(
        workdir,
        port,
        ADMIN_PASSWORD=ADMIN_PASSWORD,
        IMPORTER_ALLOW_LOCAL="true",
        ARGON2_TIME_COST="1",
        ARGON2_MEMORY_KIB="8192",
        ARGON2_PARALLELISM="1",
    )
    process = start_python_module("gateway", "skreg_gateway", env, workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(process, f"{url}/health", timeout=60)
        yield Registry(url, process, workdir)
    finally:
        process.stop()


def _ui_login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    page = client.get("/login", headers=HTML)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return client.post(
        "/login",
        headers=HTML,
        data={"csrf_token": found.group(1), "username": username, "password": password},
    )


def _audit(registry: Registry, action: str) -> list[dict[str, object]]:
    with registry.client("127.0.0.9") as client:
        response = client.get(
            "/api/v1/auth/audit",
            params={"action": action, "limit": 100},
            headers={"authorization": f"Bearer {registry.admin_token()}"},
        )
    response.raise_for_status()
    return list(response.json()["items"])


def test_ui_logins_are_throttled_and_audited_per_browser_address(registry: Registry) -> None:
    with registry.client("127.0.0.2") as first, registry.client("127.0.0.3") as second:
        for n in range(10):
            failed = _ui_login(first, f"nobody-{n}", "wrong password")
            assert failed.status_code == 401, failed.text[:300]
        # The first browser has spent its address's budget; the second has not.
        assert _ui_login(first, "admin", ADMIN_PASSWORD).status_code == 429
        assert _ui_login(second, "admin", ADMIN_PASSWORD).status_code == 303
    failures = _audit(registry, "login.failed")
    assert {event["client_ip"] for event in failures} >= {"127.0.0.2"}
    assert "127.0.0.1" not in {event["client_ip"] for event in failures}
    succeeded = _audit(registry, "login.succeeded")
    assert "127.0.0.3" in {event["client_ip"] for event in succeeded}


def test_a_spoofed_client_address_from_outside_is_ignored(registry: Registry) -> None:
    forged = {
        # A plain forwarded header, and the UI's header signed with the dev default secret
        # (public) and with a made-up one: none of them may pick the throttle bucket.
        "x-forwarded-for": "198.51.100.77",
        CLIENT_ADDRESS_HEADER: sign_client_address("198.51.100.77", DEV_SERVICE_SECRET),
    }
    with registry.client("127.0.0.4", headers=forged) as outsider:
        for n in range(3):
            response = outsider.post(
                "/api/v1/auth/login", json={"username": f"spoof-{n}", "password": "x" * 12}
            )
            assert response.status_code == 401
        other = sign_client_address("198.51.100.78", "made-up-secret-0123456789abcdef0123")
        response = outsider.post(
            "/api/v1/auth/login",
            json={"username": "spoof-x", "password": "x" * 12},
            headers={CLIENT_ADDRESS_HEADER: other},
        )
        assert response.status_code == 401
    addresses = {
        event["client_ip"]
        for event in _audit(registry, "login.failed")
        if str(event.get("actor_name", "")).startswith("spoof-")
    }
    assert addresses == {"127.0.0.4"}


def _forged_publish(token: str | None) -> tuple[bytes, dict[str, str]]:
    bundle = pack_files({"SKILL.md": (b"---\nname: planted\ndescription: x\n---\nhi\n", False)})
    body = msgspec.json.encode(
        ServicePublishRequest(
            namespace="victim",
            bundle=bundle,
            provenance=Provenance(repository_url="https://example.com/x.git"),
        )
    )
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return body, headers


def test_the_dev_service_secret_opens_no_internal_route(registry: Registry) -> None:
    with registry.client("127.0.0.5") as client:
        minted = client.post(
            SERVICE_TOKEN_PATH, json={"service": "importer", "secret": DEV_SERVICE_SECRET}
        )
        assert minted.status_code == 404, minted.text
        # The dev SECRET_KEY is public too: a service token signed with its key is no key.
        forged = TokenIssuer(
            SigningKey.derive(DEV_SECRET_KEY), access_ttl=900, service_ttl=900
        ).service_token("importer")
        for path in (SERVICE_PUBLISH_PATH, SERVICE_PUBLISH_PATH + "/", "/internal/v1/x"):
            body, headers = _forged_publish(forged)
            response = client.post(path, content=body, headers=headers)
            assert response.status_code == 404, (path, response.text)
        assert client.get("/api/v1/skills/victim/planted").status_code == 404


def test_in_process_internal_calls_still_publish_imports(registry: Registry) -> None:
    repo = Repo(registry.workdir / "source")
    repo.skill("skills/edge-imported", description="Imported through in-process calls.")
    repo.commit("one skill")
    token = registry.admin_token()
    auth = {"authorization": f"Bearer {token}"}
    with registry.client("127.0.0.6") as client:
        started = client.post(
            "/api/v1/imports",
            json={"url": f"file://{repo.path}", "namespace": "edge"},
            headers=auth,
        )
        assert started.status_code == 202, started.text
        run_id = started.json()["id"]
        state = ""
        for _ in range(600):
            state = client.get(f"/api/v1/imports/{run_id}", headers=auth).json()["state"]
            if state not in ("queued", "running"):
                break
            time.sleep(0.1)
        assert state == "succeeded", client.get(f"/api/v1/imports/{run_id}", headers=auth).text
        assert client.get("/api/v1/skills/edge/edge-imported").status_code == 200


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_a_dev_secret_refuses_to_listen_beyond_loopback(tmp_path: Path, environment: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "skreg_gateway"],
        env={
            "PATH": "/usr/bin:/bin",
            "HOST": "0.0.0.0",
            "PORT": str(free_port()),
            "ENVIRONMENT": environment,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
            # A real service secret is not enough while SECRET_KEY is the dev default.
            "SERVICE_SECRET": "s" * 40,
            "ADMIN_PASSWORD": "a-long-admin-password",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "dev default" in done.stderr
    assert "Traceback" not in done.stderr


def test_make_run_never_signs_with_the_public_dev_secret(registry: Registry) -> None:
    # The review minted an admin access token with the dev SECRET_KEY from the source
    # and listed users, read the audit log and deleted someone else's skill.
    forged = TokenIssuer(
        SigningKey.derive(DEV_SECRET_KEY), access_ttl=900, service_ttl=900
    ).access_token(
        user_id="forged", username="admin", role="admin", token_version=0, session_id="x"
    )
    bearer = {"authorization": f"Bearer {forged}"}
    with registry.client("127.0.0.7") as client:
        for path in ("/api/v1/auth/users", "/api/v1/sources", "/api/v1/imports"):
            response = client.get(path, headers=bearer)
            assert response.status_code == 401, (path, response.text)
        # A real sign-in still works: the process signs with its own generated secret.
        real = {"authorization": f"Bearer {registry.admin_token()}"}
        assert client.get("/api/v1/auth/users", headers=real).status_code == 200
    stored = registry.workdir / ".skreg-secrets.json"
    assert stored.stat().st_mode & 0o777 == 0o600
    values = msgspec.json.decode(stored.read_bytes())
    assert set(values) == {"SECRET_KEY", "SERVICE_SECRET"}
    assert DEV_SECRET_KEY not in values.values()
