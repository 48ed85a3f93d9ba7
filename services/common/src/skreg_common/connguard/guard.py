"""The rules both guarded protocols share: the cap, eviction, and the deadline timer.

`ConnectionGuard` is a mixin placed before uvicorn's protocol class; the subclass tells
it, after each read, which part of a request the connection is in (`_after_read`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal

import uvicorn
from uvicorn.protocols.http.flow_control import FlowControl

# The longest unfinished request head a connection may hold (h11's incomplete-event
# bound; the httptools protocol counts the same bytes itself).
MAX_HEAD_BYTES = 16 * 1024

Phase = Literal["head", "body", "done"]
"""Where the client is: sending (or about to send) a head, sending a body, or waiting
for our answer."""


@dataclass(frozen=True)
class ConnectionLimits:
    """The per-process limits the guarded protocols enforce."""

    max_connections: int = 1000
    header_timeout: float = 10.0
    body_timeout: float = 30.0


class ConnectionGuard:
    """Cap, eviction and deadlines; mixed into a uvicorn HTTP protocol."""

    # Provided by uvicorn's protocol classes.
    connections: set[Any]
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    flow: FlowControl

    def _guard_init(self, config: uvicorn.Config) -> None:
        self.limits: ConnectionLimits = getattr(config, "limits", ConnectionLimits())
        self._deadline: asyncio.TimerHandle | None = None
        # Set while this connection waits for a request head (evictable), else None.
        self.waiting_since: float | None = None

    def _admit(self, transport: asyncio.Transport) -> bool:
        """After uvicorn registered the connection: keep it (arming the head deadline)?"""
        if len(self.connections) > self.limits.max_connections and not self._evict_one():
            self.connections.discard(self)
            transport.abort()
            return False
        self._await_head()
        return True

    def _after_read(self, phase: Phase) -> None:
        """Re-arm the deadline for the part of the request the client is now in."""
        if self.transport.is_closing():
            return
        if phase == "head":
            if self._deadline is None:  # the first bytes of a request after keep-alive
                self._await_head()
        elif phase == "body":
            self.waiting_since = None
            self._arm(self.limits.body_timeout)  # re-armed by every chunk of the body
        else:
            self.waiting_since = None
            self._cancel_deadline()

    def _now_idle(self) -> None:
        """A response is complete and the client owes nothing: idle keep-alive.

        uvicorn's own timer closes it; it may be evicted for a new connection meanwhile.
        """
        if not self.transport.is_closing():
            self.waiting_since = self.loop.time()
            self._cancel_deadline()

    def _forget(self) -> None:
        self._cancel_deadline()
        self.waiting_since = None

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
        oldest: ConnectionGuard | None = None
        for other in self.connections:
            if (
                other is not self
                and isinstance(other, ConnectionGuard)
                and other.waiting_since is not None
                and (oldest is None or other.waiting_since < (oldest.waiting_since or 0.0))
            ):
                oldest = other
        if oldest is None:
            return False
        oldest._forget()
        self.connections.discard(oldest)
        oldest.transport.abort()
        return True
