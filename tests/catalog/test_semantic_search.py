"""Hybrid (full-text + sentence-embedding) search on both backends.

One real model (all-MiniLM-L6-v2 from its wheel, loaded once per test process), real
databases; vectors are made by the catalog's background embedder as in production.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient
from skreg_catalog.context import CatalogContext
from skreg_catalog.search.lexical import Candidate, fuse
from skreg_catalog.search.service import SearchQuery, search_skills
from skreg_catalog.search.suggest import SUGGEST_BELOW
from skreg_catalog.semantic import embedder as semantic_embedder
from skreg_catalog.semantic import hybrid
from skreg_catalog.semantic import index as semantic_index
from skreg_catalog.semantic import service as semantic_service
from skreg_catalog.semantic.embedder import Loader
from skreg_catalog.semantic.model import MODEL_ID, SentenceEncoder, shared_encoder
from skreg_catalog.semantic.models import SkillEmbedding
from skreg_catalog.semantic.service import SemanticSearch
from skreg_catalog.settings import CatalogSettings
from skreg_catalog.skills.models import Skill
from skreg_catalog.visibility import ALL
from skreg_common.db import create_engine
from skreg_common.quickread import QuickReader
from skreg_proto.pagination import encode_cursor
from sqlalchemy import delete, select, update

from tests.catalog.conftest import built_catalog
from tests.catalog.helpers import auth, bundle, publish, published

SKILLS = {
    "pdf": ("Extract text and tables, merge and split documents, and handle forms in PDF "
            "files.", "pdf, documents"),
    "fix-ci-failures": ("Diagnose failing GitHub Actions checks on a pull request, reproduce "
                        "them locally and push a fix.", "ci, github"),
    "dispatching-parallel-agents": ("Use when facing two or more independent tasks, dispatch "
                                    "several agents to work on them concurrently.", "agents"),
    "git-commit-messages": ("Write conventional commit messages from the staged diff.", "git"),
    "frontend-design": ("Create distinctive, production-grade web interfaces and landing "
                        "pages.", "frontend, design"),
    "pdf-tools": ("Compress PDF files and add page numbers.", "pdf"),
}  # fmt: skip


async def _search(client: Any, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/skills", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _names(page: dict[str, Any]) -> list[str]:
    return [item["name"] for item in page["items"]]


@asynccontextmanager
async def _catalog(
    settings: CatalogSettings, semantic: SemanticSearch | None = None, **changes: Any
) -> AsyncIterator[tuple[AsyncTestClient[Any], CatalogContext]]:
    context = CatalogContext.create(msgspec.structs.replace(settings, **changes))
    if semantic is not None:
        context.semantic = semantic
    async with built_catalog(context.settings, context) as app, AsyncTestClient(app) as client:
        yield client, context


@pytest.fixture
def hybrid_settings(catalog_settings: CatalogSettings) -> CatalogSettings:
    return msgspec.structs.replace(catalog_settings, semantic_search=True, read_cache_ttl=0)


async def _seed(client: Any, context: CatalogContext) -> None:
    for name, (description, tags) in SKILLS.items():
        await published(client, name, "1.0.0", description=description, tags=tags)
    await context.semantic.embedder.settled()


async def _vectors(database_url: str) -> list[tuple[int, str]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(SkillEmbedding.skill_id, SkillEmbedding.model_id)
            )
            return sorted((int(r[0]), str(r[1])) for r in rows)
    finally:
        await engine.dispose()


async def test_task_descriptions_find_skills_lexical_search_misses(
    hybrid_settings: CatalogSettings,
) -> None:
    async with _catalog(hybrid_settings) as (client, context):
        await _seed(client, context)
        assert len(await _vectors(hybrid_settings.database_url)) == len(SKILLS)
        cases = {
            "fill in a PDF form": "pdf",
            "fix the failing checks on my pull request": "fix-ci-failures",
            "work on several tasks in parallel with subagents": "dispatching-parallel-agents",
        }
        for query, expected in cases.items():
            page = await _search(client, q=query)
            assert _names(page)[0] == expected, (query, _names(page))
            assert page["total"] == len(page["items"])
            assert "semantic" in page["items"][0]["matched"]
        # Why each result matched: the words, the meaning, or both.
        both = await _search(client, q="merge PDF documents")
        assert both["items"][0]["name"] == "pdf"
        # The lexical fields first (as lexical search says them), then `semantic`.
        assert both["items"][0]["matched"] == ["name", "tags", "description", "semantic"]
        assert (await _search(client))["items"][0]["matched"] == []  # browsing
        # Exact name matches stay first, whatever the vectors say.
        assert _names(await _search(client, q="pdf-tools"))[0] == "pdf-tools"
        assert _names(await _search(client, q="pdf"))[0] == "pdf"
    # The same catalogue with semantic ranking off: the lexical ranking, page for page,
    # and the model is never asked for.
    off = SemanticSearch(enabled=False, loader=Loader(make=_never))
    async with _catalog(hybrid_settings, off, semantic_search=False) as (client, _):
        engine = create_engine(hybrid_settings.database_url)
        try:
            reader = QuickReader(engine, busy_timeout_ms=1000)
            for query in [*cases, "pdf", "pdf-tools"]:
                lexical = await search_skills(reader, SearchQuery(q=query), ALL)
                page = await _search(client, q=query)
                assert _names(page) == [item.name for item in lexical.items], query
                assert page["total"] == lexical.total
        finally:
            await engine.dispose()


# Queries in words the seeded skills hold, and queries mostly of words no skill holds.
KNOWN_WORDS = ["production is down, what do we do", "handle the pull request", "several pages"]
UNKNOWN_WORDS = ["zqxv wprt pdf", "blorfed gnarx agents", "qwpoeiru asdkjh"]


async def test_semantic_candidates_need_more_similarity_when_the_words_are_unknown(
    hybrid_settings: CatalogSettings,
) -> None:
    """A query in known words gets every semantic candidate from MIN_SIMILARITY up; one
    mostly of unknown words (typos, nonsense) only those from CONFIDENT_SIMILARITY up."""
    low, high = semantic_service.MIN_SIMILARITY, hybrid.CONFIDENT_SIMILARITY
    async with _catalog(hybrid_settings) as (client, context):
        await _seed(client, context)
        engine = create_engine(hybrid_settings.database_url)
        try:
            reader = QuickReader(engine, busy_timeout_ms=1000)
            async with engine.connect() as connection:
                names = dict((await connection.execute(select(Skill.id, Skill.name))).all())
            low_band = {"known": 0, "unknown": 0}  # candidates between the two floors
            for kind, queries in (("known", KNOWN_WORDS), ("unknown", UNKNOWN_WORDS)):
                floor = low if kind == "known" else high
                for query in queries:
                    near = await context.semantic.nearest(reader, query)
                    assert all(similarity >= low for _, similarity in near)
                    low_band[kind] += sum(similarity < high for _, similarity in near)
                    page = await _search(client, q=query, limit=50)
                    marked = {i["name"] for i in page["items"] if "semantic" in i["matched"]}
                    expected = {names[skill_id] for skill_id, sim in near if sim >= floor}
                    assert marked == expected, (query, near)
        finally:
            await engine.dispose()
    # Both rules were put to the test: some candidates fell between the floors.
    assert low_band["known"] > 0, low_band
    assert low_band["unknown"] > 0, low_band


async def test_a_typo_gets_suggestions_whatever_the_semantic_neighbours(
    hybrid_settings: CatalogSettings,
) -> None:
    """ "Did you mean" counts lexical matches only: semantic neighbours of a misspelt
    query must not hide the suggestion."""
    async with _catalog(hybrid_settings) as (client, context):
        for name, description in {
            "document-merger": "Combine several scanned documents into one portable document.",
            "form-filler": "Fill in the fields of fillable portable documents.",
            "page-numbering": "Add page numbers and a table of contents to documents.",
        }.items():  # near in meaning, without the query's words
            await published(client, name, "1.0.0", description=description)
        await _seed(client, context)
        page = await _search(client, q="pdf toolz")
        semantic_only = [i for i in page["items"] if i["matched"] == ["semantic"]]
        lexical = [i for i in page["items"] if i["matched"] != ["semantic"]]
        assert semantic_only, page  # the neighbours are there ...
        assert page["total"] >= SUGGEST_BELOW  # ... and would have hidden the suggestion
        assert len(lexical) < SUGGEST_BELOW, page
        assert "pdf tools" in page["suggestions"], page


def _never() -> SentenceEncoder:
    raise AssertionError("semantic search is off: the model must not load")


async def test_equal_scores_page_without_duplicates_or_gaps(
    hybrid_settings: CatalogSettings,
) -> None:
    async with _catalog(hybrid_settings) as (client, context):
        for i in range(9):  # the same text: equal lexical and equal semantic scores
            await published(client, f"merge-pdfs-{i}", "1.0.0", description="Merge PDF files.")
        await context.semantic.embedder.settled()
        whole = _names(await _search(client, q="combine documents into one pdf", limit=100))
        assert sorted(whole) == [f"merge-pdfs-{i}" for i in range(9)]
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"q": "combine documents into one pdf", "limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = await _search(client, **params)
            seen += _names(page)
            assert page["total"] == 9
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == whole


async def test_paging_continues_past_the_fused_window_in_lexical_order(
    hybrid_settings: CatalogSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A small window (3 lexical + 2 semantic candidates) so the lexical rest is reached.
    monkeypatch.setattr(hybrid, "LEXICAL_CANDIDATES", 3)
    monkeypatch.setattr(semantic_service, "CANDIDATES", 2)
    async with _catalog(hybrid_settings) as (client, context):
        for i in range(9):
            await published(client, f"merge-pdfs-{i}", "1.0.0", description="Merge PDF files.")
        await context.semantic.embedder.settled()
        engine = create_engine(hybrid_settings.database_url)
        try:
            reader = QuickReader(engine, busy_timeout_ms=1000)
            lexical = await search_skills(reader, SearchQuery(q="merge"), ALL)
        finally:
            await engine.dispose()
        for size in (1, 2, 3, 4, 100):
            seen: list[str] = []
            cursor = None
            while True:
                params: dict[str, Any] = {"q": "merge", "limit": size}
                if cursor:
                    params["cursor"] = cursor
                page = await _search(client, **params)
                seen += _names(page)
                assert page["total"] >= 9
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            assert sorted(seen) == sorted(item.name for item in lexical.items), size
            assert len(seen) == 9, size


async def test_yanked_deleted_and_filtered_skills_never_surface_through_vectors(
    hybrid_settings: CatalogSettings,
) -> None:
    async with _catalog(hybrid_settings) as (client, context):
        await _seed(client, context)
        query = "fix the failing checks on my pull request"
        assert _names(await _search(client, q=query))[0] == "fix-ci-failures"
        yank = await client.post(
            "/api/v1/skills/alice/fix-ci-failures/versions/1.0.0/yank",
            json={"reason": "broken"},
            headers=auth("alice"),
        )
        assert yank.status_code == 200
        # The index in memory still holds its vector; the read-back drops it.
        assert "fix-ci-failures" not in _names(await _search(client, q=query))
        deleted = await client.delete("/api/v1/skills/alice/pdf", headers=auth("alice"))
        assert deleted.status_code == 204
        assert "pdf" not in _names(await _search(client, q="fill in a PDF form"))
        # Filters apply to semantic candidates too.
        tagged = await _search(client, q="work on several tasks in parallel", tag="git")
        assert _names(tagged) in ([], ["git-commit-messages"])
        assert _names(await _search(client, q="parallel agents", namespace="bob")) == []


async def test_model_change_reembeds_while_every_skill_stays_searchable(
    hybrid_settings: CatalogSettings,
) -> None:
    async with _catalog(hybrid_settings) as (client, context):
        await _seed(client, context)
    before = await _vectors(hybrid_settings.database_url)
    assert {model for _, model in before} == {MODEL_ID}
    release = threading.Event()

    def slow_new_model() -> SentenceEncoder:
        release.wait(timeout=30)  # the new model is still "loading"
        return shared_encoder()

    newer = SemanticSearch(loader=Loader(model_id="test-model-2", make=slow_new_model))
    async with _catalog(hybrid_settings, newer) as (client, _):
        for name in SKILLS:  # meanwhile: no vector of the new model yet, all found
            assert name in _names(await _search(client, q=name)), name
        release.set()
        await newer.embedder.settled()
        after = await _vectors(hybrid_settings.database_url)
        assert [skill for skill, _ in after] == [skill for skill, _ in before]
        assert {model for _, model in after} == {"test-model-2"}
        page = await _search(client, q="fill in a PDF form")
        assert _names(page)[0] == "pdf"


HOSTILE = (
    "x" * 200,
    '"pdf" OR * NEAR(a b) -c ^d {name}: col:*',
    "the and of to a",
    "   ",
    "%_\\'; DROP TABLE catalog_skills; --",
    "ünïcödé 文字 🙂",
    "pdf\x00form",  # control characters: NUL, escape, bell, a bidi override
    "\x1b[31mpdf\x07",
    "\u202efdp\u202c",
    "\ufeff\u200b\u200d",
    "e\u0301" * 66,  # combining marks: 199 characters, more bytes
    "🙂" * 200,
)


@pytest.mark.parametrize("semantic", [True, False], ids=["hybrid", "lexical"])
async def test_empty_and_hostile_queries_are_clean(
    hybrid_settings: CatalogSettings, semantic: bool
) -> None:
    """With semantic ranking on and off: results or a 400 problem, never a 500."""
    async with _catalog(hybrid_settings, semantic_search=semantic) as (client, context):
        await published(client, "pdf", "1.0.0", description=SKILLS["pdf"][0])
        if semantic:  # off, the embedder never runs (and never settles)
            await context.semantic.embedder.settled()
        for query in HOSTILE:
            response = await client.get("/api/v1/skills", params={"q": query, "limit": 1})
            if response.status_code == 400:
                assert response.headers["content-type"].startswith("application/problem+json")
                continue
            assert response.status_code == 200, (query, response.text)
            page = response.json()
            assert len(page["items"]) <= 1
            assert page["total"] >= len(page["items"])
            assert page["total"] <= 1
        for query in ("y" * 201, "🙂" * 201, "pdf " * 60):
            too_long = await client.get("/api/v1/skills", params={"q": query})
            assert too_long.status_code == 400, query
            assert too_long.headers["content-type"].startswith("application/problem+json")
        # Bytes that are not UTF-8 at all, straight into the query string.
        raw = await client.get("/api/v1/skills?q=%FF%FEpdf%C0%80")
        assert raw.status_code in (200, 400), raw.text
        if raw.status_code == 400:
            assert raw.headers["content-type"].startswith("application/problem+json")


def _malformed_cursors() -> list[str]:
    """Cursors no page ever handed out: broken encodings, wrong shapes, altered values."""
    fused = ["hybrid", 0, 5, 1, [], [["pdf", 3]]]
    return [
        "garbage!",
        "%%%",
        "x" * 3000,
        encode_cursor(["hybrid"]),  # a hybrid tag, nothing after it
        encode_cursor([*fused[:5], [["pdf", 0]]]),  # an impossible idf
        encode_cursor([*fused[:3], 2**40, [], []]),  # an id no column holds
        encode_cursor(["hybrid-rest", "0", 1, 1, [], []]),
        encode_cursor(["hybrid", 0, 1.5, 1, [], []]),  # floats never go into cursors
        encode_cursor(["hybrid", 0, 1, 1, ["x" * 500], []]),
        encode_cursor([["nested"], 0, 1, 1, [], []]),
        encode_cursor([7, 0, 1, 1, [], []]),
        encode_cursor(["no-such-ranking", 0, 1, 1, [], []]),
        encode_cursor([]),
    ]


async def test_malformed_cursors_on_the_hybrid_path_are_400(
    hybrid_settings: CatalogSettings,
) -> None:
    # Found: a malformed cursor here read as "no cursor" and answered page one.
    async with _catalog(hybrid_settings) as (client, context):
        await _seed(client, context)
        query = "fill in a PDF form"
        first = await _search(client, q=query, limit=1)
        assert "semantic" in first["items"][0]["matched"]  # the hybrid path answers
        assert first["next_cursor"] is not None
        for cursor in _malformed_cursors():
            response = await client.get(
                "/api/v1/skills", params={"q": query, "limit": 1, "cursor": cursor}
            )
            assert response.status_code == 400, (cursor[:80], response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert "cursor" in response.json()["detail"]
        # The cursor page one handed out still works.
        second = await _search(client, q=query, limit=1, cursor=first["next_cursor"])
        assert _names(second) != _names(first)


async def test_held_and_private_skills_never_reach_a_caller_through_vectors(
    hybrid_settings: CatalogSettings,
) -> None:
    query = "fill in a PDF form"
    async with _catalog(hybrid_settings) as (client, context):
        await _seed(client, context)
        private = await publish(
            client,
            bundle(
                "signed-paperwork",
                description="Complete and sign fillable PDF forms and applications.",
            ),
            version="1.0.0",
            visibility="private",
        )
        assert private.status_code == 201, private.text
        held = await publish(
            client,
            bundle(
                "paperwork-filler",
                description="Fill in PDF forms, every field, checkbox and signature.",
                body="# Forms\n\nDo this \u202eyltneiuq\u202c now.\n",  # a bidi override
            ),
            version="1.0.0",
        )
        assert held.status_code == 201, held.text
        assert held.json()["withheld"] is True
        await context.semantic.embedder.settled()
        # Its owner finds the private skill by meaning: the vector path does hold it.
        mine = await _search(client, q=query, limit=50)
        owner = await client.get(
            "/api/v1/skills", params={"q": query, "limit": 50}, headers=auth("alice")
        )
        assert "signed-paperwork" in _names(owner.json())
        assert "signed-paperwork" not in _names(mine)
        for headers in ({}, auth("bob")):
            for params in ({"q": query}, {"q": "sign paper applications"}, {"q": "forms"}):
                page = (
                    await client.get(
                        "/api/v1/skills", params={**params, "limit": 50}, headers=headers
                    )
                ).json()
                names = _names(page)
                assert "signed-paperwork" not in names, (headers, params)
                assert "paperwork-filler" not in names, (headers, params)
                assert page["total"] >= len(names)
        # Nor through a page past the first.
        page = (await client.get("/api/v1/skills", params={"q": query, "limit": 1})).json()
        seen = _names(page)
        while page["next_cursor"]:
            params = {"q": query, "limit": 1, "cursor": page["next_cursor"]}
            page = (await client.get("/api/v1/skills", params=params)).json()
            seen += _names(page)
        assert "signed-paperwork" not in seen
        assert "paperwork-filler" not in seen


class _CountingEncoder:
    """The real encoder, recording the size of every batch it is asked to embed."""

    def __init__(self, batches: list[int]) -> None:
        self._inner = shared_encoder()
        self._batches = batches

    def embed(self, texts: list[str]) -> Any:
        self._batches.append(len(texts))
        return self._inner.embed(texts)


async def test_reembedding_after_a_model_change_from_three_states(
    hybrid_settings: CatalogSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No vector, a vector of the old model, one of the new model already: the first two
    are embedded (in batches of the size set now, not at import), the third is kept."""
    async with _catalog(hybrid_settings) as (client, context):
        await _seed(client, context)
    new_model = "test-model-3"
    engine = create_engine(hybrid_settings.database_url)
    try:
        async with engine.begin() as connection:
            ids = {
                str(r[0]): int(r[1])
                for r in await connection.execute(
                    select(
                        semantic_embedder.SearchDocument.name,
                        semantic_embedder.SearchDocument.skill_id,
                    )
                )
            }
            none_id, current_id = ids["pdf"], ids["fix-ci-failures"]
            await connection.execute(
                delete(SkillEmbedding).where(SkillEmbedding.skill_id == none_id)
            )
            await connection.execute(
                update(SkillEmbedding)
                .where(SkillEmbedding.skill_id == current_id)
                .values(model_id=new_model)
            )
            kept = (
                await connection.execute(
                    select(SkillEmbedding.id, SkillEmbedding.vector).where(
                        SkillEmbedding.skill_id == current_id
                    )
                )
            ).one()
    finally:
        await engine.dispose()
    batches: list[int] = []
    monkeypatch.setattr(semantic_embedder, "BATCH", 2)  # after import: must still apply
    newer = SemanticSearch(
        loader=Loader(model_id=new_model, make=lambda: _CountingEncoder(batches))  # type: ignore[arg-type,return-value]
    )
    async with _catalog(hybrid_settings, newer) as (client, _):
        await newer.embedder.settled()
        # Four old-model vectors and one missing: five texts, in batches of two.
        assert batches == [2, 2, 1], batches
        after = await _vectors(hybrid_settings.database_url)
        assert {model for _, model in after} == {new_model}
        assert sorted(skill for skill, _ in after) == sorted(ids.values())
        assert _names(await _search(client, q="fill in a PDF form"))[0] == "pdf"
    engine = create_engine(hybrid_settings.database_url)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    select(SkillEmbedding.id, SkillEmbedding.vector).where(
                        SkillEmbedding.skill_id == current_id
                    )
                )
            ).one()
    finally:
        await engine.dispose()
    assert tuple(row) == tuple(kept)  # the current vector was not made again


def test_fusion_keeps_exact_names_first_and_breaks_ties_by_id() -> None:
    lexical = [Candidate(7, 0, 30, ("name",)), Candidate(3, 1, 20, ()), Candidate(5, 0, 10, ())]
    fused = fuse(lexical, [9, 5, 7])
    assert fused[0][0] == 3  # the exact name, though ranked second lexically
    assert [skill_id for skill_id, _ in fused[1:]] == [7, 5, 9]  # in both lists, then one
    tied = fuse([Candidate(4, 0, 2, ()), Candidate(2, 0, 1, ())], [2, 4])  # equal scores
    assert [skill_id for skill_id, _ in tied] == [2, 4]
    assert tied[0][1] == tied[1][1]


async def _embedded_version(database_url: str, name: str) -> tuple[int, int]:
    """(the version id `name`'s vector was made from, the skill's latest version id)."""
    from skreg_catalog.skills.models import Skill

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(
                    select(SkillEmbedding.version_id, Skill.latest_version_id)
                    .join(Skill, Skill.id == SkillEmbedding.skill_id)
                    .where(Skill.name == name)
                )
            ).one()
            return int(row[0]), int(row[1])
    finally:
        await engine.dispose()


async def test_passes_after_the_first_look_only_at_new_versions_and_full_ones_catch_yanks(
    hybrid_settings: CatalogSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every commit pokes a pass; reading the whole catalogue each time made a 100k
    catalogue's start-up take minutes. New versions are embedded by the cheap pass; a
    yank that moves `latest` back (no new version) waits for the next full pass."""
    monkeypatch.setattr(semantic_embedder, "REORDER_MARGIN", 0)  # a small test catalogue
    async with _catalog(hybrid_settings) as (client, context):
        await _seed(client, context)
        await published(client, "pdf", "2.0.0", description="Fill in and sign PDF forms.")
        await context.semantic.embedder.settled()
        made_from, latest = await _embedded_version(hybrid_settings.database_url, "pdf")
        assert made_from == latest  # the new version, embedded by an incremental pass

        yank = await client.post(
            "/api/v1/skills/alice/pdf/versions/2.0.0/yank",
            json={"reason": "broken"},
            headers=auth("alice"),
        )
        assert yank.status_code == 200
        await context.semantic.embedder.settled()
        made_from, latest = await _embedded_version(hybrid_settings.database_url, "pdf")
        assert made_from != latest  # the cheap pass does not look for this

        monkeypatch.setattr(semantic_embedder, "FULL_PASS_SECONDS", 0.0)
        await published(client, "later", "1.0.0")  # any commit pokes a pass: a full one
        await context.semantic.embedder.settled()
        made_from, latest = await _embedded_version(hybrid_settings.database_url, "pdf")
        assert made_from == latest  # the full pass re-embedded 1.0.0


async def test_a_full_pass_reads_the_catalogue_a_window_of_ids_at_a_time(
    hybrid_settings: CatalogSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows of two ids and batches of one: every skill is still embedded, across
    windows that hold nothing (deleted skills) and windows with more than a batch."""
    monkeypatch.setattr(semantic_embedder, "WINDOW", 2)
    monkeypatch.setattr(semantic_embedder, "BATCH", 1)
    monkeypatch.setattr(semantic_embedder, "FULL_PASS_SECONDS", 0.0)  # every pass is full
    async with _catalog(hybrid_settings) as (client, context):
        await _seed(client, context)
        for name in ("fix-ci-failures", "dispatching-parallel-agents", "git-commit-messages"):
            deleted = await client.delete(f"/api/v1/skills/alice/{name}", headers=auth("alice"))
            assert deleted.status_code == 204
        await published(client, "later", "1.0.0", description="Summarise meeting notes.")
        await context.semantic.embedder.settled()
        ids = await _skill_ids(hybrid_settings.database_url)
        embedded = {skill for skill, _ in await _vectors(hybrid_settings.database_url)}
        for name in ("pdf", "frontend-design", "pdf-tools", "later"):
            assert ids[name] in embedded, name
        gap = sorted(ids[n] for n in ("fix-ci-failures", "dispatching-parallel-agents",
                                      "git-commit-messages"))  # fmt: skip
        assert ids["pdf"] < gap[0]  # the deleted skills' ids make windows with nothing
        assert gap[-1] < ids["frontend-design"]


async def _skill_ids(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(select(Skill.name, Skill.id))
            return {str(name): int(skill_id) for name, skill_id in rows}
    finally:
        await engine.dispose()


async def test_the_graph_finds_what_the_exact_scan_finds_and_follows_later_vectors(
    hybrid_settings: CatalogSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries = (
        "fill in a PDF form",
        "fix the failing checks on my pull request",
        "work on several tasks in parallel with subagents",
        "design a landing page",
    )
    encoder = shared_encoder()

    def closest(index: semantic_index.VectorIndex, text: str) -> list[tuple[int, float]]:
        return index.nearest(encoder.embed([text])[0], 50, 0.0)

    async with _catalog(hybrid_settings) as (client, context):
        await _seed(client, context)
        index = context.semantic.index
        exact = {q: _names(await _search(client, q=q)) for q in queries}
        exact_pairs = {q: closest(index, q) for q in queries}
        assert not index.approximate
        monkeypatch.setattr(semantic_index, "APPROXIMATE_FROM", 1)
        monkeypatch.setattr(semantic_index, "REBUILD_SHARE", 1.0)  # keep the first graph
        index.stale()
        await _search(client, q=queries[0])  # the refresh starts building the graph
        await index.settled()
        assert index.approximate
        for query in queries:  # the same pairs, similarities and pages as the exact scan
            assert closest(index, query) == exact_pairs[query], query
            assert _names(await _search(client, q=query)) == exact[query], query
        # A skill embedded after the graph was built, and one whose vector changed since,
        # are scored exactly beside the graph's proposals: with the graph proposing a
        # single slot, they can only come from there.
        charts_text = "Turn spreadsheet columns into bar and line charts."
        await published(client, "spreadsheet-charts", "1.0.0", tags="data", description=charts_text)
        audio_text = "Transcribe podcast audio recordings into text."
        await published(client, "pdf-tools", "2.0.0", tags="audio", description=audio_text)
        await context.semantic.embedder.settled()
        index.stale()
        await _search(client, q="charts")  # reads the new vectors; no rebuild (share 1.0)
        await index.settled()
        monkeypatch.setattr(semantic_index, "GRAPH_CANDIDATES", 1)
        ids = await _skill_ids(hybrid_settings.database_url)
        charts = closest(index, "make a chart from my spreadsheet")
        assert charts[0][0] == ids["spreadsheet-charts"], charts
        audio = closest(index, "transcribe a podcast recording")
        assert audio[0][0] == ids["pdf-tools"], audio
        assert index.approximate
