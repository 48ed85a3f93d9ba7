"""login / whoami / logout against the real registry."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx
import pytest
from skreg_cli.errors import ExitCode

from tests.cli.conftest import RegistryServer
from tests.cli.helpers import User, run
from tests.support.processes import free_port


def _stored(tmp_path: Path) -> dict[str, object]:
    path = tmp_path / "config" / "config.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return dict(json.loads(path.read_text()))


def test_password_login_stores_a_machine_key_and_logout_revokes_it(
    registry: RegistryServer, user: User, tmp_path: Path
) -> None:
    result = run("login", registry.url, input=f"{user.username}\n{user.password}\n")
    assert result.exit_code == 0, result.output
    assert f"Logged in to {registry.url} as {user.username}" in result.stdout
    stored = _stored(tmp_path)
    credential = stored["credentials"][registry.url]  # type: ignore[index]
    key = credential["token"]
    assert key.startswith("sr_")
    assert key != user.key  # a new key for this machine, not a copy of another
    assert credential["key_id"]
    assert user.password not in json.dumps(stored)  # the password is never stored

    whoami = run("whoami")
    assert whoami.exit_code == 0, whoami.output
    assert f"{user.username} on {registry.url}" in whoami.stdout
    assert "scopes: read, publish, yank" in whoami.stdout
    as_json = json.loads(run("whoami", "--json").stdout)
    assert as_json["username"] == user.username
    assert as_json["credential"] == "config"

    logout = run("logout")
    assert logout.exit_code == 0, logout.output
    assert "API key revoked" in logout.stdout
    assert registry.url not in _stored(tmp_path)["credentials"]  # type: ignore[operator]
    me = httpx.get(f"{registry.url}/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"})
    assert me.status_code == 401
    after = run("whoami")
    assert after.exit_code == ExitCode.UNAUTHENTICATED
    assert "not logged in" in after.stderr
    assert "skreg login" in after.stderr


def test_a_wrong_password_is_a_clean_401(registry: RegistryServer, user: User) -> None:
    result = run(
        "login",
        registry.url,
        "--username",
        user.username,
        "--password-stdin",
        input="not-the-password\n",
    )
    assert result.exit_code == ExitCode.UNAUTHENTICATED, result.output
    assert "skreg:" in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.output


def test_token_login_and_environment_overrides(
    registry: RegistryServer, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run("login", registry.url, "--token", user.key)
    assert result.exit_code == 0, result.output
    assert run("whoami").exit_code == 0

    monkeypatch.setenv("SKREG_TOKEN", "sr_bogus_bogus")
    rejected = run("whoami")
    assert rejected.exit_code == ExitCode.UNAUTHENTICATED
    assert "skreg login" in rejected.stderr

    monkeypatch.delenv("SKREG_TOKEN")
    monkeypatch.setenv("SKREG_URL", f"http://127.0.0.1:{free_port()}")
    elsewhere = run("whoami")
    # SKREG_URL names a registry with no stored key: not logged in there.
    assert elsewhere.exit_code == ExitCode.UNAUTHENTICATED
    assert "not logged in to http://127.0.0.1:" in elsewhere.stderr
