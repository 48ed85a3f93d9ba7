"""The image's entry point reads SERVICE, PORT and REDIS_URL through the settings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from skreg_common.settings import DEV_SECRET_KEY
from skreg_gateway import container

from tests.conftest import REDIS_URL


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unknown_service_is_refused_with_the_choices(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SERVICE", "mailer")
    with pytest.raises(SystemExit) as refused:
        container.run([])
    assert refused.value.code == 2
    assert "SERVICE must be one of gateway, catalog" in capsys.readouterr().err
    assert container.health() == 1


def test_prod_with_a_dev_secret_is_refused_before_any_service_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ENVIRONMENT", "prod")
    monkeypatch.setenv("SECRET_KEY", DEV_SECRET_KEY)
    with pytest.raises(SystemExit):
        container.run([])
    assert "refusing to start in prod mode" in capsys.readouterr().err


def test_health_asks_the_port_and_redis_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE", "migrate")
    assert container.health() == 0  # a one-shot job has nothing to answer
    monkeypatch.setenv("SERVICE", "gateway")
    monkeypatch.setenv("PORT", str(_closed_port()))
    assert container.health() == 1
    monkeypatch.setenv("SERVICE", "worker")
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{_closed_port()}/0")
    assert container.health() == 1
    monkeypatch.setenv("REDIS_URL", REDIS_URL)  # the test Redis answers
    assert container.health() == 0


def test_the_backup_service_is_healthy_while_its_newest_archive_is_recent(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SERVICE", "backup")
    monkeypatch.setenv("BACKUP_DIR", str(tmp_path))
    monkeypatch.setenv("BACKUP_INTERVAL", "60")
    assert container.health() == 1  # nothing backed up yet
    archive = tmp_path / "skreg-postgresql-20261203T000000Z.tar"
    archive.write_bytes(b"")
    assert container.health() == 0
    stale = time.time() - 2 * 60 - container.BACKUP_GRACE_S - 1
    os.utime(archive, (stale, stale))
    assert container.health() == 1  # two rounds missed: someone must look


def test_only_the_backup_service_takes_arguments(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("SERVICE", "catalog")
    with pytest.raises(SystemExit) as refused:
        container.run(["restore", "x.tar"])
    assert refused.value.code == 2
    assert "only SERVICE=backup" in capsys.readouterr().err
    # SERVICE=backup hands its arguments to the backup command (here: inspect a non-archive).
    not_an_archive = tmp_path / "notes.txt"
    not_an_archive.write_text("hello")
    result = subprocess.run(
        [sys.executable, "-m", "skreg_gateway.container", "inspect", str(not_an_archive)],
        env={**os.environ, "SERVICE": "backup"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "not a readable registry backup" in result.stderr
