"""The one route table: for every public path, which service owns it and its rate-limit class.

The all-in-one app is checked against it (tests/gateway) and the Traefik dynamic
configuration is generated from it (`python -m skreg_gateway.traefik`), so the
two deployments can never disagree about who serves what.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Service = Literal["auth", "catalog", "importer", "gateway"]
RateClass = Literal["read", "write", "auth", "download"]

READ_METHODS = ("GET", "HEAD", "OPTIONS")
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

_SEGMENT = "[^/]+"


@dataclass(frozen=True)
class PublicRoute:
    """Requests whose path matches `pattern` (and method, when given) go to `service`."""

    name: str
    pattern: str  # a regular expression over the whole path
    service: Service
    rate_class: RateClass
    methods: tuple[str, ...] = ()  # empty: any method

    def matches(self, method: str, path: str) -> bool:
        """True when this route takes a request for `method` `path`."""
        if self.methods and method.upper() not in self.methods:
            return False
        return re.fullmatch(self.pattern, path) is not None


def _prefix(path: str) -> str:
    return re.escape(path) + "(?:/.*)?"


# First match wins; more specific routes come first.
ROUTE_TABLE: tuple[PublicRoute, ...] = (
    PublicRoute(
        "auth-credentials",
        r"/api/v1/auth/(?:login|register|refresh|sso/(?:begin|complete|device(?:/token)?)"
        r"|trusted-publishing/exchange)",
        "auth",
        "auth",
    ),
    PublicRoute("auth-read", _prefix("/api/v1/auth"), "auth", "read", READ_METHODS),
    PublicRoute("auth-write", _prefix("/api/v1/auth"), "auth", "write", WRITE_METHODS),
    PublicRoute(
        "catalog-download",
        rf"/api/v1/skills/{_SEGMENT}/{_SEGMENT}/versions/{_SEGMENT}/(?:download|files/.+)",
        "catalog",
        "download",
        READ_METHODS,
    ),
    PublicRoute("catalog-read", _prefix("/api/v1/skills"), "catalog", "read", READ_METHODS),
    PublicRoute("catalog-write", _prefix("/api/v1/skills"), "catalog", "write", WRITE_METHODS),
    # Trust (skreg_catalog.review): the review queue, decisions, disputes and rescans.
    PublicRoute("catalog-review", _prefix("/api/v1/review"), "catalog", "write"),
    PublicRoute("catalog-namespaces", _prefix("/api/v1/namespaces"), "catalog", "write"),
    PublicRoute("catalog-tags", _prefix("/api/v1/tags"), "catalog", "read"),
    PublicRoute("catalog-stats", _prefix("/api/v1/stats"), "catalog", "read"),
    # Agent Skills discovery (skreg_catalog.wellknown): the index, whole or per namespace,
    # at the current and the legacy well-known path, and the archives it names.
    PublicRoute(
        "catalog-wellknown-archive",
        rf"/ns/{_SEGMENT}/\.well-known/agent-skills/{_SEGMENT}/{_SEGMENT}",
        "catalog",
        "download",
    ),
    PublicRoute(
        "catalog-wellknown",
        r"(?:/ns/[^/]+)?/\.well-known/(?:agent-skills|skills)/index\.json",
        "catalog",
        "read",
    ),
    # MCP (streamable HTTP): every request is a POST, but all of them are reads.
    # The registry's signing keys (skreg_catalog.signing): every key, active and retired.
    PublicRoute(
        "catalog-signing-keys", r"/\.well-known/skills-registry/keys\.json", "catalog", "read"
    ),
    PublicRoute("catalog-mcp", _prefix("/mcp"), "catalog", "read"),
    PublicRoute("importer-webhook", rf"/api/v1/sources/{_SEGMENT}/webhook", "importer", "write"),
    PublicRoute("importer-sources", _prefix("/api/v1/sources"), "importer", "write"),
    PublicRoute("importer-imports", _prefix("/api/v1/imports"), "importer", "write"),
    # The ClawHub-compatible API (skreg_catalog.clawhub) and its discovery document.
    PublicRoute("clawhub-discovery", r"/\.well-known/clawd?hub\.json", "catalog", "read"),
    PublicRoute(
        "clawhub-download",
        rf"/clawhub/api/v1/(?:download|skills/{_SEGMENT}/file)",
        "catalog",
        "download",
        READ_METHODS,
    ),
    PublicRoute("clawhub-read", _prefix("/clawhub"), "catalog", "read", READ_METHODS),
    PublicRoute("clawhub-write", _prefix("/clawhub"), "catalog", "write", WRITE_METHODS),
    PublicRoute("gateway", r"/.*", "gateway", "read"),
)

# Service-to-service paths: never routed from outside (Traefik answers 403).
INTERNAL_PATTERN = _prefix("/internal")
# Each process's metrics: scraped inside the network, never routed from outside either.
METRICS_PATTERN = _prefix("/metrics")

# Paths every process serves for itself; not public API, owned by whichever process answers.
PER_PROCESS_PATHS = ("/health", "/ready", "/metrics", "/schema")


def route_for(method: str, path: str) -> PublicRoute:
    """The route that takes `method path` (the gateway catch-all if nothing else does)."""
    for route in ROUTE_TABLE:
        if route.matches(method, path):
            return route
    raise LookupError(path)  # unreachable: the catch-all matches everything


def owner_of(method: str, path: str) -> Service:
    """The service that serves `method path` in a split deployment."""
    return route_for(method, path).service
