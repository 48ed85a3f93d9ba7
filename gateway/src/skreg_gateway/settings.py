"""Gateway settings: what the all-in-one process needs on top of the common ones."""

from __future__ import annotations

from skreg_common.settings import ServiceSettings


class GatewaySettings(ServiceSettings, frozen=True, kw_only=True):
    """`AUTO_MIGRATE`: upgrade the database at start-up (default: on for SQLite, off otherwise)."""

    auto_migrate: bool | None = None

    @property
    def should_migrate(self) -> bool:
        """Embedded SQLite migrates itself; production migrates as an explicit step."""
        if self.auto_migrate is not None:
            return self.auto_migrate
        return self.database_url.startswith("sqlite")
