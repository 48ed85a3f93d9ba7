"""The UI over plain HTTP (no browser): CSRF, cookies, refresh, hostile input, error pages."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.support.processes import free_port, start
from tests.ui.conftest import ADMIN_PASSWORD, ADMIN_USER, Server, _server_command, wait_for_ui
from tests.ui.test_units import FORGED_SESSION_COOKIES

HTML = {"accept": "text/html,application/xhtml+xml"}


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


@contextmanager
def signed_in_client(
    url: str, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD
) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, headers=HTML, timeout=30) as client:
        token = csrf_of(client.get("/login").text)
        response = client.post(
            "/login", data={"csrf_token": token, "username": username, "password": password}
        )
        assert response.status_code == 303, response.text
        yield client


def test_post_without_or_with_a_wrong_csrf_token_is_refused(ui_server: Server) -> None:
    with httpx.Client(base_url=ui_server.url, headers=HTML, timeout=30) as client:
        client.get("/login")
        for data in (
            {"username": ADMIN_USER, "password": ADMIN_PASSWORD},
            {"username": ADMIN_USER, "password": ADMIN_PASSWORD, "csrf_token": "forged"},
        ):
            response = client.post("/login", data=data)
            assert response.status_code == 403
            assert "text/html" in response.headers["content-type"]
            assert "security token" in response.text
            assert "skreg_session" not in response.headers.get("set-cookie", "") or (
                "Max-Age" in response.headers["set-cookie"]
            )


def test_token_from_another_browser_session_is_refused(ui_server: Server) -> None:
    with (
        httpx.Client(base_url=ui_server.url, headers=HTML, timeout=30) as victim,
        httpx.Client(base_url=ui_server.url, headers=HTML, timeout=30) as attacker,
    ):
        victim.get("/login")
        stolen_form_token = csrf_of(attacker.get("/login").text)
        response = victim.post(
            "/login",
            data={
                "csrf_token": stolen_form_token,
                "username": ADMIN_USER,
                "password": ADMIN_PASSWORD,
            },
        )
        assert response.status_code == 403


def test_cross_site_origin_is_refused_even_with_the_token(ui_server: Server) -> None:
    with httpx.Client(base_url=ui_server.url, headers=HTML, timeout=30) as client:
        token = csrf_of(client.get("/login").text)
        response = client.post(
            "/login",
            data={"csrf_token": token, "username": ADMIN_USER, "password": ADMIN_PASSWORD},
            headers={"origin": "https://evil.example"},
        )
        assert response.status_code == 403


def test_session_cookie_flags_and_secure_behind_a_trusted_https_proxy(ui_server: Server) -> None:
    plain = httpx.get(f"{ui_server.url}/login", headers=HTML)
    cookie = plain.headers["set-cookie"]
    assert cookie.startswith("skreg_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Path=/;" in cookie or cookie.endswith("Path=/")
    assert f"Max-Age={14 * 24 * 3600}" in cookie  # UI_SESSION_DAYS' default
    assert "Secure" not in cookie
    # The test client connects from 127.0.0.1, a trusted proxy address by default.
    proxied = httpx.get(f"{ui_server.url}/login", headers={**HTML, "x-forwarded-proto": "https"})
    assert "Secure" in proxied.headers["set-cookie"]
    assert proxied.headers["content-security-policy"].startswith("default-src 'self'")
    assert proxied.headers["x-frame-options"] == "DENY"


def test_tampered_session_cookie_is_ignored(ui_server: Server) -> None:
    with signed_in_client(ui_server.url) as client:
        assert client.get("/profile").status_code == 200
        value = client.cookies["skreg_session"]
        flipped = value[:-3] + ("A" if value[-3] != "A" else "B") + value[-2:]
        client.cookies.set("skreg_session", flipped)
        response = client.get("/profile")
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")


def test_forged_session_cookies_get_a_fresh_session_never_a_500(ui_server: Server) -> None:
    for value in FORGED_SESSION_COOKIES[1:]:
        response = httpx.get(
            f"{ui_server.url}/profile", headers={**HTML, "cookie": f"skreg_session={value}"}
        )
        assert response.status_code == 303, value
        assert response.headers["location"].startswith("/login?next=")
        page = httpx.get(
            f"{ui_server.url}/login", headers={**HTML, "cookie": f"skreg_session={value}"}
        )
        assert page.status_code == 200
        assert page.headers["set-cookie"].startswith("skreg_session=")


def test_an_unchanged_session_is_not_written_again(ui_server: Server) -> None:
    """A page that changes nothing sends no cookie, so it cannot undo a sign-out elsewhere."""
    with signed_in_client(ui_server.url) as client:
        client.get("/profile")  # shows (and so clears) any message from signing in
        again = client.get("/profile")
        assert again.status_code == 200
        assert "set-cookie" not in again.headers


def test_scripts_send_the_csrf_token_in_a_header(ui_server: Server) -> None:
    with signed_in_client(ui_server.url) as client:
        page = client.get("/profile").text
        found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
        assert found
        assert found.group(1) == csrf_of(page)
        wrong = client.post("/logout", headers={"x-csrf-token": "forged"})
        assert wrong.status_code == 403
        assert client.get("/profile").status_code == 200  # still signed in
        done = client.post("/logout", headers={"x-csrf-token": found.group(1)})
        assert done.status_code == 303
        assert client.get("/profile").status_code == 303  # signed out


def test_sign_out_ends_the_session_at_auth(ui_server: Server) -> None:
    with signed_in_client(ui_server.url) as client:
        old_cookie = client.cookies["skreg_session"]
        token = csrf_of(client.get("/profile").text)
        assert client.post("/logout", data={"csrf_token": token}).status_code == 303
        assert client.get("/profile").status_code == 303
    # A copy of the cookie from before sign-out is worthless: auth revoked that session,
    # so the API refuses its access token and the UI sends the browser to sign in.
    replay = httpx.get(
        f"{ui_server.url}/profile", headers=HTML, cookies={"skreg_session": old_cookie}
    )
    assert replay.status_code == 303
    assert replay.headers["location"].startswith("/login")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/search?q=" + "x" * 5000, 400),
        ("/search?cursor=%00%01garbage", 400),
        ("/search?cursor=not-a-cursor&sort=%3Cscript%3E", 400),
        ("/search?q=%F0%9F%92%A5%00&tag=%3Cb%3E", 400),
        ("/skills/..%2F..%2Fetc/passwd", 404),
        ("/skills/a/b/versions/..%2F..", 404),
        ("/skills/admin/pdf-tools/versions/latest/files/..%2F..%2Fetc%2Fpasswd", 404),
        ("/admin/users?cursor=%ff", 303),  # signed out: sent to sign in first
        ("/login?next=https://evil.example/", 200),  # the sign-in page; `next` is ignored
    ],
)
def test_hostile_input_gets_a_page_never_a_500(seeded: Server, path: str, status: int) -> None:
    response = httpx.get(f"{seeded.url}{path}", headers=HTML, timeout=30)
    assert response.status_code == status, (path, response.status_code)
    assert "Traceback" not in response.text
    assert "root:" not in response.text  # no file from outside a bundle (/etc/passwd)
    assert "<script>" not in response.text  # nothing from the query echoed as markup
    if response.is_redirect:
        assert response.headers["location"].startswith("/login?next=")
    else:
        assert "text/html" in response.headers["content-type"]


def test_search_says_why_each_result_matched_and_what_a_typo_meant(seeded: Server) -> None:
    response = httpx.get(f"{seeded.url}/search", params={"q": "pdf toolz"}, headers=HTML,
                         timeout=30)  # fmt: skip
    assert response.status_code == 200
    assert 'data-testid="suggestions"' in response.text
    assert '<a href="/search?q=pdf%20tools">pdf tools</a>' in response.text
    assert "pdf-tools" in response.text  # "pdf" still matched


def test_next_parameter_never_redirects_off_site(ui_server: Server) -> None:
    with httpx.Client(base_url=ui_server.url, headers=HTML, timeout=30) as client:
        for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
            token = csrf_of(client.get("/login").text)
            response = client.post(
                "/login",
                data={
                    "csrf_token": token,
                    "username": ADMIN_USER,
                    "password": ADMIN_PASSWORD,
                    "next": target,
                },
            )
            assert response.status_code == 303
            assert response.headers["location"] == "/"
            client.cookies.clear()


def test_unknown_addresses_are_pages_for_browsers_and_problems_for_api_clients(
    ui_server: Server,
) -> None:
    page = httpx.get(f"{ui_server.url}/definitely/not/here", headers=HTML)
    assert page.status_code == 404
    assert "text/html" in page.headers["content-type"]
    assert "Not found" in page.text
    api = httpx.get(f"{ui_server.url}/api/v1/skills/x/y", headers=HTML)
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")


@pytest.fixture(scope="module")
def short_token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second server whose access tokens need refreshing one second after sign-in."""
    workdir: Path = tmp_path_factory.mktemp("ui-short-tokens")
    port = free_port()
    env = {
        "PORT": str(port),
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'r.db'}",
        "REDIS_URL": "",
        "LOG_JSON": "true",
        "ADMIN_USERNAME": ADMIN_USER,
        "ADMIN_EMAIL": "admin@example.test",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ACCESS_TOKEN_TTL": "31",  # the UI refreshes 30 s before expiry
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "8192",
        "ARGON2_PARALLELISM": "1",
    }
    process = start("ui-short-tokens", _server_command(), env, workdir, cwd=workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_ui(process, url)
        yield url
    finally:
        process.stop()


def test_concurrent_pages_refresh_the_token_once_and_stay_signed_in(
    short_token_server: str,
) -> None:
    with signed_in_client(short_token_server) as client:
        cookie = client.cookies["skreg_session"]
    time.sleep(1.5)  # past the refresh point: every request below must refresh

    def load_profile(_: int) -> httpx.Response:
        with httpx.Client(
            base_url=short_token_server, headers=HTML, timeout=30, cookies={"skreg_session": cookie}
        ) as http:
            return http.get("/profile")

    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(load_profile, range(6)))
    assert [r.status_code for r in responses] == [200] * 6
    # Every answer carries the same new tokens; the newest cookie keeps working, which it
    # would not if two refreshes had tripped auth's reuse detection and revoked the family.
    fresh = responses[-1].cookies["skreg_session"]
    assert fresh != cookie
    again = httpx.get(
        f"{short_token_server}/profile", headers=HTML, cookies={"skreg_session": fresh}
    )
    assert again.status_code == 200
    assert ADMIN_USER in again.text


def test_the_skill_page_names_the_signing_key_and_links_the_attestation(seeded: Server) -> None:
    version = httpx.get(f"{seeded.url}/api/v1/skills/admin/pdf-tools/versions/latest").json()
    keyid = version["signature_keyid"]
    assert keyid
    page = httpx.get(f"{seeded.url}/skills/admin/pdf-tools", headers=HTML).text
    assert f'title="{keyid}">{keyid[:16]}…</code>' in page
    attestation = f"/api/v1/skills/admin/pdf-tools/versions/{version['version']}/attestation"
    assert f'href="{attestation}"' in page
    assert httpx.get(seeded.url + attestation).json()["signatures"][0]["keyid"] == keyid
