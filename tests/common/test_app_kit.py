"""Health, readiness, metrics, request ids and problem+json for any service app."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import get, post
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient
from skreg_common.app import build_app
from skreg_common.errors import Conflict, Invalid, RateLimited
from skreg_common.runtime import Runtime
from skreg_common.settings import ServiceSettings
from skreg_proto.problems import FieldProblem, FormatError


class Body(msgspec.Struct):
    count: int


@get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internal detail /etc/shadow")


@get("/conflict")
async def conflict() -> None:
    raise Conflict("demo@1.0.0 exists with other content")


@get("/invalid")
async def invalid() -> None:
    raise Invalid("2 problems", errors=[FieldProblem("a", "bad"), FieldProblem("b", "worse")])


@get("/format")
async def format_error() -> None:
    raise FormatError([FieldProblem("frontmatter.name", "required")])


@get("/limited")
async def limited() -> None:
    raise RateLimited(retry_after=42)


@post("/typed")
async def typed(data: JSONBody[Body]) -> dict[str, Any]:
    return {"count": data.count}


@post("/anything")
async def anything(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
    return {"keys": len(data)}


def _app(runtime: Runtime) -> Any:
    return build_app(
        "test",
        runtime,
        [],
        extra_handlers=[boom, conflict, invalid, format_error, limited, typed, anything],
    )


async def test_health_ready_metrics(runtime: Runtime) -> None:
    async with AsyncTestClient(_app(runtime)) as client:
        health = await client.get("/health")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        ready = await client.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok"}
        metrics = await client.get("/metrics")
        assert metrics.status_code == 200
        assert 'requests_total{app_name="skreg",method="GET",path="/health"' in metrics.text


async def test_the_schema_describes_health_and_ready_as_sent(runtime: Runtime) -> None:
    """Schemathesis found `/ready` documented as a string and `/metrics` as JSON."""
    async with AsyncTestClient(_app(runtime)) as client:
        paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path in ("/health", "/ready"):
        body = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/HealthStatus"}, (path, body)
    assert "/metrics" not in paths  # Prometheus text for scrapers, not an API operation


async def test_ready_reports_an_unreachable_redis_as_degraded(tmp_path) -> None:
    """Redis down keeps the replica in Traefik (200, "degraded"); the database down does not."""
    settings = ServiceSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'r.db'}", redis_url="redis://127.0.0.1:1/0"
    )
    async with AsyncTestClient(_app(Runtime.open(settings))) as client:
        ready = await client.get("/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["redis"].startswith("failed")

    missing = tmp_path / "no-such-dir" / "r.db"  # SQLite cannot open it: the database is down
    settings = ServiceSettings(
        database_url=f"sqlite+aiosqlite:///{missing}", redis_url="redis://127.0.0.1:1/0"
    )
    async with AsyncTestClient(_app(Runtime.open(settings))) as client:
        ready = await client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert ready.json()["checks"]["database"].startswith("failed")
    assert ready.headers["content-type"].startswith("application/problem+json")


async def test_errors_are_problem_json(runtime: Runtime) -> None:
    async with AsyncTestClient(_app(runtime)) as client:
        resp = await client.get("/conflict")
        assert resp.status_code == 409
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["detail"] == "demo@1.0.0 exists with other content"

        resp = await client.get("/invalid")
        assert resp.status_code == 422
        assert [e["path"] for e in resp.json()["errors"]] == ["a", "b"]

        resp = await client.get("/format")
        assert resp.status_code == 422
        assert resp.json()["errors"] == [{"path": "frontmatter.name", "message": "required"}]

        resp = await client.get("/limited")
        assert resp.status_code == 429
        assert resp.headers["retry-after"] == "42"

        resp = await client.get("/nowhere")
        assert resp.status_code == 404
        assert resp.headers["content-type"].startswith("application/problem+json")

        deep = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
        resp = await client.post("/anything", content=deep)
        assert resp.status_code == 400, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")

        resp = await client.post("/typed")
        assert resp.status_code == 400
        assert resp.json()["errors"] == [{"path": "body", "message": "a request body is required"}]

        resp = await client.post("/typed", content=b"{not json")
        assert resp.status_code == 400
        assert resp.headers["content-type"].startswith("application/problem+json")


async def test_a_500_says_nothing_internal_but_gives_the_request_id(runtime: Runtime) -> None:
    async with AsyncTestClient(_app(runtime)) as client:
        resp = await client.get("/boom", headers={"X-Request-ID": "req-123"})
    assert resp.status_code == 500
    assert "shadow" not in resp.text
    assert "RuntimeError" not in resp.text
    assert resp.json()["request_id"] == "req-123"
    assert resp.headers["x-request-id"] == "req-123"


async def test_hostile_request_ids_are_replaced(runtime: Runtime) -> None:
    """A bad id is replaced by a fresh one, never trimmed or cleaned into something like it."""
    hostile = [
        "a" * 500,  # too long: its first 32 characters would pass for a fresh id
        "a" * 129,  # one past the limit
        "abc def",
        "abc\tdef",
        "id;rm",
        "ïd",
    ]
    async with AsyncTestClient(_app(runtime)) as client:
        for sent in hostile:
            first = (await client.get("/health", headers={"X-Request-ID": sent.encode()})).headers
            again = (await client.get("/health", headers={"X-Request-ID": sent.encode()})).headers
            for given in (first["x-request-id"], again["x-request-id"]):
                assert re.fullmatch(r"[0-9a-f]{32}", given), (sent, given)
                assert given not in sent, (sent, given)  # not a piece of what was sent
            assert first["x-request-id"] != again["x-request-id"]  # fresh each time
        longest = "b" * 128  # the longest id kept as it is
        kept = await client.get("/health", headers={"X-Request-ID": longest})
        assert kept.headers["x-request-id"] == longest
