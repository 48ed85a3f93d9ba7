"""The README documents every environment variable a service reads."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from skreg_auth.settings import AuthSettings
from skreg_catalog.settings import CatalogSettings
from skreg_common.settings import ServiceSettings
from skreg_gateway.settings import GatewaySettings
from skreg_importer.settings import ImporterSettings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


@pytest.mark.parametrize(
    "settings", [ServiceSettings, AuthSettings, CatalogSettings, ImporterSettings, GatewaySettings]
)
def test_every_setting_is_documented(settings: type[msgspec.Struct]) -> None:
    missing = [
        f.name.upper()
        for f in msgspec.structs.fields(settings)
        if f"`{f.name.upper()}`" not in README
    ]
    assert not missing, f"README.md does not document {missing}"


def test_the_two_commands_come_first() -> None:
    head = README.splitlines()[:40]
    assert any("make run" in line for line in head)
    assert any("make test" in line for line in head)
