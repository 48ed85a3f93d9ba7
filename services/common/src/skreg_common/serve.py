"""Run a service process: settings once from the environment, logging, then uvicorn.

Every `python -m skreg_<service>` goes through `serve`, so host/port, logging, the
slow-client limits (skreg_common.connguard), the dev-secret listening rule
(skreg_common.internal) and the dev profile's auto-reload (`RELOAD=true`) behave the
same everywhere.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
import uvicorn
from uvicorn.supervisors import ChangeReload

from skreg_common.connguard import (
    ConnectionLimits,
    GuardedConfig,
    StackUnavailable,
    fit_file_limit,
    pick_event_loop,
    pick_http_impl,
)
from skreg_common.internal import listen_problem
from skreg_common.logging import configure_logging
from skreg_common.settings import ServiceSettings, SettingsError, load_settings

S = TypeVar("S", bound=ServiceSettings)


def load_or_exit(cls: type[S]) -> S:
    """Load settings or exit with a one-line reason (status 2), never a traceback."""
    try:
        return load_settings(cls)
    except SettingsError as exc:
        sys.stderr.write(f"skreg: {exc}\n")
        raise SystemExit(2) from exc


def _limits(settings: ServiceSettings) -> ConnectionLimits:
    return ConnectionLimits(
        max_connections=fit_file_limit(settings.max_connections),
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
    )


def serve(name: str, settings: ServiceSettings, app_factory: str | Callable[[], Any]) -> None:
    """Serve the app built by `app_factory` (an import string "module:function" for reload)."""
    problem = listen_problem(settings)
    if problem is not None:
        sys.stderr.write(f"skreg: {problem}\n")
        raise SystemExit(2)
    configure_logging(settings.log_level, settings.log_json)
    reload = settings.is_dev and settings.reload
    limits = _limits(settings)
    try:
        http, loop = pick_http_impl(settings.http_impl), pick_event_loop(settings.event_loop)
    except StackUnavailable as exc:
        sys.stderr.write(f"skreg: {exc}\n")
        raise SystemExit(2) from exc
    structlog.get_logger(name).info(
        "service.starting",
        service=name,
        url=f"http://{settings.host}:{settings.port}",
        queue="redis" if settings.redis_url else "in-process",
        reload=reload,
        max_connections=limits.max_connections,
        http=http,
        loop=loop,
    )
    config = GuardedConfig(
        app_factory,
        limits=limits,
        http_impl=settings.http_impl,
        event_loop=settings.event_loop,
        factory=True,
        host=settings.host,
        port=settings.port,
        reload=reload and isinstance(app_factory, str),
        log_config=None,
        access_log=False,
        # Forwarded headers are resolved by the app itself, from TRUSTED_PROXIES
        # (skreg_common.forwarded), the same way in every service and in tests.
        proxy_headers=False,
        timeout_graceful_shutdown=20,
    )
    _run(config)


def _run(config: uvicorn.Config) -> None:
    """What `uvicorn.run` does with a ready Config: serve, or supervise reloads."""
    server = uvicorn.Server(config=config)
    try:
        if config.should_reload:
            ChangeReload(config, target=server.run, sockets=[config.bind_socket()]).run()
        else:
            config.load_app()
            server.run()
    except KeyboardInterrupt:
        pass
    if not server.started and not config.should_reload:
        raise SystemExit(3)
