"""Every auth model, imported so the metadata is complete, and the service's migration spec."""

from skreg_common.migrations import MigrationSpec

from skreg_auth.database import Base

MIGRATIONS = MigrationSpec(
    service="auth", script_location="skreg_auth:migrations", metadata=Base.metadata
)
