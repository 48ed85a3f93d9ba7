"""`skreg source …` against the real registry, with real local Git repositories as sources."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from skreg_cli.errors import ExitCode

from tests.cli.conftest import ADMIN_PASSWORD, RegistryServer
from tests.cli.helpers import User, make_skill, run, unique


def _git(repo: Path, *args: str) -> str:
    identity = ["-c", "user.name=Tests", "-c", "user.email=tests@example.com"]
    done = subprocess.run(
        ["git", *identity, "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _repository(parent: Path) -> Path:
    """A Git repository with one valid skill and one without a description."""
    repo = parent / unique("repo")
    repo.mkdir(parents=True)
    _git(repo, "init", "-q")
    make_skill(repo / "skills", "good")
    broken = repo / "skills" / "broken"
    broken.mkdir()
    (broken / "SKILL.md").write_text("---\nname: broken\n---\nNo description.\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "two skills")
    return repo


@pytest.fixture(scope="session")
def admin_key(registry: RegistryServer) -> str:
    """An API key of the seeded admin, with the admin scope."""
    with httpx.Client(base_url=registry.url, timeout=30) as http:
        login = http.post(
            "/api/v1/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
        assert login.status_code == 200, login.text
        key = http.post(
            "/api/v1/auth/keys",
            json={"name": "source tests", "scopes": ["read", "admin"]},
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
        )
        assert key.status_code == 201, key.text
    return str(key.json()["key"])


@pytest.fixture
def as_admin(registry: RegistryServer, admin_key: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every `skreg` run of the test uses the admin key (SKREG_URL / SKREG_TOKEN)."""
    monkeypatch.setenv("SKREG_URL", registry.url)
    monkeypatch.setenv("SKREG_TOKEN", admin_key)
    return admin_key


def test_source_commands_need_an_admin(
    registry: RegistryServer, user: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    anonymous = run("--url", registry.url, "source", "list")
    assert anonymous.exit_code == ExitCode.UNAUTHENTICATED
    assert "skreg login --admin" in anonymous.stderr.split("hint:", 1)[1]
    monkeypatch.setenv("SKREG_TOKEN", user.key)
    as_user = run("--url", registry.url, "source", "list")
    assert as_user.exit_code == ExitCode.FORBIDDEN
    assert "skreg login --admin" in as_user.stderr.split("hint:", 1)[1]


def test_add_sync_and_runs_as_an_admin_who_logged_in(
    registry: RegistryServer, user: User, tmp_path: Path
) -> None:
    repo = _repository(tmp_path)
    url, namespace = f"file://{repo}", unique("ns")
    signed_in = run("login", registry.url, "-u", user.username, input=f"{user.password}\n")
    assert signed_in.exit_code == 0
    login = run("login", "--admin", "-u", "admin", "--password-stdin", input=f"{ADMIN_PASSWORD}\n")
    assert login.exit_code == 0, login.output

    added = run("source", "add", url, "--namespace", namespace, "--json")
    assert added.exit_code == 0, added.output
    source = json.loads(added.stdout)
    assert (source["url"], source["namespace"]) == (url, namespace)
    listed = run("source", "list", "--json")
    mine = next(s for s in json.loads(listed.stdout)["items"] if s["id"] == source["id"])
    assert mine["last_run_state"] is None
    assert "never run" in run("source", "list").stdout

    synced = run("source", "sync", url, "--wait")  # by URL; an id works too
    assert synced.exit_code == 0, synced.output
    assert f"on {registry.url}" in synced.stderr
    assert "1 created, 1 invalid" in synced.stdout
    assert f"invalid: {Path('skills', 'broken').as_posix()}" in synced.stdout
    assert "description" in synced.stdout  # the problem, with its field

    runs = run("source", "runs", source["id"], "--json")
    assert runs.exit_code == 0, runs.output
    (last,) = json.loads(runs.stdout)["items"]
    assert last["counts"] == {"created": 1, "invalid": 1}
    assert last["state"] not in ("queued", "running", "failed")
    table = run("source", "runs", url)
    assert last["id"] in table.stdout  # whole, never cut
    assert "1 created, 1 invalid" in table.stdout
    after = json.loads(run("source", "list", "--json").stdout)["items"]
    assert next(s for s in after if s["id"] == source["id"])["last_run_state"] == last["state"]
    # The everyday credential is still the user's.
    assert f"{user.username} on {registry.url}" in run("whoami").stdout


def test_a_waited_for_run_that_fails_exits_1(as_admin: str, tmp_path: Path) -> None:
    repo = _repository(tmp_path)
    added = run("source", "add", f"file://{repo}", "--namespace", unique("ns"), "--json")
    assert added.exit_code == 0, added.output
    shutil.rmtree(repo)  # the repository is gone before the first sync
    synced = run("source", "sync", json.loads(added.stdout)["id"], "--wait")
    assert synced.exit_code == ExitCode.FAILED, synced.output
    assert "failed" in synced.stdout
    assert "failed:" in synced.stderr  # the run's error, then a hint


def test_unknown_sources_are_404s(as_admin: str, tmp_path: Path) -> None:
    by_url = run("source", "sync", f"file://{tmp_path}/nothing-here")
    assert by_url.exit_code == ExitCode.NOT_FOUND
    assert "no source has the URL" in by_url.stderr
    by_id = run("source", "runs", "no-such-source")
    assert by_id.exit_code == ExitCode.NOT_FOUND


def test_path_filters_and_version_policy_reach_the_registry(as_admin: str, tmp_path: Path) -> None:
    repo = _repository(tmp_path)
    args = ["source", "add", f"file://{repo}", "--namespace", unique("ns"), "--json"]
    filtered = run(*args, "--include", "skills/**", "--exclude", "skills/broken/**")
    assert filtered.exit_code == 0, filtered.output
    created = json.loads(filtered.stdout)
    assert created["include"] == ["skills/**"]
    assert created["exclude"] == ["skills/broken/**"]
    unknown = run(*args, "--version-policy", "no-such-policy")
    assert unknown.exit_code in (ExitCode.USAGE, ExitCode.REJECTED)


def test_a_private_source_imports_private_skills(
    as_admin: str, registry: RegistryServer, tmp_path: Path
) -> None:
    """The README's `skreg source add … --visibility private`, with a local repository."""
    repo, namespace = _repository(tmp_path), unique("ns")
    added = run("source", "add", f"file://{repo}", "--namespace", namespace,
                "--visibility", "private")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "(private)" in added.stdout
    source_id = added.stdout.split("Added source ", 1)[1].split(":", 1)[0]
    synced = run("source", "sync", source_id, "--wait")
    assert synced.exit_code == 0, synced.output
    path = f"/api/v1/skills/{namespace}/good"
    with httpx.Client(base_url=registry.url, timeout=30) as http:
        assert http.get(path).status_code == 404  # anonymous: as if absent
        seen = http.get(path, headers={"X-API-Key": as_admin})
        assert seen.json()["visibility"] == "private"
    wrong = run("source", "add", f"file://{repo}", "--namespace", namespace, "--visibility", "x")
    assert wrong.exit_code == ExitCode.USAGE
