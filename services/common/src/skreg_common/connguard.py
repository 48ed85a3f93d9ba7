"""Slow-client limits for uvicorn's h11 server: a connection cap and read deadlines.

uvicorn 0.54 has a keep-alive timeout (idle *between* requests) and `limit_concurrency`
(a 503 once too many connections are open, but every connection is still accepted and
held), and no deadline at all for reading a request's head or body. Thousands of
connections that send part of a request and then nothing therefore pile up until the
process runs out of file descriptors. `GuardedH11Protocol` adds, per process:

- a connection cap (`MAX_CONNECTIONS`): a connection beyond it first evicts the oldest
  connection that is still waiting for its request head (a slow client, or an idle
  keep-alive one), else it is closed at once, so a flood of half-open connections
  cannot lock out clients that send their request promptly;
- a head deadline (`HEADER_TIMEOUT`): a request's head must be complete this many
  seconds after its first byte (after accept for the first request), however slowly
  it trickles in;
- a body deadline (`BODY_TIMEOUT`): a request body that stalls this long is dropped.

The head itself is bounded by h11 (`H11_MAX_HEAD_BYTES`). `fit_file_limit` keeps the
cap below the process's file-descriptor limit, leaving room for the database, Redis,
git and logs.
"""

from __future__ import annotations

import asyncio
import resource
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

H11_MAX_HEAD_BYTES = 16 * 1024
KEEP_ALIVE_TIMEOUT_S = 5
# File descriptors kept free for everything that is not a client connection.
FD_RESERVE = 256
MIN_CONNECTIONS = 16


@dataclass(frozen=True)
class ConnectionLimits:
    """The per-process limits `GuardedH11Protocol` enforces."""

    max_connections: int = 1000
    header_timeout: float = 10.0
    body_timeout: float = 30.0


class GuardedConfig(uvicorn.Config):
    """A uvicorn Config that carries `ConnectionLimits` (picklable, so reload keeps them)."""

    def __init__(self, app: Any, *, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(
            app,
            http=GuardedH11Protocol,
            h11_max_incomplete_event_size=H11_MAX_HEAD_BYTES,
            timeout_keep_alive=KEEP_ALIVE_TIMEOUT_S,
            **kwargs,
        )
        self.limits = limits


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with the cap and the deadlines described above."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.limits: ConnectionLimits = getattr(config, "limits", ConnectionLimits())
        self._deadline: asyncio.TimerHandle | None = None
        # Set while this connection waits for a request head (evictable), else None.
        self.waiting_since: float | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections and not self._evict_one():
            self.connections.discard(self)
            transport.abort()
            return
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        self.waiting_since = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.transport.is_closing():
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            if self._deadline is None:  # the first bytes of a request after keep-alive
                self._await_head()
        elif state is h11.SEND_BODY:
            self.waiting_since = None
            self._arm(self.limits.body_timeout)  # re-armed by every chunk of the body
        else:
            self.waiting_since = None
            self._cancel_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Idle keep-alive until the next request: uvicorn's own timer closes it, and it
        # may be evicted in favour of a new connection meanwhile.
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self.waiting_since = self.loop.time()
            self._cancel_deadline()

    def _await_head(self) -> None:
        self.waiting_since = self.loop.time()
        self._arm(self.limits.header_timeout)

    def _arm(self, seconds: float) -> None:
        self._cancel_deadline()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.flow.read_paused:  # we stopped reading (the app is behind), not the client
            self._arm(self.limits.body_timeout)
            return
        # Nothing is logged per connection: a flood of them would flood the log instead.
        if not self.transport.is_closing():
            self.transport.abort()

    def _evict_one(self) -> bool:
        """Close the connection waiting longest for a request head; False when none is."""
        oldest: GuardedH11Protocol | None = None
        for other in self.connections:
            if (
                other is not self
                and isinstance(other, GuardedH11Protocol)
                and other.waiting_since is not None
                and (oldest is None or other.waiting_since < (oldest.waiting_since or 0.0))
            ):
                oldest = other
        if oldest is None:
            return False
        oldest.waiting_since = None
        oldest._cancel_deadline()
        self.connections.discard(oldest)
        oldest.transport.abort()
        return True


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
