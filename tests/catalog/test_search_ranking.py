"""Lexical ranking over the term index (issues 19 and 20), on both backends.

Any word may match, skills holding all of them come first, common words neither sink
nor decide a query, a misspelt query gets "did you mean", and the bounded top-k path
(the threshold algorithm reading postings best-first) pages exactly like scoring every
match. A second catalog app on the same database stands for another process.
"""

from __future__ import annotations

from typing import Any

import pytest
from skreg_catalog.search import lexical, resident

from tests.catalog.conftest import running_catalog
from tests.catalog.helpers import auth, published

COMMON = "Use this skill when the agent works with files and should write good output."


async def _search(client, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/skills", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _names(page: dict[str, Any]) -> list[str]:
    return [item["name"] for item in page["items"]]


async def _seed(client) -> None:
    skills = [
        ("pdf-form-filler", "Fill in PDF forms, text fields, checkboxes and signatures.", "pdf"),
        ("pdf-reader", "Read PDF documents and extract their text.", "pdf, documents"),
        ("form-builder", "Build HTML forms with validation.", "web, forms"),
        ("pr-checks", "Fix the failing CI checks on a pull request.", "github, ci"),
        ("subagents", "Work on several tasks in parallel with subagents.", "agents"),
        ("changelog", "Write a changelog from commits.", "release"),
    ]
    for name, description, tags in skills:
        await published(client, name, "1.0.0", description=description, tags=tags,
                        body=f"# {name}\n\n{COMMON}\n")  # fmt: skip


async def test_any_term_matches_and_all_terms_come_first(client) -> None:
    await _seed(client)
    page = await _search(client, q="fill in a pdf form")
    names = _names(page)
    # Every skill holding any word is found; the one holding them all leads.
    assert names[0] == "pdf-form-filler"
    assert {"pdf-reader", "form-builder"} <= set(names)
    assert page["total"] == len(names)
    first = page["items"][0]
    assert first["matched"][:2] == ["name", "tags"]  # why it matched: fields, best first
    # Words in every skill ("write", "good", "should") do not sink a task description.
    task = await _search(client, q="write good checks for the failing pull request")
    assert _names(task)[0] == "pr-checks"
    assert (await _search(client, q="the should with"))["total"] == 6  # stop words only


async def test_exact_name_first_even_against_a_stronger_text_match(client) -> None:
    await _seed(client)
    await published(client, "pdf", "1.0.0", "bob", description="Tiny.", tags="misc")
    names = _names(await _search(client, q="pdf"))
    assert names[0] == "pdf"
    assert set(names[1:3]) == {"pdf-form-filler", "pdf-reader"}


async def test_did_you_mean(client) -> None:
    await _seed(client)
    nothing = await _search(client, q="subagnets")
    assert nothing["items"] == []
    assert nothing["suggestions"][0] == "subagents"
    found = await _search(client, q=nothing["suggestions"][0])
    assert _names(found) == ["subagents"]
    assert found["suggestions"] == []  # a query that finds something gets none
    assert (await _search(client, q="zzqx"))["suggestions"] == []  # nothing close


async def test_did_you_mean_never_offers_a_word_no_skill_holds_any_more(client) -> None:
    await _seed(client)
    before = await _search(client, q="subagnets")
    assert before["suggestions"][0] == "subagents"  # its close words are now remembered
    owner = (await _search(client, q="subagents"))["items"][0]["namespace"]
    deleted = await client.delete(f"/api/v1/skills/{owner}/subagents", headers=auth(owner))
    assert deleted.status_code == 204
    after = await _search(client, q="subagnets")
    # "agents" (a tag) is still held; "subagents" only by the deleted skill.
    assert not any("subagents" in s for s in after["suggestions"]), after


@pytest.mark.parametrize("sort", ["relevance", "name"])
async def test_bounded_top_k_pages_like_full_scoring(
    client, monkeypatch: pytest.MonkeyPatch, sort: str
) -> None:
    for i in range(14):
        # Weights vary with the number of times a word occurs; several skills tie.
        repeats = " ".join(["deploy"] * (i % 4 + 1) + ["docker"] * (i % 3))
        await published(client, f"svc-{i:02d}", "1.0.0", description=f"Service {repeats}.",
                        tags="ops" if i % 2 else "docker")  # fmt: skip

    async def pages(**params: Any) -> tuple[list[str], list[int], list[bool]]:
        names, totals, approximate, cursor = [], [], [], None
        while True:
            page = await _search(
                client, limit=3, **params, **({"cursor": cursor} if cursor else {})
            )
            names += _names(page)
            totals.append(page["total"])
            approximate.append(page["total_approximate"])
            cursor = page["next_cursor"]
            if cursor is None:
                return names, totals, approximate

    query = {"q": "docker deploy service", "sort": sort}
    in_sql, sql_totals, _ = await pages(**query)  # scored and ranked by the database
    monkeypatch.setattr(lexical, "RESIDENT_FROM", 0)  # scored over postings in memory
    in_memory, resident_totals, _ = await pages(**query)
    monkeypatch.setattr(resident, "DENSE_SPAN", 0)  # matches gathered by sorting
    sorted_ids, sorted_totals, _ = await pages(**query)
    assert (sorted_ids, sorted_totals) == (in_memory, resident_totals)
    monkeypatch.setattr(resident, "BLOCK", 2)  # the best first cut by blocks' maxima
    blocked_ids, blocked_totals, _ = await pages(**query)
    assert (blocked_ids, blocked_totals) == (in_memory, resident_totals)
    monkeypatch.setattr(lexical, "RESIDENT_FROM", 10**9)
    monkeypatch.setattr(lexical, "SQL_SCORING_LIMIT", 0)
    monkeypatch.setattr(lexical, "EXACT_TOTAL_LIMIT", 10**9)  # every list read whole
    full, full_totals, _ = await pages(**query)
    monkeypatch.setattr(lexical, "EXACT_TOTAL_LIMIT", 1)  # best-first, deepening 2 -> 8 -> 32
    monkeypatch.setattr(lexical, "FIRST_DEPTH", 2)
    monkeypatch.setattr(lexical, "MAX_DEPTH", 8)
    bounded, bounded_totals, approximate = await pages(**query)
    assert bounded == full == in_sql == in_memory  # same rows and order, no duplicates or gaps
    assert len(full) == len(set(full)) == 14
    assert set(full_totals) == set(sql_totals) == set(resident_totals) == {14}
    # Past the exact limit a total may be an estimate, and then says so.
    assert all(flag or total == 14 for total, flag in zip(bounded_totals, approximate, strict=True))
    if sort == "relevance":
        monkeypatch.setattr(lexical, "FIRST_DEPTH", 8)
        two = await _search(client, q="deploy ops", limit=1)  # the best two beat the 8th: done
        assert two["total_approximate"] is True
        assert two["total"] >= 8
        top = await _search(client, q="deploy", limit=1)
        assert top["total"] == 14  # one word: its count is the total, exact
        assert top["total_approximate"] is False
        assert _names(top) == ["svc-03"]  # "deploy" four times in the shortest description


async def test_a_write_is_seen_by_the_next_search_of_another_app(client, catalog_settings) -> None:
    await _seed(client)
    async with running_catalog(catalog_settings, read_cache_ttl=0) as other:
        assert "pdf-reader" in _names(await _search(other, q="extract"))
        await published(client, "tables", "1.0.0", description="Extract tables from sheets.")
        assert "tables" in _names(await _search(other, q="extract"))
        yank = await client.post(
            "/api/v1/skills/alice/tables/versions/1.0.0/yank", json={"reason": "bad"},
            headers=auth("alice"),
        )  # fmt: skip
        assert yank.status_code == 200
        assert "tables" not in _names(await _search(other, q="extract"))
        deleted = await client.delete("/api/v1/skills/alice/pdf-reader", headers=auth("alice"))
        assert deleted.status_code == 204
        after = await _search(other, q="extract")
        assert "pdf-reader" not in _names(after)
        assert after["total"] == 0
        assert after["suggestions"] == []


async def _ranked(client, q: str) -> list[tuple[str, list[str]]]:
    """Every match of `q` in order (paging through), with why each matched."""
    found, cursor = [], None
    while True:
        page = await _search(client, q=q, limit=4, **({"cursor": cursor} if cursor else {}))
        found += [(item["name"], item["matched"]) for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            assert page["total"] == len(found)
            return found


async def _both_ways(client, monkeypatch: pytest.MonkeyPatch, q: str) -> list[str]:
    """`q`'s ranking scored in memory, checked equal to the SQL scorer's."""
    monkeypatch.setattr(lexical, "RESIDENT_FROM", 10**9)
    in_sql = await _ranked(client, q)
    monkeypatch.setattr(lexical, "RESIDENT_FROM", 0)
    in_memory = await _ranked(client, q)
    assert in_memory == in_sql
    return [name for name, _ in in_memory]


async def test_postings_in_memory_follow_every_write_of_another_app(
    client, catalog_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another app keeps the terms' postings in memory; each publish, new version (new
    weights for kept terms), yank and delete here shows in its next search, in the order
    the SQL scorer gives."""
    await _seed(client)
    query = "pdf form extract text"
    async with running_catalog(catalog_settings, read_cache_ttl=0) as other:
        before = await _both_ways(other, monkeypatch, query)
        assert before[0] == "pdf-form-filler"
        held = resident.resident_for(other.app.state.runtime.quick)
        assert all(term in held for term in ("pdf", "form", "extract", "text"))
        await published(
            client,
            "pdf-tables",
            "1.0.0",
            description="Extract text and tables from PDF form files.",
        )
        first = await _both_ways(other, monkeypatch, query)
        assert "pdf-tables" in first
        # A new version holding fewer of the words, in a longer body: it moves down.
        await published(client, "pdf-tables", "1.1.0", description="Tables.",
                        body="# pdf-tables\n\n" + "Spreadsheets and more. " * 200)  # fmt: skip
        moved = await _both_ways(other, monkeypatch, query)
        assert moved.index("pdf-tables") > first.index("pdf-tables")
        yank = await client.post(
            "/api/v1/skills/alice/pdf-tables/versions/1.1.0/yank", json={"reason": "bad"},
            headers=auth("alice"),
        )  # fmt: skip
        assert yank.status_code == 200  # latest goes back to 1.0.0
        assert await _both_ways(other, monkeypatch, query) == first
        deleted = await client.delete("/api/v1/skills/alice/pdf-tables", headers=auth("alice"))
        assert deleted.status_code == 204
        after = await _both_ways(other, monkeypatch, query)
        assert "pdf-tables" not in after
        assert after == before


async def test_postings_in_memory_stay_within_their_capacity(
    client, catalog_settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(client)
    monkeypatch.setattr(lexical, "RESIDENT_FROM", 0)
    async with running_catalog(
        catalog_settings, read_cache_ttl=0, search_resident_postings=3
    ) as other:
        held = resident.resident_for(other.app.state.runtime.quick)
        assert held.capacity == 3
        # "pdf" (2 skills) and "form" (2) fit one at a time: the older term is dropped.
        assert await _both_ways(other, monkeypatch, "pdf reader") == [
            "pdf-reader",
            "pdf-form-filler",
        ]
        assert held.size == 3  # "pdf" (2) and "reader" (1)
        # Terms together larger than the capacity are scored in SQL, with the same result.
        assert (await _both_ways(other, monkeypatch, "pdf form"))[0] == "pdf-form-filler"
        assert held.size <= 3
    async with running_catalog(
        catalog_settings, read_cache_ttl=0, search_resident_postings=0
    ) as off:
        assert (await _both_ways(off, monkeypatch, "pdf form"))[0] == "pdf-form-filler"
        assert resident.resident_for(off.app.state.runtime.quick).size == 0


async def test_an_unfinished_word_finds_the_stem_it_is_typed_towards(client) -> None:
    """ "optimi" is on its way to "optimize", indexed by its stem "optim": found as typed,
    in every sort, with no "did you mean" (which costs most at scale)."""
    await _seed(client)
    await published(client, "query-tuner", "1.0.0", description="Optimize slow SQL queries.")
    await published(client, "sql-linter", "1.0.0", description="Lint SQL files.")
    for typed in ("optimi", "sql optimi", "summari"):
        page = await _search(client, q=typed)
        assert page["suggestions"] == []
        if typed == "summari":
            assert page["items"] == []  # nothing is summarised here: no false completion
            continue
        assert "query-tuner" in _names(page)[:2]
    by_name = await _search(client, q="optimi", sort="name")
    assert _names(by_name) == ["query-tuner"]
    # A word indexed as typed is not widened to a shorter term ("filler" is no "fill").
    await published(client, "fill-tool", "1.0.0", description="Fill things.")
    assert "fill-tool" not in _names(await _search(client, q="filler"))
