"""Publishing moves `latest` one version at a time by the same rule a full refresh applies."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from skreg_catalog.skills.state import current_version, takes_over
from skreg_proto.semver import Version, parse_version

versions = st.builds(
    lambda major, minor, pre, build: (
        f"{major}.{minor}.0"
        + (f"-rc.{pre}" if pre is not None else "")
        + (f"+b{build}" if build else "")
    ),
    st.integers(0, 3),
    st.integers(0, 3),
    st.none() | st.integers(0, 2),
    st.integers(0, 2),
)


@given(st.lists(versions, min_size=1, max_size=12, unique=True))
def test_publishing_one_by_one_agrees_with_a_full_refresh(published: list[str]) -> None:
    current: Version | None = None
    for index, text in enumerate(published):
        candidate = parse_version(text)
        if takes_over(candidate, current):
            current = candidate
        expected = current_version((t, False) for t in published[: index + 1])
        # Equal as versions: precedence ignores build metadata (equal keeps the first).
        assert current == expected


def test_the_rules_by_example() -> None:
    v = parse_version
    assert takes_over(v("1.0.0"), None)
    assert takes_over(v("1.1.0"), v("1.0.0"))
    assert not takes_over(v("0.9.0"), v("1.0.0"))  # a backport
    assert takes_over(v("0.1.0"), v("2.0.0-rc.1"))  # any release beats a pre-release
    assert not takes_over(v("2.0.0-rc.1"), v("1.0.0"))  # pre-releases never beat a release
    assert takes_over(v("2.0.0-rc.2"), v("2.0.0-rc.1"))  # while there is no release
    assert not takes_over(v("1.0.0+build.2"), v("1.0.0+build.1"))  # equal precedence
