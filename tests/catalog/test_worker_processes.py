"""The worker-process pools (render, scan) finish every task however many are queued."""

from __future__ import annotations

import os
from concurrent.futures import wait

from skreg_catalog.processes import worker_processes


def test_a_pool_runs_a_long_backlog_to_the_end() -> None:
    # More queued tasks than a worker ever ran before being retired (200 renders, 500
    # scans): with `max_tasks_per_child` this backlog hung for ever on Python 3.11.
    pool = worker_processes(1, initializer=int)
    try:
        futures = [pool.submit(os.getpid) for _ in range(1200)]
        done, pending = wait(futures, timeout=120)
        assert not pending, f"{len(pending)} of 1200 tasks never ran"
        assert len({future.result() for future in done}) == 1  # one worker did them all
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
