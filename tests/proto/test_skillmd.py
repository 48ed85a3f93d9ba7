"""SKILL.md parsing and validation, both modes, including hostile input."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skreg_proto.problems import FieldProblem, FormatError
from skreg_proto.skillmd import ParseMode, SkillDocument, parse_skill_md

STRICT, LENIENT = ParseMode.STRICT, ParseMode.LENIENT
BOTH = pytest.mark.parametrize("mode", [STRICT, LENIENT])
VALID = "name: my-skill\ndescription: Does a useful thing.\n"


def skill_md(fields: str = VALID, body: str = "# Title\n\nBody text.\n") -> str:
    return f"---\n{fields}---\n{body}"


def parse(fields: str, mode: ParseMode = STRICT, **kwargs: object) -> SkillDocument:
    return parse_skill_md(skill_md(fields), mode=mode, **kwargs)  # type: ignore[arg-type]


def problems_of(
    data: str | bytes, mode: ParseMode = STRICT, **kwargs: object
) -> list[FieldProblem]:
    with pytest.raises(FormatError) as info:
        parse_skill_md(data, mode=mode, **kwargs)  # type: ignore[arg-type]
    assert info.value.problems, "a FormatError must carry at least one problem"
    return info.value.problems


def paths_of(fields: str, mode: ParseMode = STRICT, **kwargs: object) -> list[str]:
    return [p.path for p in problems_of(skill_md(fields), mode, **kwargs)]


def warning_paths(doc: SkillDocument) -> list[str]:
    return [w.path for w in doc.warnings]


# --- valid documents -------------------------------------------------------------------------


@BOTH
def test_minimal_document(mode: ParseMode) -> None:
    doc = parse(VALID, mode)
    assert doc.name == "my-skill"
    assert doc.description == "Does a useful thing."
    assert doc.body == "# Title\n\nBody text.\n"
    assert (doc.license, doc.compatibility, doc.allowed_tools) == (None, None, None)
    assert (doc.metadata, doc.version, doc.tags, doc.author) == ({}, None, [], None)
    assert doc.frontmatter == {"name": "my-skill", "description": "Does a useful thing."}
    assert doc.warnings == []


@BOTH
def test_full_document(mode: ParseMode) -> None:
    fields = (
        VALID + "license: Apache-2.0\n"
        "compatibility: Needs git and Python 3.11\n"
        "allowed-tools: Bash(git:*) Read\n"
        "metadata:\n"
        "  version: 1.2.0\n"
        "  tags: 'Python, testing  python,CLI'\n"
        "  author: Ada\n"
    )
    doc = parse(fields, mode)
    assert doc.license == "Apache-2.0"
    assert doc.compatibility == "Needs git and Python 3.11"
    assert doc.allowed_tools == "Bash(git:*) Read"
    assert doc.metadata == {
        "version": "1.2.0",
        "tags": "Python, testing  python,CLI",
        "author": "Ada",
    }
    assert (doc.version, doc.author) == ("1.2.0", "Ada")
    assert doc.tags == ["python", "testing", "cli"]
    assert doc.frontmatter["allowed-tools"] == "Bash(git:*) Read"
    assert doc.frontmatter["metadata"] == doc.metadata
    assert doc.warnings == []


@BOTH
@pytest.mark.parametrize(
    ("closing", "body", "expected_body"),
    [
        ("---", "\nbody\n", "body\n"),
        ("---   ", "\nbody\n", "body\n"),
        ("---", "", ""),
        ("---", "\ntext\n---\nmore\n", "text\n---\nmore\n"),
    ],
)
def test_body_after_closing_line(
    mode: ParseMode, closing: str, body: str, expected_body: str
) -> None:
    doc = parse_skill_md(f"---\n{VALID}{closing}{body}", mode=mode)
    assert doc.body == expected_body


# --- name --------------------------------------------------------------------------------------


@BOTH
@pytest.mark.parametrize("name", ["a", "0", "a-b", "my-skill-2", "a" * 64, "9lives"])
def test_valid_names(mode: ParseMode, name: str) -> None:
    assert parse(f"name: '{name}'\ndescription: d\n", mode).name == name


@BOTH
@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("'" + "a" * 65 + "'", "at most 64"),
        ("-a", "start or end"),
        ("a-", "start or end"),
        ("'-'", "start or end"),
        ("a--b", "'--'"),
        ("My-Skill", "lowercase"),
        ("my_skill", "lowercase"),
        ("my skill", "lowercase"),
        ("a.b", "lowercase"),
        ("café", "lowercase"),
        ("ｍｙ", "lowercase"),
        ("'١٢'", "lowercase"),
        ("''", "empty"),
    ],
)
def test_invalid_names(mode: ParseMode, name: str, message: str) -> None:
    problems = problems_of(skill_md(f"name: {name}\ndescription: d\n"), mode)
    assert [p.path for p in problems] == ["frontmatter.name"]
    assert message in problems[0].message


@BOTH
def test_name_must_equal_expected_name(mode: ParseMode) -> None:
    assert parse(VALID, mode, expected_name="my-skill").name == "my-skill"


def test_a_name_that_differs_from_its_folder_is_refused_strictly_and_warned_leniently() -> None:
    problems = problems_of(skill_md(), STRICT, expected_name="other-skill")
    assert [p.path for p in problems] == ["frontmatter.name"]
    assert problems[0].message == (
        "must equal the skill's name 'other-skill' (its folder), but the field `name` is "
        "'my-skill': rename the folder to 'my-skill' or set `name: other-skill`"
    )
    doc = parse(VALID, LENIENT, expected_name="other-skill")
    assert doc.name == "my-skill"  # imports take the frontmatter name
    assert warning_paths(doc) == ["frontmatter.name"]
    assert "the folder is 'other-skill' but the field `name` is 'my-skill'" in str(doc.warnings)


@BOTH
def test_name_and_description_required(mode: ParseMode) -> None:
    problems = problems_of(skill_md("license: MIT\n"), mode)
    assert {(p.path, p.message) for p in problems} == {
        ("frontmatter.name", "is required"),
        ("frontmatter.description", "is required"),
    }


@BOTH
@pytest.mark.parametrize("value", ["[my-skill]", "{a: b}", "", "~", "null"])
def test_name_of_unusable_type_is_an_error_in_both_modes(mode: ParseMode, value: str) -> None:
    assert paths_of(f"name: {value}\ndescription: d\n", mode) == ["frontmatter.name"]


@pytest.mark.parametrize(
    ("value", "text"),
    [("123", "123"), ("yes", "yes"), ("2024-01-02", "2024-01-02"), ("0x1f", "0x1f")],
)
def test_non_string_name_strict_rejects_lenient_coerces(value: str, text: str) -> None:
    fields = f"name: {value}\ndescription: d\n"
    assert paths_of(fields, STRICT) == ["frontmatter.name"]
    assert "must be a string" in problems_of(skill_md(fields))[0].message
    doc = parse(fields, LENIENT)
    assert doc.name == text
    assert warning_paths(doc) == ["frontmatter.name"]


# --- description ---------------------------------------------------------------------------


@BOTH
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("x", "x"),
        ("'  padded  '", "padded"),
        ("'" + "d" * 1024 + "'", "d" * 1024),
        ("'   " + "d" * 1024 + "   '", "d" * 1024),
        ("|\n  Line one.\n  Line two.\n", "Line one.\nLine two."),
    ],
)
def test_valid_descriptions(mode: ParseMode, value: str, expected: str) -> None:
    doc = parse(f"name: my-skill\ndescription: {value}\n", mode)
    assert doc.description == expected
    assert doc.frontmatter["description"] == expected


@BOTH
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("''", "empty"),
        ("'   '", "empty"),
        ("[a]", "string"),
    ],
)
def test_invalid_descriptions(mode: ParseMode, value: str, message: str) -> None:
    problems = problems_of(skill_md(f"name: my-skill\ndescription: {value}\n"), mode)
    assert [p.path for p in problems] == ["frontmatter.description"]
    assert message in problems[0].message


def test_long_descriptions_are_refused_strictly_and_cut_leniently() -> None:
    fields = "name: my-skill\ndescription: '" + "d" * 1025 + "'\n"
    problems = problems_of(skill_md(fields), STRICT)
    assert [(p.path, p.message) for p in problems] == [
        ("frontmatter.description", "must be at most 1024 characters, not 1025")
    ]
    doc = parse(fields, LENIENT)
    assert doc.description == "d" * 1023 + "\u2026"
    assert warning_paths(doc) == ["frontmatter.description"]
    assert "cut to 1024" in doc.warnings[0].message


# --- optional fields ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["license", "compatibility", "allowed-tools"])
@pytest.mark.parametrize("value", ["1", "true", "~", "{a: b}"])
def test_optional_strings_of_wrong_type(key: str, value: str) -> None:
    fields = f"{VALID}{key}: {value}\n"
    assert paths_of(fields, STRICT) == [f"frontmatter.{key}"]
    doc = parse(fields, LENIENT)
    assert warning_paths(doc) == [f"frontmatter.{key}"]


def test_lenient_coerces_scalar_license_and_drops_mapping() -> None:
    assert parse(f"{VALID}license: 2.0\n", LENIENT).license == "2.0"
    doc = parse(f"{VALID}license: {{spdx: MIT}}\n", LENIENT)
    assert doc.license is None
    assert "license" not in doc.frontmatter


def test_compatibility_length() -> None:
    ok = parse(f"{VALID}compatibility: '{'c' * 500}'\n")
    assert ok.compatibility == "c" * 500
    long = f"{VALID}compatibility: '{'c' * 501}'\n"
    assert paths_of(long, STRICT) == ["frontmatter.compatibility"]
    doc = parse(long, LENIENT)
    assert doc.compatibility == "c" * 501
    assert warning_paths(doc) == ["frontmatter.compatibility"]


def test_allowed_tools_list_rejected_strict_joined_lenient() -> None:
    fields = f"{VALID}allowed-tools: [Read, Grep, 'Bash(git:*)']\n"
    assert paths_of(fields, STRICT) == ["frontmatter.allowed-tools"]
    doc = parse(fields, LENIENT)
    assert doc.allowed_tools == "Read Grep Bash(git:*)"
    assert warning_paths(doc) == ["frontmatter.allowed-tools"]


# --- metadata ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["[a, b]", "text", "1", "~"])
def test_metadata_must_be_a_mapping(value: str) -> None:
    fields = f"{VALID}metadata: {value}\n"
    assert paths_of(fields, STRICT) == ["frontmatter.metadata"]
    doc = parse(fields, LENIENT)
    assert doc.metadata == {}
    assert warning_paths(doc) == ["frontmatter.metadata"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("1.10", "1.10"),
        ("2", "2"),
        ("true", "true"),
        ("2024-01-02", "2024-01-02"),
        ("0755", "0755"),
    ],
)
def test_metadata_values_must_be_strings(value: str, text: str) -> None:
    fields = f"{VALID}metadata:\n  version: {value}\n  author: Ada\n"
    assert paths_of(fields, STRICT) == ["frontmatter.metadata.version"]
    doc = parse(fields, LENIENT)
    assert doc.metadata == {"version": text, "author": "Ada"}
    assert doc.version == text
    assert warning_paths(doc) == ["frontmatter.metadata.version"]


def test_metadata_nested_values_and_non_string_keys() -> None:
    fields = f"{VALID}metadata:\n  nested: {{a: b}}\n  1: one\n  tags: [A, b]\n"
    assert sorted(paths_of(fields, STRICT)) == [
        "frontmatter.metadata.1",
        "frontmatter.metadata.nested",
        "frontmatter.metadata.tags",
    ]
    doc = parse(fields, LENIENT)
    assert doc.metadata == {"1": "one", "tags": "A, b"}
    assert doc.tags == ["a", "b"]
    assert sorted(warning_paths(doc)) == [
        "frontmatter.metadata.1",
        "frontmatter.metadata.nested",
        "frontmatter.metadata.tags",
    ]


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ("python", ["python"]),
        ("'Python, python  CLI,,cli'", ["python", "cli"]),
        ("'b a b'", ["b", "a"]),
        ("''", []),
    ],
)
def test_metadata_tags_normalised(tags: str, expected: list[str]) -> None:
    assert parse(f"{VALID}metadata:\n  tags: {tags}\n").tags == expected


# --- unknown keys and lenient extras -----------------------------------------------------------


@pytest.mark.parametrize("key", ["version", "tags", "author", "foo", "Name", "1", "'<<'"])
def test_strict_rejects_unknown_top_level_keys(key: str) -> None:
    paths = paths_of(f"{VALID}{key}: x\n", STRICT)
    assert paths == [f"frontmatter.{key.strip(chr(39))}"]


def test_strict_points_extras_at_metadata() -> None:
    problems = problems_of(skill_md(f"{VALID}version: 1.0.0\n"), STRICT)
    assert problems[0].message.endswith("use metadata.version")


def test_lenient_accepts_extras_with_warnings() -> None:
    fields = f"{VALID}version: 1.10\ntags: [1, 2, Two, two]\nauthor: Ada\nfoo: {{bar: [1, x]}}\n"
    doc = parse(fields, LENIENT)
    assert doc.version == "1.10"
    assert doc.tags == ["1", "2", "two"]
    assert doc.author == "Ada"
    assert doc.metadata == {}
    assert doc.frontmatter["version"] == "1.10"
    assert doc.frontmatter["tags"] == ["1", "2", "Two", "two"]
    assert doc.frontmatter["foo"] == {"bar": [1, "x"]}
    assert set(warning_paths(doc)) >= {
        "frontmatter.version",
        "frontmatter.tags",
        "frontmatter.author",
        "frontmatter.foo",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.10", "1.10"),
        ("1.0", "1.0"),
        ("2", "2"),
        ("1.2.3", "1.2.3"),
        ("'1.10'", "1.10"),
        ("1e3", "1e3"),
        ("0.10.0-beta", "0.10.0-beta"),
    ],
)
def test_lenient_version_keeps_source_text(value: str, expected: str) -> None:
    assert parse(f"{VALID}version: {value}\n", LENIENT).version == expected


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ("[1, 2]", ["1", "2"]),
        ("[1.10, true, ~]", ["1.10", "true"]),
        ("'Alpha, beta'", ["alpha", "beta"]),
        ("[[nested], ok]", ["ok"]),
        ("{a: b}", []),
    ],
)
def test_lenient_tags_of_odd_types(tags: str, expected: list[str]) -> None:
    assert parse(f"{VALID}tags: {tags}\n", LENIENT).tags == expected


def test_metadata_version_wins_and_tags_from_every_place_merge() -> None:
    fields = (
        f"{VALID}version: 9.9.9\ntags: [old, new]\nkeywords: Search\n"
        "metadata:\n  version: 1.0.0\n  tags: new\n"
    )
    doc = parse(fields, LENIENT)
    assert (doc.version, doc.tags) == ("1.0.0", ["new", "old", "search"])
    assert "frontmatter.keywords" in warning_paths(doc)
    assert "frontmatter.keywords" in paths_of(fields, STRICT)


def test_lenient_frontmatter_is_json_safe() -> None:
    fields = (
        f"{VALID}extra:\n  date: 2020-01-01\n  when: 2020-01-01 10:00:00\n"
        "  float: 1.50\n  inf: .inf\n  yes: yes\n  none: ~\n  int: 3\n  octal: 0755\n"
        "  huge: 123456789012345678901234567890\n"
    )
    doc = parse(fields, LENIENT)
    assert doc.frontmatter["extra"] == {
        "date": "2020-01-01",
        "when": "2020-01-01 10:00:00",
        "float": "1.50",
        "inf": ".inf",
        "yes": True,
        "none": None,
        "int": 3,
        "octal": "0755",
        "huge": "123456789012345678901234567890",
    }
    assert msgspec.json.decode(msgspec.json.encode(doc.frontmatter)) == doc.frontmatter


# --- every problem at once ---------------------------------------------------------------------


def test_strict_reports_every_problem_at_once() -> None:
    fields = (
        "name: Bad--Name\n"
        f"description: '{'d' * 1025}'\n"
        "unknown: 1\n"
        "compatibility: [x]\n"
        "metadata:\n  version: 1.0\n"
    )
    assert sorted(paths_of(fields, STRICT)) == [
        "frontmatter.compatibility",
        "frontmatter.description",
        "frontmatter.metadata.version",
        "frontmatter.name",
        "frontmatter.unknown",
    ]


def test_three_problems_give_three_field_problems() -> None:
    fields = f"name: -bad\ndescription: '{'d' * 2000}'\nfoo: bar\n"
    with pytest.raises(FormatError) as info:
        parse_skill_md(skill_md(fields), mode=STRICT)
    assert len(info.value.problems) == 3
    assert info.value.detail == "3 problems found"


def test_lenient_reports_every_error_but_only_errors() -> None:
    fields = "name: Bad Name\ndescription: ''\nversion: 1.0\nfoo: bar\n"
    assert sorted(paths_of(fields, LENIENT)) == ["frontmatter.description", "frontmatter.name"]


# --- encoding and line ends --------------------------------------------------------------------


@BOTH
@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf" + skill_md().encode(),
        "\ufeff" + skill_md(),
        skill_md().replace("\n", "\r\n").encode(),
        skill_md().replace("\n", "\r"),
        "\ufeff" + skill_md().replace("\n", "\r\n"),
    ],
    ids=["bom-bytes", "bom-str", "crlf", "cr", "bom-crlf"],
)
def test_bom_and_line_ends_accepted(mode: ParseMode, data: str | bytes) -> None:
    doc = parse_skill_md(data, mode=mode)
    assert (doc.name, doc.description) == ("my-skill", "Does a useful thing.")
    assert doc.body == "# Title\n\nBody text.\n"


@BOTH
@pytest.mark.parametrize(
    "data",
    [b"---\nname: \xff\n---\n", b"---\nname: a\n---\n\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf---"],
)
def test_invalid_utf8(mode: ParseMode, data: bytes) -> None:
    problems = problems_of(data, mode)
    assert [p.path for p in problems] == ["SKILL.md"]
    assert "UTF-8" in problems[0].message


@BOTH
@pytest.mark.parametrize(
    "data", ["\ud800", "---\nname: a\ndescription: \ud800\n---\n", "---\nname: a\x00\n---\n"]
)
def test_unencodable_or_control_characters_are_format_errors(mode: ParseMode, data: str) -> None:
    problems_of(data, mode)


# --- frontmatter delimiters and size -----------------------------------------------------------


@BOTH
@pytest.mark.parametrize(
    "data",
    [
        "",
        "# Just markdown\n",
        f"\n---\n{VALID}---\n",
        f"--- x\n{VALID}---\n",
        f"{VALID}---\n",
        "--",
    ],
)
def test_missing_opening_line(mode: ParseMode, data: str) -> None:
    problems = problems_of(data, mode)
    assert [p.path for p in problems] == ["SKILL.md"]
    assert "must start with" in problems[0].message


@BOTH
@pytest.mark.parametrize(
    "data", ["---", "---\n", f"---\n{VALID}", f"---\n{VALID}-- \n", f"---\n{VALID}----\n"]
)
def test_missing_closing_line(mode: ParseMode, data: str) -> None:
    problems = problems_of(data, mode)
    assert [p.path for p in problems] == ["SKILL.md"]
    assert "closing" in problems[0].message


@BOTH
def test_frontmatter_over_the_limit_is_refused_unparsed(mode: ParseMode) -> None:
    # Deliberately broken YAML: a size problem, not a YAML error, proves it was never parsed.
    big = VALID + "x: [" * 40_000 + "\n"
    problems = problems_of(skill_md(big), mode)
    assert [p.path for p in problems] == ["frontmatter"]
    assert "larger than 65536 bytes" in problems[0].message


@BOTH
def test_frontmatter_limit_counts_bytes_not_characters(mode: ParseMode) -> None:
    fields = f"{VALID}metadata:\n  author: {'é' * 40}\n"
    size = len(fields.encode())
    assert parse(fields, mode, max_frontmatter_bytes=size).metadata["author"] == "é" * 40
    problems = problems_of(skill_md(fields), mode, max_frontmatter_bytes=size - 1)
    assert [p.path for p in problems] == ["frontmatter"]


# --- hostile YAML ------------------------------------------------------------------------------


BILLION_LAUGHS = (
    VALID
    + "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
)


@BOTH
def test_alias_bomb_is_rejected(mode: ParseMode) -> None:
    problems = problems_of(skill_md(BILLION_LAUGHS), mode)
    assert [p.path for p in problems] == ["frontmatter"]
    assert "expands to more than" in problems[0].message


@BOTH
def test_too_many_aliases_rejected(mode: ParseMode) -> None:
    fields = f"{VALID}x: &x 1\ny: [{', '.join(['*x'] * 101)}]\n"
    problems = problems_of(skill_md(fields), mode)
    assert [p.path for p in problems] == ["frontmatter"]
    assert "aliases" in problems[0].message


def test_a_few_aliases_are_fine() -> None:
    doc = parse(f"{VALID}base: &b {{k: v}}\ncopy: *b\nlist: [*b, *b]\n", LENIENT)
    assert doc.frontmatter["copy"] == {"k": "v"}
    assert doc.frontmatter["list"] == [{"k": "v"}, {"k": "v"}]


@BOTH
@pytest.mark.parametrize("fields", ["a: *nowhere\n", "a: &a [*a]\n"])
def test_undefined_or_recursive_alias(mode: ParseMode, fields: str) -> None:
    problems = problems_of(skill_md(VALID + fields), mode)
    assert "refers to no earlier anchor" in problems[0].message


@BOTH
@pytest.mark.parametrize(
    ("fields", "path"),
    [
        ("name: my-skill\nname: my-skill\ndescription: d\n", "frontmatter.name"),
        (f"{VALID}metadata:\n  version: '1'\n  version: '2'\n", "frontmatter.metadata.version"),
        (f"{VALID}metadata: {{a: x, a: x}}\n", "frontmatter.metadata.a"),
        (f"{VALID}x: [{{k: 1, k: 2}}]\n", "frontmatter.x[0].k"),
        (f"{VALID}metadata:\n  1: a\n  '1': b\n", "frontmatter.metadata.1"),
    ],
)
def test_duplicate_keys(mode: ParseMode, fields: str, path: str) -> None:
    problems = problems_of(skill_md(fields), mode)
    duplicates = [p for p in problems if "duplicate key" in p.message]
    assert [p.path for p in duplicates] == [path]


def test_duplicate_key_reported_with_other_problems() -> None:
    fields = "name: BAD\nname: also-bad-\ndescription: d\n"
    assert paths_of(fields, STRICT) == ["frontmatter.name", "frontmatter.name"]


@BOTH
@pytest.mark.parametrize(
    ("fields", "what"),
    [
        ("", "empty"),
        ("# only a comment\n", "empty"),
        ("- name: a\n- description: b\n", "a list"),
        ("just text\n", "a string"),
        ("42\n", "a number"),
        ("~\n", "null"),
    ],
)
def test_frontmatter_must_be_a_mapping(mode: ParseMode, fields: str, what: str) -> None:
    problems = problems_of(skill_md(fields), mode)
    assert [(p.path, p.message) for p in problems] == [
        ("frontmatter", f"must be a mapping of fields, not {what}")
    ]


@BOTH
@pytest.mark.parametrize(
    "value",
    [
        "!!python/object/apply:os.system ['echo pwned']",
        "!!python/object/new:os.system ['echo pwned']",
        "!!python/name:os.system",
        "!!python/object:collections.OrderedDict {}",
        "!!python/tuple [a, b]",
        "!!binary aGVsbG8=",
        "!!set {a, b}",
        "!!omap [a: 1]",
        "!custom thing",
        "!<tag:example.com,2024:x> y",
    ],
)
def test_object_and_unknown_tags_are_problems(mode: ParseMode, value: str) -> None:
    problems = problems_of(skill_md(f"{VALID}metadata:\n  x: {value}\n"), mode)
    tagged = [p for p in problems if "unsupported YAML tag" in p.message]
    assert [p.path for p in tagged] == ["frontmatter.metadata.x"]


def test_core_schema_tags_are_allowed() -> None:
    doc = parse(f"{VALID}metadata:\n  version: !!str 1.10\n  n: !!str 3\n")
    assert doc.metadata == {"version": "1.10", "n": "3"}


@pytest.mark.parametrize("value", ["!!int '5'", "!!float '1.10'", "!!bool 'yes'", "!!null ''"])
def test_explicit_core_tags_keep_their_type(value: str) -> None:
    fields = f"{VALID}metadata:\n  n: {value}\n"
    assert paths_of(fields, STRICT) == ["frontmatter.metadata.n"]
    assert warning_paths(parse(fields, LENIENT)) == ["frontmatter.metadata.n"]


def test_tag_directive_cannot_smuggle_python_tags() -> None:
    data = f"---\n%TAG !p! tag:yaml.org,2002:python/\n---\n{VALID}x: !p!name:os.system\n---\n"
    problems_of(data, LENIENT)


@BOTH
@pytest.mark.parametrize(
    "fields",
    [
        VALID + "x: " + "[" * 40 + "]" * 40 + "\n",
        VALID + "x: " + "{a: " * 40 + "1" + "}" * 40 + "\n",
        VALID + "".join(" " * i + "k:\n" for i in range(40)),
        VALID + "x: " + "[" * 5000 + "]" * 5000 + "\n",
        VALID + "x: " + "[" * 30_000 + "\n",
        VALID + "a: &a " + "[" * 20 + "]" * 20 + "\nb: " + "[" * 20 + "*a" + "]" * 20 + "\n",
    ],
    ids=["flow-seq", "flow-map", "block", "past-recursion-limit", "unclosed", "via-alias"],
)
def test_deep_nesting_refused(mode: ParseMode, fields: str) -> None:
    problems = problems_of(skill_md(fields), mode, max_frontmatter_bytes=1 << 20)
    assert [p.path for p in problems] == ["frontmatter"]
    assert "nested deeper than" in problems[0].message


def test_moderate_nesting_is_fine() -> None:
    doc = parse(VALID + "x: " + "[" * 10 + "1" + "]" * 10 + "\n", LENIENT)
    value = doc.frontmatter["x"]
    for _ in range(10):
        value = value[0]
    assert value == 1


@BOTH
@pytest.mark.parametrize(
    ("fields", "line"),
    [
        ("name: a\ndescription: b\nx: y: z\n", 4),
        ("name: a\n  bad: 1\n", 3),
        ("name: a\ndescription: [unclosed\n", 4),
        ("name:\ta\n", 2),
        ("name: a\n\tdescription: b\n", 3),
        ('name: a\ndescription: "bad \\q escape"\n', 3),
    ],
)
def test_yaml_errors_carry_the_line(mode: ParseMode, fields: str, line: int) -> None:
    problems = problems_of(skill_md(fields), mode)
    assert [p.path for p in problems] == ["frontmatter"]
    assert f"line {line}" in problems[0].message


@BOTH
@pytest.mark.parametrize(
    "fields",
    [
        'name: "\\UFFFFFFFF"\n',
        'name: "\\U0010FFFF\\uD800"\n',
        "name: a\n...\n--- b\n",
        "? [a, b]\n: c\n" + VALID,
        "%YAML 9.9\n---\n" + VALID,
        "&a name: x\n",
    ],
)
def test_odd_yaml_is_a_format_error(mode: ParseMode, fields: str) -> None:
    problems_of(skill_md(fields), mode)


# --- fuzz: nothing but FormatError, ever -------------------------------------------------------


def outcome(data: str | bytes, mode: ParseMode) -> list[FieldProblem]:
    """The problems if parsing raised FormatError, [] if it parsed; anything else propagates."""
    try:
        parse_skill_md(data, mode=mode)
    except FormatError as exc:
        return exc.problems
    return []


YAMLISH = st.text(alphabet="-:[]{}&*!|>'\"#?,%@`~.\n\r\t \ufeff\\abnm0129é", max_size=120)


@BOTH
@settings(max_examples=150, deadline=None)
@given(fields=YAMLISH)
def test_fuzz_frontmatter_never_crashes(mode: ParseMode, fields: str) -> None:
    problems = outcome(f"---\nname: a\ndescription: b\n{fields}\n---\n", mode)
    assert all(isinstance(p, FieldProblem) for p in problems)


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=200) | YAMLISH.map(lambda s: "---\n" + s))
def test_fuzz_whole_file_never_crashes(data: bytes | str) -> None:
    for mode in ParseMode:
        assert all(isinstance(p, FieldProblem) for p in outcome(data, mode))
