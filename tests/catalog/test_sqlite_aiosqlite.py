"""The catalog on plain aiosqlite (`SQLITE_DRIVER=aiosqlite`), the way back from the inline driver.

Every other catalog test runs on the inline driver; this one runs a publish, read,
search, download, yank cycle on aiosqlite, so the fallback stays a working one.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from skreg_catalog.settings import CatalogSettings

from tests.catalog.conftest import running_catalog
from tests.catalog.helpers import auth, published

SKILL = "/api/v1/skills/alice/demo"


async def test_publish_read_yank_cycle_on_plain_aiosqlite(
    sqlite_template: Path, tmp_path: Path
) -> None:
    database = tmp_path / "registry.db"
    shutil.copyfile(sqlite_template, database)
    settings = CatalogSettings(
        database_url=f"sqlite:///{database}", sqlite_driver="aiosqlite", auto_migrate=False
    )
    async with running_catalog(settings) as client:
        runtime = client.app.state.runtime
        assert runtime.engine.dialect.driver == "aiosqlite"
        assert not runtime.quick.inline  # nothing runs SQLite on the loop
        await published(client, "demo", "1.0.0", tags="alpha")
        created = await asyncio.gather(
            *[published(client, "demo", f"1.{i}.0", description=f"v{i}") for i in (1, 2, 3)]
        )
        assert sorted(body["version"] for body in created) == ["1.1.0", "1.2.0", "1.3.0"]
        detail = (await client.get(SKILL)).json()
        assert (detail["latest_version"], detail["versions_count"]) == ("1.3.0", 4)
        found = (await client.get("/api/v1/skills", params={"q": "demo"})).json()
        assert [item["name"] for item in found["items"]] == ["demo"]
        download = await client.get(SKILL + "/versions/1.3.0/download")
        assert download.status_code == 200
        assert download.headers["etag"] == f'"{created[2]["digest"]}"'
        yank = await client.post(
            SKILL + "/versions/1.3.0/yank", json={"reason": "broken"}, headers=auth("alice")
        )
        assert yank.status_code == 200
        assert (await client.get(SKILL)).json()["latest_version"] == "1.2.0"
        assert (await client.get(SKILL)).json()["downloads"] == 1
