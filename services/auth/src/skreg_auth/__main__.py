"""`python -m skreg_auth`: run the auth service alone (host, port and the rest from the env)."""

from __future__ import annotations

from litestar import Litestar
from skreg_common.app import build_app
from skreg_common.migrations import with_migrations
from skreg_common.runtime import Runtime
from skreg_common.serve import load_or_exit, serve

from skreg_auth.component import component
from skreg_auth.schema import MIGRATIONS
from skreg_auth.settings import AuthSettings


def app_from_environment() -> Litestar:
    """The app factory uvicorn calls (also on reload): settings read from the environment."""
    settings = load_or_exit(AuthSettings)
    parts = with_migrations(settings, [MIGRATIONS], [component(settings)])
    return build_app("Skills Registry — auth", Runtime.open(settings), parts)


def main() -> None:
    """Read settings once, then serve on HOST:PORT."""
    serve("auth", load_or_exit(AuthSettings), "skreg_auth.__main__:app_from_environment")


if __name__ == "__main__":
    main()
