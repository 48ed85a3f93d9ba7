"""`python -m skreg_gateway`: run the all-in-one registry (embedded default: SQLite, no Redis)."""

from __future__ import annotations

import sys

import structlog
import uvicorn
from skreg_common.logging import configure_logging
from skreg_common.settings import SettingsError, load_settings

from skreg_gateway.app import create_app
from skreg_gateway.settings import GatewaySettings


def main() -> None:
    """Read settings once, build the app, serve it."""
    try:
        settings = load_settings(GatewaySettings)
    except SettingsError as exc:
        sys.stderr.write(f"skreg: {exc}\n")
        raise SystemExit(2) from exc
    configure_logging(settings.log_level, settings.log_json)
    app = create_app(settings)
    structlog.get_logger("skreg_gateway").info(
        "gateway.starting",
        url=f"http://{settings.host}:{settings.port}",
        database=settings.database_url.split("@")[-1],
        queue="redis" if settings.redis_url else "in-process",
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
