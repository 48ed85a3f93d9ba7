"""Search and browse on both backends: ranking, filters, totals, sorts, stable paging."""

from __future__ import annotations

import random
from typing import Any

import pytest
from skreg_catalog.skills.convert import SUMMARY_FIELDS, search_hit

from tests.catalog.helpers import auth, published


async def _search(client, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/skills", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _names(page: dict[str, Any]) -> list[str]:
    return [f"{item['namespace']}/{item['name']}" for item in page["items"]]


async def _seed(client) -> None:
    await published(client, "pdf", "1.0.0", description="Read PDF files.", tags="pdf, documents")
    await published(
        client,
        "pdf-extractor",
        "1.0.0",
        description="Extracts tables and text from PDF documents.",
        tags="pdf, extraction",
    )
    await published(
        client,
        "invoice-parser",
        "1.0.0",
        description="Parses invoices.",
        tags="finance",
        body="# Invoices\n\nWorks with pdf invoices too.\n",
    )
    await published(client, "git-helper", "1.0.0", "bob", description="Helps with git commits.",
                    tags="git, vcs")  # fmt: skip
    await published(client, "pdf", "1.0.0", "bob", description="Bob's PDF thing.", tags="pdf")


async def test_full_text_over_name_description_tags_and_body(client) -> None:
    await _seed(client)
    assert "alice/invoice-parser" in _names(await _search(client, q="invoices"))  # body + name
    assert _names(await _search(client, q="tables")) == ["alice/pdf-extractor"]  # description
    assert _names(await _search(client, q="vcs")) == ["bob/git-helper"]  # tags
    assert _names(await _search(client, q="extract")) == ["alice/pdf-extractor"]  # stemming
    assert _names(await _search(client, q="nothing-like-this")) == []


async def test_exact_name_first_then_relevance(client) -> None:
    await _seed(client)
    page = await _search(client, q="pdf")
    names = _names(page)
    assert set(names[:2]) == {"alice/pdf", "bob/pdf"}  # exact name matches lead
    assert set(names) >= {"alice/pdf-extractor", "alice/invoice-parser"}
    # A match in the name outranks a match in the body only.
    assert names.index("alice/pdf-extractor") < names.index("alice/invoice-parser")
    qualified = await _search(client, q="bob/pdf")
    assert _names(qualified)[0] == "bob/pdf"
    assert page["total"] == len(names) == 4


# One skill per rank for the query "lint", best first: the exact name, then the term in
# more fields, then in the name alone, in the tags, in the description, in the body only.
RANKED = [
    ("lint", {"description": "Checks style.", "tags": "style"}),
    ("lint-all", {"description": "Runs lint on everything.", "tags": "lint"}),
    ("lint-tool", {"description": "Checks style.", "tags": "style"}),
    ("style-tags", {"description": "Checks style.", "tags": "lint"}),
    ("style-words", {"description": "Runs lint checks.", "tags": "style"}),
    ("style-body", {"description": "Checks style.", "tags": "style",
                    "body": "# Style\n\nAlso runs lint.\n"}),
]  # fmt: skip


def _shuffled(seed: int) -> list[int]:
    order = list(range(len(RANKED)))
    random.Random(seed).shuffle(order)
    return order


@pytest.mark.parametrize(
    "insertion",
    [list(reversed(range(len(RANKED)))), _shuffled(20261202)],
    ids=["reversed", "shuffled"],
)
async def test_relevance_order_does_not_follow_insertion_order(
    client, insertion: list[int]
) -> None:
    """Published in an order unrelated to the ranking, so only the score can sort them."""
    assert insertion != sorted(insertion)
    for index in insertion:
        name, fields = RANKED[index]
        await published(client, name, "1.0.0", **fields)
    expected = [f"alice/{name}" for name, _ in RANKED]
    assert _names(await _search(client, q="lint")) == expected
    # Paging walks the same order, a page at a time.
    paged, cursor = [], None
    while True:
        page = await _search(client, q="lint", limit=2, **({"cursor": cursor} if cursor else {}))
        paged += _names(page)
        if (cursor := page["next_cursor"]) is None:
            break
    assert paged == expected


async def test_filters_and_totals(client) -> None:
    await _seed(client)
    by_tag = await _search(client, tag="pdf")
    assert set(_names(by_tag)) == {"alice/pdf", "alice/pdf-extractor", "bob/pdf"}
    assert by_tag["total"] == 3
    by_ns = await _search(client, namespace="bob")
    assert set(_names(by_ns)) == {"bob/pdf", "bob/git-helper"}
    assert by_ns["total"] == 2
    both = await _search(client, q="pdf", namespace="alice", tag="pdf", limit=1)
    assert both["total"] == 2
    assert len(both["items"]) == 1
    assert both["next_cursor"]
    everything = await _search(client)
    assert everything["total"] == 5


async def test_sorts(client) -> None:
    await _seed(client)
    by_name = _names(await _search(client, sort="name"))
    assert [n.split("/")[1] for n in by_name] == sorted(n.split("/")[1] for n in by_name)
    await published(client, "git-helper", "1.1.0", "bob", description="Updated.")
    assert _names(await _search(client, sort="updated"))[0] == "bob/git-helper"
    download = await client.get("/api/v1/skills/alice/invoice-parser/versions/1.0.0/download")
    assert download.status_code == 200
    assert _names(await _search(client, sort="downloads"))[0] == "alice/invoice-parser"
    bad = await client.get("/api/v1/skills", params={"sort": "random"})
    assert bad.status_code == 400


@pytest.mark.parametrize("sort", ["relevance", "downloads", "updated", "name"])
async def test_paging_is_stable_while_skills_are_published(client, sort: str) -> None:
    for i in range(12):
        await published(client, f"tool-{i:02d}", "1.0.0", description=f"Tool number {i}.",
                        tags="tool")  # fmt: skip
    seen: list[str] = []
    cursor = None
    extra = 0
    while True:
        params: dict[str, Any] = {"q": "tool", "sort": sort, "limit": 5}
        if cursor:
            params["cursor"] = cursor
        page = await _search(client, **params)
        seen += _names(page)
        # Publish between pages: new rows may or may not show up, old ones must not repeat.
        await published(client, f"tool-new-{extra}", "1.0.0", description="A new tool.")
        extra += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), seen
    originals = {f"alice/tool-{i:02d}" for i in range(12)}
    assert originals <= set(seen)


async def test_typos_and_prefixes(client) -> None:
    await _seed(client)
    # Both backends complete an unfinished last word.
    assert _names(await _search(client, q="pdf extra"))[0] == "alice/pdf-extractor"
    # A misspelt word matches nothing, the others still do; the answer says what was meant.
    typo = await _search(client, q="pdf-extarctor")
    assert "alice/pdf-extractor" in _names(typo)
    assert typo["suggestions"][0] == "pdf extractor"
    # A last word cut short of its stem ("extractr": "extract" + "r") reads as unfinished.
    unfinished = await _search(client, q="pdf-extractr")
    assert _names(unfinished)[0] == "alice/pdf-extractor"


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "*",
        "pdf OR",
        "NEAR(pdf",
        "name:pdf",
        "-pdf",
        "pdf AND NOT x",
        "'; DROP TABLE x; --",
        "^",
        "{name}:x",
        "ü",
        "   ",
        "a" * 200,
    ],
)
async def test_hostile_queries_never_fail(client, query: str) -> None:
    await _seed(client)
    response = await client.get("/api/v1/skills", params={"q": query})
    assert response.status_code == 200, response.text


async def test_invalid_cursor_and_limits(client) -> None:
    await _seed(client)
    for params in ({"cursor": "garbage"}, {"cursor": "WzEsMl0"}, {"limit": 0}, {"limit": 101}):
        response = await client.get("/api/v1/skills", params=params)
        assert response.status_code == 400, params
        assert response.headers["content-type"].startswith("application/problem+json")
    first = await _search(client, sort="name", limit=2)
    other_sort = await client.get(
        "/api/v1/skills", params={"sort": "updated", "cursor": first["next_cursor"]}
    )
    assert other_sort.status_code == 400


async def test_yanked_and_deleted_skills_leave_search(client) -> None:
    await _seed(client)
    yank = await client.post(
        "/api/v1/skills/bob/git-helper/versions/1.0.0/yank",
        json={"reason": "broken"},
        headers=auth("bob"),
    )
    assert yank.status_code == 200
    assert "bob/git-helper" not in _names(await _search(client, q="git"))
    assert (
        await client.delete("/api/v1/skills/alice/pdf", headers=auth("alice"))
    ).status_code == 204
    assert "alice/pdf" not in _names(await _search(client, q="pdf"))
    assert (await _search(client))["total"] == 3


async def test_tags_and_stats(client) -> None:
    await _seed(client)
    tags = (await client.get("/api/v1/tags")).json()
    assert tags["items"][0] == {"tag": "pdf", "count": 3}
    assert tags["total"] == 6
    paged = (await client.get("/api/v1/tags", params={"limit": 4})).json()
    rest = (await client.get("/api/v1/tags", params={"cursor": paged["next_cursor"]})).json()
    assert [t["tag"] for t in paged["items"] + rest["items"]] == [t["tag"] for t in tags["items"]]
    await client.get("/api/v1/skills/alice/pdf/versions/1.0.0/download")
    stats = (await client.get("/api/v1/stats")).json()
    assert stats["skills"] == 5
    assert stats["versions"] == 5
    assert stats["namespaces"] == 2
    assert stats["downloads"] == 1
    assert stats["top"][0]["name"] == "pdf"
    assert stats["top"][0]["downloads"] == 1


async def test_browse_total_stays_equal_to_a_real_count(client) -> None:
    async def check() -> None:
        listed, cursor = 0, None
        while True:
            page = await _search(client, limit=100, **({"cursor": cursor} if cursor else {}))
            listed += len(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert page["total"] == listed

    await _seed(client)
    await published(client, "pre", "1.0.0-rc.1")  # pre-releases only: visible through it
    await check()
    yank = "/api/v1/skills/alice/pdf/versions/1.0.0/yank"
    assert (await client.post(yank, json={"reason": "x"}, headers=auth("alice"))).status_code == 200
    await check()
    assert (await client.delete(yank, headers=auth("alice"))).status_code == 200
    assert (await client.delete("/api/v1/skills/bob/pdf", headers=auth("bob"))).status_code == 204
    await check()
    await published(client, "pdf", "2.0.0", "bob")  # brought back
    await published(client, "pdf", "1.1.0")  # already visible: no change
    await check()
    assert (await _search(client))["total"] == 6


def test_a_search_hit_carries_every_summary_field() -> None:
    # `search_hit` names the fields one by one (for speed): a field added to
    # `SkillSummary` and not there fails here.
    row: dict[str, Any] = {name: object() for name in SUMMARY_FIELDS}
    row["extra"] = object()  # browse rows carry their sort keys too
    hit = search_hit(row, ["name"])
    assert {name: getattr(hit, name) for name in SUMMARY_FIELDS} == {
        name: row[name] for name in SUMMARY_FIELDS
    }
    assert hit.matched == ["name"]
