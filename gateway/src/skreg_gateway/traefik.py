"""Generate Traefik's dynamic configuration from the route table.

`python -m skreg_gateway.traefik` writes `deploy/traefik/dynamic/routes.yml`; a test
fails when the committed file differs from what the table generates. Values that
differ per deployment (upstream URLs, certificate paths, rate-limit depth) are Traefik
file-provider templates reading the environment, with production defaults.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from skreg_gateway.route_table import (
    INTERNAL_PATTERN,
    METRICS_PATTERN,
    ROUTE_TABLE,
    PublicRoute,
    RateClass,
)

# Per client IP. Auth is per minute (credential guessing); the rest per second.
RATE_LIMITS: dict[RateClass, dict[str, Any]] = {
    "read": {"average": 100, "burst": 200, "period": "1s"},
    "download": {"average": 50, "burst": 100, "period": "1s"},
    "write": {"average": 10, "burst": 30, "period": "1s"},
    "auth": {"average": 20, "burst": 10, "period": "1m"},
}
# Requests in flight per client IP (slow uploads included): one address cannot hold
# more of the services' connections than this.
MAX_IN_FLIGHT_PER_IP = 100
# Paths Traefik never routes (403): service-to-service calls, and per-process metrics.
DENIED_PATTERNS = {"internal-deny": INTERNAL_PATTERN, "metrics-deny": METRICS_PATTERN}
# Above the 10 MiB compressed-bundle limit so the app, not Traefik, explains bundle limits;
# anything past this never reaches a service.
MAX_REQUEST_BODY_BYTES = 12 * 1024 * 1024
UPSTREAM_DEFAULTS = {
    "auth": "http://auth:8000",
    "catalog": "http://catalog:8000",
    "importer": "http://importer:8000",
    "gateway": "http://gateway:8000",
}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
ROUTES_FILE = Path("deploy/traefik/dynamic/routes.yml")
INTEGER_TEMPLATES = {"RATE_LIMIT_IP_DEPTH": "0"}


def _env(name: str, default: str) -> str:
    return '{{ env "%s" | default "%s" }}' % (name, default)  # noqa: UP031 - Go template text


def _rule(route: PublicRoute) -> str:
    rule = f"PathRegexp(`^{route.pattern}$`)"
    if route.methods:
        methods = " || ".join(f"Method(`{m}`)" for m in route.methods)
        rule = f"{rule} && ({methods})"
    return rule


def _router(route: PublicRoute, priority: int) -> dict[str, Any]:
    middlewares = [
        "inflight-per-ip",
        f"ratelimit-{route.rate_class}",
        "body-limit",
        "security-headers",
    ]
    return {
        "rule": _rule(route),
        "entryPoints": ["websecure"],
        "service": route.service,
        "priority": priority,
        "middlewares": middlewares,
        "tls": {},
    }


def _per_client_ip() -> dict[str, Any]:
    return {"ipStrategy": {"depth": _env("RATE_LIMIT_IP_DEPTH", "0")}}


def _rate_limit(rate_class: RateClass) -> dict[str, Any]:
    return {"rateLimit": {**RATE_LIMITS[rate_class], "sourceCriterion": _per_client_ip()}}


def dynamic_config() -> dict[str, Any]:
    """The whole dynamic configuration as a mapping (routers, services, middlewares, TLS)."""
    top = len(ROUTE_TABLE) + 10
    routers = {r.name: _router(r, top - i) for i, r in enumerate(ROUTE_TABLE)}
    # Internal and metrics paths: routers that match first and let nobody through.
    for name, pattern in DENIED_PATTERNS.items():
        routers[name] = {
            "rule": f"PathRegexp(`^{pattern}$`)",
            "entryPoints": ["websecure"],
            "service": "gateway",
            "priority": top + 1,
            "middlewares": ["deny-all"],
            "tls": {},
        }
    services = {
        name: {
            "loadBalancer": {
                "servers": [{"url": _env(f"{name.upper()}_UPSTREAM", url)}],
                # /ready, not /health: a replica that cannot reach PostgreSQL leaves the
                # rotation while the others keep serving (replicas: compose). Redis down
                # is "degraded" and stays: every replica shares that one Redis.
                "healthCheck": {"path": "/ready", "interval": "2s", "timeout": "2s"},
                "passHostHeader": True,
            }
        }
        for name, url in UPSTREAM_DEFAULTS.items()
    }
    middlewares: dict[str, Any] = {f"ratelimit-{c}": _rate_limit(c) for c in RATE_LIMITS}
    middlewares["inflight-per-ip"] = {
        "inFlightReq": {"amount": MAX_IN_FLIGHT_PER_IP, "sourceCriterion": _per_client_ip()}
    }
    middlewares["body-limit"] = {"buffering": {"maxRequestBodyBytes": MAX_REQUEST_BODY_BYTES}}
    middlewares["deny-all"] = {"ipAllowList": {"sourceRange": ["255.255.255.255/32"]}}
    middlewares["security-headers"] = {
        "headers": {
            "stsSeconds": 31536000,
            "stsIncludeSubdomains": True,
            "contentTypeNosniff": True,
            "frameDeny": True,
            "referrerPolicy": "strict-origin-when-cross-origin",
            "contentSecurityPolicy": CONTENT_SECURITY_POLICY,
            "permissionsPolicy": "camera=(), microphone=(), geolocation=()",
        }
    }
    tls = {
        "options": {
            "default": {
                "minVersion": "VersionTLS12",
                "sniStrict": False,
                "cipherSuites": [
                    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
                    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
                    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
                    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
                ],
            }
        },
        "certificates": [
            {
                "certFile": _env("TLS_CERT_FILE", "/certs/tls.crt"),
                "keyFile": _env("TLS_KEY_FILE", "/certs/tls.key"),
            }
        ],
        "stores": {
            "default": {
                "defaultCertificate": {
                    "certFile": _env("TLS_CERT_FILE", "/certs/tls.crt"),
                    "keyFile": _env("TLS_KEY_FILE", "/certs/tls.key"),
                }
            }
        },
    }
    return {
        "http": {"routers": routers, "services": services, "middlewares": middlewares},
        "tls": tls,
    }


def render() -> str:
    """The dynamic configuration file's text."""
    header = (
        "# GENERATED from skreg_gateway.route_table by `python -m skreg_gateway.traefik`.\n"
        "# Do not edit by hand; a test fails when this file and the table disagree.\n"
    )
    text = yaml.safe_dump(dynamic_config(), sort_keys=True, width=200)
    # Integers must not stay quoted once Traefik renders the template.
    for name, default in INTEGER_TEMPLATES.items():
        quoted = "'" + _env(name, default) + "'"
        text = text.replace(quoted, _env(name, default))
    return header + text


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROUTES_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render())
    sys.stdout.write(f"wrote {target}\n")
