"""The migration entry point: every service's history found, production checks, new revisions."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from skreg_auth.schema import MIGRATIONS as AUTH
from skreg_catalog.schema import MIGRATIONS as CATALOG
from skreg_common.migrate import installed_migrations, main, new_revision
from skreg_common.settings import DEV_SECRET_KEY
from skreg_importer.schema import MIGRATIONS as IMPORTER

ROOT = Path(__file__).resolve().parents[2]


def _env(**values: str) -> dict[str, str]:
    """This environment without any registry setting, plus `values`."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "UV_LINK_MODE")}
    return {**keep, **values}


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_every_service_declares_its_migrations() -> None:
    assert installed_migrations() == (AUTH, CATALOG, IMPORTER)


def test_upgrade_then_current_on_a_fresh_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
    main(["upgrade"])
    capsys.readouterr()
    main(["current"])
    lines = dict(line.split(": ", 1) for line in capsys.readouterr().out.strip().splitlines())
    assert set(lines) == {"auth", "catalog", "importer"}
    assert "(none)" not in lines.values()


def test_prod_mode_refuses_the_dev_secrets_like_every_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "untouched.db"
    monkeypatch.setenv("ENVIRONMENT", "prod")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    monkeypatch.setenv("SECRET_KEY", DEV_SECRET_KEY)
    with pytest.raises(SystemExit) as refused:
        main(["upgrade"])
    assert refused.value.code == 2
    stderr = capsys.readouterr().err
    assert "refusing to start in prod mode" in stderr
    assert "SECRET_KEY" in stderr
    assert not database.exists()  # refused before touching the database


def test_make_migration_writes_a_revision_after_the_service_head(tmp_path: Path) -> None:
    """The README's `make migration` command, written into a scratch folder."""
    own = ROOT / "services/catalog/src/skreg_catalog/migrations/versions"
    before = sorted(own.glob("*.py"))
    done = _make(
        "migration",
        "SERVICE=catalog",
        "MESSAGE=add skill labels",
        f"ARGS=--version-path {tmp_path}",
    )
    assert done.returncode == 0, done.stderr
    [written] = list(tmp_path.glob("*.py"))
    text = written.read_text()
    assert written.name.endswith("_add_skill_labels.py")
    heads = {p.stem.split("_", 1)[0] for p in before}
    down = next(line for line in text.splitlines() if line.startswith("down_revision"))
    assert any(f"'{head}'" in down for head in heads)
    assert sorted(own.glob("*.py")) == before  # nothing written into the real history


def test_make_migration_without_a_service_says_how() -> None:
    done = _make("migration")
    assert done.returncode != 0
    assert 'usage: make migration SERVICE=catalog MESSAGE="what changes"' in done.stderr


@pytest.mark.parametrize("service", ["auth", "catalog", "importer"])
def test_models_and_migrations_agree(service: str, tmp_path: Path) -> None:
    """Autogenerate against every head finds nothing to do: no model change lacks a migration."""
    specs = installed_migrations()
    spec = next(s for s in specs if s.service == service)
    new_revision(spec, "drift probe", specs, version_path=tmp_path)
    [written] = list(tmp_path.glob("*.py"))
    body = written.read_text().split("def upgrade() -> None:", 1)[1].split("def downgrade", 1)[0]
    assert "op." not in body, f"{service}'s models differ from its migrations:\n{body}"
