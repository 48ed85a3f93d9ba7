"""Where the CLI keeps its login: one JSON file, mode 0600, in the platform config directory.

Resolution order for the registry URL: `--url`, then `SKREG_URL`, then the URL
of the last `skreg login`, then the local default. For the credential:
`--token`, then `SKREG_TOKEN`, then the one stored for that URL.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import msgspec
import platformdirs

from skreg_cli.errors import CliError, ExitCode

CONFIG_DIR_ENV = "SKREG_CONFIG_DIR"
URL_ENV = "SKREG_URL"
TOKEN_ENV = "SKREG_TOKEN"  # noqa: S105 - the variable's name, not a secret
DEFAULT_URL = "http://127.0.0.1:8000"
CONFIG_FILE = "config.json"


class Credential(msgspec.Struct, kw_only=True):
    """A stored API key for one registry."""

    token: str
    username: str | None = None
    # Set when `skreg login` created the key itself, so `skreg logout` revokes it.
    key_id: str | None = None


class StoredConfig(msgspec.Struct, kw_only=True):
    """The config file: the registry last logged in to, and a credential per registry."""

    url: str | None = None
    credentials: dict[str, Credential] = msgspec.field(default_factory=dict)
    # Keys with the admin scope (`skreg login --admin`), kept apart so that everyday
    # commands never carry admin rights; only `skreg source …` uses them.
    admin_credentials: dict[str, Credential] = msgspec.field(default_factory=dict)


@dataclass(frozen=True)
class Resolved:
    """The registry and credential one command uses, and where each came from."""

    url: str
    token: str | None
    token_source: str | None  # "--token", "SKREG_TOKEN", "config" or None
    url_source: str = "default"  # "--url", "SKREG_URL", "config" or "default"

    @property
    def configured(self) -> bool:
        """False when nothing named a registry and skreg fell back to `DEFAULT_URL`."""
        return self.url_source != "default"


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`SKREG_CONFIG_DIR`, else the platform's user config dir (`~/.config/skreg` on Linux)."""
    env = os.environ if environ is None else environ
    override = env.get(CONFIG_DIR_ENV)
    return Path(override) if override else Path(platformdirs.user_config_dir("skreg"))


def normalise_url(url: str) -> str:
    """`http(s)://host[:port][/prefix]` without a trailing slash; anything else is refused."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CliError(
            f"not a registry URL: {url!r}",
            hint="use a URL like https://skills.example.com or http://127.0.0.1:8000",
            code=ExitCode.USAGE,
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise CliError(
            "the registry URL must not carry credentials, a query or a fragment",
            hint="pass credentials with `skreg login` or --token",
            code=ExitCode.USAGE,
        )
    return url


def load(directory: Path) -> StoredConfig:
    """The stored config, or an empty one when there is none yet."""
    path = directory / CONFIG_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return StoredConfig()
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror}") from exc
    try:
        return msgspec.json.decode(raw, type=StoredConfig)
    except msgspec.DecodeError as exc:
        raise CliError(
            f"{path} is not a valid skreg config: {exc}",
            hint=f"delete {path} and run `skreg login` again",
        ) from exc


def save(directory: Path, config: StoredConfig) -> Path:
    """Write the config atomically; the file is 0600 from its first byte (it holds keys)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / CONFIG_FILE
    temp = directory / f".{CONFIG_FILE}.{secrets.token_hex(6)}"
    data = msgspec.json.format(msgspec.json.encode(config, order="sorted"), indent=2) + b"\n"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):  # POSIX: 0600 whatever the umask says
                os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def resolve(
    config: StoredConfig,
    *,
    url_flag: str | None,
    token_flag: str | None,
    environ: Mapping[str, str] | None = None,
) -> Resolved:
    """Pick the registry URL and credential for this run (see the module docstring)."""
    env = os.environ if environ is None else environ
    url_source, raw_url = next(
        (source, value)
        for source, value in (
            ("--url", url_flag),
            (URL_ENV, env.get(URL_ENV)),
            ("config", config.url),
            ("default", DEFAULT_URL),
        )
        if value
    )
    url = normalise_url(raw_url)
    if token_flag:
        return Resolved(url, token_flag, "--token", url_source)
    if env.get(TOKEN_ENV):
        return Resolved(url, env[TOKEN_ENV], TOKEN_ENV, url_source)
    stored = config.credentials.get(url)
    if stored is not None:
        return Resolved(url, stored.token, "config", url_source)
    return Resolved(url, None, None, url_source)


def where_from(resolved: Resolved) -> str:
    """How to fix an unreachable registry, naming where its URL came from."""
    if not resolved.configured:
        return (
            f"no registry is configured, so skreg tried the default {resolved.url}; "
            "start one there (`make run` in a checkout) or point skreg at yours: "
            f"`skreg login URL`, {URL_ENV}=URL or --url URL"
        )
    origin = {"config": "the last `skreg login`"}.get(resolved.url_source, resolved.url_source)
    return (
        f"check the URL (it comes from {origin}) and your network; "
        f"another registry: --url, {URL_ENV} or `skreg login URL`"
    )
