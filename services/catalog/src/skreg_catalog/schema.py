"""Every catalog model, imported so the metadata is complete, and the service's migration spec."""

from skreg_common.migrations import MigrationSpec

from skreg_catalog.database import Base

MIGRATIONS = MigrationSpec(
    service="catalog", script_location="skreg_catalog:migrations", metadata=Base.metadata
)
