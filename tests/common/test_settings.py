"""Settings come from the environment once, and prod mode refuses dev secrets."""

from __future__ import annotations

import pytest
from skreg_common.settings import (
    DEFAULT_DATABASE_URL,
    DEV_SECRET_KEY,
    ServiceSettings,
    SettingsError,
    load_settings,
)

STRONG = "x" * 40


def test_defaults_are_the_embedded_mode() -> None:
    settings = load_settings(ServiceSettings, {})
    assert settings.environment == "dev"
    assert settings.database_url == DEFAULT_DATABASE_URL == "sqlite:///./skills_registry.db"
    assert settings.sqlite_driver == "inline"
    assert settings.redis_url is None


def test_the_sqlite_driver_is_a_setting() -> None:
    assert load_settings(ServiceSettings, {"SQLITE_DRIVER": "aiosqlite"}).sqlite_driver == (
        "aiosqlite"
    )
    with pytest.raises(SettingsError, match="SQLITE_DRIVER"):
        load_settings(ServiceSettings, {"SQLITE_DRIVER": "pysqlite"})


def test_values_are_read_and_converted() -> None:
    settings = load_settings(
        ServiceSettings, {"PORT": "9001", "LOG_JSON": "true", "REDIS_URL": "redis://h:6379/0"}
    )
    assert settings.port == 9001
    assert settings.log_json is True
    assert settings.redis_url == "redis://h:6379/0"


def test_empty_variable_keeps_the_default() -> None:
    assert load_settings(ServiceSettings, {"PORT": "  "}).port == 8000


def test_bad_value_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="PORT"):
        load_settings(ServiceSettings, {"PORT": "eighty"})


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(SettingsError, match="ENVIRONMENT"):
        load_settings(ServiceSettings, {"ENVIRONMENT": "staging"})


@pytest.mark.parametrize("secret", [DEV_SECRET_KEY, "short"])
def test_prod_refuses_a_dev_secret_key(secret: str) -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings(
            ServiceSettings,
            {"ENVIRONMENT": "prod", "SECRET_KEY": secret, "SERVICE_SECRET": STRONG},
        )


def test_prod_refuses_a_dev_service_secret() -> None:
    with pytest.raises(SettingsError, match="SERVICE_SECRET"):
        load_settings(ServiceSettings, {"ENVIRONMENT": "prod", "SECRET_KEY": STRONG})


def test_prod_starts_with_real_secrets() -> None:
    settings = load_settings(
        ServiceSettings,
        {"ENVIRONMENT": "prod", "SECRET_KEY": STRONG, "SERVICE_SECRET": STRONG + "y"},
    )
    assert not settings.is_dev


def test_dev_tolerates_dev_secrets() -> None:
    assert load_settings(ServiceSettings, {"ENVIRONMENT": "dev"}).secret_key == DEV_SECRET_KEY
