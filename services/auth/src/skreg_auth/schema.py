"""Every auth model, imported so the metadata is complete, and the service's migration spec."""

from skreg_common.migrations import MigrationSpec

from skreg_auth.apikeys import models as apikeys_models
from skreg_auth.audit import models as audit_models
from skreg_auth.database import Base
from skreg_auth.orgs import models as orgs_models
from skreg_auth.sessions import models as sessions_models
from skreg_auth.sso import models as sso_models
from skreg_auth.trusted import models as trusted_models
from skreg_auth.users import models as users_models

MIGRATIONS = MigrationSpec(
    service="auth", script_location="skreg_auth:migrations", metadata=Base.metadata
)

__all__ = [
    "MIGRATIONS",
    "apikeys_models",
    "audit_models",
    "orgs_models",
    "sessions_models",
    "sso_models",
    "trusted_models",
    "users_models",
]
