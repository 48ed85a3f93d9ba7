"""Every importer model, imported so the metadata is complete, and the service's migration spec."""

from skreg_common.migrations import MigrationSpec

from skreg_importer.database import Base
from skreg_importer.runs import models as run_models
from skreg_importer.sources import models as source_models
from skreg_importer.webhooks import models as webhook_models

__all__ = ["MIGRATIONS", "run_models", "source_models", "webhook_models"]

MIGRATIONS = MigrationSpec(
    service="importer", script_location="skreg_importer:migrations", metadata=Base.metadata
)
