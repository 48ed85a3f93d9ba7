"""`python -m skreg_catalog`: run the catalog service alone (settings from the environment).

Credentials are verified like in every service that is not auth: access JWTs
against auth's JWKS, API keys through auth's introspection (`AUTH_URL`).
"""

from __future__ import annotations

from litestar import Litestar
from skreg_common.serve import load_or_exit, serve

from skreg_catalog.app import create_app
from skreg_catalog.settings import CatalogSettings


def app_from_environment() -> Litestar:
    """The app factory uvicorn calls (also on reload): settings read from the environment."""
    return create_app(load_or_exit(CatalogSettings))


def main() -> None:
    """Read settings once, then serve on HOST:PORT."""
    settings = load_or_exit(CatalogSettings)
    serve("catalog", settings, "skreg_catalog.__main__:app_from_environment")


if __name__ == "__main__":
    main()
