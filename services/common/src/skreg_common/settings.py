"""Settings: one frozen Struct per service, read once from the environment at start-up.

A field `database_url` is read from `DATABASE_URL`, and so on. Services subclass
`ServiceSettings`; nothing deeper in the code reads `os.environ`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

import msgspec

from skreg_common.db import SqliteDriver, is_sqlite

DEV_SECRET_KEY = "dev-insecure-secret-key-change-me"  # noqa: S105 - the known dev default, refused in prod
DEV_SERVICE_SECRET = "dev-insecure-service-secret"  # noqa: S105
DEFAULT_DATABASE_URL = "sqlite:///./skills_registry.db"

Environment = Literal["dev", "prod"]

S = TypeVar("S", bound="ServiceSettings")


class SettingsError(ValueError):
    """The environment does not describe a configuration this process may start with."""


class ServiceSettings(msgspec.Struct, frozen=True, kw_only=True):
    """What every service reads: mode, database, secrets, logging, queue, peers, bind address."""

    environment: Environment = "dev"
    # For SQLite the URL names only the file: the driver is `sqlite_driver` (skreg_common.db).
    database_url: str = DEFAULT_DATABASE_URL
    sqlite_driver: SqliteDriver = "inline"
    secret_key: str = DEV_SECRET_KEY
    service_secret: str = DEV_SERVICE_SECRET
    log_level: str = "INFO"
    log_json: bool | None = None  # None: JSON when stdout is not a TTY
    redis_url: str | None = None
    auth_url: str = "http://127.0.0.1:8000"
    catalog_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    db_pool_size: int = 10
    # PostgreSQL outages answer fast (skreg_common.outages): seconds to open a connection,
    # and seconds a request waits for a pooled one, before it gets a 503.
    db_connect_timeout: float = 5.0
    db_pool_timeout: float = 10.0
    # Upgrade the schema at start-up. None: only on SQLite (the embedded default);
    # production runs migrations as an explicit step (`make migrate`, the compose job).
    auto_migrate: bool | None = None
    # The proxies in front of this process (addresses, CIDR networks, or `*`): only a peer
    # listed here may tell us the client's address and scheme (X-Forwarded-For/-Proto).
    # The one proxy-trust setting of every service; see skreg_common.forwarded.
    trusted_proxies: str = "127.0.0.1,::1"
    # Slow-client limits of the HTTP server (skreg_common.connguard): connections held at
    # once, seconds to send a request's head, and seconds a request body may stall.
    max_connections: int = 1000
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    # The server stack: `auto` is httptools on uvloop when installed (they are
    # dependencies except uvloop on Windows), else h11 on asyncio. Both are guarded alike.
    http_impl: Literal["auto", "httptools", "h11"] = "auto"
    event_loop: Literal["auto", "uvloop", "asyncio"] = "auto"
    # Dev mode only: restart on code changes (the compose dev profile; skreg_common.serve).
    reload: bool = False
    # Server processes per container (uvicorn's supervisor, each with its own event loop,
    # pool and guard). Above 1 it needs PostgreSQL and Redis: the state processes share
    # (caches, throttles, revocations, the queue) lives there (docs/operations.md).
    web_concurrency: int = 1
    # Every request needs a signed-in caller (skreg_common.signin): API, well-known, MCP
    # and ClawHub answer 401, web pages send to sign-in; health and sign-in stay open.
    require_sign_in: bool = False

    @property
    def is_dev(self) -> bool:
        """True in the dev mode, where dev default secrets are tolerated."""
        return self.environment == "dev"

    @property
    def has_dev_secret(self) -> bool:
        """True while a secret is a built-in dev default (anyone can read it in the source)."""
        return self.secret_key == DEV_SECRET_KEY or self.service_secret == DEV_SERVICE_SECRET

    @property
    def should_migrate(self) -> bool:
        """Whether this process upgrades the database schema when it starts."""
        if self.auto_migrate is not None:
            return self.auto_migrate
        return is_sqlite(self.database_url)

    def production_problems(self) -> list[str]:
        """Why this configuration must not run outside dev mode (empty when it may)."""
        problems: list[str] = []
        if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
            problems.append("SECRET_KEY is the dev default or shorter than 32 characters")
        if self.service_secret == DEV_SERVICE_SECRET or len(self.service_secret) < 32:
            problems.append("SERVICE_SECRET is the dev default or shorter than 32 characters")
        return problems


def _env_name(field: str) -> str:
    return field.upper()


def load_settings(cls: type[S], environ: Mapping[str, str] | None = None) -> S:
    """Build `cls` from environment variables (names upper-cased); refuse unsafe prod configs.

    Empty variables count as unset, so `FOO=` in a compose file keeps the default.
    """
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    for field in msgspec.structs.fields(cls):
        value = env.get(_env_name(field.name))
        if value is not None and value.strip() != "":
            raw[field.name] = value.strip()
    try:
        settings = msgspec.convert(raw, cls, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid configuration: {_describe(exc)}") from exc
    if not settings.is_dev:
        problems = settings.production_problems()
        if problems:
            raise SettingsError("refusing to start in prod mode: " + "; ".join(problems))
    return settings


def _describe(exc: msgspec.ValidationError) -> str:
    # msgspec says "at `$.git_max_concurrent`"; name the environment variable instead.
    message = str(exc)
    if "`$." in message:
        head, _, tail = message.partition("`$.")
        field, _, rest = tail.partition("`")
        return f"{head}{_env_name(field)}{rest}"
    return message
