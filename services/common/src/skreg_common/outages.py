"""Database outages and a full disk as clear answers: 503 (try again) and 507 (storage full).

Without this, a request made while PostgreSQL restarts, or a publish onto a full disk,
ends in the generic 500 handler: a stack trace in the log and an answer that tells the
client nothing it can act on. The table here looks at what actually went wrong:

- the database cannot be reached or dropped the connection (refused, reset, shut down,
  starting up, a pool that waited too long for a connection): 503 with `Retry-After`,
  the request was not applied and may be sent again;
- the disk (or SQLite's file) is full: 507, nothing was stored.

Anything else (a constraint violation, a syntax error: our bugs) keeps going to the
500 handler of the layer. The handlers are keyed on the exception classes those
failures arrive as, so they win over a layer's catch-all `Exception` handler
(Litestar picks the most specific class in the MRO), and each layer that renders
errors its own way (problem+json, the clawhub CLI's plain text) passes its renderer.
The two answers are `DatabaseUnavailable` and `StorageFull` in skreg_common.errors,
whose table is built from this module (so this one imports it only when called).
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import structlog
from litestar import Request, Response
from sqlalchemy import exc as sa_exc

if TYPE_CHECKING:
    from skreg_common.errors import DomainError

log = structlog.get_logger(__name__)

# SQLite's primary result code for "database or disk is full".
SQLITE_FULL = 13

# errno values that mean "no space left" (ENOSPC) or "over the disk quota" (EDQUOT).
_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})

# Connection-level errno values: the server is not there, or the connection broke.
_CONNECTION_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ETIMEDOUT,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
    }
)

# PostgreSQL's disk_full: "could not extend file" (no space for a table or index).
_PG_DISK_FULL = "53100"

# PostgreSQL error classes that mean "the server, not the statement": 08 connection
# exception, 57P01-57P03 admin/crash shutdown and "the database system is starting up",
# 53300 too many connections.
_PG_OUTAGE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """`exc`, the driver error SQLAlchemy wraps (`.orig`), and their causes, each once."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending.extend(
            [current.__context__, current.__cause__, getattr(current, "orig", None)]
            if len(seen) < 16
            else []
        )


def _is_full(exc: BaseException) -> bool:
    if getattr(exc, "sqlstate", None) == _PG_DISK_FULL:
        return True  # PostgreSQL could not extend a file
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        if code is not None and code & 0xFF == SQLITE_FULL:
            return True
        return "database or disk is full" in str(exc)
    return isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS


def _is_unreachable(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True  # SQLAlchemy's dialect recognised a disconnect
    if isinstance(exc, sa_exc.TimeoutError | sa_exc.DisconnectionError):
        return True  # no pooled connection came free in time, or a ping failed for good
    # asyncpg's errors (and SQLAlchemy's adapters of them) carry the SQLSTATE.
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith(_PG_OUTAGE_SQLSTATES):
        return True
    if type(exc).__name__ == "ConnectionDoesNotExistError":
        return True  # asyncpg: the server went away mid-statement
    # Refused, reset, or asyncpg's connect timeout: these arrive unwrapped, so only those
    # that rose through the database drivers count (a peer's or a render's timeout is
    # not the database being away).
    if isinstance(exc, ConnectionError | TimeoutError) or (
        isinstance(exc, OSError) and exc.errno in _CONNECTION_ERRNOS
    ):
        return _raised_in_database_driver(exc)
    return False


_DRIVER_MODULES = ("sqlalchemy.", "asyncpg.", "aiosqlite.", "skreg_common.sqlite_inline")


def _raised_in_database_driver(exc: BaseException) -> bool:
    frame = exc.__traceback__
    while frame is not None:
        module = str(frame.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(_DRIVER_MODULES):
            return True
        frame = frame.tb_next
    return False


def outage_of(exc: BaseException) -> DomainError | None:
    """The answer an infrastructure failure deserves (507 or 503), or None for anything else."""
    # Imported here: skreg_common.errors builds its table from this module.
    from skreg_common.errors import DatabaseUnavailable, StorageFull

    chain = list(_chain(exc))
    if any(_is_full(link) for link in chain):
        return StorageFull()
    if any(_is_unreachable(link) for link in chain):
        return DatabaseUnavailable()
    return None


def is_outage(exc: BaseException) -> bool:
    """True when `exc` is the database being away (not a full disk, not a bug): worth
    retrying the same work later (import jobs do)."""
    outage = outage_of(exc)
    return outage is not None and outage.status == 503


# The classes database and disk failures arrive as (each outage's chain starts with one):
# SQLAlchemy wraps asyncpg's own errors (a refused connection stays an OSError).
OUTAGE_CLASSES: tuple[type[Exception], ...] = (
    sa_exc.DBAPIError,
    sa_exc.TimeoutError,
    sa_exc.DisconnectionError,
    sqlite3.Error,
    OSError,  # ConnectionError, TimeoutError, ENOSPC from a blob write
)

Handler = Callable[[Request[Any, Any, Any], Any], Response[Any]]


def outage_handlers(
    render: Callable[[Request[Any, Any, Any], DomainError], Response[Any]],
    fallback: Handler,
) -> dict[type[Exception] | int, Handler]:
    """Exception handlers for `OUTAGE_CLASSES`: an outage is rendered by `render` (the
    layer's DomainError renderer), anything else goes to `fallback` (its 500 handler)."""

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        outage = outage_of(exc)
        if outage is None:
            return fallback(request, exc)
        log.warning(
            "request.outage",
            path=request.url.path,
            status=outage.status,
            error_type=type(exc).__name__,
            error=str(exc)[:200],
        )
        return render(request, outage)

    return dict.fromkeys(OUTAGE_CLASSES, handle)
