"""The all-in-one process's generated secrets: made once, kept private, reused, bounded."""

from __future__ import annotations

from pathlib import Path

from skreg_catalog.signing.keys import load_signer
from skreg_gateway.localsecrets import (
    SECRETS_FILE,
    SIGNING_KEY_FILE,
    ensure_local_secrets,
    ensure_local_signing_key,
)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'data' / 'r.db'}", **extra}


def test_secrets_are_made_once_beside_the_database_and_reused(tmp_path: Path) -> None:
    first = _env(tmp_path)
    path = ensure_local_secrets(first)
    assert path == (tmp_path / "data" / SECRETS_FILE).resolve()
    assert path.stat().st_mode & 0o777 == 0o600
    assert len(first["SECRET_KEY"]) >= 32
    assert first["SECRET_KEY"] != first["SERVICE_SECRET"]
    again = _env(tmp_path)
    ensure_local_secrets(again)
    assert (again["SECRET_KEY"], again["SERVICE_SECRET"]) == (
        first["SECRET_KEY"],
        first["SERVICE_SECRET"],
    )


def test_configured_secrets_production_and_public_hosts_are_left_alone(tmp_path: Path) -> None:
    configured = _env(tmp_path, SECRET_KEY="k" * 40, SERVICE_SECRET="s" * 40)
    assert ensure_local_secrets(configured) is None
    assert configured["SECRET_KEY"] == "k" * 40
    for extra in ({"ENVIRONMENT": "prod"}, {"HOST": "0.0.0.0"}):
        environ = _env(tmp_path, **extra)
        assert ensure_local_secrets(environ) is None
        assert "SECRET_KEY" not in environ
    assert not (tmp_path / "data" / SECRETS_FILE).exists()


def test_the_signing_key_is_made_once_and_kept(tmp_path: Path) -> None:
    first = _env(tmp_path)
    path = ensure_local_signing_key(first)
    assert path == (tmp_path / "data" / SIGNING_KEY_FILE).resolve()
    assert first["SIGNING_KEY_FILE"] == str(path)
    assert path.stat().st_mode & 0o777 == 0o600
    keyid = load_signer(str(path), None).keyid
    again = _env(tmp_path)
    ensure_local_signing_key(again)
    assert load_signer(again["SIGNING_KEY_FILE"], None).keyid == keyid
    for extra in ({"ENVIRONMENT": "prod"}, {"HOST": "0.0.0.0"}, {"SIGNING_KEY_FILE": "/k"}):
        environ = _env(tmp_path, **extra)
        assert ensure_local_signing_key(environ) is None
        assert environ.get("SIGNING_KEY_FILE") == extra.get("SIGNING_KEY_FILE")
