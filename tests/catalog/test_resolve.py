"""`GET …/resolve?spec=`: the one place `latest` and ranges become a concrete version."""

from __future__ import annotations

from tests.catalog.helpers import auth, published

RESOLVE = "/api/v1/skills/alice/demo/resolve"
GENERATED = ("0.0.0-git.1700000000.aaaaaaa", "0.0.0-git.1700000100.bbbbbbb")


async def _resolve(client, spec: str | None = None) -> tuple[int, dict]:
    params = {} if spec is None else {"spec": spec}
    response = await client.get(RESOLVE, params=params)
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
    return response.status_code, response.json()


async def _yank(client, version: str) -> None:
    path = f"/api/v1/skills/alice/demo/versions/{version}/yank"
    response = await client.post(path, json={"reason": "broken"}, headers=auth("alice"))
    assert response.status_code == 200, response.text


async def test_only_generated_prereleases_resolve_by_name_until_a_release(client) -> None:
    for version in GENERATED:
        await published(client, "demo", version)
    for spec in (None, "latest", "*"):
        status, body = await _resolve(client, spec)
        assert status == 200, body
        assert body["version"] == GENERATED[1]
        assert body["digest"].startswith("sha256:")
        assert (body["namespace"], body["name"], body["yanked"]) == ("alice", "demo", False)
    # A range follows npm: pre-releases only when a term names the same major.minor.patch.
    assert (await _resolve(client, "^0.0.0"))[0] == 404
    status, body = await _resolve(client, f">={GENERATED[0]}")
    assert (status, body["version"]) == (200, GENERATED[1])

    await published(client, "demo", "0.1.0")
    for spec in (None, "latest", "*", "^0.1", "0.1.x"):
        status, body = await _resolve(client, spec)
        assert (status, body["version"]) == (200, "0.1.0"), spec


async def test_ranges_pick_the_highest_non_yanked_match(client) -> None:
    for version in ("1.0.0", "1.1.0", "1.2.0", "1.3.0-beta.1", "2.0.0"):
        await published(client, "demo", version)
    await _yank(client, "1.2.0")
    cases = {
        "^1.0.0": "1.1.0",  # 1.2.0 is yanked, 1.3.0-beta.1 is a pre-release
        "~1.0": "1.0.0",
        ">=1.0.0,<2.0.0": "1.1.0",
        "1.x": "1.1.0",
        "^1.3.0-beta.1": "1.3.0-beta.1",
        "1.2.0": "1.2.0",  # an exact pin still reaches a yanked version
        "latest": "2.0.0",
    }
    for spec, expected in cases.items():
        status, body = await _resolve(client, spec)
        assert (status, body["version"]) == (200, expected), spec
    status, body = await _resolve(client, "1.2.0")
    assert body["yanked"] is True
    assert body["yank_reason"] == "broken"

    status, problem = await _resolve(client, "^3")
    assert status == 404
    assert problem["detail"] == "no version of alice/demo matches ^3"


async def test_everything_yanked_or_nothing_there_is_a_clear_404(client) -> None:
    await published(client, "demo", "1.0.0")
    await _yank(client, "1.0.0")
    status, problem = await _resolve(client)
    assert status == 404
    assert problem["detail"] == "no version of alice/demo matches latest"
    missing = await client.get("/api/v1/skills/alice/nope/resolve", params={"spec": "^1"})
    assert missing.status_code == 404
    assert missing.json()["detail"] == "no skill alice/nope"


async def test_a_malformed_spec_is_a_400_naming_the_parameter(client) -> None:
    await published(client, "demo", "1.0.0")
    for spec in ("^x.y", "1.0.0,", ">=1 <2 ||", "v1.0.0", "1." * 300, ",".join(["^1"] * 9)):
        status, problem = await _resolve(client, spec)
        assert status == 400, spec
        assert problem["errors"][0]["path"] == "spec"
    assert (await client.get(RESOLVE, params={"spec": "x" * 2000})).status_code == 400


async def test_the_openapi_document_describes_the_endpoint(client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    operation = paths["/api/v1/skills/{namespace}/{name}/resolve"]["get"]
    spec = next(p for p in operation["parameters"] if p["name"] == "spec")
    assert spec["in"] == "query"
    assert spec["required"] is False
    assert "range" in spec["description"]
    assert "200" in operation["responses"]
