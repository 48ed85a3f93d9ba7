"""Run a service process: settings once from the environment, logging, then uvicorn.

Every `python -m skreg_<service>` goes through `serve`, so host/port, logging and
the dev profile's auto-reload (`RELOAD=true`) behave the same everywhere.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import structlog
import uvicorn

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


def serve(name: str, settings: ServiceSettings, app_factory: str | Callable[[], Any]) -> None:
    """Serve the app built by `app_factory` (an import string "module:function" for reload)."""
    configure_logging(settings.log_level, settings.log_json)
    reload = settings.is_dev and os.environ.get("RELOAD", "").lower() in ("1", "true", "yes")
    structlog.get_logger(name).info(
        "service.starting",
        service=name,
        url=f"http://{settings.host}:{settings.port}",
        queue="redis" if settings.redis_url else "in-process",
        reload=reload,
    )
    uvicorn.run(
        app_factory,
        factory=True,
        host=settings.host,
        port=settings.port,
        reload=reload and isinstance(app_factory, str),
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        timeout_graceful_shutdown=20,
    )
