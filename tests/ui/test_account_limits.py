"""The UI over HTTP for issue 14: sign-in limits on the account and admin pages; the `keys` scope.

A server per backend (SQLite in-process throttle; PostgreSQL with Redis when the suite has
one), so the sign-in state is read from the same throttle store auth counts in.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKENDS, create_pg_database, drop_pg_database
from tests.support.processes import free_port, start
from tests.ui.conftest import ADMIN_PASSWORD, ADMIN_USER, _server_command, wait_for_ui
from tests.ui.test_http import HTML, csrf_of, signed_in_client

PASSWORD = "a-long-enough-password"
MAX_FAILURES = 4
# Each failed sign-in comes from a network of its own (per-address budgets count an
# IPv6 /64 as one address), so no address budget runs out.
_addresses = (f"2001:db8:{n:x}::1" for n in itertools.count(1))


@pytest.fixture(scope="module", params=BACKENDS)
def limits_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The all-in-one process on one backend, with a small per-account failure budget."""
    workdir: Path = tmp_path_factory.mktemp(f"ui-limits-{request.param}")
    dsn = None
    env = {
        "PORT": str(port := free_port()),
        "LOG_JSON": "true",
        "REGISTRATION_OPEN": "true",
        "ADMIN_USERNAME": ADMIN_USER,
        "ADMIN_EMAIL": "admin@example.test",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "LOGIN_MAX_FAILURES": str(MAX_FAILURES),
        "LOGIN_LOCKED_ADDRESS_FAILURES": "2",
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "8192",
        "ARGON2_PARALLELISM": "1",
    }
    if request.param == "sqlite":
        env |= {"DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'r.db'}", "REDIS_URL": ""}
    else:
        dsn = asyncio.run(create_pg_database("skreg_ui"))
        env |= {
            "DATABASE_URL": dsn.replace("postgresql://", "postgresql+asyncpg://", 1),
            "AUTO_MIGRATE": "true",
            "REDIS_URL": os.environ.get("SKREG_TEST_REDIS_URL", ""),
        }
    process = start(f"ui-limits-{request.param}", _server_command(), env, workdir, cwd=workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_ui(process, url)
        yield url
    finally:
        process.stop()
        if dsn is not None:
            asyncio.run(drop_pg_database(dsn))


def _new_user(url: str) -> tuple[str, str]:
    """A fresh account (name, id), registered through the public API."""
    name = f"u{uuid.uuid4().hex[:10]}"
    response = httpx.post(
        f"{url}/api/v1/auth/register",
        json={"username": name, "email": f"{name}@example.test", "password": PASSWORD},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return name, str(response.json()["id"])


def _fail_sign_ins(url: str, name: str, count: int) -> None:
    """`count` wrong passwords for `name`, each from another address (as through a proxy)."""
    for _ in range(count):
        response = httpx.post(
            f"{url}/api/v1/auth/login",
            json={"username": name, "password": "not-the-password"},
            headers={"x-forwarded-for": next(_addresses)},
            timeout=30,
        )
        assert response.status_code == 401, response.text


def test_account_page_says_when_sign_ins_are_limited(limits_server: str) -> None:
    name, _ = _new_user(limits_server)
    with signed_in_client(limits_server, name, PASSWORD) as client:
        assert "Sign-ins to your account are limited" not in client.get("/profile").text
        _fail_sign_ins(limits_server, name, MAX_FAILURES - 1)
        almost = client.get("/profile")
        assert almost.status_code == 200
        assert f"{MAX_FAILURES - 1} failed sign-ins to your account recently" in almost.text
        assert "Sign-ins to your account are limited" not in almost.text
        _fail_sign_ins(limits_server, name, 1)
        page = client.get("/profile")
    assert page.status_code == 200
    assert 'data-testid="sign-in-limited"' in page.text
    assert "Sign-ins to your account are limited" in page.text
    assert f"There were {MAX_FAILURES} failed sign-ins" in page.text
    assert "from your usual address still works" in page.text
    assert "an administrator can lift the limit" in page.text
    # The owner is not locked out: the right password from this address still signs in.
    with signed_in_client(limits_server, name, PASSWORD) as again:
        assert again.get("/profile").status_code == 200


def test_admin_sees_the_limit_and_lifts_it(limits_server: str) -> None:
    name, user_id = _new_user(limits_server)
    _fail_sign_ins(limits_server, name, MAX_FAILURES)
    with signed_in_client(limits_server) as admin:
        listing = admin.get("/admin/users", params={"q": name})
        assert f'href="/admin/users/{user_id}"' in listing.text
        page = admin.get(f"/admin/users/{user_id}")
        assert page.status_code == 200, page.text
        assert f"{MAX_FAILURES} in the current window" in page.text
        assert "limited</span> until" in page.text
        assert "Lift sign-in limit" in page.text

        lift = f"/admin/users/{user_id}/sign-in-lock"
        assert admin.post(lift, data={"csrf_token": "forged"}).status_code == 403
        assert "limited</span> until" in admin.get(f"/admin/users/{user_id}").text

        done = admin.post(lift, data={"csrf_token": csrf_of(page.text)})
        assert done.status_code == 303
        assert done.headers["location"] == f"/admin/users/{user_id}"
        after = admin.get(done.headers["location"])
        assert "Sign-in limit lifted" in after.text
        assert "0 in the current window" in after.text
        assert "Lift sign-in limit" not in after.text

        missing = admin.post(
            "/admin/users/no-such-user/sign-in-lock", data={"csrf_token": csrf_of(after.text)}
        )
        assert missing.status_code == 303
        assert missing.headers["location"] == "/admin/users"

    token = httpx.post(
        f"{limits_server}/api/v1/auth/login",
        json={"username": ADMIN_USER, "password": ADMIN_PASSWORD},
        timeout=30,
    ).json()["access_token"]
    audit = httpx.get(
        f"{limits_server}/api/v1/auth/audit",
        params={"action": "user.sign_in_unlocked"},
        headers={"authorization": f"Bearer {token}"},
        timeout=30,
    ).json()["items"]
    assert [e["target_id"] for e in audit].count(user_id) == 1


def test_the_key_form_offers_the_keys_scope_and_it_manages_keys(limits_server: str) -> None:
    name, _ = _new_user(limits_server)
    with signed_in_client(limits_server, name, PASSWORD) as client:
        form = client.get("/profile").text
        assert 'name="scopes" value="keys"' in form
        assert "manage API keys" in form
        assert 'value="admin"' not in form  # not an admin: no admin scope offered
        token = csrf_of(form)
        made = client.post(
            "/profile/keys",
            data={"csrf_token": token, "name": "key-manager", "scopes": ["read", "keys"]},
        )
        assert made.status_code == 200, made.text
        read_only = client.post(
            "/profile/keys", data={"csrf_token": token, "name": "reader", "scopes": ["read"]}
        )
    manager = _secret_of(made.text)
    reader = _secret_of(read_only.text)
    keys = f"{limits_server}/api/v1/auth/keys"
    listed = httpx.get(keys, headers={"authorization": f"Bearer {manager}"}, timeout=30)
    assert listed.status_code == 200
    assert {k["name"] for k in listed.json()["items"]} == {"key-manager", "reader"}
    refused = httpx.get(keys, headers={"authorization": f"Bearer {reader}"}, timeout=30)
    assert refused.status_code == 403


def test_admins_are_offered_the_keys_and_admin_scopes(limits_server: str) -> None:
    with signed_in_client(limits_server) as admin:
        form = admin.get("/profile", headers=HTML).text
    for scope in ("read", "publish", "yank", "keys", "admin"):
        assert f'name="scopes" value="{scope}"' in form


def _secret_of(page: str) -> str:
    marker = 'data-testid="new-key-secret">'
    assert marker in page, page
    return page.split(marker, 1)[1].split("<", 1)[0]
