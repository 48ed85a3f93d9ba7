"""uvicorn's httptools (llhttp) protocol under the connection guard (the default).

llhttp has no bound on a request head (Node.js enforces its own outside the parser), so
this counts the bytes of an unfinished head and answers uvicorn's 400 past
`MAX_HEAD_BYTES`, as h11 does for the h11 protocol. The count is checked after each
read, so a head is held to that bound plus at most one read (256 KiB).

Two more differences from h11 are closed here, so both parsers answer alike:
- an HTTP/1.1 request without `Host` gets the 400 h11 gives it (llhttp accepts it);
- a refused `Upgrade` (no WebSocket support is installed, and nothing else is
  offered): llhttp stops parsing at the upgrade, so uvicorn would log a warning for
  every later read on the connection and never answer a pipelined request behind it.
  The request is answered and the connection then closed instead (`Connection: close`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httptools
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from skreg_common.connguard.guard import MAX_HEAD_BYTES, ConnectionGuard, Phase


class GuardedHttpToolsProtocol(ConnectionGuard, HttpToolsProtocol):
    """uvicorn's httptools protocol with the cap, the deadlines and a head size bound."""

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._guard_init(config)
        self._phase: Phase = "head"
        self._head_bytes = 0  # read since the last head or message was complete
        self._upgrade_refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._admit(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._forget()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._upgrade_refused:
            return  # llhttp parses nothing past an upgrade; the connection closes soon
        self._head_bytes += len(data)
        super().data_received(data)
        if self._phase == "head" and self._head_bytes > MAX_HEAD_BYTES:
            if not self.transport.is_closing():
                # What uvicorn's h11 protocol answers (and logs) for h11's own bound.
                message = "Invalid HTTP request received."
                self.logger.warning(message)
                self.send_400_response(message)
            return
        self._after_read(self._phase)

    # Parser callbacks (called from inside `data_received`).

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._phase = "head"

    def on_headers_complete(self) -> None:
        if self.parser.get_http_version() == "1.1" and not any(
            name == b"host" for name, _ in self.headers
        ):
            # Raised inside a parser callback: uvicorn answers its usual 400 and logs once.
            raise httptools.HttpParserError("missing Host header")
        super().on_headers_complete()
        self._phase = "body"
        self._head_bytes = 0
        if self.parser.should_upgrade() and not self._should_upgrade():
            self._upgrade_refused = True
            self.cycle.keep_alive = False

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._phase = "done"
        self._head_bytes = 0

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._phase == "done" and not self.pipeline:
            self._phase = "head"
            self._now_idle()
