"""Slowloris against a real server process on loopback: bounded connections, bounded log.

The process runs with 512 file descriptors; the attack opens more connections than
that, each sending part of a request head and then nothing (and a few stalled bodies).
Every test runs against both guarded HTTP implementations (`HTTP_IMPL`): httptools on
uvloop, the default, and h11 on asyncio, the fallback; the last tests hold the two
parsers to the same answers where llhttp alone would be more lenient than h11.
"""

from __future__ import annotations

import json
import selectors
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from skreg_common.connguard import FD_RESERVE, MAX_HEAD_BYTES

from tests.support.processes import Process, free_port, make_run_env, start, wait_http

FD_LIMIT = 512
ATTACKERS = 600  # more than the server's descriptors
# Long enough that every connection has been accepted (and the surplus dropped) well
# before any head deadline passes, so the two limits are told apart.
HEADER_TIMEOUT_S = 10
BODY_TIMEOUT_S = 2
PARTIAL_HEAD = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
# (HTTP_IMPL, EVENT_LOOP): the fast stack and the pure-Python fallback.
STACKS = {"httptools": ("httptools", "uvloop"), "h11": ("h11", "asyncio")}


@dataclass
class Server:
    url: str
    port: int
    process: Process
    log_path: Path
    http_impl: str


@pytest.fixture(scope="module", params=list(STACKS))
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    http_impl, event_loop = STACKS[request.param]
    workdir = tmp_path_factory.mktemp(f"slow-clients-{http_impl}")
    port = free_port()
    env = make_run_env(
        workdir,
        port,
        HEADER_TIMEOUT=str(HEADER_TIMEOUT_S),
        BODY_TIMEOUT=str(BODY_TIMEOUT_S),
        HTTP_IMPL=http_impl,
        EVENT_LOOP=event_loop,
    )
    command = f"ulimit -n {FD_LIMIT} && exec {sys.executable} -m skreg_gateway"
    process = start("slow-server", ["sh", "-c", command], env, workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(process, f"{url}/health", timeout=60)
        yield Server(url, port, process, process.log_path, http_impl)
    finally:
        process.stop()


def _open(port: int, count: int, payload: bytes) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(payload)
        sock.setblocking(False)
        sockets.append(sock)
    return sockets


def _still_open(
    sockets: list[socket.socket], wait_s: float, at_most: int = 0
) -> list[socket.socket]:
    """Those of `sockets` the server has not closed (EOF or reset), once no more than
    `at_most` are left or after `wait_s` seconds."""
    selector = selectors.DefaultSelector()
    for sock in sockets:
        selector.register(sock, selectors.EVENT_READ)
    remaining = set(sockets)
    deadline = time.monotonic() + wait_s
    while len(remaining) > at_most and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=0.2):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(4096)
            except (ConnectionResetError, BlockingIOError):
                data = b""
            if not data:
                selector.unregister(sock)
                remaining.discard(sock)
    selector.close()
    return [sock for sock in sockets if sock in remaining]


def _close_all(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


def test_the_server_runs_the_stack_it_was_given(server: Server) -> None:
    started = next(
        json.loads(line)
        for line in server.process.log().splitlines()
        if '"service.starting"' in line
    )
    assert (started["http"], started["loop"]) == STACKS[server.http_impl]


def test_slowloris_cannot_exhaust_the_process(server: Server) -> None:
    log_before = server.log_path.stat().st_size
    attackers = _open(server.port, ATTACKERS, PARTIAL_HEAD)
    try:
        # Held connections stay under the descriptor limit: the surplus is dropped at once.
        cap = FD_LIMIT - FD_RESERVE
        held = _still_open(attackers, wait_s=HEADER_TIMEOUT_S / 2, at_most=cap)
        assert len(held) <= cap
        # A client that sends its request promptly is still served meanwhile.
        health = httpx.get(f"{server.url}/health", timeout=10)
        assert health.status_code == 200
        # Every slow head is cut off at the head deadline.
        assert _still_open(held, wait_s=HEADER_TIMEOUT_S + 30) == []
    finally:
        _close_all(attackers)
    assert server.process.popen.poll() is None
    assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200
    grown = server.log_path.stat().st_size - log_before
    assert grown < 64 * 1024, server.process.log()[-3000:]


def test_a_slow_head_after_a_keep_alive_request_is_cut_off_too(server: Server) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        sock.sendall(PARTIAL_HEAD)  # keep-alive's idle timer stops at the first byte
        sock.setblocking(False)
        assert _still_open([sock], wait_s=HEADER_TIMEOUT_S + 30) == []
    finally:
        sock.close()


def test_an_oversized_unfinished_head_gets_a_400(server: Server) -> None:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        sock.sendall(PARTIAL_HEAD + b"x" * (MAX_HEAD_BYTES + 1024))
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    finally:
        sock.close()
    # A large head that is complete is still served (the bound is on unfinished heads
    # held in memory, as h11 applies it).
    big = httpx.get(f"{server.url}/health", headers={"X-Pad": "p" * 8000}, timeout=10)
    assert big.status_code == 200


def test_a_stalled_body_is_dropped(server: Server) -> None:
    head = (
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"user'
    )
    stalled = _open(server.port, 5, head)
    try:
        assert _still_open(stalled, wait_s=30) == []
    finally:
        _close_all(stalled)
    assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200


# Where llhttp is more lenient than h11, the httptools protocol is held to h11's answers.


def _exchange(port: int, payload: bytes) -> bytes:
    """Send `payload` on a fresh connection; everything received until the server closes
    it, or until two responses have arrived."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        sock.sendall(payload)
        answer = b""
        while answer.count(b"HTTP/1.1 ") < 2 and (chunk := sock.recv(65536)):
            answer += chunk
        return answer
    finally:
        sock.close()


def test_a_request_without_host_gets_a_400(server: Server) -> None:
    answer = _exchange(server.port, b"GET /health HTTP/1.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]


def test_a_refused_upgrade_is_answered_and_does_not_wedge_the_connection(server: Server) -> None:
    upgrade = (
        b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
    )
    answer = _exchange(server.port, upgrade + b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    # h11 reads on and answers the next request; llhttp cannot parse past an upgrade, so
    # the httptools protocol closes the connection after the first answer instead.
    first_head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert answer.count(b"HTTP/1.1 200") == 2 or b"connection: close" in first_head, answer
