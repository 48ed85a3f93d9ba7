"""Worker processes for CPU work that must not share the server's GIL (rendering,
scanning): spawned, never forked, and never outliving the server that started them."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial

# How often a worker checks that the server process that started it still lives.
PARENT_CHECK_SECONDS = 1.0


def worker_processes(workers: int, *, initializer: Callable[[], None]) -> ProcessPoolExecutor:
    """A pool of `workers` processes, each running `initializer` (picklable) first.

    Workers are never retired after a number of tasks: on Python 3.11-3.13,
    `max_tasks_per_child` deadlocks a pool with queued work once a worker retires
    (CPython gh-115634, fixed in later releases). It hung the test suite: a scan pool
    retiring its worker after 500 scans left a publish waiting for ever.
    """
    return ProcessPoolExecutor(
        max_workers=workers,
        # spawn: forking a process that runs an event loop and threads is unsafe.
        mp_context=multiprocessing.get_context("spawn"),
        initializer=partial(_start_worker, initializer),
    )


def _start_worker(initializer: Callable[[], None]) -> None:
    # A worker waits on a pipe its parent would close, but it holds that pipe's other
    # end itself, so a killed server (SIGKILL, OOM) would leave it running for ever,
    # holding the server's stdout open. It watches its parent instead.
    threading.Thread(
        target=_exit_with_parent, args=(os.getppid(),), name="parent-watch", daemon=True
    ).start()
    initializer()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)  # the server is gone: nothing is left to work for
