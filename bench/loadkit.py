"""The load-generation kit the benchmarks under bench/ share.

- `free_port()`: a loopback port nobody listens on.
- `ServerProcess`: a server in a subprocess for the length of a `with` block, entered
  once its `GET /ready` answers 200.
- `stop(process)`: SIGTERM a child process, SIGKILL it if it does not exit in time.
- `Connection`: one raw keep-alive HTTP/1.1 connection on asyncio streams.
- `measure(...)`: closed loop, N connections each sending its next request on the
  answer, for a bounded time (and optionally a bounded number of requests).
- `measure_rate(...)`: open loop, N connections sharing a fixed arrival rate.
- `Result`: what a measurement saw: latencies, errors, wall time; throughput and
  percentiles.
- `process_cpu_seconds(pid)`: a server's user + system CPU time so far, for CPU per
  request (steadier than req/s on a machine others are using).

Not a benchmark itself (the Makefile runs `bench/bench_*.py`); the scripts import it as
a sibling module, which works because Python puts a script's own folder on `sys.path`.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import httpx

CONCURRENCY = 32
"""Connections per measurement unless a benchmark asks for another number."""

Response = tuple[int, dict[str, str], bytes]
"""What `Connection.request` returns: status, headers (lower-cased names), body."""

Call = Callable[["Connection", int], Awaitable[Response]]
"""One request on a connection. The int is the request's sequence number in the
measurement (1, 2, …; 0 for the warm-up request), for calls that vary their target."""


# --- processes ----------------------------------------------------------------------------


def free_port() -> int:
    """A loopback port that was free a moment ago (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM `process` if it still runs; SIGKILL it if it has not exited in `timeout` s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class ServerProcess:
    """A server in a subprocess, listening on 127.0.0.1:`port`, for a `with` block.

    Entering starts `command` (stdout discarded, stderr left on the terminal so a crash
    shows) with `env` laid over this process's environment, then polls `GET /ready`
    every 0.2 s until it answers 200, for 60 s at most. Leaving stops it (`stop`).
    `label` names it in the start-up errors ("the auth server exited during start-up").
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        port: int,
        env: Mapping[str, str] | None = None,
        label: str = "the server",
    ) -> None:
        self.command = list(command)
        self.port = port
        self.env = {**os.environ, **(env or {})}
        self.label = label
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self.process = subprocess.Popen(self.command, env=self.env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.label} exited during start-up")
            time.sleep(0.2)
        raise RuntimeError(f"{self.label} did not become ready")

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            stop(self.process, timeout=30)


# --- the client ---------------------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection on plain asyncio streams, opened on first use.

    A full client library spends more CPU per request than the servers here spend on a
    `/health` (httpx's pool managed ~370 req/s against a trivial ASGI app at 32
    connections), so it would measure itself; this does the minimum: it writes the
    request, reads the head, then a `Content-Length` or chunked body.
    """

    def __init__(
        self, host: str, port: int, tls: ssl.SSLContext | None = None, source: str | None = None
    ) -> None:
        self.host, self.port, self.tls = host, port, tls
        self.source = source  # a local address to connect from (any of 127.0.0.0/8 on Linux)
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    @classmethod
    def to(
        cls, url: str, tls: ssl.SSLContext | None = None, source: str | None = None
    ) -> Connection:
        """A connection to `http://host:port`, or `https://host:port` trusting `tls`'s CAs,
        from the local address `source` if given (not yet opened)."""
        if url.startswith("https://"):
            if tls is None:
                raise ValueError("an https:// URL needs an SSL context")
            host, port = url.removeprefix("https://").split(":")
            return cls(host, int(port), tls, source)
        host, port = url.removeprefix("http://").split(":")
        return cls(host, int(port), source=source)

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> Response:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.host,
                self.port,
                ssl=self.tls,
                local_addr=(self.source, 0) if self.source else None,
            )
        assert self.reader is not None
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            "User-Agent: skreg-bench",
            f"Content-Length: {len(body)}",
        ]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        got = {}
        for line in header_lines:
            if ":" in line:
                key, _, value = line.partition(":")
                got[key.strip().lower()] = value.strip()
        if "content-length" in got:
            content = await self.reader.readexactly(int(got["content-length"]))
        elif got.get("transfer-encoding") == "chunked":
            content = b""
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                content += (await self.reader.readexactly(size + 2))[:-2]  # chunk + CRLF
                if size == 0:
                    break
        else:
            content = b""
        return status, got, content

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# --- measuring ----------------------------------------------------------------------------


def _cpu_times() -> list[int] | None:
    """The machine's CPU time counters (the `cpu` line of /proc/stat), or None off Linux."""
    try:
        with open("/proc/stat") as stat:
            return [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class StealMeter:
    """How much CPU time a virtual machine's host took from it since this was made.

    On a shared host, "steal" (time a vCPU was runnable but not running) swings from
    0 to nearly half within a minute, and every figure measured meanwhile shrinks with
    it; printed beside each result, it says which figures to trust.
    """

    def __init__(self) -> None:
        self._start = _cpu_times()

    def share(self) -> float:
        """Stolen time as a share of all CPU time since creation (NaN if unknown)."""
        end = _cpu_times()
        if self._start is None or end is None or len(end) < 8:
            return float("nan")
        delta = [b - a for a, b in zip(self._start, end, strict=False)]
        total = sum(delta[:8])  # user … steal; guest time is already inside user
        return delta[7] / total if total else float("nan")


@dataclass
class Result:
    """What one measurement saw. `latencies` in seconds, one per answered request."""

    name: str
    latencies: list[float]
    errors: int
    seconds: float
    steal: float = float("nan")  # share of CPU time the hypervisor took meanwhile (Linux)

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        """Answered requests per second of wall time."""
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, p: float) -> float:
        """The `p` quantile (0.5, 0.99, …) of the latencies in ms; NaN with none."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    def line(self, name_width: int = 22, rate_width: int = 9) -> str:
        """One aligned report line: name, req/s, p50, p99, count, errors."""
        return (
            f"  {self.name:<{name_width}} {self.rate:{rate_width}.1f} req/s   "
            f"p50 {self.pct(0.5):7.2f} ms   p99 {self.pct(0.99):7.2f} ms   "
            f"n={self.requests} errors={self.errors}"
            + (f"   steal {self.steal:.0%}" if self.steal == self.steal else "")
        )


def _failed(status: int, ok: tuple[int, ...] | None) -> bool:
    return status >= 400 if ok is None else status not in ok


async def _open(
    url: str, concurrency: int, warm: Call, tls: ssl.SSLContext | None = None
) -> list[Connection]:
    """`concurrency` connections, each opened and warmed by one `warm(connection, 0)`.

    One at a time, so warm-up requests never race each other (a warm-up publish of the
    same bundle twice at once could conflict); none of this is timed.
    """
    connections = [Connection.to(url, tls) for _ in range(concurrency)]
    for connection in connections:
        await warm(connection, 0)
    return connections


async def measure(
    url: str,
    name: str,
    call: Call,
    *,
    duration: float,
    concurrency: int = CONCURRENCY,
    max_requests: int | None = None,
    ok: tuple[int, ...] | None = None,
    warm: Call | None = None,
    tls: ssl.SSLContext | None = None,
) -> Result:
    """Closed loop: `concurrency` connections, each sending its next request on the answer.

    Runs for `duration` seconds, or until `max_requests` have been sent. A status not in
    `ok` (default: any status of 400 or more) counts as an error. Every connection is
    opened and warmed first with one untimed `warm` request (default: `call`). An
    `https://` URL needs `tls`, a context trusting the server's CA.
    """
    connections = await _open(url, concurrency, warm or call, tls)
    limit = math.inf if max_requests is None else max_requests
    latencies: list[float] = []
    errors = 0
    issued = 0
    steal = StealMeter()
    start = time.perf_counter()
    deadline = start + duration

    async def worker(connection: Connection) -> None:
        nonlocal errors, issued
        while time.perf_counter() < deadline and issued < limit:
            issued += 1
            n = issued
            t0 = time.perf_counter()
            status, _, _ = await call(connection, n)
            latencies.append(time.perf_counter() - t0)
            errors += _failed(status, ok)

    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = time.perf_counter() - start
    for connection in connections:
        connection.close()
    return Result(name, latencies, errors, elapsed, steal.share())


async def measure_rate(
    url: str,
    name: str,
    call: Call,
    *,
    rate: float,
    duration: float,
    concurrency: int = CONCURRENCY,
    ok: tuple[int, ...] | None = None,
) -> Result:
    """Open loop: `concurrency` connections sharing a fixed arrival `rate` (requests/s).

    Each connection sends every `concurrency / rate` seconds, staggered against the
    others, for `duration` seconds. Latency counts from when a request was due, so a slow
    answer that delays the next request on its connection shows up in full (no
    coordinated omission). Errors and warm-up as in `measure`.
    """
    connections = await _open(url, concurrency, call)
    latencies: list[float] = []
    errors = 0
    issued = 0
    interval = concurrency / rate
    steal = StealMeter()
    start = time.perf_counter()

    async def worker(index: int, connection: Connection) -> None:
        nonlocal errors, issued
        due = start + interval * index / concurrency
        while due < start + duration:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            issued += 1
            status, _, _ = await call(connection, issued)
            latencies.append(time.perf_counter() - due)
            errors += _failed(status, ok)
            due += interval

    await asyncio.gather(*(worker(i, c) for i, c in enumerate(connections)))
    elapsed = time.perf_counter() - start
    for connection in connections:
        connection.close()
    return Result(name, latencies, errors, elapsed, steal.share())
