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


def worker_processes(
    workers: int, *, initializer: Callable[[], None], tasks_per_child: int
) -> ProcessPoolExecutor:
    """A pool of `workers` processes, each running `initializer` (picklable) first and
    replaced after `tasks_per_child` tasks, which hands back what it accumulated."""
    return ProcessPoolExecutor(
        max_workers=workers,
        # spawn: forking a process that runs an event loop and threads is unsafe.
        mp_context=multiprocessing.get_context("spawn"),
        initializer=partial(_start_worker, initializer),
        max_tasks_per_child=tasks_per_child,
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
