"""Rendering off the event loop, in a bounded pool, with a cache bounded by bytes.

Small texts render in a worker thread. Large ones render in a separate process: a
thread shares the GIL and the garbage collector with the server, and rendering a few
hundred KiB of Markdown allocates enough tokens that one collection stalled every
request for about a second (measured: a thread rendering 240 KiB of table rows froze
the event loop for 0.85 s at a time; a process, never). Waiting renders are capped:
past the cap a text is shown preformatted (cheap, linear) rather than queued.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Protocol

import structlog

from skreg_catalog.memory import SizedLRU
from skreg_catalog.processes import worker_processes
from skreg_catalog.rendering.markdown import (
    DEFAULT_MAX_SOURCE_BYTES,
    Rendered,
    leading_part,
    plain_html,
    render_markdown,
)

log = structlog.get_logger(__name__)

# Below this a render costs a few ms and few allocations: a thread is cheaper than a
# round trip to the process.
INLINE_BYTES = 16 * 1024
PENDING_PER_WORKER = 4  # large texts waiting per worker process
SMALL_PENDING = 16  # small texts rendering or waiting for the two threads


class RenderUnavailable(Exception):
    """A patient render lost its worker process: nothing trustworthy to store."""


class Sized(Protocol):
    """What the cache keeps: anything that knows roughly how many bytes it holds."""

    @property
    def size(self) -> int:
        """Bytes kept in memory."""
        ...


@dataclass(frozen=True)
class RenderLimits:
    """How much is rendered, how much is remembered, and by how many processes."""

    max_source_bytes: int = DEFAULT_MAX_SOURCE_BYTES
    cache_bytes: int = 32 * 1024**2
    workers: int = 1  # processes for large texts; 0: threads only


def _warm() -> None:
    """Run in each new worker: import the renderer before the first real text arrives."""


class RenderPool:
    """Renders texts off the event loop; results are cached under the caller's key.

    Keys name immutable content (a bundle digest, a file's sha256), so a cached
    rendering never goes stale.
    """

    def __init__(self, limits: RenderLimits) -> None:
        self.limits = limits
        self.cache: SizedLRU[Sized] = SizedLRU(limits.cache_bytes, lambda value: value.size)
        self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="render")
        self._processes: ProcessPoolExecutor | None = None
        # Separate caps, so a queue of large texts never turns small ones into plain text.
        self._small_slots = asyncio.Semaphore(SMALL_PENDING)
        self._large_slots = asyncio.Semaphore(max(1, limits.workers) * PENDING_PER_WORKER)
        self._inflight: dict[Hashable, asyncio.Future[Sized]] = {}
        self.renders = 0  # texts actually rendered (not answered from the cache)

    async def markdown(self, key: Hashable, text: str, *, patient: bool = False) -> Rendered:
        """`text` rendered as Markdown (see `render_markdown`), cached under `key`.

        `patient`: for a rendering that will be stored, wait for a slot rather than
        answer plain text, and raise `RenderUnavailable` if the worker is lost.
        """
        result = await self.run(
            ("markdown", key),
            render_markdown,
            text,
            self.limits.max_source_bytes,
            size=len(text),
            patient=patient,
        )
        assert isinstance(result, Rendered)
        return result

    async def run(
        self,
        key: Hashable,
        render: Callable[[str, int], Sized],
        text: str,
        max_source_bytes: int,
        *,
        size: int,
        fallback: Callable[[str], Sized] | None = None,
        patient: bool = False,
    ) -> Sized:
        """`render(text, max_source_bytes)` off the loop, once per key.

        `render` must be picklable (a module-level function or a partial of one): it may
        run in another process. When every slot is taken, `fallback(text)` (default: the
        text preformatted) is answered instead, and not cached.
        """
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        flight = self._inflight.get(key)
        # A patient caller renders itself: a shared flight may end in the plain fallback.
        if flight is not None and not patient:
            return await asyncio.shield(flight)
        slots = self._small_slots if size <= INLINE_BYTES else self._large_slots
        if slots.locked() and not patient:
            log.warning("render.saturated", size=size)
            return (fallback or self._plain)(text)
        future: asyncio.Future[Sized] = asyncio.get_running_loop().create_future()
        self._inflight.setdefault(key, future)
        try:
            async with slots:
                value = await self._execute(render, text, max_source_bytes, size)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters see it, nobody logs it twice
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            if self._inflight.get(key) is future:
                del self._inflight[key]
        if value is None:  # the worker was lost: answer this once without it
            future.set_result((fallback or self._plain)(text))
            if patient:
                raise RenderUnavailable("the render worker was lost")
            return future.result()
        self.cache.remember(key, value)
        future.set_result(value)
        return value

    def _plain(self, text: str) -> Rendered:
        part, rendered, total = leading_part(text, self.limits.max_source_bytes)
        return Rendered(plain_html(part), total, rendered, plain=True)

    async def _execute(
        self, render: Callable[[str, int], Sized], text: str, limit: int, size: int
    ) -> Sized | None:
        loop = asyncio.get_running_loop()
        self.renders += 1
        if size <= INLINE_BYTES or self.limits.workers <= 0:
            return await loop.run_in_executor(self._threads, render, text, limit)
        # Only what will be rendered crosses to the process.
        part = text if size <= limit else leading_part(text, limit)[0]
        try:
            result = await loop.run_in_executor(self._process_pool(), render, part, limit)
        except BrokenProcessPool:  # a worker died (killed, out of memory): start afresh
            log.warning("render.worker_lost", size=size)
            self._reset_processes()
            return None
        if isinstance(result, Rendered) and part is not text:
            # The process saw only the leading part; the caller must know there is more.
            total = len(text.encode("utf-8"))
            result = Rendered(result.html, total, result.rendered_bytes, result.plain)
        return result

    def _process_pool(self) -> Executor:
        if self._processes is None:
            self._processes = worker_processes(self.limits.workers, initializer=_warm)
        return self._processes

    def _reset_processes(self) -> None:
        broken, self._processes = self._processes, None
        if broken is not None:
            broken.shutdown(wait=False, cancel_futures=True)

    def start(self) -> None:
        """Start the worker processes now, so the first large text does not wait for them."""
        if self.limits.workers > 0:
            self._process_pool().submit(_warm)

    def close(self) -> None:
        """Stop the threads and processes (at shutdown)."""
        self._threads.shutdown(wait=False, cancel_futures=True)
        self._reset_processes()
