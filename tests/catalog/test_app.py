"""The standalone app: health, OpenAPI, the remote verifier, and a second replica."""

from __future__ import annotations

from litestar.testing import AsyncTestClient
from skreg_catalog.__main__ import app_from_environment
from skreg_catalog.settings import CatalogSettings

from tests.catalog.conftest import built_catalog
from tests.catalog.helpers import bundle, publish


async def test_health_ready_and_schema(client) -> None:
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/ready")).status_code == 200
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in (
        "/api/v1/skills",
        "/api/v1/skills/{namespace}/{name}",
        "/api/v1/skills/{namespace}/{name}/versions/{version}/download",
        "/api/v1/tags",
        "/api/v1/stats",
    ):
        assert path in paths, path
    assert not [p for p in paths if p.startswith("/internal")]  # never advertised


async def test_the_schema_documents_errors_as_problem_json(client) -> None:
    """Every error response in the OpenAPI document is what the handlers send."""
    document = (await client.get("/schema/openapi.json")).json()
    assert set(document["components"]["schemas"]["ProblemDetails"]["required"]) == {
        "title",
        "status",
    }
    operations = [
        operation
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) >= 10
    errors = 0
    for operation in operations:
        responses = operation["responses"]
        assert "default" in responses, operation["summary"]
        for code, response in responses.items():
            if code == "default" or code[0] in "45":
                errors += 1
                assert list(response["content"]) == ["application/problem+json"], (code, operation)
                schema = response["content"]["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ProblemDetails"}
    assert errors > len(operations)  # Litestar's own 400s were rewritten too, not only defaults
    # …and an actual error is sent exactly so.
    missing = await client.get("/api/v1/skills/nobody/nothing")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


async def test_the_schema_documents_raw_bundle_bodies(client) -> None:
    """Schemathesis found the bytes documented as JSON, and could never send a bundle."""
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    version = "/api/v1/skills/{namespace}/{name}/versions/{version}"
    binary = {"type": "string", "format": "binary"}
    download = paths[version + "/download"]["get"]["responses"]["200"]["content"]
    assert download == {"application/gzip": {"schema": binary}}
    file = paths[version + "/files/{path}"]["get"]["responses"]["200"]["content"]
    assert set(file) == {"text/plain", "application/octet-stream"}
    body = paths["/api/v1/skills"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/gzip"]["schema"] == binary
    form = body["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["bundle"]
    assert form["properties"]["bundle"] == binary
    assert set(form["properties"]) == {"bundle", "namespace", "version", "visibility"}


async def test_standalone_app_verifies_through_auth(database_url, monkeypatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("AUTO_MIGRATE", "false")
    monkeypatch.setenv("AUTH_URL", "http://127.0.0.1:9")  # nothing listens: verification fails
    app = app_from_environment()
    assert app.state.principal_resolver is not None
    async with AsyncTestClient(app) as standalone:
        assert (await standalone.get("/api/v1/skills")).status_code == 200
        response = await standalone.post(
            "/api/v1/skills",
            content=bundle("demo"),
            headers={"Content-Type": "application/gzip", "Authorization": "Bearer sr_x_y"},
        )
        assert response.status_code in (401, 503)  # never let in without auth's word


async def test_a_second_replica_sees_writes_once_uncached(client, database_url) -> None:
    await client.get("/api/v1/skills/alice/demo")  # nothing yet (404 is not cached)
    settings = CatalogSettings(database_url=database_url, auto_migrate=False, read_cache_ttl=0)
    async with built_catalog(settings) as replica, AsyncTestClient(replica) as other:
        assert (await other.get("/api/v1/skills/alice/demo")).status_code == 404
        assert (await publish(client, bundle("demo"), version="1.0.0")).status_code == 201
        assert (await other.get("/api/v1/skills/alice/demo")).status_code == 200
        assert (await publish(other, bundle("demo"), version="1.1.0")).status_code == 201
    # Nothing about this skill was cached here (404s are not), so this replica reads fresh;
    # an entry cached before the other replica's write could have lagged up to the TTL.
    detail = (await client.get("/api/v1/skills/alice/demo")).json()
    assert detail["latest_version"] == "1.1.0"
