"""Gateway settings: what the all-in-one process needs on top of the common ones."""

from __future__ import annotations

import os
from typing import Literal

from skreg_common.serve import load_or_exit
from skreg_common.settings import ServiceSettings

from skreg_gateway.localsecrets import ensure_local_secrets, ensure_local_signing_key


class GatewaySettings(ServiceSettings, frozen=True, kw_only=True):
    """`AUTO_MIGRATE`: upgrade the database at start-up (default: on for SQLite, off otherwise).

    The `UI_*` fields configure the web UI: `IMPORTER_URL` is where the UI reaches the importer
    API in a split deployment (auth and catalog use `AUTH_URL` / `CATALOG_URL`);
    `UI_SESSION_DAYS` is how long a browser session lasts at most.
    `GATEWAY_MODE`: `all-in-one` mounts every service in this process (the embedded
    default); `ui` serves only the web UI, calling the services at their URLs (split
    deployment behind Traefik).
    """

    gateway_mode: Literal["all-in-one", "ui"] = "all-in-one"
    importer_url: str = "http://127.0.0.1:8000"
    ui_session_days: int = 14

    @property
    def should_migrate(self) -> bool:
        """The UI owns no tables; the all-in-one process migrates like any service."""
        return self.gateway_mode == "all-in-one" and super().should_migrate


def load_gateway_settings() -> GatewaySettings:
    """The all-in-one process's settings, its local secrets filled in first (`make run`).

    The one place the gateway hands the environment over: unset dev secrets are written
    into it from the local secrets file (skreg_gateway.localsecrets), so every service's
    settings read afterwards, and uvicorn's app factory (also after a reload), see them.
    """
    ensure_local_secrets(os.environ)
    ensure_local_signing_key(os.environ)
    return load_or_exit(GatewaySettings)
