"""`skreg update` follows the requested range and never picks a yanked version."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import RegistryServer
from tests.cli.helpers import User, locked, make_skill, publish_marked, run, unique, yank


def test_update_respects_ranges_and_skips_yanked(
    registry: RegistryServer, signed_in: User, isolated: Path, tmp_path: Path
) -> None:
    name, pinned = unique("up"), unique("pin")
    source, pinned_source = make_skill(tmp_path, name), make_skill(tmp_path, pinned)
    full, pinned_full = f"{signed_in.username}/{name}", f"{signed_in.username}/{pinned}"
    publish_marked(source, "1.0.0")
    publish_marked(pinned_source, "1.0.0")
    assert run("install", f"{full}@^1.0.0").exit_code == 0
    assert run("install", f"{pinned_full}@1.0.0").exit_code == 0

    for version in ("1.1.0", "1.2.0", "2.0.0", "1.3.0-beta.1"):
        publish_marked(source, version)
    publish_marked(pinned_source, "1.0.1")
    yank(registry.url, signed_in, full, "1.2.0")

    result = run("update")
    assert result.exit_code == 0, result.output
    assert locked(isolated, full) == ("1.1.0", "^1.0.0")  # not 2.0.0, not yanked 1.2.0
    assert locked(isolated, pinned_full) == ("1.0.0", "1.0.0")  # an exact pin stays
    skill_md = (isolated / ".agents" / "skills" / name / "SKILL.md").read_text()
    assert skill_md.rstrip().endswith("v1.1.0")

    again = run("update", name)
    assert again.exit_code == 0
    assert locked(isolated, full) == ("1.1.0", "^1.0.0")

    widened = run("update", f"{name}@^2")
    assert widened.exit_code == 0, widened.output
    assert "(was 1.1.0)" in widened.stdout
    assert locked(isolated, full) == ("2.0.0", "^2")
    text = (isolated / ".agents" / "skills" / name / "SKILL.md").read_text()
    assert text.rstrip().endswith("v2.0.0")

    yank(registry.url, signed_in, full, "2.0.0")
    back = run("update", full + "@^1")
    assert back.exit_code == 0, back.output
    assert locked(isolated, full) == ("1.1.0", "^1")  # newest non-yanked in range, even lower
