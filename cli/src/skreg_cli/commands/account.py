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
    RegisterRequest,
    TokenResponse,
)

from skreg_cli import config as cfg
from skreg_cli.client import ApiClient, decode, path_of
from skreg_cli.commands.common import json_option
from skreg_cli.context import AppContext, pass_app
from skreg_cli.errors import CliError, ExitCode
from skreg_cli.sso import browser_sign_in, device_sign_in

# What the key `skreg login` creates may do: everything the CLI does, never admin.
CLI_SCOPES = ["read", "publish", "yank"]


def _whoami(client: ApiClient, token: str | None = None) -> MeResponse:
    response = client.request("GET", path_of("auth", "me"), token=token, always_there=True)
    return decode(response, MeResponse)


def _password_login(
    client: ApiClient, username: str, password: str, key_name: str, scopes: list[str]
) -> tuple[str, str, str]:
    """Sign in, mint an API key for this machine, end the session: (key, key id, username)."""
    response = client.request(
        "POST",
        path_of("auth", "login"),
        json=LoginRequest(username=username, password=password),
        always_there=True,
    )
    return _key_for_session(client, decode(response, TokenResponse), key_name, scopes)


def _key_for_session(
    client: ApiClient, session: TokenResponse, key_name: str, scopes: list[str]
) -> tuple[str, str, str]:
    """Mint this machine's API key with a fresh session, then end the session."""
    access = session.access_token
    created = decode(
        client.request(
            "POST",
            path_of("auth", "keys"),
            json=KeyCreateRequest(name=key_name, scopes=scopes),
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


def _read_password(password_stdin: bool, *, confirm: bool = False) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=confirm))


def _sign_in(
    client: ApiClient, username: str, password: str, key_name: str | None, *, admin: bool
) -> cfg.Credential:
    """Log in with a password and keep only the API key it mints for this machine."""
    label = key_name or f"skreg CLI on {socket.gethostname()}" + (" (admin)" if admin else "")
    scopes = [*CLI_SCOPES, "admin"] if admin else CLI_SCOPES
    key, key_id, user = _password_login(client, username, password, label, scopes)
    return cfg.Credential(token=key, username=user, key_id=key_id)


def _store(app: AppContext, target: str, credential: cfg.Credential, *, admin: bool) -> None:
    """Remember the credential (and this registry as the current one), then say so."""
    stored = app.stored()
    (stored.admin_credentials if admin else stored.credentials)[target] = credential
    stored.url = target
    path = cfg.save(app.config_dir, stored)
    app.output.json(
        {"url": target, "username": credential.username, "admin": admin, "config": str(path)}
    )
    kind = "admin key, used only by `skreg source`," if admin else "key"
    app.output.result(f"Logged in to {target} as {credential.username} ({kind} stored in {path})")


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
@click.option(
    "--admin",
    is_flag=True,
    help="Store a key with the admin scope, kept apart and used only by `skreg source`.",
)
@click.option(
    "--sso",
    is_flag=True,
    help="Sign in with the registry's identity provider (device code; see --browser).",
)
@click.option(
    "--browser",
    is_flag=True,
    help="With --sso: a browser on this machine and a loopback redirect, not a device code.",
)
@pass_app
def login(
    app: AppContext,
    url: str | None,
    token_opt: str | None,
    username: str | None,
    password_stdin: bool,
    key_name: str | None,
    admin: bool,
    sso: bool,
    browser: bool,
) -> None:
    """Sign in to a registry and store an API key (file mode 0600) for later commands.

    With a username and password, skreg creates an API key for this machine
    (scopes read, publish, yank; with --admin also admin) and stores only that
    key. With --token it stores the API key you give it, after checking it works.
    """
    target = cfg.resolve(app.stored(), url_flag=url or app.url_flag, token_flag=None)
    app.output.note(f"Registry: {target.url}")
    client = app.anonymous_client(target)
    token = token_opt if token_opt is not None else app.token_flag
    if sso:
        session = (
            browser_sign_in(client, app.output) if browser else device_sign_in(client, app.output)
        )
        label = key_name or f"skreg CLI on {socket.gethostname()} (SSO)"
        key, key_id, user = _key_for_session(client, session, label, CLI_SCOPES)
        _store(
            app, target.url, cfg.Credential(token=key, username=user, key_id=key_id), admin=False
        )
        return
    if token is not None:
        token = token or click.prompt("API key", hide_input=True).strip()
        me = _whoami(client, token)
        if admin and "admin" not in me.scopes:
            raise CliError(
                f"this key has no admin scope on {target.url}",
                hint="create one as an administrator, or `skreg login --admin` with a password",
                code=ExitCode.FORBIDDEN,
            )
        credential = cfg.Credential(token=token, username=me.username)
    else:
        name = username or click.prompt("Username or email")
        password = _read_password(password_stdin)
        credential = _sign_in(client, name, password, key_name, admin=admin)
    _store(app, target.url, credential, admin=admin)


@click.command()
@click.argument("url", required=False)
@click.option("-u", "--username", help="The username to take (asked for when missing).")
@click.option("--email", help="Your email address (asked for when missing).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--key-name", help="Name of the API key created for this machine.")
@pass_app
def register(
    app: AppContext,
    url: str | None,
    username: str | None,
    email: str | None,
    password_stdin: bool,
    key_name: str | None,
) -> None:
    """Create an account on a registry whose registration is open, and sign in with it.

    Asks for what is missing (the password twice); then, like `skreg login`,
    stores an API key for this machine.
    """
    target = cfg.resolve(app.stored(), url_flag=url or app.url_flag, token_flag=None)
    app.output.note(f"Registry: {target.url}")
    client = app.anonymous_client(target)
    name = username or click.prompt("Username")
    address = email or click.prompt("Email")
    password = _read_password(password_stdin, confirm=True)
    request = RegisterRequest(username=name, email=address, password=password)
    try:
        client.request("POST", path_of("auth", "register"), json=request, always_there=True)
    except CliError as exc:
        raise _registration_error(exc, target.url) from exc
    app.output.note(f"Registered {name} on {target.url}")
    _store(app, target.url, _sign_in(client, name, password, key_name, admin=False), admin=False)


def _registration_error(exc: CliError, url: str) -> CliError:
    """The registry's refusal, with a hint that fits registration."""
    hints = {
        ExitCode.FORBIDDEN: f"ask the administrators of {url} for an account, then `skreg login`",
        ExitCode.CONFLICT: "pick another username or email (or `skreg login` if it is yours)",
    }
    if exc.code in hints:
        exc.hint = hints[exc.code]
    return exc


@click.command()
@json_option
@pass_app
def logout(app: AppContext) -> None:
    """Forget the stored keys for the current registry (revoking those skreg created)."""
    stored = app.stored()
    target = cfg.resolve(stored, url_flag=app.url_flag, token_flag=None).url
    found = [
        c
        for c in (stored.credentials.pop(target, None), stored.admin_credentials.pop(target, None))
        if c is not None
    ]
    revoked = False
    for credential in found:
        if credential.key_id:
            try:
                app.client(target).request(
                    "DELETE", path_of("auth", "keys", credential.key_id), token=credential.token
                )
                revoked = True
            except CliError as exc:
                app.output.warn(f"could not revoke the API key on the registry: {exc.message}")
    if found:
        cfg.save(app.config_dir, stored)
    app.output.json({"url": target, "logged_out": bool(found), "key_revoked": revoked})
    if not found:
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
