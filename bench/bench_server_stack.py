"""The server stack: `/health` on asyncio + h11 (before) against uvloop + httptools (after).

Starts the all-in-one registry (`python -m skreg_gateway`, embedded SQLite, in-process
queue, as `make run` does) twice, side by side: once with `HTTP_IMPL=h11
EVENT_LOOP=asyncio`, once with `HTTP_IMPL=httptools EVENT_LOOP=uvloop`; both behind the
same connection guard (skreg_common.connguard). Then it measures `GET /health` at 32
keep-alive connections on each in interleaved rounds (h11, httptools, h11, …: the
machine's speed drifts, so each pair of rounds sees about the same machine) and prints
every round with its steal time, the median round of each stack and their ratio.

Beside requests/s it prints the server process's own CPU time per request (user +
system, from /proc/<pid>/stat): on a machine other work also keeps busy, throughput
swings with that work while CPU per request barely does, so it is the steadier figure.

The load generator shares the machine with the servers (one process, on uvloop when it
is installed so that it costs less per request than the stacks it measures); both
stacks face the same generator, so the ratio is the figure to read.

    uv run python bench/bench_server_stack.py [--rounds N] [--duration S]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from collections.abc import Awaitable, Coroutine
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from loadkit import (  # bench/loadkit.py, the shared load-generation kit
    CONCURRENCY,
    Connection,
    Response,
    Result,
    ServerProcess,
    free_port,
    measure,
)

STACKS = {  # name: (HTTP_IMPL, EVENT_LOOP)
    "asyncio + h11": ("h11", "asyncio"),
    "uvloop + httptools": ("httptools", "uvloop"),
}


def registry(workdir: Path, http_impl: str, event_loop: str) -> ServerProcess:
    """The all-in-one process on its own SQLite file, with the given server stack."""
    port = free_port()
    env = {
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "DATABASE_URL": f"sqlite:///{workdir / f'{http_impl}.db'}",
        "ENVIRONMENT": "dev",
        "SECRET_KEY": "",
        "SERVICE_SECRET": "",
        "REDIS_URL": "",
        "SYNC_ENABLED": "false",
        "RELOAD": "false",
        "LOG_LEVEL": "WARNING",
        "HTTP_IMPL": http_impl,
        "EVENT_LOOP": event_loop,
    }
    command = [sys.executable, "-m", "skreg_gateway"]
    return ServerProcess(command, port=port, env=env, label=f"the {http_impl} registry")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (NaN off Linux)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def health(connection: Connection, _: int) -> Awaitable[Response]:
    return connection.request("GET", "/health")


async def compare(servers: dict[str, ServerProcess], rounds: int, duration: float) -> None:
    results: dict[str, list[Result]] = {name: [] for name in servers}
    cpu_us: dict[str, list[float]] = {name: [] for name in servers}
    print(f"GET /health, {CONCURRENCY} connections, {duration:g} s per round")
    for round_no in range(1, rounds + 1):
        order = list(servers) if round_no % 2 else list(reversed(servers))
        for name in order:
            server = servers[name]
            assert server.process is not None
            cpu_before = cpu_seconds(server.process.pid)
            result = await measure(server.url, name, health, duration=duration)
            # Counts the untimed warm-up request per connection that measure() sends too.
            served = result.requests + CONCURRENCY
            per_request = (cpu_seconds(server.process.pid) - cpu_before) / served * 1e6
            results[name].append(result)
            cpu_us[name].append(per_request)
            print(f"round {round_no}{result.line()}   server CPU {per_request:4.0f} µs/req")
    medians = {name: statistics.median(r.rate for r in runs) for name, runs in results.items()}
    cpu = {name: statistics.median(values) for name, values in cpu_us.items()}
    print()
    for name, runs in results.items():
        spread = " / ".join(f"{r.rate:.0f}" for r in runs)
        steal = statistics.mean(r.steal for r in runs)
        print(
            f"  {name:<20} median {medians[name]:7.1f} req/s   server CPU {cpu[name]:4.0f} µs/req"
            f"   rounds {spread}   steal {steal:.0%}"
        )
    before, after = (medians[name] for name in STACKS)
    ratios = [
        fast.rate / slow.rate
        for slow, fast in zip(*(results[name] for name in STACKS), strict=True)
        if slow.rate
    ]
    slow_cpu, fast_cpu = (cpu[name] for name in STACKS)
    print(
        f"  uvloop + httptools / asyncio + h11: {after / before:.2f}x req/s (medians; "
        f"per round {', '.join(f'{r:.2f}x' for r in ratios)}), "
        f"{slow_cpu / fast_cpu:.2f}x fewer server CPU µs per request"
    )


def run_loop(coroutine: Coroutine[Any, Any, None]) -> None:
    """asyncio.run on uvloop when installed (a cheaper load generator), else asyncio."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(coroutine)
    else:
        uvloop.run(coroutine)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        servers = {
            name: stack.enter_context(registry(Path(tmp), *config))
            for name, config in STACKS.items()
        }
        run_loop(compare(servers, args.rounds, args.duration))


if __name__ == "__main__":
    main()
