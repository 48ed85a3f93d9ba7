"""The README documents every environment variable a service reads, and runs what it shows."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest
from skreg_auth.settings import AuthSettings
from skreg_catalog.settings import CatalogSettings
from skreg_common.settings import ServiceSettings
from skreg_gateway.container import ContainerSettings
from skreg_gateway.settings import GatewaySettings
from skreg_importer.settings import ImporterSettings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


@pytest.mark.parametrize(
    "settings",
    [
        ServiceSettings,
        AuthSettings,
        CatalogSettings,
        ImporterSettings,
        GatewaySettings,
        ContainerSettings,
    ],
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


# Shell blocks outside the walkthrough, and what covers them. The walkthrough's own
# blocks are run as written by tests/test_walkthrough.py; a new block must be one of
# them or be added here with the test that runs it.
COVERED_ELSEWHERE = {
    "make run": "tests/test_walkthrough.py starts the registry with it",
    "make migrate": "not run: a deployment step (python -m skreg_common.migrate)",
    'make migration SERVICE=catalog MESSAGE="add skill labels"': (
        "tests/common/test_migrate.py runs it into a scratch folder"
    ),
    "npx skills add http://127.0.0.1:8000/ns/team --skill hello --agent claude-code --copy -y": (
        "tests/clients/test_skills_cli.py runs the block (the pinned skills CLI for npx)"
    ),
    "claude mcp add --transport http skills-registry http://127.0.0.1:8000/mcp": "not run: "
    "needs Claude Code; tests/clients/test_mcp.py runs the Python client snippet below it",
    "python -m skreg_catalog.signing generate-key signing-key-2.pem": (
        "tests/catalog/test_signing.py runs it in a scratch folder"
    ),
    "skreg login --sso https://skills.example.com": (
        "tests/auth/test_sso.py::test_cli_login_with_the_device_flow runs it against a real "
        "OpenID provider"
    ),
    'curl -fsS -X POST "$SKREG_URL/api/v1/auth/trust-policies" \\': (
        "tests/auth/test_sso.py::test_the_readme_trusted_publishing_blocks runs it"
    ),
    "export SKREG_TOKEN=$(curl -fsS -X POST "
    '"$SKREG_URL/api/v1/auth/trusted-publishing/exchange" \\': (
        "tests/auth/test_sso.py::test_the_readme_trusted_publishing_blocks runs it"
    ),
    "make backup": "tests/common/test_backup.py runs `python -m skreg_common.backup` (what "
    "`make backup`/`make restore` run) create, restore and inspect on both backends",
    "docker compose -f deploy/compose/compose.yml --profile prod stop gateway catalog auth "
    "importer worker backup": "not run: needs Docker; tests/edge/test_deploy_files.py "
    "renders the backup service and tests/gateway/test_container.py runs its arguments",
    "skreg org create acme": (
        "tests/cli/test_orgs.py runs each of these commands against a served registry"
    ),
    "skreg source add https://git.example.com/acme/skills.git --namespace acme "
    "--visibility private": (
        "tests/cli/test_sources.py::test_a_private_source_imports_private_skills runs it "
        "with a local repository"
    ),
    "curl -s -o /dev/null -w '%{http_code}\\n' http://127.0.0.1:8000/api/v1/skills": (
        "tests/cli/test_require_sign_in.py runs the block against a registry with "
        "REQUIRE_SIGN_IN=true"
    ),
    "npx clawhub --registry http://127.0.0.1:8000/clawhub search hello": (
        "tests/clients/test_clawhub_cli.py runs it with the real clawhub CLI"
    ),
}


def test_every_shell_block_is_run_or_accounted_for() -> None:
    walkthrough = README.split("## From zero to an installed skill", 1)[1].split("\n## ", 1)[0]
    for block in re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL):
        if block in walkthrough:
            continue
        first = block.strip().splitlines()[0].split("#", 1)[0].strip()
        assert first in COVERED_ELSEWHERE, f"no test runs this README block:\n{block}"
