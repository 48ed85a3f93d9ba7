"""Semver 2.0.0 parsing, precedence, `latest` and the CLI's ranges."""

from __future__ import annotations

import itertools
import random

import pytest
from skreg_proto.semver import (
    Version,
    best_match,
    is_prerelease,
    latest,
    parse_range,
    parse_version,
)

SEMVER_ORG_CHAIN = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
]


def test_semver_org_precedence_chain():
    versions = [parse_version(text) for text in SEMVER_ORG_CHAIN]
    for lower, higher in itertools.pairwise(versions):
        assert lower < higher
        assert higher > lower
        assert lower != higher
        assert not higher <= lower
    shuffled = versions[:]
    random.Random(7).shuffle(shuffled)
    assert [str(v) for v in sorted(shuffled)] == SEMVER_ORG_CHAIN


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("1.0.0", "2.0.0"),
        ("2.0.0", "2.1.0"),
        ("2.1.0", "2.1.1"),
        ("1.9.0", "1.10.0"),  # numeric, not lexical
        ("1.0.0-2", "1.0.0-10"),  # numeric identifiers compare as numbers
        ("1.0.0-999", "1.0.0-a"),  # numeric below alphanumeric
        ("1.0.0-rc.1", "1.0.0-rc.1.0"),  # more identifiers win on an equal prefix
        ("1.0.0-Z", "1.0.0-a"),  # ASCII order
        ("1.0.0", "1.0.1-alpha"),
    ],
)
def test_precedence_pairs(lower, higher):
    assert parse_version(lower) < parse_version(higher)


@pytest.mark.parametrize(
    "text",
    [
        "0.0.0",
        "1.2.3",
        "10.20.30",
        "1.1.2-prerelease+meta",
        "1.0.0-alpha.beta.1",
        "1.0.0-alpha-a.b-c-somethinglong+build.1-aef.1-its-okay",
        "1.2.3----RC-SNAPSHOT.12.9.1--.12+788",
        "1.0.0+0.build.1-rc.10000aaa-kk-0.1",
        "99999999999999999999999.999999999999999999.99999999999999999",
        "1.0.0-0A.is.legal",
        "1.0.0-0-0",
    ],
)
def test_valid_versions_round_trip(text):
    assert str(parse_version(text)) == text


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("1.2", "three numbers"),
        ("1", "three numbers"),
        ("1.2.3.4", "three numbers"),
        ("v1.2.3", "leading 'v'"),
        ("01.2.3", "leading zeros"),
        ("1.02.3", "leading zeros"),
        ("1.2.03", "leading zeros"),
        ("1.2.3-01", "without leading zeros"),
        ("1.2.3-", "non-empty"),
        ("1.2.3-alpha..1", "non-empty"),
        ("1.2.3+", "non-empty"),
        ("1.2.3+a..b", "non-empty"),
        ("1.2.3-alpha_beta", "[0-9A-Za-z-]"),
        ("", "three numbers"),
        (" 1.2.3", "three numbers"),
        ("1.2.3\n", "three numbers"),
        ("١.٢.٣", "three numbers"),  # non-ASCII digits
        ("-1.2.3", "three numbers"),
    ],
)
def test_invalid_versions(text, hint):
    with pytest.raises(ValueError, match="invalid version") as info:
        parse_version(text)
    assert hint in str(info.value)
    assert repr(text) in str(info.value)


def test_overlong_version_is_rejected():
    assert str(parse_version("1.0.0-" + "a" * 250)).endswith("a")
    with pytest.raises(ValueError, match="longer than 256 characters"):
        parse_version("1.0.0-" + "a" * 251)
    with pytest.raises(ValueError, match="longer than 256 characters"):
        parse_version("9" * 5000 + ".0.0")


def test_build_metadata_is_kept_but_ignored_for_precedence_and_equality():
    a, b = parse_version("1.0.0+build.1"), parse_version("1.0.0+build.2")
    assert str(a) == "1.0.0+build.1"
    assert a.build == ("build", "1")
    assert a == b
    assert hash(a) == hash(b)
    assert not a < b
    assert not b < a
    assert parse_version("1.0.0-rc.1+x") < parse_version("1.0.0")


def test_equality_matches_ordering_and_ignores_other_types():
    assert parse_version("1.0.0") == parse_version("1.0.0")
    assert parse_version("1.0.0") != "1.0.0"
    assert len({parse_version("1.0.0"), parse_version("1.0.0+a"), parse_version("1.0.1")}) == 2
    with pytest.raises(TypeError):
        _ = parse_version("1.0.0") < "2.0.0"


def test_is_prerelease():
    assert is_prerelease("1.0.0-rc.1")
    assert not is_prerelease("1.0.0+build")
    assert parse_version("0.0.0-git.20240101000000.abc1234").is_prerelease


def test_latest_skips_yanked_and_prereleases():
    versions = [
        ("1.0.0", False),
        ("1.10.0", False),
        ("1.9.0", False),
        ("2.0.0", True),  # yanked
        ("2.1.0-rc.1", False),  # prerelease
    ]
    assert latest(versions) == parse_version("1.10.0")
    assert str(latest([(parse_version("0.1.0"), False)])) == "0.1.0"


def test_latest_is_none_without_candidates():
    assert latest([]) is None
    assert latest([("1.0.0", True), ("2.0.0-beta", False)]) is None


def test_latest_rejects_invalid_text():
    with pytest.raises(ValueError, match="invalid version"):
        latest([("1.0", False)])


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        ("1.2.3", "=1.2.3"),
        ("=1.2.3", "=1.2.3"),
        ("^1.2.3", ">=1.2.3,<2.0.0"),
        ("^0.2.3", ">=0.2.3,<0.3.0"),
        ("^0.0.3", ">=0.0.3,<0.0.4"),
        ("~1.2.3", ">=1.2.3,<1.3.0"),
        ("~0.0.3", ">=0.0.3,<0.1.0"),
        (">=1.0.0,<2.0.0", ">=1.0.0,<2.0.0"),
        (" >= 1.0.0 , < 2.0.0 ", ">=1.0.0,<2.0.0"),
        ("*", "*"),
        ("latest", "*"),
        ("1.x", ">=1.0.0,<2.0.0"),
        ("1.2.*", ">=1.2.0,<1.3.0"),
        ("1.2", ">=1.2.0,<1.3.0"),
        ("1", ">=1.0.0,<2.0.0"),
        ("^1", ">=1.0.0,<2.0.0"),
        ("^1.2", ">=1.2.0,<2.0.0"),
        ("^0", ">=0.0.0,<1.0.0"),
        ("^0.0", ">=0.0.0,<0.1.0"),
        ("~1", ">=1.0.0,<2.0.0"),
        ("~1.2", ">=1.2.0,<1.3.0"),
        (">1.2", ">=1.3.0"),
        (">=1.2", ">=1.2.0"),
        ("<2", "<2.0.0"),
        ("<=1.2", "<1.3.0"),
        ("^1.2.3-beta.1", ">=1.2.3-beta.1,<2.0.0"),
    ],
)
def test_parse_range_desugars(text, normalised):
    assert str(parse_range(text)) == normalised


@pytest.mark.parametrize(
    "text",
    ["", "1.2,", "v1.2.3", "^^1.2.3", "1.x.3", "01.2", ">*", "<x", "abc", "1.2.3 || 2.0.0"],
)
def test_parse_range_rejects(text):
    with pytest.raises(ValueError, match=r"invalid range|matches nothing"):
        parse_range(text)


@pytest.mark.parametrize(
    ("range_text", "inside", "outside"),
    [
        ("^1.2.3", ["1.2.3", "1.9.9", "1.2.3+b"], ["1.2.2", "2.0.0", "1.3.0-beta", "2.0.0-rc.1"]),
        ("~1.2.3", ["1.2.3", "1.2.99"], ["1.3.0", "1.2.2"]),
        ("1.2.3", ["1.2.3", "1.2.3+build"], ["1.2.4", "1.2.3-rc.1"]),
        ("1.2", ["1.2.0", "1.2.7"], ["1.3.0", "1.1.9"]),
        (">=1.0.0,<2.0.0", ["1.0.0", "1.99.0"], ["2.0.0", "0.9.0", "1.5.0-alpha"]),
        ("*", ["0.0.1", "99.0.0"], ["1.0.0-alpha"]),
        (
            "^1.2.3-beta.2",
            ["1.2.3-beta.2", "1.2.3-beta.10", "1.2.3", "1.4.0"],
            ["1.2.3-beta.1", "1.2.4-alpha", "1.2.3-alpha"],
        ),
        ("1.0.0-rc.1", ["1.0.0-rc.1"], ["1.0.0", "1.0.0-rc.2"]),
    ],
)
def test_range_matches(range_text, inside, outside):
    range_ = parse_range(range_text)
    for text in inside:
        assert range_.matches(text), text
    for text in outside:
        assert not range_.matches(parse_version(text)), text


def test_best_match_prefers_highest_non_yanked():
    versions = [
        ("1.0.0", False),
        ("1.4.0", False),
        ("1.5.0", True),
        ("1.6.0-rc.1", False),
        ("2.0.0", False),
    ]
    assert best_match("^1.0.0", versions) == parse_version("1.4.0")
    assert best_match(parse_range("*"), versions) == parse_version("2.0.0")
    assert best_match("latest", versions) == parse_version("2.0.0")
    assert best_match("^3", versions) is None
    assert best_match(">=1.6.0-rc.1,<2.0.0", versions) == parse_version("1.6.0-rc.1")


def test_best_match_returns_yanked_only_for_an_exact_pin():
    versions = [("1.0.0", False), ("1.5.0", True)]
    assert best_match("1.5.0", versions) == parse_version("1.5.0")
    assert best_match("=1.5.0", versions) == parse_version("1.5.0")
    assert best_match("^1.5.0", versions) is None
    assert best_match("1.5", versions) is None


def test_version_fields():
    version = parse_version("1.2.3-rc.1+sha.5114f85")
    assert version == Version(1, 2, 3, ("rc", "1"))
    assert version.core == (1, 2, 3)
    assert version.prerelease == ("rc", "1")
    assert version.build == ("sha", "5114f85")
