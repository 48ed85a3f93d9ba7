"""Every importer model, imported so the metadata is complete, and the service's migration spec."""

from skreg_common.migrations import MigrationSpec

from skreg_importer.database import Base

MIGRATIONS = MigrationSpec(
    service="importer", script_location="skreg_importer:migrations", metadata=Base.metadata
)
