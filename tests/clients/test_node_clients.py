"""The pinned npm clients install and start under the wheel's Node (>= 22)."""

from __future__ import annotations

from pathlib import Path

from tests.support.node_clients import (
    CLAWHUB_VERSION,
    SKILLS_VERSION,
    install_client,
    node_version,
)


def test_wheel_node_is_new_enough_for_the_clients() -> None:
    major = int(node_version().lstrip("v").split(".")[0])
    assert major >= 22


def test_skills_cli_runs_at_its_pinned_version(tmp_path: Path) -> None:
    skills = install_client("skills", SKILLS_VERSION)
    done = skills.run("--version", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert SKILLS_VERSION in done.stdout


def test_clawhub_cli_runs_at_its_pinned_version(tmp_path: Path) -> None:
    clawhub = install_client("clawhub", CLAWHUB_VERSION)
    done = clawhub.run("--cli-version", home=tmp_path)
    assert CLAWHUB_VERSION in done.stdout + done.stderr, done.stdout + done.stderr
