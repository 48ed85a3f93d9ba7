"""`python -m skreg_importer`: the importer API alone (HOST/PORT from the environment).

With REDIS_URL the jobs run in `python -m skreg_importer.worker` processes; without
it they run in this process. Callers are identified through auth (JWKS + introspection).
"""

from __future__ import annotations

from litestar import Litestar
from skreg_common.app import build_app
from skreg_common.migrations import with_migrations
from skreg_common.runtime import Runtime
from skreg_common.serve import load_or_exit, serve
from skreg_common.verifier import remote_auth_component

from skreg_importer.component import component
from skreg_importer.schema import MIGRATIONS
from skreg_importer.settings import ImporterSettings


def create_app() -> Litestar:
    """The standalone importer app (settings from the environment)."""
    settings = load_or_exit(ImporterSettings)
    parts = with_migrations(
        settings, [MIGRATIONS], [remote_auth_component(settings, "importer"), component(settings)]
    )
    return build_app("Skills Registry importer", Runtime.open(settings), parts)


def main() -> None:
    """Serve `create_app()` on HOST:PORT."""
    serve("importer", load_or_exit(ImporterSettings), "skreg_importer.__main__:create_app")


if __name__ == "__main__":
    main()
