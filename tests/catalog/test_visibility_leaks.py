"""No surface reveals a private skill, nor that a namespace holds one.

tests/catalog/test_visibility_matrix.py walks every surface by caller; these are the
oracles an earlier attempt found beside it: the per-namespace discovery index of a
namespace with only private skills, the refusal to publish into someone else's
namespace, and semantic candidates merged into hybrid search results and totals.
"""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
from litestar.testing import AsyncTestClient
from skreg_catalog.context import CatalogContext
from skreg_catalog.settings import CatalogSettings

from tests.catalog.conftest import built_catalog
from tests.catalog.helpers import auth, publish
from tests.support.factories import skill_bundle

ANONYMOUS: dict[str, str] = {}


async def _put(client: Any, name: str, visibility: str, **fields: Any) -> None:
    """alice publishes `name` 1.0.0 into her namespace with `visibility`."""
    data = skill_bundle(name, **fields)
    response = await publish(client, data, version="1.0.0", visibility=visibility)
    assert response.status_code == 201, response.text


def _index(namespace: str) -> str:
    return f"/ns/{namespace}/.well-known/agent-skills/index.json"


def _shape(response: httpx.Response, name: str) -> tuple[int, str, dict[str, str]]:
    """Status, content type and problem fields with the asked-for name taken out (and
    the per-request id, which differs on every answer)."""
    body = dict(response.json())
    body.pop("request_id", None)
    body.pop("instance", None)
    fields = {k: str(v).replace(name, "NAME") for k, v in body.items()}
    return response.status_code, response.headers["content-type"], fields


async def test_a_namespace_index_of_only_private_skills_answers_as_a_missing_one(
    client: AsyncTestClient[Any],
) -> None:
    await _put(client, "secret-plan", "private")
    assert (await client.get(_index("alice"), headers=auth("alice"))).status_code == 200
    for headers in (ANONYMOUS, auth("bob")):
        hidden = await client.get(_index("alice"), headers=headers)
        absent = await client.get(_index("nobody"), headers=headers)
        assert hidden.status_code == 404
        assert _shape(hidden, "alice") == _shape(absent, "nobody")
    # A public skill beside it opens the index, which still lists only what may be seen.
    await _put(client, "open-plan", "public")
    shown = await client.get(_index("alice"), headers=auth("bob"))
    assert [s["name"] for s in shown.json()["skills"]] == ["open-plan"]


async def test_publishing_into_someone_elses_namespace_gets_one_refusal(
    client: AsyncTestClient[Any],
) -> None:
    await _put(client, "secret-plan", "private")
    answers = set()
    # alice's namespace (holding a private skill, by that name or not) and one that
    # does not exist: bob must not learn which is which from the refusal.
    for namespace, name in (("alice", "secret-plan"), ("alice", "other"), ("ghost", "x")):
        refused = await publish(
            client, skill_bundle(name), who="bob", version="1.0.0", namespace=namespace
        )
        status, kind, fields = _shape(refused, namespace)
        answers.add((status, kind, fields["detail"]))
    assert len(answers) == 1, answers
    ((status, _, _),) = answers
    assert status == 403


async def test_hybrid_search_drops_semantic_candidates_the_caller_may_not_see(
    catalog_settings: CatalogSettings,
) -> None:
    settings = msgspec.structs.replace(catalog_settings, semantic_search=True, read_cache_ttl=0)
    context = CatalogContext.create(settings)
    async with built_catalog(settings, context) as app, AsyncTestClient(app) as client:
        description = "Extract text and tables and fill in forms in PDF files."
        await _put(client, "pdf", "private", description=description)
        web = "Create distinctive web interfaces and landing pages."
        await _put(client, "frontend-design", "public", description=web)
        await context.semantic.embedder.settled()
        query = {"q": "fill in a PDF form"}

        async def names(headers: dict[str, str]) -> tuple[list[str], int]:
            page = (await client.get("/api/v1/skills", params=query, headers=headers)).json()
            return [item["name"] for item in page["items"]], page["total"]

        mine, _ = await names(auth("alice"))
        assert mine[0] == "pdf", mine
        for headers in (ANONYMOUS, auth("bob")):
            seen, total = await names(headers)
            assert "pdf" not in seen
            assert total == len(seen)
