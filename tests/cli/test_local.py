"""What the CLI does without a registry: config, lockfile, agent table, names, validate."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from skreg_cli import agents, config, lockfile
from skreg_cli.errors import CliError, ExitCode
from skreg_cli.lockfile import LockedSkill, Lockfile
from skreg_cli.refs import parse_ref

from tests.cli.helpers import make_skill, run

DIGEST = "sha256:" + "ab" * 32


def _entry(**changes: object) -> LockedSkill:
    fields: dict[str, object] = {
        "version": "1.0.0",
        "digest": DIGEST,
        "source": "http://r.example/api/v1/skills/a/b/versions/1.0.0/download",
        "registry": "http://r.example",
        "agents": ["claude"],
    }
    fields.update(changes)
    return LockedSkill(**fields)  # type: ignore[arg-type]


# -- config --------------------------------------------------------------------------


def test_config_is_written_0600_in_a_0700_directory(tmp_path: Path) -> None:
    directory = tmp_path / "cfg"
    stored = config.StoredConfig(url="http://r.example")
    stored.credentials["http://r.example"] = config.Credential(token="sr_secret", username="a")
    path = config.save(directory, stored)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert config.load(directory) == stored
    config.save(directory, stored)  # rewriting keeps the mode and leaves no temp files
    assert sorted(p.name for p in directory.iterdir()) == ["config.json"]


def test_url_and_token_precedence() -> None:
    stored = config.StoredConfig(url="http://stored.example")
    stored.credentials["http://stored.example"] = config.Credential(token="stored-key")
    stored.credentials["http://env.example"] = config.Credential(token="env-registry-key")

    plain = config.resolve(stored, url_flag=None, token_flag=None, environ={})
    assert (plain.url, plain.token, plain.token_source) == (
        "http://stored.example",
        "stored-key",
        "config",
    )
    env = {"SKREG_URL": "http://env.example/", "SKREG_TOKEN": "env-key"}
    from_env = config.resolve(stored, url_flag=None, token_flag=None, environ=env)
    assert (from_env.url, from_env.token) == ("http://env.example", "env-key")
    # A URL from the environment picks that registry's stored key, not another's.
    only_url = config.resolve(
        stored, url_flag=None, token_flag=None, environ={"SKREG_URL": "http://env.example"}
    )
    assert only_url.token == "env-registry-key"
    flags = config.resolve(stored, url_flag="http://flag.example", token_flag="t", environ=env)
    assert (flags.url, flags.token, flags.token_source) == ("http://flag.example", "t", "--token")
    default = config.resolve(config.StoredConfig(), url_flag=None, token_flag=None, environ={})
    assert (default.url, default.token) == (config.DEFAULT_URL, None)


@pytest.mark.parametrize(
    "url", ["ftp://r.example", "r.example", "http://user:pw@r.example", "http://r.example/?a=1"]
)
def test_bad_registry_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(CliError) as caught:
        config.normalise_url(url)
    assert caught.value.code is ExitCode.USAGE


def test_a_corrupt_config_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.json").write_text("{not json")
    result = run("--url", "http://127.0.0.1:9", "whoami")
    assert result.exit_code == ExitCode.FAILED, result.output
    assert "not a valid skreg config" in result.stderr
    assert "Traceback" not in result.output


# -- lockfile ------------------------------------------------------------------------


def test_lockfile_bytes_are_deterministic(tmp_path: Path) -> None:
    first = Lockfile(skills={"z/last": _entry(), "a/first": _entry(agents=["kiro", "claude"])})
    second = Lockfile(skills={"a/first": _entry(agents=["claude", "kiro", "claude"])})
    second.skills["z/last"] = _entry()
    assert lockfile.dumps(first) == lockfile.dumps(second)
    text = lockfile.dumps(first).decode()
    assert text.endswith("}\n")
    assert text.index('"a/first"') < text.index('"z/last"')
    path = tmp_path / "skreg.lock"
    lockfile.write(path, first)
    again = lockfile.read(path)
    assert again is not None
    assert lockfile.dumps(again) == path.read_bytes()


@pytest.mark.parametrize(
    ("key", "changes", "fragment"),
    [
        ("a/../etc", {}, "invalid skill name"),
        ("a/b", {"digest": "md5:abc"}, "sha256"),
        ("a/b", {"agents": ["evil"]}, "unknown agents"),
        ("a/b", {"source": "file:///etc/passwd"}, "not an http(s) URL"),
        ("a/b", {"version": "latest"}, "invalid version"),
        ("a/b", {"requested": "^^1"}, "range term"),
    ],
)
def test_hostile_lockfile_entries_are_refused(
    tmp_path: Path, key: str, changes: dict[str, object], fragment: str
) -> None:
    path = tmp_path / "skreg.lock"
    path.write_bytes(lockfile.dumps(Lockfile(skills={key: _entry(**changes)})))
    with pytest.raises(CliError) as caught:
        lockfile.read(path)
    assert fragment in caught.value.message


def test_project_root_is_the_nearest_directory_with_a_lock(tmp_path: Path) -> None:
    (tmp_path / "skreg.lock").write_text("{}")
    nested = tmp_path / "src" / "deep"
    nested.mkdir(parents=True)
    assert lockfile.project_root(nested) == tmp_path.resolve()
    assert lockfile.project_root(tmp_path / "src") == tmp_path.resolve()


# -- agents --------------------------------------------------------------------------


def test_agents_sharing_a_directory_get_one_copy() -> None:
    project = agents.target_dirs(agents.AGENTS, global_=False)
    assert project[".claude/skills"] == ["claude-code"]
    assert {"codex", "cursor", "gemini-cli", "github-copilot", "universal"} <= set(
        project[".agents/skills"]
    )
    assert project[".kiro/skills"] == ["kiro-cli"]
    assert sum(len(ids) for ids in project.values()) == len(agents.AGENTS)
    user_level = agents.target_dirs(
        [a for a in agents.AGENTS if a.global_dir is not None], global_=True
    )
    assert user_level["~/.claude/skills"] == ["claude-code"]
    assert user_level["~/.codeium/windsurf/skills"] == ["windsurf"]


def test_auto_detects_agents_from_project_markers(tmp_path: Path) -> None:
    assert [a.id for a in agents.select([], tmp_path, global_=False)] == ["universal"]
    (tmp_path / "CLAUDE.md").write_text("")
    (tmp_path / ".kiro").mkdir()
    auto = agents.select(["auto"], tmp_path, global_=False)
    assert [a.id for a in auto] == ["claude-code", "kiro-cli"]
    chosen = agents.select(["cursor,claude", "claude-code"], tmp_path, global_=False)
    assert [a.id for a in chosen] == ["cursor", "claude-code"]  # an alias is the same agent
    with pytest.raises(CliError) as caught:
        agents.select(["vim"], tmp_path, global_=False)
    assert caught.value.code is ExitCode.USAGE


# -- names ---------------------------------------------------------------------------


def test_references_are_exact() -> None:
    ref = parse_ref("acme/pdf-tools@^1.2")
    assert (ref.namespace, ref.name, ref.spec) == ("acme", "pdf-tools", "^1.2")
    assert parse_ref("acme/pdf").spec is None
    for bad in ("pdf", "acme/", "acme/PDF", "acme/../x", "acme/a/b", "acme/pdf@", "acme/x@^^1"):
        with pytest.raises(CliError) as caught:
            parse_ref(bad)
        assert caught.value.code is ExitCode.USAGE, bad


def test_bad_names_on_the_command_line_exit_2() -> None:
    result = run("install", "acme/../../etc")
    assert result.exit_code == ExitCode.USAGE
    assert "invalid skill name" in result.stderr


# -- validate ------------------------------------------------------------------------


def test_validate_accepts_a_good_skill(isolated: Path) -> None:
    make_skill(isolated, "good-skill")
    result = run("validate", "good-skill")
    assert result.exit_code == 0, result.output
    assert "valid: good-skill@1.0.0: 2 files" in result.stdout
    assert "sha256:" in result.stdout
    as_json = run("validate", "good-skill", "--json")
    assert json.loads(as_json.stdout)["valid"] is True


def test_validate_lists_every_problem_with_its_path(isolated: Path) -> None:
    directory = make_skill(isolated, "bad-skill", version="1.0")
    (directory / "SKILL.md").write_text(
        "---\nname: Other\nversion: 2\nmetadata:\n  version: '1.0'\n---\nbody\n"
    )
    os.symlink("/etc/passwd", directory / "passwd")
    (directory / "sub").mkdir()
    os.symlink("../..", directory / "sub" / "up")
    result = run("validate", str(directory))
    assert result.exit_code == ExitCode.FAILED
    err = result.stderr
    for line in (
        "frontmatter.name: may contain only lowercase",
        "frontmatter.version: is not a SKILL.md field",
        "frontmatter.description: is required",
        "passwd: symbolic links are not allowed",
        "sub/up: symbolic links are not allowed",
    ):
        assert line in err, err
    assert "problems found" in err
    as_json = run("--json", "validate", str(directory))
    report = json.loads(as_json.stdout)
    assert as_json.exit_code == ExitCode.FAILED
    assert report["valid"] is False
    assert {p["path"] for p in report["problems"]} >= {"frontmatter.name", "passwd", "sub/up"}


def test_validate_checks_the_name_against_the_directory(isolated: Path) -> None:
    directory = make_skill(isolated, "right-name")
    directory.rename(isolated / "wrong-name")
    result = run("validate", "wrong-name")
    assert result.exit_code == ExitCode.FAILED
    assert "must equal the skill's name 'wrong-name'" in result.stderr


def test_validate_rejects_a_bad_declared_version(isolated: Path) -> None:
    make_skill(isolated, "vskill", version="v1")
    result = run("validate", "vskill")
    assert result.exit_code == ExitCode.FAILED
    assert "frontmatter.metadata.version: invalid version 'v1'" in result.stderr


def test_publish_needs_a_version_and_a_login_before_any_upload(isolated: Path) -> None:
    make_skill(isolated, "nover", version=None)
    no_version = run("--url", "http://127.0.0.1:9", "publish", "nover")
    assert no_version.exit_code == ExitCode.USAGE
    assert "no version to publish" in no_version.stderr
    no_login = run("--url", "http://127.0.0.1:9", "publish", "nover", "--version", "1.0.0")
    assert no_login.exit_code == ExitCode.UNAUTHENTICATED
    assert "skreg login" in no_login.stderr


def test_help_documents_exit_codes() -> None:
    result = run("--help")
    assert result.exit_code == 0
    for code in ExitCode:
        assert f"{int(code):>2}  " in result.stdout
    assert "SKREG_TOKEN" in result.stdout
