"""The importer's internal endpoints: service publish (lenient, provenance) and deprecate."""

from __future__ import annotations

from typing import Any

from skreg_proto.codec import from_json, to_json
from skreg_proto.internal import (
    SERVICE_DEPRECATE_PATH,
    SERVICE_PUBLISH_PATH,
    DeprecateRequest,
    DeprecateResult,
    Provenance,
    ServicePublishRequest,
    ServicePublishResult,
)
from skreg_proto.problems import FieldProblem

from tests.catalog.helpers import auth, bundle, entry, raw_targz, user_id

JSON = {"Content-Type": "application/json"}


def _provenance(commit: str = "0123abcd" * 5, path: str = "skills/demo") -> Provenance:
    return Provenance(
        source_id="src-1",
        repository_url="https://git.example.com/team/skills.git",
        ref="main",
        commit=commit,
        path=path,
    )


async def _import(client, data: bytes, **fields: Any) -> ServicePublishResult:
    fields.setdefault("provenance", _provenance())
    message = ServicePublishRequest(
        namespace=fields.pop("namespace", "team"), bundle=data, **fields
    )
    response = await client.post(
        SERVICE_PUBLISH_PATH, content=to_json(message), headers={**JSON, **auth("importer")}
    )
    assert response.status_code == 200, response.text
    return from_json(response.content, ServicePublishResult)


async def test_created_updated_unchanged_with_provenance(client) -> None:
    first = await _import(client, bundle("demo", version="1.0.0"), owner=user_id("alice"))
    assert (first.outcome, first.namespace, first.name, first.version) == (
        "created",
        "team",
        "demo",
        "1.0.0",
    )
    same = await _import(client, bundle("demo", version="1.0.0"))
    assert same.outcome == "unchanged"
    assert same.version == "1.0.0"
    newer = await _import(
        client, bundle("demo", version="1.1.0"), provenance=_provenance("feed" * 10)
    )
    assert newer.outcome == "updated"
    assert newer.version == "1.1.0"
    version = (await client.get("/api/v1/skills/team/demo/versions/1.1.0")).json()
    assert version["provenance"]["repository_url"] == "https://git.example.com/team/skills.git"
    assert version["provenance"]["commit"] == "feed" * 10
    assert version["provenance"]["imported_at"]
    assert version["publisher"] == "importer"
    detail = (await client.get("/api/v1/skills/team/demo")).json()
    assert detail["provenance"]["path"] == "skills/demo"
    assert detail["owners"] == []  # the import knows only an internal id: never shown
    # The namespace was created for the owner named in the request: alice may publish there.
    owner = await client.post(
        "/api/v1/skills",
        content=bundle("hand-made"),
        params={"version": "1.0.0", "namespace": "team"},
        headers={"Content-Type": "application/gzip", **auth("alice")},
    )
    assert owner.status_code == 201
    detail = (await client.get("/api/v1/skills/team/demo")).json()
    assert detail["owners"] == ["alice"]  # learnt from her own publish


async def test_lenient_validation_records_warnings(client) -> None:
    data = bundle("demo", extra="version: 2.0.0\ntags: [1, 2]\nauthor: someone\n")
    result = await _import(
        client, data, warnings=[FieldProblem("skills/demo", "found by the importer")]
    )
    assert result.outcome == "created"
    assert result.version == "2.0.0"
    version = (await client.get("/api/v1/skills/team/demo/versions/2.0.0")).json()
    paths = {w["path"] for w in version["warnings"]}
    assert {"skills/demo", "frontmatter.version", "frontmatter.tags"} <= paths


async def test_generated_versions_are_releases_in_import_order(client) -> None:
    first = await _import(client, bundle("demo", description="one"))
    second = await _import(
        client, bundle("demo", description="two"), provenance=_provenance("b" * 40)
    )
    assert (first.outcome, first.version) == ("created", "0.1.0")
    assert (second.outcome, second.version) == ("updated", "0.2.0")
    versions = (await client.get("/api/v1/skills/team/demo/versions")).json()["items"]
    assert [v["version"] for v in versions] == ["0.2.0", "0.1.0"]
    assert versions[0]["provenance"]["commit"] == "b" * 40  # the commit, kept in provenance
    detail = (await client.get("/api/v1/skills/team/demo")).json()
    assert detail["latest_version"] == "0.2.0"  # a release: installable by name
    unchanged = await _import(client, bundle("demo", description="two"))
    assert (unchanged.outcome, unchanged.version) == ("unchanged", "0.2.0")
    # Generated numbers continue above anything the skill ever had, declared or not.
    await _import(client, bundle("demo", description="three", version="1.4.2"))
    after = await _import(client, bundle("demo", description="four"))
    assert after.version == "1.5.0"


async def test_old_generated_prereleases_are_superseded_by_the_next_import(client) -> None:
    legacy = "0.0.0-git.20260101120000.gabcdef0"
    old = await _import(client, bundle("demo"), version=legacy)
    assert (old.outcome, old.version) == ("created", legacy)
    # Same content, imported again: a release replaces the pre-release as latest.
    again = await _import(client, bundle("demo"))
    assert (again.outcome, again.version) == ("updated", "0.1.0")
    assert legacy in str(again.warnings)
    detail = (await client.get("/api/v1/skills/team/demo")).json()
    assert detail["latest_version"] == "0.1.0"
    assert (await _import(client, bundle("demo"))).outcome == "unchanged"
    # The old version stays valid by its exact name.
    assert (await client.get(f"/api/v1/skills/team/demo/versions/{legacy}")).status_code == 200


async def test_changed_content_under_a_held_declared_version(client) -> None:
    await _import(client, bundle("demo", version="1.0.0"))
    changed = bundle("demo", version="1.0.0", description="changed")
    conflict = await _import(client, changed)
    assert conflict.outcome == "conflict"
    message = conflict.problems[0].message
    assert "metadata.version still says 1.0.0" in message
    assert "bump metadata.version" in message
    assert "version_policy to 'generate_on_conflict'" in message
    generated = await _import(client, changed, version_policy="generate_on_conflict")
    assert (generated.outcome, generated.version) == ("updated", "1.1.0")
    assert "unchanged version 1.0.0" in str(generated.warnings)
    detail = (await client.get("/api/v1/skills/team/demo")).json()
    assert detail["latest_version"] == "1.1.0"


async def test_policy_generated_ignores_declared_versions(client) -> None:
    result = await _import(client, bundle("demo", version="not semver"), version_policy="generated")
    assert (result.outcome, result.version) == ("created", "0.1.0")


async def test_a_tag_conflict_names_the_tag(client) -> None:
    tag = Provenance(source_id="src-1", commit="c" * 40, tag="demo@2.0.0")
    await _import(client, bundle("demo"), version="2.0.0", provenance=tag)
    other = await _import(client, bundle("demo", description="x"), version="2.0.0", provenance=tag)
    assert other.outcome == "conflict"
    assert "the tag 'demo@2.0.0' names 2.0.0" in other.problems[0].message


async def test_invalid_and_conflict_are_results_not_errors(client) -> None:
    broken = bundle("demo", description="")
    invalid = await _import(client, broken)
    assert invalid.outcome == "invalid"
    assert [p.path for p in invalid.problems] == ["frontmatter.description"]
    hostile = raw_targz(
        [entry("SKILL.md", b"---\nname: x\ndescription: y\n---\n"), entry("../x", b"")]
    )
    assert (await _import(client, hostile)).outcome == "invalid"
    bad_ns = await _import(client, bundle("demo", version="1.0.0"), namespace="Bad NS")
    assert bad_ns.outcome == "invalid"
    await _import(client, bundle("demo", version="1.0.0"))
    conflict = await _import(client, bundle("demo", version="1.0.0", description="changed"))
    assert conflict.outcome == "conflict"
    assert conflict.problems
    assert (await client.get("/api/v1/skills/team/demo")).json()["latest_version"] == "1.0.0"


async def test_deprecate_and_clear_on_reimport(client) -> None:
    for name in ("keep-me", "gone"):
        await _import(client, bundle(name, version="1.0.0"))
    request = DeprecateRequest(namespace="team", source_id="src-1", keep=["keep-me"])
    response = await client.post(
        SERVICE_DEPRECATE_PATH, content=to_json(request), headers={**JSON, **auth("importer")}
    )
    assert response.status_code == 200, response.text
    assert from_json(response.content, DeprecateResult).deprecated == ["gone"]
    gone = (await client.get("/api/v1/skills/team/gone")).json()
    assert gone["deprecated"] is True
    assert gone["deprecated_reason"] == "removed upstream"
    assert (await client.get("/api/v1/skills/team/keep-me")).json()["deprecated"] is False
    search = (await client.get("/api/v1/skills", params={"q": "gone"})).json()
    assert search["items"][0]["deprecated"] is True  # still found, marked
    back = await _import(client, bundle("gone", version="1.0.0"))
    assert back.outcome == "unchanged"
    assert (await client.get("/api/v1/skills/team/gone")).json()["deprecated"] is False


async def test_deleted_skills_are_not_revived_by_imports(client) -> None:
    await _import(client, bundle("demo", version="1.0.0"))
    assert (
        await client.delete("/api/v1/skills/team/demo", headers=auth("admin"))
    ).status_code == 204
    again = await _import(client, bundle("demo", version="1.1.0"))
    assert again.outcome == "conflict"
    assert (await client.get("/api/v1/skills/team/demo")).status_code == 404


async def test_only_services_may_call(client) -> None:
    message = to_json(ServicePublishRequest(namespace="team", bundle=b"", provenance=Provenance()))
    for headers, status in (({}, 401), (auth("admin"), 403), (auth("alice"), 403)):
        response = await client.post(
            SERVICE_PUBLISH_PATH, content=message, headers={**JSON, **headers}
        )
        assert response.status_code == status
        deprecate = await client.post(
            SERVICE_DEPRECATE_PATH,
            content=to_json(DeprecateRequest(namespace="t", source_id="s", keep=[])),
            headers={**JSON, **headers},
        )
        assert deprecate.status_code == status
    garbage = await client.post(
        SERVICE_PUBLISH_PATH, content=b"{not json", headers={**JSON, **auth("importer")}
    )
    assert garbage.status_code == 400


async def test_short_declared_versions_are_padded_and_junk_is_ignored(client) -> None:
    short = await _import(client, bundle("demo", version="v2"))
    assert (short.outcome, short.version) == ("created", "2.0.0")
    assert "read as 2.0.0" in str(short.warnings)
    junk = await _import(client, bundle("other", version="latest"))
    assert (junk.outcome, junk.version) == ("created", "0.1.0")
    # A user's strict publish still refuses what is not semver.
    strict = await client.post(
        "/api/v1/skills",
        content=bundle("mine", version="1.0"),
        headers={"Content-Type": "application/gzip", **auth("alice")},
    )
    assert strict.status_code == 422


async def test_a_conflict_with_a_generated_version_says_where_it_came_from(client) -> None:
    generated = await _import(client, bundle("demo"), provenance=_provenance("a" * 40))
    assert generated.version == "0.1.0"
    tag = Provenance(source_id="src-1", commit="b" * 40, tag="v0.1.0")
    clash = await _import(
        client, bundle("demo", description="new"), version="0.1.0", provenance=tag
    )
    assert clash.outcome == "conflict"
    message = clash.problems[0].message
    assert message.startswith("0.1.0 was generated by the registry for aaaaaaaaaaaa")
    assert "the tag 'v0.1.0' names 0.1.0" in message
    # A version the author declared is theirs: no such note.
    await _import(client, bundle("mine", version="1.0.0"))
    changed = await _import(client, bundle("mine", version="1.0.0", description="x"))
    assert changed.problems[0].message.startswith("the content changed upstream")
