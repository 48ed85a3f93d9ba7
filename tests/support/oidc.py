"""A real OpenID provider on loopback for the SSO tests, and a browser made of httpx.

`oidc-provider` (npm, OpenID-certified) is installed once at a pinned version into
`.cache/node-clients/` like the npm clients (tests/support/node_clients.py: never
skipped; a provider that cannot be installed fails the test) and run under the
wheel's Node with `oidc_provider.mjs`. The browser flow is driven over HTTP by a
cookie-keeping client that follows redirects and fills in the provider's own login
and consent forms: no part of the provider is mocked.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx

from tests.support.node_clients import NODE, QUIET_ENV, install_package
from tests.support.processes import Process, free_port, start, wait_http

OIDC_PROVIDER_VERSION = "9.13.3"
SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
WEB_CLIENT_ID = "skreg-web"
WEB_CLIENT_SECRET = "web-client-secret-for-tests-only"
OTHER_CLIENT_ID = "other-app"


@dataclass
class OidcProvider:
    """The running provider: its issuer URL and its test-only controls."""

    issuer: str
    port: int
    workdir: Path
    config_path: Path
    script: Path
    process: Process | None = None

    def start(self) -> None:
        """Start (or restart, on the same port) the provider and wait for discovery."""
        self.process = start(
            f"oidc-provider-{self.port}",
            [str(NODE), str(self.script), str(self.config_path)],
            QUIET_ENV,
            self.workdir,
            cwd=self.script.parent,
        )
        wait_http(self.process, f"{self.issuer}/.well-known/openid-configuration", timeout=60)

    def stop(self) -> None:
        """Stop it (the registry then sees a provider that is down)."""
        if self.process is not None:
            self.process.stop()
            self.process = None

    def set_account(self, sub: str, **claims: Any) -> None:
        """What the account `sub` claims from its next sign-in on (e.g. groups=[...])."""
        response = httpx.post(f"{self.issuer}/test/accounts/{sub}", json=claims, timeout=10)
        response.raise_for_status()

    def mint(self, claims: dict[str, Any], *, ttl: int = 300, forged: bool = False) -> str:
        """An ID token from this issuer (a CI job's), signed with its key unless `forged`."""
        response = httpx.post(
            f"{self.issuer}/test/mint",
            json={"claims": claims, "ttl": ttl, "forged": forged},
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["token"])


def start_provider(workdir: Path, redirect_uris: list[str], **accounts: Any) -> OidcProvider:
    """Install (once) and start oidc-provider with the registry's clients registered."""
    target = install_package("oidc-provider", OIDC_PROVIDER_VERSION, what="OpenID provider")
    script = target / "oidc_provider.mjs"  # beside its node_modules, so imports resolve
    shutil.copyfile(SCRIPT, script)
    port = free_port()
    clients = [
        {
            "client_id": WEB_CLIENT_ID,
            "client_secret": WEB_CLIENT_SECRET,
            # Native (RFC 8252 §7.3): any port on the loopback callback, for the CLI's
            # `skreg login --sso --browser`.
            "application_type": "native",
            "redirect_uris": [*redirect_uris, "http://127.0.0.1/callback"],
            "grant_types": ["authorization_code", "urn:ietf:params:oauth:grant-type:device_code"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
        {
            "client_id": OTHER_CLIENT_ID,
            "client_secret": "other-client-secret",
            "redirect_uris": ["http://127.0.0.1:9/cb"],
        },
    ]
    config_path = workdir / "oidc-provider.json"
    config_path.write_text(json.dumps({"port": port, "clients": clients, "accounts": accounts}))
    provider = OidcProvider(
        issuer=f"http://127.0.0.1:{port}",
        port=port,
        workdir=workdir,
        config_path=config_path,
        script=script,
    )
    provider.start()
    return provider


@dataclass
class Form:
    """An HTML form: where it goes, how, and its fields' current values."""

    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get").lower()))
        elif tag in ("input", "button") and self.forms and values.get("name"):
            if tag == "button" and values.get("type", "submit") != "submit":
                return
            # The first submit button's value is what a person clicking "Continue" sends.
            if tag == "button" and values["name"] in self.forms[-1].fields:
                return
            self.forms[-1].fields.setdefault(values["name"], values.get("value", ""))


def forms_of(html: str) -> list[Form]:
    """Every form on the page."""
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def sign_in_at_provider(
    client: httpx.Client, response: httpx.Response, stop_at: str, login: str, *, limit: int = 20
) -> httpx.Response:
    """Follow redirects and fill in the provider's forms (login, consent, device
    confirmation) until a redirect leads to `stop_at`; returns that redirect response.
    Forms that ask something else (an abort button) are never submitted."""
    for _ in range(limit):
        if response.is_redirect:
            target = urljoin(str(response.url), response.headers["location"])
            if target.startswith(stop_at):
                return response
            response = client.get(target)
            continue
        if response.status_code != 200:
            raise AssertionError(f"provider answered {response.status_code}: {response.text}")
        forms = [f for f in forms_of(response.text) if f.method == "post"]
        if not forms:
            return response  # a final page (e.g. the device flow's "success")
        form = forms[0]
        if "login" in form.fields or "password" in form.fields:
            form.fields.update({"login": login, "password": "any-password"})
        form.fields.pop("abort", None)
        response = client.post(urljoin(str(response.url), form.action), data=form.fields)
    raise AssertionError("too many steps at the provider")
