"""Compose profiles validate with the real Compose v2 binary; the Dockerfile passes hadolint."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from skreg_auth.settings import AuthSettings
from skreg_common.settings import (
    DEV_SECRET_KEY,
    DEV_SERVICE_SECRET,
    ServiceSettings,
    load_settings,
)
from skreg_gateway.devcert import write_self_signed

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "deploy/compose/compose.yml"
PROD_ENV = {
    "POSTGRES_PASSWORD": "p" * 20,
    "SECRET_KEY": "s" * 40,
    "SERVICE_SECRET": "t" * 40,
    "ADMIN_PASSWORD": "a-strong-admin-password",
    "TLS_CERT_DIR": "/etc/skills-registry/certs",
}
APPS = ("catalog", "auth", "importer", "worker", "gateway")


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} must be installed (uv sync installs it)"
    return path


def _compose(profile: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in PROD_ENV}
    return subprocess.run(
        [_tool("docker-compose"), "-f", str(COMPOSE), "--profile", profile, "config", *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("profile", ["prod", "dev"])
def test_compose_profile_is_valid(profile: str) -> None:
    result = _compose(profile, PROD_ENV, "-q")
    assert result.returncode == 0, result.stderr


def test_dev_env_file_is_enough_for_the_dev_profile() -> None:
    result = subprocess.run(
        [
            _tool("docker-compose"),
            "-f",
            str(COMPOSE),
            "--env-file",
            str(REPO / "deploy/compose/dev.env"),
            "--profile",
            "dev",
            "config",
            "-q",
        ],
        env={k: v for k, v in os.environ.items() if k not in PROD_ENV},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_prod_refuses_to_render_without_secrets() -> None:
    result = _compose("prod", {}, "-q")
    assert result.returncode != 0
    for name in ("SECRET_KEY", "POSTGRES_PASSWORD", "SERVICE_SECRET", "ADMIN_PASSWORD"):
        assert name in result.stderr


@pytest.fixture(scope="module")
def prod() -> dict[str, Any]:
    result = _compose("prod", PROD_ENV)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


def test_only_traefik_publishes_ports_in_prod(prod: dict[str, Any]) -> None:
    published = {name for name, svc in prod.items() if svc.get("ports")}
    assert published == {"traefik"}


def test_apps_wait_for_healthy_state_and_migrations(prod: dict[str, Any]) -> None:
    for name in APPS:
        svc = prod[name]
        assert svc["restart"] == "unless-stopped"
        assert svc["healthcheck"]["test"]
        assert svc["environment"]["SERVICE"] == name
        deps = svc["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["redis"]["condition"] == "service_healthy"
        assert deps["migrate"]["condition"] == "service_completed_successfully"
    assert prod["worker"]["deploy"]["replicas"] >= 2
    assert "pg_isready" in " ".join(prod["postgres"]["healthcheck"]["test"])
    assert "--appendonly" in prod["redis"]["command"]
    assert prod["migrate"]["environment"]["SERVICE"] == "migrate"


def test_prod_passes_the_identity_provider_settings_to_auth(prod: dict[str, Any]) -> None:
    """Unset, SSO is off and auth starts; set, auth's settings accept what compose renders."""
    default = {k: str(v) for k, v in prod["auth"]["environment"].items()}
    assert default["SSO_ISSUER"] == ""
    assert not load_settings(AuthSettings, default).sso_enabled
    idp = {
        "SSO_ISSUER": "https://login.example.com/realms/acme",
        "SSO_CLIENT_ID": "skills-registry",
        "SSO_CLIENT_SECRET": "a-client-secret-from-the-provider",
        "SSO_GROUP_MAPPING": "skill-authors=acme:publisher, platform=acme:owner",
        "SSO_PASSWORD_LOGIN": "false",
    }
    result = _compose("prod", {**PROD_ENV, **idp}, "--format", "json")
    assert result.returncode == 0, result.stderr
    auth_env = {
        k: str(v)
        for k, v in yaml.safe_load(result.stdout)["services"]["auth"]["environment"].items()
    }
    assert {k: auth_env[k] for k in idp} == idp
    settings = load_settings(AuthSettings, auth_env)
    assert settings.sso_enabled
    assert not settings.registration_is_open
    assert "https://gitlab.com" in settings.trusted_issuers
    assert "SSO_ISSUER" not in prod["gateway"]["environment"]  # only auth talks to the IdP


def test_prod_requires_sign_in_in_every_service_when_asked() -> None:
    """REQUIRE_SIGN_IN is off unless set, and then every service (and the UI) reads it."""
    for value, expected in (({}, False), ({"REQUIRE_SIGN_IN": "true"}, True)):
        result = _compose("prod", {**PROD_ENV, **value}, "--format", "json")
        assert result.returncode == 0, result.stderr
        services = yaml.safe_load(result.stdout)["services"]
        for name in APPS:  # the setting every service reads (skreg_common.signin)
            env = {k: str(v) for k, v in services[name]["environment"].items()}
            assert load_settings(ServiceSettings, env).require_sign_in is expected, name


def test_prod_backs_up_on_a_schedule_into_a_volume(prod: dict[str, Any]) -> None:
    backup = prod["backup"]
    assert backup["environment"]["SERVICE"] == "backup"
    assert int(backup["environment"]["BACKUP_INTERVAL"]) > 0
    assert int(backup["environment"]["BACKUP_KEEP"]) >= 1
    mounts = {v["target"]: v for v in backup["volumes"]}
    assert mounts[backup["environment"]["BACKUP_DIR"]]["type"] == "volume"
    assert backup["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert backup["read_only"] is True


def test_prod_runs_replicas_within_postgresql_connections(prod: dict[str, Any]) -> None:
    # Every HTTP service runs several processes; their pools at their peak (pool plus
    # as much overflow, skreg_common.db) must fit under max_connections with room to spare.
    assert int(prod["catalog"]["deploy"]["replicas"]) >= 2
    assert int(prod["auth"]["deploy"]["replicas"]) >= 2
    peak = 0
    for name in APPS:
        env = prod[name]["environment"]
        processes = int(prod[name].get("deploy", {}).get("replicas", 1))
        if name != "worker":
            processes *= int(env["WEB_CONCURRENCY"])
        assert env["REDIS_URL"]  # several processes share state only through Redis
        peak += processes * 2 * int(env["DB_POOL_SIZE"])
    command = prod["postgres"]["command"]
    limit = int(next(arg for arg in command if arg.startswith("max_connections=")).split("=")[1])
    assert peak + 10 < limit, (peak, limit)  # 10: migrate, backup and an operator's psql


def test_services_trust_exactly_the_compose_network_as_their_proxies() -> None:
    result = _compose("prod", PROD_ENV)
    assert result.returncode == 0, result.stderr
    rendered = yaml.safe_load(result.stdout)
    subnet = rendered["networks"]["default"]["ipam"]["config"][0]["subnet"]
    for name in APPS:
        assert rendered["services"][name]["environment"]["TRUSTED_PROXIES"] == subnet


def test_dev_env_secrets_are_not_the_built_in_defaults() -> None:
    # The dev containers listen on 0.0.0.0, where a process refuses the built-in dev secrets.
    values = dict(
        line.split("=", 1)
        for line in (REPO / "deploy/compose/dev.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    assert values["SECRET_KEY"] not in ("", DEV_SECRET_KEY)
    assert values["SERVICE_SECRET"] not in ("", DEV_SERVICE_SECRET)


def test_the_dev_profile_publishes_its_ports_on_loopback_only() -> None:
    # dev.env's secrets and admin password are in the repository: a dev stack reachable
    # from the network would let anyone sign tokens for it (issue 14, item 5).
    dev_env = dict(
        line.split("=", 1)
        for line in (REPO / "deploy/compose/dev.env").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    result = _compose("dev", dev_env)
    assert result.returncode == 0, result.stderr
    published = [
        port
        for service in yaml.safe_load(result.stdout)["services"].values()
        for port in service.get("ports", [])
    ]
    assert published
    assert all(port.get("host_ip") == "127.0.0.1" for port in published), published


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run(
        [_tool("hadolint"), str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_bake_builds_both_architectures() -> None:
    bake = (REPO / "docker-bake.hcl").read_text()
    assert '"linux/amd64"' in bake
    assert '"linux/arm64"' in bake


def test_devcert_is_written_once(tmp_path: Path) -> None:
    assert write_self_signed(tmp_path) is True
    first = (tmp_path / "tls.crt").read_bytes()
    assert write_self_signed(tmp_path) is False
    assert (tmp_path / "tls.crt").read_bytes() == first
    assert oct((tmp_path / "tls.key").stat().st_mode & 0o777) == "0o600"
