"""What a newcomer meets first: `skreg register`, which registry skreg talks to, clear
errors for a missing or wrong registry, and `skreg validate` hints that lead somewhere."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from skreg_cli import config as cfg
from skreg_cli.commands.authoring import RULES_DOC
from skreg_cli.errors import ExitCode

from tests.cli.conftest import ADMIN_PASSWORD, RegistryServer
from tests.cli.helpers import PASSWORD, FakeRegistry, Reply, User, fake_registry, run, unique
from tests.support.checkout import REPO
from tests.support.processes import free_port


def _stored(tmp_path: Path) -> dict[str, dict[str, dict[str, str]]]:
    return dict(json.loads((tmp_path / "config" / "config.json").read_text()))


def test_register_creates_the_account_and_signs_in(
    registry: RegistryServer, tmp_path: Path
) -> None:
    name = unique("new").replace("-", "")
    result = run(
        "register", registry.url, "--username", name, "--email", f"{name}@example.com",
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"Registry: {registry.url}" in result.stderr
    assert f"Registered {name} on {registry.url}" in result.stderr
    assert f"Logged in to {registry.url} as {name}" in result.stdout
    stored = _stored(tmp_path)
    assert stored["url"] == registry.url  # type: ignore[comparison-overlap]
    assert stored["credentials"][registry.url]["token"].startswith("sr_")
    assert PASSWORD not in json.dumps(stored)
    whoami = run("whoami")  # the next command needs no flags
    assert f"{name} on {registry.url}" in whoami.stdout


def test_register_asks_for_what_is_missing_and_reads_stdin(registry: RegistryServer) -> None:
    name = unique("ask").replace("-", "")
    answers = f"{name}\n{name}@example.com\n{PASSWORD}\n{PASSWORD}\n"
    prompted = run("--url", registry.url, "register", input=answers)
    assert prompted.exit_code == 0, prompted.output
    for prompt in ("Username:", "Email:", "Password:", "Repeat for confirmation:"):
        assert prompt in prompted.output
    assert f"as {name}" in prompted.stdout
    other = unique("pipe").replace("-", "")
    piped = run(
        "--url", registry.url, "register", "-u", other, "--email", f"{other}@example.com",
        "--password-stdin", input=f"{PASSWORD}\n",
    )  # fmt: skip
    assert piped.exit_code == 0, piped.output
    assert f"as {other}" in piped.stdout


def test_register_refusals_say_what_to_do(registry: RegistryServer, user: User) -> None:
    taken = run(
        "register", registry.url, "-u", user.username, "--email", "other@example.com",
        "--password-stdin", input=f"{PASSWORD}\n",
    )  # fmt: skip
    assert taken.exit_code == ExitCode.CONFLICT, taken.output
    assert "username: already taken" in taken.stderr
    assert "skreg login" in taken.stderr.split("hint:", 1)[1]
    invalid = run(
        "register", registry.url, "-u", "No Spaces", "--email", "not-an-email",
        "--password-stdin", input="short\n",
    )  # fmt: skip
    assert invalid.exit_code == ExitCode.REJECTED
    for field in ("username:", "email:", "password:"):
        assert field in invalid.stderr  # every problem at once


@pytest.fixture(scope="module")
def closed_registry(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RegistryServer]:
    """A registry whose registration is closed (SQLite: the point is the guard, not the DB)."""
    database = tmp_path_factory.mktemp("closed") / "closed.db"
    server = RegistryServer(
        f"sqlite+aiosqlite:///{database}",
        tmp_path_factory.mktemp("closed-logs"),
        settings={"REGISTRATION_OPEN": "false"},
    )
    server.start()
    yield server
    server.stop()


def test_closed_registration_points_at_the_admins(closed_registry: RegistryServer) -> None:
    result = run(
        "register", closed_registry.url, "-u", "someone", "--email", "someone@example.com",
        "--password-stdin", input=f"{PASSWORD}\n",
    )  # fmt: skip
    assert result.exit_code == ExitCode.FORBIDDEN
    assert "registration is closed" in result.stderr
    hint = result.stderr.split("hint:", 1)[1]
    assert f"ask the administrators of {closed_registry.url}" in hint


def test_admin_login_keeps_an_admin_key_apart(
    registry: RegistryServer, user: User, tmp_path: Path
) -> None:
    signed_in = run("login", registry.url, "-u", user.username, input=f"{user.password}\n")
    assert signed_in.exit_code == 0
    admin = run("login", "--admin", "-u", "admin", "--password-stdin", input=f"{ADMIN_PASSWORD}\n")
    assert admin.exit_code == 0, admin.output
    assert "admin key, used only by `skreg source`" in admin.stdout
    stored = _stored(tmp_path)
    assert stored["credentials"][registry.url]["username"] == user.username
    assert stored["admin_credentials"][registry.url]["username"] == "admin"
    # Everyday commands still act as the user, never with admin rights.
    assert f"{user.username} on {registry.url}" in run("whoami").stdout
    # Logging out forgets and revokes both keys.
    keys = [stored[kind][registry.url]["token"] for kind in ("credentials", "admin_credentials")]
    out = run("logout")
    assert out.exit_code == 0
    for key in keys:
        me = httpx.get(f"{registry.url}/api/v1/auth/me", headers={"X-API-Key": key}, timeout=10)
        assert me.status_code == 401
    after = _stored(tmp_path)
    assert after["credentials"] == {}
    assert after["admin_credentials"] == {}


def test_admin_login_as_a_user_is_refused(registry: RegistryServer, user: User) -> None:
    result = run(
        "login", registry.url, "--admin", "-u", user.username, "--password-stdin",
        input=f"{user.password}\n",
    )  # fmt: skip
    assert result.exit_code == ExitCode.FORBIDDEN
    assert "admin scope" in result.stderr


def test_search_and_verbose_name_the_registry(registry: RegistryServer) -> None:
    empty = run("--url", registry.url, "search", unique("nothing-matches"))
    assert empty.exit_code == 0
    assert f"No skills found on {registry.url}." in empty.stdout
    verbose = run("--url", registry.url, "--verbose", "search", "x")
    assert f"registry: {registry.url} (anonymous)" in verbose.stderr


def test_an_unconfigured_registry_that_is_not_there_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Nothing configured: skreg tries its default, which here is a closed port.
    default = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setattr(cfg, "DEFAULT_URL", default)
    result = run("search", "pdf")
    assert result.exit_code == ExitCode.NETWORK
    assert f"cannot reach the registry at {default}" in result.stderr
    hint = result.stderr.split("hint:", 1)[1]
    assert f"no registry is configured, so skreg tried the default {default}" in hint
    assert "SKREG_URL" in hint
    assert "skreg login URL" in hint


def test_a_configured_registry_that_is_not_there_names_where_it_came_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("SKREG_URL", url)
    result = run("search", "pdf")
    assert result.exit_code == ExitCode.NETWORK
    assert url in result.stderr
    assert "it comes from SKREG_URL" in result.stderr


def test_a_url_that_is_no_registry_is_an_error_not_an_empty_result(
    registry: RegistryServer,
) -> None:
    # The registry's own address with the API prefix appended: every path 404s.
    wrong = run("--url", f"{registry.url}/api/v1", "search", "x")
    assert wrong.exit_code == ExitCode.NETWORK
    assert f"no Skills Registry API at {registry.url}/api/v1" in wrong.stderr
    with fake_registry() as other:
        _serve_plain_404(other)
        result = run("--url", other.url, "info", "acme/thing")
        assert result.exit_code == ExitCode.NETWORK
        assert f"no Skills Registry API at {other.url}" in result.stderr


def _serve_plain_404(fake: FakeRegistry) -> None:
    """Some web server that is not a registry: HTML 404s for everything."""
    fake.fallback = Reply(404, b"<html>Not here</html>", {"Content-Type": "text/html"})


def test_validate_hints_point_at_documentation_that_exists(tmp_path: Path) -> None:
    skill = tmp_path / "project" / "broken"
    skill.mkdir()
    (skill / "SKILL.md").write_text("---\nname: Not-Valid\n---\nbody\n")
    result = run("validate", str(skill))
    assert result.exit_code == ExitCode.FAILED
    hint = result.stderr.split("hint:", 1)[1]
    assert RULES_DOC in " ".join(hint.split())
    document, section = re.fullmatch(r'(\S+), section "([^"]+)", .*', RULES_DOC).groups()  # type: ignore[union-attr]
    text = (REPO / document).read_text()
    assert f"## {section}\n" in text
    assert "`description`" in text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
