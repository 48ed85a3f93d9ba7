"""`python -m skreg_gateway`: the whole registry in one process (SQLite, no Redis by default)."""

from __future__ import annotations

import sys

from litestar import Litestar
from skreg_auth.settings import DEV_ADMIN_PASSWORD, AuthSettings
from skreg_common.serve import load_or_exit, serve

from skreg_gateway.app import create_app
from skreg_gateway.settings import GatewaySettings, load_gateway_settings


def app_from_environment() -> Litestar:
    """The app factory uvicorn calls (also on reload): settings read from the environment."""
    return create_app(load_or_exit(GatewaySettings))


def _banner(settings: GatewaySettings, auth: AuthSettings) -> str:
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
    # Echo the password only when it is the well-known dev default; never a real secret.
    password = (
        auth.admin_password
        if auth.admin_password == DEV_ADMIN_PASSWORD
        else "(from ADMIN_PASSWORD)"
    )
    return (
        f"\n  Skills Registry  ->  http://{host}:{settings.port}\n"
        f"  admin login      ->  {auth.admin_username} / {password}\n"
        f"  database         ->  {settings.database_url.split('@')[-1]}\n"
        f"  queue            ->  {'redis' if settings.redis_url else 'in-process'}\n\n"
    )


def main() -> None:
    """Read settings once, say where the registry is and how to sign in, then serve."""
    settings = load_gateway_settings()  # first: it fills in the local dev secrets
    auth = load_or_exit(AuthSettings)
    sys.stdout.write(_banner(settings, auth))
    sys.stdout.flush()
    serve("gateway", settings, "skreg_gateway.__main__:app_from_environment")


if __name__ == "__main__":
    main()
