"""SECURITY.md names only settings that exist, and the README points to it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECURITY = (ROOT / "SECURITY.md").read_text()
README = (ROOT / "README.md").read_text()
# Placeholders the lead replaces as the release's branches land.
PLACEHOLDERS = {"TODO"}


def test_every_setting_named_in_security_md_is_documented_in_the_readme() -> None:
    named = set(re.findall(r"`([A-Z][A-Z0-9_]{2,})`", SECURITY)) - PLACEHOLDERS
    assert "BUNDLE_MAX_COMPRESSED_BYTES" in named
    missing = sorted(name for name in named if f"`{name}`" not in README)
    assert not missing, f"SECURITY.md names settings the README does not document: {missing}"


def test_the_readme_links_security_md() -> None:
    assert "(SECURITY.md)" in README
