"""The catalog as a standalone app (the all-in-one gateway mounts `component` instead)."""

from __future__ import annotations

from litestar import Litestar
from skreg_common.app import build_app
from skreg_common.migrations import with_migrations
from skreg_common.principal import PrincipalResolver
from skreg_common.runtime import Runtime
from skreg_common.verifier import remote_auth_component

from skreg_catalog.component import component
from skreg_catalog.schema import MIGRATIONS
from skreg_catalog.settings import CatalogSettings


def create_app(
    settings: CatalogSettings,
    *,
    runtime: Runtime | None = None,
    resolver: PrincipalResolver | None = None,
) -> Litestar:
    """The catalog alone: its routes, credential verification through auth, and health.

    `resolver` replaces the remote verifier (benchmarks and tests with fixed identities).
    """
    runtime = runtime or Runtime.open(settings)
    parts = [component(settings)]
    if resolver is None:
        parts.insert(0, remote_auth_component(settings, "catalog"))
    parts = with_migrations(settings, [MIGRATIONS], parts)
    return build_app("Skills Registry — catalog", runtime, parts, resolver=resolver)
