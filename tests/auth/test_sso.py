"""Single sign-on and trusted publishing against a real OpenID provider on loopback.

One all-in-one registry (`python -m skreg_gateway`) per database backend, configured for
`oidc-provider` (tests/support/oidc.py), which the tests drive over HTTP like a person
with a browser: the registry's sign-in button, the provider's own login and consent
forms, the callback. CI-style ID tokens are minted by the same provider with the
claims a GitLab or GitHub job carries. The provider-down test runs last: it stops the
provider.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from skreg_auth.sso.oidc import OidcProvider as RegistryView
from skreg_auth.sso.oidc import TokenRejected
from skreg_common.db import create_engine
from skreg_common.migrations import upgrade
from skreg_proto.bundle import pack_files

from tests.conftest import (
    ALL_MIGRATIONS,
    BACKENDS,
    _asyncpg_to_sqlalchemy,
    create_pg_database,
    drop_pg_database,
)
from tests.support.oidc import (
    OTHER_CLIENT_ID,
    WEB_CLIENT_ID,
    WEB_CLIENT_SECRET,
    OidcProvider,
    sign_in_at_provider,
    start_provider,
)
from tests.support.processes import Process, free_port, start, wait_http

ADMIN = "admin"
ADMIN_PASSWORD = "admin-password-for-sso-tests"
MAPPING = "eng=acme:publisher, leads=acme:owner, docs=docs-team:reader"
CI_AUDIENCE = "skreg-ci"
CLI = [sys.executable, "-c", "from skreg_cli.main import main; main()"]
SKILL_MD = """---
name: ci-skill
description: A skill published from a CI job through trusted publishing.
metadata:
  version: "{version}"
---
# CI skill
"""


@dataclass
class Registry:
    """The registry process and the provider it trusts."""

    url: str
    provider: OidcProvider
    process: Process

    def admin_token(self) -> str:
        response = httpx.post(
            f"{self.url}/api/v1/auth/login",
            json={"username": ADMIN, "password": ADMIN_PASSWORD},
            timeout=30,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def audit(self, action: str) -> list[dict[str, Any]]:
        response = httpx.get(
            f"{self.url}/api/v1/auth/audit",
            params={"action": action, "limit": 100},
            headers={"authorization": f"Bearer {self.admin_token()}"},
            timeout=30,
        )
        response.raise_for_status()
        return list(response.json()["items"])


def _migrated(url: str) -> None:
    async def run() -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine, ALL_MIGRATIONS)
        finally:
            await engine.dispose()

    asyncio.run(run())


@pytest.fixture(scope="module", params=BACKENDS)
def registry(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Registry]:
    workdir = tmp_path_factory.mktemp(f"sso-{request.param}")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    provider = start_provider(
        workdir, [f"{url}/login/sso/callback"], alice={"groups": ["eng", "leads", "unmapped"]}
    )
    pg_dsn = None
    if request.param == "postgresql":
        pg_dsn = asyncio.run(create_pg_database("skreg_sso"))
        database_url = _asyncpg_to_sqlalchemy(pg_dsn)
    else:
        database_url = f"sqlite+aiosqlite:///{workdir / 'registry.db'}"
    _migrated(database_url)
    env = {
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DATABASE_URL": database_url,
        "REDIS_URL": "",
        "LOG_JSON": "true",
        "SYNC_ENABLED": "false",
        "REGISTRATION_OPEN": "true",
        "ADMIN_USERNAME": ADMIN,
        "ADMIN_EMAIL": "admin@example.test",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "8192",
        "ARGON2_PARALLELISM": "1",
        "SSO_ISSUER": provider.issuer,
        "SSO_CLIENT_ID": WEB_CLIENT_ID,
        "SSO_CLIENT_SECRET": WEB_CLIENT_SECRET,
        "SSO_GROUP_MAPPING": MAPPING,
        "SSO_DISPLAY_NAME": "Test IdP",
        "TRUSTED_PUBLISHING_ISSUERS": provider.issuer,
        "TRUSTED_PUBLISHING_TOKEN_TTL": "300",
    }
    process = start("sso-registry", [sys.executable, "-m", "skreg_gateway"], env, workdir, workdir)
    try:
        wait_http(process, f"{url}/health", timeout=60)
        yield Registry(url=url, provider=provider, process=process)
    finally:
        process.stop()
        provider.stop()
        if pg_dsn is not None:
            asyncio.run(drop_pg_database(pg_dsn))


def browser_sign_in(
    registry: Registry, login: str, client: httpx.Client | None = None
) -> tuple[httpx.Client, httpx.Response, str]:
    """The registry's SSO button → the provider's forms → the callback.

    Returns the browser, the callback's response and the callback URL."""
    browser = client or httpx.Client(timeout=30)
    first = browser.get(f"{registry.url}/login/sso", params={"next": "/profile"})
    assert first.status_code == 303, first.text
    assert first.headers["location"].startswith(registry.provider.issuer)
    callback = f"{registry.url}/login/sso/callback"
    redirect = sign_in_at_provider(browser, first, callback, login)
    assert redirect.is_redirect, redirect.text
    target = redirect.headers["location"]
    return browser, browser.get(target), target


def memberships_change(registry: Registry, user_id: str) -> dict[str, Any]:
    events = [e for e in registry.audit("sso.memberships_changed") if e["target_id"] == user_id]
    assert events, "no membership change was audited"
    return dict(events[0]["details"])  # newest first


def org_members(registry: Registry, org: str) -> dict[str, str]:
    """The organization's real members (auth's organizations), username -> role."""
    response = httpx.get(
        f"{registry.url}/api/v1/auth/orgs/{org}/members",
        headers={"authorization": f"Bearer {registry.admin_token()}"},
        timeout=30,
    )
    if response.status_code == 404:
        return {}
    assert response.status_code == 200, response.text
    body = response.json()
    items = body["items"] if isinstance(body, dict) else body
    return {m["username"]: m["role"] for m in items}


def test_login_page_offers_the_provider(registry: Registry) -> None:
    page = httpx.get(f"{registry.url}/login", timeout=30)
    assert page.status_code == 200
    assert "Sign in with Test IdP" in page.text
    info = httpx.get(f"{registry.url}/api/v1/auth/sso", timeout=30).json()
    assert info == {
        "enabled": True,
        "display_name": "Test IdP",
        "password_login": True,
        "device_flow": True,
    }


def test_first_sign_in_creates_the_user_and_group_changes_apply_at_next(registry: Registry) -> None:
    registry.provider.set_account(
        "alice", groups=["eng", "leads", "unmapped"], email="alice@corp.test"
    )
    browser, done, _ = browser_sign_in(registry, "alice")
    assert done.status_code == 303
    assert done.headers["location"] == "/profile"
    profile = browser.get(f"{registry.url}/profile")
    assert profile.status_code == 200
    assert "alice" in profile.text
    created = [e for e in registry.audit("sso.user_created") if e["actor_name"] == "alice"]
    assert len(created) == 1
    user_id = created[0]["target_id"]
    assert created[0]["details"]["issuer"] == registry.provider.issuer
    # leads=acme:owner outranks eng=acme:publisher; "unmapped" grants nothing.
    assert memberships_change(registry, user_id)["added"] == {"acme": "owner"}
    # Written as real organization memberships (the organization made on first use).
    assert org_members(registry, "acme").get("alice") == "owner"

    # At the provider, alice leaves "leads" and joins "docs": the next sign-in follows.
    registry.provider.set_account("alice", groups=["eng", "docs"])
    _, again, _ = browser_sign_in(registry, "alice")
    assert again.status_code == 303
    change = memberships_change(registry, user_id)
    assert change["changed"] == {"acme": "publisher"}
    assert change["added"] == {"docs-team": "reader"}
    assert org_members(registry, "acme").get("alice") == "publisher"
    assert org_members(registry, "docs-team").get("alice") == "reader"

    registry.provider.set_account("alice", groups=[])
    browser_sign_in(registry, "alice")
    assert memberships_change(registry, user_id)["removed"] == {
        "acme": "publisher",
        "docs-team": "reader",
    }
    assert "alice" not in org_members(registry, "acme")
    assert "alice" not in org_members(registry, "docs-team")
    # Still one account: linked by issuer and subject.
    assert len([e for e in registry.audit("sso.user_created") if e["actor_name"] == "alice"]) == 1
    logins = [e for e in registry.audit("login.sso") if e["target_id"] == user_id]
    assert len(logins) == 3


def test_an_email_held_by_a_local_account_is_not_taken_over(registry: Registry) -> None:
    local = httpx.post(
        f"{registry.url}/api/v1/auth/register",
        json={
            "username": "mallory-local",
            "email": "shared@corp.test",
            "password": "a-password-123",
        },
        timeout=30,
    )
    assert local.status_code == 201, local.text
    registry.provider.set_account("intruder", email="shared@corp.test")
    _, done, _ = browser_sign_in(registry, "intruder")
    assert done.status_code == 409
    assert "text/html" in done.headers["content-type"]
    assert "already exists" in done.text


def test_a_replayed_state_is_refused(registry: Registry) -> None:
    registry.provider.set_account("replayer", groups=["eng"])
    browser, done, callback = browser_sign_in(registry, "replayer")
    assert done.status_code == 303
    # The same callback again, in the same browser and in another one.
    again = browser.get(callback)
    assert again.status_code == 400
    assert "already used" in again.text
    other = httpx.get(callback, timeout=30)
    assert other.status_code == 400
    # And straight at auth, which deleted the state when it was used.
    query = httpx.URL(callback).params
    api = httpx.post(
        f"{registry.url}/api/v1/auth/sso/complete",
        json={"state": query["state"], "code": query["code"]},
        timeout=30,
    )
    assert api.status_code == 401
    assert api.headers["content-type"].startswith("application/problem+json")
    assert "already used" in api.json()["detail"]


def test_the_callback_refuses_a_state_this_browser_did_not_start(registry: Registry) -> None:
    victim = httpx.Client(timeout=30)
    victim.get(f"{registry.url}/login/sso")  # the victim's own sign-in, never finished
    attacker = httpx.Client(timeout=30)
    registry.provider.set_account("attacker2")
    first = attacker.get(f"{registry.url}/login/sso")
    redirect = sign_in_at_provider(
        attacker, first, f"{registry.url}/login/sso/callback", "attacker2"
    )
    # The attacker's callback link, opened in the victim's browser: refused.
    forced = victim.get(redirect.headers["location"])
    assert forced.status_code == 400
    assert victim.get(f"{registry.url}/profile").status_code != 200


async def _verify(view: RegistryView, token: str, **kwargs: Any) -> dict[str, Any]:
    return await view.verify(token, **kwargs)


def test_id_tokens_are_checked_against_the_providers_keys(registry: Registry) -> None:
    """The registry's own verifier, fed tokens the real provider signed (or did not)."""
    view = RegistryView(registry.provider.issuer)
    good = registry.provider.mint({"aud": WEB_CLIENT_ID, "sub": "x", "nonce": "n-1"})
    assert asyncio.run(_verify(view, good, audience=WEB_CLIENT_ID, nonce="n-1"))["sub"] == "x"
    cases = {
        "signature": registry.provider.mint({"aud": WEB_CLIENT_ID, "sub": "x"}, forged=True),
        "another audience": registry.provider.mint(
            {"aud": OTHER_CLIENT_ID, "sub": "x", "nonce": "n-1"}
        ),
        "expired": registry.provider.mint(
            {"aud": WEB_CLIENT_ID, "sub": "x", "nonce": "n-1"}, ttl=-300
        ),
        "nonce": registry.provider.mint({"aud": WEB_CLIENT_ID, "sub": "x", "nonce": "used-before"}),
        "another issuer": registry.provider.mint(
            {"aud": WEB_CLIENT_ID, "sub": "x", "nonce": "n-1", "iss": "https://evil.example"}
        ),
    }
    for expected, token in cases.items():
        with pytest.raises(TokenRejected) as caught:
            asyncio.run(_verify(view, token, audience=WEB_CLIENT_ID, nonce="n-1"))
        assert expected in str(caught.value.detail), (expected, caught.value.detail)


def test_cli_login_with_the_device_flow(registry: Registry, tmp_path: Path) -> None:
    registry.provider.set_account("dana", groups=["docs"])
    env = {"SKREG_CONFIG_DIR": str(tmp_path / "config"), "NO_COLOR": "1"}
    cli = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from skreg_cli.main import main; main()",
            "login",
            "--sso",
            registry.url,
        ],
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert cli.stderr is not None
        url = ""
        deadline = time.monotonic() + 60
        while not url and time.monotonic() < deadline:
            line = cli.stderr.readline()
            if "open " in line:
                url = line.split("open ", 1)[1].strip()
        assert url.startswith(registry.provider.issuer), url
        # Approve at the provider, as the person would in a browser.
        browser = httpx.Client(timeout=30)
        final = sign_in_at_provider(browser, browser.get(url), "http://never", "dana")
        assert final.status_code == 200
        out, err = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
    assert cli.returncode == 0, err
    assert "as dana" in out + err
    whoami = subprocess.run(
        [*CLI, "whoami"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert whoami.returncode == 0
    assert "dana" in whoami.stdout + whoami.stderr


def test_cli_login_with_a_browser_and_a_loopback_redirect(
    registry: Registry, tmp_path: Path
) -> None:
    registry.provider.set_account("erin", groups=["eng"])
    repo = Path(__file__).resolve().parents[2]
    browser = f"{sys.executable} {repo / 'tests/support/oidc_browser.py'} erin %s"
    env = {
        **os.environ,
        "SKREG_CONFIG_DIR": str(tmp_path / "config"),
        "BROWSER": browser,
        "PYTHONPATH": str(repo),
    }
    done = subprocess.run(
        [*CLI, "login", "--sso", "--browser", registry.url],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "as erin" in done.stdout + done.stderr
    whoami = subprocess.run(
        [*CLI, "whoami"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert "erin" in whoami.stdout + whoami.stderr


# --- trusted publishing ---------------------------------------------------------------


def _owner(registry: Registry, name: str) -> str:
    response = httpx.post(
        f"{registry.url}/api/v1/auth/register",
        json={"username": name, "email": f"{name}@example.test", "password": "a-password-123"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    login = httpx.post(
        f"{registry.url}/api/v1/auth/login",
        json={"username": name, "password": "a-password-123"},
        timeout=30,
    )
    return str(login.json()["access_token"])


def _exchange(registry: Registry, token: str) -> httpx.Response:
    return httpx.post(
        f"{registry.url}/api/v1/auth/trusted-publishing/exchange", json={"token": token}, timeout=30
    )


def _publish(registry: Registry, token: str, namespace: str, version: str) -> httpx.Response:
    bundle = pack_files({"SKILL.md": (SKILL_MD.format(version=version).encode(), False)})
    return httpx.post(
        f"{registry.url}/api/v1/skills",
        params={"namespace": namespace},
        content=bundle,
        headers={"authorization": f"Bearer {token}", "content-type": "application/gzip"},
        timeout=30,
    )


def test_trusted_publishing(registry: Registry) -> None:
    owner = _owner(registry, "carol")
    stranger = _owner(registry, "eve")
    headers = {"authorization": f"Bearer {owner}"}
    claims = {"project_path": "carol/skills", "ref_protected": "true"}
    policy = {
        "namespace": "carol",
        "issuer": registry.provider.issuer,
        "audience": CI_AUDIENCE,
        "claims": claims,
    }
    # Only the namespace's owner (or an admin) may register; only trusted issuers.
    refused = httpx.post(
        f"{registry.url}/api/v1/auth/trust-policies",
        json=policy,
        headers={"authorization": f"Bearer {stranger}"},
        timeout=30,
    )
    assert refused.status_code == 403
    untrusted = httpx.post(
        f"{registry.url}/api/v1/auth/trust-policies",
        json={**policy, "issuer": "http://127.0.0.1:9"},
        headers=headers,
        timeout=30,
    )
    assert untrusted.status_code == 422
    assert "issuer" in untrusted.text
    created = httpx.post(
        f"{registry.url}/api/v1/auth/trust-policies", json=policy, headers=headers, timeout=30
    )
    assert created.status_code == 201, created.text
    policy_id = created.json()["id"]

    job = {
        "aud": CI_AUDIENCE,
        "sub": "project_path:carol/skills:ref_type:branch:ref:main",
        "project_path": "carol/skills",
        "ref_protected": "true",
        "pipeline_id": "4242",
    }
    ci_token = registry.provider.mint(job)
    exchanged = _exchange(registry, ci_token)
    assert exchanged.status_code == 200, exchanged.text
    body = exchanged.json()
    assert body["namespace"] == "carol"
    assert body["policy_id"] == policy_id
    assert 0 < body["expires_in"] <= 300
    publish_token = body["access_token"]

    published = _publish(registry, publish_token, "carol", "1.0.0")
    assert published.status_code == 201, published.text
    detail = httpx.get(f"{registry.url}/api/v1/skills/carol/ci-skill", timeout=30).json()
    provenance = detail["provenance"]["trusted_publisher"]
    assert provenance["issuer"] == registry.provider.issuer
    assert provenance["policy_id"] == policy_id
    assert provenance["claims"]["project_path"] == "carol/skills"
    assert provenance["claims"]["pipeline_id"] == "4242"

    # The token publishes to that namespace only, and does nothing else.
    elsewhere = _publish(registry, publish_token, "eve", "1.0.0")
    assert elsewhere.status_code == 403
    assert "only to carol" in elsewhere.text
    keys = httpx.get(
        f"{registry.url}/api/v1/auth/keys",
        headers={"authorization": f"Bearer {publish_token}"},
        timeout=30,
    )
    assert keys.status_code == 403

    refusals = {
        "replay": (ci_token, 401, "already exchanged"),
        "wrong issuer": (
            registry.provider.mint({**job, "iss": "https://evil.example"}),
            401,
            "not trusted",
        ),
        "wrong audience": (
            registry.provider.mint({**job, "aud": "someone-else"}),
            403,
            "another audience",
        ),
        "expired": (registry.provider.mint(job, ttl=-300), 401, "expired"),
        "mismatched claim": (
            registry.provider.mint({**job, "ref_protected": "false"}),
            403,
            "match no trust policy",
        ),
        "forged": (registry.provider.mint(job, forged=True), 401, "signature"),
    }
    for name, (token, status, words) in refusals.items():
        response = _exchange(registry, token)
        assert response.status_code == status, (name, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), name
        assert words in response.json()["detail"], (name, response.json())
    assert len(registry.audit("trusted_publishing.refused")) >= len(refusals)

    # Listing and removal: the owner sees and removes the policy, a stranger neither.
    listed = httpx.get(f"{registry.url}/api/v1/auth/trust-policies", headers=headers, timeout=30)
    assert [p["id"] for p in listed.json()] == [policy_id]
    strangers = {"authorization": f"Bearer {stranger}"}
    assert (
        httpx.get(
            f"{registry.url}/api/v1/auth/trust-policies", headers=strangers, timeout=30
        ).json()
        == []
    )
    policy_url = f"{registry.url}/api/v1/auth/trust-policies/{policy_id}"
    assert httpx.delete(policy_url, headers=strangers, timeout=30).status_code == 404
    assert httpx.delete(policy_url, headers=headers, timeout=30).status_code == 204
    assert _exchange(registry, registry.provider.mint(job)).status_code == 403
    assert [e["target_id"] for e in registry.audit("trust_policy.deleted")] == [policy_id]


def test_trusted_publishing_to_an_organization(registry: Registry) -> None:
    """An organization's owners and admins register its policies (a reader may not);
    the CI token publishes to the organization's namespace as that member."""
    owner = _owner(registry, "olivia")
    reader = _owner(registry, "rudy")
    org = "acme-ci"

    def call(method: str, path: str, token: str, **kw: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {token}"}
        return httpx.request(method, f"{registry.url}{path}", headers=headers, timeout=30, **kw)

    assert call("POST", "/api/v1/auth/orgs", owner, json={"name": org}).status_code == 201
    added = call("PUT", f"/api/v1/auth/orgs/{org}/members/rudy", _login(registry, "olivia"),
                 json={"role": "reader"})  # fmt: skip
    assert added.status_code == 200, added.text
    owner, reader = _login(registry, "olivia"), _login(registry, "rudy")  # memberships in tokens
    claims = {"project_path": "acme/ci", "ref_protected": "true"}
    policy = {"namespace": org, "issuer": registry.provider.issuer, "audience": CI_AUDIENCE,
              "claims": claims}  # fmt: skip
    refused = call("POST", "/api/v1/auth/trust-policies", reader, json=policy)
    assert refused.status_code == 403, refused.text
    created = call("POST", "/api/v1/auth/trust-policies", owner, json=policy)
    assert created.status_code == 201, created.text
    listed = call("GET", "/api/v1/auth/trust-policies", owner).json()
    assert [p["id"] for p in listed] == [created.json()["id"]]
    assert call("GET", "/api/v1/auth/trust-policies", reader).json() == []

    job = {"aud": CI_AUDIENCE, "sub": "project_path:acme/ci", **claims}
    exchanged = _exchange(registry, registry.provider.mint(job))
    assert exchanged.status_code == 200, exchanged.text
    published = _publish(registry, exchanged.json()["access_token"], org, "1.0.0")
    assert published.status_code == 201, published.text
    detail = httpx.get(f"{registry.url}/api/v1/skills/{org}/ci-skill", timeout=30).json()
    assert detail["provenance"]["trusted_publisher"]["policy_id"] == created.json()["id"]


def _login(registry: Registry, name: str) -> str:
    response = httpx.post(
        f"{registry.url}/api/v1/auth/login",
        json={"username": name, "password": "a-password-123"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_the_readme_trusted_publishing_blocks(registry: Registry, tmp_path: Path) -> None:
    """The README's two blocks, run by bash as written, with the provider standing in for
    gitlab.com and a fresh owner for `carol` (both substituted in the text)."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = [
        block
        for block in re.findall(r"```sh\n(.*?)```", readme, flags=re.DOTALL)
        if "/api/v1/auth/trust" in block
    ]
    assert len(blocks) == 2
    owner_token = _owner(registry, "readme-owner")
    skill = tmp_path / "ci-skill"
    skill.mkdir()
    (skill / "SKILL.md").write_text(SKILL_MD.format(version="2.0.0"))
    id_token = registry.provider.mint(
        {
            "aud": "skreg",
            "sub": "job",
            "project_path": "readme-owner/skills",
            "ref_protected": "true",
        }
    )
    env = {
        **os.environ,
        "SKREG_URL": registry.url,
        "OWNER_TOKEN": owner_token,
        "SKREG_ID_TOKEN": id_token,
        "SKREG_CONFIG_DIR": str(tmp_path / "config"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
    }
    outputs = []
    for block in blocks:
        script = block.replace("https://gitlab.com", registry.provider.issuer).replace(
            "carol", "readme-owner"
        )
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, (script, done.stdout, done.stderr)
        outputs.append(done.stdout + done.stderr)
    assert '"namespace":"readme-owner"' in outputs[0].replace(" ", "")
    assert "readme-owner/ci-skill@2.0.0" in outputs[1]


def test_a_provider_that_is_down_gets_a_clear_page(registry: Registry) -> None:
    """Last in the module: the provider stays down afterwards."""
    registry.provider.set_account("frank")
    browser = httpx.Client(timeout=30)
    first = browser.get(f"{registry.url}/login/sso")
    redirect = sign_in_at_provider(browser, first, f"{registry.url}/login/sso/callback", "frank")
    registry.provider.stop()
    page = browser.get(redirect.headers["location"])
    assert page.status_code == 502
    assert "text/html" in page.headers["content-type"]
    assert "identity provider cannot be reached" in page.text
    # The sign-in page itself still works (and offers passwords).
    assert httpx.get(f"{registry.url}/login", timeout=30).status_code == 200
