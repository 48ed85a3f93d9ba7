"""`skreg login`, `logout`, `whoami`."""

from __future__ import annotations

import contextlib
import socket
import sys

import click
from skreg_proto.auth import (
    ApiKeyCreated,
    KeyCreateRequest,
    LoginRequest,
    LogoutRequest,
    MeResponse,
    TokenResponse,
)

from skreg_cli import config as cfg
from skreg_cli.client import ApiClient, decode, path_of
from skreg_cli.commands.common import json_option
from skreg_cli.context import AppContext, pass_app
from skreg_cli.errors import CliError, ExitCode

# What the key `skreg login` creates may do: everything the CLI does, never admin.
CLI_SCOPES = ["read", "publish", "yank"]


def _whoami(client: ApiClient, token: str | None = None) -> MeResponse:
    response = client.request("GET", path_of("auth", "me"), token=token)
    return decode(response, MeResponse)


def _password_login(
    client: ApiClient, username: str, password: str, key_name: str
) -> tuple[str, str, str]:
    """Sign in, mint an API key for this machine, end the session: (key, key id, username)."""
    response = client.request(
        "POST", path_of("auth", "login"), json=LoginRequest(username=username, password=password)
    )
    session = decode(response, TokenResponse)
    access = session.access_token
    created = decode(
        client.request(
            "POST",
            path_of("auth", "keys"),
            json=KeyCreateRequest(name=key_name, scopes=CLI_SCOPES),
            token=access,
        ),
        ApiKeyCreated,
    )
    # The key is what we keep; the login session itself is no longer needed.
    with contextlib.suppress(CliError):
        client.request(
            "POST",
            path_of("auth", "logout"),
            json=LogoutRequest(refresh_token=session.refresh_token),
            token=access,
        )
    return created.key, created.id, session.user.username


@click.command()
@click.argument("url", required=False)
@click.option(
    "--token",
    "token_opt",
    is_flag=False,
    flag_value="",
    default=None,
    help="Sign in with an existing API key (asked for when no value is given).",
)
@click.option("-u", "--username", help="Username or email (asked for when missing).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--key-name", help="Name of the API key created for this machine.")
@pass_app
def login(
    app: AppContext,
    url: str | None,
    token_opt: str | None,
    username: str | None,
    password_stdin: bool,
    key_name: str | None,
) -> None:
    """Sign in to a registry and store an API key (file mode 0600) for later commands.

    With a username and password, skreg creates an API key for this machine
    (scopes read, publish, yank) and stores only that key. With --token it
    stores the API key you give it, after checking it works.
    """
    stored = app.stored()
    target = cfg.resolve(stored, url_flag=url or app.url_flag, token_flag=None).url
    client = app.anonymous_client(target)
    token = token_opt if token_opt is not None else app.token_flag
    if token is not None:
        token = token or click.prompt("API key", hide_input=True).strip()
        me = _whoami(client, token)
        credential = cfg.Credential(token=token, username=me.username)
    else:
        name = username or click.prompt("Username or email")
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True)
        label = key_name or f"skreg CLI on {socket.gethostname()}"
        key, key_id, user = _password_login(client, name, password, label)
        credential = cfg.Credential(token=key, username=user, key_id=key_id)
    stored.credentials[target] = credential
    stored.url = target
    path = cfg.save(app.config_dir, stored)
    app.output.json({"url": target, "username": credential.username, "config": str(path)})
    app.output.result(f"Logged in to {target} as {credential.username} (key stored in {path})")


@click.command()
@json_option
@pass_app
def logout(app: AppContext) -> None:
    """Forget the stored key for the current registry (revoking it if skreg created it)."""
    stored = app.stored()
    target = cfg.resolve(stored, url_flag=app.url_flag, token_flag=None).url
    credential = stored.credentials.pop(target, None)
    revoked = False
    if credential is not None and credential.key_id:
        try:
            app.client(target).request(
                "DELETE", path_of("auth", "keys", credential.key_id), token=credential.token
            )
            revoked = True
        except CliError as exc:
            app.output.warn(f"could not revoke the API key on the registry: {exc.message}")
    if credential is not None:
        cfg.save(app.config_dir, stored)
    app.output.json({"url": target, "logged_out": credential is not None, "key_revoked": revoked})
    if credential is None:
        app.output.result(f"Not logged in to {target}")
    else:
        app.output.result(f"Logged out of {target}" + (" (API key revoked)" if revoked else ""))


@click.command()
@json_option
@pass_app
def whoami(app: AppContext) -> None:
    """Show who the current credential belongs to, its roles and scopes."""
    resolved = app.resolved()
    if resolved.token is None:
        raise CliError(
            f"not logged in to {resolved.url}",
            hint="run `skreg login` (or pass --token / SKREG_TOKEN)",
            code=ExitCode.UNAUTHENTICATED,
        )
    me = _whoami(app.client())
    app.output.json(
        {
            "url": resolved.url,
            "username": me.username,
            "kind": me.kind,
            "roles": me.roles,
            "scopes": me.scopes,
            "credential": resolved.token_source,
        }
    )
    app.output.result(f"{me.username} on {resolved.url}")
    app.output.result(f"roles: {', '.join(me.roles) or '-'}; scopes: {', '.join(me.scopes) or '-'}")
