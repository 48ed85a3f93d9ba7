"""`python -m skreg_auth`: run the auth service alone (host, port and the rest from the env)."""

from __future__ import annotations

import sys

import structlog
import uvicorn
from skreg_common.app import ServiceComponent, build_app
from skreg_common.logging import configure_logging
from skreg_common.migrations import upgrade
from skreg_common.runtime import Runtime
from skreg_common.settings import SettingsError, load_settings

from skreg_auth.component import component
from skreg_auth.schema import MIGRATIONS
from skreg_auth.settings import AuthSettings


def main() -> None:
    """Read settings once, build the app, serve it."""
    try:
        settings = load_settings(AuthSettings)
    except SettingsError as exc:
        sys.stderr.write(f"skreg-auth: {exc}\n")
        raise SystemExit(2) from exc
    configure_logging(settings.log_level, settings.log_json)
    runtime = Runtime.open(settings)
    parts = [component(settings)]
    if settings.should_migrate:

        async def migrate(rt: Runtime) -> None:
            await upgrade(rt.engine, [MIGRATIONS])

        parts.insert(
            0, ServiceComponent(name="migrations", route_handlers=[], on_startup=[migrate])
        )
    app = build_app("Skills Registry — auth", runtime, parts)
    structlog.get_logger("skreg_auth").info(
        "auth.starting", url=f"http://{settings.host}:{settings.port}"
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
