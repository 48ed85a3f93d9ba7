"""uvicorn's h11 protocol under the connection guard (the pure-Python fallback).

The head is bounded by h11 itself (`h11_max_incomplete_event_size`, set by
`GuardedConfig` to `MAX_HEAD_BYTES`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from skreg_common.connguard.guard import ConnectionGuard


class GuardedH11Protocol(ConnectionGuard, H11Protocol):
    """uvicorn's h11 protocol with the cap and the deadlines of `ConnectionGuard`."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._guard_init(config)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._admit(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._forget()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.IDLE:
            self._after_read("head")
        elif state is h11.SEND_BODY:
            self._after_read("body")
        else:
            self._after_read("done")

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.conn.their_state is h11.IDLE:
            self._now_idle()
