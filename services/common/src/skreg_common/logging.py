"""structlog set-up: events with fields, JSON off a TTY, request/job ids bound via contextvars."""

from __future__ import annotations

import logging
import secrets
import sys
import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER = "x-request-id"
# Identical warning-or-worse lines allowed per window; the rest are counted and dropped,
# so a flood of one failure (hostile clients, a dead dependency) cannot fill the disk.
REPEAT_BURST = 20
REPEAT_WINDOW_S = 60.0
REPEAT_KEYS = 1024
# Fields that differ on every line (a traceback: addresses) and do not make a line new.
_VOLATILE_FIELDS = frozenset({"timestamp", "request_id", "job_id", "exc_info"})


class RepeatLimiter:
    """Counts identical log lines per window; says whether one may be written (thread-safe)."""

    def __init__(
        self,
        burst: int = REPEAT_BURST,
        window_s: float = REPEAT_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: dict[Hashable, list[float | int]] = {}  # key -> [window start, count]

    def admit(self, key: Hashable) -> int | None:
        """None: drop this line. Else how many identical lines were dropped before it."""
        now = self._clock()
        with self._lock:
            entry = self._seen.get(key)
            if entry is None or now - entry[0] >= self.window_s:
                dropped = 0 if entry is None else max(0, int(entry[1]) - self.burst)
                if len(self._seen) >= REPEAT_KEYS:
                    for old in list(self._seen)[: REPEAT_KEYS // 2]:
                        del self._seen[old]
                self._seen[key] = [now, 1]
                return dropped
            entry[1] = int(entry[1]) + 1
            return 0 if entry[1] <= self.burst else None


def _repeat_processor(limiter: RepeatLimiter) -> Any:
    """structlog processor: drop warning-or-worse events repeated past the limiter's burst."""

    def processor(_: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        if method not in ("warning", "warn", "error", "exception", "critical", "fatal"):
            return event_dict
        fields = tuple(
            sorted((k, repr(v)) for k, v in event_dict.items() if k not in _VOLATILE_FIELDS)
        )
        dropped = limiter.admit((method, fields))
        if dropped is None:
            raise structlog.DropEvent
        if dropped:
            event_dict["repeats_dropped"] = dropped
        return event_dict

    return processor


class RepeatFilter(logging.Filter):
    """The same limit for stdlib records (uvicorn, asyncio, libraries)."""

    def __init__(self, limiter: RepeatLimiter) -> None:
        super().__init__()
        self.limiter = limiter

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        message = record.getMessage()
        dropped = self.limiter.admit((record.levelno, record.name, message))
        if dropped is None:
            return False
        if dropped:
            record.msg, record.args = f"{message} [{dropped} identical lines dropped]", ()
        return True


def configure_logging(level: str = "INFO", json: bool | None = None) -> None:
    """Route stdlib and structlog through one pipeline; idempotent."""
    use_json = (not sys.stdout.isatty()) if json is None else json
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if use_json else structlog.dev.ConsoleRenderer()
    )
    limiter = RepeatLimiter()
    structlog.configure(
        processors=[
            *shared[:2],
            _repeat_processor(limiter),
            *shared[2:],
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[*shared, structlog.stdlib.add_logger_name],
        )
    )
    handler.addFilter(RepeatFilter(limiter))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log duplicates ours and would leak query strings twice.
    logging.getLogger("uvicorn.access").disabled = True


def _valid_request_id(value: str) -> bool:
    return 0 < len(value) <= 128 and all(c.isalnum() or c in "-_." for c in value)


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Bind a request id (the caller's `X-Request-ID` if sane, else a new one) for the request."""
    header = REQUEST_ID_HEADER.encode()

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]  # lifespan too
            await app(scope, receive, send)
            return
        incoming = next((v.decode("latin-1") for k, v in scope["headers"] if k == header), "")
        # 128 random bits as hex, as uuid4().hex was, without building a UUID (~2 µs).
        request_id = incoming if _valid_request_id(incoming) else secrets.token_hex(16)
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((header, request_id.encode()))
                message["headers"] = headers
            await send(message)

        # bind/reset rather than `bound_contextvars`: the same, without a generator-based
        # context manager per request.
        tokens = structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.reset_contextvars(**tokens)

    return middleware
