"""`skreg info` shows the scan; `skreg install` refuses malicious and asks for held versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from skreg_cli.errors import CliError, ExitCode
from skreg_cli.output import Output
from skreg_cli.trust import FindingView, ReviewView, ScanView, check_before_install

from tests.cli.conftest import RegistryServer
from tests.cli.helpers import User, make_skill, register, run, unique

HIDDEN = "# Usage\n\nSay \u202eolleh\u202c.\n"  # a bidi override: suspicious, held


def test_a_held_version_needs_consent_and_is_absent_for_others(
    registry: RegistryServer, signed_in: User, tmp_path: Path, isolated: Path
) -> None:
    name = unique("held")
    source = make_skill(tmp_path / "src", name, body=HIDDEN)
    published = run("publish", str(source), "--version", "1.0.0", "--json")
    assert published.exit_code == 0, published.output
    assert json.loads(published.stdout)["withheld"] is True
    assert json.loads(published.stdout)["scan"]["verdict"] == "suspicious"
    full = f"{signed_in.username}/{name}"

    info = run("info", f"{full}@1.0.0")
    assert info.exit_code == 0, info.output
    assert "scan: suspicious" in info.output
    assert "review: held" in info.output
    assert "unicode.bidi-control" in info.output

    refused = run("install", f"{full}@1.0.0", "--agent", "claude-code")
    assert refused.exit_code == ExitCode.FORBIDDEN, refused.output
    assert "--allow-suspicious" in refused.output
    assert not (isolated / ".claude" / "skills" / name).exists()

    allowed = run("install", f"{full}@1.0.0", "--agent", "claude-code", "--allow-suspicious")
    assert allowed.exit_code == 0, allowed.output
    assert (isolated / ".claude" / "skills" / name / "SKILL.md").is_file()

    other = register(registry.url)
    stranger = run("--token", other.key, "install", f"{full}@1.0.0", "--allow-suspicious")
    assert stranger.exit_code == ExitCode.NOT_FOUND, stranger.output


def _scan(verdict: str, state: str = "none") -> ScanView:
    finding = FindingView(rule="exec.pipe", severity="critical", file="run.sh", line=1)
    return ScanView(
        verdict=verdict, rules_version="t", findings=[finding], review=ReviewView(state=state)
    )


def test_malicious_is_refused_even_with_the_flag() -> None:
    out = Output(json_mode=False)
    with pytest.raises(CliError) as refused:
        check_before_install(
            out, "a/b", "1.0.0", _scan("malicious"), False, allow_suspicious=True, confirm=None
        )
    assert refused.value.code is ExitCode.FORBIDDEN
    # Approved by an admin: installs without asking; clean never asks.
    check_before_install(
        out,
        "a/b",
        "1.0.0",
        _scan("suspicious", "approved"),
        False,
        allow_suspicious=False,
        confirm=None,
    )
    asked: list[str] = []
    check_before_install(
        out,
        "a/b",
        "1.0.0",
        _scan("suspicious", "flagged"),
        False,
        allow_suspicious=False,
        confirm=lambda question: asked.append(question) or True,
    )
    assert asked == ["Install a/b@1.0.0 anyway?"]
