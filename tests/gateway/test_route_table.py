"""The all-in-one app and the route table agree on who serves every path.

Each component (auth, catalog, importer, the UI) is built alone to learn which
routes it contributes; then every route of the all-in-one app, with its path
parameters filled in, must be owned by that component according to
`skreg_gateway.route_table` — the table Traefik's config is generated from. So a
route added to a service but missing from the table (and thus sent to the wrong
process behind Traefik) fails here.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import pytest
from litestar import Litestar
from litestar.routes import ASGIRoute, HTTPRoute
from skreg_auth.component import component as auth_component
from skreg_auth.settings import AuthSettings
from skreg_catalog.component import component as catalog_component
from skreg_catalog.settings import CatalogSettings
from skreg_common.app import ServiceComponent, build_app
from skreg_common.runtime import Runtime
from skreg_gateway.app import create_app
from skreg_gateway.route_table import (
    INTERNAL_PATTERN,
    PER_PROCESS_PATHS,
    ROUTE_TABLE,
    Service,
    owner_of,
    route_for,
)
from skreg_gateway.settings import GatewaySettings
from skreg_gateway.ui.component import ui_component
from skreg_importer.component import component as importer_component
from skreg_importer.settings import ImporterSettings

Route = tuple[str, str]  # (method, path template as Litestar spells it)

STATIC_PREFIX = "/static/"
_PARAMETER = re.compile(r"\{(\w+):(\w+)\}")
# A realistic value per parameter type; a multi-segment one for `path` parameters.
_DUMMIES = {"str": "dummy-1", "int": "7", "uuid": "0" * 8 + "-0000-4000-8000-" + "0" * 12}
_DUMMY_PATH = "dir/sub/file.md"


def concrete(template: str) -> str:
    """`/api/v1/skills/{namespace:str}/…/{path:path}` with a dummy for each parameter."""

    def fill(match: re.Match[str]) -> str:
        kind = match.group(2)
        return _DUMMY_PATH if kind == "path" else _DUMMIES.get(kind, "dummy-1")

    return _PARAMETER.sub(fill, template)


def http_routes(app: Litestar) -> set[Route]:
    """Every (method, path) the app serves."""
    routes = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for method in route.methods
    }
    # A mounted ASGI app (the MCP endpoint) takes every method; MCP clients POST.
    routes.update(("POST", route.path) for route in app.routes if isinstance(route, ASGIRoute))
    return routes


def is_per_process(path: str) -> bool:
    """Health, readiness, metrics and the OpenAPI document (with its sub-pages)."""
    return any(path == p or path.startswith(p + "/") for p in PER_PROCESS_PATHS)


def is_internal(path: str) -> bool:
    return path == "/internal" or path.startswith("/internal/")


def is_static(path: str) -> bool:
    return path.startswith(STATIC_PREFIX)


ComponentFactory = Callable[[str], ServiceComponent]

COMPONENTS: dict[Service, ComponentFactory] = {
    "auth": lambda url: auth_component(AuthSettings(database_url=url)),
    "catalog": lambda url: catalog_component(CatalogSettings(database_url=url)),
    "importer": lambda url: importer_component(ImporterSettings(database_url=url)),
    "gateway": lambda url: ui_component(GatewaySettings(database_url=url)),
}


@pytest.fixture
async def contributed(database_url: str) -> AsyncIterator[dict[Route, set[Service]]]:
    """Which component(s) serve each route, learned by building each one alone."""
    owners: dict[Route, set[Service]] = {}
    runtimes: list[Runtime] = []
    try:
        for service, factory in COMPONENTS.items():
            runtime = Runtime.open(GatewaySettings(database_url=database_url))
            runtimes.append(runtime)
            app = build_app(f"only {service}", runtime, [factory(database_url)])
            for route in http_routes(app):
                owners.setdefault(route, set()).add(service)
        yield owners
    finally:
        for runtime in runtimes:
            await runtime.close()


@pytest.fixture
async def all_in_one(database_url: str) -> AsyncIterator[Litestar]:
    app = create_app(GatewaySettings(database_url=database_url))
    yield app
    await app.state.runtime.close()


def public_routes(app: Litestar) -> list[Route]:
    return sorted(
        (method, path)
        for method, path in http_routes(app)
        if not (is_per_process(path) or is_internal(path) or is_static(path))
    )


def test_dummy_values_fill_every_parameter() -> None:
    template = "/api/v1/skills/{namespace:str}/{name:str}/versions/{version:str}/files/{path:path}"
    assert concrete(template) == (
        "/api/v1/skills/dummy-1/dummy-1/versions/dummy-1/files/dir/sub/file.md"
    )


async def test_every_public_route_is_owned_by_the_component_that_serves_it(
    all_in_one: Litestar, contributed: dict[Route, set[Service]]
) -> None:
    routes = public_routes(all_in_one)
    assert len(routes) > 40  # the walk really saw the whole app
    disagreements = []
    for method, template in routes:
        components = contributed.get((method, template), set())
        assert len(components) == 1, f"{method} {template} comes from {components or 'nobody'}"
        (component,) = components
        path = concrete(template)
        owner = owner_of(method, path)
        if owner != component:
            route = route_for(method, path).name
            disagreements.append(
                f"{method} {path}: served by {component}, table: {owner} ({route})"
            )
    assert disagreements == []


async def test_internal_paths_are_owned_by_nobody_public(
    all_in_one: Litestar, contributed: dict[Route, set[Service]]
) -> None:
    internal = sorted(route for route in http_routes(all_in_one) if is_internal(route[1]))
    # auth's service-token endpoint, the catalog's publish and deprecate for the importer.
    assert {path for _, path in internal} >= {
        "/internal/v1/auth/service-token",
        "/internal/v1/catalog/publish",
        "/internal/v1/catalog/deprecate",
    }
    for method, template in internal:
        path = concrete(template)
        assert re.fullmatch(INTERNAL_PATTERN, path), path
        assert contributed.get((method, template)), f"{method} {template} has no component"
    # Nothing in the public table claims /internal specifically (only the catch-all would).
    specific = [r for r in ROUTE_TABLE if r.service != "gateway"]
    for method, template in internal:
        assert not [r.name for r in specific if r.matches(method, concrete(template))], template


async def test_every_table_entry_routes_something(all_in_one: Litestar) -> None:
    """No stale rows: each entry of the table takes at least one route the app serves."""
    used = {route_for(method, concrete(path)).name for method, path in public_routes(all_in_one)}
    assert {route.name for route in ROUTE_TABLE} - used == set()


async def test_per_process_paths_are_served_by_every_component_alone(
    contributed: dict[Route, set[Service]],
) -> None:
    for path in PER_PROCESS_PATHS:
        assert contributed.get(("GET", path)) == set(COMPONENTS), path
