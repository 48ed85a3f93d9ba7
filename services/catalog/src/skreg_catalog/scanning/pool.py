"""Scans run in a worker process, so a publish does not fight the server for the GIL.

The scan is CPU work in Python (detect-secrets, the plain checks, YARA-X's calls) that
holds the GIL. On a worker thread it took turns with the event loop: with one
publisher beside 31 readers on one process (bench/bench_publish.py, PostgreSQL, 2
cores), the readers got 180-237 requests/s with scans on a thread and 313-427 with
them in a worker process, which scans on the other core under its own GIL.

`SCAN_WORKERS` processes per server process (0: a worker thread, as before). The pool
is shared by every catalog app in the process (tests run many) and made on first use;
its workers compile the rules when they start. A worker that dies (killed, out of
memory) fails its scan with `ScanFailed` — never clean — and the next scan starts a
new pool.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import structlog

from skreg_catalog.processes import worker_processes
from skreg_catalog.scanning.engine import scan_bundle, warm_up
from skreg_catalog.scanning.limits import ScanLimits
from skreg_catalog.scanning.report import ScanFailed, ScanReport

log = structlog.get_logger(__name__)

_pools: dict[int, ProcessPoolExecutor] = {}
_lock = threading.Lock()


def _pool(workers: int) -> ProcessPoolExecutor:
    with _lock:
        pool = _pools.get(workers)
        if pool is None:
            # Its workers compile the rules as they start.
            pool = worker_processes(workers, initializer=warm_up)
            _pools[workers] = pool
        return pool


def _discard(workers: int, broken: ProcessPoolExecutor) -> None:
    with _lock:
        if _pools.get(workers) is broken:
            del _pools[workers]
    broken.shutdown(wait=False, cancel_futures=True)


@atexit.register
def _shutdown() -> None:
    with _lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait=False, cancel_futures=True)


async def scan_in_worker(
    files: Mapping[str, bytes], *, limits: ScanLimits, workers: int
) -> ScanReport:
    """`scan_bundle` in one of `workers` processes (`workers` 0: on a worker thread).

    Raises `ScanFailed` when the scan cannot finish, the worker included.
    """
    if workers <= 0:
        return await scan_bundle(files, limits=limits)
    pool = _pool(workers)
    try:
        return await scan_bundle(files, limits=limits, executor=pool)
    except ScanFailed as exc:
        if isinstance(exc.__cause__, BrokenProcessPool):
            log.warning("scan.worker_lost")
            _discard(workers, pool)
        raise


def start_workers(workers: int) -> None:
    """Start the pool's workers now (they compile the rules), so the first publish does
    not wait for them."""
    if workers > 0:
        pool = _pool(workers)
        for _ in range(workers):
            pool.submit(int)  # any picklable no-op makes the pool start a worker
