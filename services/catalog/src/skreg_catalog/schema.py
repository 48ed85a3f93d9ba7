"""Every catalog model, imported so the metadata is complete, and the service's migration spec."""

from skreg_common.migrations import MigrationSpec

from skreg_catalog.blobs import models as blob_models
from skreg_catalog.database import Base
from skreg_catalog.downloads import models as download_models
from skreg_catalog.rendering import models as rendering_models
from skreg_catalog.review import models as review_models
from skreg_catalog.search import models as search_models
from skreg_catalog.semantic import models as semantic_models
from skreg_catalog.signing import models as signing_models
from skreg_catalog.skills import models as skill_models

MODEL_MODULES = (
    blob_models,
    download_models,
    rendering_models,
    review_models,
    search_models,
    signing_models,
    semantic_models,
    skill_models,
)

MIGRATIONS = MigrationSpec(
    service="catalog", script_location="skreg_catalog:migrations", metadata=Base.metadata
)
