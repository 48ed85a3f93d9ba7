"""Slow-client limits for uvicorn's HTTP servers: a connection cap and read deadlines.

uvicorn 0.54 has a keep-alive timeout (idle *between* requests) and `limit_concurrency`
(a 503 once too many connections are open, but every connection is still accepted and
held), and no deadline at all for reading a request's head or body. Thousands of
connections that send part of a request and then nothing therefore pile up until the
process runs out of file descriptors. The guarded protocols add, per process:

- a connection cap (`MAX_CONNECTIONS`): a connection beyond it first evicts the oldest
  connection that is still waiting for its request head (a slow client, or an idle
  keep-alive one), else it is closed at once, so a flood of half-open connections
  cannot lock out clients that send their request promptly;
- a head deadline (`HEADER_TIMEOUT`): a request's head must be complete this many
  seconds after its first byte (after accept for the first request), however slowly
  it trickles in;
- a body deadline (`BODY_TIMEOUT`): a request body that stalls this long is dropped;
- a head size bound (`MAX_HEAD_BYTES`): an unfinished head past it gets uvicorn's 400.

Two implementations share the rules (`guard.ConnectionGuard`): `GuardedHttpToolsProtocol`
on uvicorn's httptools (llhttp) parser, the fast one and the default, and
`GuardedH11Protocol` on the pure-Python h11, the fallback where httptools is missing
(`HTTP_IMPL=h11` picks it). `fit_file_limit` keeps the cap below the process's
file-descriptor limit, leaving room for the database, Redis, git and logs.
"""

from __future__ import annotations

import importlib.util
import resource
from typing import Any, Literal

import uvicorn

from skreg_common.connguard.guard import MAX_HEAD_BYTES, ConnectionLimits

__all__ = [
    "FD_RESERVE",
    "MAX_HEAD_BYTES",
    "ConnectionLimits",
    "GuardedConfig",
    "StackUnavailable",
    "fit_file_limit",
    "pick_event_loop",
    "pick_http_impl",
]

KEEP_ALIVE_TIMEOUT_S = 5
# File descriptors kept free for everything that is not a client connection.
FD_RESERVE = 256
MIN_CONNECTIONS = 16

HttpImpl = Literal["auto", "httptools", "h11"]
EventLoop = Literal["auto", "uvloop", "asyncio"]

_PROTOCOLS = {
    "httptools": "skreg_common.connguard.httptools_protocol:GuardedHttpToolsProtocol",
    "h11": "skreg_common.connguard.h11_protocol:GuardedH11Protocol",
}


class StackUnavailable(RuntimeError):
    """The configured event loop or HTTP parser is not installed here."""


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def pick_http_impl(wanted: HttpImpl = "auto") -> str:
    """The HTTP parser to serve with: httptools when installed (or asked for), else h11."""
    if wanted == "auto":
        return "httptools" if _installed("httptools") else "h11"
    if not _installed(wanted):
        raise StackUnavailable(f"HTTP_IMPL={wanted}, but {wanted} is not installed")
    return wanted


def pick_event_loop(wanted: EventLoop = "auto") -> str:
    """uvicorn's loop name: uvloop when installed (or asked for), else asyncio."""
    if wanted == "auto":
        return "uvloop" if _installed("uvloop") else "asyncio"
    if wanted == "uvloop" and not _installed("uvloop"):
        raise StackUnavailable("EVENT_LOOP=uvloop, but uvloop is not installed")
    return wanted


class GuardedConfig(uvicorn.Config):
    """A uvicorn Config that carries `ConnectionLimits` (picklable, so reload keeps them)."""

    def __init__(
        self,
        app: Any,
        *,
        limits: ConnectionLimits,
        http_impl: HttpImpl = "auto",
        event_loop: EventLoop = "auto",
        **kwargs: Any,
    ) -> None:
        super().__init__(
            app,
            http=_PROTOCOLS[pick_http_impl(http_impl)],
            loop=pick_event_loop(event_loop),
            h11_max_incomplete_event_size=MAX_HEAD_BYTES,
            timeout_keep_alive=KEEP_ALIVE_TIMEOUT_S,
            **kwargs,
        )
        self.limits = limits


def fit_file_limit(wanted: int) -> int:
    """Raise the soft descriptor limit to fit `wanted` connections; the cap that fits.

    When the hard limit is lower, the cap shrinks instead: refusing connections early
    beats running out of descriptors (accept errors, no database connections, no logs).
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = wanted + FD_RESERVE
    if soft != resource.RLIM_INFINITY and soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(MIN_CONNECTIONS, min(wanted, soft - FD_RESERVE))
