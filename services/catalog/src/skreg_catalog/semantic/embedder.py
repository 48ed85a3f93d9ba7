"""Vectors for every searchable skill, made and replaced in the background.

Publishing and importing only write the search document (`skills.state`); every commit
pokes this pass, which embeds the documents with no vector of the current model or one
made from an older version, in batches of `BATCH`, on a worker thread (never on the
event loop), and stores them through the catalog writer. An import of hundreds of
skills is thus embedded in batches after its transactions, and a new model id (see
`model.MODEL_ID`) re-embeds everything while lexical search keeps finding every skill;
vectors of other models are dropped once nothing is left to embed.

A pass that looks at every skill reads the whole catalogue, and every commit pokes
one: a 100k catalogue's start-up body rendering (thousands of commits) kept a process
busy for over seven minutes. So only the first pass, and one every
`FULL_PASS_SECONDS` after it, looks at every skill; the others look at the skills with a
version newer than the last pass saw (less `REORDER_MARGIN` ids: on PostgreSQL a version
can commit after one with a higher id). The full passes catch what changes a skill's
latest version without a new one (a yank or delete moving it back) and a model change.

A full pass reads the catalogue `WINDOW` skill ids at a time: one statement over every
skill took 85-280 ms at 100k skills to find nothing to embed, on the event loop (SQLite
runs inline), stalling every request that long every `FULL_PASS_SECONDS`; a window of
2048 ids takes 1.8 ms, and requests run between windows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import numpy as np
import structlog
from sqlalchemy import Integer, String, and_, bindparam, delete, func, or_, select

from skreg_catalog.rendering.stored import Sessions
from skreg_catalog.search.models import SearchDocument
from skreg_catalog.semantic.model import MODEL_ID, SentenceEncoder, shared_encoder
from skreg_catalog.semantic.models import SkillEmbedding
from skreg_catalog.semantic.text import BODY_CHARS, embedding_text
from skreg_catalog.skills.models import Skill, Version

log = structlog.get_logger(__name__)

BATCH = 16  # read at each query (not baked into the statement), so it can be changed
FULL_PASS_SECONDS = 300.0
REORDER_MARGIN = 256
MAX_CHANGED = 2000  # more skills changed since the last pass than this: look at all
WINDOW = 2048  # skill ids one statement of a full pass looks at

_PENDING = (
    select(
        SearchDocument.skill_id,
        SearchDocument.name,
        SearchDocument.description,
        SearchDocument.tags,
        func.substr(SearchDocument.body, 1, BODY_CHARS).label("body"),
        Skill.latest_version_id,
    )
    .join(Skill, Skill.id == SearchDocument.skill_id)
    .outerjoin(
        SkillEmbedding,
        and_(
            SkillEmbedding.skill_id == SearchDocument.skill_id,
            SkillEmbedding.model_id == bindparam("model_id", type_=String()),
        ),
    )
    .where(
        SearchDocument.skill_id > bindparam("last_id", type_=Integer()),
        SearchDocument.skill_id <= bindparam("until", type_=Integer()),
        Skill.latest_version_id.is_not(None),
        or_(SkillEmbedding.id.is_(None), SkillEmbedding.version_id != Skill.latest_version_id),
    )
    .order_by(SearchDocument.skill_id)
    .limit(bindparam("batch", type_=Integer()))
)
# The same, among the given skills only (a look-up per id, not a scan).
_PENDING_AMONG = _PENDING.where(SearchDocument.skill_id.in_(bindparam("among", expanding=True)))
_NEWEST_VERSION = select(func.coalesce(func.max(Version.id), 0))
_LAST_SKILL = select(func.coalesce(func.max(SearchDocument.skill_id), 0))
_CHANGED_SINCE = select(Version.skill_id).where(Version.id > bindparam("since", type_=Integer()))


class Embedder:
    """Runs embedding passes one at a time, whenever poked (and once at start-up)."""

    def __init__(self) -> None:
        self._wanted = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # The newest version id the last pass saw, and when the last full pass began.
        self._seen_version: int | None = None
        self._full_at = 0.0

    def poke(self) -> None:
        """Something was committed: look for skills to embed soon."""
        self._idle.clear()
        self._wanted.set()

    @property
    def idle(self) -> bool:
        """No pass is running or wanted."""
        return self._idle.is_set()

    async def settled(self, seconds: float = 120.0) -> None:
        """Wait until every pending skill is embedded (tests, benchmarks). Polls: the
        caller may run on another event loop than the app (a test client's portal)."""
        for _ in range(int(seconds / 0.01)):
            if self.idle:
                return
            await asyncio.sleep(0.01)
        raise TimeoutError("embedding did not settle")

    def start(self, load: Loader, reading: Sessions, writing: Sessions) -> None:
        """Start the background task, with one pass right away."""
        if self._task is None:
            self.poke()
            self._task = asyncio.create_task(self._run(load, reading, writing), name="embedder")

    async def stop(self) -> None:
        """Stop the task; a half-done pass is resumed by the next start."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self, load: Loader, reading: Sessions, writing: Sessions) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            try:
                await self._pass(load, reading, writing)
            except Exception:  # the next commit or start-up tries again
                self._seen_version = None  # and looks at every skill
                log.exception("semantic.embed_failed")
            if not self._wanted.is_set():
                self._idle.set()

    async def _pass(self, load: Loader, reading: Sessions, writing: Sessions) -> None:
        seen = self._seen_version
        if time.monotonic() - self._full_at > FULL_PASS_SECONDS:
            seen = None
        async with reading() as session:
            newest = int((await session.execute(_NEWEST_VERSION)).scalar_one())
            among = None
            if seen is not None:
                since = {"since": max(0, seen - REORDER_MARGIN)}
                among = sorted(set((await session.execute(_CHANGED_SINCE, since)).scalars()))
        if among is None or len(among) > MAX_CHANGED:  # a full pass
            self._full_at = time.monotonic()
            await embed_pending(load, reading, writing)
        elif among:
            await embed_pending(load, reading, writing, among=among)
        self._seen_version = newest


class Loader:
    """The encoder, loaded on first use on a worker thread (about a second, once).

    `model_id` is known without loading, so a pass with nothing to embed, and a
    search before the first query needs it, never load the weights.
    """

    def __init__(
        self, model_id: str = MODEL_ID, make: Callable[[], SentenceEncoder] = shared_encoder
    ) -> None:
        self.model_id = model_id
        self._make = make
        self._encoder: SentenceEncoder | None = None
        self._lock = asyncio.Lock()

    async def __call__(self) -> SentenceEncoder:
        if self._encoder is None:
            async with self._lock:
                if self._encoder is None:
                    self._encoder = await asyncio.to_thread(self._make)
        return self._encoder


async def embed_pending(
    load: Loader, reading: Sessions, writing: Sessions, *, among: list[int] | None = None
) -> int:
    """Embed every skill (or every one `among` those ids) without a current vector; how
    many were stored."""
    last_id, stored, model_id = 0, 0, load.model_id
    if among is not None:
        top = max(among, default=0)
    else:
        async with reading() as session:
            top = int((await session.execute(_LAST_SKILL)).scalar_one())
    while last_id < top:
        # A window of ids at a time (a look-up per id when `among` is given).
        until = top if among is not None else min(top, last_id + WINDOW)
        async with reading() as session:
            params: dict[str, object] = {
                "model_id": model_id, "last_id": last_id, "until": until, "batch": BATCH
            }  # fmt: skip
            if among is None:
                rows = (await session.execute(_PENDING, params)).all()
            else:
                rows = (await session.execute(_PENDING_AMONG, {**params, "among": among})).all()
        if not rows:
            if until >= top:
                break
            last_id = until
            await asyncio.sleep(0)  # let requests run between windows
            continue
        encoder = await load()
        last_id = rows[-1].skill_id
        texts = [embedding_text(r.name, r.description, r.tags, r.body) for r in rows]
        vectors = await asyncio.to_thread(encoder.embed, texts)
        async with writing() as session:
            ids = [r.skill_id for r in rows]
            await session.execute(
                delete(SkillEmbedding).where(
                    SkillEmbedding.skill_id.in_(ids), SkillEmbedding.model_id == model_id
                )
            )
            session.add_all(
                SkillEmbedding(
                    skill_id=r.skill_id,
                    model_id=model_id,
                    version_id=r.latest_version_id,
                    vector=np.ascontiguousarray(v, dtype="<f4").tobytes(),
                )
                for r, v in zip(rows, vectors, strict=True)
            )
        stored += len(rows)
    if stored and among is None:
        # Another model's vectors can never be compared with this one's queries. (Only
        # after real work: this write's own commit pokes the pass again.)
        async with writing() as session:
            await session.execute(delete(SkillEmbedding).where(SkillEmbedding.model_id != model_id))
        log.info("semantic.embedded", stored=stored, model_id=model_id)
    return stored
