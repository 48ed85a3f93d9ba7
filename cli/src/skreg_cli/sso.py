"""`skreg login --sso`: sign in with the registry's identity provider, keep an API key.

The device authorization grant by default (the terminal shows a code and an address
to approve it at, from any browser, even on another machine). `--browser` uses a
loopback redirect instead: a one-shot HTTP listener on 127.0.0.1 and a random port
receives the provider's answer; auth keeps the PKCE verifier and checks state and
nonce. Both end with the registry's own session, which mints this machine's API key.
"""

from __future__ import annotations

import http.server
import threading
import time
import webbrowser
from urllib.parse import parse_qs, urlsplit

from skreg_proto.auth import (
    SsoBeginRequest,
    SsoBeginResponse,
    SsoCompleteRequest,
    SsoDevicePending,
    SsoDeviceStart,
    SsoDeviceTokenRequest,
    TokenResponse,
)

from skreg_cli.client import ApiClient, decode, path_of
from skreg_cli.errors import CliError, ExitCode
from skreg_cli.output import Output

CALLBACK_PATH = "/callback"
MAX_WAIT_SECONDS = 900


def device_sign_in(client: ApiClient, output: Output) -> TokenResponse:
    """Show the code, poll until it is approved at the provider (or expires)."""
    started = decode(
        client.request("POST", path_of("auth", "sso", "device"), json={}, always_there=True),
        SsoDeviceStart,
    )
    where = started.verification_uri_complete or started.verification_uri
    output.note(f"To sign in, open {where}")
    output.note(f"and confirm the code {started.user_code}")
    deadline = time.monotonic() + min(started.expires_in, MAX_WAIT_SECONDS)
    interval = max(1, started.interval)
    body = SsoDeviceTokenRequest(handle=started.handle)
    while time.monotonic() < deadline:
        time.sleep(interval)
        response = client.request(
            "POST", path_of("auth", "sso", "device", "token"), json=body, always_there=True
        )
        if response.status_code == 202:
            interval = max(interval, decode(response, SsoDevicePending).interval)
            continue
        return decode(response, TokenResponse)
    raise CliError("the sign-in was not approved in time", code=ExitCode.UNAUTHENTICATED)


class _Callback(http.server.BaseHTTPRequestHandler):
    query: dict[str, list[str]] | None = None

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != CALLBACK_PATH:
            self.send_error(404)
            return
        type(self).query = parse_qs(parts.query)
        self.send_response(200)
        self.send_header("content-type", "text/plain; charset=utf-8")
        self.end_headers()
        self.wfile.write(b"Signed in. You can close this window and return to the terminal.\n")

    def log_message(self, format: str, *args: object) -> None:
        return


def browser_sign_in(client: ApiClient, output: Output, timeout: float = 300) -> TokenResponse:
    """Loopback redirect: open the provider in a browser, receive the code on 127.0.0.1."""
    handler: type[_Callback] = type("Callback", (_Callback,), {"query": None})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    server.timeout = 1
    redirect_uri = f"http://127.0.0.1:{server.server_address[1]}{CALLBACK_PATH}"
    try:
        begun = decode(
            client.request(
                "POST",
                path_of("auth", "sso", "begin"),
                json=SsoBeginRequest(redirect_uri=redirect_uri),
                always_there=True,
            ),
            SsoBeginResponse,
        )
        output.note(f"Opening {begun.authorization_url}")
        threading.Thread(target=webbrowser.open, args=(begun.authorization_url,)).start()
        deadline = time.monotonic() + timeout
        while handler.query is None and time.monotonic() < deadline:
            server.handle_request()
    finally:
        server.server_close()
    query = handler.query or {}
    if "error" in query:
        raise CliError(
            f"the identity provider refused: {query['error'][0]}", code=ExitCode.UNAUTHENTICATED
        )
    if not query.get("code") or query.get("state", [""])[0] != begun.state:
        raise CliError("no valid answer from the identity provider", code=ExitCode.UNAUTHENTICATED)
    complete = SsoCompleteRequest(state=begun.state, code=query["code"][0])
    return decode(
        client.request(
            "POST", path_of("auth", "sso", "complete"), json=complete, always_there=True
        ),
        TokenResponse,
    )


__all__ = ["browser_sign_in", "device_sign_in"]
